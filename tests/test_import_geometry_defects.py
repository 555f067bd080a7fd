"""Defects of real files, end to end: 3D geometries, coordinates that are not numbers, dates
in the future. Each goes through `Registry.import_file` or the CLI into a real registry."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest
import shapely

from backends import is_database
from conftest import ACTOR
from fixtures import KYIV, hazard, polygon, query, snapshot, write_geojson
from landrelease.domain import validate
from landrelease.domain.errors import ValidationError
from landrelease.domain.geometry import area_m2
from landrelease.registry import Registry

TODAY = dt.date(2026, 11, 29)

# A square well away from the template's areas (which lie on a grid north-east of KYIV).
SQUARE = [[31.0, 49.0], [31.01, 49.0], [31.01, 49.01], [31.0, 49.01], [31.0, 49.0]]
PROPS = {"name": "defect", "status": "suspected", "evidence": "informant report"}


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate, "today", lambda: TODAY)
    monkeypatch.delenv(validate.FUTURE_TOLERANCE_ENV, raising=False)


def assert_one_line_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2, (out, err)
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err + out
    for f in fragments:
        assert f in err, (f, err)


def geojson_by_hand(path: Path, coordinates: str, kind: str = "Polygon", **props: Any) -> Path:
    """Write one feature whose coordinates are JSON text as given (NaN, Infinity allowed)."""
    properties = json.dumps({**PROPS, **props} if kind != "Point" else props)
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", '
        f'"properties": {properties}, '
        f'"geometry": {{"type": "{kind}", "coordinates": {coordinates}}}}}]}}',
        encoding="utf-8",
    )
    return path


def ring_with(vertex: int, text: str, axis: int = 0) -> str:
    """SQUARE as JSON text, the 1-based `vertex` given `text` (NaN, Infinity) on `axis`."""
    coords = [[repr(x), repr(y)] for x, y in SQUARE]
    coords[vertex - 1][axis] = text
    return "[[" + ", ".join(f"[{x}, {y}]" for x, y in coords) + "]]"


# -- coordinates that are not finite numbers ----------------------------------------------


@pytest.mark.parametrize("repair", [[], ["--repair"]], ids=["plain", "repair"])
@pytest.mark.parametrize(
    ("text", "axis", "shown"),
    [
        ("NaN", 0, "(lon nan, lat 49.01000)"),
        ("Infinity", 0, "(lon inf, lat 49.01000)"),
        ("-Infinity", 1, "(lon 31.01000, lat -inf)"),
    ],
)
def test_a_geojson_vertex_that_is_not_a_number_is_refused_even_with_repair(
    run_cli: Any,
    registry_path: Path,
    tmp_path: Path,
    text: str,
    axis: int,
    shown: str,
    repair: list[str],
) -> None:
    path = geojson_by_hand(tmp_path / "nan.geojson", ring_with(3, text, axis))
    before = snapshot(registry_path)
    code, out, err = run_cli(["import", path, "--db", registry_path, *repair])
    assert_one_line_error(
        code,
        out,
        err,
        "row 1: geometry: vertex 3 has a coordinate that is not a finite number " + shown,
        "fix the coordinate in the source file",
    )
    assert "--repair" not in err and "CRS" not in err
    assert snapshot(registry_path) == before


@pytest.mark.parametrize("repair", [[], ["--repair"]], ids=["plain", "repair"])
@pytest.mark.parametrize("word", ["nan", "inf"])
def test_a_csv_wkt_vertex_that_is_not_a_number_is_refused_even_with_repair(
    run_cli: Any, registry_path: Path, tmp_path: Path, word: str, repair: list[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "name,status,evidence,wkt\n"
        f'ok,suspected,informant,"{polygon(40).wkt}"\n'
        "bad,suspected,informant,"
        f'"POLYGON ((31 49, 31.01 {word}, 31.01 49.01, 31 49.01, 31 49))"\n',
        encoding="utf-8",
    )
    before = snapshot(registry_path)
    code, out, err = run_cli(["import", path, "--db", registry_path, *repair])
    assert_one_line_error(
        code, out, err, "row 2: geometry: vertex 2 has a coordinate that is not a finite number"
    )
    assert f"(lon 31.01000, lat {word})" in err and "--repair" not in err
    assert snapshot(registry_path) == before


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Infinity", "the point has a coordinate that is not a finite number (lon inf, lat 49.5"),
        ("NaN", ""),  # read as an empty point (GDAL's and WKB's way of writing one)
    ],
)
def test_a_point_that_is_not_a_number_is_refused(
    run_cli: Any, registry_path: Path, tmp_path: Path, text: str, fragment: str
) -> None:
    path = geojson_by_hand(
        tmp_path / "item.geojson",
        f"[{text}, 49.5]",
        "Point",
        category="uxo",
        state="live",
        found_on="2024-04-01",
    )
    code, out, err = run_cli(["import", path, "--db", registry_path, "--kind", "items"])
    assert_one_line_error(code, out, err, "row 1: geometry: " + fragment)


# -- Z (height) values --------------------------------------------------------------------


def _stored_geometries(db: Path | str, layer: str) -> list[shapely.Geometry]:
    """Return the geometries of a layer as GDAL reads them from the registry file, or as
    PostGIS gives them out of a database."""
    if is_database(db):
        return list(
            shapely.from_wkb([g for (g,) in query(db, f"SELECT ST_AsBinary(geom) FROM {layer}")])
        )
    return list(pyogrio.read_dataframe(db, layer=layer).geometry)


def test_a_3d_polygon_is_stored_in_2d_with_a_warning(
    reg: Registry, registry_path: Path, tmp_path: Path
) -> None:
    z = "[[" + ", ".join(f"[{x}, {y}, 112.5]" for x, y in SQUARE) + "]]"
    multi_z = "[[[" + ", ".join(f"[{x + 0.1}, {y}, 7]" for x, y in SQUARE) + "]]]"
    path = tmp_path / "z.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {**PROPS, "name": name},
                        "geometry": {"type": kind, "coordinates": json.loads(coords)},
                    }
                    for name, kind, coords in [
                        ("z", "Polygon", z),
                        ("multi z", "MultiPolygon", multi_z),
                    ]
                ],
            }
        ),
        encoding="utf-8",
    )
    report = reg.import_file(path, actor=ACTOR)
    assert len(report.refs) == 2
    assert [w for w in report.warnings if "Z (height)" in w] == [
        f"{label}: geometry has Z (height) values; they were dropped: the registry stores "
        "2D geometries"
        for label in ("row 1", "row 2")
    ]
    flat = shapely.Polygon(SQUARE)
    square_m2 = float(area_m2(np.array([flat]), reg.country)[0])
    shapes = {reg.hazard(ref).name: reg.hazard(ref) for ref in report.refs}
    assert not shapes["z"].geometry.has_z and not shapes["multi z"].geometry.has_z
    assert shapes["z"].geometry.equals(flat)
    assert shapes["z"].area_m2 == pytest.approx(square_m2)
    stored = _stored_geometries(registry_path, "hazard_areas")
    assert not any(g.has_z for g in stored)


def test_a_3d_copy_of_a_stored_area_is_a_duplicate(
    run_cli: Any, registry_path: Path, refs: dict[str, str], tmp_path: Path
) -> None:
    lifted = shapely.force_3d(polygon(0), 150.0)  # the template's "Kyiv field"
    path = write_geojson(tmp_path / "again.geojson", [hazard(0, geometry=lifted)])
    code, out, err = run_cli(["import", path, "--db", registry_path])
    assert_one_line_error(
        code, out, err, "row 1: geometry: probable duplicate", f"already stored as {refs['kyiv']}"
    )


def test_a_3d_point_is_stored_in_2d(
    reg: Registry, registry_path: Path, refs: dict[str, str], tmp_path: Path
) -> None:
    x, y = polygon(0).centroid.coords[0]
    path = geojson_by_hand(
        tmp_path / "item.geojson",
        f"[{x}, {y}, 140.0]",
        "Point",
        area_ref=refs["kyiv"],
        category="uxo",
        state="live",
        found_on="2024-04-02",
    )
    report = reg.import_file(path, "items", actor=ACTOR)
    assert any("Z (height)" in w for w in report.warnings)
    got = reg.record("items", report.refs[0]).geometry
    assert not got.has_z and got.equals(shapely.Point(x, y))
    assert not any(g.has_z for g in _stored_geometries(registry_path, "items"))


# -- dates in the future ------------------------------------------------------------------


def test_an_accident_dated_in_the_future_is_refused_by_the_cli(
    run_cli: Any, registry_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "accidents.csv"
    path.write_text(
        f"occurred_on,lat,lon\n2024-05-01,{KYIV[1]},{KYIV[0]}\n2099-01-01,{KYIV[1]},{KYIV[0]}\n",
        encoding="utf-8",
    )
    before = snapshot(registry_path)
    code, out, err = run_cli(["import", path, "--db", registry_path, "--kind", "accidents"])
    assert_one_line_error(
        code,
        out,
        err,
        "row 2: occurred_on: occurred_on 2099-01-01 lies in the future (today is 2026-11-29); "
        "check the date",
    )
    assert snapshot(registry_path) == before


def test_an_activity_completed_next_year_is_refused_but_a_planned_one_lands(
    reg: Registry, refs: dict[str, str], tmp_path: Path
) -> None:
    def activity(status: str) -> dict[str, Any]:
        return {
            "area_ref": refs["kyiv"],
            "activity_type": "nts",
            "status": status,
            "start_date": "2027-02-01",
            "end_date": "2027-03-01",
            "geometry": polygon(0),
        }

    done = write_geojson(tmp_path / "done.geojson", [activity("completed")])
    with pytest.raises(ValidationError) as caught:
        reg.import_file(done, "activities", actor=ACTOR)
    assert caught.value.field == "start_date" and "lies in the future" in str(caught.value)
    planned = write_geojson(tmp_path / "planned.geojson", [activity("planned")])
    assert len(reg.import_file(planned, "activities", actor=ACTOR).refs) == 1


def test_an_edit_to_a_future_date_is_refused(reg: Registry, refs: dict[str, str]) -> None:
    (ref,) = reg.add_records(
        "accidents",
        [{"area_ref": refs["kyiv"], "occurred_on": "2024-05-01", "geometry": shapely.Point(*KYIV)}],
        actor=ACTOR,
    )
    with pytest.raises(ValidationError) as caught:
        reg.update_record("accidents", ref, {"occurred_on": "2026-12-25"}, actor=ACTOR)
    assert (caught.value.record, caught.value.field) == (ref, "occurred_on")
    assert "2026-12-25 lies in the future (today is 2026-11-29)" in caught.value.message
    assert str(reg.record("accidents", ref).occurred_on) == "2024-05-01"
    reg.update_record("accidents", ref, {"occurred_on": "2026-11-30"}, actor=ACTOR)  # tolerance


def test_an_unreadable_tolerance_setting_is_one_line_exit_2(
    run_cli: Any, registry_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(validate.FUTURE_TOLERANCE_ENV, "a week")
    path = write_geojson(tmp_path / "one.geojson", [hazard(41)])
    code, out, err = run_cli(["import", path, "--db", registry_path])
    assert_one_line_error(code, out, err, "LANDRELEASE_FUTURE_DATE_TOLERANCE_DAYS='a week'")
