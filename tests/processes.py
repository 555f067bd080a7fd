"""Registries and servers in processes of their own, for the tests of many writers at once
(test_concurrency.py) and of crashes (test_crash.py): a synthetic registry per backend, copied
for each test; `landrelease serve` in a process group of its own; its SIGKILL."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import backends
from fixtures import hazard
from landrelease.registry import Registry

EXE = str(Path(sys.executable).with_name("landrelease"))
ACTOR = "tester"
EDITOR = "field-editor"  # the registry's editor, for HTTP clients
START_TIMEOUT_S = 120.0  # for a server to answer


@dataclasses.dataclass(frozen=True)
class Synthetic:
    """A registry of synthetic hazard areas for one test: where it is, the refs of its areas
    at version 1 (`fresh`, in the order of `hazard(i)`) and of areas with earlier versions
    (`changed`), and the token of its editor (EDITOR)."""

    url: str
    fresh: list[str]
    changed: list[str]
    token: str


_made: dict[tuple[str, int], Synthetic] = {}


def synthetic_registry(
    backend: str, tmp_path_factory: pytest.TempPathFactory, folder: Path, fresh: int
) -> Synthetic:
    """Return a registry of `backend` this test may change: a copy (in `folder`, or a new
    database) of one made once per backend and size, with `fresh` areas, two changed ones
    and an editor."""
    if (backend, fresh) not in _made:
        url = backends.new_registry_url(tmp_path_factory.mktemp("synthetic"), backend)
        count = fresh + 2
        with Registry.open(url, create=True) as reg:
            refs = reg.add_records(
                "hazards",
                [hazard(i, name=f"synthetic area {i}") for i in range(count)],
                actor=ACTOR,
            )
            by_name = {reg.hazard(r).name: r for r in refs}  # refs come in storage order
            refs = [by_name[f"synthetic area {i}"] for i in range(count)]
            for n in range(3):
                reg.update_record("hazards", refs[fresh], {"notes": f"visit {n}"}, actor=ACTOR)
            reg.set_status(refs[fresh + 1], "confirmed", actor=ACTOR, reason="AP mine seen")
            token = reg.add_user(EDITOR, "editor", actor=ACTOR)
        _made[backend, fresh] = Synthetic(url, refs[:fresh], refs[fresh:], token)
    made = _made[backend, fresh]
    copy = backends.copy_registry(made.url, folder / "registry.gpkg")
    return dataclasses.replace(made, url=str(copy))


def clean_env(**extra: str) -> dict[str, str]:
    """Return this process's environment without LANDRELEASE_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANDRELEASE_")}
    env.update(LANDRELEASE_ACTOR=ACTOR, LANDRELEASE_LOG_REQUESTS="false", **extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_server(proc: subprocess.Popen[bytes], base: str, log: Path, timeout_s: float) -> None:
    """Return once the server `proc` answers at `base`; fail with its log (`log`, its stderr)
    if it exits first or `timeout_s` passes."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(base + "/conformance", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"the server did not start:\n{log.read_text()}"
        time.sleep(0.2)


@contextlib.contextmanager
def serving(
    url: str, log: Path, *, workers: int = 2
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run `landrelease serve --db url` in a process group of its own until the block ends;
    yield its base URL and process. The block may SIGKILL the group (`kill_group`)."""

    port = free_port()
    with open(log, "ab") as err:
        proc = subprocess.Popen(
            [EXE, "serve", "--db", url, "--port", str(port), "--workers", str(workers)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=clean_env(),
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        # one answer per worker would need more; a worker that is not up yet only delays a
        # client's first connection, it does not refuse it (SO_REUSEPORT)
        wait_for_server(proc, base, log, START_TIMEOUT_S)
        yield base, proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                kill_group(proc)
        else:
            kill_group(proc)  # its workers, if the parent alone died


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a server's whole process group (the parent and its workers) and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
