"""The engine on hand-built cases whose answers can be checked by hand (all synthetic)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from priority_cases import accidents, areas, inputs, layer, square

from landrelease.priority import (
    COMPONENTS,
    AreaInputs,
    ReferenceLayer,
    compute_components,
    explain,
    load_config,
    score,
)

CONFIG = load_config()


def components(case: object, config: object = CONFIG) -> dict[str, np.ndarray]:
    out = compute_components(case, config)  # type: ignore[arg-type]
    assert list(out) == list(COMPONENTS)
    return out


def test_an_area_touching_a_town_outranks_an_identical_one_in_empty_fields() -> None:
    # Two identical 200 m squares, 40 km apart; a town of 5,000 touches the first one.
    hazard = areas([square(0, 0, 200), square(40_000, 0, 200)], refs=["HZ-TOWN", "HZ-FIELD"])
    town = layer("settlements", [square(200, 0, 800)], population=[5000])
    case = inputs(hazard, {"settlements": town})
    raw = components(case)
    assert raw["people"].tolist() == [5000.0, 0.0]  # touching: distance 0, decay 1.0
    scored = score(hazard.ref, raw, CONFIG)
    assert scored.rank.tolist() == [1, 2]
    assert scored.score[0] - scored.score[1] == pytest.approx(5000.0 * CONFIG.weight("people"))


def test_people_are_counted_by_distance_band() -> None:
    hazard = areas([square(0, 0, 100)])
    pts = [shapely.Point(50, 50), shapely.Point(1100, 50), shapely.Point(3100, 50)]
    pts.append(shapely.Point(5200, 50))  # 5.1 km away: beyond the last band
    town = layer("settlements", pts, population=[10, 1000, 1000, 1000])
    case = inputs(hazard, {"settlements": town})
    raw = components(case)
    # inside x 1.0, 1 km x 0.5, 3 km x 0.2, 5.1 km not at all
    assert raw["people"][0] == pytest.approx(10 + 500 + 200)
    people = explain(0, case, raw, CONFIG)[0]
    assert people.component == "people"
    assert people.how.startswith("710 people within 5 km (500 m: 10 x 1, 2 km: 1,000 x 0.5, 5 km:")


def test_a_road_through_an_area_adds_exactly_its_length() -> None:
    hazard = areas([square(0, 0, 1000)])
    roads = layer(
        "roads",
        [
            shapely.LineString([(-500, 300), (1500, 300)]),  # crosses: 1,000 m inside
            shapely.LineString([(100, 100), (400, 500), (700, 100)]),  # inside: 500 + 500 m
            shapely.LineString([(-500, 1200), (1500, 1200)]),  # outside
        ],
        **{"class": ["primary", "track", "primary"]},
    )
    case = inputs(hazard, {"roads": roads})
    raw = components(case)
    weights = CONFIG.values["roads"]["classes"]
    expected = 1.0 * weights["primary"] + 1.0 * weights["track"]
    assert raw["roads"][0] == pytest.approx(expected, rel=1e-6)
    how = explain(0, case, raw, CONFIG)[3].how
    assert "2.00 km of road inside the area (primary 1.00 km x 2.5, track 1.00 km x 0.75)" in how


def test_a_road_in_a_hole_or_along_a_multipart_area() -> None:
    ring = square(0, 0, 1000).difference(square(400, 400, 200))
    two = shapely.MultiPolygon([square(2000, 0, 100), square(2200, 0, 100)])
    hazard = areas([ring, two])
    roads = layer(
        "roads",
        [shapely.LineString([(0, 500), (1000, 500)]), shapely.LineString([(1900, 50), (2400, 50)])],
        **{"class": ["residential", "residential"]},
    )
    raw = components(inputs(hazard, {"roads": roads}))
    # 1,000 m less the 200 m across the hole; 100 m in each of the two parts
    assert raw["roads"].tolist() == pytest.approx([0.8, 0.2], rel=1e-6)


def test_a_road_buffer_counts_the_length_within_it() -> None:
    config = load_config("[roads]\nbuffer_m = 100\n")
    hazard = areas([square(0, 0, 1000)])
    roads = layer(
        "roads", [shapely.LineString([(-500, 1050), (1500, 1050)])], **{"class": ["residential"]}
    )
    raw = components(inputs(hazard, {"roads": roads}), config)
    # 50 m above the area: within 100 m along 1,000 m plus the rounded corners' reach
    reach = 2 * np.sqrt(100**2 - 50**2)
    assert raw["roads"][0] == pytest.approx((1000 + reach) / 1000, rel=2e-3)


def test_a_farmland_polygon_half_inside_adds_half_its_area() -> None:
    hazard = areas([square(0, 0, 1000)])
    land = layer(
        "landuse",
        [square(500, 0, 1000), square(0, 0, 1000), square(-100, -100, 50)],
        **{"class": ["farmland", "forest", "orchard"]},
    )
    raw = components(inputs(hazard, {"landuse": land}))
    assert raw["farmland"][0] == pytest.approx(50.0, rel=1e-9)  # ha: half of 100 ha


def test_buildings_inside_or_within_the_buffer_are_counted_once_each() -> None:
    hazard = areas([square(0, 0, 100), square(50, 0, 100)])  # overlapping areas
    buildings = layer(
        "buildings",
        [
            shapely.Point(60, 50),  # inside both
            shapely.Point(-60, 50),  # 60 m from the first, 110 m from the second
            shapely.Point(350, 50),  # 250 m and 200 m: neither
            shapely.box(90, 90, 120, 120),  # a polygon over both outlines
        ],
    )
    case = inputs(hazard, {"buildings": buildings})
    raw = components(case)
    assert raw["buildings"].tolist() == [3.0, 2.0]
    how = explain(0, case, raw, CONFIG)[1].how
    assert how.startswith("3 buildings: 2 inside the area, 1 within 100 m of it")


def test_facilities_weigh_by_kind_within_the_buffer() -> None:
    hazard = areas([square(0, 0, 100)])
    facilities = layer(
        "facilities",
        [shapely.Point(300, 50), shapely.Point(50, 450), shapely.Point(800, 50)],
        kind=["school", "clinic", "hospital"],
    )
    raw = components(inputs(hazard, {"facilities": facilities}))
    kinds = CONFIG.values["facilities"]["kinds"]
    assert raw["facilities"][0] == kinds["school"] + kinds["clinic"]  # the hospital: 700 m


def test_an_accident_outside_the_window_or_radius_is_not_counted() -> None:
    hazard = areas([square(0, 0, 100)])
    events = accidents(
        [(1000, 50), (1000, 60), (1000, 70), (1000, 80), (1000, 90), (2500, 50)],
        [10, 800, -1, float("nan"), 730, 10],  # in; too old; after as_of; no date; last day; far
    )
    raw = components(inputs(hazard, events=events))
    assert raw["accidents"][0] == 2.0


def test_a_missing_layer_gives_zeros() -> None:
    hazard = areas(
        [square(0, 0, 100), square(500, 0, 100)],
        status=["confirmed", "suspected"],
        items=[3, 0],
        residual=[np.nan, 1.5],
    )
    raw = components(inputs(hazard))
    for c in ("people", "buildings", "facilities", "roads", "farmland", "accidents"):
        assert raw[c].tolist() == [0.0, 0.0], c
    assert raw["residual"].tolist() == [0.0, 1.5]
    points = CONFIG.values["status"]
    assert raw["status"].tolist() == [points["confirmed"], points["suspected"]]
    assert raw["evidence"].tolist() == [3.0, 0.0]
    lines = explain(0, inputs(hazard), raw, CONFIG)
    assert "no contamination events" in lines[6].how
    assert lines[7].how.startswith("status confirmed: 300 status points")


def test_an_empty_layer_or_no_areas_give_zeros() -> None:
    hazard = areas([square(0, 0, 100)])
    empty = layer("buildings", [])
    assert components(inputs(hazard, {"buildings": empty}))["buildings"].tolist() == [0.0]
    none = areas([])
    assert all(len(v) == 0 for v in components(inputs(none)).values())


def test_scores_are_the_sum_of_contributions_and_ties_go_by_ref() -> None:
    hazard = areas(
        [square(0, 0, 100)] * 3,
        refs=["HZ-2", "HZ-10", "HZ-1"],
        status=["suspected", "suspected", "confirmed"],
    )
    raw = components(inputs(hazard))
    scored = score(hazard.ref, raw, CONFIG)
    assert scored.rank.tolist() == [3, 2, 1]  # HZ-1 confirmed; then "HZ-10" < "HZ-2"
    total = sum(scored.contributions[c] for c in COMPONENTS)
    assert scored.score.tolist() == total.tolist()


def test_explain_without_inputs_says_what_the_values_mean() -> None:
    hazard = areas([square(0, 0, 100)], status="confirmed", items=4, residual=0.5)
    raw = components(inputs(hazard))
    lines = explain(0, None, raw, CONFIG)
    assert [line.component for line in lines] == list(COMPONENTS)
    for line in lines:
        assert line.contribution == pytest.approx(line.weight * line.raw)
        assert line.how.endswith(f"= {line.contribution:,.1f} points")
    assert lines[8].how.startswith("4 explosive ordnance items found in the area")
    assert lines[6].unit == "expected live devices"


def test_a_changed_weight_changes_only_its_contribution() -> None:
    hazard = areas([square(0, 0, 100)], items=2)
    raw = components(inputs(hazard))
    doubled = load_config("[weights]\nevidence = 100\n")
    a = score(hazard.ref, raw, CONFIG)
    b = score(hazard.ref, raw, doubled)
    assert b.score[0] - a.score[0] == pytest.approx(2 * 50.0)


def test_odd_features_are_measured_or_skipped_not_failed_on() -> None:
    # An area without geometry; a road that is missing and one that is empty; a building
    # with a height (Z); a settlement without a population; a facility of an unlisted kind.
    hazard = areas([square(0, 0, 100), square(500, 0, 100)])
    hazard = AreaInputs(
        hazard.ref,
        np.array([hazard.geometry[0], None], dtype=object),
        hazard.status,
        hazard.items_found,
        hazard.residual_expected,
    )
    road = layer("roads", [shapely.LineString([(-10, 50), (200, 50)])]).geometry[0]
    roads = ReferenceLayer(
        "roads",
        np.array([road, None, shapely.LineString()], dtype=object),
        {"class": np.array(["primary", "track", "path"], dtype=object)},
    )
    tall = shapely.force_3d(layer("buildings", [shapely.Point(50, 50)]).geometry)
    case = inputs(
        hazard,
        {
            "roads": roads,
            "buildings": ReferenceLayer("buildings", tall),
            "settlements": layer(
                "settlements",
                [shapely.Point(50, 50), shapely.Point(60, 60)],
                population=[np.nan, 10],
            ),
            "facilities": layer("facilities", [shapely.Point(50, 50)], kind=["bakery"]),
        },
    )
    raw = components(case)
    assert raw["roads"].tolist() == pytest.approx([0.1 * 2.5, 0.0], rel=1e-6)
    assert raw["buildings"].tolist() == [1.0, 0.0]
    assert raw["people"].tolist() == [10.0, 0.0]
    assert raw["facilities"].tolist() == [0.0, 0.0]  # unlisted kinds weigh 0
    assert "1 unlisted x 0" in explain(0, case, raw, CONFIG)[2].how
    assert [line.raw for line in explain(1, case, raw, CONFIG)][:6] == [0.0] * 6
