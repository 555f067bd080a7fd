"""The engine against a plain shapely computation of every component, on random synthetic
inputs (areas with holes and several parts, point and polygon features, multi-part roads)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from priority_cases import random_inputs

from landrelease.domain.geometry import equal_area
from landrelease.priority import Inputs, compute_components, load_config
from landrelease.priority.measure import box_pairs


def reference(inputs: Inputs, values: dict) -> dict[str, np.ndarray]:
    """Return the pair-based components the plain way: project with shapely, query a tree,
    measure each pair with shapely."""
    tr = equal_area(inputs.country)

    def metres(geoms: np.ndarray) -> np.ndarray:
        return np.asarray(
            shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
        )

    areas = metres(inputs.areas.geometry)
    n = len(areas)
    out = {}

    def within(
        kind_geoms: np.ndarray, distance: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tree = shapely.STRtree(kind_geoms)
        a, b = tree.query(areas, predicate="dwithin", distance=distance)
        return a, b, shapely.distance(areas[a], kind_geoms[b])

    s = inputs.layers["settlements"]
    a, b, d = within(metres(s.geometry), values["people"]["bands_m"][-1])
    band = np.searchsorted(values["people"]["bands_m"], d, "left")
    decay = np.asarray(values["people"]["decay"])[band]
    out["people"] = np.bincount(a, s.values["population"][b] * decay, minlength=n)

    a, _, _ = within(metres(inputs.layers["buildings"].geometry), values["buildings"]["buffer_m"])
    out["buildings"] = np.bincount(a, minlength=n).astype(float)

    f = inputs.layers["facilities"]
    a, b, _ = within(metres(f.geometry), values["facilities"]["buffer_m"])
    kinds = values["facilities"]["kinds"]
    out["facilities"] = np.bincount(a, [kinds.get(k, 0.0) for k in f.values["kind"][b]], n)

    r = inputs.layers["roads"]
    roads = metres(r.geometry)
    grown = (
        shapely.buffer(areas, values["roads"]["buffer_m"]) if values["roads"]["buffer_m"] else areas
    )
    a, b = shapely.STRtree(roads).query(grown, predicate="intersects")
    km = shapely.length(shapely.intersection(roads[b], grown[a])) / 1000
    classes = values["roads"]["classes"]
    out["roads"] = np.bincount(a, km * [classes.get(c, 0.0) for c in r.values["class"][b]], n)

    land = inputs.layers["landuse"]
    farm = np.isin(land.values["class"].astype(str), values["farmland"]["classes"])
    polys = metres(land.geometry[farm])
    a, b = shapely.STRtree(polys).query(areas, predicate="intersects")
    out["farmland"] = np.bincount(
        a, shapely.area(shapely.intersection(polys[b], areas[a])) / 1e4, n
    )

    acc = inputs.accidents
    age = (np.datetime64(inputs.as_of, "D") - acc.dates).astype(np.int64)
    recent = ~np.isnat(acc.dates) & (age >= 0) & (age <= values["accidents"]["window_days"])
    a, _, _ = within(metres(acc.geometry[recent]), values["accidents"]["radius_m"])
    out["accidents"] = np.bincount(a, minlength=n).astype(float)
    return out


@pytest.mark.parametrize(("seed", "road_buffer"), [(1, 0), (2, 0), (3, 150)])
def test_every_component_matches_a_plain_shapely_computation(seed: int, road_buffer: int) -> None:
    inputs = random_inputs(seed)
    config = load_config(f"[roads]\nbuffer_m = {road_buffer}\n")
    ours = compute_components(inputs, config)
    theirs = reference(inputs, config.values)
    for c, expected in theirs.items():
        assert ours[c] == pytest.approx(expected, rel=1e-9, abs=1e-9), c
    assert ours["people"].any() and ours["roads"].any() and ours["farmland"].any()
    assert ours["buildings"].any() and ours["accidents"].any() and ours["facilities"].any()


def test_box_pairs_finds_every_meeting_pair_once() -> None:
    rng = np.random.default_rng(5)
    lo = rng.uniform(0, 1000, (300, 2))
    a = np.column_stack([lo, lo + rng.uniform(0, 80, (300, 2))])
    lo = rng.uniform(0, 1000, (500, 2))
    b = np.column_stack([lo, lo + rng.exponential(20, (500, 2))])
    a[7] = np.nan  # a missing area meets nothing
    i, j = box_pairs(a, b)
    meets = (
        (a[:, None, 0] <= b[None, :, 2])
        & (b[None, :, 0] <= a[:, None, 2])
        & (a[:, None, 1] <= b[None, :, 3])
        & (b[None, :, 1] <= a[:, None, 3])
    )
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == sorted(
        zip(*np.nonzero(meets), strict=True)
    )
    pi, pj = box_pairs(a, b[:, :2])  # points
    points = (a[:, None, 0] <= b[None, :, 0]) & (b[None, :, 0] <= a[:, None, 2])
    points &= (a[:, None, 1] <= b[None, :, 1]) & (b[None, :, 1] <= a[:, None, 3])
    assert sorted(zip(pi.tolist(), pj.tolist(), strict=True)) == sorted(
        zip(*np.nonzero(points), strict=True)
    )
