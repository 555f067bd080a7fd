"""The components of the score, measured per (area, feature) pair and summed per area.

`prepare` projects each input once to metres; `measure` gives, per component, every pair's
contribution to the raw value with its group (a distance band, a road class, ...), from which
`raw_values` sums the raw value of every area and `group_sums` the detail of one. The same
functions serve the whole country at once, a partition of it, or one area being explained.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from landrelease.priority.config import COMPONENTS, PriorityConfig
from landrelease.priority.inputs import AreaInputs, Inputs, PointEvents, ReferenceLayer
from landrelease.priority.measure import (
    AreaShapes,
    Segments,
    overlaps,
    points_in_bands,
    project,
    project_points,
    segments_inside,
    shapes_near,
)

_EMPTY_I = np.empty(0, dtype=np.int64)
_EMPTY_F = np.empty(0, dtype=float)


@dataclass(frozen=True)
class Features:
    """One reference layer in metres: its points as x and y, any other shapes as geometries,
    each with its row in the layer; `value` and `group` are per row of the layer."""

    x: np.ndarray
    y: np.ndarray
    point_row: np.ndarray
    shapes: np.ndarray
    shape_row: np.ndarray
    value: np.ndarray  # float per row: population, kind weight, ... (1 where none)
    group: np.ndarray  # int per row: the index of its class or kind (0 where none)

    @classmethod
    def of(
        cls, geoms: np.ndarray, transformer: Any, value: np.ndarray, group: np.ndarray
    ) -> Features:
        """Return the features of geometries in lon/lat, projected (points kept as x, y)."""
        geoms = np.asarray(geoms, dtype=object)
        kind = shapely.get_type_id(geoms)
        pts = np.flatnonzero(kind == 0)
        other = np.flatnonzero(kind > 0)  # missing (-1) and empty ones give nothing
        other = other[~shapely.is_empty(geoms[other])]
        x, y = project_points(geoms[pts], transformer)
        ok = np.isfinite(x) & np.isfinite(y)
        shapes = project(geoms[other], transformer)[0]
        return cls(x[ok], y[ok], pts[ok], shapes, other, value, group)

    def near(self, box: np.ndarray) -> Features:
        """Return the features whose box meets `box` (minx, miny, maxx, maxy), rows kept."""
        px = (self.x >= box[0]) & (self.x <= box[2]) & (self.y >= box[1]) & (self.y <= box[3])
        b = shapely.bounds(self.shapes).reshape(-1, 4)
        sx = (b[:, 0] <= box[2]) & (b[:, 2] >= box[0]) & (b[:, 1] <= box[3]) & (b[:, 3] >= box[1])
        return Features(
            self.x[px],
            self.y[px],
            self.point_row[px],
            self.shapes[sx],
            self.shape_row[sx],
            self.value,
            self.group,
        )

    def banded(self, areas: AreaShapes, bands: np.ndarray) -> tuple[np.ndarray, ...]:
        """Return (area, row, band) for every feature within the last distance band of an
        area (see `points_in_bands`), sorted by area then row."""
        a1, p, b1 = points_in_bands(areas, self.x, self.y, bands)
        if len(self.shapes):
            a2, s, d2 = shapes_near(areas, self.shapes, float(bands[-1]))
            b2 = np.searchsorted(bands, d2, "left")
        else:
            a2, s, b2 = _EMPTY_I, _EMPTY_I, _EMPTY_I
        a = np.concatenate([a1, a2])
        row = np.concatenate([self.point_row[p], self.shape_row[s]])
        band = np.concatenate([b1, b2])
        if len(a2):
            order = np.lexsort((row, a))
            a, row, band = a[order], row[order], band[order]
        return a, row, band


@dataclass(frozen=True)
class Roads:
    """The road layer in metres: its segments, and per road its class weight and class."""

    segments: Segments
    weight: np.ndarray
    group: np.ndarray

    def near(self, box: np.ndarray) -> Roads:
        """Return the roads' segments whose box meets `box`."""
        b = self.segments.bounds()
        keep = (b[:, 0] <= box[2]) & (b[:, 2] >= box[0]) & (b[:, 1] <= box[3]) & (b[:, 3] >= box[1])
        return Roads(self.segments.take(keep), self.weight, self.group)


@dataclass(frozen=True)
class Prepared:
    """Every reference input in metres, with the settings it was prepared for; None where the
    layer is missing."""

    settlements: Features | None
    buildings: Features | None
    facilities: Features | None
    roads: Roads | None
    farmland: Features | None
    accidents: Features | None

    def near(self, box: np.ndarray, margin: float) -> Prepared:
        """Return what lies within `margin` metres of the box (minx, miny, maxx, maxy)."""
        grown = np.asarray(box, dtype=float) + np.array([-margin, -margin, margin, margin])

        def cut(f: Features | None) -> Features | None:
            return None if f is None else f.near(grown)

        return Prepared(
            cut(self.settlements),
            cut(self.buildings),
            cut(self.facilities),
            None if self.roads is None else self.roads.near(grown),
            cut(self.farmland),
            cut(self.accidents),
        )


def groups(component: str, config: PriorityConfig) -> tuple[str, ...]:
    """Return the names of a component's groups (the detail an explanation gives)."""
    v = config.values
    if component == "people":
        return tuple(f"{b:g}" for b in v["people"]["bands_m"])
    if component == "buildings":
        return ("inside", "near")
    if component == "facilities":
        return (*v["facilities"]["kinds"], "unlisted")
    if component == "roads":
        return (*v["roads"]["classes"], "unlisted")
    if component == "farmland":
        return tuple(v["farmland"]["classes"])
    return ("all",)


def _coded(values: np.ndarray, names: tuple[str, ...], absent: int | None = None) -> np.ndarray:
    """Return the index of each value in `names`; `absent` (default: the last name, which
    is "unlisted") for a value not among them."""
    import pandas as pd  # a hashed lookup; loaded only when a ranking is computed

    # The distinct values are few: each row gets its value's code (-1 where missing), and
    # only the distinct values are looked up among the names (the last entry: missing).
    codes, distinct = pd.factorize(np.asarray(values, dtype=object))
    found = np.append(pd.Index(names).get_indexer(distinct), -1)
    return np.where(found >= 0, found, len(names) - 1 if absent is None else absent)[codes]


def prepare(inputs: Inputs, config: PriorityConfig, transformer: Any) -> Prepared:
    """Return the reference inputs projected to metres, with per-feature values and groups."""
    v = config.values
    layers = inputs.layers

    def layer(kind: str) -> Any:
        found = layers.get(kind)
        return found if found is not None and len(found) else None

    settlements = layer("settlements")
    if settlements is not None:
        pop = np.asarray(settlements.values["population"], dtype=float)
        pop = np.where(np.isfinite(pop) & (pop > 0), pop, 0.0)
        settlements = Features.of(
            settlements.geometry, transformer, pop, np.zeros(len(pop), np.int64)
        )
    buildings = layer("buildings")
    if buildings is not None:
        n = len(buildings)
        buildings = Features.of(buildings.geometry, transformer, np.ones(n), np.zeros(n, np.int64))
    facilities = layer("facilities")
    if facilities is not None:
        names = groups("facilities", config)
        kind = _coded(facilities.values["kind"], names)
        weights = np.array([*v["facilities"]["kinds"].values(), 0.0])
        facilities = Features.of(facilities.geometry, transformer, weights[kind], kind)
    roads = layer("roads")
    if roads is not None:
        names = groups("roads", config)
        cls = _coded(roads.values["class"], names)
        weights = np.array([*v["roads"]["classes"].values(), 0.0])
        roads = Roads(Segments.of(roads.geometry, transformer), weights[cls], cls)
    farmland = layer("landuse")
    if farmland is not None:
        names = groups("farmland", config)
        cls = np.asarray(farmland.values["class"], dtype=object)
        code = _coded(cls, names, absent=-1)
        # Only the farmland classes are projected; other land use is not measured.
        geoms = _only(farmland.geometry, code >= 0)
        farmland = Features.of(geoms, transformer, np.ones(len(geoms)), code)
        farmland = _valid(farmland)
    accidents = None
    if len(inputs.accidents):
        dates = np.asarray(inputs.accidents.dates, dtype="datetime64[D]")
        age = (np.datetime64(inputs.as_of, "D") - dates).astype(np.int64)
        known = ~np.isnat(dates)
        within = known & (age >= 0) & (age <= int(v["accidents"]["window_days"]))
        geoms = _only(inputs.accidents.geometry, within)
        n = len(geoms)
        accidents = Features.of(geoms, transformer, np.ones(n), np.zeros(n, np.int64))
    return Prepared(settlements, buildings, facilities, roads, farmland, accidents)


def _only(geoms: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Return the geometries with None wherever `keep` is False (rows stay in place)."""
    out = np.asarray(geoms, dtype=object).copy()
    out[~keep] = None
    return out


def _valid(features: Features) -> Features:
    """Return the features with invalid polygons repaired (an overlay fails on them)."""
    bad = ~shapely.is_valid(features.shapes)
    if not bad.any():
        return features
    shapes = features.shapes.copy()
    shapes[bad] = shapely.make_valid(shapes[bad])
    return Features(
        features.x,
        features.y,
        features.point_row,
        shapes,
        features.shape_row,
        features.value,
        features.group,
    )


def margin(config: PriorityConfig) -> float:
    """Return the farthest distance in metres any component looks beyond an area."""
    v = config.values
    return max(
        v["people"]["bands_m"][-1],
        v["buildings"]["buffer_m"],
        v["facilities"]["buffer_m"],
        v["roads"]["buffer_m"],
        v["accidents"]["radius_m"],
    )


@dataclass(frozen=True)
class Measured:
    """One component's pairs: the area, what the pair adds to the area's raw value, its group
    and the amount it counts in its group (persons, buildings, km, ha)."""

    area: np.ndarray
    value: np.ndarray
    group: np.ndarray
    amount: np.ndarray


def measure(
    component: str,
    areas: AreaShapes,
    facts: AreaInputs,
    prepared: Prepared,
    config: PriorityConfig,
) -> Measured:
    """Return a component's measured pairs (for per-area components: one per area)."""
    v = config.values
    n = len(areas)
    if component == "people":
        f = prepared.settlements
        if f is None:
            return _nothing()
        bands = np.asarray(v["people"]["bands_m"], dtype=float)
        decay = np.asarray(v["people"]["decay"], dtype=float)
        a, row, band = f.banded(areas, bands)
        pop = f.value[row]
        return Measured(a, pop * decay[band], band, pop)
    if component in ("buildings", "facilities", "accidents"):
        f = getattr(prepared, component)
        if f is None:
            return _nothing()
        key = "radius_m" if component == "accidents" else "buffer_m"
        distance = float(v[component][key])
        if component == "buildings":  # two bands: inside (0 m) and near
            a, row, band = f.banded(areas, np.array([0.0, distance]))
            return Measured(a, f.value[row], band, np.ones(len(a)))
        a, row, _ = f.banded(areas, np.array([distance]))
        return Measured(a, f.value[row], f.group[row], np.ones(len(a)))
    if component == "roads":
        r = prepared.roads
        if r is None:
            return _nothing()
        a, s, metres = segments_inside(areas.buffered(v["roads"]["buffer_m"]), r.segments)
        line = r.segments.line[s]
        km = metres / 1000.0
        return Measured(a, km * r.weight[line], r.group[line], km)
    if component == "farmland":
        f = prepared.farmland
        if f is None or not len(f.shapes):
            return _nothing()
        a, b, m2 = overlaps(areas, f.shapes)
        ha = m2 / 10_000.0
        return Measured(a, ha, f.group[f.shape_row[b]], ha)
    every = np.arange(n)
    zeros = np.zeros(n, np.int64)
    if component == "residual":
        live = np.asarray(facts.residual_expected, dtype=float)
        live = np.where(np.isfinite(live), live, 0.0)
        return Measured(every, live, zeros, live)
    if component == "status":
        points = np.array([*v["status"].values(), 0.0])  # an unknown status: the last, 0
        value = points[_coded(facts.status, tuple(v["status"]), absent=-1)]
        return Measured(every, value, zeros, value)
    if component == "evidence":
        items = np.asarray(facts.items_found, dtype=float)
        return Measured(every, items, zeros, items)
    raise KeyError(f"unknown component {component!r}")


def _nothing() -> Measured:
    return Measured(_EMPTY_I, _EMPTY_F, _EMPTY_I, _EMPTY_F)


def raw_values(
    areas: AreaShapes,
    facts: AreaInputs,
    prepared: Prepared,
    config: PriorityConfig,
    progress: Callable[[str], None] | None = None,
) -> dict[str, np.ndarray]:
    """Return every component's raw value per area (float64), in `COMPONENTS` order."""
    out: dict[str, np.ndarray] = {}
    for component in COMPONENTS:
        m = measure(component, areas, facts, prepared, config)
        out[component] = np.bincount(m.area, weights=m.value, minlength=len(areas)).astype(float)
        if progress is not None:
            progress(component)
    return out


def group_sums(m: Measured, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return, for an area's pairs, the amount and the value per group (`size` groups)."""
    return (
        np.bincount(m.group, weights=m.amount, minlength=size),
        np.bincount(m.group, weights=m.value, minlength=size),
    )


def layers_near(inputs: Inputs, box: np.ndarray, distance: float, transformer: Any) -> Inputs:
    """Return the inputs with only the features whose lon/lat box meets the metric box
    (minx, miny, maxx, maxy) grown by `distance` metres (a cheap, generous cut)."""
    x0, y0, x1, y1 = np.asarray(box, dtype=float) + np.array([-1, -1, 1, 1]) * (distance + 1)
    outline = shapely.segmentize(shapely.box(x0, y0, x1, y1), max(x1 - x0, y1 - y0) / 64)
    xy = shapely.get_coordinates(outline)
    lon, lat = transformer.transform(xy[:, 0], xy[:, 1], direction="INVERSE")
    cut = (np.min(lon), np.min(lat), np.max(lon), np.max(lat))

    def meets(geoms: np.ndarray) -> np.ndarray:
        b = shapely.bounds(np.asarray(geoms, dtype=object)).reshape(-1, 4)
        return (b[:, 0] <= cut[2]) & (b[:, 2] >= cut[0]) & (b[:, 1] <= cut[3]) & (b[:, 3] >= cut[1])

    layers: dict[str, ReferenceLayer | None] = {}
    for kind, layer in inputs.layers.items():
        if layer is None:
            layers[kind] = None
            continue
        keep = meets(layer.geometry)
        values = {k: np.asarray(v)[keep] for k, v in layer.values.items()}
        layers[kind] = ReferenceLayer(layer.kind, layer.geometry[keep], values)
    acc = inputs.accidents
    keep = meets(acc.geometry)
    return dataclasses.replace(
        inputs, layers=layers, accidents=PointEvents(acc.geometry[keep], acc.dates[keep])
    )
