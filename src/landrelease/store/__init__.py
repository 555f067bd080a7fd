"""The store: registry records kept by a backend chosen by URL (a GeoPackage file by default)."""

from __future__ import annotations

from pathlib import Path

from landrelease.domain.errors import LandreleaseError
from landrelease.store.base import Columns, Store, now_utc
from landrelease.store.sqlite import UNCHANGED, SqliteStore


def open_store(url: str | Path, *, create: bool = False) -> Store:
    """Return the store at `url`: a file path (GeoPackage) or a database URL."""
    text = str(url)
    if text.startswith(("postgresql:", "postgres:")):
        raise LandreleaseError(
            f"{text.split('@')[-1]}: the PostGIS backend is not available yet; use a .gpkg file"
        )
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    return SqliteStore.open(Path(text), create=create)


__all__ = ["UNCHANGED", "Columns", "SqliteStore", "Store", "now_utc", "open_store"]
