"""`landrelease residual all`: every area's estimate from one run, over a synthetic demo registry.

The JSON, the GeoPackage and the CSV give the numbers of `Registry.residual_estimates` for the
same seed; a bad --out, a date before the emplacements and a registry without events each get
a clear answer.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyogrio
import pytest

from backends import new_registry_url
from landrelease.demo import build_demo
from landrelease.registry import Registry

AT = "2025-06-01"
RUN = ["--at", AT, "--seed", "5", "--draws", "300"]


@pytest.fixture(scope="module")
def demo(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small synthetic demo registry, built once for this module and only read."""
    path = new_registry_url(tmp_path_factory.mktemp("residual-all"), backend, "synthetic-demo")
    build_demo(path, seed=20240501, areas=40)
    return path


@pytest.fixture
def table(demo: Path) -> Any:
    with Registry.open(demo) as reg:
        return reg.residual_estimates(dt.date.fromisoformat(AT), draws=300, seed=5)


def _json(run_cli: Any, args: list[Any]) -> Any:
    code, out, err = run_cli(args)
    assert code == 0, err
    return json.loads(out)


def test_json_has_one_row_per_area_with_events_and_the_registry_numbers(
    run_cli: Any, demo: Path, table: Any
) -> None:
    body = _json(run_cli, ["residual", "all", "--db", demo, *RUN, "--json"])
    with Registry.open(demo) as reg:
        with_events = set(reg.record_columns("events", columns=["area_ref"])["area_ref"])
    assert [r["ref"] for r in body["areas"]] == sorted(with_events)
    assert (body["at"], body["draws"], body["seed"], body["threshold"]) == (AT, 300, 5, 0.01)
    assert body["areas"] == json.loads(json.dumps(table.rows()))
    row = body["areas"][0]
    for key in ("expected", "expected_p05", "expected_p95", "actual_low", "actual_high"):
        assert key in row
    assert row["safe_date"] is None or dt.date.fromisoformat(row["safe_date"])


def test_the_table_names_the_top_areas_and_the_totals(run_cli: Any, demo: Path, table: Any) -> None:
    code, out, err = run_cli(["residual", "all", "--db", demo, *RUN])
    assert code == 0, err
    top = max(range(len(table)), key=lambda i: table.expected[i])
    assert table.ref[top] in out
    assert f"{len(table):,} areas with events" in out
    assert f"{table.expected.sum():,.1f} expected live devices" in out


def test_a_geopackage_holds_each_area_outline_and_its_numbers(
    run_cli: Any, demo: Path, table: Any, tmp_path: Path
) -> None:
    out = tmp_path / "residual.gpkg"
    code, _, err = run_cli(["residual", "all", "--db", demo, *RUN, "--out", out])
    assert code == 0, err
    assert pyogrio.list_layers(out)[:, 0].tolist() == ["residual"]
    gdf = pyogrio.read_dataframe(out, layer="residual")
    assert gdf["ref"].tolist() == table.ref
    assert gdf["expected"].tolist() == pytest.approx(table.expected.tolist())
    assert gdf["actual_high"].tolist() == table.actual_high.tolist()
    assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"} and gdf.crs.to_epsg() == 4326
    with Registry.open(demo) as reg:
        first = reg.hazard(table.ref[0]).geometry
    assert gdf.geometry.iloc[0].equals(first)
    # again without --overwrite: refused, and the file is kept
    code, _, err = run_cli(["residual", "all", "--db", demo, *RUN, "--out", out])
    assert code == 2 and "--out" in err and "already exists" in err
    code, _, err = run_cli(["residual", "all", "--db", demo, *RUN, "--out", out, "--overwrite"])
    assert code == 0, err


def test_a_csv_holds_the_table(run_cli: Any, demo: Path, table: Any, tmp_path: Path) -> None:
    out = tmp_path / "residual.csv"
    code, _, err = run_cli(["residual", "all", "--db", demo, *RUN, "--out", out])
    assert code == 0, err
    with out.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["ref"] for r in rows] == table.ref
    assert "geometry" not in rows[0]
    assert [float(r["p_any_live"]) for r in rows] == pytest.approx(table.p_any_live.tolist())
    safe = [d.isoformat() if d else "" for d in table.safe_date]
    assert [r["safe_date"] for r in rows] == safe
    assert {r["at"] for r in rows} == {AT}


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("residual.txt", ".gpkg or .csv"),
        ("no-such-folder/residual.gpkg", "does not exist"),
    ],
)
def test_a_bad_out_is_refused_before_the_run_naming_out(
    run_cli: Any, demo: Path, tmp_path: Path, name: str, words: str
) -> None:
    out = tmp_path / name
    code, stdout, err = run_cli(["residual", "all", "--db", demo, *RUN, "--out", out])
    assert code == 2, stdout
    assert err.startswith("error: residual: --out: ") and words in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_json_and_out_together_are_refused(run_cli: Any, demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "residual.csv"
    code, _, err = run_cli(["residual", "all", "--db", demo, "--json", "--out", out])
    assert code == 2 and "--out" in err and not out.exists()


def test_a_date_before_every_emplacement_has_nothing_live(run_cli: Any, demo: Path) -> None:
    # The demo's devices were emplaced from 2022-03-01 on: in 2021 none is there to be live.
    body = _json(run_cli, ["residual", "all", "--db", demo, "--at", "2021-01-01", "--json"])
    assert body["areas"]
    for row in body["areas"]:
        assert row["expected"] == 0 and row["actual_high"] == 0 and row["p_any_live"] == 0
    code, _, err = run_cli(["residual", "all", "--db", demo, "--at", "01/01/2021"])
    assert code == 2 and "--at" in err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--threshold", "1.5"), ("--draws", "10"), ("--seed", "-1")],
)
def test_bad_run_options_name_the_option(run_cli: Any, demo: Path, option: str, value: str):
    code, _, err = run_cli(["residual", "all", "--db", demo, option, value])
    assert code == 2 and err.startswith(f"error: residual: {option}: "), err


def test_a_registry_without_events_says_so_and_gives_an_empty_result(
    run_cli: Any, empty_reg: Registry, empty_path: str
) -> None:
    code, out, err = run_cli(["residual", "all", "--db", empty_path])
    assert code == 0, err
    assert "No hazardous area has contamination events" in out
    body = _json(run_cli, ["residual", "all", "--db", empty_path, "--json"])
    assert body["areas"] == []


def test_progress_reaches_every_area(demo: Path) -> None:
    seen: list[tuple[int, int]] = []
    with Registry.open(demo) as reg:
        table = reg.residual_estimates(
            dt.date(2025, 1, 1), draws=200, seed=1, progress=lambda d, t: seen.append((d, t))
        )
    assert seen and max(seen) == (len(table), len(table))
