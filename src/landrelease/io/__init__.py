"""Import and export of features: a file becomes a GeoDataFrame, a GeoDataFrame a file.

Readers and writers are registered by format in `landrelease.io.formats`. This layer does not
validate records (the registry does); it reports files it cannot read as InputFileError.

Every reader returns the same shape: a GeoDataFrame whose geometry column is ``geometry``,
in the CRS the file declares, indexed 0..n-1 in file order, so row ``i`` is the file's
``i + 1``-th record and the registry reports errors as "row N" with N = index + 1.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError, ProjError

from landrelease.domain.errors import InputFileError
from landrelease.io.encodings import checked_encoding
from landrelease.io.files import (
    check_output,
    check_readable,
    check_writable,
    replaced_atomically,
)
from landrelease.io.formats import SUPPORTED_READ, SUPPORTED_WRITE, format_of
from landrelease.io.frames import (
    REPAIRS,
    WGS84,
    Repairs,
    dates_of_text,
    feature_frame,
    noted_repairs,
    split_features,
)

__all__ = [
    "SUPPORTED_READ",
    "SUPPORTED_WRITE",
    "Repairs",
    "check_output",
    "check_writable",
    "dates_of_text",
    "read_features",
    "to_wgs84",
    "write_features",
]


def read_features(
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    require_geometry: bool = True,
    encoding: str | None = None,
    repair: bool = False,
) -> gpd.GeoDataFrame:
    """Return the features of the file at `path` as a GeoDataFrame, in the file's own CRS.

    The format follows the extension (any case), one of `SUPPORTED_READ`.

    Parameters
    ----------
    path
        The file to read.
    layer
        The GeoPackage layer, Excel sheet or Shapefile (inside a zip) to read; default: the
        first (the only one, for a zip).
    crs
        The CRS of coordinates whose file declares none: CSV and XLSX (default EPSG:4326),
        a Shapefile without .prj. A CRS the file declares wins.
    require_geometry
        For CSV and XLSX: whether a table with no WKT and no latitude/longitude columns is an
        error (the default) or an attribute table whose geometry is all None.
    encoding
        The encoding of the text where the format leaves it open: CSV, a Shapefile's .dbf
        (needed for a cp1251 .dbf without .cpg), GeoJSON not in UTF-8. Default UTF-8 (for
        a Shapefile: what its .cpg says). Not used for GeoPackage, GeoParquet and XLSX, whose
        encoding is fixed.
    repair
        Close polygon rings whose last position differs from their first (GeoJSON, GeoPackage,
        Shapefile, WKT in CSV and XLSX) instead of refusing them; each row so repaired is noted
        in the result's ``attrs["repairs"]``: `Repairs`, a tuple of
        `landrelease.domain.geometry.Problem` (row 0-based, field "geometry", message).
        pandas keeps ``attrs`` through most operations, not all: take it right after reading.

    Returns
    -------
    GeoDataFrame
        Geometry column ``geometry`` (None where a record has none); index 0..n-1, row ``i``
        being the file's ``i + 1``-th record ("row N" in messages is index + 1). Attribute
        tables (no geometry in the file) get an all-None geometry in EPSG:4326. Text columns
        are ``object`` holding ``str`` or ``None``. CSV and XLSX columns are all text; other
        formats keep their types: ``int64``/``float64``/``bool``, nullable ``Int64`` and
        ``boolean`` where integer or boolean fields hold nulls, dates as "YYYY-MM-DD" text.

    Raises
    ------
    InputFileError
        The file is missing, empty, of an unknown type, truncated or otherwise unreadable;
        the encoding is unknown, or text does not decode in it; a polygon ring is not closed
        (without `repair`). Where a row is to blame the message names it ("row N").
    """
    path = Path(path)
    check_readable(path)
    fmt = format_of(path)
    if fmt is None or fmt.read is None:
        raise InputFileError(
            f"{path}: cannot read {path.suffix or 'files without an extension'!r}; "
            f"supported extensions are {', '.join(SUPPORTED_READ)}"
        )
    assumed_crs = _parse_crs(crs) if crs is not None else None
    codec = checked_encoding(encoding)
    try:
        frame = fmt.read(
            path,
            layer=layer,
            crs=assumed_crs,
            require_geometry=require_geometry,
            encoding=codec,
            repair=repair,
        )
        repairs = noted_repairs(frame)
        features = feature_frame(frame, assumed_crs)
        features.attrs = {REPAIRS: repairs} if repairs else {}
        return features
    except InputFileError:
        raise
    except Exception as error:  # any library failure on bad input becomes one clear line
        raise InputFileError(
            f"{path}: cannot be read as {fmt.name} ({_reason(error)}); check that it is a "
            f"complete {fmt.name} file, not cut short or damaged"
        ) from error


def write_features(
    features: gpd.GeoDataFrame,
    path: str | Path,
    *,
    layer: str | None = None,
    overwrite: bool = True,
) -> None:
    """Write `features` to `path` in the format its extension names (one of SUPPORTED_WRITE).

    An existing file is replaced only once the new one is complete, and only with
    `overwrite`. A plain DataFrame, or a GeoDataFrame without geometry or whose geometries
    are all None, is written as a table without geometry. `layer` names the GeoPackage layer,
    Excel sheet or zipped Shapefile (default: the file name without extension). GeoJSON is
    written in EPSG:4326; CSV and XLSX hold geometry as full-precision WKT in a ``geometry``
    column, nulls as empty cells. A column of `datetime.date` values is written as dates where
    the format has them (GeoPackage DATE, GeoParquet date32, Excel dates), else as
    "YYYY-MM-DD". A GeoPackage is written as version 1.3, as the registry is.

    Raises
    ------
    InputFileError
        Unknown extension, missing folder, an existing file without `overwrite`, or data the
        format cannot hold (Excel's 32,767 characters per cell, Shapefile field names
        colliding once cut to 10 bytes or mixed geometry types).
    """
    path = Path(path)
    fmt = format_of(path)
    if fmt is None or fmt.write is None:
        raise InputFileError(
            f"{path}: cannot write {path.suffix or 'files without an extension'!r}; "
            f"supported extensions are {', '.join(SUPPORTED_WRITE)}"
        )
    attributes, geometry = split_features(features)
    with replaced_atomically(path, overwrite=overwrite) as temporary:
        try:
            fmt.write(attributes, geometry, temporary, layer=layer or path.stem)
        except Exception as error:
            # Messages should name the file the user asked for, not the temporary one.
            reason = (
                str(error)
                if isinstance(error, InputFileError)
                else (f"{path}: cannot be written as {fmt.name} ({_reason(error)})")
            )
            raise InputFileError(reason.replace(str(temporary), str(path))) from error


def to_wgs84(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return `features` reprojected to EPSG:4326 (longitude, latitude) from their own CRS.

    Features already in EPSG:4326 (or OGC:CRS84) are returned as they are; an attribute table
    without CRS gets EPSG:4326.

    Raises
    ------
    InputFileError
        The features have geometry but no CRS, or a CRS that cannot be transformed to
        EPSG:4326, or coordinates outside the area where their CRS is defined.
    """
    crs = features.crs
    if crs is None:
        if features.geometry.isna().all():
            return features.set_crs(WGS84)
        raise InputFileError(
            "the features declare no coordinate reference system; give it (for example "
            "crs='EPSG:32636' for UTM zone 36N)"
        )
    if crs.equals(WGS84):
        return features
    if crs.equals(WGS84, ignore_axis_order=True):
        return features.set_crs(WGS84, allow_override=True)
    try:
        result = features.to_crs(WGS84)
    except (CRSError, ProjError, ValueError, TypeError) as error:
        raise InputFileError(
            f"cannot reproject from {crs.name!r} to EPSG:4326 ({_reason(error)}); "
            "give the data in a CRS with an EPSG code"
        ) from error
    bounds = shapely.bounds(result.geometry.values)
    broken = np.flatnonzero(~np.isfinite(bounds).all(axis=1) & result.geometry.notna().to_numpy())
    if broken.size:
        raise InputFileError(
            f"row {int(broken[0]) + 1}: coordinates cannot be reprojected from {crs.name!r} to "
            f"EPSG:4326 ({broken.size} row(s)); check that the declared CRS is the right one"
        )
    return result


def _parse_crs(crs: str) -> CRS:
    """Return the CRS named by `crs`; raise InputFileError if pyproj does not know it."""
    try:
        return CRS.from_user_input(crs)
    except CRSError as error:
        raise InputFileError(
            f"unknown coordinate reference system {crs!r}; give one such as 'EPSG:32636'"
        ) from error


def _reason(error: BaseException) -> str:
    """Return the first line of an exception's message, short enough for one line."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."
