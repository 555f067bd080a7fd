"""GeoParquet files (and plain Parquet tables): columnar, typed, fast to read and write."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS


def read_geoparquet(
    path: Path,
    *,
    layer: str | None,
    crs: CRS | None,
    require_geometry: bool,
    encoding: str | None,
    repair: bool,
) -> pd.DataFrame:
    """Return the rows of a GeoParquet file; a Parquet file without geo metadata is a table.

    Parquet text is UTF-8 and its geometry WKB that writers have already built, so neither
    `encoding` nor `repair` is used.
    """
    try:
        return gpd.read_parquet(path)
    except ValueError as error:
        if "Missing geo metadata" not in str(error):
            raise
    return pd.read_parquet(path)


def write_geoparquet(
    attributes: pd.DataFrame, geometry: gpd.GeoSeries | None, path: Path, *, layer: str
) -> None:
    """Write GeoParquet (geometry as WKB with its CRS), or plain Parquet for a table."""
    if geometry is None:
        attributes.to_parquet(path, index=False)
    else:
        gpd.GeoDataFrame(attributes, geometry=geometry).to_parquet(path, index=False)
