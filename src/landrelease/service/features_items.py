"""The features of a collection: /collections/{id}/items and /collections/{id}/items/{featureId}.

For a signed-in user a page is read in two steps: the refs and versions of its rows (one read,
the R-tree for a bbox), then the rows the process has not encoded yet (`feature_cache`); the
body is the cached bytes joined. The public gets the public view of the hazards instead,
encoded per request (its geometries are cached by the registry).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import shapely
from fastapi import APIRouter, Request
from starlette.responses import Response

from landrelease.domain.roles import User
from landrelease.registry import Registry
from landrelease.service import access
from landrelease.service import features_meta as meta
from landrelease.service import features_params as fp
from landrelease.service.feature_cache import FeatureCache, encode_features, feature_columns
from landrelease.service.features_context import (
    F_PARAMETER,
    METADATA_PARAMETERS,
    CollectionId,
    Context,
    FeatureId,
    Reg,
    UserOrPublic,
    bad_parameters,
    collection_of,
    context,
    crumbs,
)
from landrelease.service.features_html import page
from landrelease.store.cql import CRS84

router = APIRouter(tags=["OGC API Features"])


_KEYS = ["ref", "version"]  # what a page reads of each row before the cache
_PUBLIC_PROPERTIES = ("ref", "status", "hazard_type", "contamination", "warning")
_HEAD = b'{"type":"FeatureCollection","features":['
_CONTENT_CRS = {"Content-Crs": f"<{CRS84}>"}  # what GDAL looks for (Features Part 2)


def _query(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **extra,
    }


_ITEMS_PARAMETERS = [
    F_PARAMETER,
    _query(
        "limit",
        "The most features in one page (more is taken as the most the server gives).",
        {"type": "integer", "minimum": 1},
    ),
    _query("offset", "How many matching features to skip.", {"type": "integer", "minimum": 0}),
    _query(
        "bbox",
        "Only features meeting this box: minx,miny,maxx,maxy in longitude, latitude.",
        {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        style="form",
        explode=False,
    ),
    _query("bbox-crs", "The CRS of bbox: CRS84 only.", {"type": "string", "format": "uri"}),
    _query(
        "datetime",
        "Only features whose date (reported_on, start_date, found_on, occurred_on) falls on "
        "this date or within this interval (RFC 3339; `..` for an open end).",
        {"type": "string"},
    ),
    _query(
        "filter", "A CQL2 filter (see /collections/{collectionId}/queryables).", {"type": "string"}
    ),
    _query(
        "filter-lang",
        "The language of filter.",
        {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"},
    ),
    _query("filter-crs", "The CRS of the filter's geometries: CRS84 only.", {"type": "string"}),
]


def _cache(request: Request) -> FeatureCache:
    """Return this process's cache of encoded features (made on first use)."""
    state = request.app.state
    cache: FeatureCache | None = getattr(state, "feature_cache", None)
    if cache is None:
        mb = state.settings.feature_cache_mb
        cache = state.feature_cache = FeatureCache(int(mb * 1024 * 1024))
    return cache


@router.get(
    "/collections/{collectionId}/items",
    summary="The features of a collection",
    openapi_extra={"parameters": _ITEMS_PARAMETERS},
    response_class=Response,
)
async def items(request: Request, collection_id: CollectionId) -> Response:
    """Return one page of the features of a collection as a GeoJSON FeatureCollection.

    Run on the event loop, not the thread pool: a page is a few milliseconds of work for
    the processor, which threads would only share (and pass between them) to no gain.
    """
    reg = access.registry(request)
    return _items(request, collection_id, reg, await access.current_user(request, reg))


def _items(request: Request, collection_id: str, reg: Registry, user: User | None) -> Response:
    with bad_parameters():
        ctx = context(request, reg, user, None)
        c = collection_of(ctx, collection_id)
        q = fp.parse_items(
            request.query_params,
            c.kind,
            page_limit=ctx.settings.page_limit,
            max_limit=ctx.settings.max_limit,
            queryables=meta.PUBLIC_QUERYABLES if ctx.public else None,
        )
        if ctx.public:
            feats, matched = _public_page(ctx, q)
        else:
            feats, matched = _page(ctx, c, q)
    url = f"{ctx.base}/collections/{c.id}/items"
    if ctx.html:
        return _items_html(ctx, c, q, feats, matched, url)
    links = [
        meta.link(_href(url, q.query_string()), "self", meta.GEOJSON, "This page"),
        meta.link(
            _href(url, q.query_string(f="html")), "alternate", meta.HTML, "This page as HTML"
        ),
    ]
    if q.offset + len(feats) < matched:
        nxt = q.query_string(offset=q.offset + q.limit)
        links.append(meta.link(_href(url, nxt), "next", meta.GEOJSON, "The next page"))
    if q.offset > 0:
        prev = q.query_string(offset=max(0, q.offset - q.limit) or None)
        links.append(meta.link(_href(url, prev), "prev", meta.GEOJSON, "The previous page"))
    links.append(
        meta.link(f"{ctx.base}/collections/{c.id}", "collection", meta.JSON, "The collection")
    )
    # No timeStamp: the body depends on the data only, so that the same page is the same bytes.
    tail = {"numberMatched": matched, "numberReturned": len(feats), "links": links}
    body = b"".join((_HEAD, b",".join(feats), b"],", orjson.dumps(tail)[1:]))
    return Response(body, media_type=meta.GEOJSON, headers=_CONTENT_CRS)


def _href(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


def _page(ctx: Context, c: meta.Collection, q: fp.ItemsQuery) -> tuple[list[bytes], int]:
    """Return the encoded features of one page and how many features match in all."""
    reg, kind = ctx.reg, c.kind
    cols, matched = reg.record_page(
        c.id,
        columns=_KEYS,
        bbox=q.bbox,
        filter=q.filter,
        limit=q.limit,
        offset=q.offset,
    )
    refs, versions = cols["ref"], cols["version"]
    cache = _cache(ctx.request)
    found, missing = cache.lookup(c.id, refs, versions)
    if missing:
        wanted = [refs[i] for i in missing]
        rows = reg.record_columns(c.id, columns=feature_columns(kind), where={"ref": wanted})
        encoded = encode_features(kind, rows)
        cache.store(c.id, rows["ref"], rows["version"], encoded)
        by_ref = dict(zip(rows["ref"], encoded, strict=True))
        for i in missing:
            found[i] = by_ref.get(refs[i])
    feats = [f for f in found if f is not None]
    return feats, matched


def _public_page(ctx: Context, q: fp.ItemsQuery) -> tuple[list[bytes], int]:
    """Return one page of the public view (generalised hazard areas) and how many match."""
    if "datetime" in ctx.request.query_params:
        raise fp.bad("datetime", "the public view has no dates; sign in to filter by date")
    refused = sorted(q.names - set(meta.PUBLIC_QUERYABLES))
    if refused:
        raise fp.bad(
            "filter",
            f"the public view may be filtered by {' and '.join(meta.PUBLIC_QUERYABLES)} only, "
            f"not {', '.join(refused)}",
        )
    cols, matched = ctx.reg.public_hazard_columns(
        bbox=q.bbox,
        limit=q.limit,
        offset=q.offset,
        grid_m=ctx.settings.public_grid_m,
        filter=q.filter,
    )
    return _public_features(cols), int(matched)


def _public_features(cols: dict[str, Any]) -> list[bytes]:
    """Return the encoded features of public-view columns."""
    n = len(cols["ref"])
    if not n:
        return []
    geoms = shapely.to_geojson(np.asarray(cols["geometry"], dtype=object)).tolist()
    out = []
    for i in range(n):
        props = {name: _public_value(name, cols[name][i]) for name in _PUBLIC_PROPERTIES}
        geom = b"null" if geoms[i] is None else geoms[i].encode()
        out.append(
            b'{"type":"Feature","id":'
            + orjson.dumps(props["ref"])
            + b',"geometry":'
            + geom
            + b',"properties":'
            + orjson.dumps(props)
            + b"}"
        )
    return out


def _public_value(name: str, value: Any) -> Any:
    if name == "contamination":
        if isinstance(value, str):
            return [p for p in value.split(";") if p]
        return list(value) if value is not None else []
    return value


def _items_html(
    ctx: Context,
    c: meta.Collection,
    q: fp.ItemsQuery,
    feats: list[bytes],
    matched: int,
    url: str,
) -> Response:
    features = orjson.loads(b"[" + b",".join(feats) + b"]")
    columns = list(features[0]["properties"]) if features else []
    nxt = q.query_string(f="html", offset=q.offset + q.limit)
    prev = q.query_string(f="html", offset=max(0, q.offset - q.limit) or None)
    return page(
        "items.html",
        title=f"{c.title}{' (public view)' if ctx.public else ''}",
        base=ctx.base,
        crumbs=[*crumbs(c), ("Features", f"/collections/{c.id}/items?f=html")],
        json_href=_href(url, q.query_string(f="json")),
        user=ctx.user_name,
        collection=c.id,
        features=features,
        columns=[n for n in columns if n != "ref"],
        matched=matched,
        offset=q.offset,
        next_href=_href(url, nxt) if q.offset + len(feats) < matched else None,
        prev_href=_href(url, prev) if q.offset > 0 else None,
    )


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature",
    openapi_extra={"parameters": [F_PARAMETER]},
    response_class=Response,
)
def item(
    request: Request,
    collection_id: CollectionId,
    feature_id: FeatureId,
    reg: Reg,
    user: UserOrPublic,
) -> Response:
    """Return one feature (its id is the record's ref) as GeoJSON, with its version as ETag."""
    with bad_parameters():
        ctx = context(request, reg, user, METADATA_PARAMETERS)
    c = collection_of(ctx, collection_id)
    etag = None
    if ctx.public:
        rec = reg.public_hazard(feature_id, grid_m=ctx.settings.public_grid_m)
        cols = {k: [rec.get(k)] for k in (*_PUBLIC_PROPERTIES, "geometry")}
        cols["geometry"] = [_shape(rec.get("geometry"))]
        (encoded,) = _public_features(cols)
    else:
        stored = reg.stored_record(c.id, feature_id)
        cols = {k: [stored.get(k)] for k in feature_columns(c.kind)}
        cols["geometry"] = [stored.get("geometry")]
        (encoded,) = encode_features(c.kind, cols)
        etag = f'"{stored["version"]}"'
    url = f"{ctx.base}/collections/{c.id}/items/{feature_id}"
    feature = orjson.loads(encoded)
    if ctx.html:
        geom = feature.get("geometry")
        vertices = (
            shapely.get_num_coordinates(shapely.from_geojson(orjson.dumps(geom))) if geom else 0
        )
        return page(
            "item.html",
            title=f"{feature_id}",
            base=ctx.base,
            crumbs=[
                *crumbs(c),
                ("Features", f"/collections/{c.id}/items?f=html"),
                (feature_id, f"/collections/{c.id}/items/{feature_id}?f=html"),
            ],
            json_href=f"{url}?f=json",
            user=ctx.user_name,
            collection=c.id,
            feature=feature,
            vertices=int(vertices),
        )
    links = [
        meta.link(url, "self", meta.GEOJSON, "This feature"),
        meta.link(f"{url}?f=html", "alternate", meta.HTML, "This feature as HTML"),
        meta.link(f"{ctx.base}/collections/{c.id}", "collection", meta.JSON, "The collection"),
    ]
    body = encoded[:-1] + b',"links":' + orjson.dumps(links) + b"}"
    headers = {**_CONTENT_CRS, "ETag": etag} if etag else _CONTENT_CRS
    return Response(body, media_type=meta.GEOJSON, headers=headers)


def _shape(geometry: Any) -> Any:
    """Return a geometry given as shapely or as a GeoJSON mapping, as shapely."""
    if geometry is None or isinstance(geometry, shapely.Geometry):
        return geometry
    return shapely.geometry.shape(geometry)


__all__ = ["router"]
