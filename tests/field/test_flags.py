"""The flags a reviewer sees: one per problem, at the question (and repeat row) it concerns."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import shapely
from hypothesis import given
from hypothesis import strategies as st

from field.answers import SQUARE, submission
from landrelease.field.flags import Flag, flags
from landrelease.field.mapping import plan
from landrelease.field.submission import Submission

TODAY = dt.date(2026, 11, 12)
UKRAINE = shapely.box(22.13, 44.38, 40.23, 52.38)
AREA = shapely.box(24.02, 49.84, 24.021, 49.841)  # the same square, lon/lat


def nts(**values: str) -> Submission:
    answers = {
        "reported_on": "2026-11-10",
        "hazard_type": "CHA",
        "evidence": "a mine seen by the road",
        "contamination": "ap_mine",
        "shape_method": "polygon",
        "area_shape": SQUARE,
    }
    return submission("nts_survey", {k: v for k, v in (answers | values).items() if v})


ITEM = {
    "item_location": "49.8405 24.0205 301.2 3.5",
    "item_category": "uxo",
    "item_quantity": "1",
    "item_state": "live",
}


def eod(*items: dict[str, str], **values: str) -> Submission:
    answers = {"area_ref": "UA-2026-0042", "task_date": "2026-11-11"} | values
    return submission("eod_spot_task", answers, {"item": list(items)})


def flags_of(sub: Submission, *, limit: float = 10.0, far_m: float = 1000.0) -> list[Flag]:
    return flags(
        sub,
        plan(sub),
        today=TODAY,
        country=UKRAINE,
        accuracy_limit_m=limit,
        area_of=lambda ref: AREA if ref == "UA-2026-0042" else None,
        far_m=far_m,
    )


def codes_at(found: list[Flag]) -> list[tuple[str, str]]:
    return [(f.code, f.field) for f in found]


def test_a_clean_submission_of_each_form_has_no_flags() -> None:
    clean = [
        nts(),
        eod(ITEM),
        submission(
            "clearance",
            {
                "area_ref": "UA-2026-0042",
                "activity_type": "clearance",
                "activity_status": "completed",
                "start_date": "2026-10-01",
                "end_date": "2026-11-05",
                "cleared_shape": SQUARE,
                "evidence_found": "no",
            },
        ),
        submission(
            "accident",
            {"occurred_on": "2026-09-30", "accident_location": "49.8405 24.0205 0 5"},
            {"victim": [{"victim_outcome": "injured", "victim_group": "civilian"}]},
        ),
        submission(
            "risk_education",
            {
                "held_on": "2026-11-02",
                "session_location": "50.45 30.52",
                "method": "digital",
                **dict.fromkeys(("girls", "boys", "women", "men"), "0"),
            },
        ),
    ]
    for sub in clean:
        assert flags_of(sub) == [], sub.form_id


def test_missing_geometry_when_no_shape_is_drawn_or_no_boundary_walked() -> None:
    assert codes_at(flags_of(nts(area_shape=""))) == [("missing_geometry", "area_shape")]
    walked = nts(area_shape="", shape_method="points")
    assert codes_at(flags_of(walked)) == [("missing_geometry", "boundary")]
    assert flags_of(nts(area_shape="", area_ref="UA-2026-0042")) == []  # keeps its shape
    no_position = eod(ITEM | {"item_location": ""})
    assert codes_at(flags_of(no_position)) == [("missing_geometry", "item[1]/item_location")]


def test_too_few_points_when_a_shape_has_under_three_distinct_points() -> None:
    line = "49.84 24.02 0 4;49.841 24.02 0 4;49.84 24.02 0 4"
    [flag] = flags_of(nts(area_shape=line))
    assert (flag.code, flag.field) == ("too_few_points", "area_shape")
    assert "2 distinct point(s)" in flag.message
    walked = dataclasses.replace(
        nts(shape_method="points", area_shape=""),
        repeats={"boundary": [{"boundary_point": p} for p in line.split(";")]},
    )
    assert codes_at(flags_of(walked)) == [("too_few_points", "boundary")]


def test_self_crossing_for_a_bow_tie() -> None:
    bow_tie = "49.84 24.02;49.841 24.021;49.841 24.02;49.84 24.021;49.84 24.02"
    [flag] = flags_of(nts(area_shape=bow_tie))
    assert (flag.code, flag.field) == ("self_crossing", "area_shape")
    # where, in the latitude-longitude order a GPS shows
    assert flag.message.startswith("the boundary crosses itself near 49.840500 24.020500 (lat lon)")


@given(st.lists(st.tuples(st.floats(0, 0.9), st.floats(0.0005, 0.01)), min_size=4, max_size=30))
def test_star_shaped_polygons_never_flag_self_crossing(corners: list[tuple[float, float]]) -> None:
    # One corner in each of n equal sectors around a centre: no gap between corners reaches
    # 180 degrees, so the centre sees every edge and the polygon is simple.
    sector = 2 * math.pi / len(corners)
    points = [
        (49.84 + r * math.sin((i + u) * sector), 24.02 + r * math.cos((i + u) * sector))
        for i, (u, r) in enumerate(corners)
    ]
    shape = ";".join(f"{lat!r} {lon!r} 300 4" for lat, lon in [*points, points[0]])
    assert "self_crossing" not in [f.code for f in flags_of(nts(area_shape=shape))]


def test_poor_accuracy_names_the_accuracy_and_the_limit() -> None:
    [flag] = flags_of(eod(ITEM, ITEM | {"item_location": "49.8405 24.0205 300 35"}))
    assert flag == Flag(
        "poor_accuracy", "item[2]/item_location", "accuracy 35 m is worse than the 10 m limit"
    )
    vague_corner = SQUARE.replace("49.841 24.021 300 4", "49.841 24.021 300 22.5")
    [flag] = flags_of(nts(area_shape=vague_corner))
    assert flag.message == "accuracy 22.5 m at point 3 is worse than the 10 m limit"
    assert flags_of(eod(ITEM | {"item_location": "49.8405 24.0205"})) == []  # none recorded


def test_future_date_unless_it_schedules_an_activity_not_yet_completed() -> None:
    [flag] = flags_of(nts(reported_on="2026-11-13"))
    assert flag == Flag("future_date", "reported_on", "2026-11-13 is after today (2026-11-12)")
    planned = {
        "area_ref": "UA-2026-0042",
        "activity_type": "clearance",
        "activity_status": "planned",
        "start_date": "2027-01-10",
    }
    assert flags_of(submission("clearance", planned)) == []
    done = planned | {"activity_status": "completed", "end_date": "2027-02-01"}
    assert codes_at(flags_of(submission("clearance", done))) == [
        ("future_date", "start_date"),
        ("future_date", "end_date"),
    ]


def test_unknown_choice_for_each_code_not_in_the_list() -> None:
    found = flags_of(nts(hazard_type="XYZ", contamination="ap_mine landmine"))
    assert codes_at(found) == [
        ("unknown_choice", "hazard_type"),
        ("unknown_choice", "contamination"),
    ]
    assert found[1].message.startswith("'landmine' is not a choice of contamination; use one of ")
    found = flags_of(eod(ITEM | {"item_state": "sleeping"}))
    assert codes_at(found) == [("unknown_choice", "item[1]/item_state")]


def test_outside_country_for_a_point_and_for_vertices() -> None:
    vienna = ITEM | {"item_location": "48.2 16.37 0 4"}
    [flag] = flags_of(eod(vienna, area_ref=""))
    assert (flag.code, flag.field) == ("outside_country", "item[1]/item_location")
    assert "swapped" not in flag.message
    far_corner = SQUARE.replace("49.841 24.021", "53.0 24.021")  # past the north border
    [flag] = flags_of(nts(area_shape=far_corner))
    assert (flag.code, flag.field) == ("outside_country", "area_shape")
    assert flag.message.startswith("1 of 5 points lie outside the country (point 3:")
    no_country = flags(
        eod(vienna, area_ref=""),
        [],
        today=TODAY,
        country=None,
        accuracy_limit_m=10,
        area_of=lambda ref: None,
    )
    assert no_country == []


@given(st.floats(44.5, 52.3), st.floats(22.2, 40.2))
def test_swapped_latitude_and_longitude_fall_outside_the_country(lat: float, lon: float) -> None:
    sub = submission(
        "accident",
        {"occurred_on": "2026-09-30", "accident_location": f"{lon!r} {lat!r} 0 4"},
        {"victim": [{"victim_outcome": "injured", "victim_group": "civilian"}]},
    )
    [flag] = flags_of(sub)
    assert (flag.code, flag.field) == ("outside_country", "accident_location")
    assert flag.message.endswith("are latitude and longitude swapped?")


def test_far_from_area_measures_metres_to_the_named_area() -> None:
    two_km_north = "49.859 24.0205 0 4"  # 0.018 degrees of latitude: about 2 km
    found = flags_of(eod(ITEM, ITEM | {"item_location": two_km_north}))
    [flag] = found
    assert (flag.code, flag.field) == ("far_from_area", "item[2]/item_location")
    assert flag.message.startswith("lies 2,0") and "from its area UA-2026-0042" in flag.message
    assert flags_of(eod(ITEM | {"item_location": two_km_north}), far_m=2500) == []
    unknown_area = eod(ITEM | {"item_location": two_km_north}, area_ref="UA-2026-9999")
    assert flags_of(unknown_area) == []


def test_missing_value_for_a_required_answer_and_an_empty_required_repeat() -> None:
    sub = eod(ITEM | {"item_category": ""})
    sub = dataclasses.replace(
        sub, values={k: v for k, v in sub.values.items() if k != "organisation"}
    )
    assert codes_at(flags_of(sub)) == [
        ("missing_value", "organisation"),
        ("missing_value", "item[1]/item_category"),
    ]
    assert codes_at(flags_of(eod())) == [("missing_value", "item")]


def test_unreadable_value_names_what_could_not_be_read() -> None:
    found = flags_of(eod(ITEM | {"item_quantity": "abc"}, task_date="11/12/2026"))
    assert found == [
        Flag("unreadable_value", "task_date", "'11/12/2026' is not a date (YYYY-MM-DD)"),
        Flag("unreadable_value", "item[1]/item_quantity", "'abc' is not a whole number"),
    ]
    [flag] = flags_of(nts(area_shape="49.84 24.02;north gate;49.841 24.021"))
    assert (flag.code, flag.field) == ("unreadable_value", "area_shape")


def test_answers_to_questions_not_asked_are_not_checked() -> None:
    # The boundary is asked only when points are walked; a drawn shape makes it irrelevant.
    sub = dataclasses.replace(nts(), repeats={"boundary": [{"boundary_point": ""}]})
    assert flags_of(sub) == []
