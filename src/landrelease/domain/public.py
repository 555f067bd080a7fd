"""The public view of hazard areas: outlines generalised to a grid, coded values, warning texts.

What a person without an account may see of a hazard area is decided here, once: its
reference, its status, its hazard type, its contamination categories, a warning text, and in
place of its outline the cells of a fixed grid that the outline touches, dissolved. The exact
outline cannot be recovered from the cells (every vertex lies on the grid), and a box drawn to
probe for it finds nothing finer than a cell (see `search_box`).

The grid is square, `grid_m` metres a side, in the country's equal-area projection
(`geometry.equal_area`), anchored at the projection's origin: the cells of a place never
depend on the polygon, so two requests, or two areas, never disagree about where a cell is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from landrelease.domain.codes import ContaminationCategory, HazardType, Status
from landrelease.domain.errors import ValidationError
from landrelease.domain.geometry import Country, equal_area, promote_to_multi, usable_geometries

if TYPE_CHECKING:
    from pyproj import Transformer

BBox = tuple[float, float, float, float]

DEFAULT_GRID_M = 1000.0
MAX_GRID_M = 100_000.0  # beyond this a cell says little more than "somewhere in the oblast"
MAX_CELLS = 2_000_000  # per area: a grid far too fine for an area is refused
CHUNK_CELLS = 250_000  # candidate cells generalised in one pass
REGION_DEG = 5.0  # how far beyond the country's box a box search looks (see search_box)

# Exact edges are densified to at most this many degrees (about 1 km) before projecting: an
# edge straight in lon/lat is a curve in the projection, at most a few centimetres off its
# chord at this length.
_DENSIFY_DEG = 0.01


def check_grid(grid_m: float) -> float:
    """Return the grid size in metres as a float; a ValidationError naming grid_m if it is
    not a number, not positive, or over `MAX_GRID_M`."""
    try:
        g = float(grid_m)
    except (TypeError, ValueError):
        raise ValidationError(
            None, "grid_m", f"must be a number of metres, got {grid_m!r}"
        ) from None
    if not math.isfinite(g) or g <= 0 or g > MAX_GRID_M:
        raise ValidationError(
            None,
            "grid_m",
            f"must be over 0 and at most {MAX_GRID_M:,.0f} m, got {grid_m!r}",
        )
    return g


def margin_m(grid_m: float) -> float:
    """Return how close (metres) an outline must come to a cell for the cell to be kept.

    A cell edge, straight in the projection, is published as a straight line in lon/lat,
    which bends away from it by up to about 2.5e-8 x length^2 metres in Ukraine (0.025 m for
    1 km, 250 m for 100 km). Keeping the cells an outline comes within this margin of (not
    only those it touches) keeps the published cells over the whole exact outline in lon/lat
    too.
    """
    return 1.0 + 5e-8 * grid_m * grid_m


def cleaned_polygons(geoms: np.ndarray) -> np.ndarray:
    """Return the geometries the public view can use: None for a missing, empty, non-polygonal
    or non-finite one; an invalid one (edited outside landrelease) made valid."""
    geoms = usable_geometries(np.asarray(geoms, dtype=object), "polygon")
    rows = np.flatnonzero(~shapely.is_missing(geoms))
    invalid = rows[~shapely.is_valid(geoms[rows])]
    if len(invalid):
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    return geoms


def generalise(geoms: np.ndarray, country: Country, grid_m: float = DEFAULT_GRID_M) -> np.ndarray:
    """Return, per polygon (EPSG:4326), the grid cells it touches dissolved into a
    MultiPolygon (EPSG:4326); None where there is no usable polygon.

    The cells kept are those the exact outline comes within `margin_m` of; each edge of the
    result is split at every grid line it crosses, so every vertex is a grid corner (in the
    projection, a multiple of `grid_m` in x and y). Raises ValidationError (grid_m) for a
    grid out of range, or one so fine that an area would need over `MAX_CELLS` cells.
    """
    g = check_grid(grid_m)
    geoms = cleaned_polygons(geoms)
    out = np.full(len(geoms), None, dtype=object)
    rows = np.flatnonzero(~shapely.is_missing(geoms))
    if not len(rows):
        return out
    tr = equal_area(country)
    shapes = geoms[rows]
    xy, at = shapely.get_coordinates(shapes, return_index=True)
    long = _has_long_edges(xy, at, len(shapes))
    if long.any():  # rare: most edges are far shorter than _DENSIFY_DEG
        shapes = shapes.copy()
        shapes[long] = shapely.segmentize(shapes[long], _DENSIFY_DEG)
        xy, at = shapely.get_coordinates(shapes, return_index=True)
    px, py = tr.transform(xy[:, 0], xy[:, 1])
    projected = np.column_stack([px, py])
    span = _cell_span(projected, at, len(shapes), g)

    count = (span[2] - span[0] + 1) * (span[3] - span[1] + 1)
    if count.max() > MAX_CELLS:
        raise ValidationError(
            None,
            "grid_m",
            f"a {g:g} m grid needs {int(count.max()):,} cells for one area (over "
            f"{MAX_CELLS:,}); choose a coarser grid",
        )
    # Batches of about CHUNK_CELLS candidate cells: memory stays bounded for any number of
    # areas, and each batch is still one vectorised pass.
    batch = (np.cumsum(count) - count) // CHUNK_CELLS
    first_xy = np.searchsorted(at, np.arange(len(shapes) + 1))
    made = np.empty(len(shapes), dtype=object)
    for s, e in _runs(batch):
        xs, xe = first_xy[s], first_xy[e]
        made[s:e] = _generalise_batch(
            shapes[s:e], projected[xs:xe], at[xs:xe] - s, span[:, s:e], g, tr
        )
    out[rows] = made
    return out


def _runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """Return the (start, end) of each run of equal labels (sorted labels)."""
    cuts = np.flatnonzero(np.diff(labels)) + 1
    edges = [0, *cuts.tolist(), len(labels)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _generalise_batch(
    shapes: np.ndarray,
    projected: np.ndarray,
    at: np.ndarray,
    span: np.ndarray,
    g: float,
    tr: Transformer,
) -> np.ndarray:
    """Return the generalised outline of each shape, given its vertices in the projection
    (`projected`, by shape `at`) and its span of cells."""
    owner, ix, iy = _candidate_cells(span)
    hit = np.ones(len(owner), dtype=bool)
    # A connected shape whose cells are one row or one column touches every one of them; the
    # others are tested against their projected shape.
    connected = _is_connected(shapes)
    nx, ny = span[2] - span[0] + 1, span[3] - span[1] + 1
    test = (~connected & (nx * ny > 1)) | ((nx > 1) & (ny > 1))
    tested = test[owner]
    if tested.any():
        which = np.flatnonzero(test)
        near = shapely.set_coordinates(shapes[which].copy(), projected[test[at]])
        local = np.full(len(shapes), -1)
        local[which] = np.arange(len(which))
        d = margin_m(g)
        cx, cy = ix[tested] * g, iy[tested] * g
        cells = shapely.box(cx - d, cy - d, cx + g + d, cy + g + d)
        hit[tested] = shapely.intersects(near[local[owner[tested]]], cells)
    return _dissolve(span, owner[hit], ix[hit], iy[hit], g, tr)


def _has_long_edges(xy: np.ndarray, at: np.ndarray, n: int) -> np.ndarray:
    """Return which shapes have two consecutive vertices over `_DENSIFY_DEG` apart in lon or
    lat (the last vertex of a ring and the first of the next count too: no harm)."""
    step = np.abs(np.diff(xy, axis=0)).max(axis=1) > _DENSIFY_DEG
    long = np.zeros(n, dtype=bool)
    long[at[1:][step & (at[1:] == at[:-1])]] = True
    return long


def _to_lonlat(tr: Transformer, xy: np.ndarray) -> np.ndarray:
    """Return lon/lat of projected points, accurate to well under a micrometre.

    PROJ's inverse of the ellipsoidal equal-area projection uses a series that misses by up
    to half a millimetre across Ukraine, while its forward formula is closed. One correction
    (invert the point moved back by the miss the forward formula finds) takes the miss to
    nanometres, so that a published corner projects onto its grid corner again: the grid
    is the forward projection's.
    """
    x, y = xy[:, 0], xy[:, 1]
    lon, lat = tr.transform(x, y, direction="INVERSE")
    fx, fy = tr.transform(lon, lat)
    lon, lat = tr.transform(2 * x - fx, 2 * y - fy, direction="INVERSE")
    return np.column_stack([lon, lat])


def _cell_span(projected: np.ndarray, owner: np.ndarray, n: int, g: float) -> np.ndarray:
    """Return (4, n) int64: the first and last cell column and row of each shape's
    projected bounds, widened by the margin."""
    starts = np.searchsorted(owner, np.arange(n))
    d = margin_m(g)
    minx = np.minimum.reduceat(projected[:, 0], starts) - d
    maxx = np.maximum.reduceat(projected[:, 0], starts) + d
    miny = np.minimum.reduceat(projected[:, 1], starts) - d
    maxy = np.maximum.reduceat(projected[:, 1], starts) + d
    return np.floor(np.stack([minx, miny, maxx, maxy]) / g).astype(np.int64)


def _candidate_cells(span: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the owner, column and row of every cell within each shape's span, by owner."""
    nx, ny = span[2] - span[0] + 1, span[3] - span[1] + 1
    count = nx * ny
    total = int(count.sum())
    owner = np.repeat(np.arange(len(count)), count)
    k = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    ix = span[0][owner] + k % nx[owner]
    iy = span[1][owner] + k // nx[owner]
    return owner, ix, iy


def _is_connected(shapes: np.ndarray) -> np.ndarray:
    """Return which shapes are in one piece (a single Polygon, line or point)."""
    types = shapely.get_type_id(shapes)
    single = np.isin(types, (0, 1, 2, 3))
    multi = np.isin(types, (4, 5, 6)) & (shapely.get_num_geometries(shapes) == 1)
    return single | multi  # type: ignore[no-any-return]


def _dissolve(
    span: np.ndarray,
    owner: np.ndarray,
    ix: np.ndarray,
    iy: np.ndarray,
    g: float,
    tr: Transformer,
) -> np.ndarray:
    """Return per shape the union of its kept cells (owner, column, row; sorted by owner)
    as a MultiPolygon in lon/lat, every edge split at each grid line it crosses."""
    n = span.shape[1]
    out = np.empty(n, dtype=object)
    kept = np.bincount(owner, minlength=n)
    full = kept == (span[2] - span[0] + 1) * (span[3] - span[1] + 1)
    # Every cell of the span kept (most areas): one rectangle, drawn directly.
    out[full] = _rectangles(span[:, full], g, tr)
    partial = ~full[owner]
    if not partial.any():
        return out
    o, x, y = owner[partial], ix[partial], iy[partial]
    cells = shapely.box(x * g, y * g, (x + 1) * g, (y + 1) * g)
    first = np.searchsorted(o, o, side="left")
    position = np.arange(len(o)) - first  # of the cell among its owner's cells
    size = kept[o]
    # Shapes with the same number of cells are dissolved together, one row each: the
    # cells form a coverage (edge to edge, no overlap), so a coverage union is exact.
    for k in np.unique(size).tolist():
        sel = size == k
        owners = o[sel][position[sel] == 0]
        table = np.empty((len(owners), k), dtype=object)
        table[np.searchsorted(owners, o[sel]), position[sel]] = cells[sel]
        out[owners] = shapely.coverage_union_all(table, axis=1)
    rows = np.flatnonzero(~full)
    # Split long edges at every grid line (a hair over g, so that a 1-cell edge stays whole).
    merged = shapely.segmentize(out[rows], g * (1 + 1e-9))
    merged = shapely.set_coordinates(merged, _to_lonlat(tr, shapely.get_coordinates(merged)))
    out[rows] = promote_to_multi(merged)
    return out


def _rectangles(span: np.ndarray, g: float, tr: Transformer) -> np.ndarray:
    """Return the rectangle of each span of cells as a MultiPolygon in lon/lat, with a
    vertex at every grid corner along its edges (counter-clockwise from the lower left)."""
    from shapely import GeometryType

    x0, y0, x1, y1 = span
    nx, ny = x1 - x0 + 1, y1 - y0 + 1
    per = 2 * (nx + ny)  # corners around the ring; one more closes it
    count = per + 1
    owner = np.repeat(np.arange(len(per)), count)
    k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    a, b = nx[owner], ny[owner]
    # along the bottom, up the right, back along the top, down the left (to the start)
    x = np.select([k < a, k < a + b, k < 2 * a + b], [k, a, a - (k - a - b)], 0)
    y = np.select([k < a, k < a + b, k < 2 * a + b], [0, k - a, b], b - (k - 2 * a - b))
    xy = np.column_stack([(x0[owner] + x) * g, (y0[owner] + y) * g])
    one_each = np.arange(len(per) + 1)
    rings = np.concatenate([[0], np.cumsum(count)])
    return shapely.from_ragged_array(  # type: ignore[no-any-return]
        GeometryType.MULTIPOLYGON, _to_lonlat(tr, xy), (rings, one_each, one_each)
    )


def search_box(bbox: BBox, country: Country, grid_m: float = DEFAULT_GRID_M) -> BBox | None:
    """Return a box (EPSG:4326) holding every outline whose generalised form may meet `bbox`,
    or None if `bbox` lies wholly beyond the country's region.

    A kept cell lies within `margin_m` of its outline, and a cell is at most a diagonal
    across; the box is widened by two cells plus the margin in the projection, so it holds
    every candidate with room to spare. Select candidates with it, generalise them, then
    keep those whose generalised form meets `bbox`. The region is the country's box widened
    by `REGION_DEG` degrees: the projection is only good near the country, and an area
    beyond that is a gross error the checks refuse, not a hazard to map.
    """
    g = check_grid(grid_m)
    minx, miny, maxx, maxy = check_bbox(bbox)
    cminx, cminy, cmaxx, cmaxy = country.bbox
    minx, miny = max(minx, cminx - REGION_DEG), max(miny, cminy - REGION_DEG)
    maxx, maxy = min(maxx, cmaxx + REGION_DEG), min(maxy, cmaxy + REGION_DEG)
    if minx > maxx or miny > maxy:
        return None
    tr = equal_area(country)
    edge = shapely.get_coordinates(
        shapely.segmentize(shapely.box(minx, miny, maxx, maxy).exterior, _DENSIFY_DEG)
    )
    x, y = tr.transform(edge[:, 0], edge[:, 1])
    widen = 2 * g + margin_m(g)
    wide = shapely.box(x.min() - widen, y.min() - widen, x.max() + widen, y.max() + widen)
    # Corners every 10 km at most: the edges bend by under 3 m between them, far inside
    # the widening.
    ring = shapely.get_coordinates(shapely.segmentize(wide.exterior, 10_000.0))
    lon, lat = tr.transform(ring[:, 0], ring[:, 1], direction="INVERSE")
    return (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))


def check_bbox(bbox: Sequence[float]) -> BBox:
    """Return a box as four floats (minx, miny, maxx, maxy in lon/lat); ValidationError
    naming bbox if it is not four finite numbers with min <= max."""
    try:
        minx, miny, maxx, maxy = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise ValidationError(
            None, "bbox", f"must be four numbers minx,miny,maxx,maxy, got {bbox!r}"
        ) from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise ValidationError(None, "bbox", "must be finite numbers")
    if minx > maxx or miny > maxy:
        raise ValidationError(
            None, "bbox", f"needs minx <= maxx and miny <= maxy, got {minx},{miny},{maxx},{maxy}"
        )
    return minx, miny, maxx, maxy


# -- what is said of each area ---------------------------------------------------------------

_STAY_SAFE = (
    "No land can be guaranteed free of all explosive ordnance: if you see a suspicious "
    "object, do not touch it; keep away, and report it."
)
WARNINGS: dict[Status, str] = {
    Status.SUSPECTED: "Danger: explosive ordnance suspected. Do not enter.",
    Status.CONFIRMED: "Danger: explosive ordnance confirmed. Do not enter.",
    Status.IN_PROGRESS: "Danger: explosive ordnance clearance in progress. Do not enter.",
    Status.CANCELLED: "Released: a non-technical survey found no evidence of explosive "
    f"ordnance here and the land was released. {_STAY_SAFE}",
    Status.REDUCED: "Released: a technical survey found no evidence of explosive ordnance "
    f"here and the land was released. {_STAY_SAFE}",
    Status.CLEARED: "Released: this land was cleared of explosive ordnance to the standard "
    f"required and released. {_STAY_SAFE}",
    Status.RELEASED: f"Released: this land was released after survey or clearance. {_STAY_SAFE}",
}
# A status edited outside landrelease into no known code: the cautious message.
UNKNOWN_STATUS_WARNING = "Danger: explosive ordnance may be present. Do not enter."


def warning(status: str | None) -> str:
    """Return the public warning text for a land-release status (cautious if unknown)."""
    if status not in _STATUSES:
        return UNKNOWN_STATUS_WARNING
    return WARNINGS[Status(status)]


_STATUSES = frozenset(s.value for s in Status)
_HAZARD_TYPES = frozenset(t.value for t in HazardType)
_CATEGORIES = frozenset(c.value for c in ContaminationCategory)


def public_values(
    status: Sequence[Any], hazard_type: Sequence[Any], contamination: Sequence[Any]
) -> dict[str, list[Any]]:
    """Return the published attributes of areas: status, hazard_type, contamination (a list
    of codes) and warning, as JSON-ready columns.

    Only known codes are published: a value edited outside landrelease into free text
    (which could hold anything, a name among it) is published as None, or left out of the
    contamination list.
    """
    statuses = [s if s in _STATUSES else None for s in status]
    return {
        "status": statuses,
        "hazard_type": [t if t in _HAZARD_TYPES else None for t in hazard_type],
        "contamination": [_categories(c) for c in contamination],
        "warning": [warning(s) for s in statuses],
    }


def _categories(value: Any) -> list[str]:
    parts = value.split(";") if isinstance(value, str) else list(value or ())
    return [p for p in parts if p in _CATEGORIES]


__all__ = [
    "CHUNK_CELLS",
    "DEFAULT_GRID_M",
    "MAX_CELLS",
    "MAX_GRID_M",
    "REGION_DEG",
    "WARNINGS",
    "check_bbox",
    "check_grid",
    "cleaned_polygons",
    "generalise",
    "margin_m",
    "public_values",
    "search_box",
    "warning",
]
