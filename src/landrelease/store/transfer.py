"""What a copy of a registry between backends moves, table by table, in a form both understand.

`landrelease migrate` copies every table of one store into another (`migrating.py`). Each
backend reads its tables into the row format below (`sqlite_transfer.py`,
`postgis_transfer.py`: `dump`) and writes that format into its own tables (their `Loader`),
so a copy from any backend to any other needs nothing else.

The row format: a table's rows are tuples of its `Table.columns`, in that order, read in
the order of `Table.order` (the stored ids: fid order is kept). Values are None, int, float,
str or bytes, each column of its `Table.kinds` kind:

- "int", "float", "text": as they are; "json" is JSON text, kept byte for byte;
- "bool": 0 or 1 (a Python bool is one);
- "date": ISO 8601 text, "YYYY-MM-DD"; "stamp": UTC ISO 8601 text as the audit trail writes
  it ("2024-05-01T09:30:00.000Z", see `store.base.now_utc`), kept as stored;
- "geometry": ISO WKB (2D, little-endian), as `shapely.to_wkb` writes it.

Reference layers are not copied as tables: they go through each store's `Layers`, which
makes a layer's table and every registration a GIS client needs of it (see `migrating.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from landrelease.domain.records import KINDS, RecordKind
from landrelease.store import history
from landrelease.store.base import GEOM

CHUNK = 5_000  # rows read and written at a time: memory stays small, the progress bar moves

# The logical kind of a field of the domain, by FieldSpec.kind.
_FIELD_KINDS = {
    "text": "text",
    "code": "text",
    "codes": "text",
    "date": "date",
    "int": "int",
    "float": "float",
    "bool": "bool",
}

# The kinds of the columns every record table has besides its fields (history.SYSTEM_COLUMNS).
_SYSTEM_KINDS = {
    "changed_at": "stamp",
    "changed_by": "text",
    "change_reason": "text",
    "change_action": "text",
    "batch_id": "int",
    "needs_check": "bool",
}


@dataclass(frozen=True)
class Table:
    """One table as it is copied: its columns in copy order, their kinds, how rows are read.

    `key` is the serial id column (fid, id) of a table whose new rows are numbered by the
    database: after the copy its counter is past the copied ids. `geometry_type` is the
    declared type of the geometry column (MULTIPOLYGON or POINT), if the table has one.
    """

    name: str
    kinds: Mapping[str, str]  # column -> text | int | float | bool | date | stamp | json | geometry
    order: tuple[str, ...]  # the columns rows are read in the order of (text byte by byte)
    key: str | None = None
    geometry_type: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.kinds)

    @property
    def geometry(self) -> str | None:
        """Return the name of the geometry column, or None."""
        return GEOM if GEOM in self.kinds else None


@dataclass(frozen=True)
class Claim:
    """Whether a new registry may be made at a location, and what takes it away again."""

    taken: str | None  # why not ("exists already"), or None
    undo: Callable[[], None]  # removes what was made there since the claim


Rows = list[tuple[Any, ...]]


class Loader(Protocol):
    """Writes tables in the row format into a new registry, in one write unit of work."""

    def begin(self, table: Table) -> None:
        """Prepare `table`, empty, for its rows."""
        ...

    def load(self, table: Table, rows: Rows) -> None:
        """Write rows of `table`."""
        ...

    def end(self, table: Table) -> None:
        """Make what the database keeps for `table`'s rows (indexes, counters, counts)."""
        ...

    def finish(self, described: dict[str, str]) -> None:
        """Describe the tables as `Backend.descriptions` gave them; end the copy."""
        ...

    def count(self, table: str) -> int:
        """Return how many rows `table` holds now."""
        ...


class Backend(Protocol):
    """What the transfer module of each backend offers (`sqlite_transfer`, `postgis_transfer`).

    Its unit-of-work arguments are that backend's own.
    """

    def claim(self, location: str) -> Claim:
        """Return whether a new registry may be made at `location`, and what removes it."""
        ...

    def count(self, uow: Any, table: str) -> int:
        """Return how many rows `table` holds."""
        ...

    def dump(self, uow: Any, table: Table) -> Iterator[Rows]:
        """Yield the rows of `table` in the row format, a chunk at a time."""
        ...

    def descriptions(self, uow: Any) -> dict[str, str]:
        """Return what a GIS client shows of each table: {table: description}."""
        ...

    def Loader(self, uow: Any) -> Loader:  # the module's class, called
        """Return the loader writing into the registry of a write unit of work."""
        ...


def _record_kinds(kind: RecordKind) -> dict[str, str]:
    """Return {column: kind} of a kind's field and system columns, `version` last of the fields."""
    by_name = {f.name: f for f in kind.fields}
    out = {c: _FIELD_KINDS[by_name[c].kind] for c in history.field_columns(kind)}
    out.update(_SYSTEM_KINDS)
    if kind.geometry == "polygon":
        out["geom_key"] = "int"
    return out


def _geometry_type(kind: RecordKind) -> str | None:
    if kind.geometry is None:
        return None
    return "MULTIPOLYGON" if kind.geometry == "polygon" else "POINT"


def record_table(kind: RecordKind) -> Table:
    """Return the table of the current versions of `kind`'s records."""
    kinds = {"fid": "int", **({GEOM: "geometry"} if kind.geometry else {})}
    kinds.update(_record_kinds(kind))
    return Table(kind.table, kinds, ("fid",), "fid", _geometry_type(kind))


def history_table(kind: RecordKind) -> Table:
    """Return the table of the earlier versions of `kind`'s records."""
    kinds = {"fid": "int", **({GEOM: "geometry"} if kind.geometry else {})}
    kinds["record_fid"] = "int"
    kinds.update(_record_kinds(kind))
    kinds.update(valid_from="stamp", valid_to="stamp")
    return Table(history.history_table(kind), kinds, ("fid",), "fid", _geometry_type(kind))


SETTINGS = Table("landrelease_settings", {"key": "text", "value": "text"}, ("key",))
REF_COUNTERS = Table("landrelease_ref_counters", {"prefix": "text", "last": "int"}, ("prefix",))
BATCHES = Table(
    "landrelease_batches",
    {
        "id": "int",
        "kind": "text",
        "at": "stamp",
        "actor": "text",
        "reason": "text",
        "source": "text",
        "sha256": "text",
        "records": "int",
        "rejected": "int",
    },
    ("id",),
    "id",
)
USERS = Table(
    "landrelease_users",
    {
        "id": "int",
        "name": "text",
        "role": "text",
        "token_id": "text",
        "token_hash": "text",
        "created_at": "stamp",
        "created_by": "text",
        "revoked_at": "stamp",
        "revoked_by": "text",
    },
    ("id",),
    "id",
)
SESSIONS = Table(
    "landrelease_sessions",
    {
        "id": "int",
        "id_hash": "text",
        "user_name": "text",
        "csrf_token": "text",
        "created_at": "stamp",
        "expires_at": "stamp",
        "ended_at": "stamp",
    },
    ("id",),
    "id",
)
PROPOSALS = Table(
    "landrelease_status_proposals",
    {
        "id": "int",
        "ref": "text",
        "from_status": "text",
        "to_status": "text",
        "reason": "text",
        "expected_version": "int",
        "proposed_by": "text",
        "proposed_at": "stamp",
        "state": "text",
        "decided_by": "text",
        "decided_at": "stamp",
        "decision_reason": "text",
    },
    ("id",),
    "id",
)
SUBMISSIONS = Table(
    "landrelease_submissions",
    {
        "id": "int",
        "instance_id": "text",
        "form_id": "text",
        "submitted_by": "text",
        "submitted_at": "stamp",
        "imported_at": "stamp",
        "imported_by": "text",
        "source": "text",
        "payload": "text",
        "flags": "text",
        "state": "text",
        "override_reason": "text",
        "decided_by": "text",
        "decided_at": "stamp",
        "decision_reason": "text",
        "refs": "text",
    },
    ("id",),
    "id",
)
SUBMISSION_EVENTS = Table(
    "landrelease_submission_events",
    {
        "id": "int",
        "submission_id": "int",
        "at": "stamp",
        "actor": "text",
        "action": "text",
        "reason": "text",
        "detail": "text",
    },
    ("id",),
    "id",
)
RANKINGS = Table(
    "landrelease_rankings",
    {
        "id": "text",
        "created_at": "stamp",
        "created_by": "text",
        "as_of": "date",
        "config": "text",
        "inputs": "json",
        "areas": "int",
    },
    ("created_at", "id"),
)
RANKING_AREAS = Table(
    "landrelease_ranking_areas",
    {"ranking_id": "text", "rank": "int", "ref": "text", "score": "float", "components": "json"},
    ("ranking_id", "rank", "ref"),
)


def tables() -> list[Table]:
    """Return every table a copy moves, in the order it is loaded (what a row names first).

    Import batches come before the records that name them, hazard areas before the records
    that name an area, users before their sessions, a submission before its review history,
    a ranking before its areas.
    """
    return [
        SETTINGS,
        REF_COUNTERS,
        BATCHES,
        *(record_table(k) for k in KINDS.values()),
        *(history_table(k) for k in KINDS.values()),
        USERS,
        SESSIONS,
        PROPOSALS,
        SUBMISSIONS,
        SUBMISSION_EVENTS,
        RANKINGS,
        RANKING_AREAS,
    ]


def chunks(rows: Iterator[tuple[object, ...]], size: int = CHUNK) -> Iterator[list[tuple]]:
    """Yield lists of at most `size` rows of `rows`."""
    chunk: list[tuple] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


__all__ = [
    "CHUNK",
    "Backend",
    "Claim",
    "Loader",
    "Rows",
    "Table",
    "chunks",
    "history_table",
    "record_table",
    "tables",
]
