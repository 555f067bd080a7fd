"""Connections to one SQLite file: a small pool, and transactions begun the way the store asks.

The GeoPackage backend talks to SQLite through the standard library's `sqlite3`. SQLAlchemy
would add about a quarter of a second to the start of every command and nothing that SQLite
needs; it is loaded only to run an Alembic migration (`migration_connection`). The calls keep
SQLAlchemy's names (`exec_driver_sql`, `scalar_one`, `one`), so the store's SQL reads the same
whichever backend runs it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection as SAConnection

Setup = Callable[[sqlite3.Connection], None]


class Result:
    """The rows of one statement: fetch them, or read one value."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    def one(self) -> Any:
        """Return the only row; raise LookupError if there is none or more than one."""
        rows = self._cursor.fetchmany(2)
        if len(rows) != 1:
            raise LookupError(f"expected one row, got {len(rows)}")
        return rows[0]

    def scalar_one(self) -> Any:
        """Return the first value of the only row."""
        return self.one()[0]


class Connection:
    """One sqlite3 connection as the store uses it: statements, and transactions it begins."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def exec_driver_sql(self, sql: str, params: Sequence[Any] | list[Sequence[Any]] = ()) -> Result:
        """Run `sql` once with `params`, or once per row when `params` is a list of rows."""
        if isinstance(params, list):
            return Result(self.raw.executemany(sql, params))  # no rows: nothing runs
        return Result(self.raw.execute(sql, params))

    @contextmanager
    def begin(self, statement: str = "BEGIN") -> Iterator[Connection]:
        """Run the block in one transaction: committed if it succeeds, else rolled back."""
        self.raw.execute(statement)
        try:
            yield self
        except BaseException:
            if self.raw.in_transaction:
                self.raw.execute("ROLLBACK")
            raise
        self.raw.execute("COMMIT")


class ConnectionPool:
    """Connections to one SQLite database URI, kept for reuse (at most `keep` idle ones)."""

    def __init__(self, uri: str, setup: Setup, *, keep: int = 2) -> None:
        self.uri = uri
        self._setup = setup
        self._keep = keep
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def new_connection(self) -> sqlite3.Connection:
        """Return a new connection of the pool's kind that the caller keeps (and closes)."""
        return self._new()

    def _new(self) -> sqlite3.Connection:
        raw = sqlite3.connect(self.uri, uri=True, check_same_thread=False, isolation_level=None)
        try:
            self._setup(raw)
        except BaseException:
            raw.close()
            raise
        return raw

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """Yield a connection of the pool (a new one if none is idle); it goes back after."""
        with self._lock:
            raw = self._idle.pop() if self._idle else None
        if raw is None:
            raw = self._new()
        try:
            yield Connection(raw)
        except BaseException:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raise
        finally:
            with self._lock:
                if len(self._idle) < self._keep and not raw.in_transaction:
                    self._idle.append(raw)
                    raw = None  # type: ignore[assignment]
            if raw is not None:
                raw.close()

    def dispose(self) -> None:
        """Close the idle connections (those in use close when given back, past `keep`)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for raw in idle:
            raw.close()


@contextmanager
def migration_connection(pool: ConnectionPool) -> Iterator[SAConnection]:
    """Yield a SQLAlchemy connection to the pool's database, for Alembic, in one write
    transaction (BEGIN IMMEDIATE) that the caller commits."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    engine = create_engine("sqlite://", creator=pool._new, poolclass=NullPool)

    @event.listens_for(engine, "begin")
    def _begin(conn: SAConnection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()
