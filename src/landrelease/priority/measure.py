"""Distances, lengths and overlaps between hazard areas and reference features, in bulk.

Everything here works in metres of the country's equal-area projection, on whole arrays: no
Python loop per area or per pair (loops run over the k-th edges of the areas only).

Candidate pairs come from bounding boxes: points, segments and land-use polygons are joined to
the areas' boxes (expanded by the distance) on a uniform grid in numpy, so that a million
building points need no shapely object of their own; other shapes near an area (a layer's
polygons within a distance) go through a shapely `STRtree`.
The exact test that follows is vectorised: point-to-outline distances over every edge of the
area, the part of a road segment inside an area from its crossings with the edges, shapely's
overlay for polygon overlaps. Each function returns its pairs sorted by (area, feature), so
that a sum per area adds the same numbers in the same order however the inputs were split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

_MAX_CELLS = 1 << 22  # grid cells of a box join at most: bounds the lookup tables (32 MiB)
# Far more than the rounding error of a distance between projected coordinates (a few units
# in the last place of a coordinate, about 1e-9 m at 1e6 m), far less than any distance set.
_ROUNDING_M = 1e-6


def project(geoms: np.ndarray, transformer: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the geometries transformed by a pyproj transformer (2D), with their projected
    coordinates and the geometry of each coordinate (as `shapely.get_coordinates` lists them).

    New geometry objects: the ones given are left as they were.
    """
    geoms = np.asarray(geoms, dtype=object)
    deep = np.flatnonzero(shapely.get_coordinate_dimension(geoms) > 2)
    if len(deep):
        geoms = geoms.copy()
        geoms[deep] = shapely.force_2d(geoms[deep])
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    x, y = transformer.transform(coords[:, 0], coords[:, 1])
    xy = np.column_stack([x, y])
    return np.asarray(shapely.set_coordinates(geoms.copy(), xy)), xy, index


@dataclass(frozen=True)
class AreaShapes:
    """Hazard areas in metres: prepared polygons, boxes and every edge of every ring."""

    geoms: np.ndarray  # shapely polygons in metres (prepared); None where missing
    bounds: np.ndarray  # (n, 4) minx, miny, maxx, maxy; NaN where missing
    ex1: np.ndarray  # edges: from (ex1, ey1) to (ex2, ey2)
    ey1: np.ndarray
    ex2: np.ndarray
    ey2: np.ndarray
    edge_start: np.ndarray  # (n + 1,): the edges of area i are edge_start[i]:edge_start[i+1]
    m2: np.ndarray  # each area's area in m2 (0 where missing)

    def __len__(self) -> int:
        return len(self.geoms)

    @classmethod
    def of(cls, geoms: np.ndarray, transformer: Any) -> AreaShapes:
        """Return the shapes of polygons in lon/lat, projected (missing or empty ones are
        None and meet nothing)."""
        geoms = np.asarray(geoms, dtype=object).copy()
        present = ~shapely.is_missing(geoms)
        present[present] = ~shapely.is_empty(geoms[present])
        geoms[~present] = None
        metric, xy, index = project(geoms, transformer)
        return cls._build(metric, xy, index)

    @classmethod
    def of_metric(cls, geoms: np.ndarray) -> AreaShapes:
        """Return the shapes of polygons already in metres."""
        geoms = np.asarray(geoms, dtype=object).copy()
        present = ~shapely.is_missing(geoms)
        present[present] = ~shapely.is_empty(geoms[present])
        geoms[~present] = None
        xy, index = shapely.get_coordinates(geoms, return_index=True)
        return cls._build(geoms, xy, index)

    @classmethod
    def _build(cls, geoms: np.ndarray, xy: np.ndarray, index: np.ndarray) -> AreaShapes:
        n = len(geoms)
        present = ~shapely.is_missing(geoms)
        shapely.prepare(geoms[present])
        bounds = np.full((n, 4), np.nan)
        bounds[present] = shapely.bounds(geoms[present])
        m2 = np.zeros(n)
        m2[present] = shapely.area(geoms[present])
        # A polygon without holes is one ring: its coordinates, in order, are its edges'
        # ends. Only the others (holes, several parts) are taken apart ring by ring.
        kind = shapely.get_type_id(geoms)
        simple = kind == 3
        simple[simple] = shapely.get_num_interior_rings(geoms[simple]) == 0
        one = simple[index]
        k = np.flatnonzero(one[:-1] & (index[1:] == index[:-1]))
        x, y, owner = xy[:, 0], xy[:, 1], index[k]
        ex1, ey1, ex2, ey2 = x[k], y[k], x[k + 1], y[k + 1]
        other = np.flatnonzero(present & ~simple)
        if len(other):
            parts, part_owner = shapely.get_parts(geoms[other], return_index=True)
            rings, ring_part = shapely.get_rings(parts, return_index=True)
            rxy, ring = shapely.get_coordinates(rings, return_index=True)
            k = np.flatnonzero(ring[1:] == ring[:-1])
            owner = np.concatenate([owner, other[part_owner[ring_part[ring[k]]]]])
            order = np.argsort(owner, kind="stable")
            owner = owner[order]
            ex1 = np.concatenate([ex1, rxy[k, 0]])[order]
            ey1 = np.concatenate([ey1, rxy[k, 1]])[order]
            ex2 = np.concatenate([ex2, rxy[k + 1, 0]])[order]
            ey2 = np.concatenate([ey2, rxy[k + 1, 1]])[order]
        counts = np.bincount(owner, minlength=n)
        return cls(
            geoms=geoms,
            bounds=bounds,
            ex1=ex1,
            ey1=ey1,
            ex2=ex2,
            ey2=ey2,
            edge_start=np.concatenate([[0], np.cumsum(counts)]),
            m2=m2,
        )

    def buffered(self, distance: float) -> AreaShapes:
        """Return the shapes of the areas grown by `distance` metres (round joins)."""
        if distance <= 0:
            return self
        return AreaShapes.of_metric(shapely.buffer(self.geoms, distance))


def project_points(geoms: np.ndarray, transformer: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return the projected x and y of point geometries (NaN for a missing or empty one)."""
    geoms = np.asarray(geoms, dtype=object)
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    coords, row = shapely.get_coordinates(geoms, return_index=True)
    if len(coords):
        px, py = transformer.transform(coords[:, 0], coords[:, 1])
        x[row], y[row] = px, py
    return x, y


def box_pairs(a_box: np.ndarray, b_box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return every pair (i, j) whose boxes a_box[i] and b_box[j] meet (edges included).

    Boxes are rows (minx, miny, maxx, maxy); `b_box` may instead be points, rows (x, y).
    A grid join, with cells sized from a typical box, and the smaller side in the grid.
    Given fewer points than boxes, the points are sorted by cell and each box reads, column
    by column, the run of points in the cells it covers. Otherwise the boxes of the smaller
    side are listed in every cell they cover, the lists are matched cell by cell through a
    lookup table, and a pair is kept only in the cell that holds the lower-left corner of
    the two boxes' overlap, so that it comes once. Rows with NaN bounds meet
    nothing. The pairs come in no particular order.
    """
    if b_box.shape[1] == 4 and len(b_box) < len(a_box):
        j, i = box_pairs(b_box, a_box)
        return i, j
    empty = np.empty(0, dtype=np.int64)
    a_ok = np.flatnonzero(np.isfinite(a_box).all(axis=1))
    if not len(a_ok) or not len(b_box):
        return empty, empty
    a = a_box[a_ok]
    points = b_box.shape[1] == 2
    bx0, by0 = b_box[:, 0], b_box[:, 1]
    bx1, by1 = (bx0, by0) if points else (b_box[:, 2], b_box[:, 3])
    lo = a[:, :2].min(axis=0)
    hi = a[:, 2:].max(axis=0)
    # Only what meets the extent of `a` can meet a box of it (NaN compares False).
    b_ok = np.flatnonzero((bx0 <= hi[0]) & (bx1 >= lo[0]) & (by0 <= hi[1]) & (by1 >= lo[1]))
    if not len(b_ok):
        return empty, empty
    bx0, by0, bx1, by1 = bx0[b_ok], by0[b_ok], bx1[b_ok], by1[b_ok]
    size = float(np.median(np.maximum(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1])))
    if not points:
        size = max(size, float(np.median(np.maximum(bx1 - bx0, by1 - by0))))
    if points and len(b_ok) < len(a):
        # Cells of half the typical box (fewer points read in vain), yet not many more
        # cells than points: the table of the points' cells is read by every box.
        extent = np.maximum(hi - lo, 1e-9)
        size = max(size / 2, float(np.sqrt(extent[0] * extent[1] / (4 * len(b_ok)))))
        i, j = _Grid.over(lo, hi, size).points_in_boxes(a, bx0, by0)
    else:
        # Cells of twice the typical box: each box is listed in fewer cells, and the lookup
        # table, one entry per cell, is a quarter as long (measured: about 25% faster).
        i, j = _Grid.over(lo, hi, 2 * size).boxes_meeting(a, bx0, by0, bx1, by1, points)
    return a_ok[i], b_ok[j]


@dataclass(frozen=True)
class _Grid:
    """A uniform grid of square cells from `lo`, `nx` columns by `ny` rows; cell (i, j) is
    number i * ny + j, so that the cells of one column are consecutive numbers."""

    lo: np.ndarray
    size: float
    nx: int
    ny: int

    @classmethod
    def over(cls, lo: np.ndarray, hi: np.ndarray, size: float) -> _Grid:
        """Return a grid over lo..hi with cells of about `size`, never so small that the
        lookup tables outgrow _MAX_CELLS."""
        extent = np.maximum(hi - lo, 1e-9)
        size = max(size, float(np.sqrt(extent[0] * extent[1] / _MAX_CELLS)), 1e-9)
        return cls(lo, size, int(extent[0] // size) + 1, int(extent[1] // size) + 1)

    # Any function that never decreases will do as a cell number: the pairs are tested on
    # their boxes afterwards. Truncating the quotient is floor here (clipped at 0 first),
    # and several times faster than numpy's floor division of floats.
    def column(self, v: np.ndarray) -> np.ndarray:
        """Return the column of each x."""
        return np.clip((v - self.lo[0]) / self.size, 0, self.nx - 1).astype(np.int64)

    def row(self, v: np.ndarray) -> np.ndarray:
        """Return the row of each y."""
        return np.clip((v - self.lo[1]) / self.size, 0, self.ny - 1).astype(np.int64)

    def points_in_boxes(
        self, a: np.ndarray, px: np.ndarray, py: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return every (box, point) pair where the point lies in the box (edges included):
        the points sorted by cell, each box reads the run of points in rows j0..j1 of each of
        its columns, one slice per column."""
        cell = self.column(px) * self.ny + self.row(py)
        by_cell = np.argsort(cell, kind="stable")
        before = np.zeros(self.nx * self.ny + 1, dtype=np.int64)  # points in lower cells
        np.cumsum(np.bincount(cell, minlength=self.nx * self.ny), out=before[1:])
        i0, i1 = self.column(a[:, 0]), self.column(a[:, 2])
        j0, j1 = self.row(a[:, 1]), self.row(a[:, 3])
        width = i1 - i0 + 1
        box = np.repeat(np.arange(len(a)), width)
        first = self.ny * (
            i0[box] + np.arange(len(box)) - np.repeat(np.cumsum(width) - width, width)
        )
        start = before[first + j0[box]]
        count = before[first + j1[box] + 1] - start
        some = np.flatnonzero(count)
        box, start, count = box[some], start[some], count[some]
        i = np.repeat(box, count)
        run = np.cumsum(count) - count
        j = by_cell[np.arange(len(i)) + np.repeat(start - run, count)]
        x, y = px[j], py[j]
        inside = (a[i, 0] <= x) & (x <= a[i, 2]) & (a[i, 1] <= y) & (y <= a[i, 3])
        return i[inside], j[inside]

    def boxes_meeting(
        self,
        a: np.ndarray,
        bx0: np.ndarray,
        by0: np.ndarray,
        bx1: np.ndarray,
        by1: np.ndarray,
        points: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return every (a box, b box) pair that meet: the boxes of `a` listed per cell, each
        b box (or point) matched with the lists of the cells it covers."""
        nx, ny, column, row = self.nx, self.ny, self.column, self.row

        def cover(
            x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray
        ) -> tuple[np.ndarray, np.ndarray]:
            i0, i1, j0, j1 = column(x0), column(x1), row(y0), row(y1)
            height = j1 - j0 + 1
            count = (i1 - i0 + 1) * height
            owner = np.repeat(np.arange(len(x0)), count)
            k = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
            return owner, (i0[owner] + k // height[owner]) * ny + j0[owner] + k % height[owner]

        a_owner, a_cell = cover(a[:, 0], a[:, 1], a[:, 2], a[:, 3])
        per_cell = np.bincount(a_cell, minlength=nx * ny)
        cell_start = np.cumsum(per_cell) - per_cell
        a_owner = a_owner[np.argsort(a_cell, kind="stable")]
        if points:
            b_owner, b_cell = np.arange(len(bx0)), column(bx0) * ny + row(by0)
        else:
            b_owner, b_cell = cover(bx0, by0, bx1, by1)
        count = per_cell[b_cell]
        j = np.repeat(b_owner, count)
        cell = np.repeat(b_cell, count)
        offset = np.arange(len(j)) - np.repeat(np.cumsum(count) - count, count)
        i = a_owner[np.repeat(cell_start[b_cell], count) + offset]
        meet = (a[i, 0] <= bx1[j]) & (bx0[j] <= a[i, 2]) & (a[i, 1] <= by1[j]) & (by0[j] <= a[i, 3])
        i, j, cell = i[meet], j[meet], cell[meet]
        if points:  # a point lies in one cell: each pair was found once
            return i, j
        once = column(np.maximum(a[i, 0], bx0[j])) * ny + row(np.maximum(a[i, 1], by0[j])) == cell
        return i[once], j[once]


def _sorted_pairs(a: np.ndarray, b: np.ndarray, size_b: int) -> np.ndarray:
    """Return the order that sorts pairs by (a, b)."""
    return np.argsort(a.astype(np.int64) * max(size_b, 1) + b, kind="stable")


def points_in_bands(
    areas: AreaShapes, x: np.ndarray, y: np.ndarray, bands: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (area, point, band) for every point within the last of the distance `bands`
    (increasing upper edges, metres) of an area: band k holds the points whose distance d
    to the area has bands[k-1] < d <= bands[k] (band 0: from 0, inside included; the
    outline counts as inside), sorted by area then point.

    The band of most pairs is known without the exact distance: the distance lies between
    the distance to the area's box and the distance to its first vertex, and where both
    fall in one band, clear of its edges by more than rounding can move a distance
    (`_ROUNDING_M`), so does the distance. The others are measured (`outline_distance`), so
    that every band is the one the measured distance gives.
    """
    last = float(bands[-1])
    box = areas.bounds + np.array([-last, -last, last, last])
    a, p = box_pairs(box, np.column_stack([x, y]))
    order = _sorted_pairs(a, p, len(x))
    a, p = a[order], p[order]
    px, py = x[p], y[p]
    b = areas.bounds[a]
    low = np.hypot(
        np.maximum(np.maximum(b[:, 0] - px, px - b[:, 2]), 0.0),
        np.maximum(np.maximum(b[:, 1] - py, py - b[:, 3]), 0.0),
    )
    first = areas.edge_start[a]
    high = np.hypot(px - areas.ex1[first], py - areas.ey1[first])
    band = np.searchsorted(bands, low - _ROUNDING_M, "left")
    unsure = np.flatnonzero(band != np.searchsorted(bands, high + _ROUNDING_M, "left"))
    d = outline_distance(areas, a[unsure], px[unsure], py[unsure])
    band[unsure] = np.searchsorted(bands, d, "left")
    keep = band < len(bands)
    return a[keep], p[keep], band[keep]


def outline_distance(areas: AreaShapes, a: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return each point's distance in metres to area a[k] (0 inside or on its outline)."""
    d = np.zeros(len(a))
    if not len(a):
        return d
    out = np.flatnonzero(~shapely.intersects_xy(areas.geoms[a], x, y))
    order, start, active = _by_edge_count(areas, a[out])
    px, py = x[out][order], y[out][order]
    best = np.full(len(out), np.inf)
    for k, m in enumerate(active.tolist()):
        e = start[:m] + k
        x1, y1 = areas.ex1[e], areas.ey1[e]
        dx, dy = areas.ex2[e] - x1, areas.ey2[e] - y1
        qx, qy = px[:m] - x1, py[:m] - y1
        length2 = dx * dx + dy * dy
        t = np.divide(qx * dx + qy * dy, length2, out=np.zeros(m), where=length2 > 0)
        np.clip(t, 0.0, 1.0, out=t)
        qx -= t * dx
        qy -= t * dy
        np.minimum(best[:m], qx * qx + qy * qy, out=best[:m])
    d[out[order]] = np.sqrt(best)
    return d


def _by_edge_count(areas: AreaShapes, a: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return how to visit every edge of the areas of pairs, one edge of each pair per step.

    Three arrays: `order`, the pairs by their area's edge count, most first; `start`, the
    first edge of each pair's area in that order; `active`, how many pairs (a prefix of the
    order) have a k-th edge, per step k. Step k then handles edges start[:active[k]] + k:
    a few dozen vectorised steps, however many pairs.
    """
    count = areas.edge_start[a + 1] - areas.edge_start[a]
    order = np.argsort(-count, kind="stable")
    count = count[order]
    steps = int(count[0]) if len(count) else 0
    active = np.searchsorted(-count, -np.arange(steps), "left")  # pairs with count > k
    return order, areas.edge_start[a][order], active


def shapes_near(
    areas: AreaShapes, geoms: np.ndarray, distance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (area, feature, metres) for every projected shape within `distance` of an area
    (0 where they meet), sorted by area then feature."""
    tree = shapely.STRtree(geoms)
    have = np.flatnonzero(~shapely.is_missing(areas.geoms))
    if distance > 0:
        q, b = tree.query(areas.geoms[have], predicate="dwithin", distance=distance)
    else:
        q, b = tree.query(areas.geoms[have], predicate="intersects")
    a = have[q]
    order = _sorted_pairs(a, b, len(geoms))
    a, b = a[order], b[order]
    d = np.asarray(shapely.distance(areas.geoms[a], geoms[b]), dtype=float)
    keep = d <= distance  # as for points: the distance decides, to the last bit
    return a[keep], b[keep], d[keep]


@dataclass(frozen=True)
class Segments:
    """Straight segments of lines in metres, each with the line it belongs to."""

    x1: np.ndarray
    y1: np.ndarray
    x2: np.ndarray
    y2: np.ndarray
    line: np.ndarray  # index of the line (feature) of each segment, ascending

    def __len__(self) -> int:
        return len(self.line)

    @classmethod
    def of(cls, geoms: np.ndarray, transformer: Any) -> Segments:
        """Return the segments of (multi)line geometries in lon/lat, projected."""
        geoms = np.asarray(geoms, dtype=object)
        multi = shapely.get_type_id(geoms) == 5
        if multi.any():  # parts apart: the end of one part does not join the next
            parts, line = shapely.get_parts(geoms, return_index=True)
        else:
            parts, line = geoms, np.arange(len(geoms))
        coords, part = shapely.get_coordinates(parts, return_index=True)
        seg = np.flatnonzero(part[1:] == part[:-1])
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        x, y = np.asarray(x), np.asarray(y)
        return cls(x[seg], y[seg], x[seg + 1], y[seg + 1], np.asarray(line)[part[seg]])

    def take(self, rows: np.ndarray) -> Segments:
        """Return the segments at `rows` (kept in order)."""
        return Segments(self.x1[rows], self.y1[rows], self.x2[rows], self.y2[rows], self.line[rows])

    def bounds(self) -> np.ndarray:
        """Return each segment's box (minx, miny, maxx, maxy)."""
        return np.column_stack(
            [
                np.minimum(self.x1, self.x2),
                np.minimum(self.y1, self.y2),
                np.maximum(self.x1, self.x2),
                np.maximum(self.y1, self.y2),
            ]
        )


def segments_inside(
    areas: AreaShapes, segments: Segments
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (area, segment, metres): the length of each segment inside each area (the
    outline counts as inside, as for shapely's intersection), sorted by area then segment;
    pairs with no length inside are left out.

    The segment is cut where it crosses the area's edges; each piece whose midpoint lies in
    the area counts whole. A segment with no crossing is all in or all out.
    """
    a, s = box_pairs(areas.bounds, segments.bounds())
    order = _sorted_pairs(a, s, len(segments))
    a, s = a[order], s[order]
    px, py = segments.x1[s], segments.y1[s]
    vx, vy = segments.x2[s] - px, segments.y2[s] - py
    # Crossings: the parameter t in (0, 1) along the segment where it meets an edge.
    by_count, start, active = _by_edge_count(areas, a)
    ox, oy, ux_, uy_ = px[by_count], py[by_count], vx[by_count], vy[by_count]
    cut_pair, cut_t = [], []
    for k, m in enumerate(active.tolist()):
        e = start[:m] + k
        x1, y1 = areas.ex1[e], areas.ey1[e]
        ux, uy = areas.ex2[e] - x1, areas.ey2[e] - y1
        wx, wy = x1 - ox[:m], y1 - oy[:m]
        denom = ux_[:m] * uy - uy_[:m] * ux
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (wx * uy - wy * ux) / denom
            u = (wx * uy_[:m] - wy * ux_[:m]) / denom
        hit = np.flatnonzero((denom != 0) & (t > 0) & (t < 1) & (u >= 0) & (u <= 1))
        cut_pair.append(by_count[hit])
        cut_t.append(t[hit])
    pair = np.concatenate([np.arange(len(a)), np.arange(len(a)), *cut_pair])
    t = np.concatenate([np.zeros(len(a)), np.ones(len(a)), *cut_t])
    order = np.lexsort((t, pair))
    pair, t = pair[order], t[order]
    piece = np.flatnonzero((pair[1:] == pair[:-1]) & (t[1:] > t[:-1]))  # t[piece] to t[piece + 1]
    p = pair[piece]
    mid = (t[piece] + t[piece + 1]) / 2
    inside = shapely.intersects_xy(areas.geoms[a[p]], px[p] + mid * vx[p], py[p] + mid * vy[p])
    step = (t[piece + 1] - t[piece])[inside]
    share = np.bincount(p[inside], weights=step, minlength=len(a))
    metres = share * np.hypot(vx, vy)
    keep = metres > 0
    return a[keep], s[keep], metres[keep]


def overlaps(areas: AreaShapes, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (area, polygon, m2): the area each projected polygon shares with each hazard
    area, sorted by area then polygon; pairs that share no area are left out."""
    a, b = box_pairs(areas.bounds, shapely.bounds(polygons).reshape(-1, 4))
    meet = shapely.intersects(areas.geoms[a], polygons[b])  # the areas are prepared
    a, b = a[meet], b[meet]
    order = _sorted_pairs(a, b, len(polygons))
    a, b = a[order], b[order]
    m2 = np.zeros(len(a))
    if len(a):
        shapely.prepare(polygons[b])
        whole_area = shapely.contains_properly(polygons[b], areas.geoms[a])
        whole_poly = ~whole_area & shapely.contains_properly(areas.geoms[a], polygons[b])
        m2[whole_area] = areas.m2[a[whole_area]]
        m2[whole_poly] = shapely.area(polygons[b[whole_poly]])
        rest = ~(whole_area | whole_poly)
        m2[rest] = shapely.area(shapely.intersection(polygons[b[rest]], areas.geoms[a[rest]]))
    keep = m2 > 0
    return a[keep], b[keep], m2[keep]
