"""CSV tables: geometry from WKT or lat/lon text, every cell read as text."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landrelease.domain.errors import InputFileError
from landrelease.io import read_features, write_features


def write_text(path: Path, text: str) -> Path:
    """Return `path` after writing `text` to it as UTF-8."""
    path.write_text(text, encoding="utf-8")
    return path


def test_wkt_column_is_found_in_any_case_and_dropped(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "hazards.csv",
        'ref,WKT,reported\n0012,"POINT (36.2 49.9)",2024-01-02\n0013,,\n',
    )
    read = read_features(path)
    assert list(read.columns) == ["ref", "reported", "geometry"]
    assert read["ref"].tolist() == ["0012", "0013"]
    assert read["reported"].tolist() == ["2024-01-02", None]
    assert read.geometry[0].equals(shapely.Point(36.2, 49.9))
    assert read.geometry[1] is None
    assert read.crs == "EPSG:4326"


@pytest.mark.parametrize(
    ("header", "row"),
    [
        ("ref,lat,lon", "A,49.9,36.2"),
        ("ref;Latitude;Longitude", "A;49,9;36,2"),
        ("ref\tY\tX", "A\t49.9\t36.2"),
        ("ref,lng,LAT", "A,36.2,49.9"),
    ],
)
def test_points_come_from_latitude_and_longitude_columns(
    tmp_path: Path, header: str, row: str
) -> None:
    read = read_features(write_text(tmp_path / "points.csv", f"{header}\n{row}\n"))
    assert list(read.columns) == ["ref", "geometry"]
    assert (read.geometry[0].x, read.geometry[0].y) == (36.2, 49.9)


def test_crs_argument_is_the_crs_of_the_coordinates(tmp_path: Path) -> None:
    path = write_text(tmp_path / "utm.csv", "x,y\n300000,5540000\n")
    assert read_features(path, crs="EPSG:32636").crs == "EPSG:32636"


def test_utf8_with_byte_order_mark_and_cyrillic(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_text("назва,lat,lon\nІзюм,49.2,37.26\n", encoding="utf-8-sig")
    assert read_features(path)["назва"].tolist() == ["Ізюм"]


def test_no_geometry_column_is_an_error_unless_allowed(tmp_path: Path) -> None:
    path = write_text(tmp_path / "events.csv", "hazard_ref,device\nHZ-1,cmr\n")
    with pytest.raises(InputFileError, match=r"events\.csv: no geometry column; add a WKT"):
        read_features(path)
    read = read_features(path, require_geometry=False)
    assert read.geometry.isna().all() and read["device"].tolist() == ["cmr"]


def test_unparseable_wkt_names_row_and_column(tmp_path: Path) -> None:
    path = write_text(tmp_path / "bad.csv", 'ref,geom\nA,"POINT (1 2)"\nB,\nC,"POLYGON ((1 2, 3"\n')
    with pytest.raises(InputFileError, match=r"bad\.csv: row 3, column 'geom': cannot read"):
        read_features(path)


@pytest.mark.parametrize("value", ["49.9N", "nan", "inf", "--"])
def test_non_numeric_latitude_names_row_and_column(tmp_path: Path, value: str) -> None:
    path = write_text(tmp_path / "bad.csv", f"lat,lon\n49.9,36.2\n{value},36.2\n")
    with pytest.raises(InputFileError, match=r"bad\.csv: row 2, column 'lat': .* is not a number"):
        read_features(path)


def test_one_coordinate_without_the_other_is_an_error(tmp_path: Path) -> None:
    path = write_text(tmp_path / "half.csv", "lat,lon\n,36.2\n")
    with pytest.raises(InputFileError, match=r"half\.csv: row 1: column 'lat' is empty"):
        read_features(path)


def test_not_utf8_in_the_header_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "cp1251.csv"
    path.write_bytes("назва,lat,lon\nІзюм,49.2,37.26\n".encode("cp1251"))
    with pytest.raises(
        InputFileError,
        match=r"cp1251\.csv: the header line, column 1: not UTF-8 text; .*--encoding cp1251",
    ):
        read_features(path)


def test_ragged_rows_are_reported(tmp_path: Path) -> None:
    path = write_text(tmp_path / "ragged.csv", "lat,lon\n49.9,36.2\n49.9,36.2,7,8\n")
    with pytest.raises(InputFileError, match=r"ragged\.csv: not a well-formed CSV"):
        read_features(path)


def test_empty_text_and_null_both_read_back_as_none(tmp_path: Path) -> None:
    written = gpd.GeoDataFrame(
        {"note": pd.Series(["", None, " "], dtype=object)},
        geometry=[shapely.Point(0, 0)] * 3,
        crs=4326,
    )
    write_features(written, tmp_path / "notes.csv")
    assert read_features(tmp_path / "notes.csv")["note"].tolist() == [None, None, " "]


coordinate = st.floats(min_value=-180, max_value=180, allow_nan=False, allow_infinity=False)
points = st.builds(shapely.Point, coordinate, coordinate)
boxes = st.builds(
    lambda x, y, w, h: shapely.box(x, y, x + w, y + h),
    coordinate,
    coordinate,
    st.floats(min_value=1e-9, max_value=10),
    st.floats(min_value=1e-9, max_value=10),
)
triangles = st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=3).map(
    lambda corners: shapely.Polygon(corners)
)
geometries = st.one_of(points, boxes, triangles, st.none())
slow_io = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@slow_io
@given(st.lists(geometries, min_size=1, max_size=8), st.text(max_size=12))
def test_wkt_round_trip_is_exact(tmp_path: Path, shapes: list, label: str) -> None:
    written = gpd.GeoDataFrame({"label": [label] * len(shapes)}, geometry=shapes, crs=4326)
    write_features(written, tmp_path / "shapes.csv")
    read = read_features(tmp_path / "shapes.csv", require_geometry=False)
    assert read.geometry.isna().tolist() == written.geometry.isna().tolist()
    present = written.geometry.notna().to_numpy()
    assert shapely.equals_exact(
        read.geometry.values[present], written.geometry.values[present], tolerance=0
    ).all()


@slow_io
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=-90, max_value=90, allow_nan=False),
            st.floats(min_value=-180, max_value=180, allow_nan=False),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_latitude_longitude_round_trip_is_exact(
    tmp_path: Path, coordinates: list[tuple[float, float]]
) -> None:
    rows = "".join(f"{lat!r},{lon!r}\n" for lat, lon in coordinates)
    path = write_text(tmp_path / "points.csv", "latitude,longitude\n" + rows)
    read = read_features(path)
    for point, (lat, lon) in zip(read.geometry, coordinates, strict=True):
        assert (point.y, point.x) == (lat, lon)
        assert not math.isnan(point.x)
