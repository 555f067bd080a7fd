"""Hand-built prioritisation cases (synthetic), drawn in metres near a point in Ukraine.

Shapes are given in metres east and north of `CENTRE` in the country's equal-area
projection (the one the engine measures in) and handed to the engine in lon/lat, so that a
test can say "a road 1,000 m long" and check the engine's answer by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import shapely

from landrelease.domain.geometry import COUNTRIES, equal_area
from landrelease.priority import AreaInputs, Inputs, PointEvents, ReferenceLayer

COUNTRY = COUNTRIES["UA"]
CENTRE = (36.25, 49.99)  # near Kharkiv
AS_OF = dt.date(2026, 6, 1)
_TR = equal_area(COUNTRY)
_X0, _Y0 = _TR.transform(*CENTRE)


def lonlat(geoms: object) -> np.ndarray:
    """Return shapes drawn in metres from CENTRE as lon/lat geometries (an array)."""

    def back(xy: np.ndarray) -> np.ndarray:
        lon, lat = _TR.transform(xy[:, 0] + _X0, xy[:, 1] + _Y0, direction="INVERSE")
        return np.column_stack([lon, lat])

    arr = np.atleast_1d(np.asarray(geoms, dtype=object))
    return np.asarray(shapely.transform(arr, back))


def square(x: float, y: float, side: float) -> shapely.Geometry:
    """Return the square of `side` metres whose lower-left corner is (x, y)."""
    return shapely.box(x, y, x + side, y + side)


def areas(
    geoms: Sequence[shapely.Geometry],
    refs: Sequence[str] | None = None,
    status: Sequence[str] | str = "suspected",
    items: Sequence[int] | int = 0,
    residual: Sequence[float] | float = np.nan,
) -> AreaInputs:
    """Return hazard areas from shapes in metres."""
    n = len(geoms)
    return AreaInputs(
        ref=np.array(refs or [f"HZ-{i + 1:03d}" for i in range(n)], dtype=object),
        geometry=lonlat(list(geoms)),
        status=np.array([status] * n if isinstance(status, str) else status, dtype=object),
        items_found=np.broadcast_to(np.asarray(items, dtype=np.int64), n).copy(),
        residual_expected=np.broadcast_to(np.asarray(residual, dtype=float), n).copy(),
    )


def layer(
    layer_kind: str, geoms: Sequence[shapely.Geometry], **values: Sequence[object]
) -> ReferenceLayer:
    """Return a reference layer from shapes in metres and its attribute columns."""
    return ReferenceLayer(
        layer_kind,
        lonlat(list(geoms)),
        {k: np.asarray(v, dtype=object if k != "population" else float) for k, v in values.items()},
    )


def accidents(points: Sequence[tuple[float, float]], days_before: Sequence[float]) -> PointEvents:
    """Return accidents at points in metres, each dated `days_before` as_of (NaN: no date)."""
    dates = np.array(
        [
            np.datetime64("NaT", "D")
            if d != d
            else np.datetime64(AS_OF, "D") - np.timedelta64(int(d), "D")
            for d in days_before
        ],
        dtype="datetime64[D]",
    )
    return PointEvents(lonlat([shapely.Point(p) for p in points]), dates)


def inputs(
    hazard_areas: AreaInputs,
    layers: dict[str, ReferenceLayer | None] | None = None,
    events: PointEvents | None = None,
    as_of: dt.date = AS_OF,
) -> Inputs:
    """Return the engine's inputs; layers not given are missing (None)."""
    given = dict(layers or {})
    for kind in ("settlements", "buildings", "roads", "landuse", "facilities"):
        given.setdefault(kind, None)
    return Inputs(hazard_areas, given, events or PointEvents.empty(), as_of, COUNTRY)


def random_inputs(seed: int, n_areas: int = 60, spread: float = 20_000.0) -> Inputs:
    """Return random synthetic inputs of every kind within `spread` metres of CENTRE:
    star-shaped areas (some with a hole, some in two parts), point and polygon features."""
    rng = np.random.default_rng(seed)

    def star(cx: float, cy: float, r: float) -> shapely.Geometry:
        k = int(rng.integers(5, 14))
        ang = (np.arange(k) + rng.uniform(0.1, 0.9, k)) * (2 * np.pi / k)
        rad = r * rng.uniform(0.5, 1.0, k)
        return shapely.Polygon(np.column_stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)]))

    def anywhere(n: int) -> np.ndarray:
        return rng.uniform(-spread, spread, (n, 2))

    shapes = []
    for (cx, cy), r in zip(anywhere(n_areas), rng.uniform(100, 900, n_areas), strict=True):
        g = star(cx, cy, r)
        pick = rng.random()
        if pick < 0.15:  # a hole
            g = g.difference(shapely.Point(cx, cy).buffer(r * 0.2))
        elif pick < 0.3:  # two parts
            g = shapely.MultiPolygon([g, star(cx + 3 * r, cy, r / 2)])
        shapes.append(g)
    statuses = rng.choice(["suspected", "confirmed", "in_progress"], n_areas)
    residual = np.where(rng.random(n_areas) < 0.5, rng.uniform(0, 3, n_areas), np.nan)
    hazard = areas(
        shapes,
        status=list(statuses),
        items=list(rng.integers(0, 5, n_areas)),
        residual=list(residual),
    )

    settle = [shapely.Point(p) for p in anywhere(80)] + [star(*p, 700) for p in anywhere(10)]
    buildings = [shapely.Point(p) for p in anywhere(3000)] + [
        shapely.box(x, y, x + 15, y + 12) for x, y in anywhere(200)
    ]
    roads = []
    for x, y in anywhere(400):
        steps = rng.normal(0, 600, (int(rng.integers(1, 4)), 2))
        roads.append(shapely.LineString(np.vstack([[x, y], [x, y] + np.cumsum(steps, axis=0)])))
    roads.append(shapely.MultiLineString([[(0, 0), (5000, 100)], [(6000, 0), (9000, 3000)]]))
    landuse = [
        shapely.box(x, y, x + w, y + h)
        for (x, y), (w, h) in zip(anywhere(60), rng.uniform(300, 3000, (60, 2)), strict=True)
    ]
    facilities = [shapely.Point(p) for p in anywhere(100)]
    layers = {
        "settlements": layer(
            "settlements", settle, population=rng.integers(0, 20_000, len(settle))
        ),
        "buildings": layer("buildings", buildings),
        "roads": layer(
            "roads",
            roads,
            **{"class": rng.choice(["primary", "track", "residential", "unknown"], len(roads))},
        ),
        "landuse": layer(
            "landuse",
            landuse,
            **{"class": rng.choice(["farmland", "orchard", "forest"], len(landuse))},
        ),
        "facilities": layer(
            "facilities",
            facilities,
            kind=rng.choice(["school", "clinic", "water_point", "other"], 100),
        ),
    }
    events = accidents([tuple(p) for p in anywhere(300)], list(rng.integers(-30, 1500, 300)))
    return inputs(hazard, layers, events)
