"""GeoPackage layers: the first layer (or a named one) read with Arrow, written as one layer."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from landrelease.io.ogr import chosen_layer, read_layer, write_layer


def read_geopackage(
    path: Path, *, layer: str | None, crs: CRS | None, require_geometry: bool
) -> pd.DataFrame:
    """Return layer `layer` (default: the first) of a GeoPackage, in the CRS it declares."""
    return read_layer(path, layer=chosen_layer(path, layer, "GeoPackage"))


def write_geopackage(
    attributes: pd.DataFrame, geometry: gpd.GeoSeries | None, path: Path, *, layer: str
) -> None:
    """Write a GeoPackage holding one layer; without geometry it is an attribute table."""
    write_layer(attributes, geometry, path, driver="GPKG", layer=layer)
