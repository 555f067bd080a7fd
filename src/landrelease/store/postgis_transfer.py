"""Copying a registry into and out of a PostGIS database, in the row format of `store/transfer.py`.

Out: each table is read through a server-side cursor, a chunk at a time, geometries as
`ST_AsBinary` (ISO WKB), dates as ISO text and JSON as the text it was written as.

In: the rows go in by COPY, in the one write unit of work of the copy, into the tables a new
registry has. Copied rows are not edits: where the database user may set it, the copy runs
with `session_replication_role = replica`, under which no trigger fires; where it may not,
the record tables' insert triggers pass every row that names its author or its import batch
as it is (every row landrelease, QGIS or GDAL wrote does) and the other tables have no
insert trigger that changes a row. After a table's rows, its identity counter is set past
its ids and its statistics are gathered.

A new registry is made by `open_store` in a transaction of its own, before the copy: `claim`
notes what the database holds before it, and `Claim.undo` drops what was made since (the
registry's tables, functions and the PostGIS extension, if it was not there), so that a
failed copy leaves the database as it was.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql as pgsql

from landrelease.domain.errors import InputFileError, LandreleaseError, NotFound
from landrelease.store.postgis import conninfo, public_url
from landrelease.store.postgis_uow import PgUnitOfWork
from landrelease.store.transfer import CHUNK, Claim, Table

# The expression that reads a column into the row format, by its PostgreSQL type (a date of
# the row format may be kept as a `date` or as the ISO text itself; JSON as `json` or text).
_READ = {
    "geometry": "ST_AsBinary({c})",
    "date": "to_char({c}, 'YYYY-MM-DD')",
    "json": "{c}::text",
    "jsonb": "{c}::text",
}
_TEXT_KINDS = ("text", "stamp", "json")  # sorted byte by byte, as SQLite sorts them


def count(uow: PgUnitOfWork, table: str) -> int:
    """Return how many rows `table` (a table of `transfer.tables` or a layer's) holds."""
    row = uow.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def dump(uow: PgUnitOfWork, table: Table) -> Iterator[list[tuple[Any, ...]]]:
    """Yield the rows of `table` in the row format, a chunk at a time, in `table.order`."""
    columns = uow.execute(
        "SELECT attname, atttypid::regtype::text FROM pg_attribute WHERE attrelid = "
        "to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
        (table.name,),
    )
    types = dict(columns.fetchall())
    select = [_READ.get(types[c], "{c}").format(c=c) for c in table.columns]
    order = [f'{c} COLLATE "C"' if table.kinds[c] in _TEXT_KINDS else c for c in table.order]
    # A server-side cursor: a table of 100,000 areas is never in memory at once.
    with columns.connection.cursor(name=f"landrelease_copy_{table.name}") as cursor:
        cursor.itersize = CHUNK
        cursor.execute(f"SELECT {', '.join(select)} FROM {table.name} ORDER BY {', '.join(order)}")
        while rows := cursor.fetchmany(CHUNK):
            yield rows


def descriptions(uow: PgUnitOfWork) -> dict[str, str]:
    """Return what a GIS client shows of each table (its COMMENT): {table: description}."""
    rows = uow.execute(
        "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
        "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' "
        "AND obj_description(c.oid, 'pg_class') IS NOT NULL"
    ).fetchall()
    return {str(t): str(d) for t, d in rows}


class Loader:
    """Writes tables in the row format into the database of one write unit of work."""

    def __init__(self, uow: PgUnitOfWork) -> None:
        self._uow = uow
        if _may_skip_triggers(uow):
            uow.execute("SET LOCAL session_replication_role = replica")
        self._cursor: psycopg.Cursor[Any] | None = None

    def begin(self, table: Table) -> None:
        """Check that `table` (of a new registry) is empty, before its rows go in."""
        self._cursor = self._uow.execute(f"SELECT 1 FROM {table.name} LIMIT 1")
        if self._cursor.fetchone() is not None:
            raise LandreleaseError(
                f"{table.name} of the new registry holds rows already; copy into a database "
                "without a registry"
            )

    def load(self, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
        """Write rows of `table` (in the row format) by one COPY, geometries as hex WKB."""
        if not rows:
            return
        assert self._cursor is not None, "begin(table) first"
        at = table.columns.index(table.geometry) if table.geometry else -1
        with self._cursor.copy(
            f"COPY {table.name} ({', '.join(table.columns)}) FROM STDIN"
        ) as copy:
            for row in rows:
                if at >= 0 and row[at] is not None:  # the column's SRID is given to it
                    row = (*row[:at], row[at].hex(), *row[at + 1 :])
                copy.write_row(row)

    def end(self, table: Table) -> None:
        """Set `table`'s identity counter past the copied ids; gather its statistics."""
        if table.key is not None:
            self._uow.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, %s), max({table.key})) "
                f"FROM {table.name} HAVING max({table.key}) IS NOT NULL",
                (table.name, table.key),
            )
        self._uow.execute(f"ANALYZE {table.name}")

    def finish(self, described: dict[str, str]) -> None:
        """Describe the tables as the source did (`descriptions`; COMMENT ON TABLE)."""
        present = {
            r[0]
            for r in self._uow.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = "
                "current_schema()::regnamespace AND relkind = 'r'"
            )
        }
        for table, text in described.items():
            if table in present:
                self._uow.execute(
                    pgsql.SQL("COMMENT ON TABLE {} IS {}")
                    .format(pgsql.Identifier(table), pgsql.Literal(text))
                    .as_string(None)
                )

    def count(self, table: str) -> int:
        """Return how many rows `table` holds now, in this unit of work."""
        return count(self._uow, table)


def _may_skip_triggers(uow: PgUnitOfWork) -> bool:
    """Return whether the database user may set `session_replication_role`: a superuser, or
    (PostgreSQL 15) a user granted SET on it."""
    cursor = uow.execute("SELECT current_setting('is_superuser') = 'on'")
    row = cursor.fetchone()
    if row is not None and row[0]:
        return True
    if cursor.connection.info.server_version < 150000:
        return False
    row = uow.execute(
        "SELECT has_parameter_privilege('session_replication_role', 'SET')"
    ).fetchone()
    return bool(row is not None and row[0])


# -- making room for the new registry, and taking it away again ------------------------------

# Everything of the database that is not PostgreSQL's own nor an extension's member, by
# what drops it: relations, functions, and the extensions themselves.
_OBJECTS = """
SELECT 'TABLE', c.oid::regclass::text FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT LIKE 'pg\\_%%'
  AND n.nspname <> 'information_schema' AND NOT EXISTS (SELECT 1 FROM pg_depend d
  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT 'SEQUENCE', c.oid::regclass::text FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'S' AND n.nspname NOT LIKE 'pg\\_%%' AND NOT EXISTS (SELECT 1
  FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
  AND d.deptype IN ('e', 'a', 'i'))
UNION ALL
SELECT 'FUNCTION', p.oid::regprocedure::text FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
  AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'EXTENSION', quote_ident(extname) FROM pg_extension
"""
_DROP_ORDER = ("TABLE", "SEQUENCE", "FUNCTION", "EXTENSION")


def claim(url: str) -> Claim:
    """Return whether a new registry can be made in the database at `url`, and what takes
    it away again (everything made in the database after this call)."""
    with _connected(url) as conn:
        row = conn.execute(
            "SELECT to_regclass('alembic_version') IS NOT NULL "
            "OR to_regclass('hazard_areas') IS NOT NULL"
        ).fetchone()
        if row is not None and row[0]:
            return Claim("holds a registry already", lambda: None)
        before = set(conn.execute(_OBJECTS, ()).fetchall())

    def undo() -> None:
        with _connected(url) as conn, conn.transaction():
            made = set(conn.execute(_OBJECTS, ()).fetchall()) - before
            for what in _DROP_ORDER:
                for kind, name in sorted(made):
                    if kind == what:
                        conn.execute(f"DROP {kind} IF EXISTS {name} CASCADE")

    return Claim(None, undo)


@contextmanager
def _connected(url: str) -> Iterator[psycopg.Connection[Any]]:
    """Yield a connection of its own to the database at `url`; one that cannot be made is
    an InputFileError saying why."""
    try:
        conn = psycopg.connect(conninfo(url), autocommit=True)
    except psycopg.OperationalError as exc:
        text = " ".join(str(exc).split())
        database = urllib.parse.urlsplit(url).path.lstrip("/")
        if f'database "{database}" does not exist' in text:
            raise NotFound(
                f"{public_url(url)}: database {database} does not exist; create it first "
                f"(createdb {database}, or CREATE DATABASE {database} as in docs/postgis.md)"
            ) from None
        reason = text.rsplit("failed: ", 1)[-1]
        raise InputFileError(
            f"{public_url(url)}: cannot connect to the database ({reason}); check the host, "
            "port, user, password and database name of the URL"
        ) from None
    with conn:
        yield conn


__all__ = ["Loader", "claim", "count", "descriptions", "dump"]
