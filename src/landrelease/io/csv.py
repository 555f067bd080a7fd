"""CSV tables: UTF-8 text, geometry as WKT or latitude/longitude columns.

Reading keeps every cell as text (``str``, or ``None`` for an empty cell): nothing is guessed,
so "0012" stays "0012" and dates keep their spelling. The delimiter is the one of ``,`` ``;``
and tab that occurs most in the header line (Excel in many locales writes ``;``).
Writing uses UTF-8 with a byte-order mark so that Excel shows Cyrillic text correctly, writes
null as an empty cell and geometry as full-precision WKT in a ``geometry`` column.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from landrelease.domain.errors import InputFileError
from landrelease.io.frames import WGS84
from landrelease.io.text_tables import features_from_text, text_from_features

DELIMITERS = (",", ";", "\t")


def read_csv(
    path: Path, *, layer: str | None, crs: CRS | None, require_geometry: bool
) -> pd.DataFrame:
    """Return the rows of a CSV file as text features in `crs` (default EPSG:4326)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            header = stream.readline()
        table = pd.read_csv(
            path,
            sep=_delimiter(header),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",
        )
    except UnicodeDecodeError as error:
        raise InputFileError(
            f"{path}: not UTF-8 text (byte {error.start}); save it again as 'CSV UTF-8'"
        ) from error
    except pd.errors.ParserError as error:
        raise InputFileError(
            f"{path}: not a well-formed CSV ({str(error).strip()}); check quotes and the "
            "number of cells in that line"
        ) from error
    table = table.astype(object)
    table = table.where(table.notna() & (table != ""), None)
    return features_from_text(table, path, crs=crs or WGS84, require_geometry=require_geometry)


def _delimiter(header: str) -> str:
    """Return the delimiter that occurs most in the header line (a comma on a tie)."""
    return max(DELIMITERS, key=header.count)


def write_csv(
    attributes: pd.DataFrame, geometry: gpd.GeoSeries | None, path: Path, *, layer: str
) -> None:
    """Write a CSV file: attributes as text, nulls as empty cells, geometry as WKT."""
    text_from_features(attributes, geometry).to_csv(
        path, index=False, encoding="utf-8-sig", na_rep="", lineterminator="\r\n"
    )
