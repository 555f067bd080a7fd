"""The Monte Carlo's draws, and what a date makes of them per area and draw.

Each draw j takes the profile's failure fractions from their distributions (once per draw and
profile, shared by every area: a device type that fails more fails more everywhere), and per
event a count N from triangular(low, best, high), rounded stochastically to a whole number
(floor of N + U, which keeps the mean), and an emplacement date uniform over its range.

At a date, per event and draw, S is the share of devices still live. Per area and draw:

- the expected count, live = sum N x S (its spread over the draws is the range of the expected
  count: the uncertainty of the figures and of the count, not which devices survive);
- P(none live) = prod (1 - S)^N, whose mean gives P(at least one live);
- the actual count, X = sum Binomial(N, S): which of the N devices survive, drawn per event and
  draw, so that X mixes all three sources of spread. Its range is the shortest whole-number
  interval holding at least 90% of the draws.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from landrelease.domain.errors import ValidationError
from landrelease.residual.model import EventArrays, StageTimes
from landrelease.residual.profiles import DeviceProfile

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

QUANTILES = (0.05, 0.95)  # the range of the expected count: its 5th and 95th percentiles
ACTUAL_SHARE = 0.9  # the range of the actual count holds at least this share of the draws
_INT32_MAX = np.iinfo(np.int32).max


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
    none_end: FloatArray  # 1 - S once every stage is over: 1 - (f_sd x f_sda) x dud
    persistent: NDArray[np.bool_]  # no stage: S is 1 once emplaced (0 before)

    @classmethod
    def draw(
        cls, profiles: Sequence[DeviceProfile], draws: int, rng: np.random.Generator
    ) -> FractionDraws:
        """Return `draws` draws of every profile's fractions, in profile then stage order."""
        shape = (len(profiles), draws)
        tables = {name: np.ones(shape) for name in ("dud", "self_destruct", "self_deactivate")}
        for i, profile in enumerate(profiles):
            for name, frac in profile.fractions().items():
                tables[name][i] = frac.sample(rng, draws)
        times = [StageTimes.of(p) for p in profiles]
        # In the order `survival_draws` multiplies them, so that both give the same floats.
        end = tables["self_destruct"] * tables["self_deactivate"] * tables["dud"]
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
            none_end=1.0 - end,
            persistent=np.array([p.persistent for p in profiles], dtype=bool),
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
        """Return the counts and emplacement days of `ev`, drawn from `rng` (views of `ws`)."""
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

    def take(self, rows: NDArray[np.intp]) -> EventDraws:
        """Return a copy of the draws of the events `rows`."""
        return EventDraws(self.count[rows], self.emplaced[rows])


def survival_draws(
    ev: EventArrays,
    fractions: FractionDraws,
    events: EventDraws,
    at: float | FloatArray,
    ws: Workspace,
) -> FloatArray:
    """Return S per event (rows) and draw at day number `at` (one, or one per event).

    A view of `ws` ("s"): use it before the next call with the same workspace.
    """
    p = ev.profile
    n = len(ev)
    age, s, tmp = ws.get("age", n), ws.get("s", n), ws.get("tmp", n)
    mask = ws.get("mask", n, np.bool_)
    day = np.asarray(at, dtype=np.float64)
    np.subtract(day[:, None] if day.ndim else day, events.emplaced, out=age)
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
    if n and age.min() < 0:  # devices whose emplacement date is still to come
        np.less(age, 0.0, out=mask)
        np.copyto(s, 0.0, where=mask)
    return s


def area_starts(area: IntArray) -> NDArray[np.intp]:
    """Return the first row of each run of equal area numbers (events are sorted by area)."""
    if len(area) == 0:
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.r_[True, area[1:] != area[:-1]])


class AreaValues(NamedTuple):
    """Per area (rows, in the order of `areas`) and draw, at one date."""

    live: FloatArray  # expected live devices, sum N x S
    none: FloatArray  # P(none live), prod (1 - S)^N
    actual: IntArray | None  # devices live, sum Binomial(N, S) (None: not drawn)
    areas: IntArray  # the area numbers of the rows


def values_by_area(
    ev: EventArrays,
    fractions: FractionDraws,
    events: EventDraws,
    at: float,
    ws: Workspace,
    survive: np.random.Generator | None = None,
) -> AreaValues:
    """Return the expected count, P(none live) and, with `survive`, the actual count per area
    (rows, areas with events only) and draw at day number `at`.

    `survive` draws which devices survive: Binomial(N, S) per event and draw (numpy's exact
    sampler). The float arrays may be views of `ws`.
    """
    n = len(ev)
    s = survival_draws(ev, fractions, events, at, ws)
    live = ws.get("live", n)
    np.multiply(events.count, s, out=live)
    actual: IntArray | None = None
    if survive is not None:
        # Devices of a persistent profile all survive once emplaced (S is 0 or 1): N x S is
        # their number. Drawing it anyway would cost about a fifth of a binomial draw each.
        fixed = fractions.persistent[ev.profile]
        if fixed.any():
            actual = np.empty((n, events.count.shape[1]), dtype=np.int64)
            actual[fixed] = live[fixed]
            rows = np.flatnonzero(~fixed)
            if len(rows):
                actual[rows] = survive.binomial(events.count[rows].astype(np.int64), s[rows])
        else:
            whole = ws.get("whole", n, np.int64)
            np.copyto(whole, events.count, casting="unsafe")  # already whole numbers
            actual = survive.binomial(whole, s)
    none = np.subtract(1.0, s, out=s)
    np.power(none, events.count, out=none)
    starts = area_starts(ev.area)
    if len(starts) < n:
        live = np.add.reduceat(live, starts, axis=0)
        none = np.multiply.reduceat(none, starts, axis=0)
        if actual is not None:
            actual = np.add.reduceat(actual, starts, axis=0)
    return AreaValues(live, none, actual, ev.area[starts])


def p_any_by_area(
    ev: EventArrays,
    fractions: FractionDraws,
    events: EventDraws,
    at: float | FloatArray,
    starts: NDArray[np.intp],
    ws: Workspace,
) -> FloatArray:
    """Return P(at least one live) per run of events starting at `starts`, at day number `at`
    (one, or one per event)."""
    s = survival_draws(ev, fractions, events, at, ws)
    none = np.subtract(1.0, s, out=s)
    np.power(none, events.count, out=none)
    if len(starts) < len(ev):
        none = np.multiply.reduceat(none, starts, axis=0)
    return np.asarray(1.0 - none.mean(axis=1), dtype=np.float64)


def p_any_at_end(
    ev: EventArrays,
    fractions: FractionDraws,
    events: EventDraws,
    starts: NDArray[np.intp],
    ws: Workspace,
) -> FloatArray:
    """Return P(at least one live) per run of events starting at `starts`, once every device
    is past every stage: `p_any_by_area` at any such day, without computing S."""
    none = ws.get("s", len(ev))
    np.take(fractions.none_end, ev.profile, axis=0, out=none)
    np.power(none, events.count, out=none)
    if len(starts) < len(ev):
        none = np.multiply.reduceat(none, starts, axis=0)
    return np.asarray(1.0 - none.mean(axis=1), dtype=np.float64)


def quantiles(x: FloatArray, qs: Sequence[float], ws: Workspace | None = None) -> list[FloatArray]:
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
        below, above = srt[:, lo].astype(np.float64), srt[:, hi].astype(np.float64)
        out.append(below + (above - below) * frac)  # exact where both are equal
    return out


def covering(draws: int, share: float = ACTUAL_SHARE) -> int:
    """Return how many of `draws` draws make at least `share` of them (at least one)."""
    return max(1, math.ceil(round(share * draws, 9)))


def shortest_range(
    x: IntArray, share: float = ACTUAL_SHARE, ws: Workspace | None = None
) -> tuple[IntArray, IntArray]:
    """Return (low, high) per row of whole numbers `x`: the shortest interval [low, high]
    holding at least `share` of the row's values; of equally short ones, the lowest.

    Sorted, the k = ceil(share x draws) values from position i span sorted[i + k - 1] -
    sorted[i]; every interval holding k values contains such a window, so the narrowest
    window is the shortest interval, and the first of equal ones the lowest.
    """
    rows, d = x.shape
    if rows == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    keep = covering(d, share)
    # Counts fit in 32 bits but for absurd inputs: half the sort's memory traffic.
    dtype = np.int32 if x.max(initial=0) <= _INT32_MAX else np.int64
    srt = (ws or Workspace(d)).get("actual_sorted", rows, dtype)
    srt[:] = x
    srt.sort(axis=1)
    width = srt[:, keep - 1 :] - srt[:, : d - keep + 1]
    start = width.argmin(axis=1)  # the first of equal minima: the lowest interval
    at = np.arange(rows)
    return srt[at, start].astype(np.int64), srt[at, start + keep - 1].astype(np.int64)


def one_area(ev: EventArrays) -> EventArrays:
    """Return `ev` with every event in area 0 (an area's events, whatever areas they named)."""
    return dataclasses.replace(ev, area=np.zeros(len(ev), dtype=np.int64), n_areas=1)


def seed_sequence(seed: int | None) -> np.random.SeedSequence:
    """Return the run's SeedSequence; without a seed, pick one that fits JSON (below 2**63)."""
    if seed is None:
        seed = int(np.random.SeedSequence().entropy) % (2**63)  # type: ignore[arg-type]
    if seed < 0:
        raise ValidationError("estimate", "seed", f"must be 0 or more, got {seed}")
    return np.random.SeedSequence(seed)


def seed_of(ss: np.random.SeedSequence) -> int:
    """Return the seed a SeedSequence was made from (the one a user can repeat)."""
    entropy = ss.entropy
    return int(entropy) if isinstance(entropy, int) else int(np.asarray(entropy)[0])


def check_draws(draws: int) -> None:
    """Raise ValidationError unless `draws` is 1 or more."""
    if draws < 1:
        raise ValidationError("estimate", "draws", f"must be 1 or more, got {draws}")
