"""GET /api/hazards/{ref}/residual/timeline: the residual curve of an area, the same series
as the chart of `landrelease residual area REF --plot`, on the synthetic demo registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from landrelease.residual import plot

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
    assert body["live_p05"] == [float(v) for v in line.p05]
    assert body["live_p95"] == [float(v) for v in line.p95]
    assert body["p_any_live"] == [float(v) for v in line.p_any]
    assert len(body["dates"]) > 10
    assert body["dates"][0] == body["emplaced_on"] <= body["at"] <= body["dates"][-1]
    assert all(lo <= hi for lo, hi in zip(body["live_p05"], body["live_p95"], strict=True))


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
