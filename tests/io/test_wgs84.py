"""Reprojection to EPSG:4326 of features read in their declared CRS."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from landrelease.domain.errors import InputFileError
from landrelease.io import read_features, to_wgs84, write_features

IZIUM = (37.2581, 49.2104)  # lon, lat


@pytest.mark.parametrize("crs", ["EPSG:3857", "EPSG:32636"])
def test_projected_input_is_reprojected_to_wgs84(tmp_path: Path, crs: str) -> None:
    projected = gpd.GeoSeries([shapely.Point(*IZIUM)], crs=4326).to_crs(crs)
    source = gpd.GeoDataFrame(
        {"ref": ["HZ-1", "HZ-2"]},
        geometry=[projected[0], shapely.box(*projected[0].buffer(500).bounds)],
        crs=crs,
    )
    write_features(source, tmp_path / "projected.gpkg")
    read = read_features(tmp_path / "projected.gpkg")
    assert read.crs == crs
    wgs84 = to_wgs84(read)
    assert wgs84.crs == "EPSG:4326"
    assert wgs84.geometry[0].x == pytest.approx(IZIUM[0], abs=1e-9)
    assert wgs84.geometry[0].y == pytest.approx(IZIUM[1], abs=1e-9)
    assert wgs84.geometry[1].contains(wgs84.geometry[0])
    assert wgs84["ref"].tolist() == ["HZ-1", "HZ-2"]


def test_wgs84_input_is_returned_as_it_is() -> None:
    features = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(*IZIUM)], crs="OGC:CRS84")
    assert to_wgs84(features).crs == "EPSG:4326"
    assert to_wgs84(features).geometry[0].equals(shapely.Point(*IZIUM))


def test_an_attribute_table_without_crs_gets_wgs84() -> None:
    table = gpd.GeoDataFrame(pd.DataFrame({"n": [1]}), geometry=[None])
    assert to_wgs84(table).crs == "EPSG:4326"


def test_geometry_without_crs_is_reported() -> None:
    features = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(*IZIUM)])
    with pytest.raises(InputFileError, match="declare no coordinate reference system"):
        to_wgs84(features)


def test_a_crs_that_cannot_reach_wgs84_is_reported() -> None:
    local = (
        'LOCAL_CS["site grid",LOCAL_DATUM["site",0],UNIT["metre",1],AXIS["x",EAST],AXIS["y",NORTH]]'
    )
    features = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(10, 20)], crs=local)
    with pytest.raises(InputFileError, match="cannot reproject from 'site grid' to EPSG:4326"):
        to_wgs84(features)


def test_coordinates_outside_their_crs_are_reported() -> None:
    features = gpd.GeoDataFrame(
        {"n": [1, 2]},
        geometry=[shapely.Point(300000, 5540000), shapely.Point(1e8, 1e8)],
        crs="EPSG:32636",
    )
    with pytest.raises(InputFileError, match="row 2: coordinates cannot be reprojected"):
        to_wgs84(features)
