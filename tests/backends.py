"""The store backends a test can run on: the GeoPackage file, and PostGIS where a cluster is given.

`LANDRELEASE_TEST_PG` names a throw-away PostgreSQL + PostGIS cluster a test run may use as it
likes (`scripts/pg-throwaway start DIR` makes one and prints its URL), e.g.
`postgresql://lr@127.0.0.1:54329/postgres`: its user must be allowed to create databases.
Each registry a test makes on it is a database of its own, cloned from a template that has the
PostGIS extension already (creating the extension takes a second; cloning a few milliseconds),
and dropped when the test run ends.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import threading
import urllib.parse
import uuid
from pathlib import Path

PG_ENV = "LANDRELEASE_TEST_PG"
TEMPLATE = "landrelease_test_template"
DROPPERS = 8  # connections dropping this run's databases at its end

_lock = threading.Lock()
_made: list[str] = []
_serial = itertools.count(1)
_run = uuid.uuid4().hex[:8]


def pg_admin_url() -> str | None:
    """Return the URL of the throw-away cluster for tests, or None when none is given."""
    return os.environ.get(PG_ENV) or None


def backends() -> list[str]:
    """Return the backends tests can run on here: "sqlite", and "postgis" with a cluster."""
    return ["sqlite", "postgis"] if pg_admin_url() else ["sqlite"]


def database_url(admin: str, name: str) -> str:
    """Return `admin` with its database replaced by `name`."""
    parts = urllib.parse.urlsplit(admin)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def _admin_execute(*statements: str) -> None:
    import psycopg

    admin = pg_admin_url()
    if admin is None:
        raise RuntimeError(f"{PG_ENV} is not set: no PostgreSQL cluster for tests")
    with psycopg.connect(admin, autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)


def _ensure_template() -> None:
    import psycopg

    admin = pg_admin_url()
    assert admin is not None
    with psycopg.connect(admin, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE,))
        if found.fetchone() is None:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
            with psycopg.connect(database_url(admin, TEMPLATE), autocommit=True) as tpl:
                tpl.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def new_database(hint: str = "t", *, template: str | None = None) -> str:
    """Make a new database on the test cluster and return its URL (dropped at exit).

    Without `template` the database is empty but for the PostGIS extension (a registry is
    then made in it with `open_store(url, create=True)`); with it, a copy of that database.
    """
    with _lock:
        if not _made:
            _ensure_template()
            atexit.register(drop_all)
        name = f"lrt_{_run}_{next(_serial)}_{''.join(c for c in hint.lower() if c.isalnum())[:20]}"
        _made.append(name)
    _admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template or TEMPLATE}"')
    admin = pg_admin_url()
    assert admin is not None
    return database_url(admin, name)


def copy_database(url: str, hint: str = "copy") -> str:
    """Return the URL of a new database copied from the one at `url` (no one may be connected)."""
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    return new_database(hint, template=name)


def is_database(location: Path | str) -> bool:
    """Return whether a registry's location is a PostgreSQL database URL (else a file path)."""
    return str(location).startswith(("postgresql://", "postgres://"))


def copy_registry(source: Path | str, dest: Path) -> Path | str:
    """Return a copy of the registry at `source` that a test may change.

    A file is copied to `dest` with its -wal and -shm; a database is cloned into a new one
    (named after `dest`) and its URL returned.
    """
    if is_database(source):
        return copy_database(str(source), dest.stem)
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{source}{suffix}")
        if src.exists():
            shutil.copyfile(src, f"{dest}{suffix}")
    return dest


def new_registry_url(tmp_path: Path, backend: str, name: str = "registry") -> str:
    """Return where a new registry of `backend` can be made: a file path, or a database URL."""
    if backend == "sqlite":
        return str(tmp_path / f"{name}.gpkg")
    if backend == "postgis":
        return new_database(name)
    raise ValueError(f"unknown backend {backend!r}")


def drop_all() -> None:
    """Drop every database this run made (connections to them are ended first).

    A DROP DATABASE waits for every session of the cluster to let go of the database's files,
    up to a second on a cluster others use too; the drops run side by side, sharing the waits.
    """
    with _lock:
        names, _made[:] = list(_made), []
    admin = pg_admin_url()
    if not names or admin is None:
        return
    import psycopg

    def drop(share: list[str]) -> None:
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                for name in share:
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                        (name,),
                    )
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        except psycopg.OperationalError:  # the cluster is gone already: nothing left to drop
            pass

    # plain threads: an executor takes no work once the interpreter is exiting (atexit)
    droppers = [threading.Thread(target=drop, args=(names[i::DROPPERS],)) for i in range(DROPPERS)]
    for t in droppers:
        t.start()
    for t in droppers:
        t.join()
