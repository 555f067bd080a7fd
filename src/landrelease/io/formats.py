"""The one table of file formats: the extensions each format owns and its reader and writer.

Adding a format is adding a module with a reader and/or writer and one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from landrelease.io.csv import read_csv, write_csv
from landrelease.io.geojson import read_geojson, write_geojson
from landrelease.io.geopackage import read_geopackage, write_geopackage
from landrelease.io.geoparquet import read_geoparquet, write_geoparquet
from landrelease.io.shapefile import read_shapefile, read_zipped_shapefile, write_zipped_shapefile
from landrelease.io.xlsx import read_xlsx, write_xlsx

# read(path, *, layer, crs, require_geometry, encoding, repair) -> DataFrame or GeoDataFrame,
# any index; every reader takes every keyword, whether or not its format uses it. Repairs made
# are noted in the frame's attrs["repairs"] (frames.Repairs).
Reader = Callable[..., pd.DataFrame]
# write(attributes, geometry or None, path, *, layer) -> None
Writer = Callable[..., None]


@dataclass(frozen=True)
class FileFormat:
    """A file format: its name for messages, its extensions, its reader and writer."""

    name: str
    extensions: tuple[str, ...]
    read: Reader | None
    write: Writer | None


FORMATS: tuple[FileFormat, ...] = (
    FileFormat("GeoJSON", (".geojson", ".json"), read_geojson, write_geojson),
    FileFormat("GeoPackage", (".gpkg",), read_geopackage, write_geopackage),
    FileFormat("zipped Shapefile", (".zip",), read_zipped_shapefile, write_zipped_shapefile),
    FileFormat("Shapefile", (".shp",), read_shapefile, None),
    FileFormat("CSV", (".csv",), read_csv, write_csv),
    FileFormat("Excel workbook", (".xlsx",), read_xlsx, write_xlsx),
    FileFormat("GeoParquet", (".parquet", ".geoparquet"), read_geoparquet, write_geoparquet),
)

SUPPORTED_READ: tuple[str, ...] = tuple(
    extension for fmt in FORMATS if fmt.read is not None for extension in fmt.extensions
)
SUPPORTED_WRITE: tuple[str, ...] = tuple(
    extension for fmt in FORMATS if fmt.write is not None for extension in fmt.extensions
)


def format_of(path: Path) -> FileFormat | None:
    """Return the format owning the extension of `path` (any case), or None."""
    suffix = path.suffix.lower()
    return next((fmt for fmt in FORMATS if suffix in fmt.extensions), None)
