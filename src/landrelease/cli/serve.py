"""`landrelease serve`: run the HTTP service over a registry until Ctrl-C."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from landrelease.cli.common import DbOption, resolve_db


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=64)] = 1,
) -> None:
    """Serve the registry: records API, OGC API Features (for QGIS and GDAL) and the map."""
    import uvicorn

    from landrelease.registry import Registry
    from landrelease.service.app import create_app
    from landrelease.service.settings import Settings

    path = resolve_db(db)
    Registry.open(path).close()  # a bad path or registry is exit 2 here, before listening
    # Worker processes build their settings from the environment: pass the flags there.
    os.environ.update(
        LANDRELEASE_DB=path,
        LANDRELEASE_HOST=host,
        LANDRELEASE_PORT=str(port),
        LANDRELEASE_WORKERS=str(workers),
    )
    settings = Settings()
    shown = host if ":" not in host else f"[{host}]"
    typer.echo(f"landrelease: serving {path} at http://{shown}:{port}/ (Ctrl-C stops)")
    config = dict(
        host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=5
    )
    if workers == 1:
        uvicorn.run(create_app(settings), **config)  # type: ignore[arg-type]
    else:
        uvicorn.run("landrelease.service.app:app_from_env", factory=True, workers=workers, **config)  # type: ignore[arg-type]
