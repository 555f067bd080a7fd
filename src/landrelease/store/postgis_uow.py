"""The unit of work of the PostGIS backend, and the record and history repositories on it.

`PostgisStore.unit_of_work()` begins the transaction on a pooled connection and hands out a
`PgUnitOfWork`; the repositories of the tables beside the records are those of
`store/postgis_tables.py`, made from it. Identifiers in the SQL here are table names of the
data model and column names checked by `store.query`; every value is a bound parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg
import shapely
from psycopg import errors
from psycopg import sql as pgsql

from landrelease.domain.errors import ConflictError, DuplicateGeometry, NotFound, ValidationError
from landrelease.domain.records import KINDS, RecordKind
from landrelease.store import geopackage as gpkg
from landrelease.store.base import GEOM, UNCHANGED, BBox, Columns, OrderBy
from landrelease.store.box_index import MemoryBoxes
from landrelease.store.history import field_columns, history_table
from landrelease.store.messages import RECORD_NOUNS
from landrelease.store.postgis_schema import SRID, column_type, is_bool
from landrelease.store.query import (
    Query,
    checked_column,
    checked_writes,
    read_query,
    readable_columns,
)

if TYPE_CHECKING:
    from landrelease.store import postgis_review_queue, postgis_tables

# What a translation of a database error met on the connection of a server process (its pid)
# gives: our error, or None to let it go as it is.
Translate = Callable[[psycopg.Error, int], Exception | None]

# The first word of a statement that writes: refused in a read unit of work before it is sent.
_WRITES = frozenset(
    "INSERT UPDATE DELETE MERGE COPY CREATE DROP ALTER TRUNCATE COMMENT GRANT REVOKE".split()
)
_READ_ONLY = "a write in a read unit of work: begin it with store.unit_of_work(write=True)"

# Hex EWKB headers in EPSG:4326 (little-endian): a MultiPolygon of one part, to put a
# Polygon's own WKB behind; and, by shapely type id, what replaces the first five bytes (byte
# order and type) of a Point's or a MultiPolygon's WKB.
_SRID_HEX = SRID.to_bytes(4, "little").hex().upper()
_MULTI_OF_ONE = f"0106000020{_SRID_HEX}01000000"
_HEADS = {0: f"0101000020{_SRID_HEX}", 6: f"0106000020{_SRID_HEX}"}

_GEOM_KEY = re.compile(r"\(geom_key\)=\((-?\d+)\)")


def encode_geometries(kind: RecordKind, geoms: np.ndarray) -> list[str | None]:
    """Return geometries as the hex EWKB (EPSG:4326) `kind`'s column takes, a Polygon as the
    one-part MultiPolygon it is; safe to call from any thread.

    A geometry with Z values, or of a type the column does not hold, is a ValueError (the
    checks of a write drop Z and refuse other types first, so either is a bug).
    """
    geoms = np.asarray(geoms, dtype=object)
    out: list[str | None] = [None] * len(geoms)
    present = np.flatnonzero(~shapely.is_missing(geoms))
    if not len(present):
        return out
    sub = geoms[present]
    types = shapely.get_type_id(sub)
    layer_type = "MULTIPOLYGON" if kind.geometry == "polygon" else "POINT"
    bad = shapely.has_z(sub) | ~np.isin(types, gpkg.LAYER_TYPE_IDS[layer_type])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        z = " Z" if shapely.has_z(sub[i]) else ""
        raise ValueError(
            f"cannot store a {sub[i].geom_type}{z} in a {layer_type} (XY) column "
            f"(geometry {int(present[i]) + 1} of {len(geoms)})"
        )
    wkbs = shapely.to_wkb(sub, hex=True, byte_order=1).tolist()
    for i, wkb, t in zip(present.tolist(), wkbs, types.tolist(), strict=True):
        out[i] = _MULTI_OF_ONE + wkb if t == 3 else _HEADS[t] + wkb[10:]
    return out


class PgUnitOfWork:
    """One PostgreSQL transaction on one pooled connection, and the repositories that use it.

    With `begin`, the transaction is begun by that statement only when the unit of work
    first uses the database, in one round trip with its first statement (a pipeline); a unit
    of work that reads nothing from the database (a page of keys from the box index) then
    costs no round trip at all.
    """

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        *,
        write: bool,
        translate: Translate,
        begin: str | None = None,
        boxes: Callable[[RecordKind], MemoryBoxes] | None = None,
    ):
        self._conn = conn
        self._write = write
        self._translate = translate
        self._begin = begin
        self.boxes = boxes  # the store's in-memory box indexes, for reads
        self._open = True
        self._records: dict[str, PgRecords] = {}

    @property
    def write(self) -> bool:
        return self._write

    @property
    def batches(self) -> postgis_tables.PgBatches:
        from landrelease.store.postgis_tables import PgBatches

        return PgBatches(self)

    @property
    def settings(self) -> postgis_tables.PgSettings:
        from landrelease.store.postgis_tables import PgSettings

        return PgSettings(self)

    @property
    def serials(self) -> postgis_tables.PgSerials:
        from landrelease.store.postgis_tables import PgSerials

        return PgSerials(self)

    @property
    def users(self) -> postgis_tables.PgUsers:
        from landrelease.store.postgis_tables import PgUsers

        return PgUsers(self)

    @property
    def sessions(self) -> postgis_tables.PgSessions:
        from landrelease.store.postgis_tables import PgSessions

        return PgSessions(self)

    @property
    def proposals(self) -> postgis_tables.PgProposals:
        from landrelease.store.postgis_tables import PgProposals

        return PgProposals(self)

    @property
    def submissions(self) -> postgis_review_queue.PgSubmissions:
        from landrelease.store.postgis_review_queue import PgSubmissions

        return PgSubmissions(self)

    @property
    def layers(self) -> postgis_tables.PgLayers:
        from landrelease.store.postgis_tables import PgLayers

        return PgLayers(self)

    @property
    def rankings(self) -> postgis_tables.PgRankings:
        from landrelease.store.postgis_tables import PgRankings

        return PgRankings(self)

    @property
    def history(self) -> PgHistory:
        return PgHistory(self)

    def records(self, kind: RecordKind) -> PgRecords:
        """Return the repository of the records of `kind`."""
        repo = self._records.get(kind.name)
        if repo is None:
            repo = self._records[kind.name] = PgRecords(self, kind)
        return repo

    def prefix_layer_descriptions(self, prefix: str) -> None:
        """Put `prefix` before the description (COMMENT ON TABLE) of every table that has
        one: what QGIS shows of a layer."""
        described = self.execute(
            "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' "
            "AND obj_description(c.oid, 'pg_class') IS NOT NULL ORDER BY c.relname"
        ).fetchall()
        for table, text in described:
            self.execute(
                pgsql.SQL("COMMENT ON TABLE {} IS {}")
                .format(pgsql.Identifier(table), pgsql.Literal(prefix + text))
                .as_string(self._conn)
            )

    def commit(self) -> None:
        """Commit now; the unit of work is then over."""
        self._check_open()
        self._end("COMMIT")

    def rollback(self) -> None:
        """Roll back now; the unit of work is then over."""
        self._check_open()
        self._end("ROLLBACK")

    # -- for the store and the repositories ------------------------------------------------

    def execute(self, sql: str, params: Any = (), *, binary: bool = False) -> psycopg.Cursor[Any]:
        """Run one statement in this transaction; return its cursor.

        `sql` takes psycopg's `%s` placeholders when `params` are given (without them a `%` is
        just a `%`). A write in a read unit of work is a RuntimeError; the database's errors
        leave as LandreleaseErrors where they have a meaning for the user (busy, read-only,
        a value refused), else as psycopg raised them.
        """
        self._check_open()
        if not self._write and sql.lstrip().split(None, 1)[0].upper() in _WRITES:
            raise RuntimeError(_READ_ONLY)
        conn = self._conn
        with self.translated():
            if self._begin is None:
                return conn.execute(sql, params or None, binary=binary)
            with conn.pipeline():
                conn.execute(self._begin)
                self._begin = None
                return conn.execute(sql, params or None, binary=binary)

    @contextmanager
    def copy(self, statement: str) -> Iterator[psycopg.Copy]:
        """Yield the COPY of `statement` (FROM STDIN) in this transaction; errors as psycopg's."""
        if not self._write:
            raise RuntimeError(_READ_ONLY)
        with self._live().cursor() as cursor, cursor.copy(statement) as copy:
            yield copy

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Run the block so that an error in it undoes only what it did (the unit of work
        stays usable, as after a refused statement on SQLite)."""
        conn = self._live()
        conn.execute("SAVEPOINT landrelease_step")
        try:
            yield
        except BaseException:
            if not conn.broken:
                conn.execute("ROLLBACK TO SAVEPOINT landrelease_step")
            raise
        conn.execute("RELEASE SAVEPOINT landrelease_step")

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Turn the database's errors in the block into ours (see `execute`)."""
        try:
            yield
        except psycopg.Error as exc:
            if isinstance(exc, errors.ReadOnlySqlTransaction) and not self._write:
                raise RuntimeError(_READ_ONLY) from None
            error = self._translate(exc, 0 if self._conn.closed else self._conn.info.backend_pid)
            if error is None:
                raise
            raise error from None

    def check_write(self) -> None:
        """Raise RuntimeError unless this is a write unit of work that is still open."""
        self._live()
        if not self._write:
            raise RuntimeError(_READ_ONLY)

    def finish(self, *, commit: bool) -> None:
        """End the transaction as the block ends, unless `commit` or `rollback` ended it."""
        if self._open:
            self._end("COMMIT" if commit else "ROLLBACK")

    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError(
                "this unit of work is over (committed or rolled back); begin another"
            )

    def _live(self) -> psycopg.Connection[Any]:
        """Return the connection, in the transaction (begun now if it was not yet)."""
        self._check_open()
        if self._begin is not None:
            begin, self._begin = self._begin, None
            with self.translated():
                self._conn.execute(begin)
        return self._conn

    def _end(self, statement: str) -> None:
        self._open = False
        if self._begin is not None or self._conn.broken:
            return  # never begun, or the server ended the session: nothing to end
        with self.translated():
            self._conn.execute(statement)


class PgRecords:
    """The records of one kind in their PostGIS table."""

    def __init__(self, uow: PgUnitOfWork, kind: RecordKind) -> None:
        self._uow = uow
        self._kind = kind

    @property
    def kind(self) -> RecordKind:
        return self._kind

    # -- reads ---------------------------------------------------------------------------------

    def get(self, ref: str) -> dict[str, Any]:
        """Return one record as stored (fields, change stamp, "geometry"); NotFound if none."""
        cols = self.select(columns=readable_columns(self._kind), where={"ref": ref})
        if not cols["ref"]:
            raise NotFound(f"{ref}: no {RECORD_NOUNS[self._kind.name]} with this reference")
        rec = {k: v[0] for k, v in cols.items() if k != "geometry"}
        rec["geometry"] = cols["geometry"][0] if "geometry" in cols else None
        return rec

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
        """Return matching records as columns (lists), plus "geometry" decoded to shapely.

        Everything is done by the database: `bbox` by the GiST index and an intersection
        test, `filter` compiled to SQL, the order and the page; but a read unit of work
        answers a page of refs and versions in a box, in stored order, from the store's
        in-memory box index (`store/postgis_boxes.py`), as the file's does.
        """
        kind = self._kind
        q = read_query(
            kind, columns=columns, where=where, order_by=order_by, limit=limit, offset=offset
        )
        want_geom = geometry and kind.geometry is not None
        boxes = self._uow.boxes
        if (
            boxes is not None
            and bbox is not None
            and kind.geometry is not None
            and filter is None
            and not (want_geom or q.where or q.order)
            and set(q.columns) <= {"ref", "version"}
        ):
            # asked through this read's own connection: never a second one from the pool
            refs, versions = boxes(kind).keys_in(bbox, self._uow.execute)
            end = None if q.limit is None else q.offset + q.limit
            known: dict[str, list[Any]] = {"ref": refs, "version": versions}
            return {c: known[c][q.offset : end] for c in q.columns}
        sel = [f"t.{c}" for c in q.columns]
        if want_geom:
            sel.append(f"ST_AsBinary(t.{GEOM})")
        conds, params = self._conditions(q, bbox, filter)
        order = [f"t.{c} DESC NULLS FIRST" if d else f"t.{c} ASC NULLS LAST" for c, d in q.order]
        sql = (
            f"SELECT {', '.join(sel) or 'NULL'} FROM {kind.table} t{_where(conds)} "
            f"ORDER BY {', '.join([*order, 't.fid'])}"
        )
        if q.limit is not None or q.offset:
            sql += " LIMIT %s OFFSET %s"
            params += [q.limit, q.offset]
        rows = self._uow.execute(sql, params, binary=True).fetchall()
        values: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [()] * len(sel)
        out: Columns = {name: list(v) for name, v in zip(q.columns, values, strict=False)}
        if want_geom:
            out["geometry"] = shapely.from_wkb(np.asarray(values[-1], dtype=object))
        return out

    def count(
        self,
        *,
        where: dict[str, Any] | None = None,
        bbox: BBox | None = None,
        filter: Any = None,
    ) -> int:
        """Return how many records match `where`, `bbox` and `filter`."""
        conds, params = self._conditions(
            read_query(self._kind, columns=(), where=where), bbox, filter
        )
        sql = f"SELECT count(*) FROM {self._kind.table} t{_where(conds)}"
        return int(_one(self._uow.execute(sql, params))[0])

    def counts_by(self, column: str) -> dict[Any, int]:
        """Return {value: number of records} of one column."""
        col = checked_column(self._kind, column, "column")
        rows = self._uow.execute(f"SELECT {col}, count(*) FROM {self._kind.table} GROUP BY {col}")
        return {r[0]: r[1] for r in rows}

    def values(self, column: str) -> set[Any]:
        """Return the set of values of one column (e.g. every ref)."""
        col = checked_column(self._kind, column, "column")
        sql = f"SELECT DISTINCT {col} FROM {self._kind.table} WHERE {col} IS NOT NULL"
        return {r[0] for r in self._uow.execute(sql)}

    def refs_by_key(self, keys: Sequence[int]) -> dict[int, str]:
        """Return {geometry key: ref} for stored records with any of `keys`."""
        if self._kind.geometry != "polygon":
            raise ValueError(f"{self._kind.name} have no geometry key")
        rows = self._uow.execute(
            f"SELECT geom_key, ref FROM {self._kind.table} WHERE geom_key = ANY(%s::bigint[])",
            ([int(k) for k in keys],),
        )
        return {key: ref for key, ref in rows}

    def extent(self) -> tuple[BBox | None, tuple[Any, Any]]:
        """Return the box of the records' geometries and the first and last value of the
        kind's date field."""
        kind = self._kind
        box: BBox | None = None
        if kind.geometry:
            row = _one(
                self._uow.execute(
                    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                    f"FROM (SELECT ST_Extent({GEOM}) AS e FROM {kind.table}) s"
                )
            )
            box = None if row[0] is None else (row[0], row[1], row[2], row[3])
        if not kind.date_field:
            return box, (None, None)
        col = checked_column(kind, kind.date_field, "column")
        first, last = _one(self._uow.execute(f"SELECT min({col}), max({col}) FROM {kind.table}"))
        return box, (first, last)

    def _conditions(self, q: Query, bbox: BBox | None, flt: Any) -> tuple[list[str], list[Any]]:
        """Return the SQL conditions of a read (checked names, bound values) and the values."""
        kind = self._kind
        conds: list[str] = []
        params: list[Any] = []
        if bbox is not None:
            if not kind.geometry:
                raise ValidationError(None, "bbox", f"{kind.name} have no geometry to filter by")
            box = [float(v) for v in bbox]
            envelope = f"ST_MakeEnvelope(%s, %s, %s, %s, {SRID})"
            conds.append(f"t.{GEOM} && {envelope} AND ST_Intersects(t.{GEOM}, {envelope})")
            params += box + box
        for col, value in q.where:
            cast = column_type(kind, col)
            if value is None:
                conds.append(f"t.{col} IS NULL")
            elif not isinstance(value, list):
                conds.append(f"t.{col} = %s::{cast}")
                params.append(self._value(col, value))
            elif not value:
                conds.append("FALSE")  # any of no values: nothing matches
            else:
                conds.append(f"t.{col} = ANY(%s::{cast}[])")
                params.append([self._value(col, v) for v in value])
        if flt is not None:
            from landrelease.store import cql

            compiled = cql.compile_postgis(kind, flt)
            conds.append(compiled.sql)
            params += compiled.params
        return conds, params

    def _value(self, column: str, value: Any) -> Any:
        """Return a value as bound for `column` (a number for a true-or-false column: a bool)."""
        if isinstance(value, int | float) and is_bool(self._kind, column):
            return bool(value)
        return value

    # -- writes --------------------------------------------------------------------------------

    def add(
        self,
        data: Columns,
        *,
        at: str,
        actor: str,
        reason: str | None,
        batch: int | None,
        encoded: Sequence[str | None] | None = None,
    ) -> None:
        """Insert new records (version 1, the row itself) by one COPY; fast for 100,000 rows.

        `encoded` may give the geometries as `encode_geometries` made them. A ref or a
        geometry key stored meanwhile is a ConflictError or DuplicateGeometry, and nothing of
        the batch is written (the unit of work goes on).
        """
        kind = self._kind
        self._uow.check_write()
        n = len(data["ref"])
        if not n:
            return
        names = [c for c in kind.field_names if c != "version"]
        cells: list[Any] = [data[c] if c in data else repeat(None) for c in names]
        names += ["version", "changed_at", "changed_by", "change_reason", "change_action"]
        names.append("batch_id")
        cells += [repeat(v) for v in (1, at, actor, reason, "create", batch)]
        if kind.geometry == "polygon":
            names.append("geom_key")
            cells.append(data.get("geom_key", repeat(None)))
        geoms = data.get("geometry") if kind.geometry else None
        if geoms is not None:
            names.append(GEOM)
            cells.append(encoded if encoded is not None else encode_geometries(kind, geoms))
        statement = f"COPY {kind.table} ({', '.join(names)}) FROM STDIN"
        try:
            with self._uow.translated(), self._uow.savepoint(), self._uow.copy(statement) as copy:
                for row in zip(*cells, strict=False):  # the stamp's columns repeat endlessly
                    copy.write_row(row)
        except errors.UniqueViolation as exc:
            self._refuse_duplicate(exc)
            raise ConflictError(
                f"{kind.name}: a record with one of these refs was added by someone else while "
                "this batch was being checked; nothing was written, import it again"
            ) from None
        except errors.NotNullViolation as exc:
            raise ValidationError(
                None, exc.diag.column_name, "is required; nothing of the batch was written"
            ) from None

    def _refuse_duplicate(self, exc: errors.UniqueViolation) -> None:
        """Raise DuplicateGeometry if `exc` is the unique geometry key refusing a row of a
        batch: the key of a stored record (stored by another writer meanwhile)."""
        found = _GEOM_KEY.search(exc.diag.message_detail or "")
        if found is None:
            return
        key = int(found.group(1))
        row = self._uow.execute(
            f"SELECT ref FROM {self._kind.table} WHERE geom_key = %s", (key,)
        ).fetchone()
        if row is None:
            raise ValidationError(
                None, "geometry", "two records of this batch have the same geometry"
            )
        raise DuplicateGeometry(None, key, str(row[0]))

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
        """Write a new version of a record if it is still at `expected_version`; return it.

        `geometry` None clears the geometry; leave it out to keep the stored one. The old
        version goes into history (the trigger copies it). `checked` clears the flag of a
        record changed outside landrelease (`landrelease check --fix`).
        """
        kind = self._kind
        self._uow.check_write()
        names = checked_writes(kind, values)
        new_version = expected_version + 1
        sets = [f"{k} = %s" for k in names]
        sets += ["version = %s", "changed_at = %s", "changed_by = %s", "change_reason = %s"]
        sets += ["change_action = %s", "batch_id = NULL"]
        params: list[Any] = [self._value(k, v) for k, v in values.items()]
        params += [new_version, at, actor, reason, action]
        if checked:
            sets.append("needs_check = false")
        if geometry is not UNCHANGED and kind.geometry:
            sets.append(f"{GEOM} = %s::geometry")
            params.append(encode_geometries(kind, np.array([geometry], dtype=object))[0])
        try:
            with self._uow.savepoint():
                res = self._uow.execute(
                    f"UPDATE {kind.table} SET {', '.join(sets)} WHERE ref = %s AND version = %s",
                    (*params, ref, expected_version),
                )
        except errors.UniqueViolation as exc:
            if "geom_key" not in (exc.diag.constraint_name or ""):
                raise
            other = self._uow.execute(
                f"SELECT ref FROM {kind.table} WHERE geom_key = %s AND ref <> %s",
                (values.get("geom_key"), ref),
            ).fetchone()
            raise ValidationError(
                ref,
                "geometry",
                "probable duplicate: the same geometry is already stored as "
                f"{other[0] if other else 'another area'}",
            ) from None
        if res.rowcount != 1:
            row = self._uow.execute(
                f"SELECT version FROM {kind.table} WHERE ref = %s", (ref,)
            ).fetchone()
            if row is None:
                raise NotFound(f"{ref}: no record with this reference")
            raise ConflictError(
                f"{ref}: changed by someone else (now version {row[0]}, you had version "
                f"{expected_version}); reload it and try again"
            )
        return new_version


class PgHistory:
    """Earlier versions in each kind's `<table>_history`, the current one in its table."""

    def __init__(self, uow: PgUnitOfWork) -> None:
        self._uow = uow

    def versions(self, ref: str) -> list[dict[str, Any]]:
        """Return every version of a record, oldest first; [] if no record has this ref.

        Each: kind, ref, version, action, at, actor, reason, source (of an import batch),
        needs_check, state (the fields), geometry. Earlier versions come from the kind's
        history table, the last is the current row.
        """
        keys = ("version", "action", "at", "actor", "reason", "needs_check", "source")
        for kind in KINDS.values():
            cols = [c for c in field_columns(kind) if c != "version"]
            select = [f"r.{c}" for c in cols]
            select += ["r.version", "r.change_action", "r.changed_at", "r.changed_by"]
            select += ["r.change_reason", "r.needs_check", "b.source"]
            if kind.geometry:
                select.append(f"ST_AsBinary(r.{GEOM})")
            sql = (
                f"SELECT {', '.join(select)} FROM {{}} r "
                "LEFT JOIN landrelease_batches b ON b.id = r.batch_id WHERE r.ref = %s"
            )
            current = self._uow.execute(sql.format(kind.table), (ref,), binary=True).fetchall()
            if not current:
                continue
            past = self._uow.execute(
                sql.format(history_table(kind)) + " ORDER BY r.version, r.fid", (ref,), binary=True
            ).fetchall()
            rows = past + current
            wkbs = [r[len(select) - 1] if kind.geometry else None for r in rows]
            out = []
            for r, g in zip(rows, shapely.from_wkb(np.asarray(wkbs, dtype=object)), strict=True):
                d: dict[str, Any] = {"kind": kind.name, "ref": ref}
                d.update(zip(keys, r[len(cols) : len(cols) + len(keys)], strict=True))
                d["needs_check"] = bool(d["needs_check"])
                state = dict(zip(cols, r[: len(cols)], strict=True))
                state["version"] = d["version"]
                d["state"] = state
                d["geometry"] = g
                out.append(d)
            return out
        return []


def _one(cursor: psycopg.Cursor[Any]) -> Any:
    """Return the one row of an aggregate's result."""
    row = cursor.fetchone()
    assert row is not None
    return row


def _where(conds: list[str]) -> str:
    return " WHERE " + " AND ".join(conds) if conds else ""


__all__ = ["PgHistory", "PgRecords", "PgUnitOfWork", "encode_geometries"]
