"""Reference layers for prioritisation: read, checked, normalised, kept, and handed to the engine.

Five kinds of layer say what a hazard area threatens:

- settlements: points or polygons with a number of people (a population field);
- buildings: points or polygons;
- roads: lines with a class (ours, or OSM `highway` values mapped onto ours);
- landuse: polygons with a class (ours, or OSM `landuse` values mapped onto ours);
- facilities: points or polygons with a kind (ours, or OSM `amenity` values mapped onto ours).

Any file `landrelease import` reads will do, in any CRS (it is reprojected to EPSG:4326).
Each layer is checked whole before anything is written, then written in one unit of work: a
layer is in the registry entirely, or not at all. Its content hash (geometries, normalised,
and the kept field values) lets a ranking name exactly what it was computed from.

The Registry methods `add_layer`, `layers`, `remove_layer` and `reference_layers` call these.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import shapely

from landrelease.domain.errors import ValidationError
from landrelease.priority.inputs import (
    FACILITY_KINDS,
    LANDUSE_CLASSES,
    LAYER_FIELDS,
    ROAD_CLASSES,
    ReferenceLayer,
)
from landrelease.store import now_utc

if TYPE_CHECKING:
    import geopandas as gpd

    from landrelease.registry import Registry

Progress = Callable[[str], None]

LAYER_STEPS = ("reading", "checking", "writing")
BULK = 100_000  # features from which a layer is written the store's fastest way


# Names a population field goes by (matched in any case), in the order they are looked for.
POPULATION_FIELDS = (
    "population",
    "pop",
    "pop_total",
    "population_total",
    "pop_est",
    "inhabitants",
    "residents",
)

# OpenStreetMap tag values mapped onto our classes (ours map onto themselves).
OSM_HIGHWAY = {c: c for c in ROAD_CLASSES} | {
    "motorway_link": "motorway",
    "trunk_link": "trunk",
    "primary_link": "primary",
    "secondary_link": "secondary",
    "tertiary_link": "tertiary",
    "unclassified": "residential",
    "living_street": "residential",
    "footway": "path",
    "cycleway": "path",
    "bridleway": "path",
    "pedestrian": "path",
    "steps": "path",
}
OSM_LANDUSE = {c: c for c in LANDUSE_CLASSES} | {
    "greenhouse_horticulture": "farmland",
    "grass": "meadow",
    "commercial": "industrial",
    "retail": "industrial",
    "quarry": "industrial",
}
OSM_AMENITY = {c: c for c in FACILITY_KINDS} | {
    "childcare": "kindergarten",
    "doctors": "clinic",
    "drinking_water": "water_point",
}

_FAMILIES = ("points", "lines", "polygons")
# shapely type id -> family ("" for a type no layer holds: rings, collections)
_FAMILY_OF_TYPE = np.array(["points", "lines", "", "polygons", "points", "lines", "polygons", ""])
_TYPE_NAMES = (
    "Point",
    "LineString",
    "LinearRing",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
)
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,47}\Z")


@dataclass(frozen=True)
class LayerKind:
    """What a kind of reference layer holds: its geometry and its one normalised field."""

    name: str
    families: tuple[str, ...]  # of "points", "lines", "polygons"
    field: str | None  # population, class or kind (None: geometry only)
    # where the field comes from, in order: (column, tag values mapped onto ours or None
    # for numbers, whether a value not in that table is "other" rather than refused)
    sources: tuple[tuple[str, dict[str, str] | None, bool], ...] = ()


# The kinds and fields are the engine's (priority.inputs); here is where each comes from.
LAYER_KINDS: dict[str, LayerKind] = {
    k.name: k
    for k in (
        LayerKind(
            "settlements",
            ("points", "polygons"),
            LAYER_FIELDS["settlements"],
            tuple((f, None, False) for f in POPULATION_FIELDS),
        ),
        LayerKind("buildings", ("points", "polygons"), LAYER_FIELDS["buildings"]),
        LayerKind(
            "roads",
            ("lines",),
            LAYER_FIELDS["roads"],
            (("class", OSM_HIGHWAY, False), ("highway", OSM_HIGHWAY, False)),
        ),
        LayerKind(
            "landuse",
            ("polygons",),
            LAYER_FIELDS["landuse"],
            (("class", OSM_LANDUSE, False), ("landuse", OSM_LANDUSE, True)),
        ),
        LayerKind(
            "facilities",
            ("points", "polygons"),
            LAYER_FIELDS["facilities"],
            (("kind", OSM_AMENITY, False), ("amenity", OSM_AMENITY, True)),
        ),
    )
}

_KNOWN = {"roads": ROAD_CLASSES, "landuse": LANDUSE_CLASSES, "facilities": FACILITY_KINDS}
_WORDS = {"roads": "road classes", "landuse": "land-use classes", "facilities": "facility kinds"}


@dataclass
class CheckedLayer:
    """A layer ready to be written: geometries in EPSG:4326 of one type, normalised columns."""

    geometry_type: str
    geoms: np.ndarray
    columns: dict[str, np.ndarray]
    field_from: str | None  # the file's column the normalised field was read from
    repaired: int  # invalid polygons made valid
    skipped: int  # features without a geometry, left out
    warnings: list[str]


# -- adding ---------------------------------------------------------------------------------


def add_layer(
    reg: Registry,
    kind: str,
    source_data: str | Path | gpd.GeoDataFrame,
    *,
    name: str | None = None,
    source: str | None = None,
    actor: str,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Read, check and keep a reference layer; return its row plus what the check did.

    See `Registry.add_layer`.
    """
    step = progress or (lambda _s: None)
    spec = layer_kind(kind)
    name = checked_name(name if name is not None else spec.name)
    with reg.store.unit_of_work() as uow:  # a taken name fails before a large file is read
        if uow.layers.get(name) is not None:
            raise ValidationError(
                name,
                "name",
                f"a reference layer named {name!r} exists already; give another --name, or "
                f"remove it first with 'landrelease layers remove {name}'",
            )
    step("reading")
    if isinstance(source_data, str | Path):
        from landrelease.io import read_features, to_wgs84

        frame = to_wgs84(read_features(source_data))
        source = source if source is not None else str(source_data)
    else:
        from landrelease.io import to_wgs84

        frame = to_wgs84(source_data)
    step("checking")
    checked = check_layer(spec, name, frame, country_bbox=reg.country.bbox)
    digest = content_sha256(spec.name, checked.geometry_type, checked.geoms, checked.columns)
    step("writing")
    with reg.store.unit_of_work(
        write=True, bulk=len(checked.geoms) >= BULK, note=f"a reference layer added by {actor}"
    ) as uow:
        uow.layers.add(
            name,
            spec.name,
            checked.geometry_type,
            checked.geoms,
            checked.columns,
            source,
            digest,
            now_utc(),
            actor,
        )
        row = uow.layers.get(name)
    assert row is not None
    return {
        **row,
        "field_from": checked.field_from,
        "repaired": checked.repaired,
        "skipped": checked.skipped,
        "warnings": checked.warnings,
    }


def layer_kind(kind: str) -> LayerKind:
    """Return the kind of reference layer named `kind`; a ValidationError names the known."""
    spec = LAYER_KINDS.get(str(kind).strip().lower())
    if spec is None:
        raise ValidationError(
            None, "kind", f"unknown layer kind {kind!r}; one of {', '.join(LAYER_KINDS)}"
        )
    return spec


def checked_name(name: str) -> str:
    """Return a layer name if it is one (lower-case letters, digits, '_' and '-'), else raise."""
    if not _NAME.match(name):
        raise ValidationError(
            name,
            "name",
            "a layer name starts with a lower-case letter, then up to 47 lower-case letters, "
            "digits, '_' or '-' (e.g. roads-osm-2024)",
        )
    return name


def check_layer(
    spec: LayerKind,
    name: str,
    frame: gpd.GeoDataFrame,
    *,
    country_bbox: tuple[float, float, float, float] | None = None,
) -> CheckedLayer:
    """Return the layer `frame` (EPSG:4326) checked and normalised as `spec` asks.

    Features without a geometry are left out (counted); no feature left, a geometry of the
    wrong type, a missing field or a value that cannot be read is a ValidationError naming
    the field (and the file's rows, counted from 1).
    """
    geoms = np.asarray(frame.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    rows = np.flatnonzero(present)  # each kept feature's position in the file
    if not len(rows):
        raise ValidationError(
            name,
            "geometry",
            f"no feature with a geometry ({len(geoms)} without): a {spec.name} layer needs "
            f"{' or '.join(spec.families)}",
        )
    geoms = geoms[rows]
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
    family, geometry_type, geoms, repaired, dropped = _geometries(spec, name, geoms, rows)
    if dropped.any():
        rows, geoms = rows[~dropped], geoms[~dropped]
    kept = frame.iloc[rows]
    columns: dict[str, np.ndarray] = {}
    field_from = None
    if spec.field is not None:
        field_from, columns[spec.field] = _field(spec, name, kept, rows)
    names = _column(kept, "name")
    if names is not None:
        columns["name"] = _text(kept[names].to_numpy())
    warnings = []
    if repaired:
        warnings.append(f"{repaired} invalid polygon(s) made valid")
    if int(dropped.sum()):
        warnings.append(f"{int(dropped.sum())} polygon(s) with no area left out")
    if country_bbox is not None:
        minx, miny, maxx, maxy = country_bbox
        b = shapely.bounds(geoms)
        outside = int(
            ((b[:, 2] < minx) | (b[:, 0] > maxx) | (b[:, 3] < miny) | (b[:, 1] > maxy)).sum()
        )
        if outside:
            warnings.append(
                f"{outside} of {len(geoms)} feature(s) lie outside the country's extent: "
                "check the file's coordinate reference system"
            )
    skipped = int((~present).sum())
    if skipped:
        warnings.append(f"{skipped} feature(s) without a geometry left out")
    return CheckedLayer(
        geometry_type, geoms, columns, field_from, repaired, skipped + int(dropped.sum()), warnings
    )


def _geometries(
    spec: LayerKind, name: str, geoms: np.ndarray, rows: np.ndarray
) -> tuple[str, str, np.ndarray, int, np.ndarray]:
    """Return (family, declared type, geometries of that type, repaired, dropped mask)."""
    types = shapely.get_type_id(geoms)
    family = _FAMILY_OF_TYPE[types]
    wrong = np.flatnonzero(~np.isin(family, spec.families))
    if len(wrong):
        i = int(wrong[0])
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        raise ValidationError(
            name,
            "geometry",
            f"a {spec.name} layer holds {' or '.join(spec.families)}; row {int(rows[i]) + 1} is "
            f"a {_TYPE_NAMES[int(types[i])]}{more}",
        )
    found = [f for f in _FAMILIES if (family == f).any()]
    if len(found) > 1:
        raise ValidationError(
            name,
            "geometry",
            f"a {spec.name} layer holds {' or '.join(found)}, not both: give them as two "
            "layers (--name)",
        )
    fam = found[0]
    dropped = np.zeros(len(geoms), dtype=bool)
    repaired = 0
    if fam == "polygons":
        invalid = np.flatnonzero(~shapely.is_valid(geoms))
        if len(invalid):
            fixed = _polygonal(shapely.make_valid(geoms[invalid]))
            geoms = geoms.copy()
            geoms[invalid] = fixed
            dropped[invalid] = shapely.is_missing(fixed) | shapely.is_empty(fixed)
            repaired = int(len(invalid) - dropped.sum())
        return fam, "MULTIPOLYGON", geoms, repaired, dropped
    single, multi, make = {
        "points": (0, "MULTIPOINT", shapely.multipoints),
        "lines": (1, "MULTILINESTRING", shapely.multilinestrings),
    }[fam]
    if (types == single).all():
        return fam, multi.removeprefix("MULTI"), geoms, 0, dropped
    parts, index = shapely.get_parts(geoms, return_index=True)
    return fam, multi, make(parts, indices=index), 0, dropped


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Return the polygonal parts of each geometry as one MultiPolygon (None if it has none)."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    while True:  # make_valid may nest a MultiPolygon in a GeometryCollection
        nested = np.isin(shapely.get_type_id(parts), (6, 7))
        if not nested.any():
            break
        inner, at = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], inner])
        index = np.concatenate([index[~nested], index[nested][at]])
    keep = shapely.get_type_id(parts) == 3
    out = np.full(len(geoms), None, dtype=object)
    if keep.any():
        made = shapely.multipolygons(parts[keep], indices=index[keep])
        out[np.unique(index[keep])] = made
    return out


def _column(frame: gpd.GeoDataFrame, wanted: str) -> str | None:
    """Return the frame's column named `wanted` in any case, or None."""
    for col in frame.columns:
        if col != frame.geometry.name and str(col).lower() == wanted:
            return str(col)
    return None


def _text(values: np.ndarray) -> np.ndarray:
    """Return values as an object array of str, or None where empty."""
    import pandas as pd

    series = pd.Series(values, dtype=object)
    missing = series.isna().to_numpy()
    text = series.where(~missing, "").astype(str)
    out = text.to_numpy(dtype=object)
    out[missing | (text.str.strip() == "").to_numpy()] = None
    return out


def _field(
    spec: LayerKind, name: str, frame: gpd.GeoDataFrame, rows: np.ndarray
) -> tuple[str, np.ndarray]:
    """Return (the file's column, the normalised values) of the kind's field."""
    assert spec.field is not None
    for wanted, mapping, lenient in spec.sources:
        col = _column(frame, wanted)
        if col is None:
            continue
        values = frame[col].to_numpy()
        if mapping is None:
            return col, _numbers(name, col, values, rows)
        return col, _classes(spec, name, col, values, mapping, lenient)
    fields = [str(c) for c in frame.columns if c != frame.geometry.name]
    names = ", ".join(w for w, _, _ in spec.sources)
    what = "a population field" if spec.field == "population" else f"a '{spec.field}' field"
    raise ValidationError(
        name,
        spec.field,
        f"a {spec.name} layer needs {what}: one named {names} (any case); the file has "
        f"{', '.join(fields) if fields else 'no fields'}",
    )


def _numbers(name: str, col: str, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Return a column as non-negative float64; a missing or bad value is a ValidationError."""
    import pandas as pd

    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(numbers) | (numbers < 0))
    if len(bad):
        shown = ", ".join(str(int(rows[i]) + 1) for i in bad[:5])
        more = ", ..." if len(bad) > 5 else ""
        raise ValidationError(
            name,
            col,
            f"{len(bad)} feature(s) without a number of people of 0 or more (rows {shown}{more}; "
            f"row {int(rows[bad[0]]) + 1} has {values[bad[0]]!r}); give each settlement one",
        )
    return numbers


def _classes(
    spec: LayerKind,
    name: str,
    col: str,
    values: np.ndarray,
    mapping: dict[str, str],
    lenient: bool,
) -> np.ndarray:
    """Return a column's values mapped onto the kind's classes; unknown ones are refused,
    listed with their counts, unless `lenient` (an OSM tag: then they are "other")."""
    import pandas as pd

    keys = pd.Series(_text(values)).fillna("").str.strip().str.lower()
    uniques, inverse = np.unique(keys.to_numpy(dtype=str), return_inverse=True)
    mapped = np.array([mapping.get(u, "other" if lenient else "") for u in uniques], dtype=object)
    unknown = np.flatnonzero(mapped == "")
    if len(unknown):
        counts = np.bincount(inverse, minlength=len(uniques))
        listed = ", ".join(
            f"{uniques[i] or '(empty)'} ({counts[i]} feature{'s' if counts[i] > 1 else ''})"
            for i in unknown[:12]
        )
        more = f" and {len(unknown) - 12} more" if len(unknown) > 12 else ""
        osm = sorted(set(mapping) - set(_KNOWN[spec.name]))
        raise ValidationError(
            name,
            col,
            f"unknown {_WORDS[spec.name]}: {listed}{more}; each must be "
            f"one of {', '.join(_KNOWN[spec.name])}, or an OSM value mapped onto them "
            f"({', '.join(osm)})",
        )
    return mapped[inverse]


def content_sha256(
    kind: str, geometry_type: str, geoms: np.ndarray, columns: dict[str, np.ndarray]
) -> str:
    """Return the SHA-256 of a layer's content: its kind, its geometries (normalised, as
    2D little-endian WKB) and its columns' values; the same file gives the same digest."""
    h = hashlib.sha256(f"landrelease reference layer 1\n{kind}\n{geometry_type}\n".encode())
    points = geometry_type == "POINT"  # a point is its own normal form
    shapes = geoms if points else shapely.normalize(geoms)
    wkbs = shapely.to_wkb(shapes, byte_order=1, output_dimension=2)
    h.update(np.fromiter(map(len, wkbs), dtype="<u8", count=len(wkbs)).tobytes())
    h.update(b"".join(wkbs))
    for col in sorted(columns):
        values = columns[col]
        h.update(f"\n{col}\n".encode())
        if values.dtype.kind == "f":
            h.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
        else:
            h.update(orjson.dumps(values.tolist()))
    return h.hexdigest()


# -- reading and removing -------------------------------------------------------------------


def layers(reg: Registry) -> list[dict[str, Any]]:
    """Return every reference layer's row (kind, name, features, source, added_at/by...)."""
    with reg.store.unit_of_work() as uow:
        return uow.layers.all()


def remove_layer(reg: Registry, name: str, *, actor: str) -> dict[str, Any]:
    """Remove a reference layer (its table and every registration); return its row."""
    with reg.store.unit_of_work(write=True, note=f"a reference layer removed by {actor}") as uow:
        row = uow.layers.remove(name)
    return {**row, "removed_at": now_utc(), "removed_by": actor}


def reference_layers(reg: Registry) -> dict[str, ReferenceLayer | None]:
    """Return, for every kind, its layers' features as one ReferenceLayer (None if none).

    Values: the kind's field (settlements "population" as float64; roads and landuse
    "class", facilities "kind"), plus "name" (None where a layer has none) if any layer of
    the kind has names. All layers are read in one snapshot.
    """
    with reg.store.unit_of_work() as uow:
        read = [(r["kind"], *uow.layers.read(r["name"])) for r in uow.layers.all()]
    out: dict[str, ReferenceLayer | None] = dict.fromkeys(LAYER_KINDS)
    for kind, spec in LAYER_KINDS.items():
        parts = [(g, c) for k, g, c in read if k == kind]
        if not parts:
            continue
        values: dict[str, np.ndarray] = {}
        if spec.field is not None:
            values[spec.field] = np.concatenate([c[spec.field] for _, c in parts])
        if any("name" in c for _, c in parts):
            values["name"] = np.concatenate(
                [c.get("name", np.full(len(g), None, dtype=object)) for g, c in parts]
            )
        geometry = np.concatenate([g for g, _ in parts])
        out[kind] = ReferenceLayer(kind=kind, geometry=geometry, values=values)
    return out


__all__ = [
    "LAYER_KINDS",
    "LAYER_STEPS",
    "OSM_AMENITY",
    "OSM_HIGHWAY",
    "OSM_LANDUSE",
    "POPULATION_FIELDS",
    "CheckedLayer",
    "LayerKind",
    "add_layer",
    "check_layer",
    "checked_name",
    "content_sha256",
    "layer_kind",
    "layers",
    "reference_layers",
    "remove_layer",
]
