"""Excel workbooks (.xlsx): one sheet as a text table, geometry as WKT or lat/lon columns.

Reading turns every cell into text (``str``, or ``None`` for an empty cell), as for CSV:
whole numbers as "12", other numbers in their shortest exact form, booleans as "True"/"False",
dates as "YYYY-MM-DD" and date-times as "YYYY-MM-DDTHH:MM:SS".
Writing stores each value with its own cell type, text that starts with "=" as text (never a
formula), null as an empty cell and geometry as WKT in a ``geometry`` column.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
from openpyxl.cell import WriteOnlyCell
from pyproj import CRS

from landrelease.domain.errors import InputFileError
from landrelease.io.frames import WGS84
from landrelease.io.text_tables import features_from_text, text_from_features

EXCEL_CELL_CHARACTERS = 32_767
SHEET_NAME_CHARACTERS = 31


def read_xlsx(
    path: Path,
    *,
    layer: str | None,
    crs: CRS | None,
    require_geometry: bool,
    encoding: str | None,
    repair: bool,
) -> pd.DataFrame:
    """Return the rows of sheet `layer` (default: the first) as text features in `crs`.

    The XML inside a workbook declares its own encoding, so `encoding` is not used; `repair`
    closes open polygon rings in WKT cells (see `features_from_text`).
    """
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if layer is not None and layer not in workbook.sheetnames:
            raise InputFileError(
                f"{path}: no sheet named {layer!r}; its sheets are {', '.join(workbook.sheetnames)}"
            )
        sheet = workbook[layer] if layer is not None else workbook.worksheets[0]
        rows = [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    while rows and all(value is None for value in rows[-1]):
        rows.pop()
    if not rows:
        raise InputFileError(f"{path}: the sheet is empty; the first row must name the columns")
    width = max(len(row) for row in rows)
    header = _pad(rows[0], width)
    table = pd.DataFrame([_pad(row, width) for row in rows[1:]], columns=range(width), dtype=object)
    # Columns without a name are kept (as column_N) only if some cell below holds a value.
    keep = [name is not None or table[j].notna().any() for j, name in enumerate(header)]
    table.columns = [name or f"column_{j + 1}" for j, name in enumerate(header)]
    table = table.loc[:, keep]
    return features_from_text(
        table, path, crs=crs or WGS84, require_geometry=require_geometry, repair=repair
    )


def _pad(row: list[str | None], width: int) -> list[str | None]:
    """Return `row` extended with None to `width` cells."""
    return row + [None] * (width - len(row))


def _cell_text(value: Any) -> str | None:
    """Return a cell's value as text, None for an empty cell."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def write_xlsx(
    attributes: pd.DataFrame, geometry: gpd.GeoSeries | None, path: Path, *, layer: str
) -> None:
    """Write a workbook with one sheet named `layer` (cut to Excel's 31 characters).

    Raises InputFileError if a geometry's WKT exceeds Excel's 32,767 characters per cell.
    """
    table = text_from_features(attributes, geometry)
    if geometry is not None:
        lengths = table["geometry"].str.len().fillna(0)
        if (lengths > EXCEL_CELL_CHARACTERS).any():
            row = int(np.flatnonzero(lengths > EXCEL_CELL_CHARACTERS)[0])
            raise InputFileError(
                f"{path}: the geometry of row {row + 1} is {int(lengths[row]):,} characters of "
                f"WKT, more than an Excel cell holds ({EXCEL_CELL_CHARACTERS:,}); export to "
                ".gpkg or .geojson instead"
            )
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_name(layer))
    sheet.append([str(name) for name in table.columns])
    columns = [table[name].astype(object).tolist() for name in table.columns]
    for values in zip(*columns, strict=True):
        sheet.append([_cell(sheet, value) for value in values])
    workbook.save(path)


def _cell(sheet: Any, value: Any) -> Any:
    """Return what to store in a cell for `value`: None for nulls, text kept as text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def _sheet_name(layer: str) -> str:
    """Return `layer` made a valid Excel sheet name (no []:*?/\\, at most 31 characters)."""
    return re.sub(r"[\[\]:*?/\\]", "_", layer)[:SHEET_NAME_CHARACTERS] or "features"
