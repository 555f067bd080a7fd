"""The survival model: the fraction of devices still live t days after emplacement, S(t).

S(t) = d x A(t) x B(t), each factor from one stage of the profile (a missing stage is 1):

- d: the dud fraction (devices that failed to function and remain live; submunitions);
- A(t) = f_sd + R(t) x (1 - f_sd): R(t) is the share not yet due to self-destruct (1 before the
  earliest self-destruct time, falling linearly to 0 at the latest; a step if they are equal) and
  f_sd the fraction that fails to self-destruct;
- B(t) = 1 before the self-deactivation time, f_sda from it on.

So S(infinity) = d x f_sd x f_sda, which is above 0 for every profile with failure fractions
above 0. Also here: the analytic expectation of live devices, event validation into arrays for
the Monte Carlo, and the Bayesian update of a profile's fractions from finds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from landrelease.domain.errors import ValidationError
from landrelease.domain.records import ContaminationEvent
from landrelease.residual.profiles import DeviceProfile, get_profile, load_profiles

FloatArray = NDArray[np.float64]

# Slope standing in for a vertical step in R(t): a step at day b is R = clip((b - t) x STEP, 0, 1).
STEP = 1e12


@dataclass(frozen=True)
class StageTimes:
    """A profile's timing as numbers: R(t) = clip((sd_end - t) x sd_slope, 0, 1), B steps at sda."""

    sd_end: float
    sd_slope: float
    sda: float

    @classmethod
    def of(cls, profile: DeviceProfile) -> StageTimes:
        sd = profile.self_destruct
        if sd is None:
            end, slope = np.inf, 1.0
        elif sd.latest_days > sd.earliest_days:
            end, slope = sd.latest_days, 1.0 / (sd.latest_days - sd.earliest_days)
        else:
            end, slope = sd.latest_days, STEP
        sda = profile.self_deactivate.days if profile.self_deactivate is not None else np.inf
        return cls(float(end), float(slope), float(sda))


def point_fractions(profile: DeviceProfile) -> dict[str, float]:
    """Return the point figures (medians: the stated best) of the fractions; 1.0 if absent."""
    out = {"dud": 1.0, "self_destruct": 1.0, "self_deactivate": 1.0}
    out.update({name: frac.point for name, frac in profile.fractions().items()})
    return out


def survival_core(
    t: ArrayLike,
    dud: ArrayLike,
    f_sd: ArrayLike,
    f_sda: ArrayLike,
    times: StageTimes,
) -> FloatArray:
    """Return S(t) for ages `t` (days) and fraction arrays, all broadcast together."""
    t = np.asarray(t, dtype=np.float64)
    if np.isinf(times.sd_end):  # no self-destruction (and inf - inf would be nan)
        not_due = np.ones_like(t)
    else:
        not_due = np.clip((times.sd_end - t) * times.sd_slope, 0.0, 1.0)
    f_sd = np.asarray(f_sd, dtype=np.float64)
    # f_sd + R(1 - f_sd) rather than 1 - (1 - R)(1 - f_sd): exact f_sd once R reaches 0.
    a = f_sd + not_due * (1.0 - f_sd)
    b = np.where(t >= times.sda, f_sda, 1.0)
    return np.asarray(np.multiply(dud, a) * b, dtype=np.float64)


def survival(
    profile: DeviceProfile,
    t_days: ArrayLike,
    fractions: Mapping[str, ArrayLike] | None = None,
) -> FloatArray:
    """Return S(t), the fraction of devices still live `t_days` after emplacement (t >= 0).

    `fractions` maps stage names (dud, self_destruct, self_deactivate) to failure fractions,
    broadcast against `t_days`; missing ones take the profile's point estimates.
    """
    values: dict[str, ArrayLike] = dict(point_fractions(profile))
    if fractions:
        values.update(fractions)
    return survival_core(
        t_days,
        values["dud"],
        values["self_destruct"],
        values["self_deactivate"],
        StageTimes.of(profile),
    )


def survival_floor(profile: DeviceProfile, fractions: Mapping[str, ArrayLike] | None = None):
    """Return S(infinity) = d x f_sd x f_sda: the fraction that never stops being live."""
    return survival(profile, np.inf, fractions)


# --- events as arrays -----------------------------------------------------------------------


@dataclass(frozen=True)
class EventArrays:
    """Contamination events as arrays, sorted by area: the Monte Carlo's input.

    Days are proleptic ordinal day numbers (`date.toordinal()`); an event's emplacement date is
    spread uniformly over [start_day, end_day]; its count is triangular(low, best, high).
    """

    area: NDArray[np.int64]
    profile: NDArray[np.int64]
    count_low: FloatArray
    count_best: FloatArray
    count_high: FloatArray
    start_day: FloatArray
    end_day: FloatArray
    profiles: tuple[DeviceProfile, ...]
    n_areas: int

    def __post_init__(self) -> None:
        n = len(self.area)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray) and len(value) != n:
                raise ValueError(f"{f.name} has {len(value)} rows, area has {n}")
        if n and np.any(np.diff(self.area) < 0):
            raise ValueError("events must be sorted by area")
        if n and (self.area[0] < 0 or self.area[-1] >= self.n_areas):
            raise ValueError("area index out of range")
        if np.any(self.profile < 0) or np.any(self.profile >= len(self.profiles)):
            raise ValueError("profile index out of range")
        if not (
            np.all(self.count_low >= 0)
            and np.all(self.count_low <= self.count_best)
            and np.all(self.count_best <= self.count_high)
        ):
            raise ValueError("counts must satisfy 0 <= low <= best <= high")
        if np.any(self.end_day < self.start_day):
            raise ValueError("end_day before start_day")

    def __len__(self) -> int:
        return len(self.area)

    def take(self, rows: slice | NDArray[np.intp]) -> EventArrays:
        """Return the events in `rows` (a slice, or ascending row numbers), keeping area
        numbers and profiles."""
        return dataclasses.replace(
            self,
            **{
                f.name: getattr(self, f.name)[rows]
                for f in dataclasses.fields(self)
                if isinstance(getattr(self, f.name), np.ndarray)
            },
        )


def check_event(event: ContaminationEvent, profiles: Mapping[str, DeviceProfile]) -> None:
    """Raise ValidationError unless the event's profile, counts and dates make sense."""
    rec = event.ref or "event"
    if not event.profile_id:
        raise ValidationError(rec, "profile_id", "a device profile is required")
    get_profile(event.profile_id, profiles)
    best = event.quantity_best
    if best is None:
        raise ValidationError(rec, "quantity_best", "a best estimate of the count is required")
    low = best if event.quantity_low is None else event.quantity_low
    high = best if event.quantity_high is None else event.quantity_high
    for name, value in (("quantity_low", low), ("quantity_best", best), ("quantity_high", high)):
        if value < 0:
            raise ValidationError(rec, name, f"must be 0 or more, got {value}")
    if not low <= best <= high:
        raise ValidationError(
            rec,
            "quantity_low",
            f"counts are reversed: need low <= best <= high, got {low}, {best}, {high}",
        )
    if event.emplaced_on is None:
        raise ValidationError(rec, "emplaced_on", "the emplacement date is required")
    if event.emplaced_until is not None and event.emplaced_until < event.emplaced_on:
        raise ValidationError(
            rec,
            "emplaced_until",
            f"{event.emplaced_until} is before emplaced_on {event.emplaced_on}; swap them",
        )


def events_to_arrays(
    events: Sequence[ContaminationEvent],
    profiles: Mapping[str, DeviceProfile] | None = None,
    area_of: Mapping[str | None, int] | None = None,
) -> EventArrays:
    """Return checked events as EventArrays; all in one area unless `area_of` maps area refs."""
    known = profiles if profiles is not None else load_profiles()
    for event in events:
        check_event(event, known)
    used = sorted({e.profile_id for e in events if e.profile_id})
    index = {pid: i for i, pid in enumerate(used)}
    areas = np.array([area_of[e.area_ref] if area_of else 0 for e in events], dtype=np.int64)
    order = np.argsort(areas, kind="stable")

    def column(values: Iterable[float]) -> FloatArray:
        return np.array(list(values), dtype=np.float64)[order]

    best = column(float(e.quantity_best or 0) for e in events)
    return EventArrays(
        area=areas[order],
        profile=np.array([index[e.profile_id or ""] for e in events], dtype=np.int64)[order],
        count_low=column(
            float(e.quantity_low if e.quantity_low is not None else e.quantity_best or 0)
            for e in events
        ),
        count_best=best,
        count_high=column(
            float(e.quantity_high if e.quantity_high is not None else e.quantity_best or 0)
            for e in events
        ),
        start_day=column(e.emplaced_on.toordinal() for e in events),  # type: ignore[union-attr]
        end_day=column((e.emplaced_until or e.emplaced_on).toordinal() for e in events),  # type: ignore[union-attr]
        profiles=tuple(known[pid] for pid in used),
        n_areas=int(areas.max()) + 1 if len(areas) else 1,
    )


# --- the analytic expectation ----------------------------------------------------------------


def _mean_survival_over_window(
    profile: DeviceProfile, fractions: Mapping[str, float], age_lo: float, age_hi: float
) -> float:
    """Return the mean over ages in [age_lo, age_hi] of S(age) x [age >= 0] (exact).

    The integrand is linear between the breakpoints (0 and the stage times), so each piece's
    integral is its length times its value at the midpoint.
    """

    def f(age: FloatArray) -> FloatArray:
        return np.where(age >= 0, survival(profile, age, fractions), 0.0)

    if age_hi <= age_lo:
        return float(f(np.array(age_lo)))
    times = StageTimes.of(profile)
    breaks = [0.0, times.sda, times.sd_end]
    if times.sd_slope < STEP:
        breaks.append(times.sd_end - 1.0 / times.sd_slope)
    edges = np.unique([age_lo, age_hi, *[b for b in breaks if age_lo < b < age_hi]])
    mids = (edges[:-1] + edges[1:]) / 2
    return float(np.sum(np.diff(edges) * f(mids)) / (age_hi - age_lo))


def expected_count(low: float, best: float, high: float) -> float:
    """Return the mean of the triangular(low, best, high) count: (low + best + high) / 3."""
    return (low + best + high) / 3.0


def expected_live(
    events: Sequence[ContaminationEvent],
    at: dt.date,
    profiles: Mapping[str, DeviceProfile] | None = None,
) -> float:
    """Return the expected number of live devices at `at`, analytically (no sampling).

    E[live] = sum over events of E[N] x E_t[S(t)], with E[N] the triangular mean, the
    fractions at their Beta means (they enter S as a product of independent factors, so the
    mean of the product is the product of the means) and S averaged over the emplacement range.
    """
    known = profiles if profiles is not None else load_profiles()
    total = 0.0
    for event in events:
        check_event(event, known)
        profile = known[event.profile_id]  # type: ignore[index]
        best = float(event.quantity_best or 0)
        low = float(event.quantity_low) if event.quantity_low is not None else best
        high = float(event.quantity_high) if event.quantity_high is not None else best
        start = event.emplaced_on.toordinal()  # type: ignore[union-attr]
        end = (event.emplaced_until or event.emplaced_on).toordinal()  # type: ignore[union-attr]
        day = at.toordinal()
        mean_s = _mean_survival_over_window(
            profile, point_fractions(profile), day - end, day - start
        )
        total += expected_count(low, best, high) * mean_s
    return total


# --- Bayesian update from finds --------------------------------------------------------------


def updatable_stage(profile: DeviceProfile) -> str | None:
    """Return the stage whose fraction finds inform: the last one (self-deactivation, else
    the dud fraction, else self-destruction), or None for a persistent profile."""
    if profile.self_deactivate is not None:
        return "self_deactivate"
    if profile.dud is not None:
        return "dud"
    if profile.self_destruct is not None:
        return "self_destruct"
    return None


def update_with_finds(
    profile: DeviceProfile, live: int, inert: int, stage: str | None = None
) -> DeviceProfile:
    """Return the profile with one stage's fraction updated by finds of its devices.

    `live` devices found still live and `inert` found not live are binomial evidence on the
    failure fraction of `stage` (default: the last stage, see `updatable_stage`), each device
    weighing as one observation against the fraction's `prior_strength` (`Fraction.updated`:
    the posterior mean is about (m x N + live) / (N + live + inert)). For self-deactivation,
    count the intact devices found after the deactivation time; for a dud fraction, the devices
    of the strike accounted for in the searched part (live duds as `live`, all others as
    `inert`). A persistent profile has nothing to update and is returned unchanged.
    """
    if live < 0 or inert < 0:
        raise ValidationError("finds", "live" if live < 0 else "inert", "must be 0 or more")
    stage = stage or updatable_stage(profile)
    if stage is None:
        return profile
    fractions = profile.fractions()
    if stage not in fractions:
        raise ValidationError(
            profile.id, "stage", f"has no {stage} stage; use one of {', '.join(fractions)}"
        )
    new = fractions[stage].updated(live, inert)
    if stage == "dud":
        return dataclasses.replace(profile, dud=new)
    if stage == "self_destruct":
        assert profile.self_destruct is not None
        return dataclasses.replace(
            profile, self_destruct=dataclasses.replace(profile.self_destruct, fail=new)
        )
    assert profile.self_deactivate is not None
    return dataclasses.replace(
        profile, self_deactivate=dataclasses.replace(profile.self_deactivate, fail=new)
    )


def remaining_events(
    events: Sequence[ContaminationEvent], cleared_share: float
) -> list[ContaminationEvent]:
    """Return the events of the part of an area not yet cleared: counts x (1 - cleared_share).

    Devices are assumed spread evenly over the area, so a cleared or sampled share q of it held
    a share q of them; counts are rounded to whole devices (low down, high up).
    """
    if not 0.0 <= cleared_share <= 1.0:
        raise ValidationError("area", "cleared_share", f"must lie in [0, 1], got {cleared_share}")
    keep = 1.0 - cleared_share
    out = []
    for e in events:
        best = int(round((e.quantity_best or 0) * keep))
        low = int(np.floor(e.quantity_low * keep)) if e.quantity_low is not None else None
        high = int(np.ceil(e.quantity_high * keep)) if e.quantity_high is not None else None
        out.append(
            dataclasses.replace(
                e,
                quantity_low=min(low, best) if low is not None else None,
                quantity_best=best,
                quantity_high=max(high, best) if high is not None else None,
            )
        )
    return out
