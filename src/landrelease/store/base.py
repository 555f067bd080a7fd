"""The repository API every store backend offers the registry.

The SQLite/GeoPackage backend (`store/sqlite.py`) implements it today; a PostGIS backend will
stand beside it, chosen by the `--db` URL. The registry and the importer use nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from landrelease.domain.records import RecordKind

Columns = dict[str, Any]  # column name -> list of values; "geometry" -> np.ndarray of shapely

GEOM = "geom"  # the geometry column of every feature table


def now_utc() -> str:
    """Return the current time as the audit trail writes it (UTC, ISO 8601, milliseconds)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


class Store(Protocol):
    """Records kept by one backend; every write goes through `transaction()` with its audit."""

    backend: str

    def close(self) -> None: ...

    # -- units of work --
    def transaction(
        self, *, bulk: bool = False, note: str | None = None
    ) -> AbstractContextManager[Any]:
        """One write transaction: committed on success, rolled back on any error.

        `note` says what it does, for another writer who finds the registry busy meanwhile.
        Raises RegistryReadOnly on a registry opened read-only, RegistryBusy when another
        writer holds the lock too long.
        """
        ...

    def reading(self) -> AbstractContextManager[Any]:
        """One consistent read (a snapshot)."""
        ...

    # -- settings and references --
    def setting(self, key: str, default: str | None = None) -> str | None: ...
    def set_setting(self, conn: Any, key: str, value: str) -> None: ...
    def reserve_serials(self, conn: Any, prefix: str, count: int) -> range: ...
    def prefix_layer_descriptions(self, conn: Any, prefix: str) -> None: ...

    # -- reads: columns, never an object per row --
    def select(
        self,
        kind: RecordKind,
        *,
        columns: Sequence[str] | None = None,
        where: dict[str, Any] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        geometry: bool = True,
        conn: Any = None,
    ) -> Columns: ...
    def record(self, kind: RecordKind, ref: str, conn: Any = None) -> dict[str, Any]: ...
    def column_values(self, kind: RecordKind, column: str, conn: Any = None) -> set[Any]: ...
    def refs_by_key(self, conn: Any, keys: Sequence[int]) -> dict[int, str]: ...
    def versions(self, ref: str) -> list[dict[str, Any]]:
        """Every version of a record, oldest first (history rows, then the current row)."""
        ...
    def count(self, kind: RecordKind) -> int: ...
    def counts_by(self, kind: RecordKind, column: str) -> dict[str, int]: ...

    def encode_geometries(self, kind: RecordKind, geoms: Any) -> list[Any]:
        """Geometries in the form `kind`'s table stores them, made ahead of `insert` (any
        thread)."""
        ...

    # -- writes: the database keeps the history (earlier versions) itself --
    def record_batch(
        self,
        conn: Any,
        kind: RecordKind,
        *,
        at: str,
        actor: str,
        reason: str | None,
        source: str | None,
        sha256: str | None,
        records: int,
        rejected: int = 0,
    ) -> int: ...
    def insert(
        self,
        conn: Any,
        kind: RecordKind,
        data: Columns,
        *,
        at: str,
        actor: str,
        reason: str | None,
        batch: int | None,
        encoded: Sequence[Any] | None = None,
    ) -> None: ...
    def update(
        self,
        conn: Any,
        kind: RecordKind,
        ref: str,
        values: dict[str, Any],
        *,
        geometry: Any = ...,
        expected_version: int,
        action: str,
        at: str,
        actor: str,
        reason: str | None,
        checked: bool = False,
    ) -> int: ...


__all__ = ["Columns", "Store", "now_utc"]
