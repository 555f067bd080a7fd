"""Benchmark: our OGC API Features bbox queries against tipg and pygeoapi on PostGIS, with wrk.

100,000 synthetic hazard areas (bench/hazard_data.py, the registry-like layout) are imported
into a registry with `landrelease import`, and the same rows are copied with ogr2ogr into a
throw-away PostGIS cluster (GiST index) started here on a loopback port. Three servers answer
the same bounding-box items queries: `landrelease serve` (with a viewer's bearer token), tipg
(uvicorn) and pygeoapi (PostgreSQL provider, gunicorn), each with one worker and with two. The
peers are installed into their own virtualenvs under ~/.cache/landrelease-bench/.

Each box is drawn around a random area and sized (shapely STRtree on the generated data) to
hold 850-950 areas. wrk (16 connections, 2 threads) cycles through the boxes at `limit=1000`
(the whole ~900-feature page) and at `limit=100`; each run gives requests/s, p50 and p99
(wrk --latency), the errors (a run with any error is reported as failed, not as fast) and the
CPU time the server used per request (its processes, and PostgreSQL's for the peers: a figure
that moves less than the rates when other work shares the machine). Also: p50 on one
connection (wrk -c1 -t1) for the ~900-feature page, and PostGIS itself building the same
document in one SQL statement (ST_AsGeoJSON of each row, joined; pgbench -c 2) as the ceiling
of a server that builds its pages from the database. The runs are interleaved: each round runs
every server once, in an order rotated each round, each run once every server is idle again
(a slow server is still answering the requests queued when wrk stopped).

Before any timing: every server must answer (its features counted against the STRtree's; the
time of each box's first, cold, request given); two identical requests to ours must give
byte-identical bodies; a PATCH through /api/hazards/{ref} (an editor's token, If-Match) must be
visible in the next items responses of every worker; and the first 10 features of a box
holding every area are timed (a map zoomed out to the whole country).

The machine has 2 cores: wrk competes with the server it measures, so the figures are those of
a server sharing its machine with its load. Last line: our 2-worker rate over tipg's.

Usage:
    .venv/bin/python bench/service.py [--scale 100000] [--duration 10] [--rounds 2]
    .venv/bin/python bench/service.py --scale 10000 --duration 3 --rounds 1   # a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from email.message import Message
from functools import partial
from pathlib import Path
from typing import Any

import pyogrio
import shapely
from hazard_data import data_file, describe, layout_stats
from service_load import BoxT, Run, draw_boxes, load_boxes, run_pgbench, run_wrk
from service_peers import (
    Cluster,
    Server,
    add_user,
    cpu_ticks,
    ensure_programs,
    load_hazards,
    peer_python,
    postgis_cluster,
    postmaster_pid,
    start_landrelease,
    start_pygeoapi,
    start_tipg,
    wait_quiet,
)

EXE = Path(sys.executable).with_name("landrelease")
OURS, TIPG, PYGEOAPI = "landrelease", "tipg", "pygeoapi"
PROBE = "/conformance?f=json"
BIG, SMALL = 1000, 100  # page sizes: the whole ~900-feature box, and its first 100
_WIDTHS = (5, 22, 9, 9, 8, 7, 11, 8)  # of the table's columns after the server's name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=100_000, help="number of hazard areas")
    ap.add_argument("--duration", type=float, default=10, help="seconds of each wrk run")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds of every run")
    ap.add_argument("--boxes", type=int, default=64, help="bounding boxes cycled through")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2")
    ap.add_argument("--warm-up", type=float, default=2, help="untimed seconds per server")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, scripts)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)  # so that the cleanup below runs on a kill too
    started = time.monotonic()

    bindir = ensure_programs()
    for peer in (TIPG, PYGEOAPI):
        peer_python(peer)
    src = data_file("tessellated", args.scale)
    print(f"data: {src.name}: {describe(layout_stats(src))}")
    print(f"machine: {machine()}; load average {_load()}")
    workers = [int(w) for w in args.workers.split(",")]

    with ExitStack() as stack:
        try:
            runs = measure(args, bindir, src, workers, stack)
        finally:  # a second Ctrl-C must not cut the cleanup short (servers, cluster, folder)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    report(runs, workers, args)
    print(f"load average {_load()}; whole run {(time.monotonic() - started) / 60:.1f} min")
    print(last_line(runs, max(workers)))


def measure(
    args: argparse.Namespace, bindir: Path, src: Path, workers: Sequence[int], stack: ExitStack
) -> list[Run]:
    """Return the timed runs, after building the registry and the PostGIS copy, starting every
    server (their stops and the cluster's pushed on `stack`) and checking their answers."""
    if args.keep:
        folder = Path(tempfile.mkdtemp(prefix="landrelease-bench-service-"))
        print(f"work folder (kept): {folder}")
    else:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lr-svc-")))
    registry, tokens = build_registry(src, folder)
    geoms = pyogrio.read_dataframe(src, columns=[]).geometry.to_numpy()
    boxes, counts = draw_boxes(geoms, args.boxes)
    print(
        f"boxes: {len(boxes)}, {min(counts)}-{max(counts)} areas each "
        f"(median {statistics.median(counts):.0f}); side "
        f"{statistics.median(b[3] - b[1] for b in boxes):.3f} deg of latitude (median)"
    )

    cluster = stack.enter_context(postgis_cluster(bindir))
    t = time.perf_counter()
    rows = load_hazards(cluster, registry)
    load_boxes(cluster, boxes)
    took = time.perf_counter() - t
    print(f"PostGIS: {rows:,} rows loaded with ogr2ogr and indexed in {took:.1f} s")

    servers: dict[tuple[str, int], Server] = {}
    for w in workers:
        for name in (OURS, TIPG, PYGEOAPI):
            if name == OURS and tokens is None:
                continue
            if name == OURS:
                assert tokens is not None
                s = start_landrelease(EXE, registry, w, tokens["viewer"], folder)
            elif name == TIPG:
                s = start_tipg(cluster, w, folder)
            else:
                s = start_pygeoapi(cluster, w, folder)
            stack.callback(s.stop)
            servers[(name, w)] = s
    servers = ready(servers)
    if not servers:
        sys.exit("no server answered")
    checks = check_answers(servers, boxes, counts)
    if (OURS, max(workers)) in servers and tokens is not None:
        checks += check_ours(
            [s for (n, _), s in servers.items() if n == OURS], boxes[0], tokens["editor"]
        )
    checks += whole_extent(servers, tuple(float(v) for v in shapely.total_bounds(geoms)))
    for line in checks:
        print(line)

    for s in servers.values():  # untimed: caches, connection pools, every worker
        run_wrk(s, boxes, BIG, seconds=args.warm_up, connections=args.connections,
                threads=args.threads, folder=folder)  # fmt: skip
        wait_quiet({s.proc.pid} if s.proc else set(), {postmaster_pid(cluster)})
    return timed_rounds(servers, boxes, cluster, args, folder)


def build_registry(src: Path, folder: Path) -> tuple[Path, dict[str, str] | None]:
    """Return a new registry of the areas in `src` (made with `landrelease init` and `import`)
    and the tokens of a viewer and an editor (None when `landrelease users` fails)."""
    registry = folder / "registry.gpkg"
    t = time.perf_counter()
    for cmd in (["init", "--db", str(registry)], ["import", str(src), "--db", str(registry)]):
        res = subprocess.run([str(EXE), *cmd], capture_output=True, text=True)
        if res.returncode:
            sys.exit(f"landrelease {cmd[0]} failed: {res.stderr or res.stdout}")
    print(f"registry: {registry.name} imported in {time.perf_counter() - t:.1f} s")
    try:
        tokens = {r: add_user(EXE, registry, f"bench-{r}", r) for r in ("viewer", "editor")}
    except RuntimeError as err:
        print(f"NOTE: landrelease is left out: {err}")
        return registry, None
    return registry, tokens


def ready(servers: dict[tuple[str, int], Server]) -> dict[tuple[str, int], Server]:
    """Return the servers that came up (answered the probe); say why the others did not."""
    up = {}
    for key, s in servers.items():
        try:
            s.wait_ready(PROBE)
            up[key] = s
        except RuntimeError as err:
            print(f"NOTE: {s.label} is left out: {err}")
            s.stop()
    return up


def check_answers(
    servers: dict[tuple[str, int], Server], boxes: Sequence[BoxT], counts: Sequence[int]
) -> list[str]:
    """Return one line per server saying how many features it gave for the boxes.

    Every server answers the first box; the one-worker servers answer every box at both page
    sizes, their counts compared with the STRtree's (850-950, all of them on the big page, 100
    on the small one). A server that gives other counts is left in but named here. The time
    of each box's first request is given too: a cold page (nothing of it cached by us yet).
    """
    lines = []
    for (_, w), s in servers.items():
        todo = range(len(boxes)) if w == min(k[1] for k in servers) else range(1)
        wrong: list[str] = []
        got = []
        cold = []
        for i in todo:
            for limit in (BIG, SMALL):
                t = time.perf_counter()
                status, body = s.get(s.path(boxes[i], limit))
                if limit == BIG:
                    cold.append((time.perf_counter() - t) * 1000)
                n = _features(body) if status == 200 else -1
                want = min(counts[i], limit)
                got.append(n)
                if n != want:
                    wrong.append(f"box {i} limit {limit}: {n} (status {status}), STRtree {want}")
        head = f"check: {s.label} answers {len(todo)} boxes x 2 page sizes"
        if wrong:
            lines.append(f"{head}: {len(wrong)} WRONG, e.g. {'; '.join(wrong[:3])}")
        else:
            lines.append(
                f"{head}: feature counts as the STRtree's (box 0: {got[0]} features); "
                f"first request of a box at limit={BIG}: median {statistics.median(cold):.0f} ms"
            )
    return lines


def whole_extent(servers: dict[tuple[str, int], Server], extent: tuple[float, ...]) -> list[str]:
    """Return a line giving each one-worker server's time for the first 10 features of a box
    holding every area (median of 5 requests): what a map zoomed out to the country asks."""
    box: BoxT = (
        math.floor(extent[0]), math.floor(extent[1]), math.ceil(extent[2]), math.ceil(extent[3])
    )  # fmt: skip
    fewest = min(w for _, w in servers)
    times = []
    for (name, w), s in servers.items():
        if w != fewest:
            continue
        path = s.path(box, 10)
        ms = []
        for _ in range(5):
            t = time.perf_counter()
            status = s.get(path)[0]
            ms.append((time.perf_counter() - t) * 1000 if status == 200 else math.nan)
        times.append(f"{name} {statistics.median(ms):.0f} ms")
    return [f"check: a box over every area, limit=10 (median of 5): {', '.join(times)}"]


def check_ours(ours: Sequence[Server], box: BoxT, editor: str) -> list[str]:
    """Return lines saying whether our identical requests give identical bytes, and whether a
    PATCH is seen by the next items responses of every one of our servers (all workers)."""
    lines = []
    many = max(ours, key=lambda s: s.workers)
    path = many.path(box, BIG)
    bodies = [many.get(path)[1] for _ in range(4)]  # several, to reach both workers
    same = all(b == bodies[0] for b in bodies)
    detail = "" if same else f": {_first_difference(bodies)}"
    lines.append(
        f"check: 4 identical requests to {many.label}: "
        f"{'byte-identical bodies' if same else 'DIFFERENT bodies'}{detail}"
    )
    try:
        feature = json.loads(bodies[0])["features"][0]
        ref = feature.get("id") or feature["properties"]["ref"]
        edit = {"Authorization": f"Bearer {editor}", "Content-Type": "application/json"}
        status, text, headers = _request(many, "GET", f"/api/hazards/{ref}", edit)
        etag = headers.get("ETag", "")  # a case-blind look-up
        if status != 200 or not etag:
            return [*lines, f"check: GET /api/hazards/{ref} FAILED: {status}, ETag {etag!r}"]
        body = json.dumps({"changes": {"name": "bench"}, "reason": "bench"}).encode()
        status, text, _ = _request(
            many, "PATCH", f"/api/hazards/{ref}", {**edit, "If-Match": etag}, body
        )
        if status != 200:
            return [*lines, f"check: PATCH /api/hazards/{ref} FAILED: {status} {text[:200]!r}"]
        seen = []
        for s in ours:
            for _ in range(2 * s.workers):
                names = {
                    f.get("id") or f["properties"].get("ref"): f["properties"].get("name")
                    for f in json.loads(s.get(path)[1])["features"]
                }
                seen.append(names.get(ref) == "bench")
        lines.append(
            f"check: PATCH of {ref} (If-Match {etag}) seen by {sum(seen)} of the {len(seen)} "
            f"next items responses{'' if all(seen) else ' (NOT ALL)'}"
        )
    except (KeyError, IndexError, ValueError, OSError) as err:
        lines.append(f"check: the write could not be checked: {err!r}")
    return lines


def timed_rounds(
    servers: dict[tuple[str, int], Server],
    boxes: Sequence[BoxT],
    cluster: Cluster,
    args: argparse.Namespace,
    folder: Path,
) -> list[Run]:
    """Return every timed run: per round, each server and worker count at both page sizes,
    the one-connection runs and the PostGIS ceiling, in an order rotated each round."""
    runs: list[Run] = []
    keys = list(servers)
    groups = {s.proc.pid for s in servers.values() if s.proc is not None}
    postgres = {postmaster_pid(cluster)}
    tick = os.sysconf("SC_CLK_TCK")

    def timed(run: Callable[[], Run], group: int | None) -> None:
        """Run `run` once every server is idle; note the CPU its server used (the server's
        processes, and PostgreSQL's for the peers and the ceiling)."""
        waited = wait_quiet(groups, postgres)
        if waited > 2:
            print(f"  (waited {waited:.0f} s for the queued requests of the last run to end)")
        parents = postgres if group not in ours else set()
        before = cpu_ticks({group} if group else set(), parents)
        r = run()
        time.sleep(0.3)  # for the postmaster to reap the backends of pgbench's connections
        r.server_cpu_s = (cpu_ticks({group} if group else set(), parents) - before) / tick
        runs.append(r)
        _progress(r)

    ours = {s.proc.pid for (n, _), s in servers.items() if n == OURS and s.proc is not None}
    single = [k for k in keys if k[1] == min(w for _, w in keys)]
    wrk = {"seconds": args.duration, "folder": folder}
    for rnd in range(args.rounds):
        order = keys[rnd % len(keys) :] + keys[: rnd % len(keys)]
        print(f"round {rnd + 1}/{args.rounds}", flush=True)
        for key in order:
            s = servers[key]
            for limit in (BIG, SMALL) if rnd % 2 == 0 else (SMALL, BIG):
                timed(
                    partial(run_wrk, s, boxes, limit, connections=args.connections,
                            threads=args.threads, **wrk),
                    _pid(s),
                )  # fmt: skip
        for key in single:
            s = servers[key]
            timed(partial(run_wrk, s, boxes, BIG, connections=1, threads=1, **wrk), _pid(s))
        for limit in (BIG, SMALL):
            timed(
                partial(run_pgbench, cluster, len(boxes), limit, seconds=args.duration,
                        clients=2, folder=folder),
                None,
            )  # fmt: skip
    return runs


def report(runs: Sequence[Run], workers: Sequence[int], args: argparse.Namespace) -> None:
    """Print the table of every server, worker count and page size, then the ratios."""
    print(
        f"\n{args.rounds} round(s) of {args.duration:g} s per run; wrk -c{args.connections} "
        f"-t{args.threads}; median (range) over rounds; wrk and the servers share 2 cores"
    )
    heads = ("page", "req/s", "p50 ms", "p99 ms", "non-2xx", "socket", "CPU ms/req", "wrk CPU")
    print(f"{'server':<22} " + " ".join(f"{h:>{w}}" for h, w in zip(heads, _WIDTHS, strict=True)))
    groups: dict[tuple[str, int, int], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.label, r.limit, r.connections), []).append(r)
    for (label, limit, conns), rs in groups.items():
        name = label if conns != 1 else f"{label} c1"
        cells = (
            limit, _rate(rs), _med(r.p50_ms for r in rs), _med(r.p99_ms for r in rs),
            sum(r.non_2xx for r in rs), sum(r.socket_errors for r in rs),
            _med(r.server_cpu_s * 1000 / r.requests if r.requests else math.nan for r in rs),
            f"{statistics.median(r.client_cores for r in rs):.2f}",
        )  # fmt: skip
        print(f"{name:<22} " + " ".join(f"{c:>{w}}" for c, w in zip(cells, _WIDTHS, strict=True)))
    print(
        "(PostGIS SQL: pgbench -c 2 of the one-statement document; its p50 column is the mean. "
        "CPU ms/req: CPU time of the server's processes (and PostgreSQL's, for the peers) per "
        "request; wrk CPU: cores the load generator used (pgbench's for PostGIS), of the 2)"
    )
    print("\nratio of requests/s, landrelease over the peer (median of per-round ratios, range):")
    for w in workers:
        for limit in (BIG, SMALL):
            for peer in (TIPG, PYGEOAPI):
                print(f"  {w} worker(s), limit={limit:<5} landrelease / {peer:<9} "
                      f"{_ratio(runs, w, limit, peer)}")  # fmt: skip


def last_line(runs: Sequence[Run], workers: int) -> str:
    """Return the closing line: our rate with `workers` workers over tipg's, big page."""
    ours, tipg = (_of(runs, name, workers, BIG) for name in (OURS, TIPG))
    return (
        f"landrelease / tipg, {workers} worker{'s' if workers > 1 else ''}, "
        f"~900-feature page (limit={BIG}): "
        f"{_ratio(runs, workers, BIG, TIPG)}; landrelease {_rate(ours)} req/s, "
        f"tipg {_rate(tipg)} req/s"
    )


def machine() -> str:
    """Return the CPU model, core count, Python and kernel of this machine, in one line."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )


# -- small parts of the above ----------------------------------------------------------------


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _pid(server: Server) -> int | None:
    return server.proc.pid if server.proc is not None else None


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def _features(body: bytes) -> int:
    try:
        return len(json.loads(body)["features"])
    except (ValueError, KeyError, TypeError):
        return -1


def _request(
    server: Server, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, str, Message]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(server.url(path), data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read().decode(errors="replace"), resp.headers
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace"), err.headers


def _first_difference(bodies: Sequence[bytes]) -> str:
    a = bodies[0]
    b = next(x for x in bodies if x != a)
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    return f"lengths {len(a)} and {len(b)}; from byte {i}: {a[i : i + 60]!r} / {b[i : i + 60]!r}"


def _progress(r: Run) -> None:
    state = f"FAILED ({r.non_2xx} non-2xx, {r.socket_errors} socket errors)" if r.failed else "ok"
    cpu = r.server_cpu_s * 1000 / r.requests if r.requests else math.nan
    print(
        f"  {r.label:<16} c{r.connections:<2} limit={r.limit:<5} {r.rate:7.1f} req/s "
        f"p50 {r.p50_ms:7.1f} ms p99 {r.p99_ms:7.1f} ms, server {cpu:5.1f} CPU ms/req, "
        f"client {r.client_cores:.2f} cores: {state}",
        flush=True,
    )


def _med(values: Any) -> str:
    vals = [v for v in values if v == v]  # NaN (not measured) left out
    return f"{statistics.median(vals):.1f}" if vals else "-"


def _rate(rs: Sequence[Run]) -> str:
    if not rs:
        return "-"
    if any(r.failed for r in rs):
        return "FAILED"
    rates = [r.rate for r in rs]
    return f"{statistics.median(rates):.1f} ({min(rates):.1f}-{max(rates):.1f})"


def _of(runs: Sequence[Run], name: str, workers: int, limit: int) -> list[Run]:
    label = f"{name} {workers}w"
    return [r for r in runs if r.label == label and r.limit == limit and r.connections > 1]


def _ratio(runs: Sequence[Run], workers: int, limit: int, peer: str) -> str:
    ours, theirs = _of(runs, OURS, workers, limit), _of(runs, peer, workers, limit)
    if not ours or not theirs:
        return "n/a (not run)"
    if any(r.failed for r in [*ours, *theirs]):
        return "n/a (a run failed)"
    ratios = [a.rate / b.rate for a, b in zip(ours, theirs, strict=True)]
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted: the servers and the PostGIS cluster are stopped")
