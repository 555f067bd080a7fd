"""The score of each hazard area: its components, their weighted sum, its rank and its reasons.

    components = compute_components(inputs, config)      # raw value per component and area
    scored = score(inputs.areas.ref, components, config)  # weight x raw, summed; ranks
    lines = explain(i, inputs, components, config)         # how area i got its score

Every distance, length and area is measured in metres in the country's equal-area projection
(`landrelease.domain.geometry.equal_area`), each input projected once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from landrelease.domain.geometry import equal_area
from landrelease.priority import components as comp
from landrelease.priority.config import COMPONENTS, PriorityConfig
from landrelease.priority.explaining import Detail, ExplainLine, explain_lines
from landrelease.priority.inputs import Inputs
from landrelease.priority.measure import AreaShapes

__all__ = ["ExplainLine", "Scored", "UNITS", "compute_components", "explain", "score"]

UNITS = {
    "people": "people",
    "buildings": "buildings",
    "facilities": "facility points",
    "roads": "class-weighted km",
    "farmland": "ha",
    "accidents": "accidents",
    "residual": "expected live devices",
    "status": "status points",
    "evidence": "items",
}


def compute_components(
    inputs: Inputs,
    config: PriorityConfig,
    progress: Callable[[str], None] | None = None,
) -> dict[str, np.ndarray]:
    """Return the raw value of every component for every area (float64 arrays, in the areas'
    order; keys in `COMPONENTS` order).

    people: persons by distance band from the area's outline (0 inside), times the band's
    decay; buildings: buildings inside or within buildings.buffer_m; facilities: the kind
    weights of facilities within facilities.buffer_m; roads: km of road inside the area grown
    by roads.buffer_m, times its class weight; farmland: hectares of farmland classes inside;
    accidents: accidents within accidents.radius_m dated 0 to window_days days before as_of;
    residual: expected live devices (0 where the model does not apply); status: the status's
    points; evidence: items found. A missing layer gives zeros; a feature counts once per area
    it is near (overlapping land-use polygons each count). `progress` is called with each
    component's name once it is computed.
    """
    transformer = equal_area(inputs.country)
    areas = AreaShapes.of(inputs.areas.geometry, transformer)
    prepared = comp.prepare(inputs, config, transformer)
    return comp.raw_values(areas, inputs.areas, prepared, config, progress)


@dataclass(frozen=True)
class Scored:
    """Scores and ranks of the areas (in their order): `rank` 1 is cleared first; equal
    scores are ranked by ref, ascending. `contributions` is weight x raw per component."""

    score: np.ndarray
    rank: np.ndarray
    contributions: dict[str, np.ndarray]


def score(refs: np.ndarray, components: dict[str, np.ndarray], config: PriorityConfig) -> Scored:
    """Return each area's score (the sum of weight x raw over the components) and rank."""
    refs = np.asarray(refs, dtype=object)
    n = len(refs)
    contributions = {
        c: config.weight(c) * np.asarray(components[c], dtype=float) for c in COMPONENTS
    }
    total = np.zeros(n)
    for c in COMPONENTS:  # always in this order: the same sum to the last bit
        total = total + contributions[c]
    order = np.lexsort((refs.astype(str), -total))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    return Scored(total, rank, contributions)


def explain(
    i: int,
    inputs: Inputs | None,
    components: dict[str, np.ndarray],
    config: PriorityConfig,
) -> list[ExplainLine]:
    """Return one line per component saying how area `i` got its part of the score.

    With `inputs`, each line gives its detail (people per distance band, road km per class,
    ...), measured again for this one area from the features around it; without, the lines
    say what the raw values mean.
    """
    detail = _detail(i, inputs, config) if inputs is not None else None
    return explain_lines(i, components, config, UNITS, detail, inputs)


def _detail(i: int, inputs: Inputs, config: PriorityConfig) -> dict[str, Detail] | None:
    """Return each component's detail for area `i`: amounts and values per group (None for
    an area without a geometry: there is nothing to measure)."""
    transformer = equal_area(inputs.country)
    one = inputs.areas.take(np.array([i]))
    areas = AreaShapes.of(one.geometry, transformer)
    if not np.isfinite(areas.bounds[0]).all():
        return None
    # Only the features near the area are projected: a few, not the country's millions.
    near = comp.layers_near(inputs, areas.bounds[0], comp.margin(config), transformer)
    prepared = comp.prepare(near, config, transformer)
    out = {}
    for c in COMPONENTS:
        m = comp.measure(c, areas, one, prepared, config)
        names = comp.groups(c, config)
        amount, value = comp.group_sums(m, len(names))
        out[c] = Detail(names, amount, value)
    return out
