"""The CLI's tables at 80 columns (what rich assumes when output is piped) and at 200.

Refs, timestamps, dates, statuses, codes and numbers must come out whole, on one line, so
that they can be read and copied (`hazards list | grep`, then `hazards show REF`); only free
text (names, reasons, notes) may wrap or be shortened. The commands run in-process with
COLUMNS set, which is how rich sizes its console when stdout is not a terminal.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import shapely
from rich.cells import cell_len

from backends import copy_registry
from fixtures import KHARKIV, hazard, polygon, write_geojson
from landrelease.cli import common
from landrelease.registry import Registry
from landrelease.residual import load_profiles

WIDTHS = [80, 200]
INSPECTOR = "inspector.kovalenko"
NAME = "Field beside the road from Velyka Oleksandrivka to Novovorontsovka [north]"
REASON = "operator report 17/2024: fragments of an AP mine seen at the edge of the orchard"
CODES = ["ap_mine", "av_mine", "cmr", "uxo", "ied"]


@pytest.fixture
def width(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Set COLUMNS as a terminal (or a user) would; rich's console reads it on each print."""
    columns: int = request.param
    monkeypatch.setenv("COLUMNS", str(columns))
    assert common.console.width == columns, "rich fixed its width before the test ran"
    return columns


def _with_long_values(path: Path) -> dict[str, Any]:
    """Add areas with long names, several codes, statuses by a named actor with long reasons."""
    with Registry.open(path) as reg:
        refs = reg.add_records(
            "hazards",
            [
                hazard(40 + i, name=f"{NAME} {i}", contamination=";".join(CODES[: 2 + i]))
                for i in range(3)
            ],
            actor=INSPECTOR,
            reason=REASON,
        )
        confirmed, in_progress, _ = refs
        reg.set_status(confirmed, "confirmed", actor=INSPECTOR, reason=REASON)
        reg.add_records(
            "activities",
            [
                {
                    "area_ref": in_progress,
                    "activity_type": "ts",
                    "status": "open",
                    "start_date": "2024-05-01",
                    "geometry": reg.hazard(in_progress).geometry,
                }
            ],
            actor=INSPECTOR,
        )
        reg.set_status(in_progress, "in_progress", actor=INSPECTOR, reason=REASON)
        reg.add_records(
            "events",
            [
                {
                    "area_ref": in_progress,
                    "profile_id": "ccw-apii-minimum",
                    "quantity_best": 40,
                    "emplaced_on": "2024-05-01",
                }
            ],
            actor=INSPECTOR,
        )
    return {"path": path, "confirmed": confirmed, "in_progress": in_progress}


@pytest.fixture
def long(registry_path: Path) -> dict[str, Any]:
    """This test's registry with long refs, names, reasons and an actor's name."""
    return _with_long_values(registry_path)


def assert_whole(out: str, width: int, values: Iterable[Any]) -> None:
    """Assert each value is in `out` whole, no line is wider than `width` and nothing is cut."""
    values = {str(v) for v in values}
    for value in values:
        pattern = rf"(?<![\w.:-]){re.escape(value)}(?![\w.:-])"
        assert re.search(pattern, out), f"{value!r} is not whole in:\n{out}"
    for line in out.splitlines():
        assert cell_len(line) <= width, f"line wider than {width}: {line!r}"
    for cut in re.findall(r"[\w.:-]+…", out):  # "UA-2024-0…", "in_prog…", "2024-05-01T…"
        assert not any(v.startswith(cut[:-1]) for v in values), f"{cut!r} cuts a value:\n{out}"


def cli_json(run_cli: Any, args: list[Any]) -> Any:
    code, out, err = run_cli([*args, "--json"])
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("width", WIDTHS, indirect=True)
def test_hazards_list_keeps_refs_statuses_codes_and_numbers_whole(
    run_cli: Any, long: dict[str, Any], width: int
) -> None:
    rows = cli_json(run_cli, ["hazards", "list", "--db", long["path"]])
    code, out, err = run_cli(["hazards", "list", "--db", long["path"]])
    assert code == 0, err
    assert {"in_progress", "confirmed", "suspected"} <= {r["status"] for r in rows}
    assert_whole(
        out,
        width,
        [r["ref"] for r in rows]
        + [r["status"] for r in rows]
        + [r["hazard_type"] for r in rows]
        + [c for r in rows for c in r["contamination"]]
        + [f"{r['area_m2'] / 1e4:,.2f}" for r in rows],
    )
    for r in rows:  # one line holds each area's ref, status, type, area and version
        line = next(ln for ln in out.splitlines() if r["ref"] in ln)
        for value in (r["status"], r["hazard_type"], f"{r['area_m2'] / 1e4:,.2f}"):
            assert value in line
        assert line.rstrip(" │").endswith(f" {r['version']}")
    if width >= 200:  # room for the whole name, brackets kept as text, not rich markup
        assert f"{NAME} 0" in out


@pytest.mark.parametrize("width", WIDTHS, indirect=True)
def test_hazards_show_keeps_every_value_whole(
    run_cli: Any, long: dict[str, Any], width: int
) -> None:
    ref = long["in_progress"]
    data = cli_json(run_cli, ["hazards", "show", ref, "--db", long["path"]])
    code, out, err = run_cli(["hazards", "show", ref, "--db", long["path"]])
    assert code == 0, err
    assert_whole(
        out,
        width,
        [ref, data["status"], data["hazard_type"], data["reported_on"], *data["contamination"]],
    )
    assert "[north]" in out  # the name is text, not markup


@pytest.mark.parametrize("width", WIDTHS, indirect=True)
def test_history_keeps_timestamps_actors_and_statuses_whole(
    run_cli: Any, long: dict[str, Any], width: int
) -> None:
    ref = long["in_progress"]
    rows = cli_json(run_cli, ["history", ref, "--db", long["path"]])
    code, out, err = run_cli(["history", ref, "--db", long["path"]])
    assert code == 0, err
    assert len(rows) == 2 and all(re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z?", r["at"]) for r in rows)
    assert_whole(
        out,
        width,
        [ref, INSPECTOR, "suspected", "in_progress", "create", "status"] + [r["at"] for r in rows],
    )


@pytest.mark.parametrize("width", WIDTHS, indirect=True)
def test_demo_summary_keeps_statuses_and_counts_whole(
    run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    import landrelease.demo

    small = functools.partial(landrelease.demo.build_demo, areas=20)
    monkeypatch.setattr(landrelease.demo, "build_demo", small)
    path = tmp_path / "a-demo-registry-in-a-folder-with-a-long-name" / "demo.gpkg"
    path.parent.mkdir()
    code, out, err = run_cli(["demo", "--db", path])
    assert code == 0, err
    with Registry.open(path) as reg:
        statuses = set(reg.hazard_columns(columns=("status",))["status"])
    table = out[out.index("┏") : out.index("Total hazardous area")]
    assert_whole(table, width, [*statuses, "hazards", "events", "activities", "items"])
    assert f"Try: landrelease hazards list --db {path} --status confirmed" in out


@pytest.mark.parametrize("width", WIDTHS, indirect=True)
def test_residual_profiles_keep_ids_codes_and_figures_whole(run_cli: Any, width: int) -> None:
    code, out, err = run_cli(["residual", "profiles"])
    assert code == 0, err
    profiles = list(load_profiles().values())
    days = [
        f"{p.self_destruct.earliest_days:g}-{p.self_destruct.latest_days:g}"
        for p in profiles
        if p.self_destruct and p.self_destruct.earliest_days != p.self_destruct.latest_days
    ]
    assert days  # a range of days, the value the old table cut
    assert_whole(
        out,
        width,
        [p.id for p in profiles]
        + [p.category for p in profiles]
        + [p.basis for p in profiles]
        + [f"{p.floor:.3g}" for p in profiles]
        + days,
    )
    for p in profiles:  # the profile's row holds its figures
        line = next(ln for ln in out.splitlines() if re.search(rf"│ {p.id}\s+│ {p.category} ", ln))
        assert p.basis in line and line.rstrip(" │").endswith(f" {p.floor:.3g}")


@pytest.mark.parametrize("width", WIDTHS, indirect=True)
def test_residual_estimate_and_area_keep_figures_and_dates_whole(
    run_cli: Any, long: dict[str, Any], width: int
) -> None:
    args = ["residual", "estimate", "--profile", "ccw-apii-minimum", "--count", "40"]
    args += ["--emplaced", "2024-05-01", "--at", "2024-06-15", "--seed", "3"]
    args += ["--threshold", "0.05", "--draws", "2000"]
    area = ["residual", "area", long["in_progress"], "--db", long["path"]]
    area += ["--at", "2024-06-15", "--seed", "3", "--draws", "2000"]
    for cmd in (args, area):
        est = cli_json(run_cli, cmd)
        code, out, err = run_cli(cmd)
        assert code == 0, err
        figures = [
            f"{est['expected_live']:.3g}",
            f"{est['expected_live_p05']:.3g} to {est['expected_live_p95']:.3g}",
            f"{est['p_any_live']:.2%}",
            est["safe_date"] or "none",
            "2024-06-15",
        ]
        if cmd is area:
            figures.append(long["in_progress"])
        assert_whole(out, width, figures)
    assert "[north]" in " ".join(out.split())  # the area's name, in the title


@pytest.mark.parametrize("width", WIDTHS, indirect=True)
def test_import_prints_each_path_and_warning_on_one_line(
    run_cli: Any, registry_path: Path, tmp_path: Path, width: int
) -> None:
    x, y = KHARKIV[0] + 0.5, KHARKIV[1] - 0.5
    folder = tmp_path / "field-reports-from-the-kharkiv-oblast-operators-spring-2024"
    folder.mkdir()
    src = write_geojson(
        folder / "overlapping-areas.geojson",
        [
            hazard(80, ref="UA-2024-10001", geometry=shapely.box(x, y, x + 0.01, y + 0.01)),
            hazard(
                81, ref="UA-2024-10002", geometry=shapely.box(x + 0.005, y, x + 0.015, y + 0.01)
            ),
            hazard(82, ref="UA-2024-10003", geometry=polygon(82)),
        ],
    )
    twin = copy_registry(registry_path, tmp_path / "twin.gpkg")  # to read the report as JSON
    report = cli_json(run_cli, ["import", src, "--db", twin, "--keep-status"])
    assert report["warnings"]
    code, out, err = run_cli(["import", src, "--db", registry_path, "--keep-status"])
    assert code == 0, err
    lines = out.splitlines()
    assert f"Imported 3 hazards from {src}" in lines
    for warning in report["warnings"]:
        assert f"Warning: {warning}" in lines


@pytest.mark.parametrize("width", [60], indirect=True)
def test_a_table_too_wide_for_its_identifiers_runs_long_rather_than_cut(
    run_cli: Any, long: dict[str, Any], width: int
) -> None:
    rows = cli_json(run_cli, ["hazards", "list", "--db", long["path"]])
    code, out, err = run_cli(["hazards", "list", "--db", long["path"]])
    assert code == 0, err
    wide = max(cell_len(line) for line in out.splitlines())
    assert wide > width  # the terminal wraps the lines; nothing is cropped at its edge
    assert_whole(out, wide, [r["ref"] for r in rows] + [r["status"] for r in rows])
    assert all(
        line.rstrip(" │").endswith(f" {r['version']}")
        for r in rows
        for line in out.splitlines()
        if r["ref"] in line
    )


def test_hazards_list_piped_without_columns_keeps_refs_whole(long: dict[str, Any]) -> None:
    """The installed command, its stdout a pipe, no COLUMNS: rich falls back to 80."""
    exe = Path(sys.executable).with_name("landrelease")
    if not exe.exists():
        pytest.skip("the landrelease entry point is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.run(
        [str(exe), "hazards", "list", "--db", str(long["path"])],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    with Registry.open(long["path"]) as reg:
        cols = reg.hazard_columns(columns=("ref", "status"))
    assert_whole(proc.stdout, 80, [*cols["ref"], *cols["status"]])
