"""The residual estimate of a recorded area, as a Registry use case (what the CLI calls)."""

from __future__ import annotations

import datetime as dt

import pytest

from fixtures import hazard
from landrelease.domain.errors import NotFound, ValidationError
from landrelease.registry import Registry


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
