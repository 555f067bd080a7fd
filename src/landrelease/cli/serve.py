"""`landrelease serve`: run the HTTP service over a registry until Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
from typing import Annotated, Any

import typer

from landrelease.cli.common import DbOption, err_console, resolve_db

UVICORN: dict[str, Any] = dict(log_level="warning", access_log=False, timeout_graceful_shutdown=5)


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=64)] = 1,
) -> None:
    """Serve the registry: records API, OGC API Features (for QGIS and GDAL) and the map."""
    from landrelease.registry import Registry

    path = resolve_db(db)
    Registry.open(path).close()  # a bad path or registry is exit 2 here, before listening
    if port == 0:
        port = _free_port(host)
    # Worker processes build their settings from the environment: pass the flags there.
    os.environ.update(
        LANDRELEASE_DB=path,
        LANDRELEASE_HOST=host,
        LANDRELEASE_PORT=str(port),
        LANDRELEASE_WORKERS=str(workers),
    )
    shown = host if ":" not in host else f"[{host}]"
    typer.echo(f"landrelease: serving {path} at http://{shown}:{port}/ (Ctrl-C stops)")
    if workers == 1:
        import uvicorn

        from landrelease.service.app import create_app

        uvicorn.run(create_app(), host=host, port=port, **UVICORN)
        return
    code = _run_workers(host, port, workers)
    if code:
        raise typer.Exit(code)


def _run_workers(host: str, port: int, workers: int) -> int:
    """Run `workers` processes, each with its own listening socket on the same port
    (SO_REUSEPORT), so that the kernel spreads connections evenly between them; a shared
    socket lets whichever worker wakes first take a burst of connections, and keep them.
    Ctrl-C (or SIGTERM) stops them all; return 0, or 1 if a worker died on its own."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(host, port), daemon=False) for _ in range(workers)]
    for p in procs:
        p.start()
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.is_alive() and p.pid:
                os.kill(p.pid, signal.SIGINT)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while any(p.is_alive() for p in procs):
        for p in procs:
            p.join(timeout=0.2)
            if not p.is_alive() and not stopping:
                err_console.print(f"a worker stopped (exit {p.exitcode}); stopping the others")
                code = 1
                stop(signal.SIGTERM, None)
    return code


def _worker(host: str, port: int) -> None:
    """Serve on a socket of this process's own, bound with SO_REUSEPORT."""
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    config = uvicorn.Config("landrelease.service.app:app_from_env", factory=True, **UVICORN)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # a Ctrl-C that lands before uvicorn set its own handler
        pass


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
