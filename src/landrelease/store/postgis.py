"""The PostGIS backend of the store: a registry in a PostgreSQL database with PostGIS.

Chosen by URL (`postgresql://user:password@host:port/database`, also `postgres://` and
SQLAlchemy's `postgresql+psycopg://`). The schema is made and upgraded by the same Alembic
migrations as the file's (their PostgreSQL branches: `store/postgis_schema.py` for the records,
`store/postgis_tables.py` for the tables beside them), so one schema revision names both.

Units of work are transactions on a pool of psycopg connections. A read is one snapshot
(REPEATABLE READ, READ ONLY), begun with its first statement; a server's pages of keys by
box come from an in-memory index kept current by a change counter (`store/postgis_boxes.py`).
A write (READ COMMITTED) takes the registry's write lock, a transaction-level advisory lock,
as it begins, as a write on the file takes SQLite's: one landrelease writer at a time, so
that what a write checks (a duplicate, a lifecycle rule) is still true when it writes; other
writers wait up to the busy timeout (LANDRELEASE_BUSY_TIMEOUT_MS), then are told who holds it
(the writer's note, in its session's application_name). Readers never wait. An edit made
meanwhile with QGIS or SQL takes no such lock: it meets landrelease's writes in the version
predicates (a stale write is a conflict), the unique indexes and the triggers, as on the file.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
import psycopg_pool
from psycopg import errors
from psycopg.pq import TransactionStatus

from landrelease.domain.errors import (
    ConflictError,
    InputFileError,
    LandreleaseError,
    NotFound,
    RegistryBusy,
    RegistryReadOnly,
    ValidationError,
)
from landrelease.domain.records import HAZARDS, RecordKind
from landrelease.store.base import BBox, Columns, OrderBy
from landrelease.store.postgis_boxes import PgBoxIndex
from landrelease.store.postgis_uow import PgUnitOfWork, encode_geometries
from landrelease.store.schema_migrations import SCHEMA_HEAD, alembic_config
from landrelease.store.sqlite import busy_timeout_ms

POOL_SIZE = 8  # connections at most: a server's threads share them
CONNECT_TIMEOUT_S = 10
WRITE_LOCK = 0x6C727772  # the advisory lock of a write (b"lrwr"), one per database
NOTE_PREFIX = "landrelease: "  # before a writer's note in its application_name


def public_url(url: str) -> str:
    """Return `url` without its password, to be shown in a message."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def conninfo(url: str) -> str:
    """Return the libpq URL of `url` (SQLAlchemy's driver suffix taken away)."""
    return "postgresql://" + url.split("://", 1)[1]


class PostgisStore:
    """Registry records in a PostgreSQL + PostGIS database; every write one transaction.

    A database that cannot be written (a standby server, a user without write access) is
    opened read-only: reads work, and a write is refused with RegistryReadOnly.
    """

    backend = "postgis"

    def __init__(self, url: str, *, readonly: bool = False) -> None:
        self.url = public_url(url)
        self.readonly = readonly
        self.opened_readonly = readonly  # by choice (open(readonly=True)), not by the server
        self._conninfo = conninfo(url)
        self._lock_timeout_ms = busy_timeout_ms()  # checked now: a bad setting is said at once
        self._lock = threading.Lock()
        self._pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]] | None = None
        self._pid = 0
        self._box_indexes: dict[str, PgBoxIndex] = {}

    def box_index(self, kind: RecordKind) -> PgBoxIndex:
        """Return the in-memory box index of a feature kind (made on first use)."""
        with self._lock:
            index = self._box_indexes.get(kind.name)
            if index is None:
                index = self._box_indexes[kind.name] = PgBoxIndex(self._pooled, kind)
            return index

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, *, create: bool = False, readonly: bool = False) -> PostgisStore:
        """Open (or with `create`, make) the registry in the database at `url`, migrated to
        the latest schema; with `readonly`, for reading only."""
        if readonly and create:
            raise ValueError("a registry cannot be created read-only")
        store = cls(url, readonly=readonly)
        revision = store._inspect(create=create)
        if revision != SCHEMA_HEAD:
            if store.readonly:
                raise RegistryReadOnly(
                    f"{store.url}: this registry must be upgraded to the current schema, "
                    "which needs write access; ask for it, or open it as a user who has it"
                )
            store._migrate()
        return store

    def _connect(self) -> psycopg.Connection[Any]:
        """Return a new connection of our own (autocommit), or the error saying why not."""
        try:
            return psycopg.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                application_name="landrelease",
            )
        except psycopg.OperationalError as exc:
            raise self._connect_error(exc) from None

    def _connect_error(self, exc: psycopg.Error) -> LandreleaseError:
        text = " ".join(str(exc).split())
        database = urllib.parse.urlsplit(self._conninfo).path.lstrip("/") or "(default)"
        if f'database "{database}" does not exist' in text:
            return NotFound(
                f"no registry at {self.url}: database {database} does not exist; create it "
                f"(createdb {database}), then the registry with 'landrelease init --db URL'"
            )
        reason = text.split("failed: ", 1)[-1]
        return LandreleaseError(
            f"{self.url}: cannot connect to the PostgreSQL/PostGIS database ({reason}); check "
            "the host, port, user, password and database name of the URL"
        )

    def _inspect(self, *, create: bool) -> str | None:
        """Return the schema revision of the registry in the database (None: there is none);
        refuse a database that cannot hold one, or without one unless `create`. A registry
        that the server or the user's rights keep from being written is read-only."""
        with self._connect() as conn:
            revision = _schema_revision(conn)
            if revision is not None:
                self.readonly = self.readonly or _cannot_write(conn)
                return revision
            tables = conn.execute(  # of our schema, but an extension's (PostGIS's spatial_ref_sys)
                "SELECT count(*) FROM pg_class c WHERE c.relkind = 'r' "
                "AND c.relnamespace = current_schema()::regnamespace AND NOT EXISTS "
                "(SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')"
            ).fetchone()
            if not create:
                if tables and tables[0]:
                    raise InputFileError(
                        f"{self.url} is a PostgreSQL database but not a landrelease registry; "
                        "create a registry in a database of its own with 'landrelease init "
                        "--db URL' and load the data with 'landrelease import'"
                    )
                raise NotFound(
                    f"no registry at {self.url}; create one with 'landrelease init --db URL'"
                )
            if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
                return None
            try:
                conn.execute("CREATE EXTENSION postgis")
            except psycopg.Error as exc:
                raise LandreleaseError(
                    f"{self.url}: PostGIS is not installed in this database and cannot be "
                    f"({exc.diag.message_primary}); ask its administrator to run "
                    "'CREATE EXTENSION postgis' in it"
                ) from None
        return None

    def _migrate(self) -> None:
        """Upgrade the schema to the newest revision: in one transaction, holding the write
        lock (another process making the same registry waits, then finds it made)."""
        from alembic import command
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        engine = create_engine(
            "postgresql+psycopg://", creator=self._connect_for_migration, poolclass=NullPool
        )
        try:
            with self._translated(), engine.connect() as sa_conn:
                sa_conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                command.upgrade(alembic_config(sa_conn), "head")
                sa_conn.commit()
        finally:
            engine.dispose()

    def _connect_for_migration(self) -> psycopg.Connection[Any]:
        conn = self._connect()
        conn.autocommit = False
        return conn

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self._box_indexes = {}
        if pool is not None and self._pid == os.getpid():
            pool.close()

    # -- the pool ------------------------------------------------------------------------------

    def _pool_here(self) -> psycopg_pool.ConnectionPool[psycopg.Connection[Any]]:
        """Return the pool of this process, made on first use.

        A process forked from ours (a server's worker) makes its own: the parent's
        connections are left alone, not closed, since closing them would end the parent's
        sessions too (psycopg does not close them when they are collected after a fork).

        Connections are not checked as they are handed out (a round trip each): one that
        the server closed meanwhile fails its statement, and the pool is then checked
        (`_give_back`), so that one error, not one per idle connection, tells of it.
        """
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                self._pool = psycopg_pool.ConnectionPool(
                    self._conninfo,
                    min_size=1,
                    max_size=POOL_SIZE,
                    kwargs={
                        "autocommit": True,
                        "connect_timeout": CONNECT_TIMEOUT_S,
                        "application_name": "landrelease",
                    },
                    configure=self._configure,
                    name=f"landrelease {self.url}",
                    open=True,
                )
                self._pid = os.getpid()
            return self._pool

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        """Prepare a new pooled connection: how long a write waits for a lock."""
        conn.execute(
            "SELECT set_config('lock_timeout', %s, false)", (f"{self._lock_timeout_ms}ms",)
        )

    # -- units of work -------------------------------------------------------------------------

    @contextmanager
    def unit_of_work(
        self, *, write: bool = False, bulk: bool = False, note: str | None = None
    ) -> Iterator[PgUnitOfWork]:
        """Yield one transaction: a snapshot to read, or with `write` the write lock.

        A write takes the registry's write lock at once (waiting up to the busy timeout), so
        that it never fails half-way for another landrelease writer; it is committed when the
        block ends without error, else rolled back. `note` says what the write does (e.g. "an
        import of x.geojson by alice"): it is shown to another writer who finds the registry
        busy meanwhile. `bulk` changes nothing here: COPY is the fastest way either way.
        Database errors leave as LandreleaseErrors: busy, read-only, a value refused.
        """
        if write and self.readonly:
            raise RegistryReadOnly(
                f"{self.url}: the registry was opened read-only"
                if self.opened_readonly
                else f"{self.url}: the registry is read-only (a standby server, or a user "
                "without write access); ask for write access"
            )
        pool = self._pool_here()
        with self._translated():
            conn = pool.getconn()
            try:
                uow = PgUnitOfWork(
                    conn,
                    write=write,
                    translate=self._error,
                    # a read's snapshot begins with its first statement, in the same round trip
                    begin=None if write else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                    boxes=None if write else self.box_index,
                )
                if write:
                    conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
                    label = NOTE_PREFIX + (note or "a write")
                    conn.execute(
                        "SELECT set_config('application_name', %s, true), "
                        "pg_advisory_xact_lock(%s)",
                        (label.encode("ascii", "replace").decode()[:63], WRITE_LOCK),
                    )
                try:
                    yield uow
                except BaseException:
                    uow.finish(commit=False)
                    raise
                uow.finish(commit=True)
            finally:
                self._give_back(pool, conn)

    @contextmanager
    def _pooled(self) -> Iterator[psycopg.Connection[Any]]:
        """Yield a pooled connection (autocommit: each statement a snapshot of its own) for
        the block; the database's errors in it as ours."""
        pool = self._pool_here()
        with self._translated():
            conn = pool.getconn()
            try:
                yield conn
            finally:
                self._give_back(pool, conn)

    def _give_back(
        self,
        pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]],
        conn: psycopg.Connection[Any],
    ) -> None:
        """Return a connection to the pool, idle; if it was broken (the server restarted,
        a network cut), check the pool's others, which are likely broken too."""
        broken = conn.broken
        if not broken and conn.info.transaction_status != TransactionStatus.IDLE:
            conn.rollback()  # a failed BEGIN or end: the pool takes idle ones back
        pool.putconn(conn)
        if broken:
            pool.check()

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

    def encode_geometries(self, kind: RecordKind, geoms: np.ndarray) -> list[str | None]:
        """Return geometries as `kind`'s column takes them (hex EWKB; polygons as
        MultiPolygons); safe to call from any thread."""
        return encode_geometries(kind, geoms)

    # -- errors --------------------------------------------------------------------------------

    @contextmanager
    def _translated(self, pid: int = 0) -> Iterator[None]:
        """Turn the database's errors in the block into ours (see `_error`); `pid` is the
        server process of the connection it uses, if one."""
        try:
            yield
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            error = self._error(exc, pid)
            if error is None:
                raise
            raise error from None
        except Exception as exc:  # SQLAlchemy's, around psycopg's (migrations)
            orig = getattr(exc, "orig", None)
            error = self._error(orig) if isinstance(orig, psycopg.Error) else None
            if error is None:
                raise
            raise error from None

    def _error(self, exc: BaseException, pid: int = 0) -> Exception | None:
        """Return our error for a database error that means something to the user, or None;
        `pid`: the server process of the connection that met it."""
        if isinstance(exc, psycopg_pool.PoolTimeout):  # the server is gone, or we are busy
            try:
                self._connect().close()
            except LandreleaseError as error:
                return error
            return RegistryBusy(
                f"the registry {self.url} is busy: all {POOL_SIZE} connections of this "
                "program are in use; try again in a moment"
            )
        if not isinstance(exc, psycopg.Error):
            return None
        message = exc.diag.message_primary or " ".join(str(exc).split())
        if isinstance(exc, errors.LockNotAvailable):
            return RegistryBusy(self._busy(pid))
        if isinstance(exc, errors.SerializationFailure | errors.DeadlockDetected):
            return ConflictError(
                f"{self.url}: another program changed the same records at the same time; "
                "nothing was written, try again"
            )
        if message.startswith("landrelease:"):  # a refusal of our triggers
            return ValidationError(None, None, message)
        if isinstance(exc, errors.InsufficientPrivilege | errors.ReadOnlySqlTransaction):
            return RegistryReadOnly(f"{self.url}: the database refused a write ({message})")
        if isinstance(exc, errors.DuplicateTable | errors.DuplicateObject):
            return InputFileError(
                f"{self.url}: the database has a {message.split(' already')[0]} that is not "
                "part of a landrelease registry; make the registry in a database of its own"
            )
        if isinstance(exc, psycopg.DataError):
            return ValidationError(None, None, f"a value the database cannot take: {message}")
        if isinstance(exc, psycopg.OperationalError):
            return LandreleaseError(f"{self.url}: the database connection failed ({message})")
        return None

    def _busy(self, waiting: int) -> str:
        """Return the one line that says who holds the write lock (not the `waiting` server
        process: its own write waits for a record another program holds), with their note."""
        head = f"the registry {self.url} is busy"
        tail = "; try again in a moment"
        try:
            with self._connect() as conn:
                holder = conn.execute(
                    "SELECT a.application_name, "
                    "to_char(a.xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
                    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 "
                    "AND l.objid = %s AND l.objsubid = 1 AND l.pid <> %s "
                    "AND l.database = (SELECT oid FROM pg_database WHERE datname = "
                    "current_database())",
                    (WRITE_LOCK, waiting),
                ).fetchone()
        except (LandreleaseError, psycopg.Error):
            holder = None
        if holder is not None and (holder[0] or "").startswith(NOTE_PREFIX):
            note = holder[0][len(NOTE_PREFIX) :]
            # (another user's session shows no start to a user without pg_read_all_stats)
            started = f" started at {holder[1]} UTC" if holder[1] else ""
            return f"{head}: {note}{started}{tail}"
        return f"{head}: another program (QGIS, GDAL or another landrelease) is writing to it{tail}"


def _cannot_write(conn: psycopg.Connection[Any]) -> bool:
    """Return whether the registry cannot be written here: a standby server, or a user
    without the right to add or change records."""
    row = conn.execute(
        "SELECT pg_is_in_recovery() OR NOT (has_table_privilege(%s, 'INSERT') "
        "AND has_table_privilege(%s, 'UPDATE'))",
        (HAZARDS.table, HAZARDS.table),
    ).fetchone()
    return bool(row and row[0])


def _schema_revision(conn: psycopg.Connection[Any]) -> str | None:
    """Return the Alembic revision the database is at (None for a database without one)."""
    if conn.execute("SELECT to_regclass('alembic_version')").fetchone() == (None,):
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


__all__ = ["PostgisStore", "conninfo", "public_url"]
