"""Synthetic prioritisation inputs at country scale, generated deterministically (all synthetic).

The hazard areas are the benchmarks' tessellated areas (bench/hazard_data.py: clusters of
adjacent fields over Ukraine, cached in bench/data/); around them this module draws the
reference layers and the accidents:

- settlements: points over the country, populations log-normal (median 400, a few cities);
  a third of them within a few km of a hazard cluster (contamination follows where people
  fought and lived);
- buildings: points, 85% scattered around settlements (more around larger ones), the rest
  over the country;
- roads: straight or bent line segments of 0.2-3 km, a third starting near a settlement,
  classes in realistic proportions (mostly tracks and residential streets);
- landuse: rectangles of 20-400 ha over the country, most of them farmland classes;
- facilities: points near settlements (schools, clinics, water points, ...);
- accidents: points within 3 km of hazard areas, dated over the four years before as_of.

    from priority_data import benchmark_inputs
    inputs = benchmark_inputs()          # 100,000 areas, 1,000,000 buildings, ...
    inputs = benchmark_inputs(0.01)      # the same shapes at 1% (quick checks)
    stages = time_stages(inputs)         # seconds per stage of compute_components

    .venv/bin/python bench/priority_data.py [--scale 1.0]   # sizes and a quick timing
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pyogrio
import shapely
from hazard_data import data_file

from landrelease.domain.geometry import COUNTRIES, equal_area
from landrelease.priority import COMPONENTS, PriorityConfig, load_config
from landrelease.priority import components as comp
from landrelease.priority.inputs import (
    FACILITY_KINDS,
    AreaInputs,
    Inputs,
    PointEvents,
    ReferenceLayer,
)
from landrelease.priority.measure import AreaShapes

SIZES = {
    "areas": 100_000,
    "buildings": 1_000_000,
    "roads": 200_000,
    "settlements": 30_000,
    "landuse": 20_000,
    "facilities": 20_000,
    "accidents": 5_000,
}
AS_OF = dt.date(2026, 6, 1)
_ROADS = ["motorway", "trunk", "primary", "secondary", "tertiary", "residential", "service"]
_ROADS += ["track", "path"]
_ROAD_SHARE = [0.005, 0.01, 0.03, 0.06, 0.12, 0.3, 0.12, 0.3, 0.055]
_LANDUSE = ["farmland", "orchard", "vineyard", "meadow", "forest", "residential", "other"]
_LANDUSE_SHARE = [0.55, 0.05, 0.02, 0.1, 0.18, 0.05, 0.05]
_FACILITY_SHARE = [0.3, 0.15, 0.05, 0.15, 0.25, 0.1]


def benchmark_inputs(scale: float = 1.0, seed: int = 17) -> Inputs:
    """Return the benchmark's inputs, every count in `SIZES` times `scale` (at least 10)."""
    sizes = {k: max(10, int(v * scale)) for k, v in SIZES.items()}
    return generate(sizes, seed=seed)


def generate(sizes: dict[str, int], *, seed: int = 17, as_of: dt.date = AS_OF) -> Inputs:
    """Return synthetic inputs of the given sizes (keys as in `SIZES`), the same for a seed."""
    country = COUNTRIES["UA"]
    rng = np.random.default_rng(seed)
    tr = equal_area(country)

    def to_lonlat(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1], direction="INVERSE")
        return np.column_stack([x, y])

    def lonlat(geoms: np.ndarray) -> np.ndarray:
        return np.asarray(shapely.transform(geoms, to_lonlat))

    areas = _areas(sizes["areas"], rng)
    centres = _metres(shapely.centroid(areas.geometry), tr)
    minx, miny, maxx, maxy = _extent(centres)

    def anywhere(n: int) -> np.ndarray:
        return np.column_stack([rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)])

    def near(points: np.ndarray, n: int, spread: np.ndarray | float) -> np.ndarray:
        pick = rng.integers(0, len(points), n)
        s = spread[pick] if isinstance(spread, np.ndarray) else spread
        return points[pick] + rng.normal(0, 1, (n, 2)) * np.asarray(s)[..., None]

    # settlements: a third near the hazard clusters, the rest anywhere
    n_s = sizes["settlements"]
    n_near = n_s // 3
    s_xy = np.concatenate([near(centres, n_near, 2500.0), anywhere(n_s - n_near)])
    population = np.round(np.exp(rng.normal(np.log(400), 1.3, n_s)))
    settlements = ReferenceLayer(
        "settlements", lonlat(shapely.points(s_xy)), {"population": population.astype(float)}
    )

    # buildings: around settlements, spread growing with the population
    n_b = sizes["buildings"]
    n_b_near = int(n_b * 0.85)
    weights = np.sqrt(population) / np.sqrt(population).sum()
    pick = rng.choice(n_s, n_b_near, p=weights)
    spread = 150 + 25 * np.sqrt(population[pick])
    b_xy = s_xy[pick] + rng.normal(0, 1, (n_b_near, 2)) * spread[:, None]
    b_xy = np.concatenate([b_xy, anywhere(n_b - n_b_near)])
    buildings = ReferenceLayer("buildings", lonlat(shapely.points(b_xy)))

    # roads: 2-4 vertices, a third starting in a settlement
    n_r = sizes["roads"]
    start = np.concatenate([near(s_xy, n_r // 3, 300.0), anywhere(n_r - n_r // 3)])
    legs = rng.integers(1, 4, n_r)
    heading = rng.uniform(0, 2 * np.pi, n_r)
    parts = [start]
    xy = start
    for k in range(3):
        heading = heading + rng.normal(0, 0.3, n_r)
        step = rng.uniform(200, 1000, n_r)[:, None] * np.column_stack(
            [np.cos(heading), np.sin(heading)]
        )
        xy = np.where((legs > k)[:, None], xy + step, xy)
        parts.append(xy)
    coords = np.stack(parts, axis=1)  # (n, 4, 2); legs past the last repeat the end vertex
    count = legs + 1
    keep = np.arange(4)[None, :] < count[:, None]
    lines = shapely.linestrings(coords[keep], indices=np.repeat(np.arange(n_r), count))
    roads = ReferenceLayer(
        "roads", lonlat(np.asarray(lines)), {"class": rng.choice(_ROADS, n_r, p=_ROAD_SHARE)}
    )

    # landuse: rectangles of 20-400 ha
    n_l = sizes["landuse"]
    c = anywhere(n_l)
    side = np.sqrt(rng.uniform(20, 400, n_l) * 10_000)
    ratio = rng.uniform(0.5, 2.0, n_l)
    w, h = side * np.sqrt(ratio), side / np.sqrt(ratio)
    boxes = shapely.box(c[:, 0] - w / 2, c[:, 1] - h / 2, c[:, 0] + w / 2, c[:, 1] + h / 2)
    landuse = ReferenceLayer(
        "landuse", lonlat(boxes), {"class": rng.choice(_LANDUSE, n_l, p=_LANDUSE_SHARE)}
    )

    # facilities: near settlements
    n_f = sizes["facilities"]
    f_xy = near(s_xy, n_f, 800.0)
    facilities = ReferenceLayer(
        "facilities",
        lonlat(shapely.points(f_xy)),
        {"kind": rng.choice(list(FACILITY_KINDS), n_f, p=_FACILITY_SHARE)},
    )

    # accidents: near hazard areas, over four years
    n_a = sizes["accidents"]
    a_xy = near(centres, n_a, 1500.0)
    days = rng.integers(0, 4 * 365, n_a)
    dates = np.datetime64(as_of, "D") - days.astype("timedelta64[D]")
    accidents = PointEvents(lonlat(shapely.points(a_xy)), dates)

    return Inputs(
        areas=areas,
        layers={
            "settlements": settlements,
            "buildings": buildings,
            "roads": roads,
            "landuse": landuse,
            "facilities": facilities,
        },
        accidents=accidents,
        as_of=as_of,
        country=country,
    )


def _areas(n: int, rng: np.random.Generator) -> AreaInputs:
    """Return `n` synthetic hazard areas (the cached tessellated layout), with synthetic
    statuses, finds and residual estimates."""
    frame = pyogrio.read_dataframe(data_file("tessellated", n), layer="hazards")
    status = np.asarray(frame["status"], dtype=object)
    confirmed = status == "confirmed"
    items = np.where(confirmed, rng.poisson(2.0, n), 0).astype(np.int64)
    events = rng.random(n) < 0.3
    residual = np.where(events, rng.lognormal(np.log(0.5), 1.0, n), np.nan)
    refs = np.array([f"HZ-SYN-{i:06d}" for i in range(n)], dtype=object)
    return AreaInputs(refs, np.asarray(frame.geometry.array, dtype=object), status, items, residual)


def time_stages(inputs: Inputs, config: PriorityConfig | None = None) -> dict[str, float]:
    """Return the wall seconds of each stage of `compute_components`, run one after another
    as it runs them: projecting the areas, projecting the reference layers, each component."""
    config = config or load_config()
    out = {}
    t = time.perf_counter()
    transformer = equal_area(inputs.country)
    areas = AreaShapes.of(inputs.areas.geometry, transformer)
    out["project areas"] = time.perf_counter() - t
    t = time.perf_counter()
    prepared = comp.prepare(inputs, config, transformer)
    out["project layers"] = time.perf_counter() - t
    for c in COMPONENTS:
        t = time.perf_counter()
        m = comp.measure(c, areas, inputs.areas, prepared, config)
        np.bincount(m.area, weights=m.value, minlength=len(areas))
        out[c] = time.perf_counter() - t
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    t = time.perf_counter()
    inputs = benchmark_inputs(args.scale)
    sizes = {k: len(v) for k, v in inputs.layers.items() if v is not None}
    print(f"generated in {time.perf_counter() - t:.1f} s: {len(inputs.areas):,} areas, {sizes}")
    stages = time_stages(inputs)
    for name, seconds in stages.items():
        print(f"  {name:15s} {seconds:6.3f} s")
    print(f"compute_components: {sum(stages.values()):.2f} s")


def _metres(geoms: np.ndarray, tr: object) -> np.ndarray:
    xy = shapely.get_coordinates(geoms)
    x, y = tr.transform(xy[:, 0], xy[:, 1])  # type: ignore[attr-defined]
    return np.column_stack([x, y])


def _extent(xy: np.ndarray) -> tuple[float, float, float, float]:
    lo = np.percentile(xy, 0.5, axis=0)
    hi = np.percentile(xy, 99.5, axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


if __name__ == "__main__":
    main()
