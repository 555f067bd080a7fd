"""GeoPackage layers: the first layer (or a named one) read with Arrow, written as one layer.

A GeoPackage is an SQLite database holding the tables the OGC standard names. Before GDAL
reads one, the file is checked here, so that a file cut short, a damaged one and a plain
SQLite database each get a message saying so (GDAL's own name SQL statements).
"""

from __future__ import annotations

import contextlib
import sqlite3
import struct
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS

from landrelease.domain.errors import InputFileError
from landrelease.io.ogr import USE_ARROW, chosen_layer, read_layer, write_layer

SQLITE_HEADER = b"SQLite format 3\x00"
SQLITE_HEADER_BYTES = 100
# SQLite error names meaning the file itself is bad, not that it cannot be opened just now.
DAMAGED_SQLITE_ERRORS = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
DAMAGED_GDAL_WORDS = ("sqlite3_", "malformed", "not a database")


def read_geopackage(
    path: Path,
    *,
    layer: str | None,
    crs: CRS | None,
    require_geometry: bool,
    encoding: str | None,
    repair: bool,
) -> pd.DataFrame:
    """Return layer `layer` (default: the first) of a GeoPackage, in the CRS it declares.

    Text in a GeoPackage is UTF-8 by the standard, so `encoding` is not used.
    """
    check_geopackage(path)
    try:
        name = chosen_layer(path, layer, "GeoPackage")
        frame = read_layer(path, layer=name, repair=repair)
        _check_all_read(path, name, len(frame))
    except InputFileError:
        raise
    except Exception as error:
        if any(word in str(error) for word in DAMAGED_GDAL_WORDS):
            raise InputFileError(damaged(path, _sqlite_reason(str(error)))) from error
        raise
    return frame


def check_geopackage(path: Path) -> None:
    """Return nothing if `path` is a whole SQLite database with GeoPackage tables; else raise.

    InputFileError says which: not SQLite at all, cut short (smaller than its header says),
    damaged (SQLite cannot read its table list), or SQLite without the GeoPackage tables.
    """
    with path.open("rb") as stream:
        header = stream.read(SQLITE_HEADER_BYTES)
    if not header.startswith(SQLITE_HEADER):
        raise InputFileError(
            f"{path}: cannot be read as GeoPackage (it is not an SQLite database); check that "
            "it is a GeoPackage, not another kind of file named .gpkg"
        )
    size = path.stat().st_size
    if len(header) < SQLITE_HEADER_BYTES:
        raise InputFileError(damaged(path, f"only {size:,} bytes"))
    declared = _declared_size(header)
    if size < declared:
        raise InputFileError(
            damaged(path, f"it holds {size:,} of the {declared:,} bytes its header declares")
        )
    tables = _table_names(path)
    if tables is None:
        return  # SQLite cannot open it just now (locked, say): GDAL will tell
    if "gpkg_contents" not in tables:
        raise InputFileError(
            f"{path}: is an SQLite database but not a GeoPackage (it has no gpkg_contents "
            "table); export the layer to a GeoPackage, in QGIS with Export > Save Features As"
        )
    if "gpkg_spatial_ref_sys" not in tables:
        raise InputFileError(
            f"{path}: is not a complete GeoPackage (it has no gpkg_spatial_ref_sys table); "
            "export the layer to a GeoPackage again"
        )


def damaged(path: Path, reason: str) -> str:
    """Return the message for a GeoPackage that is damaged or cut short, for `reason`."""
    return f"{path}: is damaged or cut short ({reason}); copy or export the GeoPackage again"


def _declared_size(header: bytes) -> int:
    """Return the file size in bytes the SQLite header declares; 0 if it declares none.

    The page count (offset 28) is valid only if the "version-valid-for" number (offset 92)
    equals the change counter (offset 24), as SQLite since 3.7.0 writes them.
    """
    (page_size,) = struct.unpack_from(">H", header, 16)
    (changes, pages) = struct.unpack_from(">II", header, 24)
    (valid_for,) = struct.unpack_from(">I", header, 92)
    if changes != valid_for:
        return 0
    return (65536 if page_size == 1 else page_size) * pages


def _table_names(path: Path) -> set[str] | None:
    """Return the names of the tables and views of the SQLite database at `path`.

    None if SQLite cannot open it for a reason other than damage; raises InputFileError if
    the file is damaged.
    """
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as database:
            rows = database.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            ).fetchall()
    except sqlite3.DatabaseError as error:
        if getattr(error, "sqlite_errorname", None) in DAMAGED_SQLITE_ERRORS:
            raise InputFileError(damaged(path, str(error))) from error
        return None
    return {str(name) for (name,) in rows}


def _check_all_read(path: Path, layer: str, read: int) -> None:
    """Raise InputFileError if the layer holds more features than the `read` ones read.

    GDAL's Arrow reader stops at a damaged page without an error; the count kept in the
    file (gpkg_ogr_contents) tells, and a full count confirms before the file is called damaged.
    """
    if pyogrio.read_info(path, layer=layer)["features"] <= read:
        return
    held = pyogrio.read_info(path, layer=layer, force_feature_count=True)["features"]
    if held > read:
        raise InputFileError(damaged(path, f"only {read:,} of its {held:,} features could be read"))


def _sqlite_reason(message: str) -> str:
    """Return SQLite's own words from a GDAL message ("sqlite3_step() : ... : malformed")."""
    return message.rsplit(": ", 1)[-1].strip() or "SQLite cannot read it"


def write_geopackage(
    attributes: pd.DataFrame, geometry: gpd.GeoSeries | None, path: Path, *, layer: str
) -> None:
    """Write a GeoPackage 1.3 holding one layer; without geometry it is an attribute table.

    Written through Arrow, so that `datetime.date` columns become DATE fields (pyogrio's
    other path writes them as text). Version 1.3, the registry's own, keeps the R-tree
    triggers that GDAL before 3.8 (and its validate_gpkg.py) expect.
    """
    write_layer(
        attributes,
        geometry,
        path,
        driver="GPKG",
        layer=layer,
        use_arrow=USE_ARROW,
        dataset_options={"VERSION": "1.3"},
    )
