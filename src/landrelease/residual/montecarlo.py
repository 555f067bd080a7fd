"""Monte Carlo over the uncertain inputs: live devices per area, their ranges, P(at least one).

Two ranges, named apart because they answer different questions (residual/draws.py says how
each draw is made):

- the range of the expected count: the 5th to 95th percentile over the draws of sum N x S, the
  spread of the *expected* number over what is uncertain in the figures and the count;
- the range of the actual count: the shortest whole-number interval holding at least 90% of the
  draws of sum Binomial(N, S), how many devices may really still be live ("0 to 2"). Being
  the shortest, it sits where the draws are densest: for a right-skewed count its top can lie
  below the expected count's 95th percentile, and where the draws fall in two groups (some
  devices past a stage, some not) its bottom can lie above the 5th.

P(at least one live) = 1 - mean over draws of prod (1 - S)^N. The safe date is the first whole
day, on or after the last emplacement, on which it falls below the threshold.

Areas are processed in fixed chunks, each with its own generator spawned from one SeedSequence,
on a thread pool (numpy releases the GIL): a seed gives the same result whatever the threads do.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from landrelease.domain.errors import ValidationError
from landrelease.domain.records import ContaminationEvent
from landrelease.residual.draws import (
    QUANTILES,
    EventDraws,
    FloatArray,
    FractionDraws,
    IntArray,
    Workspace,
    area_starts,
    check_draws,
    one_area,
    p_any_at_end,
    p_any_by_area,
    quantiles,
    seed_of,
    seed_sequence,
    shortest_range,
    values_by_area,
)
from landrelease.residual.model import EventArrays, events_to_arrays, expected_live
from landrelease.residual.profiles import DeviceProfile, load_profiles

CHUNK_AREAS = 100  # fixed, so that chunk k always uses generator k; small keeps scratch in cache
DEFAULT_THRESHOLD = 0.01

Progress = Callable[[int, int], None]


def check_threshold(threshold: float) -> None:
    """Raise ValidationError unless 0 < threshold < 1."""
    if not 0.0 < threshold < 1.0:
        raise ValidationError(
            "estimate", "threshold", f"must lie strictly between 0 and 1, got {threshold}"
        )


# --- the safe day, for many areas at once ----------------------------------------------------


class _Areas(NamedTuple):
    """Some areas' events and draws, with where each area's run of events starts, and its length."""

    ev: EventArrays
    events: EventDraws
    starts: NDArray[np.intp]
    runs: NDArray[np.intp]

    @classmethod
    def of(
        cls, ev: EventArrays, events: EventDraws, local: NDArray[np.intp], keep: NDArray[np.intp]
    ) -> _Areas:
        """Return the events of the areas `keep` (ascending) of `ev`, whose event i is in area
        `local[i]` (0, 1, ... in the order of `ev`)."""
        chosen = np.zeros(int(local[-1]) + 1, dtype=bool)
        chosen[keep] = True
        rows = np.flatnonzero(chosen[local])
        starts = area_starts(local[rows])
        return cls(ev.take(rows), events.take(rows), starts, np.diff(np.r_[starts, len(rows)]))


def safe_days(
    ev: EventArrays,
    fractions: FractionDraws,
    events: EventDraws,
    threshold: float,
    ws: Workspace,
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Return, per area of `ev` with events: (area number, safe day, P(any) at the end).

    The safe day is the first whole day, on or after the area's last emplacement, on which
    P(at least one live) < threshold (a day number; NaN if it never falls below); P(any) at
    the end is its value once no device changes state any more.

    With the draws held fixed, each draw's S is non-increasing once every device is emplaced,
    and so is P: a bisection finds the first day below the threshold. It runs on all areas at
    once (one day per area) and re-evaluates only the areas still undecided.
    """
    starts = area_starts(ev.area)
    n_areas = len(starts)
    if n_areas == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    runs = np.diff(np.r_[starts, len(ev)])
    local = np.repeat(np.arange(n_areas), runs)
    end = np.maximum.reduceat(ev.end_day, starts)
    last_change = np.array([p.last_change_days for p in ev.profiles])[ev.profile]
    # Past the last emplacement plus the area's longest stage, no S changes any more.
    last = np.ceil(end + np.maximum.reduceat(last_change, starts)) + 1.0
    p_end = p_any_at_end(ev, fractions, events, starts, ws)
    safe = np.full(n_areas, np.nan)
    reaches = np.flatnonzero(p_end < threshold)
    # Invariant for the areas in `reaches`: P(hi) < threshold, and P >= threshold on every
    # day from the first one up to lo (none yet: lo starts one day before the first day).
    lo = np.ceil(end) - 1.0
    hi = last.copy()
    todo = reaches[hi[reaches] - lo[reaches] > 1]
    part = _Areas(ev, events, starts, runs)
    while len(todo):
        if len(part.starts) != len(todo):  # some areas are decided: drop their events
            part = _Areas.of(ev, events, local, todo)
        mid = np.floor((lo[todo] + hi[todo]) / 2.0)
        day = np.repeat(mid, part.runs)
        below = p_any_by_area(part.ev, fractions, part.events, day, part.starts, ws) < threshold
        hi[todo] = np.where(below, mid, hi[todo])
        lo[todo] = np.where(below, lo[todo], mid)
        todo = todo[hi[todo] - lo[todo] > 1]
    safe[reaches] = hi[reaches]
    return ev.area[starts], safe, p_end


# --- many areas at one date ------------------------------------------------------------------


@dataclass(frozen=True)
class BatchEstimate:
    """Per area: the expected count (mean, 5th and 95th percentile), the actual count's 90%
    range, P(at least one live) and the safe day (a day number; NaN: never, or not asked)."""

    mean: FloatArray
    p05: FloatArray
    p95: FloatArray
    actual_low: IntArray
    actual_high: IntArray
    p_any: FloatArray
    safe_day: FloatArray
    draws: int
    seed: int


def estimate_batch(
    ev: EventArrays,
    at_day: float,
    *,
    draws: int = 2000,
    seed: int | None = None,
    workers: int | None = None,
    threshold: float | None = None,
    progress: Progress | None = None,
    actual: bool = True,
) -> BatchEstimate:
    """Return the Monte Carlo estimate for every area of `ev` at day number `at_day`.

    The vectorised path for many areas. With `threshold`, also each area's safe day, found
    with the same draws as the estimate (as `find_safe_date` finds it for one area). Without
    `actual`, the range of the actual count is left out (zeros): the binomial draws of which
    devices survive are most of a run's time, and the expected count and its range are the
    same either way (those draws come after).
    `progress(done_areas, total_areas)` is called from the worker threads as chunks finish
    (in increasing order, one call at a time: keep it cheap). Areas without events get zeros
    and no safe day.
    """
    check_draws(draws)
    if threshold is not None:
        check_threshold(threshold)
    ss = seed_sequence(seed)
    n_areas = ev.n_areas
    n_chunks = max(1, math.ceil(n_areas / CHUNK_AREAS))
    children = ss.spawn(1 + n_chunks)
    fractions = FractionDraws.draw(ev.profiles, draws, np.random.default_rng(children[0]))
    out = {k: np.zeros(n_areas) for k in ("mean", "p05", "p95", "p_any")}
    actual_low = np.zeros(n_areas, dtype=np.int64)
    actual_high = np.zeros(n_areas, dtype=np.int64)
    safe_day = np.full(n_areas, np.nan)
    bounds = np.searchsorted(ev.area, np.arange(n_chunks + 1) * CHUNK_AREAS)
    local = threading.local()
    lock = threading.Lock()
    done = 0

    def run(k: int) -> None:
        nonlocal done
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        if hi > lo:
            if not hasattr(local, "ws"):
                local.ws = Workspace(draws)
            ws = local.ws
            chunk = ev.take(slice(lo, hi))
            rng = np.random.default_rng(children[1 + k])
            drawn = EventDraws.draw(chunk, draws, rng, ws)
            # The chunk's generator goes on to draw which devices survive.
            values = values_by_area(
                chunk, fractions, drawn, at_day, ws, survive=rng if actual else None
            )
            areas = values.areas
            out["mean"][areas] = values.live.mean(axis=1)
            out["p05"][areas], out["p95"][areas] = quantiles(values.live, QUANTILES, ws)
            out["p_any"][areas] = 1.0 - values.none.mean(axis=1)
            if actual:
                assert values.actual is not None
                actual_low[areas], actual_high[areas] = shortest_range(values.actual, ws=ws)
            if threshold is not None:
                safe_areas, safe, _ = safe_days(chunk, fractions, drawn, threshold, ws)
                safe_day[safe_areas] = safe
        if progress is not None:
            with lock:
                done += max(0, min(CHUNK_AREAS, n_areas - k * CHUNK_AREAS))
                progress(done, n_areas)

    workers = workers or min(os.cpu_count() or 1, n_chunks)
    if workers == 1:
        for k in range(n_chunks):
            run(k)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, range(n_chunks)))
    return BatchEstimate(
        actual_low=actual_low,
        actual_high=actual_high,
        safe_day=safe_day,
        draws=draws,
        seed=seed_of(ss),
        **out,
    )


# --- one area: estimate, safe date, timeline ----------------------------------------------


class AtDay(NamedTuple):
    """One area at one date, per draw: the expected and the actual count; and P(any live)."""

    live: FloatArray
    actual: IntArray
    p_any: float


@dataclass
class AreaDraws:
    """The draws of one area, kept so that any date can be evaluated with the same draws.

    Drawn as `estimate_batch` draws a batch of this one area (the fractions from the first
    child of the seed, the events and then the survivors from the second), so that both give
    the same numbers for the same seed.
    """

    ev: EventArrays
    fractions: FractionDraws
    events: EventDraws
    seed: int
    survive: np.random.Generator  # the events' generator once they are drawn; only copied

    @classmethod
    def draw(cls, ev: EventArrays, draws: int, seed: int | None) -> AreaDraws:
        """Return the draws of the events `ev`, all taken as one area."""
        check_draws(draws)
        ss = seed_sequence(seed)
        c_frac, c_events = ss.spawn(2)
        area_ev = one_area(ev)
        rng = np.random.default_rng(c_events)
        events = EventDraws.draw(area_ev, draws, rng)
        return cls(
            area_ev,
            FractionDraws.draw(ev.profiles, draws, np.random.default_rng(c_frac)),
            events,
            seed_of(ss),
            rng,
        )

    @property
    def draws(self) -> int:
        """The number of draws."""
        return int(self.events.count.shape[1])

    def at(self, day: float) -> AtDay:
        """Return the expected and actual count per draw, and P(at least one live), at `day`.

        The survivors are drawn from the same generator state at every date, so that one
        date gives the same numbers in an estimate and on its chart.
        """
        if len(self.ev) == 0:
            return AtDay(np.zeros(self.draws), np.zeros(self.draws, dtype=np.int64), 0.0)
        values = values_by_area(
            self.ev,
            self.fractions,
            self.events,
            day,
            Workspace(self.draws),
            survive=copy.deepcopy(self.survive),  # the same state at every date
        )
        assert values.actual is not None
        return AtDay(values.live[0], values.actual[0], float(1.0 - values.none.mean(axis=1)[0]))


def find_safe_date(draws: AreaDraws, threshold: float) -> tuple[dt.date | None, str]:
    """Return the first date on which P(at least one live) < threshold, or None, and why.

    Searched from the last emplacement date on, where P can only fall (`safe_days`, the
    search `estimate_batch` runs on every area).
    """
    if len(draws.ev) == 0:
        return None, "no contamination events: nothing to estimate"
    _, safe, ends = safe_days(
        draws.ev, draws.fractions, draws.events, threshold, Workspace(draws.draws)
    )
    p_end = float(ends[0])
    if math.isnan(safe[0]):
        return None, _never_reason(draws, p_end, threshold)
    day = dt.date.fromordinal(int(safe[0]))
    if p_end > 0:
        tail = (
            f"it never reaches zero: it levels off at {_pct(p_end)} "
            "(non-persistent never means zero)"
        )
    else:
        tail = "it then stays at zero"
    return (
        day,
        f"the chance at least one is still live falls below {_pct(threshold)} on {day}; {tail}",
    )


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
                f"{p.id}: duds ({p.dud.point:.2g} of those delivered) stay live; the model "
                "gives them no decay, since no public data on inert fractions over time exists"
            )
        else:
            parts.append(
                f"{p.id}: a fraction {p.floor:.2g} never self-destructs nor self-deactivates "
                "(non-persistent never means zero)"
            )
    return f"{head} (it stays at {_pct(p_end)}): " + "; ".join(parts)


@dataclass(frozen=True)
class Estimate:
    """The residual-hazard estimate of one area at one date.

    `expected_live` is the point figure (the profiles' stated best figures);
    `expected_live_mc`, `expected_p05` and `expected_p95` the mean and 90% range of the
    expected count over the draws; `actual_low` to `actual_high` the 90% range of the number
    of devices actually live.
    """

    at: dt.date
    expected_live: float
    expected_live_mc: float
    expected_p05: float
    expected_p95: float
    actual_low: int
    actual_high: int
    p_any_live: float
    safe_date: dt.date | None
    safe_date_reason: str
    threshold: float
    draws: int
    seed: int
    profiles: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """Return the estimate as JSON-ready data (ISO dates)."""
        return {
            "at": self.at.isoformat(),
            "expected_live": self.expected_live,
            "expected_live_monte_carlo": self.expected_live_mc,
            "expected_live_p05": self.expected_p05,
            "expected_live_p95": self.expected_p95,
            "actual_live_low": self.actual_low,
            "actual_live_high": self.actual_high,
            "p_any_live": self.p_any_live,
            "safe_date": self.safe_date.isoformat() if self.safe_date else None,
            "safe_date_reason": self.safe_date_reason,
            "threshold": self.threshold,
            "draws": self.draws,
            "seed": self.seed,
            "profiles": list(self.profiles),
        }


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
    now = area.at(at.toordinal())
    p05, p95 = quantiles(now.live[None, :], QUANTILES)
    low, high = shortest_range(now.actual[None, :])
    safe, reason = find_safe_date(area, threshold)
    return Estimate(
        at=at,
        expected_live=expected_live(events, at, known),
        expected_live_mc=float(now.live.mean()),
        expected_p05=float(p05[0]),
        expected_p95=float(p95[0]),
        actual_low=int(low[0]),
        actual_high=int(high[0]),
        p_any_live=now.p_any,
        safe_date=safe,
        safe_date_reason=reason,
        threshold=threshold,
        draws=draws,
        seed=area.seed,
        profiles=tuple(p.id for p in ev.profiles),
    )


@dataclass(frozen=True)
class Timeline:
    """Over dates: the expected count (mean, 5th, 95th percentile), the actual count's 90%
    range and P(at least one live)."""

    dates: list[dt.date]
    mean: FloatArray
    p05: FloatArray
    p95: FloatArray
    actual_low: IntArray
    actual_high: IntArray
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
    live = np.array([r.live for r in rows]).reshape(len(rows), area.draws)
    actual = np.array([r.actual for r in rows], dtype=np.int64).reshape(len(rows), area.draws)
    p05, p95 = quantiles(live, QUANTILES)
    low, high = shortest_range(actual)
    return Timeline(
        dates=[dt.date.fromordinal(int(d)) for d in days],
        mean=live.mean(axis=1),
        p05=p05,
        p95=p95,
        actual_low=low,
        actual_high=high,
        p_any=np.array([r.p_any for r in rows]),
    )
