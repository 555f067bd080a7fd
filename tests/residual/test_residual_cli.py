"""`landrelease residual`: the commands through Typer, and once end to end with a registry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

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


def test_estimate_json_has_the_promised_keys(tmp_path: Path):
    png = tmp_path / "chart.png"
    args = [*BASE, "--at", "2024-06-15", "--seed", "3", "--draws", "2000", "--json"]
    result = runner.invoke(app, [*args, "--plot", str(png)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("expected_live", "live_p05", "live_p95", "p_any_live", "safe_date"):
        assert key in data
    assert data["safe_date"] is None and "never" in data["safe_date_reason"]
    assert data["expected_live"] == pytest.approx(4.0)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = json.loads(runner.invoke(app, [*args]).stdout)
    assert again == data  # a seed reproduces a run


def test_estimate_human_output_speaks_plainly():
    result = runner.invoke(app, [*BASE, "--count", "3", "--at", "2024-06-15", "--seed", "1"])
    assert result.exit_code == 0, result.output
    for words in ("expected live devices", "90% range", "chance at least one", "safe date"):
        assert words in result.output


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


def test_area_end_to_end(tmp_path: Path):
    registry = pytest.importorskip("landrelease.registry")
    shapely = pytest.importorskip("shapely")
    db = tmp_path / "reg.gpkg"
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
    result = runner.invoke(app, ["area", empty, "--db", str(db)])
    assert isinstance(result.exception, ValidationError)
    assert "no contamination events" in str(result.exception)
    result = runner.invoke(app, ["area", "UA-1999-99999", "--db", str(db)])
    assert result.exit_code != 0
