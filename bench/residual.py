"""Benchmark: residual Monte Carlo, 100,000 areas x 2,000 draws at one date, with safe dates.

Ours, measured as a user reaches it: `Registry.residual_estimates` (what `landrelease residual
all` calls) on a registry of `--areas` hazard areas with one synthetic contamination event
each: the bulk reads of events, items and areas, the checks, the arrays, and
`residual.estimate_batch` (vectorised, chunks on a thread pool) with the threshold's safe-date
search. Also `estimate_batch` alone on the same events, to show what the door adds.

The registry is built once per size with the CLI, `landrelease init` and `landrelease import`
of the benchmark's tessellated areas (bench/hazard_data.py) and of an events file generated
here, labelled synthetic; both are cached in bench/data/.

Peer: the same per-area computation written as a plain Python loop over areas with numpy
inside each area (the same draws per area: fractions drawn once per draw and profile,
triangular count rounded stochastically, uniform emplacement date; then the mean, 5th/95th
percentile of the expected count, the binomial draws of the actual count and its shortest 90%
range, P(at least one live), and the safe day by bisection over the same draws), run on a
`--peer-areas` subsample and scaled. The last line prints the ratio.

    .venv/bin/python bench/residual.py [--areas 100000] [--draws 2000] [--peer-areas 1000]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from hazard_data import DATA, data_file

from landrelease.registry import Registry
from landrelease.residual import EventArrays, estimate_batch, load_profiles
from landrelease.residual.model import StageTimes

EXE = str(Path(sys.executable).with_name("landrelease"))
AT = dt.date(2024, 6, 1)
THRESHOLD = 0.01
SYNTHETIC = "synthetic benchmark"


def make_areas(n_areas: int, seed: int = 20240501) -> EventArrays:
    """Return one event per area: mixed profiles, counts and emplacement ranges (fixed seed)."""
    rng = np.random.default_rng(seed)
    profiles = tuple(load_profiles().values())
    best = rng.integers(1, 400, n_areas).astype(np.float64)
    ranged = rng.random(n_areas) < 0.7  # 70% of counts are ranges, 30% a single figure
    low = np.where(ranged, np.floor(best * rng.uniform(0.3, 1.0, n_areas)), best)
    high = np.where(ranged, np.ceil(best * rng.uniform(1.0, 3.0, n_areas)), best)
    start = dt.date(2022, 2, 24).toordinal() + rng.integers(0, 700, n_areas).astype(np.float64)
    span = np.where(rng.random(n_areas) < 0.6, rng.integers(1, 120, n_areas), 0)
    return EventArrays(
        area=np.arange(n_areas, dtype=np.int64),
        profile=rng.integers(0, len(profiles), n_areas).astype(np.int64),
        count_low=low,
        count_best=best,
        count_high=high,
        start_day=start,
        end_day=start + span,
        profiles=profiles,
        n_areas=n_areas,
    )


# -- the registry ---------------------------------------------------------------------------


def registry_of(n_areas: int) -> Path:
    """Return the cached registry of `n_areas` areas with one synthetic event each, building
    it with `landrelease init` and `landrelease import` on first use."""
    db = DATA / f"residual-registry-v1-{n_areas}.gpkg"
    if db.exists():
        return db
    src = data_file("tessellated", n_areas)
    part = db.with_name(f"{db.stem}.part.gpkg")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{part}{suffix}").unlink(missing_ok=True)
    t = time.perf_counter()
    print(f"building a registry of {n_areas:,} areas with one synthetic event each -> {db}")
    env = {**os.environ, "LANDRELEASE_ACTOR": SYNTHETIC}
    quiet = {"check": True, "env": env, "stdout": subprocess.DEVNULL}  # its overlap warnings
    subprocess.run([EXE, "init", "--db", str(part)], **quiet)
    subprocess.run([EXE, "import", str(src), "--db", str(part)], **quiet)
    with Registry.open(part) as reg:
        refs = sorted(reg.hazard_columns(columns=["ref"], geometry=False)["ref"])
    events = part.with_name(f"residual-events-v1-{n_areas}.csv")
    write_events(events, refs, make_areas(len(refs)))
    subprocess.run([EXE, "import", str(events), "--kind", "events", "--db", str(part)], **quiet)
    part.rename(db)
    print(f"  built in {time.perf_counter() - t:.1f} s")
    return db


def write_events(path: Path, refs: list[str], ev: EventArrays) -> None:
    """Write one contamination event per area ref (the k-th ref gets area k of `ev`)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                "area_ref",
                "profile_id",
                "quantity_low",
                "quantity_best",
                "quantity_high",
                "emplaced_on",
                "emplaced_until",
                "source",
            ]
        )
        for k, ref in enumerate(refs):
            start, end = int(ev.start_day[k]), int(ev.end_day[k])
            out.writerow(
                [
                    ref,
                    ev.profiles[int(ev.profile[k])].id,
                    int(ev.count_low[k]),
                    int(ev.count_best[k]),
                    int(ev.count_high[k]),
                    dt.date.fromordinal(start).isoformat(),
                    dt.date.fromordinal(end).isoformat() if end > start else "",
                    f"{SYNTHETIC} (generated by bench/residual.py)",
                ]
            )


# -- the peer ---------------------------------------------------------------------------------


def loop_per_area(ev: EventArrays, at_day: float, draws: int, seed: int) -> np.ndarray:
    """The peer: a plain per-area Python loop, numpy inside each area.

    Returns per area: mean, p05, p95 of the expected count, the actual count's 90% range
    (low, high), P(at least one live) and the safe day (NaN: never below the threshold).
    """
    rng = np.random.default_rng(seed)
    n_prof = len(ev.profiles)
    tables = {s: np.ones((n_prof, draws)) for s in ("dud", "self_destruct", "self_deactivate")}
    for i, profile in enumerate(ev.profiles):
        for name, frac in profile.fractions().items():
            tables[name][i] = frac.sample(rng, draws)
    tables_of = [
        (tables["dud"][p], tables["self_destruct"][p], tables["self_deactivate"][p])
        for p in range(n_prof)
    ]
    times = [StageTimes.of(p) for p in ev.profiles]
    lasts = [p.last_change_days for p in ev.profiles]
    out = np.full((ev.n_areas, 7), np.nan)
    keep = math.ceil(0.9 * draws)
    for i in range(len(ev)):
        p = int(ev.profile[i])
        low, best, high = ev.count_low[i], ev.count_best[i], ev.count_high[i]
        if high > low:
            n = np.floor(rng.triangular(low, best, high, draws) + rng.random(draws))
        else:
            n = np.full(draws, best)
        emplaced = ev.start_day[i] + rng.random(draws) * (ev.end_day[i] - ev.start_day[i])
        s = _alive(at_day, emplaced, times[p], *tables_of[p])
        live = n * s
        p05, p95 = np.percentile(live, [5, 95])
        actual = np.sort(rng.binomial(n.astype(np.int64), s))
        j = int(np.argmin(actual[keep - 1 :] - actual[: draws - keep + 1]))

        def p_any(day: float, n: np.ndarray = n, e: np.ndarray = emplaced, p: int = p) -> float:
            s = _alive(day, e, times[p], *tables_of[p])
            return float(1 - np.mean((1 - s) ** n))

        lo, hi = math.ceil(ev.end_day[i]), math.ceil(ev.end_day[i] + lasts[p]) + 1
        safe = np.nan
        if p_any(hi) < THRESHOLD:
            if p_any(lo) < THRESHOLD:
                hi = lo
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if p_any(mid) < THRESHOLD else (mid, hi)
            safe = hi
        row = (live.mean(), p05, p95, actual[j], actual[j + keep - 1], p_any(at_day), safe)
        out[ev.area[i]] = row
    return out


def _alive(
    day: float,
    emplaced: np.ndarray,
    t: StageTimes,
    dud: np.ndarray,
    f_sd: np.ndarray,
    f_sda: np.ndarray,
) -> np.ndarray:
    """Return S per draw at `day`: dud x (f_sd + R (1 - f_sd)) x B, 0 before emplacement."""
    age = day - emplaced
    not_due = np.clip((t.sd_end - age) * t.sd_slope, 0.0, 1.0) if t.sd_end < np.inf else 1.0
    s = dud * (f_sd + not_due * (1 - f_sd))
    return s * np.where(age >= t.sda, f_sda, 1.0) * (age >= 0)


# -- the run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=100_000)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--peer-areas", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    db = registry_of(args.areas)
    at_day = float(AT.toordinal())
    print(
        f"{args.areas:,} areas x {args.draws:,} draws, {os.cpu_count()} cores, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
    )
    ours, cpu, batch = [], [], []
    ev = make_areas(args.areas)
    with Registry.open(db) as reg:
        for _ in range(args.repeat):  # the two paths interleaved, so that load hits both
            c0, t0 = os.times(), time.perf_counter()
            table = reg.residual_estimates(AT, threshold=THRESHOLD, draws=args.draws, seed=1)
            ours.append(time.perf_counter() - t0)
            c1 = os.times()
            cpu.append(c1.user - c0.user + c1.system - c0.system)
            t0 = time.perf_counter()
            estimate_batch(ev, at_day, draws=args.draws, seed=1, threshold=THRESHOLD)
            batch.append(time.perf_counter() - t0)
    ours_s, batch_s = float(np.median(ours)), float(np.median(batch))
    never = sum(d is None for d in table.safe_date)
    print(
        f"ours (Registry.residual_estimates, {len(table):,} areas read from the registry): "
        f"median {ours_s:.2f} s of {args.repeat} runs ({', '.join(f'{t:.2f}' for t in ours)}; "
        f"CPU {', '.join(f'{c:.1f}' for c in cpu)} s); mean expected live "
        f"{table.expected.mean():.2f}, median P(any) {np.median(table.p_any_live):.3f}, "
        f"{never:,} areas never safe"
    )
    print(
        f"  of which estimate_batch alone (the same events in memory): median {batch_s:.2f} s "
        f"({', '.join(f'{t:.2f}' for t in batch)})"
    )

    sub = make_areas(args.peer_areas, seed=7)
    t0 = time.perf_counter()
    loop_per_area(sub, at_day, args.draws, seed=1)
    peer_sub = time.perf_counter() - t0
    scale = args.areas / args.peer_areas
    peer_s = peer_sub * scale
    print(
        f"peer (per-area Python loop, numpy per area): {peer_sub:.2f} s for "
        f"{args.peer_areas:,} areas, scaled x{scale:g} = {peer_s:.1f} s"
    )
    print(f"ratio peer/ours: {peer_s / ours_s:.1f}x (ours {ours_s:.2f} s, peer {peer_s:.1f} s)")


if __name__ == "__main__":
    main()
