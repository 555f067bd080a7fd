"""OGC API Features (Part 1 Core, Part 3 Filtering) over the registry, for QGIS, GDAL and browsers.

GET /, /conformance, /api (OpenAPI 3.0), /collections, /collections/{id},
/collections/{id}/queryables, /collections/{id}/items, /collections/{id}/items/{featureId};
each as JSON (GeoJSON for features) or, with f=html, as a plain HTML page.

Signed-in users (viewer and up) see the five collections with exact geometries. The public
(no credentials) sees only `hazards`, as the public view of `Registry.public_hazard_columns`
(generalised areas, a few properties), may filter it by status and hazard type only, and is
told 404 for the other collections, as if they did not exist.

The items of signed-in users are joined from encoded features kept per process
(`feature_cache`): a page reads the refs and versions of its rows, encodes the rows it lacks,
and joins bytes. Bad parameters are 400 problems naming the parameter.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from landrelease.service import features_items, pages
from landrelease.service import features_meta as meta
from landrelease.service.features_context import (
    F_PARAMETER,
    METADATA_PARAMETERS,
    CollectionId,
    Context,
    Reg,
    UserOrPublic,
    bad_parameters,
    collection_of,
    context,
    crumbs,
    json_response,
)
from landrelease.service.features_html import page
from landrelease.service.features_openapi import openapi_30
from landrelease.service.settings import Settings
from landrelease.store.base import BBox
from landrelease.store.cql import GEOMETRY

router = APIRouter(tags=["OGC API Features"])

TITLE = "landrelease"
DESCRIPTION = (
    "Hazardous areas of explosive ordnance and their land release, as OGC API Features: "
    "for QGIS, GDAL and web browsers."
)

_F = {"parameters": [F_PARAMETER]}


@router.get("/", summary="Landing page", openapi_extra=_F)
def landing(request: Request, reg: Reg, user: UserOrPublic) -> Response:
    """Return the landing page of the OGC API: links to the API, conformance and data."""
    if pages.wants_map(request):  # a browser without `f`: the web map; f=html: the page below
        return pages.map_page(user)
    with bad_parameters():
        ctx = context(request, reg, user, METADATA_PARAMETERS)
    doc = meta.landing(ctx.base, title=TITLE, description=DESCRIPTION)
    if ctx.html:
        nav = [
            {"href": f"{ctx.base}/collections?f=html", "title": "The collections of features"},
            {"href": f"{ctx.base}/conformance?f=html", "title": "Conformance classes"},
            {"href": f"{ctx.base}/api?f=html", "title": "The API definition (OpenAPI 3.0)"},
            {"href": f"{ctx.base}/api/docs", "title": "The API documentation"},
        ]
        return page(
            "landing.html",
            title=TITLE,
            base=ctx.base,
            crumbs=[("Home", "/?f=html")],
            json_href=f"{ctx.base}/?f=json",
            user=ctx.user_name,
            doc=doc,
            nav=nav,
        )
    return json_response(doc)


@router.get("/conformance", summary="Conformance classes", openapi_extra=_F)
def conformance(request: Request, reg: Reg, user: UserOrPublic) -> Response:
    """Return the conformance classes this service implements."""
    with bad_parameters():
        ctx = context(request, reg, user, METADATA_PARAMETERS)
    doc = meta.conformance()
    if ctx.html:
        return page(
            "conformance.html",
            title="Conformance",
            base=ctx.base,
            crumbs=[("Home", "/?f=html"), ("Conformance", "/conformance?f=html")],
            json_href=f"{ctx.base}/conformance?f=json",
            user=ctx.user_name,
            doc=doc,
        )
    return json_response(doc)


@router.get("/api", summary="The API definition (OpenAPI 3.0)", openapi_extra=_F)
def api_definition(request: Request, reg: Reg, user: UserOrPublic) -> Response:
    """Return the OpenAPI 3.0 definition of the whole service (made once per process)."""
    with bad_parameters():
        ctx = context(request, reg, user, METADATA_PARAMETERS)
    if ctx.html:
        return page(
            "api.html",
            title="API definition",
            base=ctx.base,
            crumbs=[("Home", "/?f=html"), ("API", "/api?f=html")],
            json_href=f"{ctx.base}/api?f=json",
            user=ctx.user_name,
        )
    state = request.app.state
    body = getattr(state, "openapi_30", None)
    if body is None:
        doc = openapi_30(request.app.openapi())
        _document_items(doc, ctx.settings)
        body = state.openapi_30 = orjson.dumps(doc)
    return Response(body, media_type=meta.OPENAPI_30)


def _document_items(doc: dict[str, Any], settings: Settings) -> None:
    """Complete the items operations of the API definition: the server's page sizes in
    `limit`, and one operation per collection (/collections/hazards/items...) declaring its
    queryables as `name=value` parameters, as GDAL reads them to filter on the server."""
    paths = doc.get("paths", {})
    generic = paths.get("/collections/{collectionId}/items", {}).get("get")
    if generic is None:
        return
    for param in generic.get("parameters", []):
        if param.get("name") == "limit":
            param["schema"].update(default=settings.page_limit, maximum=settings.max_limit)
    for c in meta.COLLECTIONS.values():
        op = copy.deepcopy(generic)
        op["summary"] = f"The features of {c.id}"
        op["operationId"] = f"{generic.get('operationId', 'items')}_{c.id}"
        params = [p for p in op.get("parameters", []) if p.get("in") != "path"]
        for name, schema in meta.queryables("", c)["properties"].items():
            if name != GEOMETRY:
                description = f"Only the features whose {name} is this value."
                params.append(
                    {
                        "name": name,
                        "in": "query",
                        "required": False,
                        "description": description,
                        "schema": _plain(schema),
                    }
                )
        op["parameters"] = params
        paths[f"/collections/{c.id}/items"] = {"get": op}


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """Return a queryable's schema as a parameter's: its type, format and enum only."""
    return {k: schema[k] for k in ("type", "format", "enum") if k in schema}


# -- collections -------------------------------------------------------------------------------


def _described(ctx: Context, c: meta.Collection) -> dict[str, Any]:
    bbox: BBox | None
    if ctx.public:  # the exact extent and dates are not published: the country's box instead
        bbox, interval = ctx.reg.country.bbox, None
    else:
        bbox, (first, last) = ctx.reg.extent(c.id)
        interval = (first, last) if first is not None or last is not None else None
    return meta.collection(ctx.base, c, bbox=bbox, interval=interval, public=ctx.public)


@router.get("/collections", summary="The collections", openapi_extra=_F)
def collections(request: Request, reg: Reg, user: UserOrPublic) -> Response:
    """Return the collections this user may read (the public: the hazards' public view)."""
    with bad_parameters():
        ctx = context(request, reg, user, METADATA_PARAMETERS)
    shown = [c for c in meta.COLLECTIONS.values() if not ctx.public or c.id == "hazards"]
    doc = meta.collections(ctx.base, [_described(ctx, c) for c in shown])
    if ctx.html:
        return page(
            "collections.html",
            title="Collections",
            base=ctx.base,
            crumbs=[("Home", "/?f=html"), ("Collections", "/collections?f=html")],
            json_href=f"{ctx.base}/collections?f=json",
            user=ctx.user_name,
            doc=doc,
        )
    return json_response(doc)


@router.get("/collections/{collectionId}", summary="One collection", openapi_extra=_F)
def collection(
    request: Request, collection_id: CollectionId, reg: Reg, user: UserOrPublic
) -> Response:
    """Return the description of one collection: extent, links to its items and queryables."""
    with bad_parameters():
        ctx = context(request, reg, user, METADATA_PARAMETERS)
    c = collection_of(ctx, collection_id)
    doc = _described(ctx, c)
    if ctx.html:
        return page(
            "collection.html",
            title=doc["title"],
            base=ctx.base,
            crumbs=crumbs(c),
            json_href=f"{ctx.base}/collections/{c.id}?f=json",
            user=ctx.user_name,
            doc=doc,
        )
    return json_response(doc)


@router.get(
    "/collections/{collectionId}/queryables",
    summary="What a filter on a collection may name",
    openapi_extra=_F,
)
def queryables(
    request: Request, collection_id: CollectionId, reg: Reg, user: UserOrPublic
) -> Response:
    """Return the JSON Schema of the properties a filter may name, code lists as enums."""
    with bad_parameters():
        ctx = context(request, reg, user, METADATA_PARAMETERS)
    c = collection_of(ctx, collection_id)
    doc = meta.queryables(ctx.base, c, public=ctx.public)
    if ctx.html:
        return page(
            "queryables.html",
            title=f"Queryables of {c.id}",
            base=ctx.base,
            crumbs=[*crumbs(c), ("Queryables", f"/collections/{c.id}/queryables?f=html")],
            json_href=f"{ctx.base}/collections/{c.id}/queryables?f=json",
            user=ctx.user_name,
            doc=doc,
        )
    return json_response(doc, meta.SCHEMA_JSON)


router.include_router(features_items.router)

__all__ = ["DESCRIPTION", "TITLE", "router"]
