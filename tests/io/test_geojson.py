"""GeoJSON: EPSG:4326 by default, RFC 7946 output, text kept as text."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from landrelease.domain.errors import InputFileError
from landrelease.io import read_features, write_features


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
