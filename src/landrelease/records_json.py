"""The JSON of records: one serializer for the CLI, the HTTP API and notebooks.

It takes records as the registry reads them (`Registry.record_columns`, `stored_record`):
columns of stored values, so that a listing makes no object per record before its JSON.
A record's JSON holds its fields in data-model order (dates as ISO text, codes as lists,
booleans as booleans), its geometry as GeoJSON (when read and asked for), then its change
stamp: `version` (a field), `changed_at`, `changed_by` and `needs_check` (changed outside
landrelease and not checked since). A value edited outside landrelease that is not of its
field's type (a date typed as free text) is given as it is stored, never refused here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson
import shapely

from landrelease.domain.errors import ValidationError
from landrelease.domain.records import RecordKind
from landrelease.store import Columns

if TYPE_CHECKING:
    from landrelease.importing import ImportReport

# The change stamp a record's JSON carries beside its `version` field.
STAMP = ("changed_at", "changed_by", "needs_check")


def records_json(kind: RecordKind, cols: Columns, *, geometry: bool = True) -> list[dict[str, Any]]:
    """Return the JSON-ready dict of each record in `cols` (columns as the store reads them).

    Each dict holds the fields, "geometry" (GeoJSON; only if `geometry` and read) and the
    stamp columns that `cols` has, in that order; other columns are left out.
    """
    names = [f.name for f in kind.fields if f.name in cols]
    if geometry and "geometry" in cols:
        names.append("geometry")
    names += [c for c in STAMP if c in cols]
    converters = {f.name: _CONVERT.get(f.kind) for f in kind.fields}
    converters.update(geometry=_geojson_column, needs_check=_bools)
    values = []
    for name in names:
        convert = converters.get(name)
        values.append(cols[name] if convert is None else convert(cols[name]))
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def record_json(
    kind: RecordKind, record: Mapping[str, Any], *, geometry: bool = True
) -> dict[str, Any]:
    """Return the JSON-ready dict of one record as the store reads it (`stored_record`)."""
    cols = {k: [v] for k, v in record.items() if k != "geometry"}
    if "geometry" in record:
        cols["geometry"] = [record["geometry"]]
    return records_json(kind, cols, geometry=geometry)[0]


def geojson(geom: Any) -> Any:
    """Return a shapely geometry as a GeoJSON geometry object (None for None)."""
    return None if geom is None else orjson.loads(shapely.to_geojson(geom))


# The GeoJSON geometry types (RFC 7946); what a record kind accepts is the registry's check.
GEOMETRY_TYPES = frozenset(
    {
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    }
)


def shape(value: Any, record: str | None = None) -> Any:
    """Return the shapely geometry of a GeoJSON geometry object (EPSG:4326 lon/lat); None
    for None. Anything else is a ValidationError naming `record` and the field geometry."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or value.get("type") not in GEOMETRY_TYPES:
        raise ValidationError(
            record,
            "geometry",
            "give a GeoJSON geometry object ({\"type\": \"Polygon\", \"coordinates\": ...}), "
            "longitude before latitude (EPSG:4326), or null",
        )
    try:
        return shapely.from_geojson(orjson.dumps(value))
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        # GEOS says what it could not read; say it with the record and the field
        raise ValidationError(
            record, "geometry", f"not a readable GeoJSON geometry: {' '.join(str(exc).split())}"
        ) from None


def record_input(
    kind: RecordKind, data: Mapping[str, Any], record: str | None = None
) -> dict[str, Any]:
    """Return a record's JSON (as `record_json` gives it) in the form the registry takes in:
    codes lists as ';'-separated text, "geometry" (if present) as a shapely geometry.

    Values are not checked here: the registry checks them, as it checks an import.
    """
    codes = {f.name for f in kind.fields if f.kind == "codes"}
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "geometry":
            out[name] = shape(value, record)
        elif name in codes and isinstance(value, list | tuple):
            out[name] = ";".join(str(v) for v in value)
        else:
            out[name] = value
    return out


def import_report_json(report: ImportReport) -> dict[str, Any]:
    """Return the JSON of an import's report: "imported" (how many), then every field of it
    (refs, rejected, rejected_file, repairs, warnings, ignored_columns); the CLI's
    `import --json` and the HTTP API's import give this."""
    return {"imported": report.imported, **dataclasses.asdict(report)}


def _geojson_column(geoms: Sequence[Any]) -> list[Any]:
    import numpy as np

    arr = np.asarray(geoms, dtype=object)
    if not len(arr):
        return []
    texts = shapely.to_geojson(arr)  # one vectorised call; None stays None
    return [None if t is None else orjson.loads(t) for t in texts.tolist()]


def _dates(values: Sequence[Any]) -> list[Any]:
    return [v.isoformat() if isinstance(v, dt.date) else v for v in values]


def _codes(values: Sequence[Any]) -> list[Any]:
    return [
        list(v)
        if isinstance(v, tuple | list)
        else [p for p in v.split(";") if p]
        if isinstance(v, str)
        else []
        if v is None
        else v
        for v in values
    ]


def _bools(values: Sequence[Any]) -> list[Any]:
    return [v if v is None or isinstance(v, str) else bool(v) for v in values]


_CONVERT: dict[str, Callable[[Sequence[Any]], list[Any]]] = {
    "date": _dates,
    "codes": _codes,
    "bool": _bools,
}

__all__ = [
    "GEOMETRY_TYPES",
    "STAMP",
    "geojson",
    "import_report_json",
    "record_input",
    "record_json",
    "records_json",
    "shape",
]
