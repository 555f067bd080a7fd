"""The documents of OGC API Features about the data: landing page, conformance, collections,
queryables, and the links between them (plain dicts; the routes render them as JSON or HTML).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from landrelease.domain.records import ACCIDENTS, ACTIVITIES, EORE, HAZARDS, ITEMS, RecordKind
from landrelease.service.feature_cache import STAMP
from landrelease.store import cql
from landrelease.store.base import BBox

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
SCHEMA_JSON = "application/schema+json"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"

OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0/"
QUERYABLES_REL = OGC_REL + "queryables"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

_CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
_PART3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
CONFORMANCE = (
    _CORE + "core",
    _CORE + "geojson",
    _CORE + "html",
    _CORE + "oas30",
    _PART3 + "queryables",
    _PART3 + "queryables-query-parameters",
    _PART3 + "filter",
    _PART3 + "features-filter",
    *cql.CONFORMANCE,
)


@dataclass(frozen=True)
class Collection:
    """One collection of OGC API Features: a kind of record that has a geometry."""

    id: str
    kind: RecordKind
    title: str
    description: str


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "hazards",
            HAZARDS,
            "Hazardous areas",
            "Suspected and confirmed hazardous areas and their land-release status.",
        ),
        Collection(
            "activities",
            ACTIVITIES,
            "Activities",
            "Survey, clearance, EOD, quality assurance and handover activities on areas.",
        ),
        Collection("items", ITEMS, "Items found", "Explosive ordnance items found, as points."),
        Collection(
            "accidents",
            ACCIDENTS,
            "Accidents",
            "Explosive ordnance accidents and their casualties (never public).",
        ),
        Collection(
            "eore",
            EORE,
            "Risk-education sessions",
            "Explosive ordnance risk education sessions: where, how, and the audience reached.",
        ),
    )
}
PUBLIC_DESCRIPTION = (
    "The public view of the hazardous areas: each area generalised to the cells of a grid "
    "it touches, with its status, hazard type, contamination and a warning."
)
# What the public may filter the public view by.
PUBLIC_QUERYABLES = ("status", "hazard_type")


def link(href: str, rel: str, type_: str, title: str) -> dict[str, str]:
    """Return one link object (keys in a fixed order, for identical bodies)."""
    return {"href": href, "rel": rel, "type": type_, "title": title}


def landing(base: str, *, title: str, description: str) -> dict[str, Any]:
    """Return the landing page: what the service is and where its parts are."""
    return {
        "title": title,
        "description": description,
        "links": [
            link(f"{base}/", "self", JSON, "This document"),
            link(f"{base}/?f=html", "alternate", HTML, "This document as HTML"),
            link(f"{base}/api", "service-desc", OPENAPI_30, "The API definition (OpenAPI 3.0)"),
            link(f"{base}/api/docs", "service-doc", HTML, "The API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
            link(f"{base}/conformance", OGC_REL + "conformance", JSON, "Conformance classes"),
            link(f"{base}/collections", "data", JSON, "The collections of features"),
            link(f"{base}/collections", OGC_REL + "data", JSON, "The collections of features"),
        ],
    }


def conformance() -> dict[str, Any]:
    """Return the conformance declaration."""
    return {"conformsTo": list(CONFORMANCE)}


def collection(
    base: str,
    c: Collection,
    *,
    bbox: BBox | None,
    interval: tuple[Any, Any] | None,
    public: bool = False,
) -> dict[str, Any]:
    """Return the description of one collection, its extent and its links."""
    url = f"{base}/collections/{c.id}"
    extent: dict[str, Any] = {
        "spatial": {
            "bbox": [list(bbox) if bbox is not None else [-180.0, -90.0, 180.0, 90.0]],
            "crs": cql.CRS84,
        }
    }
    if interval is not None:
        extent["temporal"] = {"interval": [[_stamp(interval[0]), _stamp(interval[1])]], "trs": TRS}
    return {
        "id": c.id,
        "title": c.title + (" (public view)" if public else ""),
        "description": PUBLIC_DESCRIPTION if public else c.description,
        "itemType": "feature",
        "crs": [cql.CRS84],
        "storageCrs": cql.CRS84,
        "extent": extent,
        "links": [
            link(url, "self", JSON, "This collection"),
            link(f"{url}?f=html", "alternate", HTML, "This collection as HTML"),
            link(f"{url}/items", "items", GEOJSON, f"The {c.id} (GeoJSON)"),
            link(f"{url}/items?f=html", "items", HTML, f"The {c.id} (HTML)"),
            link(f"{url}/queryables", QUERYABLES_REL, SCHEMA_JSON, "What filters may name"),
            link(f"{base}/collections", "collection", JSON, "All collections"),
        ],
    }


def collections(base: str, described: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the list of collections."""
    return {
        "links": [
            link(f"{base}/collections", "self", JSON, "This document"),
            link(f"{base}/collections?f=html", "alternate", HTML, "This document as HTML"),
        ],
        "collections": described,
    }


def queryables(base: str, c: Collection, *, public: bool = False) -> dict[str, Any]:
    """Return the JSON Schema of the properties a filter on `c` may name, code lists as enums."""
    kind = c.kind
    names = PUBLIC_QUERYABLES if public else (*kind.field_names, *STAMP)
    props: dict[str, Any] = {}
    if not public and kind.geometry:
        shape = "MultiPolygon" if kind.geometry == "polygon" else "Point"
        props[cql.GEOMETRY] = {
            "title": "Geometry",
            "format": f"geometry-{shape.lower()}",
            "$ref": f"https://geojson.org/schema/{shape}.json",
        }
    for name in names:
        props[name] = _schema(kind, name)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{c.id}/queryables",
        "type": "object",
        "title": c.title + (" (public view)" if public else ""),
        "properties": props,
        "additionalProperties": False,
    }


def _schema(kind: RecordKind, name: str) -> dict[str, Any]:
    if name == "changed_at":
        return {"title": "Changed at", "type": "string", "format": "date-time"}
    if name == "changed_by":
        return {"title": "Changed by", "type": "string"}
    f = kind.field(name)
    out: dict[str, Any] = {"title": name.replace("_", " ").capitalize()}
    if f.doc:
        out["description"] = f.doc
    if f.kind in ("code", "codes") and f.codes is not None:
        enum = [c.value for c in f.codes]
        if f.kind == "code":
            out.update(type="string", enum=enum)
        else:  # stored as "a;b": compared as that text
            out.update(
                type="string",
                description=(f.doc + ": " if f.doc else "")
                + "codes separated by ';' ("
                + ", ".join(enum)
                + "); filter with LIKE, e.g. '%ap_mine%'",
            )
    elif f.kind == "date":
        out.update(type="string", format="date")
    elif f.kind == "int":
        out["type"] = "integer"
    elif f.kind == "float":
        out["type"] = "number"
    elif f.kind == "bool":
        out["type"] = "boolean"
    else:
        out["type"] = "string"
    return out


def _stamp(value: Any) -> str | None:
    """Return a date (or text) of the registry as an RFC 3339 instant, None as open."""
    if value is None:
        return None
    text = str(value)
    return f"{text}T00:00:00Z" if len(text) == 10 else text


__all__ = [
    "COLLECTIONS",
    "CONFORMANCE",
    "GEOJSON",
    "HTML",
    "JSON",
    "OPENAPI_30",
    "PUBLIC_QUERYABLES",
    "SCHEMA_JSON",
    "Collection",
    "collection",
    "collections",
    "conformance",
    "landing",
    "link",
    "queryables",
]
