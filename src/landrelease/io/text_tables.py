"""Geometry held as text in tables (CSV, XLSX): a WKT column, or latitude/longitude columns.

Every cell of a text table is read as ``str`` or ``None`` (an empty cell), so references such
as "0012" and dates keep their exact spelling; numbers are parsed by whoever needs them.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from landrelease.domain.errors import InputFileError
from landrelease.domain.geometry import Problem
from landrelease.io.frames import REPAIRS, Repairs
from landrelease.io.rings import closed_message, unclosed_rings_in_wkt

WKT_COLUMNS = ("geometry", "wkt", "geom", "the_geom")
LATITUDE_COLUMNS = ("lat", "latitude", "y")
LONGITUDE_COLUMNS = ("lon", "lng", "long", "longitude", "x")
# GEOS writes the shortest text that reads back to the same double, with at most this many
# decimals; its "full precision" (-1) keeps only about 15 significant digits, which is lossy.
WKT_DECIMALS = 25


def features_from_text(
    table: pd.DataFrame, path: Path, *, crs: CRS, require_geometry: bool, repair: bool = False
) -> gpd.GeoDataFrame:
    """Return the features of a text table, their geometry parsed from its geometry columns.

    The geometry comes from the first WKT column found (named, in any case, ``geometry``,
    ``wkt``, ``geom`` or ``the_geom``), else from a latitude column (``lat``, ``latitude``,
    ``y``) and a longitude column (``lon``, ``lng``, ``long``, ``longitude``, ``x``); those
    columns are dropped. A row whose geometry cells are empty gets None. A table with
    neither raises InputFileError unless `require_geometry` is False (an attribute table,
    whose geometry is then all None). Numbers may use a decimal comma ("49,5"). A polygon
    ring whose last position differs from its first raises InputFileError naming the row and
    the ring, or, with `repair`, is closed and noted as `Repairs` in ``attrs["repairs"]``.
    """
    by_lower = {str(name).strip().lower(): name for name in table.columns}
    wkt = _first_present(by_lower, WKT_COLUMNS)
    latitude = _first_present(by_lower, LATITUDE_COLUMNS)
    longitude = _first_present(by_lower, LONGITUDE_COLUMNS)
    repairs: list[Problem] = []
    if wkt is not None:
        geometry = _parse_wkt(table[wkt], path, repairs if repair else None)
        used = [wkt]
    elif latitude is not None and longitude is not None:
        geometry = _parse_points(table[latitude], table[longitude], path)
        used = [latitude, longitude]
    elif not require_geometry:
        geometry = np.full(len(table), None, dtype=object)
        used = []
    else:
        raise InputFileError(
            f"{path}: no geometry column; add a WKT column named 'wkt' or 'geometry', or "
            "'lat' and 'lon' columns in decimal degrees"
        )
    attributes = table.drop(columns=used).reset_index(drop=True)
    features = gpd.GeoDataFrame(attributes, geometry=gpd.GeoSeries(geometry, crs=crs))
    if repairs:
        features.attrs[REPAIRS] = Repairs(repairs)
    return features


def _first_present(by_lower: dict[str, object], names: tuple[str, ...]) -> object | None:
    """Return the first column (by its original label) whose lower-cased name is in `names`."""
    return next((by_lower[name] for name in names if name in by_lower), None)


def _blank(column: pd.Series) -> np.ndarray:
    """Return a boolean array: True where a cell is None or only whitespace."""
    stripped = column.astype(object).fillna("").astype(str).str.strip()
    return column.isna().to_numpy() | (stripped == "").to_numpy()


def _parse_wkt(column: pd.Series, path: Path, repairs: list[Problem] | None) -> np.ndarray:
    """Return the geometries written as WKT in `column`; raise naming the first bad row.

    Open polygon rings are closed if `repairs` is a list (each such row is noted in it).
    """
    blank = _blank(column)
    text = column.to_numpy(dtype=object, copy=True)
    text[blank] = None
    geometry = shapely.from_wkt(text, on_invalid="ignore")
    bad = np.flatnonzero(~blank & shapely.is_missing(geometry))
    found = {int(row): unclosed_rings_in_wkt(str(text[row])) for row in bad}
    if repairs is not None:
        mendable = [row for row, rings in found.items() if rings.mendable]
        closed = shapely.from_wkt(text[mendable], on_invalid="fix")
        for row, geom in zip(mendable, closed, strict=True):
            if geom is not None:
                geometry[row] = geom
                repairs.append(Problem(row, "geometry", closed_message(found[row].closable)))
        bad = np.flatnonzero(~blank & shapely.is_missing(geometry))
    if bad.size:
        first = int(bad[0])
        open_rows = sum(1 for row in bad.tolist() if found[row].closable)
        said = found[first].refusal(open_rows - 1)
        if said is None:
            said = (
                f"cannot read {_excerpt(text[first])} as WKT ({bad.size} such row(s)); write "
                "geometries as WKT such as 'POLYGON ((36.2 49.9, 36.3 49.9, 36.3 50.0, "
                "36.2 49.9))'"
            )
        raise InputFileError(f"{path}: row {first + 1}, column {column.name!r}: {said}")
    return geometry


def _parse_points(latitude: pd.Series, longitude: pd.Series, path: Path) -> np.ndarray:
    """Return points from latitude/longitude text columns; raise naming the first bad cell."""
    lat_blank, lon_blank = _blank(latitude), _blank(longitude)
    half = np.flatnonzero(lat_blank != lon_blank)
    if half.size:
        row = int(half[0])
        empty, given = (latitude, longitude) if lat_blank[row] else (longitude, latitude)
        raise InputFileError(
            f"{path}: row {row + 1}: column {empty.name!r} is empty but {given.name!r} is not; "
            "give both coordinates or neither"
        )
    present = ~lat_blank
    y = _parse_numbers(latitude, present, path)
    x = _parse_numbers(longitude, present, path)
    geometry = np.full(len(latitude), None, dtype=object)
    geometry[present] = shapely.points(x[present], y[present])
    return geometry


def _parse_numbers(column: pd.Series, present: np.ndarray, path: Path) -> np.ndarray:
    """Return the numbers in the `present` cells of a text column (NaN elsewhere)."""
    text = column.astype(object).where(present, None)
    text = text.str.strip().str.replace(r"^([+-]?\d+),(\d+)$", r"\1.\2", regex=True)
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(present & ~np.isfinite(numbers))
    if bad.size:
        row = int(bad[0])
        raise InputFileError(
            f"{path}: row {row + 1}, column {column.name!r}: {_excerpt(column.iloc[row])} is not "
            "a number; write coordinates in decimal degrees such as 49.9935"
        )
    return numbers


def _excerpt(value: object, limit: int = 40) -> str:
    """Return `value` quoted and cut to `limit` characters for an error message."""
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def text_from_features(attributes: pd.DataFrame, geometry: gpd.GeoSeries | None) -> pd.DataFrame:
    """Return the table to write as text: attributes, then geometry as full-precision WKT.

    The WKT column is named ``geometry``; it is left out for an attribute table.
    """
    table = attributes.copy()
    if geometry is not None:
        wkt = shapely.to_wkt(geometry.values, rounding_precision=WKT_DECIMALS, trim=True)
        table["geometry"] = np.asarray(wkt, dtype=object)
    return table
