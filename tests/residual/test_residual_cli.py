"""`landrelease residual`: the commands through Typer, and once end to end with a registry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import NewRegistry
from landrelease.cli.residual import app
from landrelease.domain.errors import ValidationError

runner = CliRunner()
BASE = ["estimate", "--profile", "ccw-apii-minimum", "--count", "40", "--emplaced", "2024-05-01"]


def test_profiles_lists_and_prints_json():
    result = runner.invoke(app, ["profiles"])
    assert result.exit_code == 0, result.output
    assert "ccw-apii-minimum" in result.output
    result = runner.invoke(app, ["profiles", "--json"])
    data = json.loads(result.output)
    assert {p["id"] for p in data} >= {"ccw-apii-minimum", "persistent-ap-mine"}
    fail = next(p for p in data if p["id"] == "ccw-apii-minimum")["self_deactivate"]["fail"]
    assert fail["prior_strength"] > 0 and fail["prior_strength_reason"]


def test_profiles_show_prior_strength_and_stated_range_beside_the_model():
    from landrelease.registry import Registry

    out = runner.invoke(app, ["profiles"]).output
    assert "prior" in out and "stated range" in out and "model there" in out
    for p in Registry.residual_profiles():
        for frac in p.fractions().values():
            assert f"{frac.prior_strength:,.0f}" in out
            if frac.low is not None and frac.high is not None:
                q_lo, q_hi = frac.range_quantiles
                line = next(
                    ln
                    for ln in out.splitlines()
                    if f" {frac.low:.3g} to {frac.high:.3g} " in ln
                    and f" {q_lo:.3g}-{q_hi:.3g} " in ln
                )
                model = f"{float(frac.ppf(q_lo)):.3g} to {float(frac.ppf(q_hi)):.3g}"
                assert line.rstrip(" │").endswith(model)


def test_estimate_json_has_the_promised_keys(tmp_path: Path):
    png = tmp_path / "chart.png"
    args = [*BASE, "--at", "2024-06-15", "--seed", "3", "--draws", "2000", "--json"]
    result = runner.invoke(app, [*args, "--plot", str(png)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in (
        "expected_live",
        "expected_live_p05",
        "expected_live_p95",
        "actual_live_low",
        "actual_live_high",
        "p_any_live",
        "safe_date",
    ):
        assert key in data
    assert data["safe_date"] is None and "never" in data["safe_date_reason"]
    assert data["expected_live"] == pytest.approx(4.0)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = json.loads(runner.invoke(app, [*args]).stdout)
    assert again == data  # a seed reproduces a run


def test_estimate_human_output_speaks_plainly():
    result = runner.invoke(app, [*BASE, "--count", "3", "--at", "2024-06-15", "--seed", "1"])
    assert result.exit_code == 0, result.output
    for words in (
        "expected live devices",
        "range of the expected count (90%)",
        "actual number live (90% range)",
        "chance at least one",
        "safe date",
    ):
        assert words in result.output


def test_the_treaty_minimum_at_day_120_may_leave_0_to_2_live():
    args = ["estimate", "--profile", "ccw-apii-minimum", "--count", "1000"]
    args += ["--emplaced", "2024-01-01", "--at", "2024-05-01", "--seed", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if "actual number live" in ln)
    assert "0 to 2" in line
    data = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert (data["actual_live_low"], data["actual_live_high"]) == (0, 2)
    assert data["expected_live"] == pytest.approx(1.0)


def test_a_bad_count_alone_names_count(run_cli):
    code, _, err = run_cli(["residual", *BASE, "--count", "-3", "--at", "2024-06-15"])
    assert code == 2
    assert err == "error: residual: --count: must be 0 or more, got -3\n"
    code, _, err = run_cli(["residual", *BASE, "--count-low", "50", "--at", "2024-06-15"])
    assert code == 2
    assert err == "error: residual: --count-low: 50 is above the best count 40; lower it\n"


@pytest.mark.parametrize(
    "extra",
    [
        ["--at", "2024-06-15", "--profile", "no-such-device"],
        ["--at", "2024-06-15", "--count", "-3"],
        ["--at", "2024-06-15", "--count-low", "50"],
        ["--at", "2024-06-15", "--emplaced-until", "2024-04-01"],
        ["--at", "2024-04-15"],
        ["--at", "2024-06-15", "--threshold", "1.5"],
        ["--at", "2024-06-15", "--threshold", "0"],
        ["--at", "15/06/2024"],
    ],
)
def test_bad_input_raises_a_validation_error(extra):
    result = runner.invoke(app, [*BASE, *extra])
    assert result.exit_code != 0
    assert isinstance(result.exception, ValidationError)


def _main_cli() -> Path | None:
    exe = Path(sys.executable).with_name("landrelease")
    return exe if exe.exists() else None


@pytest.mark.skipif(_main_cli() is None, reason="the landrelease entry point is not installed")
def test_main_cli_exits_2_with_one_line():
    exe = _main_cli()
    args = [*BASE, "--at", "2024-06-15", "--threshold", "2"]
    proc = subprocess.run([str(exe), "residual", *args], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "threshold" in lines[0]


def test_area_end_to_end(tmp_path: Path, new_registry: NewRegistry):
    registry = pytest.importorskip("landrelease.registry")
    shapely = pytest.importorskip("shapely")
    db = new_registry("reg")
    with registry.Registry.open(db, create=True) as reg:
        (ref,) = reg.add_records(
            "hazards",
            [{"name": "Field by the road", "geometry": shapely.box(30.5, 50.4, 30.51, 50.41)}],
            actor="test",
            reason="test",
        )
        (empty,) = reg.add_records(
            "hazards",
            [{"name": "Nothing recorded", "geometry": shapely.box(30.6, 50.4, 30.61, 50.41)}],
            actor="test",
            reason="test",
        )
        reg.add_records(
            "events",
            [
                {
                    "area_ref": ref,
                    "profile_id": "ccw-apii-minimum",
                    "quantity_best": 40,
                    "emplaced_on": "2024-05-01",
                }
            ],
            actor="test",
            reason="test",
        )
    png = tmp_path / "area.png"
    args = ["area", ref, "--db", str(db), "--at", "2024-06-15", "--seed", "1", "--json"]
    result = runner.invoke(app, [*args, "--plot", str(png)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["expected_live"] == pytest.approx(4.0)
    assert data["area_ref"] == ref and data["safe_date"] is None
    assert png.exists()
    assert data["finds_moved"] == []
    result = runner.invoke(app, ["area", empty, "--db", str(db)])
    assert isinstance(result.exception, ValidationError)
    assert "no contamination events" in str(result.exception)
    result = runner.invoke(app, ["area", "UA-1999-99999", "--db", str(db)])
    assert result.exit_code != 0


def test_area_shows_what_the_finds_moved(new_registry: NewRegistry):
    from fixtures import polygon
    from landrelease.registry import Registry

    db = new_registry("reg")
    with Registry.open(db, create=True) as reg:
        (ref,) = reg.add_records(
            "hazards", [{"name": "Orchard", "geometry": polygon(3)}], actor="test"
        )
        reg.add_records(
            "events",
            [
                {
                    "area_ref": ref,
                    "profile_id": "ccw-apii-minimum",
                    "quantity_best": 1000,
                    "emplaced_on": "2024-01-01",
                }
            ],
            actor="test",
        )
        reg.add_records(  # found live long after the self-deactivation day (synthetic)
            "items",
            [
                {
                    "area_ref": ref,
                    "category": "ap_mine",
                    "state": "live",
                    "quantity": 3,
                    "found_on": "2024-09-01",
                    "geometry": polygon(3).centroid,
                }
            ],
            actor="test",
        )
    args = ["area", ref, "--db", str(db), "--at", "2024-10-01", "--seed", "1", "--draws", "2000"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "What the finds moved" in result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("│ ccw-apii-minimum"))
    assert [c.strip() for c in line.split("│")[2:4]] == ["3", "0"]  # found live, inert
    assert "self-deactivate" in result.output
    data = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    (moved,) = data["finds_moved"]
    assert (moved["profile_id"], moved["stage"], moved["live"]) == (
        "ccw-apii-minimum",
        "self_deactivate",
        3,
    )
    assert moved["after"] > moved["before"]
