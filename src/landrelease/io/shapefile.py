"""ESRI Shapefiles, plain (.shp beside its .dbf) or zipped, and their limits.

A Shapefile holds one geometry type, field names of at most 10 bytes, text of at most 254
bytes and numbers as decimal text: floats come back rounded to 15 significant digits and an
empty text cannot be told from a null one (both read back as None).
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS

from landrelease.domain.errors import InputFileError
from landrelease.io.ogr import read_layer, write_layer

FIELD_NAME_BYTES = 10
# shapely geometry type id -> the one Shapefile shape type it can be stored as
GEOMETRY_FAMILIES = {
    0: "points",
    4: "points",
    1: "lines",
    2: "lines",
    5: "lines",
    3: "polygons",
    6: "polygons",
    7: "geometry collections",
}


def read_shapefile(
    path: Path,
    *,
    layer: str | None,
    crs: CRS | None,
    require_geometry: bool,
    encoding: str | None,
    repair: bool,
) -> pd.DataFrame:
    """Return the features of a plain Shapefile; its .dbf must lie beside it.

    `encoding` is that of the .dbf text; without it, the .cpg (or the .dbf's language byte)
    says, else UTF-8 is expected and other bytes raise InputFileError naming the row.
    """
    if not _sibling(path, ".dbf"):
        raise InputFileError(
            f"{path}: no {path.stem}.dbf beside it; a Shapefile needs its .shp, .shx and .dbf "
            "parts in one folder (or zip them and import the .zip)"
        )
    return read_layer(path, encoding=encoding, repair=repair)


def read_zipped_shapefile(
    path: Path,
    *,
    layer: str | None,
    crs: CRS | None,
    require_geometry: bool,
    encoding: str | None,
    repair: bool,
) -> pd.DataFrame:
    """Return the features of the Shapefile inside a zip (in any subfolder).

    A zip holding several Shapefiles needs `layer` (a .shp name without extension); a zip
    holding only a .dbf is an attribute table. `encoding` is as for `read_shapefile`: a
    cp1251 .dbf without .cpg, common in Ukraine, needs ``encoding="cp1251"``.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.startswith("__MACOSX/")]
    except zipfile.BadZipFile as error:
        raise InputFileError(
            f"{path}: not a readable zip file ({error}); it may be truncated, zip it again"
        ) from error
    member = _choose_member(path, names, layer)
    return read_layer(
        path,
        source=f"/vsizip/{path.resolve().as_posix()}/{member}",
        encoding=encoding,
        repair=repair,
    )


def _choose_member(path: Path, names: list[str], layer: str | None) -> str:
    """Return the zip member to read: the one .shp (or, for a table, .dbf) that `layer` names."""
    by_lower = {name.lower(): name for name in names}
    shapes = [name for name in names if name.lower().endswith(".shp")]
    candidates = shapes or [name for name in names if name.lower().endswith(".dbf")]
    if not candidates:
        raise InputFileError(
            f"{path}: the zip holds no Shapefile (no .shp and no .dbf inside); "
            "zip the .shp, .shx, .dbf and .prj files of the layer"
        )
    if layer is not None:
        candidates = [name for name in candidates if PurePosixPath(name).stem == layer]
        if not candidates:
            raise InputFileError(f"{path}: the zip holds no Shapefile named {layer!r}")
    if len(candidates) > 1:
        stems = ", ".join(PurePosixPath(name).stem for name in candidates)
        raise InputFileError(
            f"{path}: the zip holds several Shapefiles ({stems}); choose one with layer="
        )
    member = candidates[0]
    if member.lower().endswith(".shp") and member.lower()[:-4] + ".dbf" not in by_lower:
        raise InputFileError(
            f"{path}: {member} has no .dbf beside it in the zip; "
            "zip the .shp, .shx, .dbf and .prj files of the layer together"
        )
    return member


def _sibling(path: Path, suffix: str) -> bool:
    """Return whether a file named like `path` with `suffix` (any case) lies beside it."""
    return any(path.with_suffix(s).exists() for s in (suffix, suffix.upper()))


def write_zipped_shapefile(
    attributes: pd.DataFrame, geometry: gpd.GeoSeries | None, path: Path, *, layer: str
) -> None:
    """Write a zip holding one Shapefile named `layer` (UTF-8 .dbf, with .cpg and .prj).

    Field names longer than 10 bytes are truncated, as the format demands; if two of them
    would then collide, or the geometries mix points, lines and polygons, this raises
    InputFileError asking for a GeoPackage instead. An attribute table is a lone .dbf.
    """
    _check_field_names(attributes, path)
    if geometry is not None:
        _check_one_geometry_family(geometry, path)
    with tempfile.TemporaryDirectory(prefix="landrelease-shp-") as folder:
        write_layer(
            attributes,
            geometry,
            Path(folder) / f"{layer}.shp",
            driver="ESRI Shapefile",
            layer=layer,
            ENCODING="UTF-8",
        )
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(Path(folder).iterdir()):
                archive.write(part, arcname=part.name)


def _check_field_names(attributes: pd.DataFrame, path: Path) -> None:
    """Return nothing if the column names stay distinct once cut to 10 bytes; raise otherwise."""
    seen: dict[str, str] = {}
    for name in map(str, attributes.columns):
        short = name.encode("utf-8")[:FIELD_NAME_BYTES].decode("utf-8", "ignore").lower()
        if short in seen:
            raise InputFileError(
                f"{path}: columns {seen[short]!r} and {name!r} would both become {short!r} "
                "(Shapefile field names hold 10 bytes); export to .gpkg or .geojson instead"
            )
        seen[short] = name


def _check_one_geometry_family(geometry: gpd.GeoSeries, path: Path) -> None:
    """Return nothing if all geometries are points, or lines, or polygons; raise otherwise."""
    kinds = set(shapely.get_type_id(geometry.values[geometry.notna().to_numpy()]).tolist())
    families = {GEOMETRY_FAMILIES[kind] for kind in kinds}
    if len(families) > 1 or "geometry collections" in families:
        raise InputFileError(
            f"{path}: a Shapefile holds one geometry type but these features mix "
            f"{', '.join(sorted(families))}; export to .gpkg or .geojson instead"
        )
