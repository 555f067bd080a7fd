"""The unit of work of the SQLite / GeoPackage backend, and the repositories hanging off it.

`SqliteStore.unit_of_work()` begins the transaction on a pooled connection and hands out a
`SqliteUnitOfWork`; the repositories here hold the backend's SQL. Identifiers in that SQL are
table names of the data model and column names checked by `store.query`; every value is a
bound parameter.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson
import shapely

from landrelease.domain.errors import ConflictError, DuplicateGeometry, NotFound, ValidationError
from landrelease.domain.records import KINDS, RecordKind
from landrelease.store import geopackage as gpkg
from landrelease.store import history
from landrelease.store.base import GEOM, UNCHANGED, BBox, Columns, OrderBy
from landrelease.store.box_index import BoxIndex
from landrelease.store.connections import Connection, Result
from landrelease.store.layers import SqliteLayers
from landrelease.store.messages import RECORD_NOUNS, WRITE_IN_READ_UNIT, batch_not_found
from landrelease.store.query import (
    Query,
    checked_column,
    checked_writes,
    read_query,
    readable_columns,
)
from landrelease.store.rankings import SqliteRankings
from landrelease.store.review_queue import SqliteSubmissions
from landrelease.store.side_tables import BATCH_COLUMNS
from landrelease.store.users import SqliteProposals, SqliteSessions, SqliteUsers

# A list of values longer than this is bound as one JSON array (no limit on SQL variables).
_MANY_VALUES = 500


def encode_geometries(kind: RecordKind, geoms: np.ndarray) -> list[bytes | None]:
    """Return geometries as `kind`'s table stores them (GeoPackage blobs; polygons as
    MultiPolygons); safe to call from any thread."""
    polygons = kind.geometry == "polygon"
    return gpkg.encode(geoms, multi=polygons, layer_type="MULTIPOLYGON" if polygons else "POINT")


class SqliteUnitOfWork:
    """One SQLite transaction on one connection, and the repositories that use it."""

    def __init__(
        self,
        conn: Connection,
        *,
        write: bool,
        on_end: Callable[[], None] | None = None,
        boxes: Callable[[RecordKind], BoxIndex] | None = None,
    ) -> None:
        self._conn = conn
        self.boxes = boxes  # the store's in-memory box indexes, for reads
        self._write = write
        self._open = True
        self._on_end = on_end
        self._records: dict[str, SqliteRecords] = {}
        self._batches = SqliteBatches(self)
        self._settings = SqliteSettings(self)
        self._serials = SqliteSerials(self)
        self._history = SqliteHistory(self)

    @property
    def write(self) -> bool:
        return self._write

    @property
    def batches(self) -> SqliteBatches:
        return self._batches

    @property
    def settings(self) -> SqliteSettings:
        return self._settings

    @property
    def serials(self) -> SqliteSerials:
        return self._serials

    @property
    def history(self) -> SqliteHistory:
        return self._history

    @property
    def users(self) -> SqliteUsers:
        return SqliteUsers(self)

    @property
    def sessions(self) -> SqliteSessions:
        return SqliteSessions(self)

    @property
    def proposals(self) -> SqliteProposals:
        return SqliteProposals(self)

    @property
    def submissions(self) -> SqliteSubmissions:
        return SqliteSubmissions(self)

    @property
    def layers(self) -> SqliteLayers:
        return SqliteLayers(self)

    @property
    def rankings(self) -> SqliteRankings:
        return SqliteRankings(self)

    def records(self, kind: RecordKind) -> SqliteRecords:
        """Return the repository of the records of `kind`."""
        repo = self._records.get(kind.name)
        if repo is None:
            repo = self._records[kind.name] = SqliteRecords(self, kind)
        return repo

    def prefix_layer_descriptions(self, prefix: str) -> None:
        """Put `prefix` before every layer's description (what QGIS shows of a layer)."""
        self.sql("UPDATE gpkg_contents SET description = ? || description", (prefix,), write=True)

    def commit(self) -> None:
        """Commit now; the unit of work is then over."""
        self._live()
        self._end("COMMIT")

    def rollback(self) -> None:
        """Roll back now; the unit of work is then over."""
        self._live()
        self._end("ROLLBACK")

    # -- for the store and the repositories ------------------------------------------------

    def sql(self, sql: str, params: Any = (), *, write: bool = False) -> Result:
        """Run one statement in this transaction (`write`: refused in a read unit of work)."""
        return self.connection(write=write).exec_driver_sql(sql, params)

    def connection(self, *, write: bool = False) -> Connection:
        """Return the connection of this transaction while it is open."""
        self._live()
        if write and not self._write:
            raise RuntimeError(WRITE_IN_READ_UNIT)
        return self._conn

    def finish(self, *, commit: bool) -> None:
        """End the transaction as the block ends, unless `commit` or `rollback` ended it."""
        if self._open:
            self._end("COMMIT" if commit else "ROLLBACK")

    def _live(self) -> None:
        if not self._open:
            raise RuntimeError(
                "this unit of work is over (committed or rolled back); begin another"
            )

    def _end(self, statement: str) -> None:
        self._open = False
        on_end, self._on_end = self._on_end, None
        try:
            if on_end is not None:
                on_end()
        finally:
            if self._conn.raw.in_transaction:
                self._conn.raw.execute(statement)


class SqliteRecords:
    """The records of one kind in their GeoPackage table."""

    def __init__(self, uow: SqliteUnitOfWork, kind: RecordKind) -> None:
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

        A `bbox` uses the R-tree, then keeps the geometries that really intersect the box
        (decoding only those whose envelope is not inside it); the page (`offset`, `limit`)
        is then taken of what is kept.
        """
        q = read_query(
            self._kind,
            columns=columns,
            where=where,
            order_by=order_by,
            limit=limit,
            offset=offset,
        )
        want_geom = geometry and self._kind.geometry is not None
        boxes = self._uow.boxes
        if (
            boxes is not None
            and bbox is not None
            and self._kind.geometry is not None
            and filter is None
            and not (want_geom or q.where or q.order)
            and set(q.columns) <= {"ref", "version"}
        ):  # a server's page of keys by box: from memory (store/box_index.py)
            refs, versions = boxes(self._kind).keys_in(bbox)
            end = None if q.limit is None else q.offset + q.limit
            known: dict[str, list[Any]] = {"ref": refs, "version": versions}
            return {c: known[c][q.offset : end] for c in q.columns}
        values, geoms, index = self._matching(q, bbox, want_geom, filter)
        named = zip(q.columns, values[: len(q.columns)], strict=True)
        if index is None:
            out: Columns = {name: list(v) for name, v in named}
        else:
            out = {name: _take(v, index) for name, v in named}
            geoms = geoms[index] if geoms is not None else None
        if want_geom:
            assert geoms is not None
            out["geometry"] = geoms
        return out

    def count(
        self,
        *,
        where: dict[str, Any] | None = None,
        bbox: BBox | None = None,
        filter: Any = None,
    ) -> int:
        """Return how many records match `where`, `bbox` and `filter`."""
        q = read_query(self._kind, columns=(), where=where)
        if bbox is None:
            conds, params = _conditions(q)
            if filter is not None:
                cond, more = self._filter_condition(filter)
                conds.append(cond)
                params += more
            sql = f"SELECT count(*) FROM {self._kind.table} t" + _where(conds)
            return int(self._uow.sql(sql, tuple(params)).scalar_one())
        _values, _geoms, index = self._matching(q, bbox, False, filter)
        assert index is not None
        return len(index)

    def counts_by(self, column: str) -> dict[Any, int]:
        """Return {value: number of records} of one column."""
        col = checked_column(self._kind, column, "column")
        rows = self._uow.sql(
            f"SELECT t.{col}, count(*) FROM {self._kind.table} t GROUP BY t.{col}"
        ).fetchall()
        return {r[0]: r[1] for r in rows}

    def values(self, column: str) -> set[Any]:
        """Return the set of values of one column (e.g. every ref)."""
        col = checked_column(self._kind, column, "column")
        sql = f"SELECT {col} FROM {self._kind.table} WHERE {col} IS NOT NULL"
        return {r[0] for r in self._uow.sql(sql)}

    def refs_by_key(self, keys: Sequence[int]) -> dict[int, str]:
        """Return {geometry key: ref} for stored records with any of `keys`."""
        if self._kind.geometry != "polygon":
            raise ValueError(f"{self._kind.name} have no geometry key")
        out: dict[int, str] = {}
        keys = list(keys)
        for i in range(0, len(keys), _MANY_VALUES):
            chunk = keys[i : i + _MANY_VALUES]
            marks = ",".join("?" * len(chunk))
            for key, ref in self._uow.sql(
                f"SELECT geom_key, ref FROM {self._kind.table} WHERE geom_key IN ({marks})",
                tuple(chunk),
            ):
                out[key] = ref
        return out

    def extent(self) -> tuple[BBox | None, tuple[Any, Any]]:
        """Return the box of the records' geometries (from the R-tree) and the first and
        last value of the kind's date field."""
        kind = self._kind
        box: BBox | None = None
        if kind.geometry:
            row = self._uow.sql(
                f"SELECT min(minx), min(miny), max(maxx), max(maxy) "
                f"FROM {gpkg.rtree_name(kind.table)}"
            ).one()
            box = None if row[0] is None else (row[0], row[1], row[2], row[3])
        if not kind.date_field:
            return box, (None, None)
        col = checked_column(kind, kind.date_field, "column")
        first, last = self._uow.sql(f"SELECT min({col}), max({col}) FROM {kind.table}").one()
        return box, (first, last)

    def _filter_condition(self, flt: Any) -> tuple[str, list[Any]]:
        """Return the SQL condition of a CQL2 filter and its values, each spatial test
        replaced by the ids that pass it: R-tree candidates, then the exact predicate."""
        from landrelease.store import cql

        compiled = cql.compile_sql(self._kind, flt)
        return compiled.sql, cql.bind(compiled, self._passing)

    def _passing(self, test: Any) -> list[int]:
        """Return the fids of the records whose geometry passes a `cql.SpatialTest`."""
        table = self._kind.table
        minx, miny, maxx, maxy = shapely.bounds(test.geometry).tolist()
        if test.op == "contains":  # a record holding the literal holds its box
            params = (minx, maxx, miny, maxy)
        else:  # every other predicate (disjoint is compiled as not intersects) needs a meeting
            params = (maxx, minx, maxy, miny)
        rows = self._uow.sql(
            f"SELECT t.fid, t.{GEOM} FROM {table} t "
            f"JOIN {gpkg.rtree_name(table)} r ON t.fid = r.id "
            "WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ?",
            params,
        ).fetchall()
        if not rows:
            return []
        fids, blobs = zip(*rows, strict=True)
        keep = test.evaluate(gpkg.decode(blobs))
        return np.asarray(fids)[keep].tolist()

    def _matching(
        self, q: Query, bbox: BBox | None, want_geom: bool, flt: Any = None
    ) -> tuple[list[Sequence[Any]], np.ndarray | None, np.ndarray | None]:
        """Return the values of `q.columns` of the matching rows, their geometries if
        `want_geom`, and with a `bbox` the index of the rows kept (paged); else None."""
        kind = self._kind
        sel = [f"t.{c}" for c in q.columns]
        params: list[Any] = []
        if want_geom:
            sel.append(f"t.{GEOM}")
        sql_from = f" FROM {kind.table} t"
        conds, where_params = _conditions(q)
        if flt is not None:
            cond, more = self._filter_condition(flt)
            conds.append(cond)
            where_params += more
        if bbox is not None:
            if not kind.geometry:
                raise ValidationError(None, "bbox", f"{kind.name} have no geometry to filter by")
            minx, miny, maxx, maxy = (float(v) for v in bbox)
            inside = "(r.minx >= ? AND r.maxx <= ? AND r.miny >= ? AND r.maxy <= ?)"
            sel.append(inside)
            params += [minx, maxx, miny, maxy]
            if not want_geom:  # only the geometries on the box's edge are read
                sel.append(f"CASE WHEN {inside} THEN NULL ELSE t.{GEOM} END")
                params += [minx, maxx, miny, maxy]
            sql_from += f" JOIN {gpkg.rtree_name(kind.table)} r ON t.fid = r.id"
            conds.insert(0, "r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ?")
            where_params = [maxx, minx, maxy, miny, *where_params]
        sql = f"SELECT {', '.join(sel) or 'NULL'}{sql_from}{_where(conds)}"
        order = [f"t.{c} DESC NULLS FIRST" if d else f"t.{c} ASC NULLS LAST" for c, d in q.order]
        sql += " ORDER BY " + ", ".join([*order, "t.fid"])
        params += where_params
        if bbox is None and (q.limit is not None or q.offset):
            sql += " LIMIT ? OFFSET ?"
            params += [-1 if q.limit is None else q.limit, q.offset]
        rows = self._uow.sql(sql, tuple(params)).fetchall()
        width = len(sel) or 1
        values: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [()] * width
        geoms = gpkg.decode(values[len(q.columns)]) if want_geom else None
        if bbox is None:
            return values, geoms, None
        keep = np.asarray(values[len(q.columns) + want_geom], dtype=bool)
        edge = ~keep
        if edge.any():
            shapes = geoms[edge] if geoms is not None else gpkg.decode(_take(values[-1], edge))
            keep[edge] = shapely.intersects(shapely.box(minx, miny, maxx, maxy), shapes)
        index = np.flatnonzero(keep)
        end = None if q.limit is None else q.offset + q.limit
        return values, geoms, index[q.offset : end]

    # -- writes --------------------------------------------------------------------------------

    def add(
        self,
        data: Columns,
        *,
        at: str,
        actor: str,
        reason: str | None,
        batch: int | None,
        encoded: Sequence[bytes | None] | None = None,
    ) -> None:
        """Insert new records (version 1, the row itself: no copy); fast for 100,000 rows.

        Rows arrive in spatial order from the caller; the R-tree is filled in one pass with
        the per-row trigger set aside, which is several times faster than row by row.
        `encoded` may give the geometries as `encode_geometries` made them.
        """
        kind = self._kind
        conn = self._uow.connection(write=True)
        names = [c for c in kind.field_names if c != "version"]
        n = len(data["ref"])
        values = [data[c] if c in data else [None] * n for c in names]
        geoms = data.get("geometry") if kind.geometry else None
        if geoms is None:
            blobs: Sequence[bytes | None] = [None] * n
        else:
            blobs = encoded if encoded is not None else encode_geometries(kind, geoms)
        extra_names = ["version", "changed_at", "changed_by", "change_reason", "change_action"]
        extra_names.append("batch_id")
        extra_vals: list[list[Any]] = [[1] * n, [at] * n, [actor] * n, [reason] * n]
        extra_vals += [["create"] * n, [batch] * n]
        if kind.geometry == "polygon":
            extra_names.append("geom_key")
            extra_vals.append(data.get("geom_key", [None] * n))
        all_names = names + extra_names + ([GEOM] if kind.geometry else [])
        columns = values + extra_vals + ([blobs] if kind.geometry else [])
        rows = list(zip(*columns, strict=True))
        table = kind.table
        marks = ",".join("?" * len(all_names))

        present = ~shapely.is_missing(geoms) if geoms is not None else np.zeros(n, dtype=bool)
        rt = gpkg.rtree_name(table)
        rebuild = _deferred_indexes(conn, table) if n > 1000 else []
        # A large batch sets its table's per-row insert triggers aside and does their work
        # once, for all its rows, before the transaction ends (each trigger comes back).
        aside = _insert_triggers(conn, table) if n > 1000 else {}
        bulk = bool(present.sum() > 50) or any(name.startswith(rt) for name in aside)
        if bulk and not aside:
            aside = {f"{rt}_insert": gpkg.rtree_insert_trigger(table)}
        for name in aside:
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        first = conn.exec_driver_sql(f"SELECT coalesce(max(fid), 0) FROM {table}").scalar_one()
        try:
            conn.exec_driver_sql(
                f"INSERT INTO {table} ({', '.join(all_names)}) VALUES ({marks})", rows
            )
        except sqlite3.IntegrityError as exc:  # checked before: another writer got in between
            self._refuse_duplicate(exc, data.get("geom_key"), first)
            raise ConflictError(
                f"{kind.name}: a record with one of these refs was added by someone else while "
                "this batch was being checked; nothing was written, import it again"
            ) from None
        if bulk and geoms is not None and present.any():
            fids = np.arange(first + 1, first + 1 + n)
            b = shapely.bounds(geoms[present])
            stored = conn.exec_driver_sql(f"SELECT count(*) FROM {rt}_rowid").scalar_one()
            if n >= stored:  # repacking the whole tree is cheaper than n single inserts
                gpkg.bulk_load_rtree(conn, table, fids[present], b)
            else:
                conn.exec_driver_sql(
                    f"INSERT INTO {rt} VALUES (?, ?, ?, ?, ?)",
                    list(
                        zip(
                            fids[present].tolist(),
                            b[:, 0].tolist(),
                            b[:, 2].tolist(),
                            b[:, 1].tolist(),
                            b[:, 3].tolist(),
                            strict=True,
                        )
                    ),
                )
        _after_bulk_insert(conn, table, aside, first, n)
        for sql in aside.values():
            conn.exec_driver_sql(sql)

        for sql in rebuild:
            try:
                conn.exec_driver_sql(sql)
            except sqlite3.IntegrityError as exc:  # a unique index over the batch's own rows
                self._refuse_duplicate(exc, data.get("geom_key"), first)
                raise
        self._touch(at)

    def _refuse_duplicate(
        self, exc: sqlite3.IntegrityError, keys: Sequence[int | None] | None, first: int
    ) -> None:
        """Raise DuplicateGeometry if `exc` is the unique geometry key refusing a batch row.

        The batch was checked against the stored keys before its write began, so a stored
        row with one of its keys was written by another writer in between.
        """
        if "geom_key" not in str(exc) or not keys:
            return
        wanted = [k for k in keys if k is not None]
        for i in range(0, len(wanted), _MANY_VALUES):
            chunk = wanted[i : i + _MANY_VALUES]
            row = self._uow.sql(
                f"SELECT geom_key, ref FROM {self._kind.table} WHERE fid <= ? AND geom_key IN "
                f"({','.join('?' * len(chunk))}) LIMIT 1",
                (first, *chunk),
            ).fetchone()
            if row is not None:
                raise DuplicateGeometry(None, int(row[0]), str(row[1]))

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
        version goes into history (a trigger copies it). `checked` clears the flag of a
        record changed outside landrelease (`landrelease check --fix`).
        """
        kind = self._kind
        names = checked_writes(kind, values)
        new_version = expected_version + 1
        sets = [f"{k} = ?" for k in names]
        sets += ["version = ?", "changed_at = ?", "changed_by = ?", "change_reason = ?"]
        sets += ["change_action = ?", "batch_id = NULL"]
        params: list[Any] = [*values.values(), new_version, at, actor, reason, action]
        if checked:
            sets.append("needs_check = 0")
        if geometry is not UNCHANGED and kind.geometry:
            sets.append(f"{GEOM} = ?")
            params.append(encode_geometries(kind, np.array([geometry], dtype=object))[0])
        try:
            res = self._uow.sql(
                f"UPDATE {kind.table} SET {', '.join(sets)} WHERE ref = ? AND version = ?",
                (*params, ref, expected_version),
                write=True,
            )
        except sqlite3.IntegrityError as exc:
            if "geom_key" not in str(exc):
                raise
            other = self._uow.sql(
                f"SELECT ref FROM {kind.table} WHERE geom_key = ? AND ref != ?",
                (values.get("geom_key"), ref),
            ).fetchone()
            raise ValidationError(
                ref,
                "geometry",
                "probable duplicate: the same geometry is already stored as "
                f"{other[0] if other else 'another area'}",
            ) from None
        if res.rowcount != 1:
            row = self._uow.sql(
                f"SELECT version FROM {kind.table} WHERE ref = ?", (ref,)
            ).fetchone()
            if row is None:
                raise NotFound(f"{ref}: no record with this reference")
            raise ConflictError(
                f"{ref}: changed by someone else (now version {row[0]}, you had version "
                f"{expected_version}); reload it and try again"
            )
        self._touch(at)
        return new_version

    def _touch(self, at: str) -> None:
        table = self._kind.table
        if self._kind.geometry:
            ext = self._uow.sql(
                f"SELECT min(minx), min(miny), max(maxx), max(maxy) FROM {gpkg.rtree_name(table)}"
            ).one()
            self._uow.sql(
                "UPDATE gpkg_contents SET last_change = ?, min_x = ?, min_y = ?, max_x = ?, "
                "max_y = ? WHERE table_name = ?",
                (at, *ext, table),
                write=True,
            )
        else:
            self._uow.sql(
                "UPDATE gpkg_contents SET last_change = ? WHERE table_name = ?",
                (at, table),
                write=True,
            )


class SqliteBatches:
    """Import batches in `landrelease_batches`."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

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
        """Record one import batch (who, when, why, which file); return its id."""
        cur = self._uow.sql(
            f"INSERT INTO landrelease_batches ({', '.join(BATCH_COLUMNS)}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (kind.name, at, actor, reason, source, sha256, records, rejected),
            write=True,
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def get(self, batch_id: int) -> dict[str, Any]:
        """Return one batch; NotFound if there is none with this id."""
        row = self._uow.sql(
            f"SELECT {', '.join(BATCH_COLUMNS)} FROM landrelease_batches WHERE id = ?",
            (batch_id,),
        ).fetchone()
        if row is None:
            raise batch_not_found(batch_id)
        return dict(zip(BATCH_COLUMNS, row, strict=True))


class SqliteSettings:
    """Settings in `landrelease_settings`."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def get(self, key: str, default: str | None = None) -> str | None:
        row = self._uow.sql(
            "SELECT value FROM landrelease_settings WHERE key = ?", (key,)
        ).fetchone()
        return default if row is None else row[0]

    def set(self, key: str, value: str) -> None:
        self._uow.sql(
            "INSERT INTO landrelease_settings (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
            write=True,
        )


class SqliteSerials:
    """The ref counters in `landrelease_ref_counters` (the insert trigger uses them too)."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def reserve(self, prefix: str, count: int) -> range:
        """Return `count` new serial numbers for references starting with `prefix`."""
        row = self._uow.sql(
            "SELECT last FROM landrelease_ref_counters WHERE prefix = ?", (prefix,)
        ).fetchone()
        last = row[0] if row else 0
        self._uow.sql(
            "INSERT INTO landrelease_ref_counters (prefix, last) VALUES (?, ?) "
            "ON CONFLICT(prefix) DO UPDATE SET last = excluded.last",
            (prefix, last + count),
            write=True,
        )
        return range(last + 1, last + count + 1)


class SqliteHistory:
    """Earlier versions in each kind's `<table>_history`, the current one in its table."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def versions(self, ref: str) -> list[dict[str, Any]]:
        """Return every version of a record, oldest first; [] if no record has this ref.

        Each: kind, ref, version, action, at, actor, reason, source (of an import batch),
        needs_check, state (the fields), geometry. Earlier versions come from the kind's
        history table, the last is the current row.
        """
        out: list[dict[str, Any]] = []
        for kind in KINDS.values():
            cols = [c for c in history.field_columns(kind) if c != "version"]
            geom = f", {GEOM}" if kind.geometry else ""
            tail = (
                "version, change_action, changed_at, changed_by, change_reason, needs_check, "
                "(SELECT source FROM landrelease_batches b WHERE b.id = batch_id)"
            )
            current = self._uow.sql(
                f"SELECT {', '.join(cols)}, {tail}{geom} FROM {kind.table} WHERE ref = ?",
                (ref,),
            ).fetchall()
            if not current:
                continue
            past = self._uow.sql(
                f"SELECT {', '.join(cols)}, {tail}{geom} FROM {history.history_table(kind)} "
                "WHERE ref = ? ORDER BY version, fid",
                (ref,),
            ).fetchall()
            blobs = [r[len(cols) + 7] if kind.geometry else None for r in past + current]
            geoms = gpkg.decode(blobs)
            keys = ("version", "action", "at", "actor", "reason", "needs_check", "source")
            bools = [f.name for f in kind.fields if f.kind == "bool"]
            for r, g in zip(past + current, geoms, strict=True):
                d: dict[str, Any] = {"kind": kind.name, "ref": ref}
                d.update(zip(keys, r[len(cols) : len(cols) + 7], strict=True))
                d["needs_check"] = bool(d["needs_check"])
                state = dict(zip(cols, r[: len(cols)], strict=True))
                for b in bools:
                    state[b] = None if state[b] is None else bool(state[b])
                state["version"] = d["version"]
                d["state"] = state
                d["geometry"] = g
                out.append(d)
            break
        return out


def _conditions(q: Query) -> tuple[list[str], list[Any]]:
    """Return the SQL conditions of `q.where` (checked names) and their bound values."""
    conds: list[str] = []
    params: list[Any] = []
    for col, value in q.where:
        if value is None:
            conds.append(f"t.{col} IS NULL")
        elif not isinstance(value, list):
            conds.append(f"t.{col} = ?")
            params.append(value)
        elif not value:
            conds.append("0")  # any of no values: nothing matches
        elif len(value) > _MANY_VALUES:
            conds.append(f"t.{col} IN (SELECT value FROM json_each(?))")
            params.append(orjson.dumps(value).decode())
        else:
            conds.append(f"t.{col} IN ({','.join('?' * len(value))})")
            params += value
    return conds, params


def _where(conds: list[str]) -> str:
    return " WHERE " + " AND ".join(conds) if conds else ""


def _take(values: Sequence[Any], index: np.ndarray) -> list[Any]:
    """Return `values` at `index` (positions or a mask), without a Python loop over rows."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr[index].tolist()


def _deferred_indexes(conn: Connection, table: str) -> list[str]:
    """Drop the secondary indexes of an empty table; return the SQL that rebuilds them.

    Building an index once over a loaded table (a sort) beats updating it row by row.
    """
    if conn.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
        return []
    indexes = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL",
        (table,),
    ).fetchall()
    for name, _sql in indexes:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    return [sql for _name, sql in indexes]


__all__ = [
    "SqliteBatches",
    "SqliteHistory",
    "SqliteRecords",
    "SqliteSerials",
    "SqliteSettings",
    "SqliteUnitOfWork",
    "encode_geometries",
]


# Per-row insert triggers that a large batch sets aside, by name: what each does is done once
# for the batch in `_after_bulk_insert`. Code checks need no redoing: the batch was checked.
_SET_ASIDE = (
    "rtree_",
    "trigger_insert_feature_count_",
    "relation_",
    "_code_insert",
    "_external_insert",  # its WHEN is false for every row landrelease writes
)


def _insert_triggers(conn: Connection, table: str) -> dict[str, str]:
    """Return {name: CREATE TRIGGER} of `table`'s insert triggers that a batch may set aside."""
    rows = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)
    ).fetchall()
    out = {}
    for name, sql in rows:
        head = " ".join(sql.split()[:8]).upper()
        if " INSERT ON " in head and any(p in name for p in _SET_ASIDE):
            out[name] = sql
    return out


def _after_bulk_insert(
    conn: Connection, table: str, aside: dict[str, str], first: int, n: int
) -> None:
    """Do for the rows after fid `first` what the set-aside triggers (but the R-tree's) do."""
    for name in aside:
        if name.startswith("trigger_insert_feature_count_"):
            conn.exec_driver_sql(
                "UPDATE gpkg_ogr_contents SET feature_count = feature_count + ? "
                "WHERE table_name = ?",
                (n, table),
            )
        elif name.startswith("relation_"):
            mapping = name[len("relation_") : -len("_insert")]
            conn.exec_driver_sql(
                f'INSERT INTO "{mapping}" (base_id, related_id) SELECT a.fid, t.fid '
                f"FROM {table} t JOIN hazard_areas a ON a.ref = t.area_ref WHERE t.fid > ?",
                (first,),
            )
