"""Imports: every bad input is refused with one clear line and leaves the registry unchanged.

Bad files go through `landrelease import` (the CLI in-process); the registry is compared
table by table (`snapshot`) before and after.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Geod

from backends import is_database
from fixtures import (
    KHARKIV,
    KYIV,
    bow_tie,
    hazard,
    polygon,
    query,
    snapshot,
    table_counts,
    write_geojson,
)
from landrelease.domain.errors import ValidationError
from landrelease.registry import Registry

GEOD = Geod(ellps="WGS84")


def event(area_ref: str, **fields: Any) -> dict[str, Any]:
    rec = {
        "area_ref": area_ref,
        "profile_id": "persistent-ap-mine",
        "quantity_low": 5,
        "quantity_best": 10,
        "quantity_high": 20,
        "emplaced_on": "2022-03-01",
        "geometry": None,
    }
    rec.update(fields)
    return rec


def assert_one_line_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2, (out, err)
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("error: ")
    assert "Traceback" not in err + out
    for f in fragments:
        assert f in err, (f, err)


# -- every bad input ----------------------------------------------------------------------
# Each case writes a file into tmp and returns (file, kind, fragments the message must hold:
# the record, the field, the problem).

Case = Callable[[Path, dict[str, str]], tuple[Path, str, tuple[str, ...]]]


def _hazards(*records: dict[str, Any]) -> Callable[[Path], Path]:
    return lambda tmp: write_geojson(tmp / "in.geojson", list(records))


def _swapped(i: int) -> shapely.Polygon:
    return shapely.Polygon([(y, x) for x, y in polygon(i).exterior.coords])


FEW_POINTS = {
    "type": "Polygon",
    "coordinates": [[[30.6, 50.5], [30.61, 50.5], [30.6, 50.5], [30.6, 50.5]]],
}

CASES: dict[str, Case] = {
    "bow-tie polygon after a good one": lambda tmp, r: (
        _hazards(hazard(10), hazard(11, geometry=bow_tie()))(tmp),
        "hazards",
        ("row 2", "geometry", "self-intersects", "--repair"),
    ),
    "empty geometry": lambda tmp, r: (
        _hazards(hazard(10, geometry={"type": "Polygon", "coordinates": []}))(tmp),
        "hazards",
        ("row 1", "geometry", "empty"),
    ),
    "no geometry": lambda tmp, r: (
        _hazards(hazard(10, geometry=None))(tmp),
        "hazards",
        ("row 1", "geometry", "missing"),
    ),
    "fewer than 3 distinct vertices": lambda tmp, r: (
        _hazards(hazard(10, geometry=FEW_POINTS))(tmp),
        "hazards",
        ("row 1", "geometry", "3 distinct vertices"),
    ),
    "swapped lat/lon": lambda tmp, r: (
        _hazards(hazard(10, geometry=_swapped(10)))(tmp),
        "hazards",
        ("row 1", "geometry", "swapped"),
    ),
    "outside Ukraine": lambda tmp, r: (
        _hazards(hazard(10, geometry=polygon(0, (21.0, 52.2))))(tmp),  # Warsaw
        "hazards",
        ("row 1", "geometry", "outside Ukraine"),
    ),
    "unknown status": lambda tmp, r: (
        _hazards(hazard(10, status="destroyed"))(tmp),
        "hazards",
        ("row 1", "status", "'destroyed'", "suspected"),
    ),
    "unknown contamination": lambda tmp, r: (
        _hazards(hazard(10, contamination="ap_mine;nukes"))(tmp),
        "hazards",
        ("row 1", "contamination", "'nukes'", "cmr"),
    ),
    "duplicate refs in the file": lambda tmp, r: (
        _hazards(hazard(10, ref="HZ-A"), hazard(11, ref="HZ-A"))(tmp),
        "hazards",
        ("HZ-A (row 2)", "ref", "twice"),
    ),
    "ref already in the registry": lambda tmp, r: (
        _hazards(hazard(10, ref=r["kyiv"]))(tmp),
        "hazards",
        (f"{r['kyiv']} (row 1)", "ref", "already in the registry"),
    ),
    "same geometry twice in the file": lambda tmp, r: (
        _hazards(hazard(10), hazard(11, geometry=polygon(10)))(tmp),
        "hazards",
        ("row 2", "geometry", "probable duplicate", "row 1"),
    ),
    "same geometry as a stored area": lambda tmp, r: (
        _hazards(hazard(10, geometry=polygon(0)))(tmp),
        "hazards",
        ("row 1", "geometry", "probable duplicate", r["kyiv"]),
    ),
    "same geometry, other start vertex and orientation": lambda tmp, r: (
        _hazards(
            hazard(
                10,
                geometry=shapely.Polygon(
                    list(polygon(0).exterior.coords)[2:-1] + list(polygon(0).exterior.coords)[:2]
                ).reverse(),
            )
        )(tmp),
        "hazards",
        ("row 1", "geometry", "probable duplicate", r["kyiv"]),
    ),
    "same geometry as a stored area, as a MultiPolygon": lambda tmp, r: (
        _hazards(hazard(10, geometry=shapely.MultiPolygon([polygon(0)])))(tmp),
        "hazards",
        ("row 1", "geometry", "probable duplicate", r["kyiv"]),
    ),
    "new area already cleared": lambda tmp, r: (
        _hazards(hazard(10, status="cleared"))(tmp),
        "hazards",
        ("row 1", "status", "'cleared'", "'suspected' or 'confirmed'"),
    ),
    "confirmed without evidence": lambda tmp, r: (
        _hazards(hazard(10, status="confirmed", evidence=None))(tmp),
        "hazards",
        ("row 1", "status", "evidence"),
    ),
    "event quantity_low above quantity_best": lambda tmp, r: (
        write_geojson(tmp / "ev.geojson", [event(r["kyiv"], quantity_low=20)]),
        "events",
        ("row 1", "quantity_low", "exceeds"),
    ),
    "event emplaced_until before emplaced_on": lambda tmp, r: (
        write_geojson(tmp / "ev.geojson", [event(r["kyiv"], emplaced_until="2022-01-01")]),
        "events",
        ("row 1", "emplaced_until", "before"),
    ),
    "event of an unknown profile": lambda tmp, r: (
        write_geojson(tmp / "ev.geojson", [event(r["kyiv"], profile_id="no-such-device")]),
        "events",
        ("row 1", "profile_id", "'no-such-device'"),
    ),
    "event of an unknown area": lambda tmp, r: (
        write_geojson(tmp / "ev.geojson", [event(r["kyiv"]), event("UA-1999-00042")]),
        "events",
        ("row 2", "area_ref", "UA-1999-00042"),
    ),
    "activity of an unknown type": lambda tmp, r: (
        write_geojson(
            tmp / "act.geojson",
            [{"area_ref": r["kyiv"], "activity_type": "dig", "geometry": polygon(0)}],
        ),
        "activities",
        ("row 1", "activity_type", "'dig'"),
    ),
    "item of an unknown activity": lambda tmp, r: (
        write_geojson(
            tmp / "itm.geojson",
            [
                {
                    "area_ref": r["kyiv"],
                    "activity_ref": "ACT-9",
                    "category": "uxo",
                    "state": "live",
                    "geometry": polygon(0).centroid,
                }
            ],
        ),
        "items",
        ("row 1", "activity_ref", "ACT-9"),
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_bad_record_is_refused_and_the_registry_unchanged(
    case: str, run_cli: Any, registry_path: Path, refs: dict[str, str], tmp_path: Path
) -> None:
    path, kind, fragments = CASES[case](tmp_path, refs)
    before = snapshot(registry_path)
    code, out, err = run_cli(["import", path, "--db", registry_path, "--kind", kind])
    assert_one_line_error(code, out, err, *fragments)
    assert snapshot(registry_path) == before


def test_a_file_mixing_good_and_bad_records_lands_nothing(
    run_cli: Any, registry_path: Path, tmp_path: Path
) -> None:
    good = [hazard(20 + i) for i in range(5)]
    path = write_geojson(
        tmp_path / "mixed.geojson",
        [*good[:2], hazard(30, status="bogus"), *good[2:], hazard(31, geometry=bow_tie())],
    )
    before = snapshot(registry_path)
    code, out, err = run_cli(["import", path, "--db", registry_path])
    assert_one_line_error(
        code, out, err, "row 3", "status", "1 more problem(s) in 2 record(s)", "--skip-invalid"
    )
    assert snapshot(registry_path) == before


def test_a_truncated_geojson_is_refused(run_cli: Any, registry_path: Path, tmp_path: Path) -> None:
    full = write_geojson(tmp_path / "full.geojson", [hazard(10), hazard(11)])
    cut = tmp_path / "cut.geojson"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    before = snapshot(registry_path)
    code, out, err = run_cli(["import", cut, "--db", registry_path])
    assert_one_line_error(code, out, err, "cut.geojson", "GeoJSON")
    assert snapshot(registry_path) == before


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_a_truncated_geopackage_is_refused(
    run_cli: Any, registry_path: Path, tmp_path: Path, fraction: float
) -> None:
    full = tmp_path / "full.gpkg"
    gpd.GeoDataFrame(
        [{k: v for k, v in hazard(10 + i).items() if k != "geometry"} for i in range(3)],
        geometry=[polygon(10 + i) for i in range(3)],
        crs=4326,
    ).to_file(full)
    cut = tmp_path / "cut.gpkg"
    data = full.read_bytes()
    cut.write_bytes(data[: int(len(data) * fraction)])
    before = snapshot(registry_path)
    code, out, err = run_cli(["import", cut, "--db", registry_path])
    assert_one_line_error(code, out, err, "cut.gpkg", "GeoPackage")
    assert snapshot(registry_path) == before


# -- coordinate reference systems ---------------------------------------------------------


@pytest.mark.parametrize("epsg", [3857, 32636])
def test_a_projected_file_is_reprojected_and_measured_right(
    run_cli: Any, registry_path: Path, tmp_path: Path, epsg: int
) -> None:
    shapes = [polygon(40, size_m=800), polygon(41, KHARKIV, size_m=2000)]
    names = ["projected A", "projected B"]
    src = tmp_path / f"in_{epsg}.gpkg"
    gpd.GeoDataFrame(
        {"name": names, "reported_on": ["2024-01-01"] * 2}, geometry=shapes, crs=4326
    ).to_crs(epsg).to_file(src)
    code, out, err = run_cli(["import", src, "--db", registry_path])
    assert code == 0, err
    with Registry.open(registry_path) as reg:
        got = reg.hazards().set_index("name")
    for name, shape in zip(names, shapes, strict=True):
        row = got.loc[name]
        geodesic = abs(GEOD.geometry_area_perimeter(shape)[0])
        assert row["area_m2"] == pytest.approx(geodesic, rel=1e-3)
        assert shapely.equals_exact(
            row.geometry.geoms[0], shape.normalize(), tolerance=1e-6
        ) or shapely.equals_exact(row.geometry.geoms[0].normalize(), shape.normalize(), 1e-6)


def test_a_crs_that_cannot_reach_wgs84_is_refused(
    run_cli: Any, registry_path: Path, tmp_path: Path
) -> None:
    src = tmp_path / "local.gpkg"
    gpd.GeoDataFrame(
        {"name": ["x"]},
        geometry=[shapely.box(0, 0, 100, 100)],
        crs='LOCAL_CS["site grid",UNIT["metre",1]]',
    ).to_file(src)
    before = snapshot(registry_path)
    code, out, err = run_cli(["import", src, "--db", registry_path])
    assert_one_line_error(code, out, err, "site grid", "EPSG:4326")
    assert snapshot(registry_path) == before


def _with_unparseable_crs(path: Path, shape: shapely.Geometry) -> Path:
    gpd.GeoDataFrame(
        {"name": ["odd crs"], "reported_on": ["2024-01-01"]}, geometry=[shape], crs=4326
    ).to_file(path)
    conn = sqlite3.connect(str(path))
    conn.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES ('nonsense', 99999, 'NONE', 99999, "
        "'PROJCS[\"nonsense\",GEOGCS[\"x\"]]', '')"
    )
    conn.execute("UPDATE gpkg_geometry_columns SET srs_id = 99999")
    conn.execute("UPDATE gpkg_contents SET srs_id = 99999")
    conn.commit()
    conn.close()
    return path


@pytest.mark.filterwarnings("ignore:Unable to parse srs_id")
def test_a_crs_that_cannot_be_parsed_is_refused(
    run_cli: Any, registry_path: Path, tmp_path: Path
) -> None:
    src = _with_unparseable_crs(tmp_path / "odd.gpkg", polygon(45))
    before = snapshot(registry_path)
    code, out, err = run_cli(["import", src, "--db", registry_path])
    assert snapshot(registry_path) == before
    assert_one_line_error(code, out, err, "coordinate reference system")


# -- --skip-invalid and --repair ----------------------------------------------------------


@pytest.mark.parametrize("ext", [".csv", ".geojson", ".gpkg"])
def test_skip_invalid_lands_the_good_and_writes_each_bad_with_its_reason(
    run_cli: Any, registry_path: Path, refs: dict[str, str], tmp_path: Path, ext: str
) -> None:
    records = [
        hazard(50, name="good 1"),
        hazard(51, name="bad status", status="bogus"),
        hazard(52, name="bad shape", geometry=bow_tie()),
        hazard(53, name="good 2", ref="MY-1"),
        hazard(54, name="taken ref", ref=refs["kyiv"]),
        hazard(55, name="good 3", contamination="CMR; uxo"),
        hazard(56, name="duplicate", geometry=polygon(55)),
    ]
    src = write_geojson(tmp_path / "mixed.geojson", records)
    rejects = tmp_path / f"rejects{ext}"
    counts = table_counts(registry_path)
    code, out, err = run_cli(
        ["import", src, "--db", registry_path, "--skip-invalid", rejects, "--reason", "survey"]
    )
    assert code == 0, err
    assert "Imported 3 hazards" in out and "Rejected 4 record(s)" in out and str(rejects) in out
    with Registry.open(registry_path) as reg:
        names = set(reg.hazards()["name"])
        assert {"good 1", "good 2", "good 3"} <= names
        assert not names & {"bad status", "bad shape", "taken ref", "duplicate"}
        assert reg.hazard("MY-1").name == "good 2"
        good3 = reg.hazards().set_index("name").loc["good 3"]
        assert good3["contamination"] == "cmr;uxo"
    after = table_counts(registry_path)
    assert after["hazard_areas"] == counts["hazard_areas"] + 3
    assert after["history"] == counts["history"]  # new records are their rows
    assert after["batches"] == counts["batches"] + 1

    bad = pd.read_csv(rejects) if ext == ".csv" else pyogrio.read_dataframe(rejects)
    assert list(bad["row"]) == [2, 3, 5, 7]
    assert list(bad["name"]) == ["bad status", "bad shape", "taken ref", "duplicate"]
    assert list(bad["error_field"]) == ["status", "geometry", "ref", "geometry"]
    reasons = list(bad["error"])
    assert "'bogus'" in reasons[0]
    assert "self-intersects" in reasons[1]
    assert "already in the registry" in reasons[2]
    assert "probable duplicate" in reasons[3]


def test_skip_invalid_with_only_bad_records_lands_nothing(
    run_cli: Any, registry_path: Path, tmp_path: Path
) -> None:
    src = write_geojson(tmp_path / "bad.geojson", [hazard(60, status="x")])
    before = snapshot(registry_path)
    code, out, err = run_cli(
        ["import", src, "--db", registry_path, "--skip-invalid", tmp_path / "r.geojson"]
    )
    assert code == 0, err
    assert "Imported 0" in out
    assert snapshot(registry_path) == before
    assert len(pyogrio.read_dataframe(tmp_path / "r.geojson")) == 1


def test_repair_fixes_a_bow_tie_and_reports_the_change(
    run_cli: Any, registry_path: Path, tmp_path: Path
) -> None:
    src = write_geojson(tmp_path / "tie.geojson", [hazard(70, name="tie", geometry=bow_tie())])
    code, out, err = run_cli(["import", src, "--db", registry_path, "--repair"])
    assert code == 0, err
    said = " ".join(out.split())
    assert "Imported 1 hazards" in said
    assert "Repaired: row 1: repaired: geometry self-intersects" in said
    assert "MultiPolygon of 2 part(s)" in said and "area 0 ->" in said
    with Registry.open(registry_path) as reg:
        area = reg.hazards().set_index("name").loc["tie"]
    assert area.geometry.is_valid and len(area.geometry.geoms) == 2
    assert area["area_m2"] > 10_000
    # The repaired shape is what the duplicate check knows: the same file again is refused.
    before = snapshot(registry_path)
    code, out, err = run_cli(["import", src, "--db", registry_path, "--repair"])
    assert_one_line_error(code, out, err, "row 1", "geometry", "probable duplicate")
    assert snapshot(registry_path) == before


def test_a_large_batch_with_one_bad_shape_lands_nothing(
    empty_reg: Registry, empty_path: str
) -> None:
    # Over 10,000 rows take the bulk write (rollback journal, packed R-tree); the shape
    # checks may finish while the rows are written: their refusal must roll it all back.
    empty_reg.add_records("hazards", [hazard(0)], actor="t")
    before = snapshot(empty_path)
    # blocks of 900 distinct polygons, side by side across western Ukraine
    batch = [
        hazard(i, geometry=polygon(i % 900, centre=(23.0 + 0.25 * (i // 900), 46.0)))
        for i in range(10_050)
    ]
    batch[7_000]["geometry"] = bow_tie()
    with pytest.raises(ValidationError) as info:
        empty_reg.add_records("hazards", batch, actor="t")
    assert info.value.record == "row 7001" and info.value.field == "geometry"
    assert "self-intersects" in str(info.value)
    assert snapshot(empty_path) == before
    if not is_database(empty_path):  # the file is back in WAL mode
        assert query(empty_path, "PRAGMA journal_mode") == [("wal",)]


def test_columns_outside_the_data_model_are_ignored_with_a_warning(
    run_cli: Any, registry_path: Path, tmp_path: Path
) -> None:
    src = write_geojson(
        tmp_path / "extra.geojson",
        [hazard(80, name="extra", colour="red", area_m2=1.0, version=99)],
    )
    code, out, err = run_cli(["import", src, "--db", registry_path])
    assert code == 0, err
    assert "Warning: columns not in the hazards data model were ignored: colour" in " ".join(
        out.split()
    )
    with Registry.open(registry_path) as reg:
        area = reg.hazards().set_index("name").loc["extra"]
    assert area["version"] == 1
    assert area["area_m2"] == pytest.approx(
        abs(GEOD.geometry_area_perimeter(polygon(80))[0]), rel=1e-3
    )


# -- references ---------------------------------------------------------------------------


def test_refs_are_generated_per_year_of_reporting(empty_reg: Registry) -> None:
    year = dt.date.today().year
    empty_reg.add_records(
        "hazards",
        [
            hazard(0, reported_on="2023-02-01"),
            hazard(1, reported_on="2023-11-30"),
            hazard(2, reported_on="2024-06-01"),
            hazard(3, reported_on=None),
            hazard(4, ref="OWN-REF"),
        ],
        actor="t",
    )
    got = dict(zip(empty_reg.hazards()["name"], empty_reg.hazards()["ref"], strict=True))
    assert got["test area 4"] == "OWN-REF"
    assert {got["test area 0"], got["test area 1"]} == {"UA-2023-00001", "UA-2023-00002"}
    assert got["test area 2"] == "UA-2024-00001"
    assert got["test area 3"] == f"UA-{year}-00001"
    for ref in got.values():
        assert ref == "OWN-REF" or re.fullmatch(r"UA-\d{4}-\d{5}", ref)
    # serials continue in a later import, skipping a ref someone chose by hand
    empty_reg.add_records("hazards", [hazard(5, ref="UA-2023-00003")], actor="t")
    [new] = empty_reg.add_records("hazards", [hazard(6, reported_on="2023-05-05")], actor="t")
    assert new == "UA-2023-00004"


def test_other_kinds_get_their_own_ref_codes(reg: Registry, refs: dict[str, str]) -> None:
    [ev] = reg.add_records("events", [event(refs["kyiv"], emplaced_on="2022-04-01")], actor="t")
    [act] = reg.add_records(
        "activities",
        [
            {
                "area_ref": refs["kyiv"],
                "activity_type": "nts",
                "start_date": "2024-02-02",
                "geometry": polygon(0),
            }
        ],
        actor="t",
    )
    assert re.fullmatch(r"UA-EV-2022-\d{5}", ev)
    assert act == "UA-ACT-2024-00001"


def test_add_records_returns_refs_in_the_order_given(empty_reg: Registry) -> None:
    records = [hazard(0, geometry=polygon(0, KHARKIV)), hazard(1, geometry=polygon(1, KYIV))]
    got = empty_reg.add_records("hazards", records, actor="t")
    assert [empty_reg.hazard(r).name for r in got] == ["test area 0", "test area 1"]


# -- use cases at the API -----------------------------------------------------------------


def test_validation_errors_carry_the_record_and_the_field(
    reg: Registry, registry_path: Path
) -> None:
    before = snapshot(registry_path)
    with pytest.raises(ValidationError) as info:
        reg.add_records("hazards", [hazard(90), hazard(91, ref="X", status="nope")], actor="t")
    assert info.value.record == "X (row 2)"
    assert info.value.field == "status"
    assert snapshot(registry_path) == before


def test_an_import_is_audited_with_actor_reason_and_source(
    run_cli: Any, registry_path: Path, tmp_path: Path
) -> None:
    src = write_geojson(tmp_path / "two.geojson", [hazard(95), hazard(96)])
    code, out, err = run_cli(["import", src, "--db", registry_path, "--reason", "NTS report 7"])
    assert code == 0, err
    rows = query(
        registry_path,
        "SELECT h.change_action, h.version, h.changed_by, h.change_reason, b.source, b.actor, "
        "b.reason, b.records, b.sha256 FROM hazard_areas h JOIN landrelease_batches b "
        "ON b.id = h.batch_id WHERE h.name IN ('test area 95', 'test area 96')",
    )
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    assert (
        rows
        == [("create", 1, "tester", "NTS report 7", str(src), "tester", "NTS report 7", 2, digest)]
        * 2
    )


def test_imported_polygons_are_stored_as_multipolygons_with_their_area(
    reg: Registry, registry_path: Path
) -> None:
    [ref] = reg.add_records("hazards", [hazard(97)], actor="t")
    area = reg.hazard(ref)
    assert area.geometry.geom_type == "MultiPolygon"
    assert area.geometry.geoms[0].equals(polygon(97))
    assert area.area_m2 == pytest.approx(
        abs(GEOD.geometry_area_perimeter(polygon(97))[0]), rel=1e-3
    )
    assert area.version == 1 and area.status == "suspected" and area.hazard_type == "SHA"


def test_activities_without_geometry_can_be_imported_together(
    run_cli: Any, registry_path: Path, refs: dict[str, str], tmp_path: Path
) -> None:
    src = write_geojson(
        tmp_path / "acts.geojson",
        [
            {"area_ref": refs["kyiv"], "activity_type": "nts", "geometry": polygon(0)},
            {"area_ref": refs["kyiv"], "activity_type": "ts", "geometry": None},
        ],
    )
    code, out, err = run_cli(["import", src, "--db", registry_path, "--kind", "activities"])
    assert code == 0, err
    assert table_counts(registry_path)["activities"] == 2


def test_events_import_from_a_csv_without_geometry(
    run_cli: Any, registry_path: Path, refs: dict[str, str], tmp_path: Path
) -> None:
    src = tmp_path / "events.csv"
    pd.DataFrame([{k: v for k, v in event(refs["kyiv"]).items() if k != "geometry"}]).to_csv(
        src, index=False
    )
    code, out, err = run_cli(["import", src, "--db", registry_path, "--kind", "events"])
    assert code == 0, err
    assert table_counts(registry_path)["contamination_events"] == 2


def test_an_item_far_from_its_area_lands_with_a_warning(
    reg: Registry, refs: dict[str, str], tmp_path: Path
) -> None:
    area = reg.hazard(refs["kyiv"])
    inside = area.geometry.representative_point()
    far = shapely.Point(inside.x + 0.05, inside.y)  # about 3.5 km east
    src = tmp_path / "items.geojson"
    gpd.GeoDataFrame(
        {"area_ref": [area.ref, area.ref], "category": ["uxo", "uxo"], "state": ["live"] * 2},
        geometry=[inside, far],
        crs="EPSG:4326",
    ).to_file(src)
    report = reg.import_file(src, "items", actor="x")
    assert report.imported == 2
    assert len(report.warnings) == 1
    assert "row 2" in report.warnings[0] and f"km from its area {area.ref}" in report.warnings[0]


def test_overlapping_areas_land_with_a_warning_naming_both(
    reg: Registry, refs: dict[str, str], run_cli: Any, registry_path: Path, tmp_path: Path
) -> None:
    stored = reg.hazard(refs["kyiv"]).geometry
    over_stored = shapely.affinity.translate(stored, 0.0005, 0)  # a few metres east
    x, y = KHARKIV[0] + 0.5, KHARKIV[1] - 0.5
    first = shapely.box(x, y, x + 0.01, y + 0.01)
    second = shapely.box(x + 0.005, y, x + 0.015, y + 0.01)  # half over `first`
    beside = shapely.box(x + 0.015, y, x + 0.025, y + 0.01)  # touches `second` only
    src = write_geojson(
        tmp_path / "overlaps.geojson",
        [
            hazard(80, name="first", geometry=first),
            hazard(81, name="second", geometry=second),
            hazard(82, name="beside", geometry=beside),
            hazard(83, name="over stored", geometry=over_stored),
        ],
    )
    code, out, err = run_cli(["import", src, "--db", registry_path])
    assert code == 0, err
    said = " ".join(out.split())
    assert "Imported 4 hazards" in said
    assert re.search(r"Warning: row 2: overlaps row 1 by [\d,]+ m2 \(50% of this area\)", said)
    assert re.search(rf"Warning: row 4: overlaps {refs['kyiv']} \(in the registry\) by", said)
    assert "row 3: overlaps" not in said


def test_overlaps_are_not_reported_for_records_that_were_refused(
    empty_reg: Registry, tmp_path: Path
) -> None:
    x, y = KYIV[0] + 0.5, KYIV[1]
    a = shapely.box(x, y, x + 0.01, y + 0.01)
    b = shapely.box(x + 0.005, y, x + 0.015, y + 0.01)
    src = write_geojson(
        tmp_path / "mixed.geojson",
        [hazard(1, geometry=a), hazard(2, geometry=b, status="bogus"), hazard(3)],
    )
    report = empty_reg.import_file(src, actor="x", skip_invalid=tmp_path / "bad.geojson")
    assert report.imported == 2 and report.rejected == 1
    assert not [w for w in report.warnings if "overlaps" in w]


def test_a_large_batch_lands_whole_indexed_and_audited(
    empty_reg: Registry, empty_path: str
) -> None:
    # The bulk write: rollback journal, packed R-tree, indexes rebuilt, audit copied in SQL.
    batch = [
        hazard(i, geometry=polygon(i % 900, centre=(23.0 + 0.25 * (i // 900), 46.0)))
        for i in range(10_050)
    ]
    refs = empty_reg.add_records("hazards", batch, actor="t", reason="bulk")
    assert len(set(refs)) == 10_050
    stored = empty_reg.hazards()
    assert (stored.geometry.geom_type == "MultiPolygon").all()
    stamps = query(
        empty_path,
        "SELECT count(*), count(DISTINCT ref), min(version), max(version), "
        "count(DISTINCT batch_id), count(changed_by) FROM hazard_areas",
    )
    assert stamps == [(10_050, 10_050, 1, 1, 1, 10_050)]
    assert query(empty_path, "SELECT count(*) FROM hazard_areas_history") == [(0,)]
    if not is_database(empty_path):  # the file's journal, R-tree and indexes
        assert query(empty_path, "PRAGMA journal_mode") == [("wal",)]
        assert query(empty_path, "SELECT rtreecheck('rtree_hazard_areas_geom')") == [("ok",)]
        indexes = {
            r[0] for r in query(empty_path, "SELECT name FROM sqlite_master WHERE type='index'")
        }
        assert {"ix_hazard_areas_status", "ux_hazard_areas_geom_key"} <= indexes
    # the rows read back as they were given, in any order
    by_name = stored.set_index("name")
    for i in (0, 4_321, 10_049):
        got = by_name.loc[f"test area {i}"]
        assert got.geometry.geoms[0].equals_exact(batch[i]["geometry"], tolerance=0)
    box = (23.2, 45.9, 23.6, 46.3)
    hits = empty_reg.hazard_columns(bbox=box, columns=("ref",))["ref"]
    expected = stored[stored.intersects(shapely.box(*box))]["ref"]
    assert sorted(hits) == sorted(expected) and len(hits) > 100


def test_a_polygon_with_a_nan_coordinate_is_refused_cleanly(
    empty_reg: Registry, empty_path: str
) -> None:
    with pytest.warns(RuntimeWarning):
        nan_poly = shapely.polygons([[30, 50], [30.01, 50], [float("nan"), 50.01], [30, 50]])
    before = snapshot(empty_path)
    with pytest.raises(ValidationError) as info:
        empty_reg.add_records("hazards", [hazard(0), hazard(1, geometry=nan_poly)], actor="t")
    assert info.value.record == "row 2" and info.value.field == "geometry"
    assert snapshot(empty_path) == before
