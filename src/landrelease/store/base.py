"""The Store protocol, its unit of work and the repositories hanging off it.

Every backend offers these: the SQLite/GeoPackage backend (`store/sqlite.py`,
`store/sqlite_uow.py`) today, a PostGIS backend next, chosen by the `--db` URL. The registry,
the importer and the checks use nothing else; nothing outside the store sees a connection.

    with store.unit_of_work(write=True, note="an edit by alice") as uow:
        area = uow.records(HAZARDS).get("UA-2024-00001")
        uow.records(HAZARDS).update(area["ref"], {...}, expected_version=area["version"], ...)

A unit of work is one transaction: committed when its block ends without error, rolled back
otherwise (or earlier with `uow.commit()` / `uow.rollback()`, after which it is over). A read
unit of work is one consistent snapshot and refuses writes.

Reads are columnar (a list per column, no object per row). Every column name a read is given
(columns, `where` keys, `order_by`) is checked against the record kind's fields and the
change stamp columns of `query.STAMP_COLUMNS` before any SQL is made; values are always bound
parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from landrelease.domain.records import RecordKind

Columns = dict[str, Any]  # column name -> list of values; "geometry" -> np.ndarray of shapely
BBox = tuple[float, float, float, float]  # minx, miny, maxx, maxy in EPSG:4326
OrderBy = str | Sequence[str]  # "name", or "-name" for descending; several for ties

GEOM = "geom"  # the geometry column of every feature table

UNCHANGED: Any = object()  # Records.update(): leave the geometry as it is


def now_utc() -> str:
    """Return the current time as the audit trail writes it (UTC, ISO 8601, milliseconds)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


class Records(Protocol):
    """The records of one kind, read and written inside a unit of work."""

    @property
    def kind(self) -> RecordKind: ...

    # -- reads --
    def get(self, ref: str) -> dict[str, Any]:
        """Return one record: its fields, the system columns and "geometry" (None for a kind
        without one), as stored; raise NotFound if no record of this kind has `ref`."""
        ...

    def select(
        self,
        *,
        columns: Sequence[str] | None = None,
        where: dict[str, Any] | None = None,
        bbox: BBox | None = None,
        geometry: bool = True,
        order_by: OrderBy | None = None,
        limit: int | None = None,
        offset: int = 0,
        filter: Any = None,
    ) -> Columns:
        """Return the matching records as columns, plus "geometry" (shapely) if asked for.

        `columns` default to the kind's fields. `where` maps a column to a value (None: the
        column is empty) or to a list of values (any of them). `bbox` keeps the records
        whose geometry really intersects the box. Rows come in `order_by` order, then in the
        order they were stored; ascending puts empty values last. `offset` rows are skipped
        and at most `limit` returned. An unknown column name is a ValidationError.
        `filter` is a CQL2 filter as `store.cql.parse_filter` gives it, kept with `where`.
        """
        ...

    def count(
        self,
        *,
        where: dict[str, Any] | None = None,
        bbox: BBox | None = None,
        filter: Any = None,
    ) -> int:
        """Return how many records `select` would give with `where`, `bbox` and `filter`."""
        ...

    def extent(self) -> tuple[BBox | None, tuple[Any, Any]]:
        """Return the bounding box of the records' geometries (None if there are none) and
        the first and last value of the kind's date field (None, None if it has none)."""
        ...

    def counts_by(self, column: str) -> dict[Any, int]:
        """Return {value: number of records} of one column."""
        ...

    def values(self, column: str) -> set[Any]:
        """Return the set of non-empty values of one column (e.g. every ref)."""
        ...

    def refs_by_key(self, keys: Sequence[int]) -> dict[int, str]:
        """Return {geometry key: ref} of the stored records (of a polygon kind) with `keys`."""
        ...

    # -- writes: the database keeps the history (earlier versions) itself --
    def add(
        self,
        data: Columns,
        *,
        at: str,
        actor: str,
        reason: str | None,
        batch: int | None,
        encoded: Sequence[Any] | None = None,
    ) -> None:
        """Insert new records (version 1, the row itself) from columns; fast for 100,000.

        `encoded` may give the geometries as `Store.encode_geometries` made them. A ref or a
        geometry key stored meanwhile by another writer is a ConflictError or
        DuplicateGeometry, and nothing of the batch is written.
        """
        ...

    def update(
        self,
        ref: str,
        values: dict[str, Any],
        *,
        geometry: Any = UNCHANGED,
        expected_version: int,
        action: str,
        at: str,
        actor: str,
        reason: str | None,
        checked: bool = False,
    ) -> int:
        """Write a new version of record `ref` if it is still at `expected_version`; return
        the new version. A stale version is a ConflictError, an unknown ref NotFound.

        `geometry` None clears it; left out, the stored one stays. `checked` clears the flag
        of a record changed outside landrelease.
        """
        ...


class Batches(Protocol):
    """Import batches: who imported which file, when and why; each created record names one."""

    def add(
        self,
        kind: RecordKind,
        *,
        at: str,
        actor: str,
        reason: str | None,
        source: str | None,
        sha256: str | None,
        records: int,
        rejected: int = 0,
    ) -> int:
        """Record one import batch; return its id."""
        ...

    def get(self, batch_id: int) -> dict[str, Any]:
        """Return one batch (kind, at, actor, reason, source, sha256, records, rejected)."""
        ...


class Settings(Protocol):
    """Settings of the registry (its country, its boundary...), kept with the records."""

    def get(self, key: str, default: str | None = None) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...


class Serials(Protocol):
    """The counters behind generated refs (<COUNTRY>[-<KIND>]-<YEAR>-<serial>)."""

    def reserve(self, prefix: str, count: int) -> range:
        """Return `count` new serial numbers for refs starting with `prefix`."""
        ...


class History(Protocol):
    """Earlier versions of records, kept by the database."""

    def versions(self, ref: str) -> list[dict[str, Any]]:
        """Return every version of a record, oldest first; [] if no record has this ref.

        Each: kind, ref, version, action, at, actor, reason, source (of an import batch),
        needs_check, state (the fields) and geometry.
        """
        ...


class Users(Protocol):
    """The users of the registry: a name, a role and the hash of one token each."""

    def add(
        self, *, name: str, role: str, token_id: str, token_hash: str, at: str, actor: str
    ) -> None:
        """Add a user; a name taken already (in any case) is a ValidationError."""
        ...

    def get(self, name: str) -> dict[str, Any] | None:
        """Return a user (name, role, created_at/by, revoked_at/by) by name, any case."""
        ...

    def credentials(self, token_id: str) -> dict[str, Any] | None:
        """Return the user holding the token of `token_id`, with the token's hash; or None."""
        ...

    def all(self) -> list[dict[str, Any]]:
        """Return every user, revoked ones too, in the order they were added (no token)."""
        ...

    def revoke(self, name: str, *, at: str, actor: str) -> None:
        """Revoke a user's token (the row stays); NotFound for an unknown name."""
        ...


class Sessions(Protocol):
    """Browser sessions, found by the SHA-256 of their random id."""

    def add(
        self, *, id_hash: str, user_name: str, csrf_token: str, created_at: str, expires_at: str
    ) -> None: ...

    def get(self, id_hash: str) -> dict[str, Any] | None:
        """Return a session (user_name, csrf_token, created_at, expires_at, ended_at); or None."""
        ...

    def end(self, id_hash: str, *, at: str) -> None: ...

    def end_all(self, user_name: str, *, at: str) -> int:
        """End every open session of a user; return how many."""
        ...

    def purge(self, *, before: str) -> int:
        """Delete the sessions that ended or expired before `before`; return how many."""
        ...


class Proposals(Protocol):
    """Status changes an editor proposed, pending until a validator decides."""

    def add(
        self,
        *,
        ref: str,
        from_status: str,
        to_status: str,
        reason: str | None,
        expected_version: int,
        proposed_by: str,
        proposed_at: str,
    ) -> int:
        """Record a pending proposal; return its id."""
        ...

    def get(self, proposal_id: int) -> dict[str, Any]:
        """Return one proposal; NotFound if there is none with this id."""
        ...

    def select(self, state: str | None = None) -> list[dict[str, Any]]:
        """Return the proposals in `state` (None: all), the oldest first."""
        ...

    def decide(self, proposal_id: int, *, state: str, by: str, at: str, reason: str | None) -> None:
        """Mark a pending proposal approved or rejected; ConflictError if it is decided."""
        ...


class Submissions(Protocol):
    """The review queue of field submissions and its history (store/review_queue.py)."""

    def add(self, row: dict[str, Any]) -> int:
        """Queue a pending submission (columns of SUBMISSION_COLUMNS); return its id."""
        ...

    def get(self, submission_id: int) -> dict[str, Any]:
        """Return one submission; NotFound if there is none with this id."""
        ...

    def by_instance(self, instance_id: str) -> dict[str, Any] | None:
        """Return the submission with this instance id, or None."""
        ...

    def select(self, state: str | None = None) -> list[dict[str, Any]]:
        """Return the submissions in `state` (None: all), the oldest first."""
        ...

    def update(self, submission_id: int, values: dict[str, Any]) -> None:
        """Change a pending submission; ConflictError if it was reviewed already."""
        ...

    def add_event(
        self,
        submission_id: int,
        *,
        at: str,
        actor: str,
        action: str,
        reason: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Append one entry to a submission's review history."""
        ...

    def events(self, submission_id: int) -> list[dict[str, Any]]:
        """Return a submission's review history, the oldest first."""
        ...


class Layers(Protocol):
    """Reference layers (settlements, buildings, roads, land use, facilities) for ranking."""

    def add(
        self,
        name: str,
        kind: str,
        geometry_type: str,
        geoms: Any,
        columns: dict[str, Any],
        source: str | None,
        content_sha256: str,
        at: str,
        actor: str,
    ) -> str:
        """Write a layer as a feature layer of its own; return its table. A name in use is
        a ValidationError, and nothing is written."""
        ...

    def get(self, name: str) -> dict[str, Any] | None:
        """Return one layer's row (as `all` gives it), or None."""
        ...

    def all(self) -> list[dict[str, Any]]:
        """Return every layer: name, kind, table_name, features, geometry_type, source,
        content_sha256, added_at, added_by."""
        ...

    def read(self, name: str) -> tuple[Any, dict[str, Any]]:
        """Return a layer's geometries (np.ndarray of shapely) and columns; NotFound if none."""
        ...

    def remove(self, name: str) -> dict[str, Any]:
        """Drop a layer and every registration of it; return its row; NotFound if none."""
        ...


class Rankings(Protocol):
    """Saved rankings of hazard areas: append-only."""

    def add(self, ranking: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
        """Save a ranking and its ranked areas; False if its id is saved already."""
        ...

    def get(self, ranking_id: str) -> dict[str, Any] | None: ...
    def latest(self) -> dict[str, Any] | None: ...
    def all(self) -> list[dict[str, Any]]: ...

    def areas(self, ranking_id: str) -> list[dict[str, Any]]:
        """Return a ranking's areas by rank: rank, ref, score, components."""
        ...


class UnitOfWork(Protocol):
    """One transaction, with the repositories that read and write through it."""

    @property
    def write(self) -> bool: ...
    @property
    def batches(self) -> Batches: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def serials(self) -> Serials: ...
    @property
    def history(self) -> History: ...
    @property
    def users(self) -> Users: ...
    @property
    def sessions(self) -> Sessions: ...
    @property
    def proposals(self) -> Proposals: ...
    @property
    def submissions(self) -> Submissions: ...
    @property
    def layers(self) -> Layers: ...
    @property
    def rankings(self) -> Rankings: ...

    def records(self, kind: RecordKind) -> Records:
        """Return the repository of the records of `kind`."""
        ...

    def prefix_layer_descriptions(self, prefix: str) -> None:
        """Put `prefix` before every layer's description (what a GIS client shows of it)."""
        ...

    def commit(self) -> None:
        """Commit now; the unit of work is then over (using it again is an error)."""
        ...

    def rollback(self) -> None:
        """Roll back now; the unit of work is then over."""
        ...


class Store(Protocol):
    """Records kept by one backend; every read and write goes through a unit of work."""

    backend: str
    readonly: bool

    def close(self) -> None: ...

    def unit_of_work(
        self, *, write: bool = False, bulk: bool = False, note: str | None = None
    ) -> AbstractContextManager[UnitOfWork]:
        """Begin one transaction: a snapshot to read, or with `write` the write lock.

        `bulk` (a large import) lets the backend write the fastest way it has; `note` says
        what the write does, for another writer who finds the registry busy meanwhile.
        A write raises RegistryReadOnly on a registry opened read-only, RegistryBusy when
        another writer holds the lock too long.
        """
        ...

    def select(
        self,
        kind: RecordKind,
        *,
        columns: Sequence[str] | None = None,
        where: dict[str, Any] | None = None,
        bbox: BBox | None = None,
        geometry: bool = True,
        order_by: OrderBy | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Columns:
        """Return `Records.select` of one read unit of work of its own (a one-read shortcut)."""
        ...

    def encode_geometries(self, kind: RecordKind, geoms: Any) -> list[Any]:
        """Return geometries in the form `kind`'s table stores them, made ahead of
        `Records.add` (on any thread, outside a unit of work)."""
        ...


__all__ = [
    "GEOM",
    "UNCHANGED",
    "BBox",
    "Batches",
    "Columns",
    "History",
    "Layers",
    "OrderBy",
    "Proposals",
    "Submissions",
    "Rankings",
    "Records",
    "Serials",
    "Sessions",
    "Settings",
    "Store",
    "UnitOfWork",
    "Users",
    "now_utc",
]
