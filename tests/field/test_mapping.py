"""What each form's submission would write: record kinds, field names, python values, lon/lat."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from field.answers import SQUARE, SQUARE_LONLAT, submission
from landrelease.domain.errors import ValidationError
from landrelease.domain.records import KINDS
from landrelease.field.mapping import Planned, area_m2, plan, read_geopoint, read_geoshape
from landrelease.field.submission import Submission


def fields_of(kind: str) -> set[str]:
    return set(KINDS[kind].field_names)


def nts(**values: str) -> Submission:
    answers = {
        "reported_on": "2026-11-10",
        "hazard_type": "CHA",
        "evidence": "a mine seen by the road",
        "contamination": "ap_mine uxo",
        "land_use": "agricultural",
        "admin_area": "Lviv oblast",
        "shape_method": "polygon",
        "area_shape": SQUARE,
        "name": "Field north of the farm",
        "notes": "Access by the track from the east.",
    }
    return submission(
        "nts_survey",
        {k: v for k, v in (answers | values).items() if v},
        {
            "informant": [
                {"informant_role": "resident", "informant_statement": "Saw a mine in May."},
                {"informant_role": "police", "informant_sex": "male"},
            ]
        },
    )


def test_nts_survey_with_a_drawn_shape_plans_a_new_confirmed_area() -> None:
    [area] = plan(nts())
    assert (area.kind, area.ref, area.link) == ("hazards", None, None)
    assert set(area.values) <= fields_of("hazards")
    assert area.values["status"] == "confirmed"
    assert area.values["hazard_type"] == "CHA"
    assert area.values["contamination"] == ("ap_mine", "uxo")
    assert area.values["reported_on"] == dt.date(2026, 11, 10)
    assert area.values["source_org"] == "Demining NGO"
    assert area.values["land_use"] == "agricultural"
    assert area.values["evidence"] == "a mine seen by the road"
    assert list(area.geometry.exterior.coords) == SQUARE_LONLAT
    notes = area.values["notes"]
    assert notes.startswith("Access by the track from the east.")
    assert "Informants: 2 (resident, police)." in notes
    assert "- resident: Saw a mine in May." in notes


def test_nts_survey_suspected_area_keeps_the_default_status() -> None:
    [area] = plan(nts(hazard_type="SHA"))
    assert "status" not in area.values
    assert area.values["hazard_type"] == "SHA"


def test_nts_survey_walked_boundary_makes_a_closed_polygon_in_walking_order() -> None:
    corners = SQUARE.split(";")[:4]
    sub = dataclasses.replace(
        nts(shape_method="points", area_shape=""),
        repeats={"boundary": [{"boundary_point": p} for p in corners]},
    )
    [area] = plan(sub)
    assert list(area.geometry.exterior.coords) == SQUARE_LONLAT


def test_nts_survey_with_area_ref_edits_that_area_without_blanking_fields() -> None:
    sub = submission(
        "nts_survey",
        {
            "area_ref": "UA-2026-0042",
            "reported_on": "2026-11-10",
            "hazard_type": "CHA",
            "evidence": "fragments found",
            "contamination": "uxo",
            "shape_method": "polygon",
        },
    )
    [area] = plan(sub)
    assert area.ref == "UA-2026-0042"
    assert area.geometry is None
    # when and by whom the area was first reported stay; the survey's own date and
    # organisation head the notes it adds
    assert area.values == {
        "hazard_type": "CHA",
        "contamination": ("uxo",),
        "evidence": "fragments found",
        "notes": "Non-technical survey of 2026-11-10 by Demining NGO.",
    }


ITEM = {
    "item_location": "49.8405 24.0205 301.2 3.5",
    "item_category": "uxo",
    "item_description": "mortar round",
    "item_quantity": "2",
    "item_state": "live",
}


def test_eod_spot_task_without_an_area_plans_items_only() -> None:
    sub = submission(
        "eod_spot_task",
        {"task_date": "2026-11-11", "notes": "reported by a farmer"},
        {"item": [ITEM, ITEM | {"item_quantity": "1", "item_state": "destroyed"}]},
    )
    first, second = plan(sub)
    assert first == Planned(
        "items",
        None,
        {
            "category": "uxo",
            "description": "mortar round",
            "quantity": 2,
            "state": "live",
            "found_on": dt.date(2026, 11, 11),
            "notes": "reported by a farmer",
        },
        shapely.Point(24.0205, 49.8405),
    )
    assert (second.values["quantity"], second.values["state"]) == (1, "destroyed")


def test_eod_spot_task_in_an_area_plans_a_completed_eod_activity_and_its_items() -> None:
    sub = submission(
        "eod_spot_task",
        {"area_ref": "UA-2026-0042", "task_date": "2026-11-11", "notes": "two rounds"},
        {"item": [ITEM]},
    )
    activity, item = plan(sub)
    assert (activity.kind, activity.ref, activity.geometry) == ("activities", None, None)
    assert activity.values == {
        "area_ref": "UA-2026-0042",
        "activity_type": "eod",
        "status": "completed",
        "organisation": "Demining NGO",
        "start_date": dt.date(2026, 11, 11),
        "end_date": dt.date(2026, 11, 11),
        "notes": "two rounds",
    }
    assert item.kind == "items" and item.link == "activity"
    assert item.values["area_ref"] == "UA-2026-0042"
    assert "activity_ref" not in item.values and "notes" not in item.values


def clearance(**values: str) -> Submission:
    answers = {
        "area_ref": "UA-2026-0042",
        "activity_type": "clearance",
        "activity_status": "completed",
        "start_date": "2026-10-01",
        "end_date": "2026-11-05",
        "cleared_shape": SQUARE,
        "evidence_found": "yes",
        "end": "2026-11-12T10:31:05.123+02:00",
    }
    return submission(
        "clearance", {k: v for k, v in (answers | values).items() if v}, {"item": [ITEM]}
    )


def test_clearance_plans_a_new_activity_with_the_cleared_area_and_linked_items() -> None:
    activity, item = plan(clearance())
    assert (activity.kind, activity.ref) == ("activities", None)
    assert set(activity.values) <= fields_of("activities")
    assert activity.values["status"] == "completed"
    assert activity.values["evidence_found"] is True
    assert activity.values["end_date"] == dt.date(2026, 11, 5)
    assert list(activity.geometry.exterior.coords) == SQUARE_LONLAT
    # 0.001 degrees: 111.2 m of latitude by 71.8 m of longitude at 49.84 N
    assert activity.values["cleared_m2"] == pytest.approx(111.2 * 71.8, rel=0.01)
    assert "reduced_m2" not in activity.values
    assert (item.link, item.values["found_on"]) == ("activity", dt.date(2026, 11, 5))
    assert set(item.values) <= fields_of("items")


def test_clearance_with_activity_ref_edits_it_and_items_name_it() -> None:
    activity, item = plan(
        clearance(activity_ref="UA-ACT-2026-0007", activity_status="open", end_date="")
    )
    assert activity.ref == "UA-ACT-2026-0007"
    assert "end_date" not in activity.values
    assert item.link is None
    assert item.values["activity_ref"] == "UA-ACT-2026-0007"
    assert item.values["found_on"] == dt.date(2026, 11, 12)  # the day the form was filled in


def test_technical_survey_reduces_land_only_when_completed_without_evidence() -> None:
    [reduced] = plan(clearance(activity_type="ts", evidence_found="no"))[:1]
    assert reduced.values["reduced_m2"] == pytest.approx(111.2 * 71.8, rel=0.01)
    assert "cleared_m2" not in reduced.values
    for answers in ({"evidence_found": "yes"}, {"activity_status": "open", "evidence_found": "no"}):
        [activity] = plan(clearance(activity_type="ts", **answers))[:1]
        assert not {"reduced_m2", "cleared_m2"} & set(activity.values)


def test_accident_counts_victims_and_summarises_their_sex_and_age() -> None:
    victims = [
        {"victim_outcome": "killed", "victim_group": "civilian", "victim_sex": "male"},
        {"victim_outcome": "injured", "victim_group": "civilian", "victim_sex": "female"},
        {"victim_outcome": "injured", "victim_group": "deminer", "victim_age_group": "adult"},
    ]
    sub = submission(
        "accident",
        {
            "occurred_on": "2026-09-30",
            "accident_location": "49.9 24.1 0 8",
            "area_ref": "UA-2026-0042",
            "device_category": "av_mine",
        },
        {"victim": victims},
    )
    [accident] = plan(sub)
    assert accident.kind == "accidents"
    assert accident.geometry == shapely.Point(24.1, 49.9)
    assert accident.values == {
        "area_ref": "UA-2026-0042",
        "occurred_on": dt.date(2026, 9, 30),
        "device_category": "av_mine",
        "killed_civilian": 1,
        "injured_civilian": 1,
        "killed_deminer": 0,
        "injured_deminer": 1,
        "age_group": "adult",
        "sex": "mixed",
    }
    [no_details] = plan(dataclasses.replace(sub, repeats={"victim": victims[:1]}))
    assert (no_details.values["sex"], no_details.values["age_group"]) == ("male", "unknown")


def test_risk_education_plans_a_session_with_its_audience() -> None:
    sub = submission(
        "risk_education",
        {
            "held_on": "2026-11-02",
            "session_location": "50.45 30.52",
            "admin_area": "Kyiv",
            "method": "interpersonal",
            "girls": "12",
            "boys": "9",
            "women": "4",
            "men": "0",
            "notes": "school visit",
        },
    )
    [session] = plan(sub)
    assert (session.kind, session.ref) == ("eore", None)
    assert session.geometry == shapely.Point(30.52, 50.45)
    assert session.values == {
        "organisation": "Demining NGO",
        "held_on": dt.date(2026, 11, 2),
        "method": "interpersonal",
        "admin_area": "Kyiv",
        "girls": 12,
        "boys": 9,
        "women": 4,
        "men": 0,
        "notes": "school visit",
    }


def test_values_that_cannot_be_read_are_left_out_not_raised() -> None:
    sub = submission(
        "eod_spot_task",
        {"task_date": "11/12/2026"},
        {"item": [ITEM | {"item_quantity": "abc", "item_location": "north of the well"}]},
    )
    [item] = plan(sub)
    assert item.geometry is None
    assert not {"quantity", "found_on"} & set(item.values)
    [area] = plan(nts(area_shape="49.84 24.02;garbage", reported_on="2026-13-40"))
    assert area.geometry is None and "reported_on" not in area.values


def test_a_form_landrelease_does_not_know_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown form 'census'"):
        plan(submission("census", {}))


latitudes = st.floats(-90, 90, allow_nan=False)
longitudes = st.floats(-180, 180, allow_nan=False)


@given(latitudes, longitudes, st.floats(0, 500, allow_nan=False))
def test_a_geopoint_is_read_back_in_lon_lat_order(lat: float, lon: float, acc: float) -> None:
    fix = read_geopoint(f"{lat!r} {lon!r} 123.0 {acc!r}")
    assert (fix.lon, fix.lat, fix.accuracy) == (lon, lat, acc)


@given(st.text())
def test_any_text_is_a_geoshape_or_a_value_error(text: str) -> None:
    try:
        read_geoshape(text)
    except ValueError:
        pass


def test_area_of_a_polygon_is_measured_in_square_metres() -> None:
    at_the_equator = shapely.box(0, 0, 0.01, 0.01)
    assert area_m2(at_the_equator) == pytest.approx(1113.2 * 1105.7, rel=0.001)
