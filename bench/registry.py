"""Benchmark: import 100,000 hazard polygons, and bounding-box queries, against their peers.

Import (issue 13, item 6): the whole `landrelease import FILE --db NEW.gpkg` command, as a user
runs it (interpreter start, module imports, reading, every check, the write, the commit), after
`landrelease init --db NEW.gpkg` (timed apart: it is the same for any file). Its peers, each a
whole process too: (a) `python -c "import pyogrio; pyogrio.read_dataframe(FILE)"`, (b) the same
with `use_arrow=True`, (c) `ogr2ogr -f GPKG OUT.gpkg FILE`. The runs are paired and interleaved
(ours, a, b, c, ours, a, b, c, ..., the order rotated each round), after one untimed warm-up
round that leaves the bytecode cached, as after an install. Each ratio is the median of the
per-round ratios, with their range. Target: whole import <= 3x the one-liner (a), last line.

The benchmark data (bench/hazard_data.py, cached in bench/data/) are laid out as in a real
registry by default: clusters of adjacent areas that share edges, a few percent overlapping
another; `--layout random` uses the random star polygons of the benchmarks until 2026-11-29
(about a third of them overlap another).

Bounding box (~1,000 of 100,000 areas, geometries decoded, end to end from the store): our
R-tree query against a brute-force vectorised shapely scan of all 100,000 already in memory
(and GDAL's own bbox read, for reference). Target: ours <= 5 ms median, and faster than the scan.

Whole process (a user's wait for a command, interpreter start and imports included): our
`landrelease hazards list --bbox ... --json` against a `python -c` that reads the same box with
pyogrio; also `--help`, `hazards show` and `history`. Target: well under 0.5 s each.

Scaling (`--scale`): the paired import, ours against (a), at 10k, 30k, 100k and 300k areas
(fewer runs at 300k), in time per 1,000 areas and as the slope between sizes, in wall and
CPU time (the CPU time moves less with the load of a shared machine).

Usage:
    .venv/bin/python bench/registry.py [--n 100000] [--runs 5] [--layout tessellated|random]
    .venv/bin/python bench/registry.py --scale [--runs 5]
    .venv/bin/python bench/registry.py --floor    # also the in-process bare-write floor
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from hazard_data import LAYOUTS, data_file, describe, layout_stats

from landrelease.domain.geometry import COUNTRIES
from landrelease.registry import Registry
from landrelease.store import geopackage as gpkg

EXE = str(Path(sys.executable).with_name("landrelease"))
OURS = "landrelease import"
READ = "python -c read_dataframe"
ARROW = "python -c read_dataframe(use_arrow=True)"
OGR = "ogr2ogr -f GPKG"
SCALE_SIZES = (10_000, 30_000, 100_000, 300_000)


def timed(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


# -- whole processes -------------------------------------------------------------------------


def user_env() -> dict[str, str]:
    """Return the environment of a user's shell: bytecode written and read, as after an install."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("LANDRELEASE_ACTOR", "bench")
    return env


@dataclass(frozen=True)
class Sample:
    """One whole process: wall seconds, CPU seconds (user + system), peak memory in MiB."""

    wall: float
    cpu: float
    rss_mib: float


# Started from this (large) process, a child's peak RSS would count ours: Linux carries the
# high-water mark across fork and exec. A small launcher starts each command instead.
_LAUNCHER = """
import os, sys, time
t = time.perf_counter()
quiet = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ, file_actions=quiet)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t
print(os.waitstatus_to_exitcode(status), wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss)
"""


def run_process(cmd: Sequence[str], env: dict[str, str]) -> Sample:
    """Run `cmd` to its end and return what it cost; raise with its stderr if it failed.

    Its output is thrown away, its errors kept in a file (nothing waits on a full pipe); the
    time is taken around the command alone, by the launcher.
    """
    with tempfile.TemporaryFile() as err:
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, *cmd]
        res = subprocess.run(launcher, stdout=subprocess.PIPE, stderr=err, env=env, check=True)
        code, wall, cpu, rss = res.stdout.split()
        if int(code):
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} exited {int(code)}: {err.read().decode()}")
    return Sample(float(wall), float(cpu), int(rss) / 1024)


def paired_import(
    src: Path, runs: int, work: Path, peers: Sequence[str], *, warm_up: bool = True
) -> tuple[dict[str, list[Sample]], Path]:
    """Return the samples of our import (and init) and of each peer, run interleaved, and the
    registry our last run made.

    Each round runs ours and every peer once, the order rotated by one each round so that no
    command always follows the same one; a first round (untimed) caches the bytecode.
    """
    env = user_env()
    out_gpkg = work / "ogr2ogr-out.gpkg"
    read = f"import pyogrio; pyogrio.read_dataframe({str(src)!r})"
    arrow = f"import pyogrio; pyogrio.read_dataframe({str(src)!r}, use_arrow=True)"
    commands = {
        READ: [sys.executable, "-c", read],
        ARROW: [sys.executable, "-c", arrow],
        OGR: ["ogr2ogr", "-f", "GPKG", str(out_gpkg), str(src)],
    }
    samples: dict[str, list[Sample]] = {"landrelease init": [], OURS: []}
    samples.update({p: [] for p in peers})
    db = work / "ours.gpkg"
    order = [OURS, *peers]
    for rnd in range(-1 if warm_up else 0, runs):
        for name in order[rnd % len(order) :] + order[: rnd % len(order)]:
            if name == OURS:
                for f in work.glob("ours.gpkg*"):
                    f.unlink()
                init = run_process([EXE, "init", "--db", str(db)], env)
                s = run_process([EXE, "import", str(src), "--db", str(db)], env)
                if rnd >= 0:
                    samples["landrelease init"].append(init)
            else:
                out_gpkg.unlink(missing_ok=True)
                s = run_process(commands[name], env)
            if rnd >= 0:
                samples[name].append(s)
    out_gpkg.unlink(missing_ok=True)
    return samples, db


def spread(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    """Return 'median (min-max)' of `values`."""
    return (
        f"{fmt.format(statistics.median(values))} "
        f"({fmt.format(min(values))}-{fmt.format(max(values))})"
    )


def ratios(samples: dict[str, list[Sample]], ours: str, peer: str) -> list[float]:
    """Return the per-round ratios of wall times, ours over the peer's in the same round."""
    return [a.wall / b.wall for a, b in zip(samples[ours], samples[peer], strict=True)]


def print_samples(samples: dict[str, list[Sample]]) -> None:
    for name, ss in samples.items():
        print(
            f"  {name:<42} wall {spread([s.wall for s in ss])} s, "
            f"CPU {spread([s.cpu for s in ss])} s, "
            f"peak RSS {statistics.median([s.rss_mib for s in ss]):,.0f} MiB"
        )


def count_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM hazard_areas").fetchone()[0])


def available_peers() -> list[str]:
    if shutil.which("ogr2ogr"):
        return [READ, ARROW, OGR]
    print("note: ogr2ogr not found (Debian's gdal-bin): the ogr2ogr peer is skipped")
    return [READ, ARROW]


def scale(layout: str, runs: int) -> None:
    """Run the paired import (ours against the default read) from 10k to 300k areas."""
    rows = []
    for n in SCALE_SIZES:
        src = data_file(layout, n)
        print(describe(layout_stats(src)), flush=True)
        k = runs if n < 300_000 else max(3, runs // 2)
        with tempfile.TemporaryDirectory(dir=src.parent) as tmp:
            samples, db = paired_import(src, k, Path(tmp), [READ])
            assert count_rows(db) == n
        med = {
            (name, what): statistics.median(getattr(s, what) for s in samples[name])
            for name in (OURS, READ)
            for what in ("wall", "cpu")
        }
        r = ratios(samples, OURS, READ)
        rows.append((n, med, r))
        walls = {name: spread([s.wall for s in samples[name]]) for name in (OURS, READ)}
        print(
            f"  {n:>7,} areas, {k} paired runs: landrelease import {walls[OURS]} s "
            f"(CPU {med[OURS, 'cpu']:.2f} s, peak RSS "
            f"{statistics.median(s.rss_mib for s in samples[OURS]):,.0f} MiB), "
            f"read_dataframe {walls[READ]} s (CPU {med[READ, 'cpu']:.2f} s); "
            f"per 1,000 areas {med[OURS, 'wall'] / n * 1e6:.1f} ms vs "
            f"{med[READ, 'wall'] / n * 1e6:.1f} ms; ratio {spread(r)}",
            flush=True,
        )
    print("per 1,000 more areas (the slope between sizes: start-up left out), ours vs peer:")
    for (n0, m0, _), (n1, m1, _) in zip(rows, rows[1:], strict=False):
        per = 1e6 / (n1 - n0)  # ms per 1,000 areas
        wall = [(m1[name, "wall"] - m0[name, "wall"]) * per for name in (OURS, READ)]
        cpu = [(m1[name, "cpu"] - m0[name, "cpu"]) * per for name in (OURS, READ)]
        print(
            f"  {n0 // 1000}k -> {n1 // 1000}k: wall {wall[0]:.1f} ms vs {wall[1]:.1f} ms, "
            f"CPU {cpu[0]:.1f} ms vs {cpu[1]:.1f} ms"
        )
    print(
        "import ratio landrelease import / python -c read_dataframe, by size: "
        + "; ".join(f"{n // 1000}k {statistics.median(r):.2f}" for n, _, r in rows)
        + " (target <= 3)"
    )


# -- in process ------------------------------------------------------------------------------


def bare_write(src: Path, db: Path) -> None:
    """The least an import must do: read through Arrow, encode the blobs, insert the rows
    into one table, copy them as JSON into a second (the audit) and commit. No checks, no
    areas or keys, no R-tree, no indexes but the unique ref: a floor, not a peer."""
    gdf = pyogrio.read_dataframe(src, use_arrow=True)
    blobs = gpkg.encode(np.asarray(gdf.geometry.values, dtype=object), multi=True)
    names = [c for c in gdf.columns if c != "geometry"]
    refs = [f"UA-2024-{i:05d}" for i in range(len(gdf))]
    rows = zip(refs, *(gdf[c].tolist() for c in names), blobs, strict=True)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = NORMAL")
        columns = ", ".join(names)
        conn.execute(
            f"CREATE TABLE t (fid INTEGER PRIMARY KEY, ref TEXT UNIQUE, {columns}, geom BLOB)"
        )
        conn.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY, ref TEXT, state TEXT, geom BLOB)")
        conn.execute("BEGIN")
        marks = ",".join("?" * (len(names) + 2))
        conn.executemany(f"INSERT INTO t (ref, {', '.join(names)}, geom) VALUES ({marks})", rows)
        state = ", ".join(f"'{c}', {c}" for c in ["ref", *names])
        conn.execute(
            f"INSERT INTO audit (ref, state, geom) SELECT ref, json_object({state}), geom FROM t"
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def bbox_queries(
    db: Path, src: Path, n: int, queries: int
) -> tuple[float, float, float, float, tuple[float, float, float, float]]:
    """Return median milliseconds of ours, the shapely scan and GDAL's bbox read, the median
    count of areas per box, and the first box; boxes are sized from the data's density."""
    gdf = pyogrio.read_dataframe(src)
    minx, miny, maxx, maxy = COUNTRIES["UA"].bbox
    side = np.sqrt(1000 / n * (maxx - minx - 0.1) * (maxy - miny - 0.1))
    rng = np.random.default_rng(11)
    boxes = box_list(rng, side, queries)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    shapely.prepare(geoms)
    cols = ("ref", "status", "area_m2", "version")
    with Registry.open(db) as reg:
        ours, scan, counts = [], [], []
        for box in boxes:
            t = time.perf_counter()
            res = reg.hazard_columns(bbox=box, columns=cols)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            hit = shapely.intersects(shapely.box(*box), geoms)
            scanned = geoms[hit]
            scan.append(time.perf_counter() - t)
            assert len(res["ref"]) == len(scanned), (box, len(res["ref"]), len(scanned))
            counts.append(len(scanned))
    gdal = [timed(lambda b=b: pyogrio.read_dataframe(src, bbox=b), 1)[0] for b in boxes[:20]]
    return (
        statistics.median(ours) * 1e3,
        statistics.median(scan) * 1e3,
        statistics.median(gdal) * 1e3,
        statistics.median(counts),
        boxes[0],
    )


def box_list(
    rng: np.random.Generator, side: float, count: int
) -> list[tuple[float, float, float, float]]:
    minx, miny, maxx, maxy = COUNTRIES["UA"].bbox
    return [
        (x, y, x + side, y + side)
        for x, y in zip(
            rng.uniform(minx + 0.05, maxx - side - 0.05, count),
            rng.uniform(miny + 0.05, maxy - side - 0.05, count),
            strict=True,
        )
    ]


def process_times(db: Path, src: Path, box: tuple[float, ...], runs: int) -> dict[str, float]:
    """Return the median wall time of whole commands, ours and the peer's, run interleaved."""
    text = ",".join(f"{v:.6f}" for v in box)
    ref = (
        subprocess.run(
            [EXE, "hazards", "list", "--db", str(db), "--bbox", text, "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.split('"ref": "')[1]
        .split('"')[0]
    )
    commands = {
        "landrelease --help": [EXE, "--help"],
        "landrelease hazards show": [EXE, "hazards", "show", ref, "--db", str(db)],
        "landrelease history": [EXE, "history", ref, "--db", str(db)],
        "landrelease hazards list --bbox --json": [
            EXE,
            "hazards",
            "list",
            "--db",
            str(db),
            "--bbox",
            text,
            "--json",
        ],
        "python -c pyogrio bbox read": [
            sys.executable,
            "-c",
            f"import pyogrio; pyogrio.read_dataframe({str(src)!r}, bbox=({text}))",
        ],
    }
    env = user_env()  # as installed for a user: bytecode cached, written by a first run
    times: dict[str, list[float]] = {k: [] for k in commands}
    for run in range(runs + 1):
        for name, cmd in commands.items():
            s = run_process(cmd, env)
            if run:
                times[name].append(s.wall)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5, help="paired rounds (at least 3)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--layout", choices=LAYOUTS, default="tessellated")
    ap.add_argument("--scale", action="store_true", help="the import from 10k to 300k areas")
    ap.add_argument("--floor", action="store_true", help="also time the in-process bare write")
    args = ap.parse_args()
    if args.runs < 3:
        ap.error("--runs: medians of at least 3 paired runs")
    if args.scale:
        scale(args.layout, args.runs)
        return

    src = data_file(args.layout, args.n)
    print(f"{src.name}: {describe(layout_stats(src))}", flush=True)
    peers = available_peers()
    with tempfile.TemporaryDirectory(dir=src.parent) as tmp:
        work = Path(tmp)
        samples, db = paired_import(src, args.runs, work, peers)
        assert count_rows(db) == args.n
        print(f"whole processes, {args.runs} paired rounds (median, min-max):")
        print_samples(samples)
        if args.floor:
            floor, _ = timed(
                lambda: bare_write(src, Path(tempfile.mkdtemp(dir=work)) / "f.db"), args.runs
            )
            print(f"in process, bare write with no checks (a floor): {floor:.3f} s")

        ours_ms, scan_ms, gdal_ms, count, box = bbox_queries(db, src, args.n, args.queries)
        whole = process_times(db, src, box, max(args.runs, 5))
    print(
        f"bbox query, median {count:.0f} areas of {args.n:,} ({args.queries} boxes): "
        f"landrelease {ours_ms:.2f} ms, brute-force shapely scan {scan_ms:.2f} ms, "
        f"GDAL bbox read {gdal_ms:.2f} ms"
    )
    print(f"bbox ratio landrelease/scan: {ours_ms / scan_ms:.2f} (target < 1; ours <= 5 ms)")
    print(
        "whole process, median wall time: " + "; ".join(f"{k} {v:.3f} s" for k, v in whole.items())
    )
    bbox_cli = whole["landrelease hazards list --bbox --json"]
    print(
        "whole-process ratio landrelease bbox listing / python -c pyogrio bbox read: "
        f"{bbox_cli / whole['python -c pyogrio bbox read']:.2f} (target: each command < 0.5 s)"
    )
    both = [
        (i.wall + o.wall) / r.wall
        for i, o, r in zip(samples["landrelease init"], samples[OURS], samples[READ], strict=True)
    ]
    cpu = [a.cpu / b.cpu for a, b in zip(samples[OURS], samples[READ], strict=True)]
    print(f"CPU time ratio (all threads) {OURS} / {READ}: {spread(cpu)}")
    print(f"import ratio (landrelease init + import) / {READ}: {spread(both)}")
    for peer in reversed(peers[1:]):
        print(f"import ratio {OURS} / {peer}: {spread(ratios(samples, OURS, peer))}")
    print(
        f"import ratio {OURS} / {READ}, whole processes: "
        f"{spread(ratios(samples, OURS, READ))} (target <= 3)"
    )


if __name__ == "__main__":
    main()
