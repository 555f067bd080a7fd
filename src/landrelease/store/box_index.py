"""The bounding boxes, refs and versions of a feature table, in memory, always current.

A server answers bounding-box pages all day (QGIS panning, the web map, GDAL): reading
the spatial index joined to the table for ~1,000 rows costs 2-4 ms a page (the file's R-tree,
PostGIS's GiST index). This index holds the same rows as numpy arrays, so a box is a few
vectorised comparisons; only rows on the box's edge are read from the database, for the
exact test.

It stays current by a change counter of the table that every commit changing it moves, asked
before every use: the table is read again, with the counter in the same snapshot, when it
moved. Each use therefore sees at least everything committed before it began, whoever wrote
it (this process, the CLI, QGIS). The geometries of the rows on a box's edge are kept too, by
fid and version (a version's geometry never changes), up to EDGE_SHAPES of them: a server's
clients ask the same places again and again, and each is read from the database once.
`MemoryBoxes` is the index; each backend says how its counter, rows and geometries are read:
SQLite's `BoxIndex` below (by `PRAGMA data_version`), PostGIS's in `store/postgis_boxes.py`.
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
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

# How many geometries of rows on the edge of a box an index keeps (the least recently used
# go first): some tens of megabytes at most.
EDGE_SHAPES = 50_000


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
        self._shapes: OrderedDict[tuple[int, int], Any] = OrderedDict()  # (fid, version)

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
                # the counter, and the edge's geometries not kept yet, in one go; both again
                # if it moved
                edge = hit[~inside]
                changes, met = self._meets(edge, box, via)
                if changes == self._seen:
                    break
                self._seen, read = self._read(via)
                self._load(read)
            keep = np.ones(len(hit), dtype=bool)
            keep[~inside] = met
            rows = hit[keep]
            return self._refs[rows].tolist(), self._versions[rows].tolist()

    def _meets(self, rows: np.ndarray, bbox: Box, via: Any) -> tuple[int, np.ndarray]:
        """Return the change counter now and, for each of the index's `rows`, whether its
        geometry really intersects the box (an answer that counts only if the counter has
        not moved); the geometries are the kept ones, the others read with the counter."""
        keys = list(zip(self._fids[rows].tolist(), self._versions[rows].tolist(), strict=True))
        shapes = [self._shapes.get(k) for k in keys]
        missing = [i for i, g in enumerate(shapes) if g is None]
        changes, read = self._check([keys[i][0] for i in missing], via)
        for i, g in zip(missing, read, strict=True):
            shapes[i] = g
            if changes == self._seen and g is not None:  # of the versions the index holds
                self._shapes[keys[i]] = g
        for k in keys:
            if k in self._shapes:
                self._shapes.move_to_end(k)
        while len(self._shapes) > EDGE_SHAPES:
            self._shapes.popitem(last=False)
        met = shapely.intersects(shapely.box(*bbox), np.asarray(shapes, dtype=object))
        return changes, np.asarray(met, dtype=bool)

    @abstractmethod
    def close(self) -> None:
        """Let go of what the index holds in the database (a connection)."""

    @abstractmethod
    def _check(self, fids: list[int], via: Any) -> tuple[int, list[Any]]:
        """Return the table's change counter now and the geometries (shapely) of `fids`, in
        their order (None for one not found): of the same snapshot, or read after it."""

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

    def _check(self, fids: list[int], via: Any = None) -> tuple[int, list[Any]]:
        changes = self._changes()  # first: a commit landing after it is seen next time
        return changes, self._shapes_of(fids) if fids else []

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

    def _shapes_of(self, fids: list[int]) -> list[Any]:
        """Return the geometries of `fids`, in their order."""
        blobs = dict(
            self._connection()
            .execute(
                f"SELECT fid, {GEOM} FROM {self._kind.table} "
                "WHERE fid IN (SELECT value FROM json_each(?))",
                (f"[{','.join(map(str, fids))}]",),
            )
            .fetchall()
        )
        return list(gpkg.decode([blobs.get(f) for f in fids]))
