"""The store: registry records kept by a backend chosen by URL: a GeoPackage file (a path), or
a PostgreSQL + PostGIS database (postgresql://...)."""

from __future__ import annotations

from pathlib import Path

from landrelease.store.base import UNCHANGED, Columns, Records, Store, UnitOfWork, now_utc
from landrelease.store.sqlite import SqliteStore

# The URLs of a PostgreSQL database (SQLAlchemy's with its driver too).
POSTGIS_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def is_postgis_url(url: str | Path) -> bool:
    """Return whether `url` names a PostgreSQL database rather than a registry file."""
    return str(url).startswith(POSTGIS_SCHEMES)


def open_store(url: str | Path, *, create: bool = False, readonly: bool = False) -> Store:
    """Return the store at `url`: a file path (GeoPackage) or a PostgreSQL URL (PostGIS).

    `create` makes a new registry there; `readonly` opens it for reading only (a write unit
    of work is then refused with RegistryReadOnly).
    """
    text = str(url)
    if is_postgis_url(text):
        from landrelease.store.postgis import PostgisStore  # psycopg loads only when needed

        return PostgisStore.open(text, create=create, readonly=readonly)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    return SqliteStore.open(Path(text), create=create, readonly=readonly)


__all__ = [
    "POSTGIS_SCHEMES",
    "UNCHANGED",
    "Columns",
    "Records",
    "SqliteStore",
    "Store",
    "UnitOfWork",
    "is_postgis_url",
    "now_utc",
    "open_store",
]
