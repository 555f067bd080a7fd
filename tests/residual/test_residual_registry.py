"""The residual estimate of a recorded area, as a Registry use case (what the CLI calls)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from fixtures import hazard
from landrelease.domain.errors import NotFound, ValidationError
from landrelease.registry import Registry
from landrelease.store import geopackage as gpkg


def _with_events(reg: Registry, area: str, live_found: int = 0) -> None:
    reg.add_records(
        "events",
        [
            {
                "area_ref": area,
                "profile_id": "ccw-apii-minimum",
                "quantity_best": 400,
                "emplaced_on": "2024-05-01",
            }
        ],
        actor="t",
    )
    if live_found:
        reg.add_records(
            "items",
            [
                {
                    "area_ref": area,
                    "category": "ap_mine",
                    "state": "live",
                    "quantity": live_found,
                    "found_on": "2024-09-01",
                    "geometry": reg.hazard(area).geometry.centroid,
                }
            ],
            actor="t",
        )


def test_an_area_estimate_uses_its_events_and_says_what_it_used(
    reg: Registry, refs: dict[str, str]
) -> None:
    area = refs["forest"]
    _with_events(reg, area)
    res = reg.residual_estimate(area, dt.date(2024, 6, 15), seed=1, draws=2_000)
    assert res.area.ref == area and len(res.events) == 1 and res.items_found == 0
    # 400 devices, before the design's self-destruct day: about 10% are still live
    assert 30 < res.estimate.expected_live < 50
    data = res.as_dict()
    assert data["area_ref"] == area and data["events"] == res.events
    assert data["at"] == "2024-06-15" and data["cleared_share"] == 0.0


def test_clearing_part_of_an_area_lowers_what_is_left(reg: Registry, refs: dict[str, str]) -> None:
    area = refs["forest"]
    _with_events(reg, area)
    at = dt.date(2024, 6, 15)
    whole = reg.residual_estimate(area, at, seed=1, draws=2_000)
    half = reg.residual_estimate(area, at, cleared_share=0.5, seed=1, draws=2_000)
    assert half.estimate.expected_live == pytest.approx(whole.estimate.expected_live / 2, rel=0.05)
    assert any("not yet cleared" in n for n in half.notes)


def test_live_finds_are_taken_into_account(reg: Registry, refs: dict[str, str]) -> None:
    # Live devices found long after they should have self-destructed say the design fails
    # more often than its specification: more are expected to be left.
    at = dt.date(2025, 1, 15)
    quiet = refs["forest"]
    [found] = reg.add_records("hazards", [hazard(9)], actor="t")
    _with_events(reg, quiet)
    _with_events(reg, found, live_found=3)
    before = reg.residual_estimate(quiet, at, cleared_share=0.2, seed=1, draws=2_000)
    after = reg.residual_estimate(found, at, cleared_share=0.2, seed=1, draws=2_000)
    assert after.items_found == 3 and before.items_found == 0
    assert after.estimate.expected_live > before.estimate.expected_live
    assert any("live" in n for n in after.notes) and after.notes != before.notes


def test_bad_requests_name_the_area_and_the_field(reg: Registry, refs: dict[str, str]) -> None:
    area = refs["forest"]
    with pytest.raises(ValidationError) as info:
        reg.residual_estimate(area)  # no events recorded
    assert info.value.record == area and info.value.field == "events"
    _with_events(reg, area)
    with pytest.raises(ValidationError) as info:
        reg.residual_estimate(area, cleared_share=1.5)
    assert info.value.field == "cleared_share"
    with pytest.raises(ValidationError):
        reg.residual_estimate(area, threshold=0)
    with pytest.raises(NotFound):
        reg.residual_estimate("UA-1999-99999")


def test_every_area_at_once_accounts_for_each_areas_finds(
    reg: Registry, refs: dict[str, str]
) -> None:
    # Two areas with the same events; in one, 3 live devices found after the self-deactivation
    # day: its profile is its own, moved by the finds, and it is expected to hold more.
    at = dt.date(2025, 1, 15)
    quiet = refs["forest"]
    [found] = reg.add_records("hazards", [hazard(9)], actor="t")
    _with_events(reg, quiet)
    _with_events(reg, found, live_found=3)
    table = reg.residual_estimates(at, draws=2_000, seed=1)
    row = {r["ref"]: r for r in table.rows()}
    assert set(row) == {quiet, found, refs["kyiv"]}  # the areas with events, no other
    assert row[found]["finds_used"] and not row[quiet]["finds_used"]
    assert row[found]["expected"] > row[quiet]["expected"]
    single = reg.residual_estimate(found, at, draws=2_000, seed=1)
    assert single.shifts and single.as_dict()["finds_moved"][0]["live"] == 3
    # the batch and the single run agree on the expected count within Monte Carlo error
    assert row[found]["expected"] == pytest.approx(single.estimate.expected_live, rel=0.1)
    # the persistent area: everything stays live, never safe
    kyiv = row[refs["kyiv"]]
    assert kyiv["expected"] == pytest.approx(10) and kyiv["safe_date"] is None
    assert table.rows() == reg.residual_estimates(at, draws=2_000, seed=1).rows()


def test_every_area_at_once_checks_its_arguments(reg: Registry) -> None:
    for bad, field in (
        ({"threshold": 0.0}, "threshold"),
        ({"draws": 5}, "draws"),
        ({"seed": -1}, "seed"),
    ):
        with pytest.raises(ValidationError) as info:
            reg.residual_estimates(**bad)
        assert info.value.field == field


GOOD = {
    "profile": "ccw-apii-minimum",
    "count": 40,
    "emplaced_on": dt.date(2024, 5, 1),
    "at": dt.date(2024, 6, 15),
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"profile": "no-such-device"}, "profile"),
        ({"count": -3}, "count"),
        ({"count": -3, "count_low": 0}, "count"),
        ({"count_low": -1}, "count_low"),
        ({"count_low": 50}, "count_low"),
        ({"count_high": 30}, "count_high"),
        ({"emplaced_until": dt.date(2024, 4, 1)}, "emplaced_until"),
        ({"at": dt.date(2024, 4, 15)}, "at"),
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": 0.0}, "threshold"),
        ({"draws": 10}, "draws"),
    ],
)
def test_a_scenario_names_the_argument_given_wrongly(changes: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Registry.residual_scenario(**{**GOOD, **changes})
    assert (info.value.record, info.value.field) == ("residual", field)


def test_a_scenario_and_its_curve_share_the_draws() -> None:
    est = Registry.residual_scenario(**GOOD, seed=3, draws=2_000)
    assert est.expected_live == pytest.approx(4.0)
    chart = Registry.residual_scenario_timeline(**GOOD, seed=3, draws=2_000)
    assert chart.estimate == est
    assert [p.id for p in Registry.residual_profiles()][0] == "ccw-apii-minimum"


@pytest.mark.sqlite_only(reason="values typed into the file with sqlite3 as QGIS would")
@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("quantity_low", 900, "quantity_low"),
        ("emplaced_on", "last spring", "emplaced_on"),
        ("profile_id", "no-such-device", "profile_id"),
    ],
)
def test_an_event_edited_outside_landrelease_is_named_not_estimated(
    registry_path: Path, refs: dict[str, str], column: str, value: object, field: str
) -> None:
    conn = sqlite3.connect(registry_path, isolation_level=None)  # as QGIS edits the file
    gpkg.register_functions(conn)
    conn.execute(f"UPDATE contamination_events SET {column} = ?", (value,))
    conn.close()
    with Registry.open(registry_path) as reg, pytest.raises(ValidationError) as info:
        reg.residual_estimates(dt.date(2025, 1, 1), draws=200, seed=1)
    (event,) = reg.record_columns("events", columns=["ref"])["ref"]
    assert (info.value.record, info.value.field) == (event, field)
