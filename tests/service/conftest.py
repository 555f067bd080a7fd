"""Fixtures of the service tests: the demo registry (synthetic) served in-process.

`demo_db` is built once per session and only read; a test that writes asks for `demo_copy`
(its own copy). `client_for(path)` gives an httpx client on the real app over that registry,
`users` adds one user of each role and gives their tokens.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import backends
from landrelease.demo import build_demo
from landrelease.registry import Registry
from landrelease.service.app import create_app
from landrelease.service.settings import Settings
from processes import EXE, free_port, wait_for_server

ROLES = ("viewer", "editor", "validator", "admin")


@pytest.fixture(scope="session")
def demo_db(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Path | str:
    """A synthetic demo registry with one user of each role (tokens in `demo_tokens`): a
    file, or a database URL on PostGIS."""
    path: Path | str
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("demo") / "synthetic-demo.gpkg"
    else:
        path = backends.new_database("demo")
    build_demo(path, seed=20240501)
    return path


@pytest.fixture(scope="session")
def demo_tokens(demo_db: Path | str) -> dict[str, str]:
    """The bearer token of one user of each role of the demo registry, by role."""
    with Registry.open(demo_db) as reg:
        return {role: reg.add_user(role, role, actor="tests") for role in ROLES}


@pytest.fixture
def demo_copy(demo_db: Path | str, demo_tokens: dict[str, str], tmp_path: Path) -> Path | str:
    """A copy of the demo registry (with its users) that a test may change."""
    return backends.copy_registry(demo_db, tmp_path / "synthetic-demo.gpkg")


ClientFor = Callable[..., TestClient]


@pytest.fixture
def client_for() -> Iterator[ClientFor]:
    """Return client_for(path, token=None, **settings): a client of the real app on `path`."""
    opened: list[TestClient] = []

    def make(path: Path | str, token: str | None = None, **settings: object) -> TestClient:
        app = create_app(Settings(db=str(path), log_requests=False, **settings))  # type: ignore[arg-type]
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()  # runs the lifespan: the registry opens
        if token:
            client.headers["Authorization"] = f"Bearer {token}"
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@contextlib.contextmanager
def serving_copy(
    demo_db: Path | str, folder: Path, *, log_requests: bool
) -> Iterator[tuple[str, Path | str, Path]]:
    """Serve a copy of the demo registry with `landrelease serve` in a process of its own on
    a free port; yield its URL, the copy's location (path or database URL) and the server's
    log (stderr); stop it after."""
    path = backends.copy_registry(demo_db, folder / "demo.gpkg")
    port = free_port()
    log = folder / "server.log"
    env = {**os.environ, "LANDRELEASE_LOG_REQUESTS": "true" if log_requests else "false"}
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [EXE, "serve", "--db", str(path), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(proc, url, log, 60)
        yield url, path, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
