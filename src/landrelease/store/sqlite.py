"""The SQLite / GeoPackage backend of the store: one registry file, WAL mode, R-tree indexes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import IntegrityError

from landrelease.domain.errors import ConflictError, InputFileError, NotFound
from landrelease.domain.records import KINDS, RecordKind
from landrelease.store import geopackage as gpkg
from landrelease.store.base import Columns
from landrelease.store.schema import GEOM

MIGRATIONS = Path(__file__).with_name("migrations")

UNCHANGED: Any = object()  # update(): leave the geometry as it is


def _alembic_config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


class SqliteStore:
    """Registry records in a GeoPackage file; every write is one transaction with its audit."""

    backend = "sqlite"

    def __init__(self, path: Path, engine: Engine) -> None:
        self.path = path
        self.engine = engine

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False) -> SqliteStore:
        """Open (or with `create`, make) the registry at `path`, migrated to the latest schema."""
        path = Path(path)
        if not create and not path.exists():
            raise NotFound(f"no registry at {path}; create one with 'landrelease init --db {path}'")
        if create and path.exists() and path.stat().st_size > 0:
            create = False  # init on an existing registry only migrates it
        if path.exists() and not create:
            with open(path, "rb") as fh:
                head = fh.read(16)
            if head and not head.startswith(b"SQLite format 3"):
                raise InputFileError(f"{path} is not a GeoPackage/SQLite file")
        engine = create_engine(f"sqlite:///{path}", pool_size=2, max_overflow=8)
        _configure(engine)
        store = cls(path, engine)
        store._migrate(new=create)
        return store

    def _migrate(self, *, new: bool) -> None:
        if new:
            raw = self.engine.raw_connection()  # pragmas that must run outside a transaction
            try:
                raw.execute(f"PRAGMA application_id = {gpkg.APPLICATION_ID}")
                raw.execute(f"PRAGMA user_version = {gpkg.USER_VERSION}")
                raw.execute("PRAGMA journal_mode = WAL")
            finally:
                raw.close()
        with self.engine.connect() as conn:
            try:
                current = MigrationContext.configure(conn).get_current_revision()
            except sqlite3.DatabaseError as exc:  # pragma: no cover - corrupt file
                raise InputFileError(f"{self.path} is not a readable registry: {exc}") from None
            head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
            if current != head:
                if not new and current is None:
                    raise InputFileError(
                        f"{self.path} is a GeoPackage but not a landrelease registry; "
                        "import it with 'landrelease import' into a new registry"
                    )
                conn.info["begin"] = "BEGIN IMMEDIATE"
                command.upgrade(_alembic_config(conn), "head")
                conn.commit()

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions --------------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, bulk: bool = False) -> Iterator[Connection]:
        """Yield a connection in one write transaction: committed on success, else rolled back.

        A `bulk` transaction (a large import) runs with a rollback journal instead of the WAL
        when no other connection has the file open: every page is then written once, not
        twice (WAL, then checkpoint). It is just as atomic; WAL mode returns after it.
        """
        if bulk:
            self.engine.dispose()  # close idle pooled connections: they would block the switch
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            switched = bulk and _set_journal(raw, "delete", wait=False)
            try:
                conn.info["begin"] = "BEGIN IMMEDIATE"
                with conn.begin():
                    yield conn
            finally:
                if switched:
                    _set_journal(raw, "wal", wait=True)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """Yield a connection for a consistent read (one snapshot)."""
        with self.engine.connect() as conn:
            conn.info["begin"] = "BEGIN"
            with conn.begin():
                yield conn

    # -- settings and references ---------------------------------------------------------------

    def setting(self, key: str, default: str | None = None) -> str | None:
        with self.reading() as conn:
            row = conn.exec_driver_sql(
                "SELECT value FROM landrelease_settings WHERE key = ?", (key,)
            ).fetchone()
        return default if row is None else row[0]

    def set_setting(self, conn: Connection, key: str, value: str) -> None:
        conn.exec_driver_sql(
            "INSERT INTO landrelease_settings (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def prefix_layer_descriptions(self, conn: Connection, prefix: str) -> None:
        """Put `prefix` before every layer's description (what QGIS shows of a layer)."""
        conn.exec_driver_sql("UPDATE gpkg_contents SET description = ? || description", (prefix,))

    def reserve_serials(self, conn: Connection, prefix: str, count: int) -> range:
        """Return `count` new serial numbers for references starting with `prefix`."""
        row = conn.exec_driver_sql(
            "SELECT last FROM landrelease_ref_counters WHERE prefix = ?", (prefix,)
        ).fetchone()
        last = row[0] if row else 0
        conn.exec_driver_sql(
            "INSERT INTO landrelease_ref_counters (prefix, last) VALUES (?, ?) "
            "ON CONFLICT(prefix) DO UPDATE SET last = excluded.last",
            (prefix, last + count),
        )
        return range(last + 1, last + count + 1)

    # -- reads ---------------------------------------------------------------------------------

    def column_values(self, kind: RecordKind, column: str, conn: Connection | None = None) -> set:
        """Return the set of values of one column (e.g. every ref, every geometry key)."""
        sql = f"SELECT {column} FROM {kind.table} WHERE {column} IS NOT NULL"
        if conn is not None:
            return {r[0] for r in conn.exec_driver_sql(sql)}
        with self.reading() as c:
            return {r[0] for r in c.exec_driver_sql(sql)}

    def refs_by_key(self, conn: Connection, keys: Sequence[int]) -> dict[int, str]:
        """Return {geometry key: ref} for stored hazard areas with any of `keys`."""
        out: dict[int, str] = {}
        keys = list(keys)
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for key, ref in conn.exec_driver_sql(
                f"SELECT geom_key, ref FROM hazard_areas WHERE geom_key IN ({marks})", tuple(chunk)
            ):
                out[key] = ref
        return out

    def select(
        self,
        kind: RecordKind,
        *,
        columns: Sequence[str] | None = None,
        where: dict[str, Any] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        geometry: bool = True,
        conn: Connection | None = None,
    ) -> Columns:
        """Return matching records as columns (lists), plus "geometry" decoded to shapely.

        `where` maps a column to a value (or a tuple of values); `bbox` (minx, miny, maxx,
        maxy) uses the R-tree, then keeps the geometries that really intersect the box.
        """
        names = list(columns) if columns is not None else list(kind.field_names)
        want_geom = geometry and kind.geometry is not None
        sel = [f"t.{c}" for c in names] + ([f"t.{GEOM}"] if want_geom else [])
        sql = f"SELECT {', '.join(sel)} FROM {kind.table} t"
        params: list[Any] = []
        conds: list[str] = []
        if bbox is not None:
            if not kind.geometry:
                raise ValueError(f"{kind.name} have no geometry to filter by bbox")
            sql += f" JOIN {gpkg.rtree_name(kind.table)} r ON t.fid = r.id"
            conds.append("r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ?")
            params += [bbox[2], bbox[0], bbox[3], bbox[1]]
        for col, value in (where or {}).items():
            if isinstance(value, tuple | list | set | frozenset):
                value = list(value)
                conds.append(f"t.{col} IN ({','.join('?' * len(value))})")
                params += value
            else:
                conds.append(f"t.{col} = ?")
                params.append(value)
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        sql += " ORDER BY t.fid"
        if conn is None:
            with self.reading() as c:
                rows = c.exec_driver_sql(sql, tuple(params)).fetchall()
        else:
            rows = conn.exec_driver_sql(sql, tuple(params)).fetchall()
        cols = list(zip(*rows, strict=True)) if rows else [()] * len(sel)
        out: Columns = {name: list(cols[i]) for i, name in enumerate(names)}
        if want_geom:
            geoms = gpkg.decode(cols[-1])
            if bbox is not None and len(geoms):
                keep = shapely.intersects(shapely.box(*bbox), geoms)
                if not keep.all():
                    idx = np.flatnonzero(keep)
                    out = {k: [v[i] for i in idx] for k, v in out.items()}
                    geoms = geoms[keep]
            out["geometry"] = geoms
        return out

    def record(self, kind: RecordKind, ref: str, conn: Connection | None = None) -> dict[str, Any]:
        """Return one record as a dict with its geometry; raise NotFound if there is none."""
        cols = self.select(kind, where={"ref": ref}, conn=conn)
        if not cols["ref"]:
            raise NotFound(
                f"{ref}: no {kind.name[:-1] if kind.name != 'hazards' else 'hazard area'}"
                f" with this reference"
            )
        rec = {k: v[0] for k, v in cols.items() if k != "geometry"}
        rec["geometry"] = cols["geometry"][0] if "geometry" in cols else None
        return rec

    def audit_rows(self, ref: str, kind: RecordKind | None = None) -> list[dict[str, Any]]:
        """Return every audited version of a record, oldest first."""
        sql = (
            "SELECT kind, ref, version, action, at, actor, reason, batch, state, geom_wkb "
            "FROM audit_trail WHERE ref = ?"
        )
        params: tuple = (ref,)
        if kind is not None:
            sql += " AND kind = ?"
            params += (kind.name,)
        with self.reading() as conn:
            rows = conn.exec_driver_sql(sql + " ORDER BY version", params).fetchall()
        keys = ("kind", "ref", "version", "action", "at", "actor", "reason", "batch")
        out = []
        for r in rows:
            d = dict(zip(keys, r[:8], strict=True))
            d["state"] = orjson.loads(r[8])
            d["geometry"] = None if r[9] is None else shapely.from_wkb(r[9])
            out.append(d)
        return out

    def count(self, kind: RecordKind) -> int:
        with self.reading() as conn:
            return int(conn.exec_driver_sql(f"SELECT count(*) FROM {kind.table}").scalar_one())

    def counts_by(self, kind: RecordKind, column: str) -> dict[str, int]:
        with self.reading() as conn:
            rows = conn.exec_driver_sql(
                f"SELECT {column}, count(*) FROM {kind.table} GROUP BY {column}"
            ).fetchall()
        return {r[0]: r[1] for r in rows}

    def encode_geometries(self, kind: RecordKind, geoms: np.ndarray) -> list[bytes | None]:
        """Return geometries as `kind`'s table stores them (GeoPackage blobs; polygons as
        MultiPolygons); safe to call from any thread."""
        return gpkg.encode(geoms, multi=kind.geometry == "polygon")

    # -- writes --------------------------------------------------------------------------------

    def insert(
        self,
        conn: Connection,
        kind: RecordKind,
        data: Columns,
        *,
        at: str,
        actor: str,
        reason: str | None,
        batch: str | None,
        encoded: Sequence[bytes | None] | None = None,
    ) -> None:
        """Insert new records (version 1) and their audit rows; fast for 100,000 rows.

        Rows arrive in spatial order from the caller; the R-tree is filled in one pass with
        the per-row trigger set aside, which is several times faster than row by row.
        `encoded` may give the geometries as `encode_geometries` made them.
        """
        names = [c for c in kind.field_names if c != "version"]
        n = len(data["ref"])
        values = [data[c] if c in data else [None] * n for c in names]
        geoms = data.get("geometry") if kind.geometry else None
        if geoms is None:
            blobs: Sequence[bytes | None] = [None] * n
        else:
            blobs = encoded if encoded is not None else self.encode_geometries(kind, geoms)
        extra_names = ["version", "updated_at"]
        extra_vals: list[list[Any]] = [[1] * n, [at] * n]
        if kind.geometry == "polygon":
            extra_names.append("geom_key")
            extra_vals.append(data.get("geom_key", [None] * n))
        all_names = names + extra_names + ([GEOM] if kind.geometry else [])
        columns = values + extra_vals + ([blobs] if kind.geometry else [])
        rows = list(zip(*columns, strict=True))
        table = kind.table
        marks = ",".join("?" * len(all_names))

        bulk = kind.geometry is not None and n > 50
        rt = gpkg.rtree_name(table)
        rebuild = _deferred_indexes(conn, table) if n > 1000 else []
        rebuild += _deferred_indexes(conn, "audit_trail") if n > 1000 else []
        if bulk:
            conn.exec_driver_sql(f"DROP TRIGGER {rt}_insert")
        first = conn.exec_driver_sql(f"SELECT coalesce(max(fid), 0) FROM {table}").scalar_one()
        try:
            conn.exec_driver_sql(
                f"INSERT INTO {table} ({', '.join(all_names)}) VALUES ({marks})", rows
            )
        except IntegrityError:  # checked before, so another writer got in between
            raise ConflictError(
                f"{kind.name}: a record with one of these refs was added by someone else while "
                "this batch was being checked; nothing was written, import it again"
            ) from None
        if bulk:
            assert geoms is not None
            fids = np.arange(first + 1, first + 1 + n)
            present = ~shapely.is_missing(geoms)
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
            conn.exec_driver_sql(gpkg.rtree_insert_trigger(table))

        # The audit rows are copied from the rows just written, inside SQLite.
        conn.exec_driver_sql(
            _audit_insert(kind) + " WHERE t.fid > ?",
            (kind.name, "create", at, actor, reason, batch, first),
        )
        for sql in rebuild:
            conn.exec_driver_sql(sql)
        self._touch(conn, kind, at)

    def update(
        self,
        conn: Connection,
        kind: RecordKind,
        ref: str,
        values: dict[str, Any],
        *,
        geometry: Any = UNCHANGED,
        expected_version: int,
        action: str,
        at: str,
        actor: str,
        reason: str | None,
    ) -> int:
        """Write a new version of a record if it is still at `expected_version`; return it.

        `geometry` None clears the geometry; leave it out to keep the stored one.
        """
        new_version = expected_version + 1
        sets = [f"{k} = ?" for k in values] + ["version = ?", "updated_at = ?"]
        params: list[Any] = [*values.values(), new_version, at]
        if geometry is not UNCHANGED and kind.geometry:
            sets.append(f"{GEOM} = ?")
            params.append(self.encode_geometries(kind, np.array([geometry], dtype=object))[0])
        res = conn.exec_driver_sql(
            f"UPDATE {kind.table} SET {', '.join(sets)} WHERE ref = ? AND version = ?",
            (*params, ref, expected_version),
        )
        if res.rowcount != 1:
            row = conn.exec_driver_sql(
                f"SELECT version FROM {kind.table} WHERE ref = ?", (ref,)
            ).fetchone()
            if row is None:
                raise NotFound(f"{ref}: no record with this reference")
            raise ConflictError(
                f"{ref}: changed by someone else (now version {row[0]}, you had version "
                f"{expected_version}); reload it and try again"
            )
        conn.exec_driver_sql(
            _audit_insert(kind) + " WHERE t.ref = ?",
            (kind.name, action, at, actor, reason, None, ref),
        )
        self._touch(conn, kind, at)
        return new_version

    def _touch(self, conn: Connection, kind: RecordKind, at: str) -> None:
        if kind.geometry:
            ext = conn.exec_driver_sql(
                "SELECT min(minx), min(miny), max(maxx), max(maxy) "
                f"FROM {gpkg.rtree_name(kind.table)}"
            ).one()
            conn.exec_driver_sql(
                "UPDATE gpkg_contents SET last_change = ?, min_x = ?, min_y = ?, max_x = ?, "
                "max_y = ? WHERE table_name = ?",
                (at, *ext, kind.table),
            )
        else:
            conn.exec_driver_sql(
                "UPDATE gpkg_contents SET last_change = ? WHERE table_name = ?", (at, kind.table)
            )


def _set_journal(raw: Any, mode: str, *, wait: bool) -> bool:
    """Set the journal mode on a raw connection; return whether it took effect."""
    if not wait:
        raw.execute("PRAGMA busy_timeout = 0")
    try:
        got = raw.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0]
    except sqlite3.OperationalError:  # another connection has the file open
        got = None
    finally:
        raw.execute("PRAGMA busy_timeout = 10000")
    return str(got).lower() == mode


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


def _audit_insert(kind: RecordKind) -> str:
    """Return the SQL that appends the current state of `kind`'s rows to the audit trail.

    Parameters: kind, action, at, actor, reason, batch; the caller adds the WHERE clause on
    the record table `t`. The state is a JSON object of every field, built by SQLite itself
    (no Python per row); geometries are copied as WKB.
    """
    geometry = gpkg.wkb_sql(f"t.{GEOM}") if kind.geometry else "NULL"
    return (
        "INSERT INTO audit_trail (kind, ref, version, action, at, actor, reason, batch, state, "
        f"geom_wkb) SELECT ?, t.ref, t.version, ?, ?, ?, ?, ?, {_state_json(kind)}, {geometry} "
        f"FROM {kind.table} t"
    )


def _state_json(kind: RecordKind) -> str:
    """Return an SQL expression for a record's full state as a JSON object.

    Floats are written with the fewest digits (15, 16 or 17) that read back exactly: SQLite's
    own JSON writes 15, which loses precision. Booleans are written as true/false.
    """
    parts = []
    for f in kind.fields:
        col = f"t.{f.name}"
        if f.kind == "float":
            shortest = " ".join(
                f"WHEN CAST(printf('%!.{d}g', {col}) AS REAL) = {col} "
                f"THEN json(printf('%!.{d}g', {col}))"
                for d in (15, 16)
            )
            value = (
                f"CASE WHEN {col} IS NULL THEN NULL {shortest} "
                f"ELSE json(printf('%!.17g', {col})) END"
            )
        elif f.kind == "bool":
            value = f"CASE {col} WHEN 1 THEN json('true') WHEN 0 THEN json('false') END"
        else:
            value = col
        parts.append(f"'{f.name}', {value}")
    return f"json_object({', '.join(parts)})"


def _configure(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see "begin" below)
        gpkg.register_functions(dbapi_conn)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 10000")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA mmap_size = 268435456")
        cur.execute("PRAGMA cache_size = -131072")  # 128 MiB: bulk index builds stay in memory
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.info.get("begin", "BEGIN"))


__all__ = ["KINDS", "SqliteStore"]
