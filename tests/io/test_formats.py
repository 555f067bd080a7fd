"""Round trips through every writable format, and the dispatch by extension."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from landrelease.domain.errors import InputFileError
from landrelease.io import SUPPORTED_READ, SUPPORTED_WRITE, read_features, write_features
from landrelease.io.formats import FORMATS

TYPED_FORMATS = [".gpkg", ".geojson", ".json", ".parquet", ".geoparquet"]
TEXT_FORMATS = [".csv", ".xlsx"]


def sample_features() -> gpd.GeoDataFrame:
    """Return hazard-area-like features holding every column type the registry exports."""
    square = Polygon([(36.25, 49.19), (36.26, 49.19), (36.26, 49.2), (36.25, 49.2)])
    holed = Polygon(
        [(37.0, 49.0), (37.1, 49.0), (37.1, 49.1), (37.0, 49.1)],
        [[(37.02, 49.02), (37.02, 49.03), (37.03, 49.03)]],
    )
    two_parts = MultiPolygon([holed, Polygon([(37.2, 49.0), (37.3, 49.0), (37.25, 49.05)])])
    attributes = {
        "ref": pd.Series(["HZ-0012", "0013", "HZ-0014", None, "HZ-0016"], dtype=object),
        "name": pd.Series(["Ізюм", "Балаклія", "Kharkiv «центр»", None, "Snake's"], dtype=object),
        "count": pd.Series([1, 2, 3, 4, -5], dtype="int64"),
        "devices": pd.Series([5, None, 0, 7, 2**40], dtype="Int64"),
        "area": [1.5, np.nan, 1e-7, 123456.789, 0.1 + 0.2],
        "surveyed": [True, False, True, False, True],
        "cleared": pd.Series([True, None, False, True, None], dtype="boolean"),
        "reported": pd.Series(["2024-01-02", None, "2023-12-31", "2022-02-24", None], dtype=object),
        "codes": pd.Series(
            ["ap_mine;cmr", "uxo", None, "at_mine", "ap_mine;cmr;uxo"], dtype=object
        ),
    }
    geometry = [
        square,
        two_parts,
        Point(36.6104321987654, 49.2082345678901),
        None,
        Point(30.5, 50.45),
    ]
    return gpd.GeoDataFrame(attributes, geometry=geometry, crs="EPSG:4326")


def assert_same_geometry(read: gpd.GeoSeries, written: gpd.GeoSeries) -> None:
    """Assert the geometries are equal coordinate for coordinate (None where None)."""
    assert read.isna().tolist() == written.isna().tolist()
    both = written.notna().to_numpy()
    assert shapely.equals_exact(read.values[both], written.values[both], tolerance=0).all()


def as_text(frame: pd.DataFrame) -> list[list[str | None]]:
    """Return the cells of `frame` as text, None for nulls (how CSV and XLSX read back)."""
    return [[None if pd.isna(v) else str(v) for v in row] for row in frame.astype(object).values]


@pytest.mark.parametrize("extension", TYPED_FORMATS)
def test_typed_formats_round_trip_values_types_and_geometry(tmp_path: Path, extension: str) -> None:
    written = sample_features()
    path = tmp_path / f"hazards{extension}"
    write_features(written, path)
    read = read_features(path)
    assert read.geometry.name == "geometry"
    assert read.crs == "EPSG:4326"
    assert list(read.index) == list(range(len(written)))
    assert_same_geometry(read.geometry, written.geometry)
    pd.testing.assert_frame_equal(
        pd.DataFrame(read.drop(columns="geometry")), pd.DataFrame(written.drop(columns="geometry"))
    )
    assert read.loc[3, "ref"] is None


@pytest.mark.parametrize("extension", TEXT_FORMATS)
def test_text_formats_round_trip_every_value_as_text(tmp_path: Path, extension: str) -> None:
    written = sample_features()
    path = tmp_path / f"hazards{extension}"
    write_features(written, path)
    read = read_features(path)
    assert read.crs == "EPSG:4326"
    assert_same_geometry(read.geometry, written.geometry)
    attributes = written.drop(columns="geometry")
    assert list(read.columns) == [*attributes.columns, "geometry"]
    assert all(read[name].dtype == object for name in attributes.columns)
    # XLSX stores numbers with 16 significant digits (0.1 + 0.2 comes back as "0.3").
    exact = [name for name in attributes.columns if name != "area"]
    assert as_text(read[exact]) == as_text(attributes[exact])
    area = pd.to_numeric(read["area"]).to_numpy()
    assert np.allclose(area, attributes["area"], rtol=1e-15, atol=0, equal_nan=True)
    assert read.loc[0, "codes"] == "ap_mine;cmr"
    assert read.loc[1, "ref"] == "0013"
    assert read.loc[1, "area"] is None


@pytest.mark.parametrize("extension", SUPPORTED_WRITE)
def test_attribute_tables_are_written_without_geometry_and_read_back(
    tmp_path: Path, extension: str
) -> None:
    events = pd.DataFrame(
        {
            "hazard_ref": pd.Series(["HZ-0012", "HZ-0012", None], dtype=object),
            "device": pd.Series(["ap_mine", "cmr", "uxo"], dtype=object),
            "found": pd.Series([3, None, 1], dtype="Int64"),
            "date": pd.Series(["2024-05-01", None, "2024-05-03"], dtype=object),
        }
    )
    path = tmp_path / f"events{extension}"
    for table in (events, gpd.GeoDataFrame(events, geometry=[None] * 3, crs="EPSG:4326")):
        write_features(table, path)
        read = read_features(path, require_geometry=False)
        assert read.geometry.isna().all()
        assert read.crs == "EPSG:4326"
        if extension in TEXT_FORMATS:
            assert as_text(read.drop(columns="geometry")) == as_text(events)
        else:
            assert read["hazard_ref"].tolist() == ["HZ-0012", "HZ-0012", None]
            assert read["found"].tolist()[::2] == [3, 1] and pd.isna(read["found"][1])
            assert read["date"].tolist() == ["2024-05-01", None, "2024-05-03"]


def test_zipped_shapefile_round_trips_polygons_and_points_separately(tmp_path: Path) -> None:
    written = sample_features().drop(columns=["surveyed"])
    polygons = written[written.geom_type.isin(["Polygon", "MultiPolygon"])]
    points = written[written.geom_type.eq("Point") | written.geometry.isna()]
    for part in (polygons, points):
        write_features(part, tmp_path / "hazards.zip")
        read = read_features(tmp_path / "hazards.zip")
        expected = part.reset_index(drop=True)
        assert read.crs == "EPSG:4326"
        # Shapefile rewrites ring orientation; compare the normalised shapes.
        assert_same_geometry(
            gpd.GeoSeries(shapely.normalize(read.geometry.values)),
            gpd.GeoSeries(shapely.normalize(expected.geometry.values)),
        )
        assert read["name"].tolist() == expected["name"].tolist()
        assert read["count"].tolist() == expected["count"].tolist()
        assert read["codes"].tolist() == expected["codes"].tolist()
        assert np.allclose(read["area"], expected["area"], rtol=1e-14, equal_nan=True)


@pytest.mark.parametrize("extension", SUPPORTED_WRITE)
def test_no_rows_round_trip(tmp_path: Path, extension: str) -> None:
    empty = sample_features().iloc[:0]
    write_features(empty, tmp_path / f"none{extension}")
    read = read_features(tmp_path / f"none{extension}", require_geometry=False)
    assert len(read) == 0 and read.crs == "EPSG:4326"
    if extension not in (".geojson", ".json"):  # GeoJSON has no columns without features
        assert list(read.columns) == list(empty.columns)


def test_extension_is_matched_in_any_case(tmp_path: Path) -> None:
    path = tmp_path / "HAZARDS.GeoJSON"
    write_features(sample_features(), path)
    assert len(read_features(path)) == 5


def test_writing_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "hazards.gpkg"
    write_features(sample_features(), path)
    write_features(sample_features().iloc[:2], path)
    assert len(read_features(path)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hazards.gpkg"]


def test_a_failed_export_leaves_the_old_file_and_no_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "hazards.xlsx"
    write_features(sample_features(), path)
    before = path.read_bytes()
    huge = shapely.Polygon(np.random.default_rng(0).random((3000, 2)) + [36, 49])
    with pytest.raises(InputFileError, match=r"hazards\.xlsx: .*\.gpkg or \.geojson"):
        write_features(gpd.GeoDataFrame({"ref": ["HZ-1"]}, geometry=[huge], crs=4326), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["hazards.xlsx"]


def test_missing_file_is_reported_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"nowhere\.gpkg: file not found"):
        read_features(tmp_path / "nowhere.gpkg")


def test_empty_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "empty.geojson").write_bytes(b"")
    with pytest.raises(InputFileError, match=r"empty\.geojson: file is empty"):
        read_features(tmp_path / "empty.geojson")


def test_unknown_extension_lists_the_supported_ones(tmp_path: Path) -> None:
    (tmp_path / "hazards.kml").write_text("<kml/>")
    with pytest.raises(InputFileError, match=r"hazards\.kml: cannot read '\.kml'.*\.gpkg"):
        read_features(tmp_path / "hazards.kml")
    with pytest.raises(InputFileError, match=r"hazards\.kml: cannot write '\.kml'.*\.csv"):
        write_features(sample_features(), tmp_path / "hazards.kml")
    assert set(SUPPORTED_WRITE) <= set(SUPPORTED_READ)


def test_writing_into_a_missing_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"does not exist"):
        write_features(sample_features(), tmp_path / "no" / "hazards.gpkg")


@pytest.mark.parametrize("extension", [".gpkg", ".parquet", ".zip", ".xlsx", ".geojson"])
def test_truncated_files_are_reported_not_raised_raw(tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"hazards{extension}"
    features = sample_features()
    if extension == ".zip":
        features = features[features.geom_type.eq("Point")]
    write_features(features, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match=rf"hazards\{extension}: "):
        read_features(path)


def test_an_unknown_crs_argument_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_text("lat,lon\n49.9,36.2\n")
    with pytest.raises(InputFileError, match="unknown coordinate reference system 'EPSG:99999'"):
        read_features(path, crs="EPSG:99999")


@pytest.mark.parametrize("extension", [".gpkg", ".geojson"])
def test_reading_without_arrow_gives_the_same_frame(
    tmp_path: Path, extension: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / f"hazards{extension}"
    write_features(sample_features(), path)
    with_arrow = read_features(path)
    monkeypatch.setattr("landrelease.io.ogr.USE_ARROW", False)
    pd.testing.assert_frame_equal(read_features(path), with_arrow)


def test_every_reader_takes_the_same_keywords() -> None:
    for fmt in FORMATS:
        assert fmt.read is not None
        parameters = inspect.signature(fmt.read).parameters
        keywords = [n for n, p in parameters.items() if p.kind is p.KEYWORD_ONLY]
        assert keywords == ["layer", "crs", "require_geometry", "encoding", "repair"], fmt.name


@pytest.mark.parametrize("extension", SUPPORTED_WRITE)
def test_naming_utf8_and_asking_for_repair_change_nothing_in_a_good_file(
    tmp_path: Path, extension: str
) -> None:
    path = tmp_path / f"hazards{extension}"
    features = sample_features()
    if extension == ".zip":
        features = features[features.geom_type.eq("Point")]
    write_features(features, path)
    plain = read_features(path)
    named = read_features(path, encoding="utf-8", repair=True)
    pd.testing.assert_frame_equal(named, plain)
    assert named.attrs == {}
