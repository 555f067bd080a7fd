"""GeoJSON (RFC 7946) features: read through GDAL, written in EPSG:4326 at full precision."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from landrelease.io.frames import WGS84
from landrelease.io.ogr import read_layer, write_layer


def read_geojson(
    path: Path,
    *,
    layer: str | None,
    crs: CRS | None,
    require_geometry: bool,
    encoding: str | None,
    repair: bool,
) -> pd.DataFrame:
    """Return the features of a GeoJSON file; without a ``crs`` member they are EPSG:4326.

    Text that looks like a date stays text (GDAL would otherwise guess date fields). GeoJSON
    is UTF-8 (RFC 8259), but files saved by older tools may not be: `encoding` names theirs.
    A polygon ring whose last position differs from its first is refused, naming the row,
    or closed if `repair` (see `read_layer`).
    """
    return read_layer(path, encoding=encoding, repair=repair, DATE_AS_STRING="YES")


def write_geojson(
    attributes: pd.DataFrame, geometry: gpd.GeoSeries | None, path: Path, *, layer: str
) -> None:
    """Write features as RFC 7946 GeoJSON: EPSG:4326, no ``crs`` member, lossless coordinates.

    GDAL's own RFC 7946 mode rounds coordinates to 7 decimals, so the reprojection is done here
    and coordinates are written with 17 significant figures, which round-trip exactly.
    """
    if geometry is not None:
        if geometry.crs is not None and not geometry.crs.equals(WGS84):
            geometry = geometry.to_crs(WGS84)
        # Without a CRS on the layer GDAL writes no "crs" member, as RFC 7946 asks.
        geometry = geometry.set_crs(None, allow_override=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'crs' was not provided", UserWarning)
        write_layer(
            attributes, geometry, path, driver="GeoJSON", layer=layer, SIGNIFICANT_FIGURES=17
        )
