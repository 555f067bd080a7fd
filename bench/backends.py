"""Benchmark: the same registry on SQLite (a GeoPackage file) and on PostGIS, in one run.

The registry benchmark's data (bench/hazard_data.py, the registry-like layout, 100,000 areas)
go into both backends, and four things are timed on each, the backends interleaved:

1. the import: `Registry.open(url, create=True)`, then `Registry.import_file` (executemany into
   the GeoPackage, COPY on PostGIS), in this process, into a fresh registry each round, the
   backends' order rotated each round, after an untimed import of 1,000 areas into each
   (module imports, connections). Wall time, and CPU time: this process's (every thread)
   plus, on a cluster started here, that of PostgreSQL's processes;
2. bounding-box queries of ~1,000 areas, geometries decoded (`Registry.hazard_columns`, as
   bench/registry.py asks them), the backends alternating box by box; their counts must agree;
3. the OGC API Features items page of ~900 features: `landrelease serve --db URL --workers 2`
   on each registry (a viewer's token), wrk (16 connections, 2 threads) cycling through boxes
   of 850-950 areas at limit=1000, as bench/service.py measures it (bench/service_load.py):
   rounds with the servers' order rotated, each run once both servers are idle. Before
   timing, both must give the STRtree's count for every box, and the same areas. Target:
   PostGIS >= 450 req/s;
4. prioritisation end to end: `Registry.open` + `Registry.prioritize`, what `landrelease
   prioritize` calls (bench/priority.py's `registry_run`), on the import's registries once
   bench/priority_data.py's accidents, events, items and reference layers are added to each
   (timed once). `--priority-scale` sets the scale of those inputs; at another scale than the
   import's, both backends get a fresh registry of that scale's areas first. The two
   rankings must agree on every component of every area.

PostGIS is a throw-away cluster started here as bench/service.py starts it
(bench/service_peers.py: loopback only, removed at the end, also on Ctrl-C; fsync off, which
favours PostGIS on the import: the GeoPackage is written durably), or the server of
LANDRELEASE_BENCH_PG: the URL of a database there, beside which databases named
lr_bench_backends_* are made and dropped at the end (PostgreSQL's CPU is then not counted).
The import always runs: the other steps use its registries (`--steps` chooses among them).
Ratios are PostGIS over SQLite; each row says whether lower or higher is better. The last
line: the PostGIS items page against its target.

Usage:
    .venv/bin/python bench/backends.py              # 100,000 areas (~5-10 min)
    .venv/bin/python bench/backends.py --quick      # 10,000 areas, short runs (~2 min)
    LANDRELEASE_BENCH_PG=postgresql://lr@127.0.0.1:54329/postgres .venv/bin/python bench/backends.py
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import psycopg
import pyogrio
from hazard_data import data_file, describe, layout_stats
from priority_data import SIZES, benchmark_inputs
from registry import box_list
from service_load import BoxT, Run, draw_boxes, run_wrk
from service_peers import (
    Server,
    cpu_ticks,
    ensure_programs,
    postgis_cluster,
    postmaster_pid,
    start_landrelease,
    wait_quiet,
)

from landrelease.domain.geometry import COUNTRIES
from landrelease.priority import COMPONENTS, Inputs
from landrelease.registry import Registry
from priority import (
    SYNTHETIC,
    RegistryRun,
    _accidents_file,
    _area_index,
    _items_file,
    disagreement,
    registry_run,
)
from residual import make_areas, write_events
from service import BIG, PROBE

EXE = Path(sys.executable).with_name("landrelease")
SQLITE, POSTGIS = "SQLite", "PostGIS"
TARGET_RATE = 450.0  # req/s of the ~900-feature page on PostGIS, 2 workers
COLUMNS = ("ref", "status", "area_m2", "version")  # of the bbox query, as bench/registry.py
WARM_N = 1_000  # areas of the untimed first import into each backend
T = TypeVar("T")


# -- the two backends --------------------------------------------------------------------------


@dataclass
class Backend:
    """Where one backend's registries live, and how to make and throw away one of them.

    SQLite: GeoPackage files in `folder`. PostGIS: databases made beside `admin` (the URL of
    a database on the server); `postgres` holds the postmaster's pid when the cluster was
    started here, so that PostgreSQL's CPU time is counted with ours.
    """

    name: str
    folder: Path
    admin: str | None = None
    postgres: set[int] = field(default_factory=set)
    made: list[str] = field(default_factory=list)

    def fresh(self, tag: str) -> str:
        """Return the URL (or path) of a new, empty place for a registry named by `tag`."""
        if self.admin is None:
            return str(self.folder / f"{tag}.gpkg")
        db = f"lr_bench_backends_{os.getpid()}_{tag}"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{db}"')
        self.made.append(db)
        return urllib.parse.urlsplit(self.admin)._replace(path=f"/{db}").geturl()

    def discard(self, url: str) -> None:
        """Throw away the registry at `url` (made by `fresh`)."""
        if self.admin is None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{url}{suffix}").unlink(missing_ok=True)
            return
        db = urllib.parse.urlsplit(url).path.lstrip("/")
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        self.made.remove(db)

    def discard_all(self) -> None:
        """Throw away every database `fresh` made and `discard` has not (files go with the
        folder)."""
        if self.admin is not None:
            for db in list(self.made):
                self.discard(urllib.parse.urlsplit(self.admin)._replace(path=f"/{db}").geturl())

    def cpu_s(self) -> float:
        """Return the CPU seconds used so far by this process and the cluster started here."""
        ticks = cpu_ticks(set(), self.postgres) if self.postgres else 0
        return time.process_time() + ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def postgis_backend(folder: Path) -> Iterator[Backend]:
    """Yield the PostGIS backend: LANDRELEASE_BENCH_PG's server, or a throw-away cluster."""
    given = os.environ.get("LANDRELEASE_BENCH_PG")
    if given:
        print(f"PostGIS: the server of LANDRELEASE_BENCH_PG ({given.split('@')[-1]})")
        backend = Backend(POSTGIS, folder, admin=given)
        try:
            yield backend
        finally:
            backend.discard_all()
        return
    with postgis_cluster(ensure_programs()) as cluster:
        version = cluster.psql("SELECT version()").split(" on ")[0]
        postgis = cluster.psql("SELECT postgis_lib_version()")
        print(
            f"PostGIS: a throw-away cluster on port {cluster.port} ({version}, PostGIS {postgis})"
        )
        admin = f"postgresql://{cluster.user}@127.0.0.1:{cluster.port}/postgres"
        backend = Backend(POSTGIS, folder, admin=admin, postgres={postmaster_pid(cluster)})
        try:
            yield backend
        finally:
            backend.discard_all()


# -- 1. the import -----------------------------------------------------------------------------


@dataclass
class ImportRun:
    """One import: seconds to create the empty registry, wall and CPU seconds of the import."""

    create: float
    wall: float
    cpu: float


def import_rounds(
    backends: Sequence[Backend], src: Path, n: int, runs: int
) -> tuple[dict[str, list[ImportRun]], dict[str, str]]:
    """Return each backend's import runs and the registry its last run made (see the module)."""
    warm = data_file("tessellated", WARM_N)
    for b in backends:
        url = b.fresh("warm")
        with Registry.open(url, create=True) as reg:
            reg.import_file(warm, actor=SYNTHETIC)
        b.discard(url)
    out: dict[str, list[ImportRun]] = {b.name: [] for b in backends}
    last: dict[str, str] = {}
    for rnd in range(runs):
        for b in rotated(backends, rnd):
            if b.name in last:
                b.discard(last.pop(b.name))
            gc.collect()
            url = b.fresh(f"import{rnd}")
            t0, c0 = time.perf_counter(), b.cpu_s()
            with Registry.open(url, create=True) as reg:
                t1, c1 = time.perf_counter(), b.cpu_s()
                reg.import_file(src, actor=SYNTHETIC)
                run = ImportRun(t1 - t0, time.perf_counter() - t1, b.cpu_s() - c1)
                stored = reg.count("hazards")
            if stored != n:
                raise SystemExit(f"{b.name}: {stored:,} areas stored of {n:,}")
            last[b.name] = url
            out[b.name].append(run)
            print(
                f"  import {rnd + 1}/{runs} {b.name:<8} create {run.create:.2f} s, "
                f"import {run.wall:.2f} s wall, {run.cpu:.2f} s CPU (create's CPU "
                f"{c1 - c0:.2f} s)",
                flush=True,
            )
    return out, last


# -- 2. bounding boxes -------------------------------------------------------------------------


def bbox_rounds(urls: dict[str, str], n: int, queries: int) -> tuple[dict[str, list[float]], float]:
    """Return each backend's seconds per box query, and the median count of areas per box.

    The boxes are bench/registry.py's (sized from the data's density to hold ~1,000 areas,
    the same seed); a first untimed pass over 10 boxes loads what each backend keeps.
    """
    minx, miny, maxx, maxy = COUNTRIES["UA"].bbox
    side = np.sqrt(1000 / n * (maxx - minx - 0.1) * (maxy - miny - 0.1))
    boxes = box_list(np.random.default_rng(11), side, queries)
    times: dict[str, list[float]] = {name: [] for name in urls}
    counts = []
    with ExitStack() as stack:
        regs = {name: stack.enter_context(Registry.open(url)) for name, url in urls.items()}
        for box in boxes[:10]:
            for reg in regs.values():
                reg.hazard_columns(bbox=box, columns=COLUMNS)
        for i, box in enumerate(boxes):
            found = {}
            for name in rotated(list(regs), i):
                t = time.perf_counter()
                res = regs[name].hazard_columns(bbox=box, columns=COLUMNS)
                times[name].append(time.perf_counter() - t)
                found[name] = len(res["ref"])
            if len(set(found.values())) > 1:
                raise SystemExit(f"box {box}: the backends found {found}")
            counts.append(next(iter(found.values())))
    return times, statistics.median(counts)


# -- 3. the items page -------------------------------------------------------------------------


def service_rounds(
    backends: Sequence[Backend], urls: dict[str, str], src: Path, args: argparse.Namespace
) -> dict[str, list[Run]]:
    """Return each backend's wrk runs of the ~900-feature items page (see the module)."""
    geoms = pyogrio.read_dataframe(src, columns=[]).geometry.to_numpy()
    boxes, counts = draw_boxes(geoms, args.boxes)
    print(f"  {len(boxes)} boxes of {min(counts)}-{max(counts)} areas", flush=True)
    postgres = set().union(*(b.postgres for b in backends))
    runs: dict[str, list[Run]] = {b.name: [] for b in backends}
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lr-backends-")))
        servers: dict[str, Server] = {}
        for b in backends:
            with Registry.open(urls[b.name]) as reg:
                token = reg.add_user("bench-viewer", "viewer", actor=SYNTHETIC)
            # `serve --db` takes a file or a URL: the URL goes in as it is, not as a Path
            s = start_landrelease(EXE, urls[b.name], args.workers, token, folder)
            stack.callback(s.stop)
            servers[b.name] = s
        for s in servers.values():
            s.wait_ready(PROBE)
        check_pages(servers, boxes, counts)
        groups = {s.proc.pid for s in servers.values() if s.proc is not None}
        tick = os.sysconf("SC_CLK_TCK")
        wrk: dict[str, Any] = {
            "connections": args.connections, "threads": args.threads, "folder": folder
        }  # fmt: skip
        for s in servers.values():  # untimed: every worker's caches and connections
            run_wrk(s, boxes, BIG, seconds=args.warm_up, **wrk)
        for rnd in range(args.rounds):
            for b in rotated(backends, rnd):
                s = servers[b.name]
                assert s.proc is not None
                wait_quiet(groups, postgres)
                before = cpu_ticks({s.proc.pid}, b.postgres)
                r = run_wrk(s, boxes, BIG, seconds=args.duration, **wrk)
                r.server_cpu_s = (cpu_ticks({s.proc.pid}, b.postgres) - before) / tick
                runs[b.name].append(r)
                state = "FAILED" if r.failed else "ok"
                print(
                    f"  round {rnd + 1}/{args.rounds} {b.name:<8} {r.rate:7.1f} req/s, "
                    f"p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, "
                    f"{cpu_per_request(r):.1f} CPU ms/req: {state}",
                    flush=True,
                )
    return runs


def check_pages(servers: dict[str, Server], boxes: Sequence[BoxT], counts: Sequence[int]) -> None:
    """Stop unless every server gives the STRtree's count for every box, and the same areas
    (by name: the refs are given by each registry) as every other server."""
    for i, box in enumerate(boxes):
        names = {}
        for name, s in servers.items():
            status, body = s.get(s.path(box, BIG))
            feats = json.loads(body)["features"] if status == 200 else []
            if status != 200 or len(feats) != counts[i]:
                raise SystemExit(f"{name}: box {i}: status {status}, {len(feats)} of {counts[i]}")
            names[name] = sorted(f["properties"]["name"] for f in feats)
        if any(v != next(iter(names.values())) for v in names.values()):
            raise SystemExit(f"box {i}: the backends give different areas")
    print(
        f"  check: {len(boxes)} boxes, each page of each server as many areas as the STRtree "
        "finds, the same areas on both backends"
    )


# -- 4. prioritisation -------------------------------------------------------------------------


def add_priority_data(url: str, inputs: Inputs, scale: float, seed: int) -> float:
    """Return the seconds taken to add the prioritisation inputs' accidents, events, items and
    reference layers to the registry at `url` (it holds their areas), as bench/priority.py
    adds them to its own registry."""
    n = len(inputs.areas)
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lr-backends-") as tmp, Registry.open(url) as reg:
        work = Path(tmp)
        reg.import_file(_accidents_file(inputs, work), "accidents", actor=SYNTHETIC)
        cols = reg.hazard_columns(columns=["ref", "name"], geometry=False)
        refs = np.empty(n, dtype=object)
        refs[_area_index(cols["name"])] = np.asarray(cols["ref"], dtype=object)
        with_events = np.flatnonzero(np.isfinite(inputs.areas.residual_expected))
        events = work / "events.csv"
        write_events(events, list(refs[with_events]), make_areas(len(with_events)))
        reg.import_file(events, "events", actor=SYNTHETIC)
        reg.import_file(_items_file(inputs, refs, work), "items", actor=SYNTHETIC)
        source = f"{SYNTHETIC}: bench/priority_data.py, seed {seed}, scale {scale:g}"
        for kind, layer in inputs.layers.items():
            assert layer is not None
            frame = gpd.GeoDataFrame(layer.values, geometry=layer.geometry, crs="EPSG:4326")
            reg.add_layer(kind, frame, name=f"synthetic-{kind}", source=source, actor=SYNTHETIC)
    return time.perf_counter() - t


def priority_rounds(
    backends: Sequence[Backend], urls: dict[str, str], args: argparse.Namespace
) -> tuple[dict[str, float], dict[str, list[RegistryRun]]]:
    """Return the seconds each backend took to receive the prioritisation inputs, and its
    end-to-end runs (see the module)."""
    inputs = benchmark_inputs(args.priority_scale, args.seed)
    n = len(inputs.areas)
    if n != args.n:  # another scale: a fresh registry of that scale's areas on each backend
        urls = {}
        for b in backends:
            urls[b.name] = b.fresh("priority")
            with Registry.open(urls[b.name], create=True) as reg:
                reg.import_file(data_file("tessellated", n), actor=SYNTHETIC)
    added = {}
    for b in backends:
        added[b.name] = add_priority_data(urls[b.name], inputs, args.priority_scale, args.seed)
        print(f"  {b.name:<8} prioritisation inputs added in {added[b.name]:.1f} s", flush=True)
    runs: dict[str, list[RegistryRun]] = {b.name: [] for b in backends}
    for rnd in range(args.runs):
        for b in rotated(backends, rnd):
            gc.collect()
            r = registry_run(urls[b.name])  # Registry.open takes the URL as it is
            runs[b.name].append(r)
            print(
                f"  run {rnd + 1}/{args.runs} {b.name:<8} {r.wall:.2f} s wall, {r.cpu:.2f} s "
                "CPU: " + ", ".join(f"{k} {v:.2f} s" for k, v in r.steps.items()),
                flush=True,
            )
    return added, runs


def rankings_agree(runs: dict[str, list[RegistryRun]]) -> str:
    """Return how far the backends' rankings differ, per component, over every area."""
    if len(runs) < 2:
        return "one backend only"
    a, b = (rs[-1].values for rs in runs.values())
    worst = {c: disagreement(a[c], b[c]) for c in COMPONENTS}
    bad = {c: w for c, w in worst.items() if w[1]}
    if not bad:
        largest = max(w for w, _ in worst.values())
        return f"yes, every component (largest relative difference {largest:.0e})"
    return "NO: " + "; ".join(f"{c} {k:,} areas (up to {w:.1e})" for c, (w, k) in bad.items())


# -- the table ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One operation of the table: each backend's values (their median is shown, with the
    range when there are several), its unit, and whether lower or higher is better."""

    operation: str
    unit: str
    values: dict[str, list[float]]
    lower_is_better: bool = True
    digits: int = 2

    def cell(self, name: str) -> str:
        vals = self.values.get(name)
        if not vals:
            return "-"
        f = f"{{:.{self.digits}f}}"
        med = f.format(statistics.median(vals))
        if len(vals) == 1:
            return f"{med} {self.unit}"
        return f"{med} ({f.format(min(vals))}-{f.format(max(vals))}) {self.unit}"

    def ratio(self) -> str:
        if not (self.values.get(SQLITE) and self.values.get(POSTGIS)):
            return "-"
        pg, lite = (statistics.median(self.values[k]) for k in (POSTGIS, SQLITE))
        better = "lower is better" if self.lower_is_better else "higher is better"
        return f"{pg / lite:.2f} ({better})" if lite else "-"


def print_table(rows: Sequence[Row]) -> None:
    width = max(len(r.operation) for r in rows)
    cells = [(r.operation, r.cell(SQLITE), r.cell(POSTGIS), r.ratio()) for r in rows]
    w1 = max(len(c[1]) for c in cells)
    w2 = max(len(c[2]) for c in cells)
    print(f"{'operation':<{width}}  {SQLITE:>{w1}}  {POSTGIS:>{w2}}  PostGIS/SQLite")
    for op, a, b, r in cells:
        print(f"{op:<{width}}  {a:>{w1}}  {b:>{w2}}  {r}")


def rotated(items: Sequence[T], k: int) -> list[T]:
    """Return `items` rotated left by `k`: round k of an interleaved run starts elsewhere."""
    k %= len(items)
    return [*items[k:], *items[:k]]


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# -- the run -----------------------------------------------------------------------------------

QUICK = {"n": 10_000, "runs": 2, "queries": 50, "boxes": 16, "duration": 3.0, "rounds": 1,
         "warm_up": 1.0}  # fmt: skip
FULL = {"n": 100_000, "runs": 3, "queries": 200, "boxes": 64, "duration": 10.0, "rounds": 2,
        "warm_up": 2.0}  # fmt: skip
STEPS = ("bbox", "service", "priority")


def arguments() -> argparse.Namespace:
    """Return the command line's arguments, the defaults of a full or a quick run filled in."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10,000 areas, short runs: a smoke run")
    ap.add_argument("--n", type=int, help="hazard areas (default 100,000; --quick 10,000)")
    ap.add_argument("--runs", type=int, help="imports and rankings per backend (default 3)")
    ap.add_argument("--queries", type=int, help="bbox queries per backend (default 200)")
    ap.add_argument("--boxes", type=int, help="boxes of the items page (default 64)")
    ap.add_argument("--duration", type=float, help="seconds of each wrk run (default 10)")
    ap.add_argument("--rounds", type=int, help="wrk runs per backend (default 2)")
    ap.add_argument("--warm-up", type=float, help="untimed wrk seconds per server (default 2)")
    ap.add_argument("--workers", type=int, default=2, help="workers of each server")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--priority-scale", type=float, help="default: the import's, n / 100,000")
    ap.add_argument("--seed", type=int, default=17, help="of bench/priority_data.py")
    ap.add_argument("--backends", default=f"{SQLITE},{POSTGIS}", help="default: both")
    ap.add_argument(
        "--steps", default=",".join(STEPS), help="after the import, which to run (default all)"
    )
    args = ap.parse_args()
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.priority_scale is None:
        args.priority_scale = args.n / SIZES["areas"]
    args.backends = [b.strip() for b in args.backends.split(",")]
    args.steps = {s.strip() for s in args.steps.split(",") if s.strip()}
    if not args.backends or not set(args.backends) <= {SQLITE, POSTGIS}:
        ap.error(f"--backends: {SQLITE} and/or {POSTGIS}")
    if args.steps - set(STEPS):
        ap.error(f"--steps: some of {', '.join(STEPS)}")
    if "service" in args.steps and shutil.which("wrk") is None:
        ap.error("the items page needs wrk (Debian's wrk); leave it out with --steps")
    return args


def of(runs: dict[str, list[Any]], measure: Callable[[Any], float]) -> dict[str, list[float]]:
    """Return `measure` of each run, by backend."""
    return {name: [measure(r) for r in rs] for name, rs in runs.items()}


def measure(args: argparse.Namespace, src: Path, stack: ExitStack) -> list[Row]:
    """Return the table's rows, after running every step on every backend (see the module);
    the backends' registries and the PostGIS cluster go when `stack` closes."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=src.parent)))
    backends = [
        Backend(SQLITE, folder) if name == SQLITE else stack.enter_context(postgis_backend(folder))
        for name in args.backends
    ]
    n = f"{args.n:,}"
    print(f"1. import of {n} areas, {args.runs} round(s)", flush=True)
    imports, urls = import_rounds(backends, src, args.n, args.runs)
    rows = [
        Row("create an empty registry", "s", of(imports, lambda r: r.create)),
        Row(f"import {n} areas, wall", "s", of(imports, lambda r: r.wall)),
        Row(f"import {n} areas, CPU", "s", of(imports, lambda r: r.cpu)),
    ]
    if "bbox" in args.steps:
        print(f"2. bbox queries, {args.queries} boxes", flush=True)
        times, count = bbox_rounds(urls, args.n, args.queries)
        ms = {k: [statistics.median(v) * 1e3] for k, v in times.items()}
        print("  median " + ", ".join(f"{k} {v[0]:.2f} ms" for k, v in ms.items()), flush=True)
        rows.append(Row(f"bbox query, median {count:.0f} areas", "ms", ms))
    if "service" in args.steps:
        print(f"3. items page, {args.workers} workers, {args.rounds} wrk round(s)", flush=True)
        wrk = service_rounds(backends, urls, src, args)
        if any(r.failed for rs in wrk.values() for r in rs):
            print("  NOTE: a wrk run had errors: its figures are not a rate")
        page = f"items page ~900 features, {args.workers} workers"
        rows += [
            Row(f"{page}: rate", "req/s", of(wrk, lambda r: r.rate), False, 1),
            Row(f"{page}: p50", "ms", of(wrk, lambda r: r.p50_ms), digits=1),
            Row(f"{page}: p99", "ms", of(wrk, lambda r: r.p99_ms), digits=1),
            Row(f"{page}: server + PostgreSQL CPU", "ms/req", of(wrk, cpu_per_request), digits=1),
        ]
    if "priority" in args.steps:
        print(f"4. prioritisation, scale {args.priority_scale:g}", flush=True)
        added, ranked = priority_rounds(backends, urls, args)
        scale = f"scale {args.priority_scale:g}"
        rows += [
            Row(
                f"prioritisation inputs added ({scale})",
                "s",
                {k: [v] for k, v in added.items()},
                digits=1,
            ),
            Row(f"prioritize end to end ({scale})", "s", of(ranked, lambda r: r.wall)),
        ]
        print(f"  rankings agree: {rankings_agree(ranked)}")
    return rows


def cpu_per_request(run: Run) -> float:
    """Return the milliseconds of the server's CPU (and its cluster's) per request of `run`."""
    return run.server_cpu_s * 1000 / max(run.requests, 1)


def main() -> None:
    args = arguments()
    signal.signal(signal.SIGTERM, _interrupt)  # so that the cleanup below runs on a kill too
    src = data_file("tessellated", args.n)
    print(f"data: {src.name}: {describe(layout_stats(src))}")
    print(f"{os.cpu_count()} cores; load average {_load()}", flush=True)
    started = time.monotonic()
    with ExitStack() as stack:
        try:
            rows = measure(args, src, stack)
        finally:  # a second Ctrl-C must not cut the cleanup short (servers, cluster, files)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print(f"\nload average {_load()}; whole run {(time.monotonic() - started) / 60:.1f} min")
    print(
        f"{args.n:,} areas; medians (range) of {args.runs} import and ranking round(s) and of "
        f"{args.rounds} wrk round(s) of {args.duration:g} s (-c{args.connections} "
        f"-t{args.threads}); CPU: this process, and the PostgreSQL cluster started here"
    )
    print_table(rows)
    rate = next((r.values for r in rows if r.unit == "req/s"), {})
    if rate.get(POSTGIS):
        got = statistics.median(rate[POSTGIS])
        verdict = "met" if got >= TARGET_RATE else "NOT met"
        lite = f"; SQLite {statistics.median(rate[SQLITE]):.1f} req/s" if rate.get(SQLITE) else ""
        print(
            f"PostGIS items page, {args.workers} workers: {got:.1f} req/s "
            f"(target >= {TARGET_RATE:g}: {verdict}){lite}"
        )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted: the servers and the PostGIS cluster are stopped")
