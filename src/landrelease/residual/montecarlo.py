"""Monte Carlo over the uncertain inputs: live devices per area, their range, P(at least one).

Each draw j takes the profile's failure fractions from their Beta distributions (once per draw
and profile, shared by every area: a device type that fails more fails more everywhere), and per
event a count N from triangular(low, best, high), rounded stochastically to a whole number (floor
of N + U, which keeps the mean), and an emplacement date uniform over its range. Per area and
draw: live = sum N x S(t) and P(none live) = prod (1 - S)^N; reported are the mean and the 5th
and 95th percentiles of live, and P(at least one live) = 1 - mean of P(none live).

Areas are processed in fixed chunks, each with its own generator spawned from one SeedSequence,
on a thread pool (numpy releases the GIL): a seed gives the same result whatever the threads do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from landrelease.domain.errors import ValidationError
from landrelease.domain.records import ContaminationEvent
from landrelease.residual.model import (
    EventArrays,
    StageTimes,
    events_to_arrays,
    expected_live,
)
from landrelease.residual.profiles import DeviceProfile, load_profiles

FloatArray = NDArray[np.float64]

CHUNK_AREAS = 100  # fixed, so that chunk k always uses generator k; small keeps scratch in cache
DEFAULT_THRESHOLD = 0.01
QUANTILES = (0.05, 0.95)


@dataclass(frozen=True)
class FractionDraws:
    """Failure fractions drawn per profile (rows) and draw (columns); 1.0 for an absent stage."""

    dud: FloatArray
    f_sd: FloatArray
    c_sd: FloatArray  # 1 - f_sd
    f_sda: FloatArray
    sd_end: FloatArray
    sd_slope: FloatArray
    sda: FloatArray
    has_dud: NDArray[np.bool_]
    has_sd: NDArray[np.bool_]
    has_sda: NDArray[np.bool_]

    @classmethod
    def draw(
        cls, profiles: Sequence[DeviceProfile], draws: int, rng: np.random.Generator
    ) -> FractionDraws:
        shape = (len(profiles), draws)
        tables = {name: np.ones(shape) for name in ("dud", "self_destruct", "self_deactivate")}
        for i, profile in enumerate(profiles):
            for name, frac in profile.fractions().items():
                tables[name][i] = rng.beta(frac.alpha, frac.beta, size=draws)
        times = [StageTimes.of(p) for p in profiles]
        return cls(
            dud=tables["dud"],
            f_sd=tables["self_destruct"],
            c_sd=1.0 - tables["self_destruct"],
            f_sda=tables["self_deactivate"],
            sd_end=np.array([t.sd_end for t in times]),
            sd_slope=np.array([t.sd_slope for t in times]),
            sda=np.array([t.sda for t in times]),
            has_dud=np.array([p.dud is not None for p in profiles], dtype=bool),
            has_sd=np.array([p.self_destruct is not None for p in profiles], dtype=bool),
            has_sda=np.array([p.self_deactivate is not None for p in profiles], dtype=bool),
        )


class Workspace:
    """Reusable scratch arrays of one thread: fresh large arrays per chunk cost page faults."""

    def __init__(self, draws: int) -> None:
        self.draws = draws
        self._bufs: dict[tuple[str, Any], NDArray[Any]] = {}

    def get(self, name: str, rows: int, dtype: Any = np.float64) -> NDArray[Any]:
        """Return a (rows, draws) scratch array called `name` (contents undefined)."""
        key = (name, np.dtype(dtype))
        buf = self._bufs.get(key)
        if buf is None or buf.shape[0] < rows:
            buf = self._bufs[key] = np.empty((rows, self.draws), dtype=dtype)
        return buf[:rows]


@dataclass(frozen=True)
class EventDraws:
    """Per event (rows) and draw (columns): the whole-number count and the emplacement day."""

    count: FloatArray
    emplaced: FloatArray

    @classmethod
    def draw(
        cls,
        ev: EventArrays,
        draws: int,
        rng: np.random.Generator,
        ws: Workspace | None = None,
    ) -> EventDraws:
        ws = ws or Workspace(draws)
        n_events = len(ev)
        count = ws.get("count", n_events)
        count[:] = ev.count_best[:, None]
        rows = np.flatnonzero(ev.count_high > ev.count_low)
        if len(rows):
            k = len(rows)
            low, best, high = (a[rows, None] for a in (ev.count_low, ev.count_best, ev.count_high))
            width = high - low
            u, a, left = ws.get("u", k), ws.get("a", k), ws.get("left", k)
            below = ws.get("below", k, np.bool_)
            rng.random(out=u)
            # Inverse CDF of triangular(low, best, high), in place. With a = u (high - low):
            # low + sqrt(a (best - low)) if a < best - low,
            # else high - sqrt((high - low - a)(high - best)).
            np.multiply(u, width, out=a)
            np.less(a, best - low, out=below)
            np.multiply(a, best - low, out=left)
            np.sqrt(left, out=left)
            left += low
            np.subtract(width, a, out=a)
            a *= high - best
            np.sqrt(a, out=a)
            np.subtract(high, a, out=a)
            np.copyto(a, left, where=below)
            # Stochastic rounding to a whole number of devices: floor(N + U) keeps the mean.
            a += rng.random(out=u)
            np.floor(a, out=a)
            count[rows] = a
        emplaced = ws.get("emplaced", n_events)
        emplaced[:] = ev.start_day[:, None]
        rows = np.flatnonzero(ev.end_day > ev.start_day)
        if len(rows):
            u = ws.get("u", len(rows))
            rng.random(out=u)
            u *= (ev.end_day - ev.start_day)[rows, None]
            emplaced[rows] += u
        return cls(count, emplaced)


def live_by_area(
    ev: EventArrays,
    fractions: FractionDraws,
    events: EventDraws,
    at_day: float,
    ws: Workspace | None = None,
) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    """Return (live, P(none live), area numbers): per area (rows) and draw, at day `at_day`.

    The arrays may be views of `ws`: use them before the next call with the same workspace.
    """
    ws = ws or Workspace(events.count.shape[1])
    p = ev.profile
    n = len(ev)
    age, s, tmp = ws.get("age", n), ws.get("s", n), ws.get("tmp", n)
    mask = ws.get("mask", n, np.bool_)
    np.subtract(at_day, events.emplaced, out=age)
    # S = dud x (f_sd + R (1 - f_sd)) x B, in place to spare memory traffic.
    np.subtract(fractions.sd_end[p, None], age, out=s)
    s *= fractions.sd_slope[p, None]
    np.clip(s, 0.0, 1.0, out=s)  # R, the share not yet due to self-destruct
    if fractions.has_sd[p].any():
        # f_sd + R (1 - f_sd) rather than 1 - (1 - R)(1 - f_sd): exactly f_sd once R is 0.
        np.take(fractions.c_sd, p, axis=0, out=tmp)
        s *= tmp
        np.take(fractions.f_sd, p, axis=0, out=tmp)
        s += tmp
    else:
        s.fill(1.0)
    if fractions.has_sda[p].any():
        np.take(fractions.f_sda, p, axis=0, out=tmp)
        np.less(age, fractions.sda[p, None], out=mask)
        np.copyto(tmp, 1.0, where=mask)
        s *= tmp
    if fractions.has_dud[p].any():
        np.take(fractions.dud, p, axis=0, out=tmp)
        s *= tmp
    if age.min() < 0:  # devices whose emplacement date is still to come
        np.less(age, 0.0, out=mask)
        np.copyto(s, 0.0, where=mask)
    live = ws.get("live", n)
    np.multiply(events.count, s, out=live)
    none = np.subtract(1.0, s, out=s)
    np.power(none, events.count, out=none)
    starts = np.flatnonzero(np.r_[True, ev.area[1:] != ev.area[:-1]])
    if len(starts) < n:
        live = np.add.reduceat(live, starts, axis=0)
        none = np.multiply.reduceat(none, starts, axis=0)
    return live, none, ev.area[starts]


def _quantiles(x: FloatArray, qs: Sequence[float], ws: Workspace | None = None) -> list[FloatArray]:
    """Return the qs-quantiles of each row (linear interpolation, as numpy's default).

    Sorted as float32: half the memory traffic, and 7 significant digits are plenty here.
    """
    srt = (ws or Workspace(x.shape[1])).get("sorted", x.shape[0], np.float32)
    srt[:] = x
    srt.sort(axis=1)
    d = x.shape[1]
    out = []
    for q in qs:
        pos = q * (d - 1)
        lo = int(math.floor(pos))
        hi = min(lo + 1, d - 1)
        frac = pos - lo
        out.append(srt[:, lo].astype(np.float64) * (1.0 - frac) + srt[:, hi] * frac)
    return out


@dataclass(frozen=True)
class BatchEstimate:
    """Per area: the mean, 5th and 95th percentiles of live devices, and P(at least one live)."""

    mean: FloatArray
    p05: FloatArray
    p95: FloatArray
    p_any: FloatArray
    draws: int
    seed: int


def _seed_sequence(seed: int | None) -> np.random.SeedSequence:
    """Return the run's SeedSequence; without a seed, pick one that fits JSON (below 2**63)."""
    if seed is None:
        seed = int(np.random.SeedSequence().entropy) % (2**63)  # type: ignore[arg-type]
    if seed < 0:
        raise ValidationError("estimate", "seed", f"must be 0 or more, got {seed}")
    return np.random.SeedSequence(seed)


def estimate_batch(
    ev: EventArrays,
    at_day: float,
    *,
    draws: int = 2000,
    seed: int | None = None,
    workers: int | None = None,
) -> BatchEstimate:
    """Return the Monte Carlo estimate for every area of `ev` at day number `at_day`.

    The vectorised path for many areas (no safe date). Areas without events get zeros.
    """
    if draws < 1:
        raise ValidationError("estimate", "draws", f"must be 1 or more, got {draws}")
    ss = _seed_sequence(seed)
    n_chunks = max(1, math.ceil(ev.n_areas / CHUNK_AREAS))
    children = ss.spawn(1 + n_chunks)
    fractions = FractionDraws.draw(ev.profiles, draws, np.random.default_rng(children[0]))
    out = {k: np.zeros(ev.n_areas) for k in ("mean", "p05", "p95", "p_any")}
    bounds = np.searchsorted(ev.area, np.arange(n_chunks + 1) * CHUNK_AREAS)

    local = threading.local()

    def run(k: int) -> None:
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        if hi == lo:
            return
        if not hasattr(local, "ws"):
            local.ws = Workspace(draws)
        ws = local.ws
        chunk = ev.take(slice(lo, hi))
        rng = np.random.default_rng(children[1 + k])
        drawn = EventDraws.draw(chunk, draws, rng, ws)
        live, none, areas = live_by_area(chunk, fractions, drawn, at_day, ws)
        out["mean"][areas] = live.mean(axis=1)
        out["p05"][areas], out["p95"][areas] = _quantiles(live, QUANTILES, ws)
        out["p_any"][areas] = 1.0 - none.mean(axis=1)

    workers = workers or min(os.cpu_count() or 1, n_chunks)
    if workers == 1:
        for k in range(n_chunks):
            run(k)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, range(n_chunks)))
    return BatchEstimate(draws=draws, seed=_seed_of(ss), **out)


def _seed_of(ss: np.random.SeedSequence) -> int:
    entropy = ss.entropy
    return int(entropy) if isinstance(entropy, int) else int(np.asarray(entropy)[0])


# --- one area: estimate, safe date, timeline ----------------------------------------------


@dataclass
class AreaDraws:
    """The draws of one area, kept so that any date can be evaluated with the same draws."""

    ev: EventArrays
    fractions: FractionDraws
    events: EventDraws
    seed: int

    @classmethod
    def draw(cls, ev: EventArrays, draws: int, seed: int | None) -> AreaDraws:
        if draws < 1:
            raise ValidationError("estimate", "draws", f"must be 1 or more, got {draws}")
        ss = _seed_sequence(seed)
        c_frac, c_events = ss.spawn(2)
        area_ev = dataclasses.replace(ev, area=np.zeros(len(ev), dtype=np.int64), n_areas=1)
        return cls(
            area_ev,
            FractionDraws.draw(ev.profiles, draws, np.random.default_rng(c_frac)),
            EventDraws.draw(area_ev, draws, np.random.default_rng(c_events)),
            _seed_of(ss),
        )

    def at(self, day: float) -> tuple[FloatArray, float]:
        """Return (live devices per draw, P(at least one live)) at day number `day`."""
        if len(self.ev) == 0:
            return np.zeros(self.events.count.shape[1]), 0.0
        live, none, _ = live_by_area(self.ev, self.fractions, self.events, day)
        return live[0], float(1.0 - none[0].mean())

    @property
    def last_day(self) -> float:
        """The day after which nothing changes: every device emplaced and past every stage."""
        if len(self.ev) == 0:
            return 0.0
        last = max(p.last_change_days for p in self.ev.profiles)
        return float(np.max(self.ev.end_day)) + last


def find_safe_date(draws: AreaDraws, threshold: float) -> tuple[dt.date | None, str]:
    """Return the first date on which P(at least one live) < threshold, or None, and why.

    Searched from the last emplacement date on, where P can only fall: with the draws held
    fixed, each draw's S(t) is non-increasing.
    """
    if len(draws.ev) == 0:
        return None, "no contamination events: nothing to estimate"
    first = math.ceil(float(np.max(draws.ev.end_day)))
    last = math.ceil(draws.last_day) + 1
    _, p_end = draws.at(last)
    pct = _pct(threshold)
    if p_end >= threshold:
        return None, _never_reason(draws, p_end, threshold)
    lo, hi = first, last
    if draws.at(lo)[1] < threshold:
        hi = lo
    while hi - lo > 1:  # invariant: P(lo) >= threshold > P(hi)
        mid = (lo + hi) // 2
        if draws.at(mid)[1] < threshold:
            hi = mid
        else:
            lo = mid
    day = dt.date.fromordinal(hi)
    if p_end > 0:
        tail = (
            f"it never reaches zero: it levels off at {_pct(p_end)} "
            "(non-persistent never means zero)"
        )
    else:
        tail = "it then stays at zero"
    return day, f"the chance at least one is still live falls below {pct} on {day}; {tail}"


def _pct(p: float) -> str:
    """Return a probability as a short percentage ("1%", "0.39%", "1.0e-06")."""
    if p == 0:
        return "0%"
    return f"{p:.1e}" if p < 1e-4 else f"{p * 100:.3g}%"


def _never_reason(draws: AreaDraws, p_end: float, threshold: float) -> str:
    persistent = [p.id for p in draws.ev.profiles if p.persistent]
    floors = [p for p in draws.ev.profiles if not p.persistent]
    head = f"the chance at least one is still live never falls below {_pct(threshold)}"
    parts = []
    if persistent:
        parts.append(
            f"{', '.join(persistent)} never self-destructs or self-deactivates: devices stay "
            "live until cleared"
        )
    for p in floors:
        if p.dud is not None and p.self_destruct is None and p.self_deactivate is None:
            parts.append(
                f"{p.id}: duds ({p.dud.mean:.2g} of those delivered) stay live; the model gives "
                "them no decay, since no public data on inert fractions over time exists"
            )
        else:
            parts.append(
                f"{p.id}: a fraction {p.floor:.2g} never self-destructs nor self-deactivates "
                "(non-persistent never means zero)"
            )
    return f"{head} (it stays at {_pct(p_end)}): " + "; ".join(parts)


@dataclass(frozen=True)
class Estimate:
    """The residual-hazard estimate of one area at one date."""

    at: dt.date
    expected_live: float
    expected_live_mc: float
    live_p05: float
    live_p95: float
    p_any_live: float
    safe_date: dt.date | None
    safe_date_reason: str
    threshold: float
    draws: int
    seed: int
    profiles: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "expected_live": self.expected_live,
            "expected_live_monte_carlo": self.expected_live_mc,
            "live_p05": self.live_p05,
            "live_p95": self.live_p95,
            "p_any_live": self.p_any_live,
            "safe_date": self.safe_date.isoformat() if self.safe_date else None,
            "safe_date_reason": self.safe_date_reason,
            "threshold": self.threshold,
            "draws": self.draws,
            "seed": self.seed,
            "profiles": list(self.profiles),
        }


def check_threshold(threshold: float) -> None:
    if not 0.0 < threshold < 1.0:
        raise ValidationError(
            "estimate", "threshold", f"must lie strictly between 0 and 1, got {threshold}"
        )


def _check_at(events: Sequence[ContaminationEvent], at: dt.date) -> None:
    for e in events:
        if e.emplaced_on is not None and at < e.emplaced_on:
            raise ValidationError(
                e.ref or "event",
                "at",
                f"{at} is before the emplacement date {e.emplaced_on}; ask for a later date",
            )


def estimate(
    events: Sequence[ContaminationEvent],
    at: dt.date,
    *,
    draws: int = 10_000,
    seed: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    profiles: Mapping[str, DeviceProfile] | None = None,
) -> Estimate:
    """Return the estimate for the area holding `events` (summed) at `at`, with its safe date."""
    check_threshold(threshold)
    known = profiles if profiles is not None else load_profiles()
    ev = events_to_arrays(events, known)
    _check_at(events, at)
    area = AreaDraws.draw(ev, draws, seed)
    live, p_any = area.at(at.toordinal())
    p05, p95 = _quantiles(live[None, :], QUANTILES)
    safe, reason = find_safe_date(area, threshold)
    return Estimate(
        at=at,
        expected_live=expected_live(events, at, known),
        expected_live_mc=float(live.mean()),
        live_p05=float(p05[0]),
        live_p95=float(p95[0]),
        p_any_live=p_any,
        safe_date=safe,
        safe_date_reason=reason,
        threshold=threshold,
        draws=draws,
        seed=area.seed,
        profiles=tuple(p.id for p in ev.profiles),
    )


@dataclass(frozen=True)
class Timeline:
    """Live devices (mean, 5th, 95th percentile) and P(at least one live) over dates."""

    dates: list[dt.date]
    mean: FloatArray
    p05: FloatArray
    p95: FloatArray
    p_any: FloatArray


def timeline(
    events: Sequence[ContaminationEvent],
    start: dt.date,
    end: dt.date,
    *,
    points: int = 240,
    draws: int = 4000,
    seed: int | None = None,
    profiles: Mapping[str, DeviceProfile] | None = None,
) -> Timeline:
    """Return the estimate on `points` dates from `start` to `end`, all with the same draws."""
    known = profiles if profiles is not None else load_profiles()
    area = AreaDraws.draw(events_to_arrays(events, known), draws, seed)
    days = np.unique(np.linspace(start.toordinal(), end.toordinal(), points).round())
    rows = [area.at(float(d)) for d in days]
    live = np.array([r[0] for r in rows])
    p05, p95 = _quantiles(live, QUANTILES)
    return Timeline(
        dates=[dt.date.fromordinal(int(d)) for d in days],
        mean=live.mean(axis=1),
        p05=p05,
        p95=p95,
        p_any=np.array([r[1] for r in rows]),
    )
