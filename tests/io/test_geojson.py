"""GeoJSON: EPSG:4326 by default, RFC 7946 output, text kept as text."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from landrelease.domain.errors import InputFileError
from landrelease.domain.geometry import Problem
from landrelease.io import Repairs, read_features, write_features


def feature_collection(path: Path, features: list[dict], **members: object) -> Path:
    """Return `path` after writing a FeatureCollection with `features` and extra `members`."""
    path.write_text(
        json.dumps({"type": "FeatureCollection", **members, "features": features}),
        encoding="utf-8",
    )
    return path


def test_without_crs_member_the_features_are_wgs84(tmp_path: Path) -> None:
    path = feature_collection(
        tmp_path / "h.geojson",
        [
            {
                "type": "Feature",
                "properties": {"ref": "0012", "reported": "2024-01-02", "n": 3},
                "geometry": {"type": "Point", "coordinates": [36.2, 49.9]},
            }
        ],
    )
    read = read_features(path)
    assert read.crs == "EPSG:4326"
    assert read.loc[0, "ref"] == "0012"
    assert read.loc[0, "reported"] == "2024-01-02"
    assert read["n"].dtype == "int64"


def test_a_legacy_crs_member_is_kept(tmp_path: Path) -> None:
    path = feature_collection(
        tmp_path / "m.geojson",
        [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [4e6, 6.4e6]},
            }
        ],
        crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}},
    )
    assert read_features(path).crs == "EPSG:3857"


def test_written_geojson_is_wgs84_without_crs_member(tmp_path: Path) -> None:
    utm = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(300000, 5540000)], crs=32636)
    write_features(utm, tmp_path / "out.geojson")
    document = json.loads((tmp_path / "out.geojson").read_text(encoding="utf-8"))
    assert "crs" not in document
    lon, lat = document["features"][0]["geometry"]["coordinates"]
    assert 30 < lon < 34 and 49 < lat < 51


@pytest.mark.parametrize(
    "text", ['{"type": "FeatureCollection", "features": [{"type": "Feat', "not json at all"]
)
def test_broken_geojson_is_reported(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(InputFileError, match=r"broken\.json: cannot be read as GeoJSON"):
        read_features(path)


CLOSED = [[36.2, 49.9], [36.3, 49.9], [36.3, 50.0], [36.2, 49.9]]
OPEN = [[36.2, 49.9], [36.3, 49.9], [36.3, 50.0], [36.25, 49.95]]  # does not end where it starts


def polygon_feature(ref: str, *rings: list[list[float]]) -> dict:
    """Return a GeoJSON Feature: a polygon with `rings` and a ``ref`` property."""
    return {
        "type": "Feature",
        "properties": {"ref": ref},
        "geometry": {"type": "Polygon", "coordinates": list(rings)},
    }


def with_an_open_ring(path: Path) -> Path:
    """Return `path` after writing three polygons, the 3rd with an open outer ring."""
    return feature_collection(
        path,
        [
            polygon_feature("UA-HZ-0", CLOSED),
            polygon_feature("UA-HZ-2", CLOSED),
            polygon_feature("UA-HZ-1", OPEN),
        ],
    )


@pytest.fixture(params=[True, False], ids=["arrow", "rows"])
def arrow(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Read through pyogrio's Arrow path, then through its row path."""
    monkeypatch.setattr("landrelease.io.ogr.USE_ARROW", request.param)
    return bool(request.param)


def test_an_open_ring_names_the_row_and_the_ring(tmp_path: Path, arrow: bool) -> None:
    path = with_an_open_ring(tmp_path / "hazards.geojson")
    with pytest.raises(InputFileError) as caught:
        read_features(path)
    assert str(caught.value) == (
        f"{path}: row 3: polygon ring 1 is not closed (its last position differs from its "
        "first); close it, or import with --repair"
    )


def test_an_open_hole_of_a_second_part_is_named_and_other_rows_counted(
    tmp_path: Path, arrow: bool
) -> None:
    hole = [[36.22, 49.92], [36.23, 49.92], [36.23, 49.93], [36.22, 49.925]]
    multipolygon = {
        "type": "Feature",
        "properties": {"ref": "UA-HZ-9"},
        "geometry": {"type": "MultiPolygon", "coordinates": [[CLOSED], [CLOSED, hole]]},
    }
    path = feature_collection(
        tmp_path / "parts.geojson",
        [polygon_feature("A", CLOSED), multipolygon, polygon_feature("B", OPEN)],
    )
    with pytest.raises(
        InputFileError,
        match=r"parts\.geojson: row 2: ring 2 of polygon 2 is not closed \(its last position "
        r"differs from its first\) \(also open: 1 more row\(s\)\); close them, or import with "
        r"--repair$",
    ):
        read_features(path)


def test_repair_closes_open_rings_and_notes_each_row(tmp_path: Path, arrow: bool) -> None:
    read = read_features(with_an_open_ring(tmp_path / "hazards.geojson"), repair=True)
    assert read["ref"].tolist() == ["UA-HZ-0", "UA-HZ-2", "UA-HZ-1"]
    assert read.geometry[2].equals_exact(shapely.Polygon([*OPEN, OPEN[0]]), tolerance=0)
    assert read.geometry[0].equals_exact(shapely.Polygon(CLOSED), tolerance=0)
    repairs = read.attrs["repairs"]
    assert repairs == (
        Problem(
            2,
            "geometry",
            "repaired: polygon ring 1 was not closed; closed by repeating the first position",
        ),
    )
    # pandas deep-copies attrs on every operation: the notes must not be copied each time
    assert isinstance(repairs, Repairs) and copy.deepcopy(repairs) is repairs
    assert read[["ref"]].attrs["repairs"] is repairs


def test_a_file_without_open_rings_notes_no_repairs(tmp_path: Path) -> None:
    path = feature_collection(tmp_path / "fine.geojson", [polygon_feature("A", CLOSED)])
    assert "repairs" not in read_features(path, repair=True).attrs


def test_a_ring_closing_cannot_mend_is_refused_even_with_repair(tmp_path: Path) -> None:
    path = feature_collection(
        tmp_path / "short.geojson",
        [polygon_feature("A", CLOSED), polygon_feature("B", [[36.2, 49.9], [36.2, 49.9]])],
    )
    for repair in (False, True):
        with pytest.raises(
            InputFileError,
            match=r"short\.geojson: row 2: its geometry cannot be read \(Invalid number of "
            r"points in LinearRing .*; 1 such row\(s\)\); correct it in the source file$",
        ):
            read_features(path, repair=repair)


def cp1251_geojson(path: Path) -> Path:
    """Return `path` after writing a FeatureCollection in cp1251, Cyrillic in its 2nd row."""
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"ref": ref, "name": name},
                "geometry": {"type": "Point", "coordinates": [37.26, 49.2]},
            }
            for ref, name in [("A", "road"), ("B", "Ізюм"), ("C", "Балаклія")]
        ],
    }
    path.write_bytes(json.dumps(document, ensure_ascii=False).encode("cp1251"))
    return path


def test_cp1251_geojson_names_the_row_and_suggests_the_encoding(
    tmp_path: Path, arrow: bool
) -> None:
    path = cp1251_geojson(tmp_path / "old.geojson")
    with pytest.raises(InputFileError) as caught:
        read_features(path)
    assert str(caught.value) == (
        f"{path}: row 2, column 'name': not UTF-8 text; it reads as Windows Cyrillic ('Ізюм'): "
        "import with --encoding cp1251"
    )
    assert read_features(path, encoding="cp1251")["name"].tolist() == ["road", "Ізюм", "Балаклія"]


@pytest.mark.parametrize("repair", [False, True])
def test_a_ring_ending_at_nan_is_reported_not_closed_or_dropped(
    tmp_path: Path, repair: bool
) -> None:
    path = tmp_path / "nan.geojson"
    ring = "[[NaN, 49.9], [36.3, 49.9], [36.3, 50.0], [36.2, 50.0], [36.2, 49.9]]"
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        f'"geometry": {{"type": "Polygon", "coordinates": [{ring}]}}}}]}}'
    )
    with pytest.raises(InputFileError) as caught:
        read_features(path, repair=repair)
    assert str(caught.value) == (
        f"{path}: row 1: polygon ring 1 starts or ends at a position that is not a number "
        "(NaN or infinite); correct it in the source file"
    )
