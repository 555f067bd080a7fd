"""The store: registry records kept by a backend chosen by URL (a GeoPackage file by default)."""

from __future__ import annotations

from pathlib import Path

from landrelease.domain.errors import LandreleaseError
from landrelease.store.base import UNCHANGED, Columns, Records, Store, UnitOfWork, now_utc
from landrelease.store.sqlite import SqliteStore


def open_store(url: str | Path, *, create: bool = False, readonly: bool = False) -> Store:
    """Return the store at `url`: a file path (GeoPackage) or a database URL.

    `create` makes a new registry there; `readonly` opens it for reading only (a write unit
    of work is then refused with RegistryReadOnly).
    """
    text = str(url)
    if text.startswith(("postgresql:", "postgres:")):
        raise LandreleaseError(
            f"{text.split('@')[-1]}: the PostGIS backend is not available yet; use a .gpkg file"
        )
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    return SqliteStore.open(Path(text), create=create, readonly=readonly)


__all__ = [
    "UNCHANGED",
    "Columns",
    "Records",
    "SqliteStore",
    "Store",
    "UnitOfWork",
    "now_utc",
    "open_store",
]
