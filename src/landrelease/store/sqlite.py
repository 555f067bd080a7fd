"""The SQLite / GeoPackage backend of the store: one registry file, WAL mode, R-tree indexes."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import sqlite3
import urllib.parse
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import shapely

from landrelease.domain.errors import (
    ConflictError,
    DuplicateGeometry,
    InputFileError,
    LandreleaseError,
    NotFound,
    RegistryBusy,
    RegistryReadOnly,
    ValidationError,
)
from landrelease.domain.records import KINDS, RecordKind
from landrelease.store import geopackage as gpkg
from landrelease.store import history
from landrelease.store.base import GEOM, Columns
from landrelease.store.connections import Connection, ConnectionPool, migration_connection

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection as SAConnection

MIGRATIONS = Path(__file__).with_name("migrations")
SCHEMA_HEAD = "0004"  # the newest migration; a test checks it against the migrations folder
BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for another's write lock, by default

UNCHANGED: Any = object()  # update(): leave the geometry as it is


def _alembic_config(conn: SAConnection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


class SqliteStore:
    """Registry records in a GeoPackage file; every write is one transaction with its audit.

    A file that cannot be written (a read-only file, folder or medium: a handed-over copy, a
    USB stick) is opened read-only: reads work, and a write is refused with RegistryReadOnly.
    """

    backend = "sqlite"

    def __init__(self, path: Path, pool: ConnectionPool, *, readonly: bool = False) -> None:
        self.path = path
        self.pool = pool
        self.readonly = readonly

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False) -> SqliteStore:
        """Open (or with `create`, make) the registry at `path`, migrated to the latest schema."""
        path = Path(path)
        create = _check_location(path, create=create)
        readonly = not _writable(path)
        if readonly and create:
            raise RegistryReadOnly(
                f"{path}: cannot create a registry there: folder {path.parent} cannot be "
                "written; choose a folder you can write to"
            )
        store = cls(path, _pool(path, "ro" if readonly else "rwc"), readonly=readonly)
        try:
            if readonly:
                store = store._read_only_fallback()
            with store._translated():
                store._migrate(new=create)
                if not readonly:
                    store._restore_wal()
        except BaseException:
            store.pool.dispose()
            raise
        return store

    def _read_only_fallback(self) -> SqliteStore:
        """Return this store if SQLite can read the file as it is, else one opened immutable.

        A WAL-mode file in a read-only folder cannot be opened read-only in the usual way
        (SQLite would create its -shm file beside it); as immutable it can, without the
        changes of a -wal file left beside it, which is said in a warning.
        """
        try:
            with self.pool.connect() as conn:
                conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar_one()
            return self
        except sqlite3.Error:
            self.pool.dispose()
        wal = Path(f"{self.path}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            warnings.warn(
                f"{self.path} is read-only and has a -wal file of changes not yet written into "
                "it; they are not shown: open it once where it can be written to include them",
                stacklevel=3,
            )
        return SqliteStore(self.path, _pool(self.path, "immutable"), readonly=True)

    def _migrate(self, *, new: bool) -> None:
        if new:
            with self.pool.connect() as c:  # pragmas that must run outside a transaction
                c.raw.execute(f"PRAGMA application_id = {gpkg.APPLICATION_ID}")
                c.raw.execute(f"PRAGMA user_version = {gpkg.USER_VERSION}")
                c.raw.execute("PRAGMA journal_mode = WAL")
        with self.pool.connect() as conn:
            current = _schema_revision(conn)
            if current == SCHEMA_HEAD:
                return
            if not new and current is None:
                sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
                tables = {r[0] for r in conn.exec_driver_sql(sql)}
                what = "a GeoPackage" if "gpkg_contents" in tables else "an SQLite database"
                raise InputFileError(
                    f"{self.path} is {what} but not a landrelease registry; create a registry "
                    "with 'landrelease init' and load the data with 'landrelease import'"
                )
            if self.readonly:
                raise RegistryReadOnly(
                    f"{self.path}: this registry must be upgraded to the current schema, which "
                    "needs write access; copy it to a folder you can write to"
                )
        from alembic import command

        with migration_connection(self.pool) as sa_conn:
            command.upgrade(_alembic_config(sa_conn), "head")
            sa_conn.commit()

    def _restore_wal(self) -> None:
        """Put the file back in WAL mode if a killed bulk write left it in rollback mode."""
        with self.pool.connect() as conn:
            mode = conn.raw.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                _set_journal(conn.raw, "wal", wait=True)

    def close(self) -> None:
        self.pool.dispose()

    # -- transactions --------------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, bulk: bool = False, note: str | None = None) -> Iterator[Connection]:
        """Yield a connection in one write transaction: committed on success, else rolled back.

        A `bulk` transaction (a large import) runs with a rollback journal instead of the WAL
        when no other connection has the file open: every page is then written once, not
        twice (WAL, then checkpoint). It is just as atomic; WAL mode returns after it (and at
        the next open, if the process was killed before).

        `note` says what the transaction does (e.g. "an import of x.geojson by alice"): it is
        shown to another writer who finds the registry busy meanwhile. Database errors leave
        as LandreleaseErrors: busy, read-only, damaged.
        """
        if self.readonly:
            raise RegistryReadOnly(
                f"{self.path}: the registry is read-only (its file, folder or disk cannot be "
                "written); copy it to a folder you can write to, or ask for write access"
            )
        with self._translated():
            if bulk:
                self.pool.dispose()  # close idle pooled connections: they would block the switch
            with self.pool.connect() as conn:
                raw = conn.raw
                switched = bulk and _set_journal(raw, "delete", wait=False)
                try:
                    with conn.begin("BEGIN IMMEDIATE"), self._writer_note(note):
                        yield conn
                finally:
                    if switched:
                        _set_journal(raw, "wal", wait=True)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """Yield a connection for a consistent read (one snapshot)."""
        with self._translated(), self.pool.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _writer_note(self, note: str | None) -> Iterator[None]:
        """Leave `note` beside the file while the write lock is held (see `_busy`)."""
        if note is None:
            yield
            return
        where = _note_path(self.path)
        try:
            where.write_bytes(
                orjson.dumps(
                    {
                        "what": note,
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                    }
                )
            )
        except OSError:
            pass  # only a courtesy to other writers
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                where.unlink()

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Turn SQLite's errors about the file (busy, read-only, damaged) into our own."""
        try:
            yield
        except Exception as exc:  # sqlite3's, or SQLAlchemy's around them (migrations)
            error = self._file_error(exc)
            if error is None:
                raise
            raise error from None

    def _file_error(self, exc: BaseException) -> LandreleaseError | None:
        orig = getattr(exc, "orig", exc)
        if not isinstance(orig, sqlite3.OperationalError | sqlite3.DatabaseError) or isinstance(
            orig, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError
        ):
            return None
        text = str(orig).lower()
        if "locked" in text or "busy" in text:
            return RegistryBusy(self._busy())
        if "readonly" in text or "read-only" in text:
            return RegistryReadOnly(
                f"{self.path}: the registry cannot be written (read-only file, folder or disk); "
                "copy it to a folder you can write to, or ask for write access"
            )
        if "unable to open" in text:
            return InputFileError(
                f"{self.path}: the registry file cannot be opened; check that it and its "
                "folder exist and that you may read (and write) them"
            )
        if "full" in text:
            return InputFileError(f"{self.path}: the disk is full; free some space and try again")
        if "malformed" in text or "not a database" in text or "i/o error" in text:
            return InputFileError(
                f"{self.path}: the registry file is damaged or cut short ({orig}); restore it "
                "from a backup or copy it again"
            )
        return None

    def _busy(self) -> str:
        """Return the one line that says who holds the write lock, if they left a note."""
        head = f"the registry {self.path} is busy"
        tail = "; try again in a moment"
        try:
            note = orjson.loads(_note_path(self.path).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            note = None
        if isinstance(note, dict) and _alive(note):
            return f"{head}: {note.get('what')} started at {note.get('started')}{tail}"
        return f"{head}: another program (QGIS, GDAL or another landrelease) is writing to it{tail}"

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

    def versions(self, ref: str) -> list[dict[str, Any]]:
        """Return every version of a record, oldest first; [] if no record has this ref.

        Each: kind, ref, version, action, at, actor, reason, source (of an import batch),
        needs_check, state (the fields), geometry. Earlier versions come from the kind's
        history table, the last is the current row.
        """
        out: list[dict[str, Any]] = []
        with self.reading() as conn:
            for kind in KINDS.values():
                cols = [c for c in history.field_columns(kind) if c != "version"]
                geom = f", {GEOM}" if kind.geometry else ""
                tail = (
                    "version, change_action, changed_at, changed_by, change_reason, needs_check, "
                    "(SELECT source FROM landrelease_batches b WHERE b.id = batch_id)"
                )
                current = conn.exec_driver_sql(
                    f"SELECT {', '.join(cols)}, {tail}{geom} FROM {kind.table} WHERE ref = ?",
                    (ref,),
                ).fetchall()
                if not current:
                    continue
                past = conn.exec_driver_sql(
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

    def record_batch(
        self,
        conn: Connection,
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
        cur = conn.exec_driver_sql(
            "INSERT INTO landrelease_batches (kind, at, actor, reason, source, sha256, records, "
            "rejected) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (kind.name, at, actor, reason, source, sha256, records, rejected),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

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
        polygons = kind.geometry == "polygon"
        return gpkg.encode(
            geoms, multi=polygons, layer_type="MULTIPOLYGON" if polygons else "POINT"
        )

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
        batch: int | None,
        encoded: Sequence[bytes | None] | None = None,
    ) -> None:
        """Insert new records (version 1, the row itself: no copy); fast for 100,000 rows.

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
        bulk = bool(present.sum() > 50)
        rt = gpkg.rtree_name(table)
        rebuild = _deferred_indexes(conn, table) if n > 1000 else []
        if bulk:
            conn.exec_driver_sql(f"DROP TRIGGER {rt}_insert")
        first = conn.exec_driver_sql(f"SELECT coalesce(max(fid), 0) FROM {table}").scalar_one()
        try:
            conn.exec_driver_sql(
                f"INSERT INTO {table} ({', '.join(all_names)}) VALUES ({marks})", rows
            )
        except sqlite3.IntegrityError as exc:  # checked before: another writer got in between
            self._refuse_duplicate(conn, kind, exc, data.get("geom_key"), first)
            raise ConflictError(
                f"{kind.name}: a record with one of these refs was added by someone else while "
                "this batch was being checked; nothing was written, import it again"
            ) from None
        if bulk:
            assert geoms is not None
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
            conn.exec_driver_sql(gpkg.rtree_insert_trigger(table))

        for sql in rebuild:
            try:
                conn.exec_driver_sql(sql)
            except sqlite3.IntegrityError as exc:  # a unique index over the batch's own rows
                self._refuse_duplicate(conn, kind, exc, data.get("geom_key"), first)
                raise
        self._touch(conn, kind, at)

    def _refuse_duplicate(
        self,
        conn: Connection,
        kind: RecordKind,
        exc: sqlite3.IntegrityError,
        keys: Sequence[int | None] | None,
        first: int,
    ) -> None:
        """Raise DuplicateGeometry if `exc` is the unique geometry key refusing a batch row.

        The batch was checked against the stored keys before its write began, so a stored
        row with one of its keys was written by another writer in between.
        """
        if "geom_key" not in str(exc) or not keys:
            return
        wanted = [k for k in keys if k is not None]
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            row = conn.exec_driver_sql(
                f"SELECT geom_key, ref FROM {kind.table} WHERE fid <= ? AND geom_key IN "
                f"({','.join('?' * len(chunk))}) LIMIT 1",
                (first, *chunk),
            ).fetchone()
            if row is not None:
                raise DuplicateGeometry(None, int(row[0]), str(row[1]))

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
        checked: bool = False,
    ) -> int:
        """Write a new version of a record if it is still at `expected_version`; return it.

        `geometry` None clears the geometry; leave it out to keep the stored one. The old
        version goes into history (a trigger copies it). `checked` clears the flag of a
        record changed outside landrelease (`landrelease check --fix`).
        """
        new_version = expected_version + 1
        sets = [f"{k} = ?" for k in values]
        sets += ["version = ?", "changed_at = ?", "changed_by = ?", "change_reason = ?"]
        sets += ["change_action = ?", "batch_id = NULL"]
        params: list[Any] = [*values.values(), new_version, at, actor, reason, action]
        if checked:
            sets.append("needs_check = 0")
        if geometry is not UNCHANGED and kind.geometry:
            sets.append(f"{GEOM} = ?")
            params.append(self.encode_geometries(kind, np.array([geometry], dtype=object))[0])
        try:
            res = conn.exec_driver_sql(
                f"UPDATE {kind.table} SET {', '.join(sets)} WHERE ref = ? AND version = ?",
                (*params, ref, expected_version),
            )
        except sqlite3.IntegrityError as exc:
            if "geom_key" not in str(exc):
                raise
            other = conn.exec_driver_sql(
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
            row = conn.exec_driver_sql(
                f"SELECT version FROM {kind.table} WHERE ref = ?", (ref,)
            ).fetchone()
            if row is None:
                raise NotFound(f"{ref}: no record with this reference")
            raise ConflictError(
                f"{ref}: changed by someone else (now version {row[0]}, you had version "
                f"{expected_version}); reload it and try again"
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
        raw.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
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


def busy_timeout_ms() -> int:
    """Return how long a writer waits for the lock: env LANDRELEASE_BUSY_TIMEOUT_MS, else 10 s."""
    text = os.environ.get("LANDRELEASE_BUSY_TIMEOUT_MS")
    if not text:
        return BUSY_TIMEOUT_MS
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ValidationError(
            None,
            "LANDRELEASE_BUSY_TIMEOUT_MS",
            f"{text!r} is not a number of milliseconds (e.g. 10000)",
        )
    return value


def _check_location(path: Path, *, create: bool) -> bool:
    """Refuse a path that cannot be a registry; return whether a new one is to be made."""
    if path.is_dir():
        raise InputFileError(
            f"{path} is a folder, not a registry file; give a file path such as "
            f"{path / 'landrelease.gpkg'}"
        )
    if not path.parent.is_dir():
        raise InputFileError(
            f"{path}: folder {path.parent} does not exist; create it first or choose another path"
        )
    if not create and not path.exists():
        raise NotFound(f"no registry at {path}; create one with 'landrelease init --db {path}'")
    if not path.exists():
        return create
    if create and path.stat().st_size > 0:
        create = False  # init on an existing registry only migrates it
    if not create:
        try:
            with open(path, "rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise InputFileError(
                f"{path}: cannot be read ({exc.strerror}); check that you may read it"
            ) from None
        if not head.startswith(b"SQLite format 3"):
            raise InputFileError(
                f"{path} is not a GeoPackage/SQLite file"
                + ("" if head else " (it is empty)")
                + "; give the path of a registry, or create one with 'landrelease init'"
            )
    return create


def _writable(path: Path) -> bool:
    """Return whether the registry file (or, if new, its folder) can be written to.

    SQLite writes a -wal and a -shm file beside the registry, so the folder must be writable
    too. os.access also sees a read-only mount, which it reports even to root.
    """
    folder = os.access(path.parent, os.W_OK | os.X_OK)
    return folder and (not path.exists() or os.access(path, os.W_OK))


def _pool(path: Path, mode: str) -> ConnectionPool:
    """Return a connection pool on the file: `mode` rwc (read, write, create), ro or immutable."""
    query = "mode=ro&immutable=1" if mode == "immutable" else f"mode={mode}"
    return ConnectionPool(f"file:{urllib.parse.quote(str(path.absolute()))}?{query}", _setup)


def _schema_revision(conn: Connection) -> str | None:
    """Return the Alembic revision the file is at (None for a file without one)."""
    has = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if has is None:
        return None
    row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def _note_path(path: Path) -> Path:
    return Path(f"{path}-writer")


def _alive(note: dict[str, Any]) -> bool:
    """Return whether the writer of a note may still be running (its process, on this host)."""
    if note.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(note.get("pid", 0)), 0)
    except (OSError, ValueError):
        return False
    return True


def _setup(raw: sqlite3.Connection) -> None:
    """Prepare a new connection: the GeoPackage functions, the busy wait, the cache."""
    gpkg.register_functions(raw)
    raw.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
    raw.execute("PRAGMA synchronous = NORMAL")
    raw.execute("PRAGMA mmap_size = 268435456")
    raw.execute("PRAGMA cache_size = -131072")  # 128 MiB: bulk index builds stay in memory
    raw.execute("PRAGMA foreign_keys = ON")


__all__ = ["KINDS", "SqliteStore"]
