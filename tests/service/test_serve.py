"""`landrelease serve` as a user runs it: a real process, its URL, its request log, Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import NewRegistry


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "landrelease",
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_up(url: str, proc: subprocess.Popen[str], seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {proc.stderr.read()}")  # type: ignore[union-attr]
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("server did not start")


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_prints_its_url_logs_requests_and_stops_on_ctrl_c(
    demo_copy: Path, demo_tokens: dict[str, str], workers: int
) -> None:
    port = _free_port()
    proc = _serve(demo_copy, port, "--workers", str(workers))
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_up(url + "openapi.json", proc)
        r = httpx.get(
            url + "api/hazards?limit=1",
            headers={"Authorization": f"Bearer {demo_tokens['viewer']}"},
        )
        assert r.status_code == 200, r.text
        assert httpx.get(url + "api/hazards").status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert url in out
    lines = err.splitlines()
    # one line per request: method, path, status, milliseconds, actor
    assert any(
        ln.startswith("GET /api/hazards?limit=1 200 ") and ln.endswith(" ms viewer") for ln in lines
    ), err
    assert any(ln.startswith("GET /api/hazards 401 ") and ln.endswith(" ms -") for ln in lines), err
    assert "Traceback" not in err


def test_serve_refuses_a_bad_registry_before_listening(tmp_path: Path) -> None:
    proc = _serve(tmp_path / "missing" / "x.gpkg", _free_port())
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_demo_serve_prints_a_working_editor_token(new_registry: NewRegistry) -> None:
    path = new_registry("demo")
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "landrelease",
            "demo",
            "--db",
            str(path),
            "--serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
    )
    url = f"http://127.0.0.1:{port}/"
    _wait_up(url + "openapi.json", proc, 300.0)  # the demo is built first: slow on a busy machine
    try:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        lines = out.splitlines()
        at = next(i for i, ln in enumerate(lines) if "as demo-editor with the token" in ln)
        token = lines[at + 1].strip()
        assert url in out
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    # the token works on the registry the demo built: it is an editor's
    from landrelease.registry import Registry

    with Registry.open(path) as reg:
        me = reg.user_for_token(token)
    assert me is not None and me.name == "demo-editor" and me.role.label == "editor"
