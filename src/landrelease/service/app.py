"""The app factory: one FastAPI app over one registry, its routers, errors and request log."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from landrelease import __version__
from landrelease.registry import Registry
from landrelease.service import problems
from landrelease.service.settings import Settings

log = logging.getLogger("landrelease.requests")


def create_app(settings: Settings | None = None, *, registry: Registry | None = None) -> FastAPI:
    """Return the service app for `settings` (default: from LANDRELEASE_* env).

    The registry is opened when the app starts (once per worker process) unless one is given,
    and closed when it stops.
    """
    from landrelease.service import api, auth, features, pages, status

    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = registry is None
        app.state.registry = Registry.open(settings.db) if own else registry
        try:
            yield
        finally:
            if own:
                app.state.registry.close()

    app = FastAPI(
        title="landrelease",
        version=__version__,
        description="Registry of explosive-ordnance hazards and land release: records API "
        "and OGC API Features.",
        openapi_url="/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    if registry is not None:  # usable before (or without) the lifespan, as in tests
        app.state.registry = registry
    problems.install(app)
    app.include_router(features.router)  # first: its items pages are the busiest route
    app.include_router(auth.router)
    app.include_router(api.router)
    app.include_router(status.router)
    from landrelease.service import api_priority  # the saved rankings of prioritisation

    app.include_router(api_priority.router)
    from landrelease.service import review  # the review queue of field submissions, /review

    app.include_router(review.router)
    from landrelease.service import tiles  # vector tiles: the web map's layers

    app.include_router(tiles.router)
    pages.install(app)  # the web map, the public map and /static
    if settings.log_requests:
        _log_to_stderr()
        app.add_middleware(RequestLog)
    return app


def _log_to_stderr() -> None:
    """Send the request log to stderr, in this process (each worker runs the factory)."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def app_from_env() -> FastAPI:
    """Return the app configured from LANDRELEASE_* env: uvicorn's factory for each worker."""
    return create_app()


class RequestLog:
    """Log one line per request: method, path, status, milliseconds, actor."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            ms = (time.perf_counter() - start) * 1000
            actor = scope.get("state", {}).get("actor", "-")
            path = scope["path"] + (
                f"?{scope['query_string'].decode()}" if scope.get("query_string") else ""
            )
            log.info("%s %s %d %.1f ms %s", scope["method"], path, status[0], ms, actor)
