"""Parsing and checking incoming attribute columns (domain/validate.py), with property tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landrelease.domain import validate
from landrelease.domain.codes import ContaminationCategory, Status
from landrelease.domain.errors import LandreleaseError
from landrelease.domain.records import ACCIDENTS, ACTIVITIES, EVENTS, HAZARDS, ITEMS, KINDS
from landrelease.domain.validate import (
    FUTURE_TOLERANCE_ENV,
    check_activity_dates,
    check_event_ranges,
    parser_for,
    prepare_columns,
)

PROPS = settings(max_examples=30, deadline=None)

parse_date = parser_for(EVENTS.field("emplaced_on"))
parse_count = parser_for(EVENTS.field("quantity_best"))  # non-negative int
parse_int = parser_for(HAZARDS.field("version"))  # plain int
parse_status = parser_for(HAZARDS.field("status"))
parse_contamination = parser_for(HAZARDS.field("contamination"))
parse_bool = parser_for(ACTIVITIES.field("evidence_found"))
parse_float = parser_for(ACTIVITIES.field("cleared_m2"))


@st.composite
def spelled(draw: st.DrawFn, code: str) -> str:
    """`code` with random case, '_' as ' ', '-' or '_', and surrounding whitespace."""
    chars = [c.upper() if draw(st.booleans()) else c.lower() for c in code]
    text = "".join(chars).replace("_", draw(st.sampled_from(["_", " ", "-"])))
    pad = st.sampled_from(["", " ", "  ", "\t"])
    return draw(pad) + text + draw(pad)


@PROPS
@given(day=st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), form=st.integers(0, 5))
def test_dates_parse_to_iso_from_any_form(day: dt.date, form: int) -> None:
    value = [
        day,
        day.isoformat(),
        f"  {day.isoformat()} ",
        dt.datetime(day.year, day.month, day.day, 13, 45),
        pd.Timestamp(day),
        f"{day.isoformat()}T08:30:00Z",
    ][form]
    assert parse_date(value) == day.isoformat()


@PROPS
@given(text=st.text(alphabet="abcdefxyz :/.", max_size=12))
def test_non_dates_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_date(text)


@PROPS
@given(n=st.integers(0, 10**12), form=st.integers(0, 4))
def test_whole_numbers_parse_from_text_floats_and_numpy(n: int, form: int) -> None:
    value = [n, str(n), f"  {n} ", f"{n}.0", np.int64(n)][form]
    got = parse_count(value)
    assert got == n and type(got) is int


@PROPS
@given(x=st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()))
def test_fractions_are_not_whole_numbers(x: float) -> None:
    with pytest.raises(ValueError, match="whole number"):
        parse_int(x)


@pytest.mark.parametrize("value", [True, "abc", "1,5", ""])
def test_other_values_are_not_whole_numbers(value: object) -> None:
    with pytest.raises(ValueError):
        parse_int(value)


@PROPS
@given(n=st.integers(-(10**9), -1))
def test_counts_may_not_be_negative(n: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        parse_count(str(n))
    assert parse_int(n) == n  # only counts and areas are non-negative


@PROPS
@given(data=st.data(), code=st.sampled_from([s.value for s in Status]))
def test_codes_parse_whatever_their_case_and_spacing(data: st.DataObject, code: str) -> None:
    assert parse_status(data.draw(spelled(code))) == code


@PROPS
@given(
    data=st.data(),
    codes=st.lists(st.sampled_from([c.value for c in ContaminationCategory]), min_size=1),
    sep=st.sampled_from([";", ",", " ; ", ", "]),
)
def test_code_lists_keep_order_and_drop_repeats(
    data: st.DataObject, codes: list[str], sep: str
) -> None:
    text = sep.join(data.draw(spelled(c)) for c in codes)
    assert parse_contamination(text) == ";".join(dict.fromkeys(codes))
    assert parse_contamination(list(codes)) == ";".join(dict.fromkeys(codes))


@PROPS
@given(text=st.text(alphabet="abcxyz_ ", min_size=1, max_size=10))
def test_unknown_codes_are_refused_listing_the_known(text: str) -> None:
    key = text.strip().lower().replace(" ", "_")
    if key in {s.value for s in Status}:
        return
    with pytest.raises(ValueError) as info:
        parse_status(text)
    assert "suspected" in str(info.value) and "released" in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yes", True),
        ("FALSE", False),
        (" t ", True),
        ("0", False),
        (True, True),
        (np.bool_(False), False),
    ],
)
def test_booleans(value: object, expected: bool) -> None:
    assert parse_bool(value) is expected


def test_non_booleans_are_refused() -> None:
    with pytest.raises(ValueError, match="true/false"):
        parse_bool("maybe")


@pytest.mark.parametrize("value", ["nan", "inf", "x", float("nan")])
def test_areas_must_be_finite_numbers(value: object) -> None:
    with pytest.raises(ValueError):
        parse_float(value)


def test_prepare_columns_reports_rows_fields_defaults_and_ignored_columns() -> None:
    frame = pd.DataFrame(
        {
            "Area_Ref": ["UA-1", None, "UA-3"],
            "PROFILE_ID": ["p", "p", None],
            "quantity_best": ["10", "x", None],
            "emplaced_on": ["2022-03-01", "2022-03-02", "not a date"],
            "colour": ["red", "green", "blue"],
            "version": [7, 7, 7],  # a system field: never taken from input
        }
    )
    prep = prepare_columns(EVENTS, frame)
    problems = {(p.row, p.field) for p in prep.problems}
    assert problems == {
        (1, "area_ref"),
        (1, "quantity_best"),
        (2, "profile_id"),
        (2, "quantity_best"),
        (2, "emplaced_on"),
    }
    assert prep.columns["quantity_best"][0] == 10
    assert prep.columns["emplaced_on"][0] == "2022-03-01"
    assert prep.ignored == ["colour"]
    assert "version" not in prep.columns


def test_defaults_fill_missing_values() -> None:
    frame = pd.DataFrame({"status": [None, "Confirmed"], "name": ["a", "b"]})
    prep = prepare_columns(HAZARDS, frame)
    assert prep.problems == []
    assert prep.columns["status"] == ["suspected", "confirmed"]
    assert prep.columns["hazard_type"] == ["SHA", "CHA"]  # a confirmed area's follows its status
    items = prepare_columns(ITEMS, pd.DataFrame({"category": ["uxo"], "state": ["live"]}))
    assert items.columns["quantity"] == [1]


def test_event_ranges_and_dates() -> None:
    cols: dict[str, list[Any]] = {
        "quantity_low": [1, 20, None, 5],
        "quantity_best": [10, 10, 10, None],
        "quantity_high": [30, None, 5, 1],
        "emplaced_on": ["2022-03-01", "2022-03-01", "2022-03-01", "2022-03-01"],
        "emplaced_until": ["2022-03-02", None, "2022-02-28", "2022-03-01"],
    }
    problems = {(p.row, p.field) for p in check_event_ranges(cols)}
    assert problems == {(1, "quantity_low"), (2, "quantity_high"), (2, "emplaced_until")}


def test_activity_dates() -> None:
    cols = {"start_date": ["2024-01-02", "2024-01-02", None], "end_date": ["2024-01-01", None, "x"]}
    assert [(p.row, p.field) for p in check_activity_dates(cols)] == [(0, "end_date")]


# -- dates in the future ------------------------------------------------------------------

TODAY = dt.date(2026, 11, 29)
DATE_FIELDS = [(k, f.name) for k in KINDS.values() for f in k.fields if f.kind == "date"]


@pytest.fixture
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    """Today is TODAY for the checks, and the tolerance its default."""
    monkeypatch.setattr(validate, "today", lambda: TODAY)
    monkeypatch.delenv(FUTURE_TOLERANCE_ENV, raising=False)
    return TODAY


def _days(n: int) -> str:
    return (TODAY + dt.timedelta(days=n)).isoformat()


def test_an_accident_dated_in_the_future_is_refused_naming_the_field(fixed_today: dt.date) -> None:
    frame = pd.DataFrame({"occurred_on": ["2024-05-01", "2099-01-01", None]})
    prep = prepare_columns(ACCIDENTS, frame)
    assert [(p.row, p.field, p.message) for p in prep.problems if p.row == 1] == [
        (
            1,
            "occurred_on",
            "occurred_on 2099-01-01 lies in the future (today is 2026-11-29); check the date",
        )
    ]
    assert {p.row for p in prep.problems} == {1, 2}  # row 2: occurred_on is required


@pytest.mark.parametrize(("kind", "name"), DATE_FIELDS, ids=lambda x: getattr(x, "name", x))
def test_every_date_of_what_happened_may_not_lie_after_tomorrow(
    fixed_today: dt.date, kind: object, name: str
) -> None:
    frame = pd.DataFrame({name: [_days(-400), _days(0), _days(1), _days(2), _days(400)]})
    if kind is ACTIVITIES:
        frame["status"] = "completed"
    prep = prepare_columns(kind, frame)  # type: ignore[arg-type]
    late = [(p.row, p.message) for p in prep.problems if p.field == name]
    assert [row for row, _ in late] == [3, 4]
    assert (
        late[0][1] == f"{name} {_days(2)} lies in the future (today is 2026-11-29); check the date"
    )


def test_future_dates_are_found_among_many_rows_sharing_them(fixed_today: dt.date) -> None:
    dates = np.where(np.arange(10_000) % 7 == 3, _days(30), _days(-10))
    prep = prepare_columns(ITEMS, pd.DataFrame({"found_on": dates}))
    late = [p.row for p in prep.problems if p.field == "found_on"]
    assert late == np.flatnonzero(np.arange(10_000) % 7 == 3).tolist()


@pytest.mark.parametrize(
    ("status", "refused"),
    [("completed", {"start_date", "end_date"}), ("open", set()), ("planned", set())],
)
def test_an_unfinished_activity_may_be_scheduled_but_a_completed_one_not(
    fixed_today: dt.date, status: str, refused: set[str]
) -> None:
    frame = pd.DataFrame({"status": [status], "start_date": [_days(10)], "end_date": [_days(40)]})
    prep = prepare_columns(ACTIVITIES, frame)
    assert {p.field for p in prep.problems if "future" in p.message} == refused


def test_an_activity_with_no_status_given_is_open_and_so_may_be_scheduled(
    fixed_today: dt.date,
) -> None:
    frame = pd.DataFrame({"status": [None, "completed"], "end_date": [_days(40), _days(40)]})
    prep = prepare_columns(ACTIVITIES, frame)
    assert [(p.row, p.field) for p in prep.problems if "future" in p.message] == [(1, "end_date")]


def test_emplaced_until_is_a_date_of_the_past_too(fixed_today: dt.date) -> None:
    frame = pd.DataFrame({"emplaced_on": ["2022-03-01"], "emplaced_until": [_days(60)]})
    prep = prepare_columns(EVENTS, frame)
    assert [p.field for p in prep.problems if "future" in p.message] == ["emplaced_until"]


@pytest.mark.parametrize(("days", "refused_from"), [("0", 1), ("30", 31), (" 7 ", 8)])
def test_the_tolerance_is_read_from_the_environment_at_each_check(
    fixed_today: dt.date, monkeypatch: pytest.MonkeyPatch, days: str, refused_from: int
) -> None:
    monkeypatch.setenv(FUTURE_TOLERANCE_ENV, days)
    offsets = [0, refused_from - 1, refused_from, refused_from + 1]
    frame = pd.DataFrame({"reported_on": [_days(n) for n in offsets]})
    prep = prepare_columns(HAZARDS, frame)
    assert [p.row for p in prep.problems] == [2, 3]


def test_a_huge_tolerance_allows_any_date(
    fixed_today: dt.date, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FUTURE_TOLERANCE_ENV, "999999999999")
    prep = prepare_columns(HAZARDS, pd.DataFrame({"reported_on": ["9999-12-31"]}))
    assert prep.problems == []


@pytest.mark.parametrize("value", ["one", "-1", "1.5", "1 day"])
def test_an_unreadable_tolerance_is_a_clear_error(
    fixed_today: dt.date, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(FUTURE_TOLERANCE_ENV, value)
    with pytest.raises(LandreleaseError, match=f"{FUTURE_TOLERANCE_ENV}=.*whole number"):
        prepare_columns(HAZARDS, pd.DataFrame({"reported_on": ["2024-01-01"]}))


def test_today_is_taken_when_the_check_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FUTURE_TOLERANCE_ENV, raising=False)
    frame = pd.DataFrame({"category": ["uxo"], "state": ["live"], "found_on": ["2030-06-01"]})
    monkeypatch.setattr(validate, "today", lambda: dt.date(2030, 1, 1))
    assert [p.field for p in prepare_columns(ITEMS, frame).problems] == ["found_on"]
    monkeypatch.setattr(validate, "today", lambda: dt.date(2030, 6, 1))
    assert prepare_columns(ITEMS, frame).problems == []
