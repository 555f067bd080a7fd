"""The one shape every reader hands back, and the split every writer starts from.

A feature frame is a GeoDataFrame whose geometry column is named ``geometry``, whose index is
0..n-1 in file order (row ``i`` is the file's ``i + 1``-th record, so errors say "row N" with
N = index + 1), and whose text columns are ``object`` dtype holding ``str`` or ``None``.
A reader that repaired rows (with ``repair=True``) notes them in ``attrs["repairs"]``.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from landrelease.domain.geometry import Problem

WGS84 = CRS.from_epsg(4326)
REPAIRS = "repairs"  # the attrs key of the Repairs a reader made


class Repairs(tuple[Problem, ...]):
    """The repairs made while reading a file, one Problem per repaired row (0-based).

    Kept in a frame's ``attrs``, which pandas deep-copies on every operation: being an
    unchangeable tuple of frozen records, a copy is the tuple itself (100,000 notes copied
    would otherwise cost a second per operation).
    """

    def __deepcopy__(self, memo: dict[int, object]) -> Repairs:
        return self


def noted_repairs(frame: pd.DataFrame) -> Repairs:
    """Return the repairs noted on `frame` by its reader (none if it made none)."""
    return Repairs(frame.attrs.get(REPAIRS, ()))


def feature_frame(frame: pd.DataFrame, crs: CRS | None = None) -> gpd.GeoDataFrame:
    """Return `frame` as a feature frame (see module docstring).

    A frame without an active geometry (an attribute table) gets a ``geometry`` column of None
    in EPSG:4326. `crs` is assumed when the frame has geometry but declares no CRS.
    """
    if isinstance(frame, gpd.GeoDataFrame) and frame.active_geometry_name in frame.columns:
        gdf = frame
        if gdf.geometry.name != "geometry":
            gdf = gdf.rename_geometry("geometry")
        if gdf.crs is None and crs is not None:
            gdf = gdf.set_crs(crs)
    else:
        attributes = pd.DataFrame(frame)
        gdf = gpd.GeoDataFrame(
            attributes,
            geometry=gpd.GeoSeries([None] * len(attributes), index=attributes.index),
            crs=WGS84,
        )
    gdf = gdf.reset_index(drop=True)
    for name in gdf.columns:
        if name != "geometry":
            gdf[name] = _plain_column(gdf[name])
    return gdf


def _plain_column(column: pd.Series) -> pd.Series:
    """Return `column` with text as object/None, small ints as int64 and dates as ISO text."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        return _nulls_as_none(column.astype(object), column.notna())
    if pd.api.types.is_object_dtype(dtype):
        first = column.first_valid_index()
        value = None if first is None else column[first]
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return _nulls_as_none(column.map(_iso_date, na_action="ignore"), column.notna())
        present = column.notna()
        return column if present.all() else _nulls_as_none(column, present)
    if isinstance(dtype, np.dtype) and dtype.kind == "i" and dtype != np.int64:
        return column.astype(np.int64)
    return column


def _iso_date(value: object) -> object:
    """Return a date as "YYYY-MM-DD"; other values unchanged."""
    return value.isoformat() if isinstance(value, dt.date) else value


def _nulls_as_none(column: pd.Series, present: pd.Series) -> pd.Series:
    """Return object `column` with every missing value (NaN, NA, NaT) as None."""
    return column.astype(object).where(present, None)


def split_features(data: pd.DataFrame) -> tuple[pd.DataFrame, gpd.GeoSeries | None]:
    """Return the attribute columns and the geometry (None when no row has one) of `data`.

    A plain DataFrame, a GeoDataFrame without an active geometry and one whose geometries are
    all None are attribute tables: writers store them without geometry.
    """
    geometry: gpd.GeoSeries | None = None
    attributes = pd.DataFrame(data)
    if isinstance(data, gpd.GeoDataFrame) and data.active_geometry_name in data.columns:
        geometry = data.geometry
        attributes = pd.DataFrame(data.drop(columns=[geometry.name]))
        if geometry.isna().all():
            geometry = None
    attributes = attributes.reset_index(drop=True)
    if geometry is not None:
        geometry = geometry.reset_index(drop=True).rename("geometry")
    return attributes, geometry


def date_text(column: pd.Series) -> pd.Series:
    """Return a datetime64 column as "YYYY-MM-DD" text, NaT as None."""
    return _nulls_as_none(pd.to_datetime(column).dt.strftime("%Y-%m-%d"), column.notna())


def dates_of_text(column: pd.Series) -> pd.Series:
    """Return "YYYY-MM-DD" text as `datetime.date` values (None stays None), for writers.

    If any value is not such a date (a cell typed by hand in another program), the column is
    returned as it is: written as text, nothing is lost.
    """
    present = column.notna()
    parsed = pd.to_datetime(column, format="%Y-%m-%d", errors="coerce")
    if (parsed.isna() & present).any():
        return column
    return _nulls_as_none(pd.Series(parsed.dt.date, index=column.index, dtype=object), present)
