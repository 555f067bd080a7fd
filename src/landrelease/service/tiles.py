"""Vector tiles of the registry: /tiles/{collection}/{z}/{x}/{y}.mvt and their TileJSON.

A signed-in user (any role: reading) gets the records of each collection; the public gets
hazard areas only, in the public view (generalised outlines), and 401 for the others.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from landrelease import tiles
from landrelease.domain.errors import ValidationError
from landrelease.domain.roles import Permission, User
from landrelease.registry import Registry
from landrelease.service import access
from landrelease.service.problems import Problem

router = APIRouter(tags=["Vector tiles"])

MVT = "application/vnd.mapbox-vector-tile"
# what a signed-in user and the public get at one URL differs: caches key on the credentials
NOT_SHARED = {"Cache-Control": "no-cache", "Vary": "Cookie, Authorization"}

Reg = Annotated[Registry, Depends(access.registry)]
UserOrPublic = Annotated[User | None, Depends(access.current_user)]


async def _check_access(request: Request, collection: str, user: User | None) -> None:
    """Refuse (401) the public a collection other than hazards; 404 for no collection."""
    tiles.layer_of(collection)
    if user is None and collection != "hazards":
        await access.require(Permission.READ)(user)


@router.get(
    "/tiles/{collection}/{z}/{x}/{y}.mvt",
    summary="A vector tile of a collection",
    response_class=Response,
    responses={200: {"content": {MVT: {}}, "description": "Mapbox Vector Tile 2.1"}},
)
async def tile(
    request: Request, collection: str, z: str, x: str, y: str, reg: Reg, user: UserOrPublic
) -> Response:
    """Return tile z/x/y (Web Mercator) of a collection: one layer named after it."""
    await _check_access(request, collection, user)
    try:  # a tile that cannot exist is a bad request (400); one beyond the grid 404
        tiles.check_tile(z, x, y)
    except ValidationError as e:
        raise Problem(400, "bad tile", str(e), field=e.field) from None
    grid_m = request.app.state.settings.public_grid_m
    body = await run_in_threadpool(
        tiles.tile, reg, collection, z, x, y, public=user is None, grid_m=grid_m
    )
    # a tile may change with any edit: a client asks again, the server answers from memory;
    # the same URL gives the public view without a sign-in, so no cache may mix the two
    return Response(body, media_type=MVT, headers=NOT_SHARED)


@router.get("/tiles/{collection}.json", summary="The TileJSON of a collection's tiles")
async def tilejson(request: Request, collection: str, reg: Reg, user: UserOrPublic) -> JSONResponse:
    """Return the TileJSON 3.0.0 of a collection: tile URL, zooms, bounds, fields."""
    await _check_access(request, collection, user)
    base = str(request.base_url).rstrip("/")
    doc = await run_in_threadpool(tiles.tilejson, reg, collection, base, public=user is None)
    return JSONResponse(doc, headers=NOT_SHARED)
