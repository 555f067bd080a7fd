"""The command line contract: exit codes, --db, JSON output, filters, export round trips.

Most runs call `landrelease.cli.main` in-process; a few run the installed `landrelease`.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
import typer

from backends import new_registry_url
from conftest import NewRegistry
from fixtures import KHARKIV, KYIV, bow_tie, hazard, polygon, snapshot, write_geojson
from landrelease.domain.records import HAZARDS, KINDS
from landrelease.io import read_features
from landrelease.registry import Registry

ROUND_TRIP_FORMATS = [".gpkg", ".geojson", ".csv", ".parquet"]


def _commands() -> list[list[str]]:
    from landrelease.cli import app

    out: list[list[str]] = [[]]

    def walk(cmd: Any, path: list[str]) -> None:
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            out.append([*path, name])
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return out


def test_the_cli_has_the_commands_of_the_registry() -> None:
    names = {" ".join(c) for c in _commands()}
    assert {
        "init",
        "import",
        "export",
        "hazards",
        "hazards list",
        "hazards show",
        "hazards set-status",
        "history",
        "revert",
        "demo",
    } <= names


@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c) or "landrelease")
def test_every_command_has_help(run_cli: Any, command: list[str]) -> None:
    code, out, err = run_cli([*command, "--help"])
    assert code == 0, err
    assert "Usage:" in out


@pytest.mark.sqlite_only(reason="the default registry file in the working folder")
def test_db_defaults_to_the_environment_then_the_working_directory(
    run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["hazards", "list"])
    assert code == 2 and "landrelease.gpkg" in err and "landrelease init" in err
    assert run_cli(["init"])[0] == 0
    assert (tmp_path / "landrelease.gpkg").is_file()
    monkeypatch.setenv("LANDRELEASE_DB", str(tmp_path / "from_env.gpkg"))
    assert run_cli(["init"])[0] == 0
    assert (tmp_path / "from_env.gpkg").is_file()
    src = write_geojson(tmp_path / "one.geojson", [hazard(0)])
    assert run_cli(["import", src])[0] == 0
    with Registry.open(tmp_path / "from_env.gpkg") as reg:
        assert len(reg.hazards()) == 1
    with Registry.open(tmp_path / "landrelease.gpkg") as reg:
        assert len(reg.hazards()) == 0
    # --db wins over the environment
    code, out, _ = run_cli(["hazards", "list", "--json", "--db", tmp_path / "landrelease.gpkg"])
    assert code == 0 and json.loads(out) == []


@pytest.mark.sqlite_only(reason="a file that is not a registry")
def test_init_refuses_a_file_that_is_not_a_registry(run_cli: Any, tmp_path: Path) -> None:
    text = tmp_path / "notes.gpkg"
    text.write_text("not a database")
    code, out, err = run_cli(["init", "--db", text])
    assert code == 2 and err.count("\n") == 1 and "not a GeoPackage" in err
    assert text.read_text() == "not a database"


@pytest.fixture(scope="module")
def listing(backend: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A read-only registry for listing: 12 areas near Kyiv, 3 near Kharkiv, mixed statuses."""
    path = new_registry_url(tmp_path_factory.mktemp("listing"), backend, "listing")
    with Registry.open(path, create=True) as reg:
        reg.add_records("hazards", [hazard(i) for i in range(12)], actor="t")
        reg.add_records(
            "hazards",
            [
                hazard(
                    i,
                    geometry=polygon(i, KHARKIV),
                    status="confirmed",
                    evidence="seen",
                    contamination="cmr;uxo",
                )
                for i in range(3)
            ],
            actor="t",
        )
        frame = reg.hazards()
    return {"path": path, "frame": frame}


def test_hazards_list_json(run_cli: Any, listing: dict[str, Any]) -> None:
    code, out, err = run_cli(["hazards", "list", "--json", "--db", listing["path"]])
    assert code == 0, err
    rows = json.loads(out)
    assert isinstance(rows, list) and len(rows) == 15
    for row in rows:
        assert {"ref", "status", "area_m2", "version"} <= set(row)
        assert isinstance(row["area_m2"], float) and row["version"] == 1
    assert {r["ref"] for r in rows} == set(listing["frame"]["ref"])
    cmr = [r for r in rows if r["status"] == "confirmed"]
    assert len(cmr) == 3 and all(r["contamination"] == ["cmr", "uxo"] for r in cmr)


@pytest.mark.parametrize("status", ["confirmed", "Suspected", "cleared"])
def test_hazards_list_by_status(run_cli: Any, listing: dict[str, Any], status: str) -> None:
    code, out, err = run_cli(
        ["hazards", "list", "--json", "--status", status, "--db", listing["path"]]
    )
    assert code == 0, err
    frame = listing["frame"]
    expected = set(frame.loc[frame["status"] == status.lower(), "ref"])
    assert {r["ref"] for r in json.loads(out)} == expected


@pytest.mark.parametrize(
    "box",
    [
        (KYIV[0] - 0.01, KYIV[1] - 0.01, KYIV[0] + 0.03, KYIV[1] + 0.01),
        (KHARKIV[0] - 0.5, KHARKIV[1] - 0.5, KHARKIV[0] + 0.5, KHARKIV[1] + 0.5),
        (25.0, 45.0, 25.1, 45.1),
    ],
)
def test_hazards_list_by_bbox(
    run_cli: Any, listing: dict[str, Any], box: tuple[float, ...]
) -> None:
    code, out, err = run_cli(
        ["hazards", "list", "--json", "--bbox", ",".join(map(str, box)), "--db", listing["path"]]
    )
    assert code == 0, err
    frame = listing["frame"]
    expected = set(frame.loc[frame.intersects(shapely.box(*box)), "ref"])
    assert {r["ref"] for r in json.loads(out)} == expected


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "31,50,30,51", "30,51,31,50", ""])
def test_a_bad_bbox_is_refused(run_cli: Any, listing: dict[str, Any], bbox: str) -> None:
    code, out, err = run_cli(["hazards", "list", "--bbox", bbox, "--db", listing["path"]])
    assert code == 2 and err.count("\n") == 1 and "--bbox" in err, err


def test_a_bad_status_filter_is_refused(run_cli: Any, listing: dict[str, Any]) -> None:
    code, out, err = run_cli(["hazards", "list", "--status", "gone", "--db", listing["path"]])
    assert code == 2 and "unknown status" in err


def test_hazards_list_as_a_table(run_cli: Any, listing: dict[str, Any]) -> None:
    code, out, err = run_cli(["hazards", "list", "--db", listing["path"]])
    assert code == 0 and "15 hazardous area(s)" in out


def test_hazards_show_json_has_every_field(run_cli: Any, listing: dict[str, Any]) -> None:
    ref = listing["frame"]["ref"].iloc[0]
    code, out, err = run_cli(["hazards", "show", ref, "--json", "--db", listing["path"]])
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == set(HAZARDS.field_names) | {
        "geometry",
        "changed_at",
        "changed_by",
        "needs_check",
    }
    assert data["ref"] == ref and data["version"] == 1
    assert data["geometry"]["type"] == "MultiPolygon"
    shape = shapely.geometry.shape(data["geometry"])
    assert shape.equals(listing["frame"].geometry.iloc[0])
    assert isinstance(data["contamination"], list) and data["reported_on"] == "2024-03-15"
    code, out, err = run_cli(["hazards", "show", ref, "--db", listing["path"]])
    assert code == 0 and ref in out
    code, out, err = run_cli(["hazards", "show", "NOPE-1", "--db", listing["path"]])
    assert code == 2 and "NOPE-1" in err


def test_history_json(run_cli: Any, registry_path: Path, refs: dict[str, str]) -> None:
    area = refs["kyiv"]
    assert (
        run_cli(
            ["hazards", "set-status", area, "confirmed", "--reason", "seen", "--db", registry_path]
        )[0]
        == 0
    )
    code, out, err = run_cli(["history", area, "--json", "--db", registry_path])
    assert code == 0, err
    rows = json.loads(out)
    assert [r["version"] for r in rows] == [1, 2]
    for r in rows:
        assert {"version", "at", "actor", "changes"} <= set(r)
    assert rows[1]["actor"] == "tester"
    assert rows[1]["changes"]["status"] == ["suspected", "confirmed"]
    code, out, err = run_cli(["history", area, "--db", registry_path])
    assert code == 0 and "history of" in out and "confirmed" in out and "tester" in out


@pytest.mark.sqlite_only(reason="damages the file behind the registry's back with sqlite3")
def test_unexpected_errors_exit_1_with_one_line(
    run_cli: Any, registry_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = sqlite3.connect(str(registry_path))  # damage the file behind the registry's back
    conn.execute("ALTER TABLE hazard_areas RENAME TO lost_areas")
    conn.commit()
    conn.close()
    code, out, err = run_cli(["hazards", "list", "--db", registry_path])
    assert code == 1
    assert err.startswith("unexpected error: ") and err.count("\n") == 1
    assert "LANDRELEASE_DEBUG" in err and "Traceback" not in err
    monkeypatch.setenv("LANDRELEASE_DEBUG", "1")
    code, out, err = run_cli(["hazards", "list", "--db", registry_path])
    assert code == 1 and "Traceback" in err


@pytest.mark.parametrize(
    "args",
    [["hazards", "show"], ["revert", "X"], ["nonsense"], ["hazards", "list", "--nope"]],
)
def test_usage_errors_exit_2(run_cli: Any, args: list[str]) -> None:
    assert run_cli(args)[0] == 2


def test_export_refuses_unknown_kinds_and_extensions(
    run_cli: Any, registry_path: Path, tmp_path: Path
) -> None:
    code, out, err = run_cli(["export", tmp_path / "x.txt", "--db", registry_path])
    assert code == 2 and ".geojson" in err
    code, out, err = run_cli(
        ["export", tmp_path / "x.csv", "--kind", "mines", "--db", registry_path]
    )
    assert code == 2 and "hazards" in err
    assert not list(tmp_path.glob("x.*"))


# -- export and round trips ----------------------------------------------------------------


@pytest.fixture(scope="module")
def source(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A read-only registry with every kind, awkward text, holes, parts and nulls."""
    path = new_registry_url(tmp_path_factory.mktemp("source"), backend, "source")
    holed = shapely.Polygon(
        polygon(4, size_m=900).exterior.coords,
        [list(polygon(4, size_m=200).exterior.coords)[::-1]],
    )
    with Registry.open(path, create=True) as reg:
        a, b, c, d = reg.add_records(
            "hazards",
            [
                hazard(
                    0,
                    ref="HZ-0001",
                    name='Ізюм, "поле"; північ',
                    contamination="ap_mine;cmr",
                    land_use="agricultural",
                    source_org="ДСНС",
                    admin_area="Kharkiv",
                    notes="line one\nline two",
                ),
                hazard(
                    1,
                    name=None,
                    status="confirmed",
                    evidence="PMN-2 seen",
                    reported_on=None,
                    contamination=None,
                    geometry=polygon(1, KHARKIV),
                ),
                hazard(2, geometry=shapely.MultiPolygon([polygon(2), polygon(3)])),
                hazard(4, geometry=holed, reported_on="2022-02-24"),
            ],
            actor="t",
        )
        reg.add_records(
            "events",
            [
                {
                    "area_ref": a,
                    "profile_id": "persistent-ap-mine",
                    "quantity_low": 1,
                    "quantity_best": 12,
                    "quantity_high": 40,
                    "emplaced_on": "2022-03-01",
                    "emplaced_until": "2022-03-20",
                    "confidence": "medium",
                    "source": "report 7",
                },
                {
                    "area_ref": b,
                    "profile_id": "ccw-apii-minimum",
                    "quantity_best": 3,
                    "emplaced_on": "2023-01-05",
                },
            ],
            actor="t",
        )
        acts = reg.add_records(
            "activities",
            [
                {
                    "area_ref": a,
                    "activity_type": "nts",
                    "status": "completed",
                    "start_date": "2024-01-01",
                    "end_date": "2024-01-09",
                    "cancelled_m2": 1234.5,
                    "evidence_found": False,
                    "organisation": "FSD",
                    "geometry": polygon(0),
                },
                {
                    "area_ref": b,
                    "activity_type": "clearance",
                    "status": "open",
                    "evidence_found": True,
                    "geometry": polygon(1, KHARKIV),
                },
                {"area_ref": c, "activity_type": "ts", "status": "planned", "geometry": polygon(2)},
            ],
            actor="t",
        )
        reg.add_records(
            "items",
            [
                {
                    "area_ref": b,
                    "activity_ref": acts[0],
                    "category": "ap_mine",
                    "quantity": 2,
                    "state": "destroyed",
                    "found_on": "2024-02-01",
                    "description": "PMN-2",
                    "geometry": polygon(1, KHARKIV).centroid,
                }
            ],
            actor="t",
        )
        reg.add_records(
            "accidents",
            [
                {
                    "area_ref": d,
                    "occurred_on": "2023-07-07",
                    "killed_civilian": 1,
                    "sex": "male",
                    "age_group": "adult",
                    "geometry": polygon(4).centroid,
                }
            ],
            actor="t",
        )
        reg.add_records(
            "eore",
            [
                {
                    "organisation": 'Ліга, "quoted"; semicolon',
                    "held_on": "2024-05-14",
                    "method": "interpersonal",
                    "admin_area": "Kharkiv oblast",
                    "girls": 14,
                    "boys": 11,
                    "women": 6,
                    "notes": "school\nsecond line",
                    "geometry": polygon(2).centroid,
                },
                {
                    "organisation": "Radio Kyiv",
                    "held_on": "2023-11-02",
                    "method": "mass_media",
                    "geometry": polygon(3).centroid,
                },
            ],
            actor="t",
        )
    return path


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("ref").reset_index(drop=True)


def _assert_same(a: pd.DataFrame, b: pd.DataFrame, skip: tuple[str, ...] = ()) -> None:
    a, b = _sorted(a), _sorted(b)
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) > 0
    for col in a.columns:
        if col in skip:
            continue
        if col == "geometry":
            ga, gb = a.geometry.values, b.geometry.values
            assert (shapely.is_missing(ga) == shapely.is_missing(gb)).all()
            present = ~shapely.is_missing(ga)
            assert shapely.equals_exact(ga[present], gb[present], tolerance=0).all()
            assert (
                shapely.to_wkb(shapely.normalize(ga[present]))
                == shapely.to_wkb(shapely.normalize(gb[present]))
            ).all()
        else:
            pd.testing.assert_series_equal(a[col], b[col], check_dtype=False, obj=col)


@pytest.mark.parametrize("ext", ROUND_TRIP_FORMATS)
def test_export_import_export_is_lossless(
    run_cli: Any, source: Path, tmp_path: Path, new_registry: NewRegistry, ext: str
) -> None:
    target = new_registry("copy")
    assert run_cli(["init", "--db", target])[0] == 0
    for kind in KINDS:  # hazards first: the others refer to them
        first, second = tmp_path / f"{kind}-1{ext}", tmp_path / f"{kind}-2{ext}"
        code, out, err = run_cli(["export", first, "--kind", kind, "--db", source])
        assert code == 0, err
        assert "Exported" in out and first.is_file()
        code, out, err = run_cli(["import", first, "--kind", kind, "--db", target])
        assert code == 0, (kind, err)
        assert run_cli(["export", second, "--kind", kind, "--db", target])[0] == 0
        _assert_same(
            read_features(first, require_geometry=False),
            read_features(second, require_geometry=False),
        )
        with Registry.open(source) as a, Registry.open(target) as b:
            _assert_same(a.records(kind), b.records(kind))


@pytest.mark.parametrize("ext", ROUND_TRIP_FORMATS)
def test_statuses_survive_a_round_trip_with_keep_status(
    run_cli: Any,
    registry_path: Path,
    refs: dict[str, str],
    tmp_path: Path,
    new_registry: NewRegistry,
    ext: str,
) -> None:
    with Registry.open(registry_path) as reg:
        reg.add_records(
            "activities",
            [
                {
                    "area_ref": refs["kyiv"],
                    "activity_type": "nts",
                    "status": "completed",
                    "geometry": polygon(0),
                }
            ],
            actor="t",
        )
        reg.set_status(refs["kyiv"], "cancelled", actor="t")
        before = reg.hazards()
    out_file = tmp_path / f"h{ext}"
    assert run_cli(["export", out_file, "--db", registry_path])[0] == 0
    target = new_registry("copy")
    run_cli(["init", "--db", target])
    code, out, err = run_cli(["import", out_file, "--db", target])
    assert code == 2 and "cancelled" in err and "--keep-status" in err
    code, out, err = run_cli(["import", out_file, "--db", target, "--keep-status"])
    assert code == 0, err
    with Registry.open(target) as reg:
        _assert_same(before, reg.hazards(), skip=("version",))
        assert reg.history(refs["kyiv"])[0]["reason"].endswith("kept as recorded by the source")


def test_export_replaces_a_file_only_when_complete(
    run_cli: Any, registry_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "h.geojson"
    out.write_text("old")
    assert run_cli(["export", out, "--db", registry_path, "--overwrite"])[0] == 0
    assert len(read_features(out)) == 3
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


# -- the installed command -----------------------------------------------------------------


def _landrelease() -> str:
    exe = Path(sys.executable).with_name("landrelease")
    found = str(exe) if exe.exists() else shutil.which("landrelease")
    if not found:
        pytest.skip("the landrelease command is not installed")
    return found


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANDRELEASE_")}
    env.update(LANDRELEASE_ACTOR="subprocess", **extra)
    return env


def test_the_installed_command_end_to_end(registry_path: Path, tmp_path: Path) -> None:
    exe = _landrelease()
    bad = write_geojson(tmp_path / "bad.geojson", [hazard(20), hazard(21, geometry=bow_tie())])
    before = snapshot(registry_path)
    run = subprocess.run(
        [exe, "import", str(bad)],
        capture_output=True,
        text=True,
        env=_env(LANDRELEASE_DB=str(registry_path)),
        timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "row 2" in run.stderr and "geometry" in run.stderr
    assert "Traceback" not in run.stderr
    assert snapshot(registry_path) == before
    run = subprocess.run(
        [exe, "hazards", "list", "--json", "--db", str(registry_path)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert len(rows) == 3 and all(r["version"] == 1 for r in rows)


def test_the_installed_command_keeps_gdal_warnings_off_stderr(
    registry_path: Path, tmp_path: Path
) -> None:
    exe = _landrelease()
    src = tmp_path / "utm.gpkg"
    import geopandas as gpd

    gpd.GeoDataFrame({"name": ["x"]}, geometry=[polygon(30)], crs=4326).to_crs(32636).to_file(src)
    conn = sqlite3.connect(str(src))
    conn.execute(
        "UPDATE gpkg_spatial_ref_sys SET organization = 'NONE', definition = "
        '\'PROJCS["nonsense",GEOGCS["x"]]\' WHERE srs_id = 32636'
    )
    conn.commit()
    conn.close()
    before = snapshot(registry_path)
    run = subprocess.run(
        [exe, "import", str(src), "--db", str(registry_path)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert snapshot(registry_path) == before
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1, run.stderr


def test_json_numbers_are_plain_numbers(run_cli: Any, listing: dict[str, Any]) -> None:
    code, out, _ = run_cli(["hazards", "list", "--json", "--db", listing["path"]])
    areas = np.array([r["area_m2"] for r in json.loads(out)])
    assert np.isfinite(areas).all() and (areas > 0).all()


def test_import_json_reports_refs_and_every_warning(
    run_cli: Any, registry_path: Path, tmp_path: Path
) -> None:
    # 25 areas, each half over the one before: 24 overlap warnings, more than the 20 printed
    x, y = KYIV[0] + 1.0, KYIV[1] - 1.0
    records = [
        hazard(
            200 + i,
            name=f"strip {i}",
            geometry=shapely.box(x + i * 0.005, y, x + i * 0.005 + 0.01, y + 0.01),
        )
        for i in range(25)
    ]
    src = write_geojson(tmp_path / "strips.geojson", records)
    code, out, err = run_cli(["import", src, "--db", registry_path, "--json"])
    assert code == 0, err
    report = json.loads(out)
    assert report["imported"] == 25 and len(report["refs"]) == 25
    assert report["kind"] == "hazards" and report["rejected"] == 0
    assert len([w for w in report["warnings"] if "overlaps" in w]) == 24
    with Registry.open(registry_path) as reg:
        assert [reg.hazard(r).name for r in report["refs"]] == [f"strip {i}" for i in range(25)]
    code, out, err = run_cli(["import", src, "--db", tmp_path / "other.gpkg"])
    assert code == 2
