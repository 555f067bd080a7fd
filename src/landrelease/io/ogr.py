"""Reading and writing vector layers through GDAL/OGR (pyogrio), shared by the OGR formats."""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pyogrio.raw
import shapely

from landrelease.domain.errors import InputFileError
from landrelease.domain.geometry import Problem
from landrelease.io.encodings import UTF8, decodes, is_utf8, undecodable
from landrelease.io.frames import REPAIRS, Repairs, date_text
from landrelease.io.rings import closed_message, unclosed_rings_in_wkb

# Arrow makes reading several times faster; pyogrio needs pyarrow importable to use it.
USE_ARROW = importlib.util.find_spec("pyarrow") is not None
_BYTES_AS_TEXT = "iso8859-1"


def read_layer(
    path: Path,
    *,
    source: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    repair: bool = False,
    **open_options: Any,
) -> pd.DataFrame:
    """Return one layer of `source` (default: `path`) as read by pyogrio, field types repaired.

    `path` is the user's file, the one messages name; `source` is what GDAL opens when that
    differs (a /vsizip/ path to a member of a zip). `encoding` is the encoding of text fields
    where the format leaves it open (a .dbf without .cpg, a GeoJSON that is not UTF-8).
    Integer and boolean fields come back as ``int64`` / ``bool``, or as nullable ``Int64`` /
    ``boolean`` when they hold nulls (pyogrio alone hands those over as float or object);
    date fields come back as "YYYY-MM-DD" text.

    A polygon ring that does not end where it starts raises InputFileError naming the row and
    the ring; with `repair` such rings are closed and each row closed is noted, as a Problem,
    as `Repairs` in ``attrs["repairs"]`` of the frame returned. Text that does not decode raises
    InputFileError naming the row and the column.
    """
    reading = _Reading(source or str(path), layer, None if is_utf8(encoding) else encoding)
    try:
        return reading.frame("raise", open_options)
    except shapely.errors.GEOSException as error:
        return _read_refused_geometries(path, reading, repair, open_options, error)
    except (UnicodeDecodeError, _UndecodableText, pyogrio.errors.DataSourceError) as error:
        if not _undecodable(error):
            raise
        raise InputFileError(_undecodable_message(path, reading, open_options)) from error


@dataclass(frozen=True)
class _Reading:
    """What GDAL opens (`source`, `layer`) and the encoding of its text (None: UTF-8)."""

    source: str | Path
    layer: str | None
    encoding: str | None

    def frame(self, on_invalid: str, open_options: dict[str, Any]) -> pd.DataFrame:
        """Return the layer read whole; `on_invalid` is shapely's for WKB it cannot build."""
        with warnings.catch_warnings():
            # GDAL warns of each open ring it passes on; the caller reports them itself.
            warnings.filterwarnings("ignore", "Non closed ring detected", RuntimeWarning)
            if USE_ARROW and self.encoding is None:  # Arrow reads UTF-8 text only
                return self._frame_by_arrow(on_invalid, open_options)
            return self._frame_by_rows(on_invalid, open_options)

    def _frame_by_arrow(self, on_invalid: str, open_options: dict[str, Any]) -> pd.DataFrame:
        frame = pyogrio.read_dataframe(
            self.source,
            layer=self.layer,
            use_arrow=True,
            on_invalid=on_invalid,
            arrow_to_pandas_kwargs={"types_mapper": _nullable_dtype},
            **open_options,
        )
        for name in frame.columns:
            column = frame[name]
            if isinstance(column.dtype, pd.Int64Dtype | pd.BooleanDtype) and column.notna().all():
                frame[name] = column.astype(column.dtype.numpy_dtype)
            elif isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
                _check_utf8(column)
        return frame

    def _frame_by_rows(self, on_invalid: str, open_options: dict[str, Any]) -> pd.DataFrame:
        # Without Arrow, pyogrio cannot tell an integer field with nulls from a float field:
        # the layer's field definitions can.
        options = {"layer": self.layer, "encoding": self.encoding, **open_options}
        info = pyogrio.read_info(self.source, **options)
        frame = pyogrio.read_dataframe(
            self.source, use_arrow=False, on_invalid=on_invalid, **options
        )
        fields = zip(info["fields"], info["dtypes"], info["ogr_types"], strict=True)
        for name, dtype, ogr_type in fields:
            if name not in frame.columns:
                continue
            column = frame[name]
            if ogr_type == "OFTDate":
                frame[name] = date_text(column)
            elif dtype.startswith("int") and column.dtype.kind == "f":
                frame[name] = column.astype("Int64")
            elif dtype == "bool" and column.dtype.kind == "f":
                frame[name] = column.astype("boolean")
        return frame

    def geometry_wkb(self, open_options: dict[str, Any]) -> np.ndarray:
        """Return the WKB of every row's geometry (None where it has none), no fields."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Non closed ring detected", RuntimeWarning)
            wkb = pyogrio.raw.read(
                self.source, layer=self.layer, columns=[], encoding=self.encoding, **open_options
            )[2]
        return np.asarray(wkb, dtype=object)

    def text_bytes(self, open_options: dict[str, Any]) -> dict[str, np.ndarray]:
        """Return each text field's cells as the bytes the file holds (None for nulls)."""
        # Latin-1 maps every byte to one character and back, whatever the file's encoding;
        # "iso8859-1" is its name both in Python and in the iconv that GDAL recodes with.
        meta, _, _, columns = pyogrio.raw.read(
            self.source,
            layer=self.layer,
            read_geometry=False,
            encoding=_BYTES_AS_TEXT,
            **open_options,
        )
        fields: dict[str, np.ndarray] = {}
        for name, values in zip(meta["fields"], columns, strict=True):
            if values.dtype == object:
                fields[str(name)] = np.array(
                    [v.encode(_BYTES_AS_TEXT) if isinstance(v, str) else None for v in values],
                    dtype=object,
                )
        return fields


class _UndecodableText(Exception):
    """Text of a layer read through Arrow is not valid UTF-8."""


def _check_utf8(column: pd.Series) -> None:
    """Raise _UndecodableText if an Arrow-backed text column holds bytes that are not UTF-8.

    GDAL hands text over as the file holds it; Arrow keeps it undecoded, and the bad bytes
    would otherwise fail only where the column is first used.
    """
    import pyarrow as pa

    try:
        pa.array(column.array).validate(full=True)
    except pa.ArrowInvalid as error:
        raise _UndecodableText(str(error)) from error


def _read_refused_geometries(
    path: Path,
    reading: _Reading,
    repair: bool,
    open_options: dict[str, Any],
    error: shapely.errors.GEOSException,
) -> pd.DataFrame:
    """Return the layer with its open rings closed if `repair`; else raise naming the row.

    Called once GEOS refused a geometry (`error`): the WKB is read again, alone, to find the
    rows refused; without any, `error` is raised again.
    """
    wkb = reading.geometry_wkb(open_options)
    with np.errstate(invalid="ignore"):  # NaN coordinates: reported below
        built = shapely.from_wkb(wkb, on_invalid="ignore")
    refused = np.flatnonzero(pd.notna(wkb) & shapely.is_missing(built))
    if not refused.size:
        raise error
    if repair:
        found = {int(row): unclosed_rings_in_wkb(bytes(wkb[row])) for row in refused}
        unmendable = np.array([row for row, rings in found.items() if not rings.mendable])
        if not unmendable.size:
            frame = reading.frame("fix", open_options)
            unmendable = refused[shapely.is_missing(frame.geometry.to_numpy()[refused])]
            if not unmendable.size:
                frame.attrs[REPAIRS] = Repairs(
                    Problem(row, "geometry", closed_message(rings.closable))
                    for row, rings in found.items()
                )
                return frame
        refused = unmendable
    raise InputFileError(_refusal(path, wkb, refused, repair))


def _refusal(path: Path, wkb: np.ndarray, refused: np.ndarray, repair: bool) -> str:
    """Return the message for the `refused` rows' geometries, naming the first of them."""
    row = int(refused[0])
    rings = unclosed_rings_in_wkb(bytes(wkb[row]))
    said = None
    if not (repair and rings.mendable):  # closing did mend nothing then: say what GEOS says
        with np.errstate(invalid="ignore"):
            closable = ~shapely.is_missing(shapely.from_wkb(wkb[refused], on_invalid="fix"))
        said = rings.refusal(more_rows=int(np.count_nonzero(closable)) - 1)
    if said is None:
        said = (
            f"its geometry cannot be read ({_geos_reason(wkb[row])}; {refused.size} such "
            "row(s)); correct it in the source file"
        )
    return f"{path}: row {row + 1}: {said}"


def _geos_reason(wkb: bytes) -> str:
    """Return why GEOS cannot build the geometry in `wkb`, without GEOS's exception name."""
    try:
        shapely.from_wkb(wkb)
    except shapely.errors.GEOSException as error:
        return str(error).split(": ", 1)[-1]
    return "unknown reason"


def _undecodable(error: BaseException) -> bool:
    """Return whether `error` is, or was caused by, text that does not decode."""
    undecoded = (UnicodeDecodeError, _UndecodableText)
    return isinstance(error, undecoded) or isinstance(error.__cause__, UnicodeDecodeError)


def _undecodable_message(path: Path, reading: _Reading, open_options: dict[str, Any]) -> str:
    """Return the message naming the first cell whose bytes do not decode as the encoding."""
    codec = reading.encoding or UTF8
    fields = reading.text_bytes(open_options)
    first: tuple[int, str, bytes] | None = None
    for name, cells in fields.items():
        for row, raw in enumerate(cells):
            if first is not None and row >= first[0]:
                break
            if raw is not None and not decodes(raw, codec):
                first = (row, name, raw)
                break
    if first is None:  # the field names, or a cell pyogrio did not hand over as text
        names = b" ".join(name.encode(_BYTES_AS_TEXT, "replace") for name in fields)
        return f"{path}: field names or text: {undecodable(names, reading.encoding)}"
    row, name, raw = first
    column = name.encode(_BYTES_AS_TEXT, "replace").decode(codec, "replace")
    return f"{path}: row {row + 1}, column {column!r}: {undecodable(raw, reading.encoding)}"


def _nullable_dtype(arrow_type: Any) -> pd.api.extensions.ExtensionDtype | None:
    """Return the pandas nullable dtype for an Arrow integer or boolean type, else None."""
    import pyarrow as pa

    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None


def layer_names(path: Path) -> list[str]:
    """Return the names of the layers in the dataset at `path`."""
    return [str(name) for name in pyogrio.list_layers(path)[:, 0]]


def chosen_layer(path: Path, layer: str | None, kind: str) -> str:
    """Return `layer`, or the first layer of `path` if None; raise if there is no such layer."""
    names = layer_names(path)
    if not names:
        raise InputFileError(f"{path}: {kind} holds no layers; export the data into it again")
    if layer is None:
        return names[0]
    if layer not in names:
        raise InputFileError(
            f"{path}: {kind} has no layer {layer!r}; its layers are {', '.join(names)}"
        )
    return layer


def write_layer(
    attributes: pd.DataFrame,
    geometry: gpd.GeoSeries | None,
    path: Path,
    *,
    driver: str,
    layer: str,
    **creation_options: Any,
) -> None:
    """Write `attributes` (and `geometry`, if any) as layer `layer` of a new dataset at `path`."""
    frame: pd.DataFrame = attributes
    if geometry is not None:
        frame = gpd.GeoDataFrame(attributes, geometry=geometry, crs=geometry.crs)
    with warnings.catch_warnings():
        # GDAL warns about field-name laundering; the callers check for what matters.
        warnings.simplefilter("ignore", RuntimeWarning)
        pyogrio.write_dataframe(frame, path, driver=driver, layer=layer, **creation_options)
