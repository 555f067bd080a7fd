"""Excel workbooks: a sheet read as text, dates as ISO text, formulas never written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

from fixtures import make_workbook
from landrelease.domain.errors import InputFileError
from landrelease.io import read_features, write_features


def test_cells_are_read_as_text_and_dates_as_iso(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "survey.xlsx",
        {
            "NTS": [
                ["ref", "reported", "visited", "devices", "area", "ok", "lat", "lon"],
                [
                    "0012",
                    dt.date(2024, 1, 2),
                    dt.datetime(2024, 1, 2, 9, 30),
                    3,
                    1.25,
                    True,
                    49.9,
                    36.2,
                ],
                ["0013", None, None, None, None, None, None, None],
                [None, None, None, None, None, None, None, None],
            ]
        },
    )
    read = read_features(path)
    assert read.drop(columns="geometry").values.tolist() == [
        ["0012", "2024-01-02", "2024-01-02T09:30:00", "3", "1.25", "True"],
        ["0013", None, None, None, None, None],
    ]
    assert (read.geometry[0].x, read.geometry[0].y) == (36.2, 49.9)
    assert read.geometry[1] is None


def test_layer_names_the_sheet(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "two.xlsx",
        {"first": [["wkt"], ["POINT (1 2)"]], "second": [["wkt", "n"], ["POINT (3 4)", 7]]},
    )
    assert read_features(path)["geometry"][0].equals(shapely.Point(1, 2))
    assert read_features(path, layer="second")["n"].tolist() == ["7"]
    with pytest.raises(InputFileError, match=r"two\.xlsx: no sheet named 'third'.*first, second"):
        read_features(path, layer="third")


def test_an_empty_sheet_is_reported(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "blank.xlsx", {"Sheet": []})
    with pytest.raises(InputFileError, match=r"blank\.xlsx: the sheet is empty"):
        read_features(path)


def test_text_starting_with_equals_is_written_as_text(tmp_path: Path) -> None:
    written = gpd.GeoDataFrame(
        {"note": ['=HYPERLINK("http://x")']}, geometry=[shapely.Point(0, 0)], crs=4326
    )
    write_features(written, tmp_path / "notes.xlsx", layer="notes: [draft]")
    workbook = openpyxl.load_workbook(tmp_path / "notes.xlsx")
    assert workbook.sheetnames == ["notes_ _draft_"]
    assert workbook.active["A2"].data_type == "s"
    assert read_features(tmp_path / "notes.xlsx")["note"].tolist() == ['=HYPERLINK("http://x")']


def test_wkt_longer_than_an_excel_cell_is_refused(tmp_path: Path) -> None:
    ring = [(36 + i / 7000, 49 + (i % 7) / 3000) for i in range(3000)]
    written = gpd.GeoDataFrame(
        {"ref": ["HZ-1", "HZ-2"]},
        geometry=[shapely.Point(0, 0), shapely.LineString(ring)],
        crs=4326,
    )
    with pytest.raises(InputFileError, match=r"big\.xlsx: the geometry of row 2 is .* \.gpkg"):
        write_features(written, tmp_path / "big.xlsx")
    assert not any(tmp_path.iterdir())


def test_nullable_columns_are_written_as_empty_cells(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {
            "n": pd.Series([1, None], dtype="Int64"),
            "b": pd.Series([None, False], dtype="boolean"),
            "f": [float("nan"), 2.5],
        }
    )
    write_features(table, tmp_path / "t.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["n", "b", "f"],
        [1, None, None],
        [None, False, 2.5],
    ]
