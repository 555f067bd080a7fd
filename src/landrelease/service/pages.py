"""The web map for browsers (GET / when a browser asks, /map), the public warning map
(/public), the demo's settlement labels, and the static files of both (/static).

GET / is shared with the OGC API landing page (features.py): a browser whose Accept prefers
text/html and that names no `f` gets the map; `?f=html` keeps the OGC HTML landing page and
QGIS, GDAL or any JSON client keep the landing JSON.

Everything the pages load is served from here (MapLibre GL JS and the Natural Earth country
outlines are vendored under static/vendor/): no CDN is needed at run time.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response

from landrelease.domain.roles import User
from landrelease.service import access
from landrelease.service.features_html import render
from landrelease.service.features_params import output_format

STATIC = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)


def wants_map(request: Request) -> bool:
    """Return whether GET / should give the web map: a browser, and no `f` parameter."""
    if "f" in request.query_params:
        return False
    return output_format(request.query_params, request.headers.get("accept")) == "html"


def map_page(user: User | None) -> HTMLResponse:
    """Return the web map page, marked signed in for a user.

    The mark spares the page asking /api/me as the public, whose 401 a browser would log as
    an error.
    """
    return HTMLResponse(_map_html(False, user is not None), headers={"Cache-Control": "no-store"})


@functools.cache
def _map_html(public: bool, signed_in: bool) -> str:
    """Return the page of the web map (or of the public warning map): one template for both,
    which differ by their heading, links and the warning of what to do on a find."""
    return render("map.html", public=public, signed_in=signed_in)


@router.get("/map")
def web_map(user: Annotated[User | None, Depends(access.current_user)]) -> HTMLResponse:
    """The web map: hazard areas over Ukraine, filters, the areas in view, their details."""
    return map_page(user)


@router.get("/public")
def public_map() -> HTMLResponse:
    """The public warning map: generalised hazard areas only, and what to do on a find."""
    return HTMLResponse(_map_html(True, False))


@router.get("/favicon.ico")
def favicon() -> Response:
    """Answer a browser's automatic icon request with nothing (204), not a 404 in its console."""
    return Response(status_code=204)


@router.get("/settlements.geojson")
def settlement_labels() -> Response:
    """Ukraine's settlements of the demo (GeoNames, real places) as GeoJSON points."""
    return Response(
        _settlements_geojson(),
        media_type="application/geo+json",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@functools.cache
def _settlements_geojson() -> bytes:
    """Return the settlements as GeoJSON bytes (made once per process: they never change)."""
    from landrelease.demo import settlements

    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [round(float(c["longitude"]), 4), round(float(c["latitude"]), 4)],
            },
            "properties": {"name": c["name"], "population": int(c["population"])},
        }
        for c in settlements()
    ]
    return orjson.dumps({"type": "FeatureCollection", "features": features})


def install(app: FastAPI) -> None:
    """Add the pages' routes to `app` and serve static/ (scripts, styles, MapLibre) at /static."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
