"""Reading and writing vector layers through GDAL/OGR (pyogrio), shared by the OGR formats."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from landrelease.domain.errors import InputFileError
from landrelease.io.frames import date_text

# Arrow makes reading several times faster; pyogrio needs pyarrow importable to use it.
USE_ARROW = importlib.util.find_spec("pyarrow") is not None


def read_layer(
    source: str | Path, *, layer: str | None = None, **open_options: Any
) -> pd.DataFrame:
    """Return one layer of `source` as read by pyogrio, with field types repaired.

    Integer and boolean fields come back as ``int64`` / ``bool``, or as nullable ``Int64`` /
    ``boolean`` when they hold nulls (pyogrio alone hands those over as float or object);
    date fields come back as "YYYY-MM-DD" text.
    """
    if USE_ARROW:
        frame = pyogrio.read_dataframe(
            source,
            layer=layer,
            use_arrow=True,
            arrow_to_pandas_kwargs={"types_mapper": _nullable_dtype},
            **open_options,
        )
        for name in frame.columns:
            column = frame[name]
            if isinstance(column.dtype, pd.Int64Dtype | pd.BooleanDtype) and column.notna().all():
                frame[name] = column.astype(column.dtype.numpy_dtype)
        return frame
    # Without Arrow, pyogrio cannot tell an integer field with nulls from a float field:
    # the layer's field definitions can.
    info = pyogrio.read_info(source, layer=layer, **open_options)
    frame = pyogrio.read_dataframe(source, layer=layer, use_arrow=False, **open_options)
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
