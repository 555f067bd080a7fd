"""The bounding boxes, refs and versions of a feature table, in memory, always current.

A server answers bounding-box pages all day (QGIS panning, the web map, GDAL): reading
the spatial index joined to the table for ~1,000 rows costs 2-4 ms a page (the file's R-tree,
PostGIS's GiST index). This index holds the same rows as numpy arrays, so a box is a few
vectorised comparisons; only rows on the box's edge are read from the database, for the
exact test.

It stays current by a change counter of the table that every commit changing it moves, asked
before every use: the table is read again, with the counter in the same snapshot, when it
moved. Each use therefore sees at least everything committed before it began, whoever wrote
it (this process, the CLI, QGIS). `MemoryBoxes` is the index; each backend says how its
counter, rows and exact test are read: SQLite's `BoxIndex` below (by `PRAGMA data_version`),
PostGIS's in `store/postgis_boxes.py`.
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import shapely

from landrelease.domain.records import RecordKind
from landrelease.store import geopackage as gpkg
from landrelease.store.base import GEOM, BBox

# A row of the index, as a backend reads it: fid, minx, maxx, miny, maxy, ref, version.
BoxRow = Sequence[Any]
Box = tuple[float, float, float, float]


class MemoryBoxes(ABC):
    """The boxes of one feature table's current rows, with their refs and versions.

    A backend's subclass gives `_check`, `_read` and `close`; they are called with the
    index's lock held, one thread at a time, with the `via` a read gave `keys_in` (what to
    ask the database through: a PostGIS read's own connection, say), or None.
    """

    def __init__(self, kind: RecordKind) -> None:
        self._kind = kind
        self._lock = threading.Lock()
        self._seen: int | None = None
        self._boxes: tuple[np.ndarray, ...] = (np.empty(0),) * 4
        self._fids = np.empty(0, dtype=np.int64)
        self._refs = np.empty(0, dtype=object)
        self._versions = np.empty(0, dtype=np.int64)

    def keys_in(self, bbox: BBox, via: Any = None) -> tuple[list[str], list[int]]:
        """Return the refs and versions of the rows whose geometry intersects `bbox`, in
        the order they were stored (by fid); `via`, if given, is how the backend asks."""
        minx, miny, maxx, maxy = (float(v) for v in bbox)
        box = (minx, miny, maxx, maxy)
        with self._lock:
            while True:
                x0, x1, y0, y1 = self._boxes
                hit = np.flatnonzero((x0 <= maxx) & (x1 >= minx) & (y0 <= maxy) & (y1 >= miny))
                inside = (x0[hit] >= minx) & (x1[hit] <= maxx) & (y0[hit] >= miny)
                inside &= y1[hit] <= maxy
                # the counter and the edge's exact test in one go; both again if it moved
                changes, met = self._check(self._fids[hit[~inside]], box, via)
                if changes == self._seen:
                    break
                self._seen, read = self._read(via)
                self._load(read)
            keep = np.ones(len(hit), dtype=bool)
            keep[~inside] = met
            rows = hit[keep]
            return self._refs[rows].tolist(), self._versions[rows].tolist()

    @abstractmethod
    def close(self) -> None:
        """Let go of what the index holds in the database (a connection)."""

    @abstractmethod
    def _check(self, fids: np.ndarray, bbox: Box, via: Any) -> tuple[int, np.ndarray]:
        """Return the table's change counter now and, for each fid, whether its geometry
        really intersects the box (an answer that counts only if the counter has not moved:
        of the same snapshot, or read after it)."""

    @abstractmethod
    def _read(self, via: Any) -> tuple[int, list[BoxRow]]:
        """Return the change counter and the rows with a geometry, by fid, of one snapshot
        (or the counter read first: a commit between them is then read again next time)."""

    def _load(self, rows: list[BoxRow]) -> None:
        if not rows:
            self._boxes = (np.empty(0),) * 4
            self._fids = np.empty(0, dtype=np.int64)
            self._refs = np.empty(0, dtype=object)
            self._versions = np.empty(0, dtype=np.int64)
            return
        fid, minx, maxx, miny, maxy, ref, version = zip(*rows, strict=True)
        self._boxes = tuple(np.asarray(v, dtype=float) for v in (minx, maxx, miny, maxy))
        self._fids = np.asarray(fid, dtype=np.int64)
        refs = np.empty(len(ref), dtype=object)
        refs[:] = ref
        self._refs = refs
        self._versions = np.asarray(version, dtype=np.int64)


class BoxIndex(MemoryBoxes):
    """The box index of a feature table of a GeoPackage file, on a connection of its own.

    Its counter is SQLite's `PRAGMA data_version`, which changes on a connection when any
    other connection (of this process or another: the CLI, QGIS) commits.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], kind: RecordKind) -> None:
        super().__init__(kind)
        self._connect = connect
        self._conn: sqlite3.Connection | None = None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _changes(self) -> int:
        return int(self._connection().execute("PRAGMA data_version").fetchone()[0])

    def _check(self, fids: np.ndarray, bbox: Box, via: Any = None) -> tuple[int, np.ndarray]:
        changes = self._changes()  # first: a commit landing after it is seen next time
        return changes, self._meets(fids, bbox) if len(fids) else np.ones(0, dtype=bool)

    def _read(self, via: Any = None) -> tuple[int, list[BoxRow]]:
        table = self._kind.table
        # data_version first: a commit landing during the read is read again next time
        seen = self._changes()
        rows = (
            self._connection()
            .execute(
                f"SELECT t.fid, r.minx, r.maxx, r.miny, r.maxy, t.ref, t.version FROM {table} t "
                f"JOIN {gpkg.rtree_name(table)} r ON r.id = t.fid ORDER BY t.fid"
            )
            .fetchall()
        )
        return seen, rows

    def _meets(self, fids: np.ndarray, bbox: Box) -> np.ndarray:
        """Return, for each fid, whether its geometry really intersects the box."""
        blobs = dict(
            self._connection()
            .execute(
                f"SELECT fid, {GEOM} FROM {self._kind.table} "
                "WHERE fid IN (SELECT value FROM json_each(?))",
                (f"[{','.join(map(str, fids.tolist()))}]",),
            )
            .fetchall()
        )
        shapes = gpkg.decode([blobs.get(int(f)) for f in fids])
        return np.asarray(shapely.intersects(shapely.box(*bbox), shapes), dtype=bool)
