"""GET /api/residual (every area's estimate from one run) and GET /api/residual/profiles
(the device profiles): the Registry's numbers, to signed-in readers only, on the synthetic
demo registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from landrelease.registry import Registry
from landrelease.service import schemas as s

ClientFor = Callable[..., TestClient]
PROBLEM = "application/problem+json"


@pytest.fixture
def reader(client_for: ClientFor, demo_db: Path, demo_tokens: dict[str, str]) -> TestClient:
    return client_for(demo_db, demo_tokens["viewer"])


def _as_json(value: Any) -> Any:
    """Return `value` as a JSON client reads it (numpy numbers and dates as the API sends them)."""
    return orjson.loads(orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY, default=str))


def test_every_area_gets_the_registry_numbers_for_the_same_seed(
    reader: TestClient, demo_db: Path
) -> None:
    query = {"at": "2025-06-01", "seed": 7, "draws": 400, "threshold": 0.05}
    r = reader.get("/api/residual", params=query)
    assert r.status_code == 200, r.text
    body = r.json()
    s.ResidualAll.model_validate(body)
    with Registry.open(demo_db) as reg:
        table = reg.residual_estimates(dt.date(2025, 6, 1), threshold=0.05, draws=400, seed=7)
    assert (body["at"], body["threshold"], body["draws"], body["seed"]) == (
        "2025-06-01",
        0.05,
        400,
        7,
    )
    assert body["areas"] == _as_json(table.rows())
    assert len(body["areas"]) > 100  # the demo's areas with contamination events
    for row in body["areas"]:
        assert row["expected_p05"] <= row["expected"] <= row["expected_p95"] + 1e-9, row
        assert 0 <= row["actual_low"] <= row["actual_high"], row
        assert 0.0 <= row["p_any_live"] <= 1.0, row
        assert row["safe_date"] is None or row["safe_date"] >= "2022-03-01", row


def test_the_same_seed_repeats_the_run(reader: TestClient) -> None:
    first = reader.get("/api/residual", params={"at": "2025-01-01", "draws": 200})
    assert first.status_code == 200, first.text
    seed = first.json()["seed"]  # chosen by the run, and given back so that it can be repeated
    again = reader.get("/api/residual", params={"at": "2025-01-01", "draws": 200, "seed": seed})
    assert again.json() == first.json()


def test_the_profiles_are_the_registry_profiles(reader: TestClient, demo_db: Path) -> None:
    r = reader.get("/api/residual/profiles")
    assert r.status_code == 200, r.text
    body = r.json()
    s.ResidualProfiles.model_validate(body)
    with Registry.open(demo_db) as reg:
        expected = [p.as_dict() for p in reg.residual_profiles()]
    assert body["profiles"] == _as_json(expected)
    by_id = {p["id"]: p for p in body["profiles"]}
    ccw = by_id["ccw-apii-minimum"]
    fail = ccw["self_deactivate"]["fail"]
    assert fail["point"] == pytest.approx(0.01)  # the treaty's figure, as the median
    assert fail["prior_strength"] > 0 and fail["prior_strength_reason"]
    assert fail["range_quantiles"] == [0.05, 0.95]
    assert by_id["persistent-ap-mine"]["persistent"] is True


@pytest.mark.parametrize("path", ["/api/residual", "/api/residual/profiles"])
def test_the_public_gets_401(client_for: ClientFor, demo_db: Path, path: str) -> None:
    r = client_for(demo_db).get(path)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"draws": 10}, "draws"),
        ({"draws": 10_001}, "draws"),  # the most one request may ask of the server
        ({"threshold": 0}, "threshold"),
        ({"threshold": 1.5}, "threshold"),
        ({"seed": -1}, "seed"),
        ({"at": "someday"}, "at"),
    ],
)
def test_unsound_parameters_are_refused(
    reader: TestClient, bad: dict[str, Any], field: str
) -> None:
    r = reader.get("/api/residual", params=bad)
    assert r.status_code == 422, (bad, r.text)
    assert r.headers["content-type"].startswith(PROBLEM)
    assert field in (r.json()["field"] or ""), r.json()
