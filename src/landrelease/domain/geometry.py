"""Geometry checks and equal-area measurement, vectorised over arrays of shapely geometries.

Geometry is held in EPSG:4326 (lon, lat). Areas are measured in a Lambert azimuthal equal-area
projection centred on the country, never in degrees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np
import shapely

if TYPE_CHECKING:
    from pyproj import Transformer

GeometryKind = Literal["polygon", "point"]

_POLYGONAL = {"Polygon", "MultiPolygon"}
_TYPE_IDS = {"polygon": (3, 6), "point": (0,)}  # shapely type ids each kind accepts
_JUMP_KM = 5.0  # GICHD geocheck flags a vertex more than 5 km from its neighbour


@dataclass(frozen=True)
class Country:
    """A country's code, name and bounding box (lon/lat), the default extent for checks."""

    code: str
    name: str
    bbox: tuple[float, float, float, float]
    boundary: shapely.Geometry | None = field(default=None, compare=False)

    @property
    def centre(self) -> tuple[float, float]:
        minx, miny, maxx, maxy = self.bbox
        return (minx + maxx) / 2, (miny + maxy) / 2


COUNTRIES: dict[str, Country] = {
    # Ukraine's extent incl. Crimea and the Donbas, rounded outwards (Natural Earth admin 0).
    "UA": Country("UA", "Ukraine", (22.13, 44.38, 40.23, 52.38)),
}


@dataclass(frozen=True)
class Problem:
    """One bad value found by a check: the row (0-based), the field and what is wrong."""

    row: int
    field: str
    message: str


@dataclass
class GeometryReport:
    """Result of `check_geometries`: geometries (repaired where asked), problems, notes."""

    geometries: np.ndarray
    problems: list[Problem]
    repairs: list[Problem]
    warnings: list[Problem]


def _fmt(x: float, y: float) -> str:
    return f"({x:.5f}, {y:.5f})"


_REASON_AT = re.compile(r"^(?P<what>[^\[]+)\[(?P<x>[-\d.eE+]+) (?P<y>[-\d.eE+]+)\]")


def _describe_invalid(reason: str) -> str:
    m = _REASON_AT.match(reason)
    if not m:
        return f"geometry is invalid ({reason})"
    what = m.group("what").strip().lower()
    at = _fmt(float(m.group("x")), float(m.group("y")))
    if "self-intersection" in what:
        return f"geometry self-intersects at {at}"
    if "too few points" in what:
        return f"geometry has too few points near {at} (a polygon needs 3 distinct vertices)"
    return f"geometry is invalid: {what} at {at}"


def check_geometries(
    geoms: np.ndarray,
    kind: GeometryKind,
    country: Country,
    *,
    required: bool = True,
    repair: bool = False,
) -> GeometryReport:
    """Return the checked geometries with every problem, repair and warning found.

    Checks, in this order per row: missing or empty; wrong type; a coordinate that is not a
    finite number (NaN or infinite: never repaired, the source must be fixed); outside the
    country (with a hint when swapping lat/lon would put it inside); invalid
    (self-intersection, too few points: repaired with `make_valid` only when `repair`).
    Z (height) and M (measure) values are dropped, with a warning: the registry stores 2D
    geometries, so the returned ones are 2D. Warns of vertex jumps over 5 km.
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    n = len(geoms)
    problems: list[Problem] = []
    repairs: list[Problem] = []
    warnings: list[Problem] = []
    bad = np.zeros(n, dtype=bool)

    missing = shapely.is_missing(geoms)
    empty = np.zeros(n, dtype=bool)
    empty[~missing] = shapely.is_empty(geoms[~missing])
    for i in np.flatnonzero(missing | empty).tolist():
        if required or empty[i]:
            problems.append(Problem(i, "geometry", "geometry is missing or empty"))
            bad[i] = True
    present = ~(missing | empty)

    type_ids = np.full(n, -1)
    type_ids[present] = shapely.get_type_id(geoms[present])
    ok_type = np.isin(type_ids, _TYPE_IDS[kind])
    wanted = "a Polygon or MultiPolygon" if kind == "polygon" else "a Point"
    for i in np.flatnonzero(present & ~ok_type).tolist():
        problems.append(
            Problem(int(i), "geometry", f"geometry is a {geoms[i].geom_type}; expected {wanted}")
        )
        bad[i] = True

    check = np.flatnonzero(present & ok_type)
    flat, had_z, had_m = _to_2d(geoms[check])
    geoms[check] = flat
    lifted = [
        (int(check[j]), _DIMS_NAMED[bool(had_z[j]), bool(had_m[j])])
        for j in np.flatnonzero(had_z | had_m).tolist()
    ]

    # Before anything measures or tests the shape: GEOS fails on NaN or infinite coordinates,
    # and the bounds skip a NaN (so the country check would pass it). No repair can guess the
    # number that was meant, so --repair is never offered for these.
    found = _non_finite(geoms[check])
    for at, vertex, (vx, vy), more in zip(*found, strict=True):
        problems.append(
            Problem(int(check[at]), "geometry", _non_finite_message(kind, vertex, vx, vy, more))
        )
        bad[check[at]] = True
    check = check[~bad[check]]

    if len(check):
        bounds = shapely.bounds(geoms[check])
        minx, miny, maxx, maxy = country.bbox
        inside = (
            (bounds[:, 0] >= minx)
            & (bounds[:, 2] <= maxx)
            & (bounds[:, 1] >= miny)
            & (bounds[:, 3] <= maxy)
        )
        swapped = (
            (bounds[:, 1] >= minx)
            & (bounds[:, 3] <= maxx)
            & (bounds[:, 0] >= miny)
            & (bounds[:, 2] <= maxy)
        )
        if country.boundary is not None:
            inside &= shapely.intersects(country.boundary, geoms[check])
        for j in np.flatnonzero(~inside):
            i = int(check[j])
            x, y = bounds[j, 0], bounds[j, 1]
            if swapped[j]:
                msg = (
                    f"coordinates {_fmt(x, y)} look like swapped lat/lon: lon {x:.5f} is a "
                    f"latitude in {country.name}; put longitude first (x = lon, y = lat)"
                )
            elif (
                max(abs(bounds[j, 0]), abs(bounds[j, 2])) > 180
                or max(abs(bounds[j, 1]), abs(bounds[j, 3])) > 90
            ):
                msg = (
                    f"coordinates {_fmt(x, y)} are not longitude/latitude: the data is in a "
                    "projected CRS; name it with --crs (e.g. --crs EPSG:32636)"
                )
            else:
                msg = (
                    f"geometry at {_fmt(x, y)} lies outside {country.name} "
                    f"(lon {minx}..{maxx}, lat {miny}..{maxy}); check the coordinates and CRS"
                )
            problems.append(Problem(i, "geometry", msg))
            bad[i] = True
        check = check[inside]

    if len(check):
        valid = shapely.is_valid(geoms[check])
        invalid = check[~valid]
        reasons = shapely.is_valid_reason(geoms[invalid]) if len(invalid) else []
        for i, reason in zip(invalid, reasons, strict=True):
            i = int(i)
            what = _describe_invalid(str(reason))
            if repair and kind == "polygon":
                fixed = _repair_polygon(geoms[i])
                if fixed is None:
                    problems.append(
                        Problem(i, "geometry", f"{what}; --repair left no polygon area")
                    )
                    bad[i] = True
                    continue
                before = area_m2(np.array([geoms[i]]), country)[0]
                after = area_m2(np.array([fixed]), country)[0]
                repairs.append(
                    Problem(
                        i,
                        "geometry",
                        f"repaired: {what}; now a {fixed.geom_type} of {len(_parts(fixed))} "
                        f"part(s), area {before:,.0f} -> {after:,.0f} m2",
                    )
                )
                geoms[i] = fixed
            else:
                problems.append(Problem(i, "geometry", f"{what}; use --repair to fix it"))
                bad[i] = True

    warnings += [
        Problem(i, "geometry", f"geometry has {what}; they were dropped: {_ONLY_2D}")
        for i, what in lifted
        if not bad[i]
    ]
    ok = np.flatnonzero(~bad & present)
    if kind == "polygon" and len(ok):
        for i, km in vertex_jumps(geoms[ok]):
            warnings.append(
                Problem(
                    int(ok[i]),
                    "geometry",
                    f"a vertex lies {km:.1f} km from its neighbour (over {_JUMP_KM:g} km): "
                    "a mistyped coordinate?",
                )
            )
    warnings.sort(key=lambda p: p.row)
    return GeometryReport(geoms, problems, repairs, warnings)


_ONLY_2D = "the registry stores 2D geometries"
_DIMS_NAMED = {
    (True, False): "Z (height) values",
    (False, True): "M (measure) values",
    (True, True): "Z (height) and M (measure) values",
}


def _to_2d(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the geometries without Z or M values, and which of them had Z, and which M.

    Geometries that are 2D already are returned as the same objects.
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    had_z = np.zeros(len(geoms), dtype=bool)
    had_m = np.zeros(len(geoms), dtype=bool)
    extra = np.flatnonzero(shapely.get_coordinate_dimension(geoms) > 2)  # -1 when missing
    if len(extra):
        had_z[extra] = shapely.has_z(geoms[extra])
        had_m[extra] = shapely.has_m(geoms[extra])
        with np.errstate(invalid="ignore"):  # NaN coordinates: refused after this
            geoms[extra] = shapely.force_2d(geoms[extra])
    return geoms, had_z, had_m


def _non_finite(geoms: np.ndarray) -> tuple[list[int], list[int], list[list[float]], list[int]]:
    """Return the geometries that have a NaN or infinite x or y, with where.

    Four lists, one entry per such geometry: its index; the 1-based position of its first
    such vertex, counted as the coordinates are listed (every ring, closing vertex included);
    that vertex's x and y; how many more such vertices it has.
    """
    present = np.flatnonzero(~shapely.is_missing(geoms))
    # A cheap screen first: a non-finite coordinate makes a line's or a ring's length
    # non-finite; a point has no length, so points are always looked at.
    with np.errstate(invalid="ignore", over="ignore"):
        length = shapely.length(geoms[present])
    pointy = np.isin(shapely.get_type_id(geoms[present]), (0, 4, 7))
    suspect = present[~np.isfinite(length) | pointy]
    if not len(suspect):
        return [], [], [], []
    coords, idx = shapely.get_coordinates(geoms[suspect], return_index=True)
    counts = np.bincount(idx, minlength=len(suspect))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    at = np.flatnonzero(~np.isfinite(coords).all(axis=1))
    if not len(at):
        return [], [], [], []
    which, first, per = np.unique(idx[at], return_index=True, return_counts=True)
    k = at[first]  # the first non-finite vertex of each geometry, in coords
    return (
        suspect[which].tolist(),
        (k - starts[which] + 1).tolist(),
        coords[k].tolist(),
        (per - 1).tolist(),
    )


def _non_finite_message(kind: GeometryKind, vertex: int, x: float, y: float, more: int) -> str:
    where = "the point" if kind == "point" else f"vertex {vertex}"
    also = f", and {more} more vertex(es) too" if more else ""
    return (
        f"{where} has a coordinate that is not a finite number (lon {x:.5f}, lat {y:.5f})"
        f"{also}; fix the coordinate in the source file"
    )


def usable_geometries(geoms: np.ndarray, kind: GeometryKind) -> np.ndarray:
    """Return the geometries that `check_geometries` may pass, and None for the others.

    Usable: present, not empty, of the kind's type (Polygon or MultiPolygon, or Point), with
    finite coordinates; returned in 2D (Z and M values dropped, as the checks drop them). A
    cheap screen: what is derived from a usable geometry (an area, a key, a stored form) can
    be worked out while the full checks run.
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    ok = ~shapely.is_missing(geoms)
    ok[ok] = ~shapely.is_empty(geoms[ok])
    ok[ok] = np.isin(shapely.get_type_id(geoms[ok]), _TYPE_IDS[kind])
    rows = np.flatnonzero(ok)
    geoms[rows] = _to_2d(geoms[rows])[0]
    ok[rows[_non_finite(geoms[rows])[0]]] = False
    geoms[~ok] = None
    return geoms


def _parts(g: shapely.Geometry) -> list[shapely.Geometry]:
    return list(g.geoms) if hasattr(g, "geoms") else [g]


def _repair_polygon(g: shapely.Geometry) -> shapely.Geometry | None:
    fixed = shapely.make_valid(g)
    polys = [p for p in _flatten(fixed) if p.geom_type in _POLYGONAL and not p.is_empty]
    if not polys:
        return None
    out = shapely.union_all(polys)
    return out if out.geom_type in _POLYGONAL else None


def _flatten(g: shapely.Geometry) -> list[shapely.Geometry]:
    if g.geom_type in ("GeometryCollection", "MultiPolygon"):
        return [p for part in g.geoms for p in _flatten(part)]
    return [g]


def vertex_jumps(geoms: np.ndarray, limit_km: float = _JUMP_KM) -> list[tuple[int, float]]:
    """Return (index, km) for each geometry with consecutive vertices over `limit_km` apart.

    A vertex with a NaN or infinite coordinate is no distance from anything (the checks
    refuse it); it is skipped.
    """
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    if len(coords) < 2:
        return []
    finite = np.isfinite(coords).all(axis=1)
    same = (idx[1:] == idx[:-1]) & finite[1:] & finite[:-1]
    with np.errstate(invalid="ignore", over="ignore"):
        lat = np.radians((coords[1:, 1] + coords[:-1, 1]) / 2)
        dx = (coords[1:, 0] - coords[:-1, 0]) * np.cos(lat) * 111.32
        dy = (coords[1:, 1] - coords[:-1, 1]) * 110.57
        d = np.hypot(dx, dy)
    hits = same & (d > limit_km)
    out: dict[int, float] = {}
    for k in np.flatnonzero(hits):
        g = int(idx[k])
        out[g] = max(out.get(g, 0.0), float(d[k]))
    return sorted(out.items())


@lru_cache(maxsize=8)
def _equal_area(lon0: float, lat0: float) -> Transformer:
    # pyproj loads on first use: a command that measures nothing starts faster
    from pyproj import Transformer

    return Transformer.from_crs(
        "EPSG:4326", f"+proj=laea +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m", always_xy=True
    )


def equal_area(country: Country) -> Transformer:
    """Return the transformer from lon/lat to the country's equal-area projection (metres);
    `direction="INVERSE"` goes back. The one metric projection areas and grids are made in."""
    return _equal_area(*country.centre)


def area_m2(geoms: np.ndarray, country: Country) -> np.ndarray:
    """Return each geometry's area in m2, measured in an equal-area projection of the country.

    Z values are ignored; a missing geometry, or one with a NaN or infinite coordinate, has
    a NaN area (not a number: no area can be measured).
    """
    tr = _equal_area(*country.centre)

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    # include_z=False: only x and y reach the projection, and the projected forms are 2D
    projected = shapely.transform(np.asarray(geoms, dtype=object), project, include_z=False)
    with np.errstate(invalid="ignore"):
        area = np.asarray(shapely.area(projected), dtype=float)
    area[np.isinf(area)] = np.nan
    return area


def promote_to_multi(geoms: np.ndarray) -> np.ndarray:
    """Return polygons as single-part MultiPolygons (the store's column type); others as given."""
    geoms = np.asarray(geoms, dtype=object).copy()
    is_poly = shapely.get_type_id(geoms) == 3
    if is_poly.any():
        geoms[is_poly] = shapely.multipolygons(geoms[is_poly, None])
    return geoms


_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """Return SplitMix64's finaliser of each 64-bit value (a well-mixed hash)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def geometry_keys(geoms: np.ndarray) -> list[int | None]:
    """Return a 63-bit key per geometry, equal for the same shape whatever its vertex order.

    The key hashes the normalised geometry's coordinates (bit for bit, with their position),
    its type and its size. A Polygon has the key of the single-part MultiPolygon it is
    stored as (see `promote_to_multi`), so it need not be promoted first; only x and y are
    hashed, so a geometry with Z values has the key of its 2D form (the one stored).
    """
    geoms = np.asarray(geoms, dtype=object)
    out: list[int | None] = [None] * len(geoms)
    present = np.flatnonzero(~shapely.is_missing(geoms))
    if not len(present):
        return out
    with np.errstate(invalid="ignore"):  # NaN coordinates: refused by the checks anyway
        norm = shapely.normalize(geoms[present])
    coords, idx = shapely.get_coordinates(norm, include_z=False, return_index=True)
    counts = np.bincount(idx, minlength=len(norm))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    with np.errstate(over="ignore"):
        bits = np.ascontiguousarray(coords).view(np.uint64).reshape(-1, 2)
        pos = (np.arange(len(coords)) - starts[idx]).astype(np.uint64)
        h = _splitmix(bits[:, 0] * _MIX[0] + _splitmix(bits[:, 1] * _MIX[1] + pos * _MIX[2]))
        total = np.zeros(len(norm), dtype=np.uint64)
        np.add.at(total, idx, h)
        types = shapely.get_type_id(norm)
        types[types == 3] = 6  # a Polygon is keyed as its single-part MultiPolygon
        meta = shapely.get_num_geometries(norm).astype(np.uint64) * np.uint64(1_000_003)
        meta += types.astype(np.uint64)
        total = _splitmix(total + _splitmix(counts.astype(np.uint64) * _MIX[0] + meta))
    keys = (total >> np.uint64(1)).astype(np.int64)  # fits SQLite's signed INTEGER
    if len(present) == len(geoms):
        return keys.tolist()  # type: ignore[no-any-return]
    for i, k in zip(present.tolist(), keys.tolist(), strict=True):
        out[i] = k
    return out


def _without_non_finite(geoms: np.ndarray) -> np.ndarray:
    """Return the geometries with None for each that has a NaN or infinite coordinate."""
    geoms = np.asarray(geoms, dtype=object)
    rows = _non_finite(geoms)[0]
    if rows:
        geoms = geoms.copy()
        geoms[rows] = None
    return geoms


@dataclass(frozen=True)
class Overlap:
    """Two areas whose interiors overlap: `row` overlaps `other` (a row of the same batch when
    `stored` is False, else an index into the stored areas) by `m2` square metres."""

    row: int
    other: int
    stored: bool
    m2: float
    share: float  # of the area of `row`


def overlaps(
    geoms: np.ndarray,
    country: Country,
    stored: np.ndarray | None = None,
    *,
    min_m2: float = 1.0,
) -> list[Overlap]:
    """Return every pair of areas whose interiors overlap by at least `min_m2` m2.

    Within `geoms` each pair is reported once, on the later row; against `stored` (areas
    already in the registry), on the row of `geoms`. Areas that only touch do not overlap.
    Missing geometries, and those with a NaN or infinite coordinate (on which GEOS fails),
    are skipped; all others must be valid (checked first).
    """
    geoms = _without_non_finite(geoms)
    present = np.flatnonzero(~shapely.is_missing(geoms))
    out: list[Overlap] = []
    if not len(present):
        return out
    batch = geoms[present]
    pairs = [(batch, False)]
    if stored is not None and len(stored):
        pairs.append((_without_non_finite(stored), True))
    own = area_m2(batch, country).tolist()
    for others, is_stored in pairs:
        tree = shapely.STRtree(others)
        # Boxes only: the interior test below implies that the shapes intersect, and testing
        # that first as well cost as much again (adjacent areas that touch are most pairs).
        a, b = tree.query(batch)
        if not is_stored:
            later = a > b
            a, b = a[later], b[later]
        if not len(a):
            continue
        # interiors meet: more than a shared edge or corner
        inner = shapely.relate_pattern(batch[a], others[b], "T********")
        a, b = a[inner], b[inner]
        if not len(a):
            continue
        m2 = area_m2(shapely.intersection(batch[a], others[b]), country)
        for i, j, m in zip(a.tolist(), b.tolist(), m2.tolist(), strict=True):
            if m >= min_m2:
                row = int(present[i])
                other = j if is_stored else int(present[j])
                share = m / own[i] if own[i] > 0 else 0.0
                out.append(Overlap(row, other, is_stored, m, share))
    out.sort(key=lambda o: (o.row, o.stored, o.other))
    return out
