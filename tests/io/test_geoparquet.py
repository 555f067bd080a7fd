"""GeoParquet: typed columns and CRS kept; plain Parquet read as an attribute table."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from landrelease.domain.errors import InputFileError
from landrelease.io import read_features, write_features


def test_crs_and_types_are_kept(tmp_path: Path) -> None:
    written = gpd.GeoDataFrame(
        {"ref": ["HZ-1"], "n": pd.Series([None], dtype="Int64")},
        geometry=[shapely.Point(300000, 5540000)],
        crs="EPSG:32636",
    )
    write_features(written, tmp_path / "utm.parquet")
    read = read_features(tmp_path / "utm.parquet")
    assert read.crs == "EPSG:32636"
    assert read["n"].dtype == "Int64"


def test_plain_parquet_is_an_attribute_table(tmp_path: Path) -> None:
    pd.DataFrame({"device": ["cmr", None]}).to_parquet(tmp_path / "events.parquet")
    read = read_features(tmp_path / "events.parquet")
    assert read.geometry.isna().all() and read.crs == "EPSG:4326"
    assert read["device"].tolist() == ["cmr", None]


def test_geometry_column_with_another_name_is_renamed(tmp_path: Path) -> None:
    gpd.GeoDataFrame(
        {"ref": ["HZ-1"]}, geometry=gpd.GeoSeries([shapely.Point(1, 2)], name="geom"), crs=4326
    ).rename_geometry("geom").to_parquet(tmp_path / "g.parquet")
    read = read_features(tmp_path / "g.parquet")
    assert read.geometry.name == "geometry" and list(read.columns) == ["ref", "geometry"]


def test_not_parquet_is_reported(tmp_path: Path) -> None:
    (tmp_path / "fake.geoparquet").write_text("PAR1 but no footer")
    with pytest.raises(InputFileError, match=r"fake\.geoparquet: cannot be read as GeoParquet"):
        read_features(tmp_path / "fake.geoparquet")
