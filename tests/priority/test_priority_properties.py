"""Invariants of the score, checked on generated cases (hypothesis; all synthetic)."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from priority_cases import areas, inputs, layer, square

from landrelease.priority import COMPONENTS, compute_components, load_config, score

CONFIG = load_config()
coord = st.floats(-8000, 8000, allow_nan=False)
places = st.lists(st.tuples(coord, coord), min_size=1, max_size=6)


@settings(max_examples=25, deadline=None)
@given(
    squares=places,
    towns=st.lists(st.tuples(coord, coord, st.integers(0, 50_000)), max_size=6),
    extra=st.tuples(coord, coord, st.integers(0, 50_000)),
)
def test_adding_a_settlement_never_lowers_people(
    squares: list[tuple[float, float]],
    towns: list[tuple[float, float, int]],
    extra: tuple[float, float, int],
) -> None:
    hazard = areas([square(x, y, 300) for x, y in squares])

    def people(places: list[tuple[float, float, int]]) -> np.ndarray:
        pts = [shapely.Point(x, y) for x, y, _ in places]
        town = layer("settlements", pts, population=[p for *_, p in places])
        return compute_components(inputs(hazard, {"settlements": town}), CONFIG)["people"]

    before, after = people(towns), people([*towns, extra])
    assert (after >= before).all()
    # and by at most the newcomer's population
    assert (after - before <= extra[2] * max(CONFIG.values["people"]["decay"]) + 1e-6).all()


finite = st.floats(0, 1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["HZ-1", "HZ-2", "HZ-10", "HZ-3", "A", "b"]), finite, finite),
        min_size=1,
        max_size=12,
        unique_by=lambda r: r[0],
    ),
    evidence_weight=st.sampled_from([0, 1, 50, 0.1]),
)
def test_scores_sum_the_contributions_and_ranks_are_a_permutation_with_ties_by_ref(
    rows: list[tuple[str, float, float]], evidence_weight: float
) -> None:
    refs = np.array([r for r, *_ in rows], dtype=object)
    n = len(rows)
    # few distinct values, so that ties are common
    components = {c: np.zeros(n) for c in COMPONENTS}
    components["people"] = np.round(np.array([p for _, p, _ in rows]), -5)
    components["evidence"] = np.round(np.array([e for *_, e in rows]), -5)
    config = load_config(f"[weights]\nevidence = {evidence_weight}\n")
    scored = score(refs, components, config)
    total = np.zeros(n)
    for c in COMPONENTS:
        assert (scored.contributions[c] == config.weight(c) * components[c]).all()
        total = total + scored.contributions[c]
    assert (scored.score == total).all()
    assert sorted(scored.rank.tolist()) == list(range(1, n + 1))
    by_rank = sorted(range(n), key=lambda i: scored.rank[i])
    for i, j in zip(by_rank, by_rank[1:], strict=False):
        assert scored.score[i] > scored.score[j] or (
            scored.score[i] == scored.score[j] and refs[i] < refs[j]
        )


@settings(max_examples=25, deadline=None)
@given(
    x=st.floats(50, 950),
    y=st.floats(50, 950),
    turn=st.floats(0, 2 * np.pi),
    reach=st.floats(10, 3000),
)
def test_a_straight_road_adds_its_length_inside_the_area(
    x: float, y: float, turn: float, reach: float
) -> None:
    hazard = areas([square(0, 0, 1000)])
    dx, dy = np.cos(turn) * reach, np.sin(turn) * reach
    road = shapely.LineString([(x - dx, y - dy), (x + dx, y + dy)])
    roads = layer("roads", [road], **{"class": ["residential"]})
    raw = compute_components(inputs(hazard, {"roads": roads}), CONFIG)["roads"]
    inside = shapely.intersection(road, square(0, 0, 1000)).length / 1000
    assert abs(raw[0] - inside) <= 1e-6 * max(inside, 1e-3)
