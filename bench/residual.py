"""Benchmark: residual Monte Carlo, 100,000 areas x 2,000 draws at one date.

Ours: `landrelease.residual.estimate_batch` (vectorised, chunks on a thread pool). Peer: the
same per-area computation written as a plain Python loop over areas with numpy inside each area
(the same draws per area: triangular count rounded stochastically, uniform emplacement date,
Beta fractions drawn once per draw and profile; mean, 5th/95th percentile, P(at least one live)),
run on a 1,000-area subsample and scaled x100. The last line prints the ratio.

    .venv/bin/python bench/residual.py [--areas 100000] [--draws 2000] [--peer-areas 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time

import numpy as np

from landrelease.residual import EventArrays, estimate_batch, load_profiles
from landrelease.residual.model import StageTimes
from landrelease.residual.montecarlo import FractionDraws


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


def loop_per_area(ev: EventArrays, at_day: float, draws: int, seed: int) -> np.ndarray:
    """The peer: a plain per-area Python loop, numpy inside each area."""
    rng = np.random.default_rng(seed)
    fractions = FractionDraws.draw(ev.profiles, draws, rng)
    times = [StageTimes.of(p) for p in ev.profiles]
    out = np.zeros((ev.n_areas, 4))
    for i in range(len(ev)):
        p = int(ev.profile[i])
        low, best, high = ev.count_low[i], ev.count_best[i], ev.count_high[i]
        if high > low:
            n = np.floor(rng.triangular(low, best, high, draws) + rng.random(draws))
        else:
            n = np.full(draws, best)
        emplaced = ev.start_day[i] + rng.random(draws) * (ev.end_day[i] - ev.start_day[i])
        age = at_day - emplaced
        t = times[p]
        not_due = np.clip((t.sd_end - age) * t.sd_slope, 0.0, 1.0)
        f_sd = fractions.f_sd[p]
        s = fractions.dud[p] * (f_sd + not_due * (1 - f_sd))
        s = s * np.where(age >= t.sda, fractions.f_sda[p], 1.0) * (age >= 0)
        live = n * s
        p05, p95 = np.percentile(live, [5, 95])
        out[ev.area[i]] = live.mean(), p05, p95, 1 - np.mean((1 - s) ** n)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=100_000)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--peer-areas", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    ev = make_areas(args.areas)
    at_day = float(dt.date(2024, 6, 1).toordinal())
    print(
        f"{args.areas:,} areas x {args.draws:,} draws, {os.cpu_count()} cores, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
    )
    ours, cpu = [], []
    for _ in range(args.repeat):
        c0, t0 = os.times(), time.perf_counter()
        result = estimate_batch(ev, at_day, draws=args.draws, seed=1)
        ours.append(time.perf_counter() - t0)
        c1 = os.times()
        cpu.append(c1.user - c0.user + c1.system - c0.system)
    ours_s = float(np.median(ours))
    print(
        f"ours (estimate_batch, threads): median {ours_s:.2f} s of {args.repeat} runs "
        f"({', '.join(f'{t:.2f}' for t in ours)}; CPU {', '.join(f'{c:.1f}' for c in cpu)} s); "
        f"mean live over areas {result.mean.mean():.2f}, median p_any {np.median(result.p_any):.3f}"
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
