"""The SQLite / GeoPackage backend of the store: one registry file, WAL mode, R-tree indexes."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import sqlite3
import threading
import urllib.parse
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from landrelease.domain.errors import (
    InputFileError,
    LandreleaseError,
    NotFound,
    RegistryBusy,
    RegistryReadOnly,
    ValidationError,
)
from landrelease.domain.records import KINDS, RecordKind
from landrelease.store import geopackage as gpkg
from landrelease.store.base import UNCHANGED, BBox, Columns, OrderBy
from landrelease.store.box_index import BoxIndex
from landrelease.store.connections import Connection, ConnectionPool, migration_connection
from landrelease.store.schema_migrations import MIGRATIONS, SCHEMA_HEAD, alembic_config
from landrelease.store.sqlite_uow import SqliteUnitOfWork, encode_geometries

BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for another's write lock, by default


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
        self.opened_readonly = False  # read-only by choice (open(readonly=True)), not by the file
        self._box_indexes: dict[str, BoxIndex] = {}
        self._box_lock = threading.Lock()

    def box_index(self, kind: RecordKind) -> BoxIndex:
        """Return the in-memory box index of a feature kind (made on first use)."""
        with self._box_lock:
            index = self._box_indexes.get(kind.name)
            if index is None:
                index = self._box_indexes[kind.name] = BoxIndex(self.pool.new_connection, kind)
            return index

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False, readonly: bool = False) -> SqliteStore:
        """Open (or with `create`, make) the registry at `path`, migrated to the latest schema.

        With `readonly`, the file is opened for reading only, as one that cannot be written.
        """
        path = Path(path)
        if readonly and create:
            raise ValueError("a registry cannot be created read-only")
        create = _check_location(path, create=create)
        chosen = readonly
        readonly = readonly or not _writable(path)
        if readonly and create:
            raise RegistryReadOnly(
                f"{path}: cannot create a registry there: folder {path.parent} cannot be "
                "written; choose a folder you can write to"
            )
        store = cls(path, _pool(path, "ro" if readonly else "rwc"), readonly=readonly)
        store.opened_readonly = chosen
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
        store = SqliteStore(self.path, _pool(self.path, "immutable"), readonly=True)
        store.opened_readonly = self.opened_readonly
        return store

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
            command.upgrade(alembic_config(sa_conn), "head")
            sa_conn.commit()

    def _restore_wal(self) -> None:
        """Put the file back in WAL mode if a killed bulk write left it in rollback mode."""
        with self.pool.connect() as conn:
            mode = conn.raw.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                _set_journal(conn.raw, "wal", wait=True)

    def close(self) -> None:
        with self._box_lock:
            indexes, self._box_indexes = list(self._box_indexes.values()), {}
        for index in indexes:
            index.close()
        self.pool.dispose()

    # -- units of work -------------------------------------------------------------------------

    @contextmanager
    def unit_of_work(
        self, *, write: bool = False, bulk: bool = False, note: str | None = None
    ) -> Iterator[SqliteUnitOfWork]:
        """Yield one transaction: a snapshot to read, or with `write` the write lock.

        A write begins with BEGIN IMMEDIATE: the lock is taken at once (waiting up to the
        busy timeout), so a write never fails half-way for another writer. It is committed
        when the block ends without error, else rolled back.

        A `bulk` write (a large import) runs with a rollback journal instead of the WAL when
        no other connection has the file open: every page is then written once, not twice
        (WAL, then checkpoint). It is just as atomic; WAL mode returns after it (and at the
        next open, if the process was killed before).

        `note` says what the write does (e.g. "an import of x.geojson by alice"): it is
        shown to another writer who finds the registry busy meanwhile. Database errors leave
        as LandreleaseErrors: busy, read-only, damaged.
        """
        if not write:
            with self._translated(), self.pool.connect() as conn:
                conn.raw.execute("BEGIN")
                uow = SqliteUnitOfWork(conn, write=False, boxes=self.box_index)
                with _ending(uow):
                    yield uow
            return
        if self.opened_readonly:
            raise RegistryReadOnly(f"{self.path}: the registry was opened read-only")
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
                    raw.execute("BEGIN IMMEDIATE")
                    uow = SqliteUnitOfWork(conn, write=True, on_end=self._leave_note(note))
                    with _ending(uow):
                        yield uow
                finally:
                    if switched:
                        _set_journal(raw, "wal", wait=True)

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
        """Return `Records.select` of one read unit of work of its own."""
        with self.unit_of_work() as uow:
            return uow.records(kind).select(
                columns=columns,
                where=where,
                bbox=bbox,
                geometry=geometry,
                order_by=order_by,
                limit=limit,
                offset=offset,
            )

    def encode_geometries(self, kind: RecordKind, geoms: np.ndarray) -> list[bytes | None]:
        """Return geometries as `kind`'s table stores them (GeoPackage blobs; polygons as
        MultiPolygons); safe to call from any thread."""
        return encode_geometries(kind, geoms)

    def _leave_note(self, note: str | None) -> Callable[[], None] | None:
        """Leave `note` beside the file while the write lock is held (see `_busy`); return
        what takes it away."""
        if note is None:
            return None
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

        def take_away() -> None:
            with contextlib.suppress(OSError):
                where.unlink()

        return take_away

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


@contextmanager
def _ending(uow: SqliteUnitOfWork) -> Iterator[None]:
    """Commit `uow` when the block ends without error, else roll it back."""
    try:
        yield
    except BaseException:
        uow.finish(commit=False)
        raise
    uow.finish(commit=True)


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
    # Idle connections kept: each thread of a server reuses one, since a new connection
    # starts with a cold cache (and costs its setup); a command uses one or two.
    return ConnectionPool(
        f"file:{urllib.parse.quote(str(path.absolute()))}?{query}", _setup, keep=16
    )


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


__all__ = ["KINDS", "MIGRATIONS", "SCHEMA_HEAD", "UNCHANGED", "SqliteStore"]
