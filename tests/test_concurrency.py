"""Many writers at once, on every backend: no update is lost, none is half made, none hangs.

Twenty writer processes change the same few hazard areas and areas of their own for a few
seconds, each change naming the version it read; two reader processes read all the while.
Once through the `Registry` (a writer per process), once through `landrelease serve` with two
workers and HTTP clients (If-Match). Every attempt is logged, then the log is held against the
registry: each accepted change is in the record's history at the version it was given, each
refused one was refused as a stale version and left no trace, versions run 1..n without a gap
or a duplicate, and the current row is the last version. The areas are synthetic
(`fixtures.hazard`). Bounds are timeouts only: a run that hangs fails, a slow one passes.

The registry and the server come from tests/processes.py, as test_crash.py's do.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from landrelease.registry import Registry
from processes import EDITOR, Synthetic, serving
from processes import synthetic_registry as _synthetic_registry

WRITERS = 20
READERS = 2
HOT = 3  # areas every writer changes; each writer also has one area of its own
RUN_S = 3.0  # how long the writers write
START_TIMEOUT_S = 120.0  # for every process to have started (spawned, imported)
END_TIMEOUT_S = 120.0  # for every process to have finished after its run
ACCEPTED, CONFLICT, BUSY = "accepted", "conflict", "busy"
# What the writer and reader processes use, imported once for them all (see `_run_all`)
PRELOADED = ["landrelease.registry", "landrelease.checking", "httpx", "pytest"]


FRESH = HOT + WRITERS  # the areas of a test's registry (processes.synthetic_registry)


def synthetic_registry(
    backend: str, tmp_path_factory: pytest.TempPathFactory, folder: Path
) -> Synthetic:
    """Return this module's registry: FRESH areas, two changed ones and an editor."""
    return _synthetic_registry(backend, tmp_path_factory, folder, FRESH)


# -- the processes -------------------------------------------------------------------------


def _outcome_of(exc: Exception) -> str:
    """Return how a refused change is logged: the domain error it came as, or the failure."""
    from landrelease.domain.errors import ConflictError, LandreleaseError, RegistryBusy

    if isinstance(exc, ConflictError):
        return CONFLICT
    if isinstance(exc, RegistryBusy):
        return BUSY
    kind = "domain error" if isinstance(exc, LandreleaseError) else "non-domain error"
    return f"{kind} {type(exc).__name__}: {exc}"


def _write_through_registry(start: Any, out: str, url: str, wid: int, refs: list[str]) -> None:
    """Change the `notes` of `refs` (hot ones and this writer's own) until time is up, each
    change at the version just read; log every attempt to `out` (JSON)."""
    log: list[dict[str, Any]] = []
    rng = random.Random(wid)
    with Registry.open(url) as reg:
        start.wait()
        end = time.monotonic() + RUN_S
        n = 0
        while time.monotonic() < end:
            ref = rng.choice(refs)
            value = f"writer {wid} change {n}"
            n += 1
            entry: dict[str, Any] = {"ref": ref, "value": value, "actor": f"writer-{wid}"}
            try:
                read = int(reg.stored_record("hazards", ref)["version"])
                entry["read"] = read
                done = reg.update_record(
                    "hazards",
                    ref,
                    {"notes": value},
                    actor=entry["actor"],
                    expected_version=read,
                )
                entry.update(outcome=ACCEPTED, version=int(done.version), notes=done.notes)
            except Exception as exc:  # every failure is logged, and judged by the test
                entry["outcome"] = _outcome_of(exc)
            log.append(entry)
    Path(out).write_text(json.dumps(log))


def _read_through_registry(start: Any, out: str, url: str, refs: list[str]) -> None:
    """Read records, listings and histories until time is up; log each failure to `out`."""
    reads, failures = 0, []
    rng = random.Random(-1)
    with Registry.open(url) as reg:
        start.wait()
        end = time.monotonic() + RUN_S
        while time.monotonic() < end:
            ref = rng.choice(refs)
            try:
                reg.stored_record("hazards", ref)
                versions = [v["version"] for v in reg.history(ref)]
                if versions != list(range(1, len(versions) + 1)):
                    failures.append(f"{ref}: history read as versions {versions}")
                listed = reg.record_columns("hazards", columns=["ref", "version"])
                if len(listed["ref"]) != len(refs):
                    failures.append(f"listed {len(listed['ref'])} areas, not {len(refs)}")
                reads += 1
            except Exception as exc:  # a reader must never fail
                failures.append(f"{type(exc).__name__}: {exc}")
    Path(out).write_text(json.dumps({"reads": reads, "failures": failures}))


def _sign_in(client: Any) -> None:
    """Make one request with the client's token before the run: the server verifies a token
    (argon2, slow on purpose) once per worker, not inside the timed run."""
    assert client.get("/api/summary").status_code == 200


def _write_through_api(
    start: Any, out: str, base: str, token: str, wid: int, refs: list[str]
) -> None:
    """As `_write_through_registry`, by HTTP: GET for the ETag, PATCH with If-Match."""
    import httpx

    log: list[dict[str, Any]] = []
    rng = random.Random(wid)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        _sign_in(client)
        start.wait()
        end = time.monotonic() + RUN_S
        n = 0
        while time.monotonic() < end:
            ref = rng.choice(refs)
            value = f"client {wid} change {n}"
            n += 1
            entry: dict[str, Any] = {"ref": ref, "value": value, "actor": EDITOR}
            got = client.get(f"/api/hazards/{ref}")
            if got.status_code != 200:
                entry["outcome"] = f"GET {got.status_code}: {got.text[:300]}"
                log.append(entry)
                continue
            read = int(got.headers["ETag"].strip('"'))
            entry["read"] = read
            r = client.patch(
                f"/api/hazards/{ref}",
                json={"changes": {"notes": value}},
                headers={"If-Match": f'"{read}"'},
            )
            if r.status_code == 200:
                body = r.json()
                entry.update(
                    outcome=ACCEPTED,
                    version=read + 1,
                    etag=r.headers.get("ETag"),
                    notes=body["notes"],
                )
            elif r.status_code == 412:
                entry["outcome"] = CONFLICT
            elif r.status_code == 503 and r.json().get("title") == "the registry is busy":
                entry["outcome"] = BUSY
            else:
                entry["outcome"] = f"PATCH {r.status_code}: {r.text[:300]}"
            log.append(entry)
    Path(out).write_text(json.dumps(log))


def _read_through_api(start: Any, out: str, base: str, token: str, refs: list[str]) -> None:
    """As `_read_through_registry`, by HTTP: a record, its history and a listing."""
    import httpx

    reads, failures = 0, []
    rng = random.Random(-1)
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        _sign_in(client)
        start.wait()
        end = time.monotonic() + RUN_S
        while time.monotonic() < end:
            ref = rng.choice(refs)
            for path in (f"/api/hazards/{ref}", f"/api/hazards/{ref}/history", "/api/hazards"):
                r = client.get(path, params={"limit": 100} if path == "/api/hazards" else None)
                if r.status_code != 200:
                    failures.append(f"GET {path}: {r.status_code} {r.text[:300]}")
                elif path.endswith("/history"):
                    versions = [v["version"] for v in r.json()["versions"]]
                    if versions != list(range(1, len(versions) + 1)):
                        failures.append(f"{ref}: history read as versions {versions}")
            reads += 1
    Path(out).write_text(json.dumps({"reads": reads, "failures": failures}))


def _run_all(jobs: list[tuple[Any, tuple[Any, ...]]], folder: Path) -> list[Any]:
    """Run each job, target(start, out, *args), in a process of its own; release them
    together once all have started; wait for every one within the timeouts; return what each
    wrote to its file `out`.

    The processes are forked from a fresh interpreter that has imported landrelease once (the
    forkserver), not from the test's own process with its open registries and threads: each
    starts clean, without importing numpy, pandas and the rest of landrelease again.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOADED)
    start = ctx.Barrier(len(jobs) + 1)
    outs = [folder / f"process-{i}.json" for i in range(len(jobs))]
    procs = [
        ctx.Process(target=target, args=(start, str(out), *args), daemon=True)
        for (target, args), out in zip(jobs, outs, strict=True)
    ]
    for p in procs:
        p.start()
    started = True
    try:
        start.wait(timeout=START_TIMEOUT_S)
    except threading.BrokenBarrierError:
        started = False  # a process died first, or they took too long: each then stops
    deadline = time.monotonic() + RUN_S + END_TIMEOUT_S
    for p in procs:
        p.join(timeout=max(0.1, deadline - time.monotonic()))
    hung = [p.pid for p in procs if p.is_alive()]
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join(timeout=10)
    codes = [p.exitcode for p in procs]
    assert started, f"not every process started (exit codes {codes})"
    assert not hung, f"processes {hung} hung (still running {END_TIMEOUT_S:.0f} s after their run)"
    assert all(code == 0 for code in codes), f"exit codes {codes}"
    return [json.loads(out.read_text()) for out in outs]


# -- what must hold ------------------------------------------------------------------------


def _check_against_registry(
    url: str, refs: list[str], attempts: list[dict[str, Any]], log: Path | None = None
) -> None:
    """Hold the writers' log against the registry: see the module's docstring. A failure
    shows the end of the server's `log`, if there is one."""
    outcomes = Counter(a["outcome"] for a in attempts)
    failures = {o: n for o, n in outcomes.items() if o not in (ACCEPTED, CONFLICT, BUSY)}
    assert not failures, (
        f"changes failed other than as a stale version or a busy registry: {failures}"
        + (f"\nthe server's log ends:\n{log.read_text()[-4000:]}" if log else "")
    )
    assert outcomes[ACCEPTED] > 0 and outcomes[CONFLICT] > 0, outcomes
    with Registry.open(url) as reg:
        current = {r: reg.stored_record("hazards", r) for r in refs}
        with reg.store.unit_of_work() as uow:
            versions = {r: uow.history.versions(r) for r in refs}
    for ref in refs:
        mine = [a for a in attempts if a["ref"] == ref]
        accepted = [a for a in mine if a["outcome"] == ACCEPTED]
        numbers = [v["version"] for v in versions[ref]]
        assert numbers == list(range(1, len(numbers) + 1)), f"{ref}: versions {numbers}"
        last = versions[ref][-1]
        assert current[ref]["version"] == numbers[-1], ref
        assert current[ref]["notes"] == last["state"]["notes"], ref
        # every version after the first is exactly one accepted change, at the version the
        # change read plus one, with its value: none lost, none made twice, none from nowhere
        by_version = {a["version"]: a for a in accepted}
        assert len(by_version) == len(accepted), f"{ref}: two changes accepted as one version"
        assert sorted(by_version) == list(range(2, numbers[-1] + 1)), (
            f"{ref}: accepted changes made versions {sorted(by_version)}, the history has "
            f"versions {numbers}"
        )
        for v, a in by_version.items():
            assert a["version"] == a["read"] + 1, a
            kept = versions[ref][v - 1]
            assert (kept["state"]["notes"], kept["actor"]) == (a["value"], a["actor"]), (ref, a)
        refused = {a["value"] for a in mine if a["outcome"] != ACCEPTED}
        kept = {v["state"]["notes"] for v in versions[ref]}
        assert not refused & kept, f"{ref}: a refused change was written: {refused & kept}"


def _check_readers(reports: list[dict[str, Any]], log: Path | None = None) -> None:
    """Assert that every reader read, and never failed (with the end of the server's log)."""
    for report in reports:
        assert not report["failures"], (report["failures"][:5], log and log.read_text()[-4000:])
        assert report["reads"] > 0


# -- the tests -----------------------------------------------------------------------------


def test_twenty_writer_processes_lose_no_update(
    backend: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Shows that 20 processes changing 3 shared areas and one area each through the
    `Registry`, with 2 processes reading meanwhile, lose no update: each change lands whole at
    the version after the one it read, or is refused with ConflictError (RegistryBusy only if
    the lock was held too long), never another error; an area of one writer only is never a
    conflict; the history runs 1..n and ends at the current row; no reader ever fails."""
    reg = synthetic_registry(backend, tmp_path_factory, tmp_path)
    hot, own = reg.fresh[:HOT], reg.fresh[HOT:]
    jobs: list[tuple[Any, tuple[Any, ...]]] = [
        (_write_through_registry, (reg.url, wid, [*hot, own[wid]])) for wid in range(WRITERS)
    ]
    jobs += [(_read_through_registry, (reg.url, [*reg.fresh, *reg.changed]))] * READERS
    results = _run_all(jobs, tmp_path)
    attempts = [a for entries in results[:WRITERS] for a in entries]
    _check_readers(results[WRITERS:])
    _check_against_registry(reg.url, reg.fresh, attempts)
    assert all(a["outcome"] != CONFLICT for a in attempts if a["ref"] in own)
    accepted = [a for a in attempts if a["outcome"] == ACCEPTED]
    assert all(a["notes"] == a["value"] for a in accepted)  # what update_record gave back


def test_twenty_http_clients_lose_no_update(
    backend: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Shows the same through `landrelease serve` with 2 workers: 20 client processes GET an
    area and PATCH it with If-Match while 2 clients read; each PATCH is 200 (the change landed
    at the next version, which its answer shows) or 412 (stale: nothing written), 503 only as
    RegistryBusy, never another error; and the registry holds exactly the 200s, in order,
    ending at the current row."""
    reg = synthetic_registry(backend, tmp_path_factory, tmp_path)
    hot, own = reg.fresh[:HOT], reg.fresh[HOT:]
    log = tmp_path / "server.log"
    with serving(reg.url, log) as (base, _):
        jobs: list[tuple[Any, tuple[Any, ...]]] = [
            (_write_through_api, (base, reg.token, wid, [*hot, own[wid]])) for wid in range(WRITERS)
        ]
        jobs += [(_read_through_api, (base, reg.token, [*reg.fresh, *reg.changed]))] * READERS
        results = _run_all(jobs, tmp_path)
    attempts = [a for entries in results[:WRITERS] for a in entries]
    _check_readers(results[WRITERS:], log)
    _check_against_registry(reg.url, reg.fresh, attempts, log)
    assert all(a["outcome"] != CONFLICT for a in attempts if a["ref"] in own)
    # the answer to a PATCH is the version it made: its ETag and its value
    accepted = [a for a in attempts if a["outcome"] == ACCEPTED]
    assert all((a["etag"], a["notes"]) == (f'"{a["version"]}"', a["value"]) for a in accepted)
