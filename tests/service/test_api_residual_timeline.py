"""The residual estimate of one area and its curve over time, on the synthetic demo registry:
GET /api/hazards/{ref}/residual/timeline gives the series the chart of `landrelease residual
area REF --plot` draws, and GET /api/hazards/{ref}/residual names its two ranges apart (the
expected count's and the actual number's) and what the area's finds moved."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fixtures import hazard
from landrelease.registry import Registry
from landrelease.residual import plot
from landrelease.service import schemas as s

ClientFor = Callable[..., TestClient]


@pytest.fixture
def reader(client_for: ClientFor, demo_db: Path, demo_tokens: dict[str, str]) -> TestClient:
    return client_for(demo_db, demo_tokens["viewer"])


def _area_with_events(client: TestClient) -> str:
    ref: str = client.get("/api/events", params={"limit": 1}).json()["items"][0]["area_ref"]
    return ref


def test_the_curve_is_the_one_the_cli_plots(
    reader: TestClient,
    demo_db: Path,
    run_cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    area = _area_with_events(reader)
    r = reader.get(
        f"/api/hazards/{area}/residual/timeline",
        params={"at": "2025-06-01", "seed": 7, "draws": 500},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    drawn: list[Any] = []
    # what the CLI hands to the plotting function is the series it draws
    monkeypatch.setattr(plot, "plot_timeline", lambda line, est, path, **kw: drawn.append(line))
    args = ["residual", "area", area, "--db", demo_db, "--at", "2025-06-01"]
    code, _out, err = run_cli(
        [*args, "--seed", "7", "--draws", "500", "--plot", tmp_path / "c.png"]
    )
    assert code == 0, err
    (line,) = drawn
    assert body["area_ref"] == area and body["at"] == "2025-06-01" and body["seed"] == 7
    assert body["dates"] == [d.isoformat() for d in line.dates]
    assert body["expected_live"] == [float(v) for v in line.mean]
    assert body["expected_live_p05"] == [float(v) for v in line.p05]
    assert body["expected_live_p95"] == [float(v) for v in line.p95]
    assert body["actual_live_low"] == [int(v) for v in line.actual_low]
    assert body["actual_live_high"] == [int(v) for v in line.actual_high]
    assert body["p_any_live"] == [float(v) for v in line.p_any]
    assert len(body["dates"]) > 10
    assert body["dates"][0] == body["emplaced_on"] <= body["at"] <= body["dates"][-1]
    bands = zip(body["expected_live_p05"], body["expected_live_p95"], strict=True)
    assert all(lo <= hi for lo, hi in bands)
    actual = zip(body["actual_live_low"], body["actual_live_high"], strict=True)
    assert all(0 <= lo <= hi and isinstance(lo, int) for lo, hi in actual)
    for gone in ("live_p05", "live_p95"):  # the old name of the expected count's range
        assert gone not in body


def test_the_same_seed_repeats_the_curve(reader: TestClient) -> None:
    area = _area_with_events(reader)
    url = f"/api/hazards/{area}/residual/timeline"
    a = reader.get(url, params={"seed": 3, "draws": 200}).json()
    b = reader.get(url, params={"seed": 3, "draws": 200}).json()
    assert a == b


def test_a_curve_needs_events_sound_parameters_and_a_reader(
    client_for: ClientFor, demo_copy: Path, demo_tokens: dict[str, str]
) -> None:
    editor = client_for(demo_copy, demo_tokens["editor"])
    area = _area_with_events(editor)
    url = f"/api/hazards/{area}/residual/timeline"
    for bad in ({"draws": 10}, {"seed": -1}, {"at": "1990-01-01"}, {"at": "someday"}):
        r = editor.get(url, params=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert editor.get("/api/hazards/UA-1999-99999/residual/timeline").status_code == 404
    public = client_for(demo_copy)
    assert public.get(url).status_code == 401


def _treaty_minimum_area(reg: Registry, i: int, live_found: int = 0) -> str:
    """Add a synthetic area holding 1,000 mines of the treaty-minimum profile emplaced on
    2024-01-01, with `live_found` live ones found after the self-deactivation day."""
    [ref] = reg.add_records("hazards", [hazard(i, name=f"synthetic residual {i}")], actor="t")
    event = {
        "area_ref": ref,
        "profile_id": "ccw-apii-minimum",
        "quantity_best": 1000,
        "emplaced_on": "2024-01-01",
    }
    reg.add_records("events", [event], actor="t")
    if live_found:
        item = {
            "area_ref": ref,
            "category": "ap_mine",
            "state": "live",
            "quantity": live_found,
            "found_on": "2024-06-01",
            "geometry": reg.hazard(ref).geometry.centroid,
        }
        reg.add_records("items", [item], actor="t")
    return ref


def test_the_estimate_names_both_ranges_and_what_the_finds_moved(
    client_for: ClientFor, demo_copy: Path, demo_tokens: dict[str, str]
) -> None:
    with Registry.open(demo_copy) as reg:
        plain = _treaty_minimum_area(reg, 91)
        found = _treaty_minimum_area(reg, 92, live_found=3)
    client = client_for(demo_copy, demo_tokens["viewer"])
    query = {"at": "2024-06-01", "seed": 1, "draws": 20_000}

    r = client.get(f"/api/hazards/{plain}/residual", params=query)
    assert r.status_code == 200, r.text
    body = s.Residual.model_validate(r.json())
    # the treaty minimum at day 120 and after: 1 expected, 0 to 2 actually live
    assert body.expected_live == pytest.approx(1.0)
    assert body.expected_live_p05 < 1.0 < body.expected_live_p95
    assert (body.actual_live_low, body.actual_live_high) == (0, 2)
    assert 0.55 < body.p_any_live < 0.65  # P(none live) about 0.4
    assert body.finds_moved == []

    r = client.get(f"/api/hazards/{found}/residual", params=query)
    assert r.status_code == 200, r.text
    body = s.Residual.model_validate(r.json())
    (shift,) = body.finds_moved
    assert (shift.profile_id, shift.stage, shift.live, shift.inert) == (
        "ccw-apii-minimum",
        "self_deactivate",
        3,
        0,
    )
    assert shift.before == pytest.approx(0.01)  # the treaty's figure, before the finds
    assert shift.prior_strength > 0
    assert shift.after > shift.before  # 3 live of 3: more fail to self-deactivate than stated
    assert shift.before_range[0] < shift.before < shift.before_range[1]
    assert shift.after_range[0] < shift.after < shift.after_range[1]
    assert body.expected_live > 1.0
