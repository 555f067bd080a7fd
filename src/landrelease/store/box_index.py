"""The bounding boxes, refs and versions of a feature table, in memory, always current.

A server answers bounding-box pages all day (QGIS panning, the web map, GDAL): reading
the R-tree joined to the table for ~1,000 rows costs about 2 ms a page. This index holds
the same rows as numpy arrays, so a box is a few vectorised comparisons; only rows on the
box's edge are read from the file, for the exact test.

It stays current by SQLite's `PRAGMA data_version`, which changes on a connection when any
other connection (of this process or another: the CLI, QGIS) commits: the index asks its own
connection before every use and reads the table again when it changed. Each use therefore
sees at least everything committed before it began.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

import numpy as np
import shapely

from landrelease.domain.records import RecordKind
from landrelease.store import geopackage as gpkg
from landrelease.store.base import GEOM, BBox


class BoxIndex:
    """The boxes of one feature table's current rows, with their refs and versions."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], kind: RecordKind) -> None:
        self._connect = connect
        self._conn: sqlite3.Connection | None = None
        self._kind = kind
        self._lock = threading.Lock()
        self._seen: int | None = None
        self._boxes: tuple[np.ndarray, ...] = (np.empty(0),) * 4
        self._fids = np.empty(0, dtype=np.int64)
        self._refs = np.empty(0, dtype=object)
        self._versions = np.empty(0, dtype=np.int64)

    def keys_in(self, bbox: BBox) -> tuple[list[str], list[int]]:
        """Return the refs and versions of the rows whose geometry intersects `bbox`, in
        the order they were stored (by fid)."""
        minx, miny, maxx, maxy = (float(v) for v in bbox)
        with self._lock:
            conn = self._current()
            x0, x1, y0, y1 = self._boxes
            hit = np.flatnonzero((x0 <= maxx) & (x1 >= minx) & (y0 <= maxy) & (y1 >= miny))
            inside = (x0[hit] >= minx) & (x1[hit] <= maxx) & (y0[hit] >= miny)
            inside &= y1[hit] <= maxy
            edge = hit[~inside]
            keep = np.ones(len(hit), dtype=bool)
            if len(edge):
                keep[~inside] = self._meets_exactly(
                    conn, self._fids[edge], (minx, miny, maxx, maxy)
                )
            rows = hit[keep]
            return self._refs[rows].tolist(), self._versions[rows].tolist()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _current(self) -> sqlite3.Connection:
        """Return the index's connection, having read the table again if it changed."""
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        seen = int(conn.execute("PRAGMA data_version").fetchone()[0])
        if seen != self._seen:
            # data_version first: a commit landing during the read is read again next time
            self._read(conn)
            self._seen = seen
        return conn

    def _read(self, conn: sqlite3.Connection) -> None:
        table = self._kind.table
        rows = conn.execute(
            f"SELECT t.fid, r.minx, r.maxx, r.miny, r.maxy, t.ref, t.version FROM {table} t "
            f"JOIN {gpkg.rtree_name(table)} r ON r.id = t.fid ORDER BY t.fid"
        ).fetchall()
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

    def _meets_exactly(
        self, conn: sqlite3.Connection, fids: np.ndarray, bbox: tuple[float, float, float, float]
    ) -> np.ndarray:
        """Return, for each fid, whether its geometry really intersects the box."""
        blobs = dict(
            conn.execute(
                f"SELECT fid, {GEOM} FROM {self._kind.table} "
                "WHERE fid IN (SELECT value FROM json_each(?))",
                (f"[{','.join(map(str, fids.tolist()))}]",),
            ).fetchall()
        )
        shapes = gpkg.decode([blobs.get(int(f)) for f in fids])
        return np.asarray(shapely.intersects(shapely.box(*bbox), shapes), dtype=bool)
