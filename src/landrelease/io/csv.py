"""CSV tables: UTF-8 text (or a named encoding), geometry as WKT or latitude/longitude columns.

Reading keeps every cell as text (``str``, or ``None`` for an empty cell): nothing is guessed,
so "0012" stays "0012" and dates keep their spelling. The delimiter is the one of ``,`` ``;``
and tab that occurs most in the header line (Excel in many locales writes ``;``).
Writing uses UTF-8 with a byte-order mark so that Excel shows Cyrillic text correctly, writes
null as an empty cell and geometry as full-precision WKT in a ``geometry`` column.
"""

from __future__ import annotations

import csv as pycsv
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from landrelease.domain.errors import InputFileError
from landrelease.io.encodings import is_utf8, undecodable
from landrelease.io.frames import WGS84
from landrelease.io.text_tables import features_from_text, text_from_features

DELIMITERS = (",", ";", "\t")
# Bytes that do not decode, read with errors="surrogateescape", become these code points.
_SURROGATE = re.compile("[\udc80-\udcff]")


def read_csv(
    path: Path,
    *,
    layer: str | None,
    crs: CRS | None,
    require_geometry: bool,
    encoding: str | None,
    repair: bool,
) -> pd.DataFrame:
    """Return the rows of a CSV file as text features in `crs` (default EPSG:4326).

    The text is UTF-8 (a byte-order mark is skipped) unless `encoding` names another; bytes
    that do not decode raise InputFileError naming the row and the column. `repair` closes
    open polygon rings in the WKT column (see `features_from_text`).
    """
    codec = "utf-8-sig" if is_utf8(encoding) else str(encoding)
    try:
        with path.open(encoding=codec, errors="surrogateescape", newline="") as stream:
            header = stream.readline()
        table = pd.read_csv(
            path,
            sep=_delimiter(header),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding=codec,
        )
    except UnicodeDecodeError as error:
        raise InputFileError(_undecodable_message(path, encoding)) from error
    except pd.errors.ParserError as error:
        raise InputFileError(
            f"{path}: not a well-formed CSV ({str(error).strip()}); check quotes and the "
            "number of cells in that line"
        ) from error
    table = table.astype(object)
    table = table.where(table.notna() & (table != ""), None)
    return features_from_text(
        table, path, crs=crs or WGS84, require_geometry=require_geometry, repair=repair
    )


def _undecodable_message(path: Path, encoding: str | None) -> str:
    """Return the message naming the first row and column whose bytes do not decode.

    The file is read again as CSV with undecodable bytes kept as lone surrogates, counting
    records as pandas does (blank lines skipped, quoted line breaks inside a cell), so that
    "row N" is the N-th data row of the table read.
    """
    codec = "utf-8-sig" if is_utf8(encoding) else str(encoding)
    try:
        with path.open(encoding=codec, errors="surrogateescape", newline="") as stream:
            header_line = stream.readline()
            stream.seek(0)
            records = (r for r in pycsv.reader(stream, delimiter=_delimiter(header_line)) if r)
            header: list[str] = []
            for row, cells in enumerate(records):
                header = header or cells
                column = next((j for j, cell in enumerate(cells) if _SURROGATE.search(cell)), None)
                if column is not None:
                    # Encoding "utf-8-sig" would put a byte-order mark before the bytes.
                    raw = cells[column].encode(codec.removesuffix("-sig"), "surrogateescape")
                    where = _cell_name(row, column, header)
                    return f"{path}: {where}: {undecodable(raw, encoding)}"
    except (UnicodeError, pycsv.Error):
        pass  # not an ASCII-compatible encoding, it seems: say so for the file as a whole
    with path.open("rb") as stream:
        start = stream.read(200)
    return f"{path}: {undecodable(start, encoding)}"


def _cell_name(row: int, column: int, header: list[str]) -> str:
    """Return "the header, column 3" or "row 2, column 'name'" for a cell of a CSV file."""
    if row == 0:
        return f"the header line, column {column + 1}"
    name = header[column] if column < len(header) else ""
    if name and not _SURROGATE.search(name):
        return f"row {row}, column {name!r}"
    return f"row {row}, column {column + 1}"


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
