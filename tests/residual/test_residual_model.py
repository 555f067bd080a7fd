"""The residual model alone: profiles, S(t), the analytic path, Monte Carlo, safe date, update."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic_events import random_event_arrays

from landrelease.domain.errors import ValidationError
from landrelease.domain.records import ContaminationEvent, Item
from landrelease.residual import (
    EventArrays,
    estimate,
    estimate_batch,
    expected_live,
    get_profile,
    load_profiles,
    remaining_events,
    survival,
    survival_floor,
    update_with_finds,
)
from landrelease.residual.finds import account_for_finds
from landrelease.residual.model import expected_count
from landrelease.residual.profiles import parse_profiles

PROFILES = load_profiles()
IDS = sorted(PROFILES)
DAY0 = dt.date(2024, 5, 1)


def event(profile="ccw-apii-minimum", best=40, low=None, high=None, on=DAY0, until=None, area="A"):
    return ContaminationEvent(
        ref=f"EV-{profile}",
        area_ref=area,
        profile_id=profile,
        quantity_low=low,
        quantity_best=best,
        quantity_high=high,
        emplaced_on=on,
        emplaced_until=until,
    )


# --- profiles -------------------------------------------------------------------------------


def test_required_profiles_exist_and_every_figure_cites_a_source():
    assert {"ccw-apii-minimum", "persistent-ap-mine"} <= set(PROFILES)
    assert sum(p.category == "submunition" for p in PROFILES.values()) >= 4
    duds = sorted(p.dud.mean for p in PROFILES.values() if p.dud is not None)
    assert duds[0] <= 0.01 and duds[-1] >= 0.3  # spans claimed ~1% to field tens of percent
    for p in PROFILES.values():
        assert p.category in {"ap_mine", "av_mine", "submunition", "uxo"}
        if p.persistent:
            assert p.source
        for frac in p.fractions().values():
            assert frac.source.strip() and frac.kind
        for stage in (p.self_destruct, p.self_deactivate):
            if stage is not None:
                assert stage.source.strip() and stage.kind


def test_kinds_of_figures_are_kept_apart():
    kinds = {p.basis for p in PROFILES.values()}
    assert {"design-limit", "test", "claim", "field"} <= kinds


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(ValidationError, match="ccw-apii-minimum"):
        get_profile("no-such-device")


def test_a_figure_without_source_is_refused():
    text = """
[[profile]]
id = "x"
name = "x"
category = "submunition"
basis = "test"
[profile.dud]
best = 0.1
low = 0.05
high = 0.2
range_quantiles = [0.05, 0.95]
prior_strength = 10
prior_strength_reason = "synthetic"
kind = "test"
"""
    with pytest.raises(ValueError, match="source"):
        parse_profiles(text)


# --- S(t) -----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    pid=st.sampled_from(IDS),
    ages=st.lists(st.floats(0, 5000, allow_nan=False), min_size=2, max_size=30),
    f=st.tuples(*[st.floats(0, 1, allow_nan=False)] * 3),
)
def test_survival_is_non_increasing_and_in_unit_interval(pid, ages, f):
    t = np.sort(np.array(ages))
    fractions = dict(zip(("dud", "self_destruct", "self_deactivate"), f, strict=True))
    fractions = {k: v for k, v in fractions.items() if k in PROFILES[pid].fractions()}
    s = survival(PROFILES[pid], t, fractions)
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.diff(s) <= 1e-15)


def test_ccw_minimum_meets_the_annex_and_never_reaches_zero():
    ccw = PROFILES["ccw-apii-minimum"]
    s = survival(ccw, [30, 120, 365, 36500, np.inf])
    assert s[0] <= 0.10
    assert s[1] <= 0.001
    assert np.all(s > 0)  # "non-persistent" never means zero
    assert survival_floor(ccw) == pytest.approx(0.001)


def test_persistent_mine_stays_live():
    s = survival(PROFILES["persistent-ap-mine"], [0, 30, 120, 1e5, np.inf])
    assert np.all(s == 1.0)


# --- expectation and Monte Carlo --------------------------------------------------------------


def test_treaty_point_figures_stay_exact():
    # CCW Amended Protocol II minimum, 1,000 mines: at most 10% at day 30, 1 in 1,000 at day 120.
    mines = [event(best=1000)]
    assert expected_live(mines, DAY0 + dt.timedelta(days=30)) == pytest.approx(100.0, abs=1e-9)
    assert expected_live(mines, DAY0 + dt.timedelta(days=120)) == pytest.approx(1.0, abs=1e-12)
    assert PROFILES["ccw-apii-minimum"].floor == pytest.approx(0.001, abs=1e-15)


def mean_live(events: list[ContaminationEvent], at: dt.date) -> float:
    """Return E[live] over the profiles' uncertainty: S at the fractions' means (the point
    figures are medians; the fractions enter S as a product of independent factors, linear in
    each, so the mean of S is S at the means), averaged over the emplacement range."""
    total = 0.0
    for e in events:
        profile = PROFILES[e.profile_id]
        means = {name: frac.mean for name, frac in profile.fractions().items()}
        first, last = e.emplaced_on.toordinal(), (e.emplaced_until or e.emplaced_on).toordinal()
        days = first + (np.arange(200_000) + 0.5) / 200_000 * (last - first)
        ages = at.toordinal() - days
        s = np.where(ages >= 0, survival(profile, np.maximum(ages, 0.0), means), 0.0).mean()
        best = float(e.quantity_best or 0)
        low = best if e.quantity_low is None else float(e.quantity_low)
        high = best if e.quantity_high is None else float(e.quantity_high)
        total += expected_count(low, best, high) * float(s)
    return total


@pytest.mark.parametrize(
    "events,at",
    [
        ([event()], DAY0 + dt.timedelta(days=45)),
        (
            [event(best=40, low=20, high=90, until=DAY0 + dt.timedelta(days=60))],
            dt.date(2024, 7, 15),
        ),
        (
            [
                event("us-nonpersistent-claimed", best=300, low=100, high=600),
                event("submunition-official-2023", best=500, low=200, high=2000),
            ],
            dt.date(2024, 5, 9),
        ),
    ],
)
def test_monte_carlo_mean_matches_analytic(events, at):
    est = estimate(events, at, draws=20_000, seed=11)
    assert est.expected_live == pytest.approx(expected_live(events, at))  # at the point figures
    assert est.expected_live_mc == pytest.approx(mean_live(events, at), rel=0.01)
    assert est.expected_p05 <= est.expected_live_mc <= est.expected_p95


def test_a_seed_reproduces_a_run():
    events = [event(best=40, low=20, high=90, until=DAY0 + dt.timedelta(days=60))]
    at = dt.date(2024, 7, 1)
    a = estimate(events, at, draws=2000, seed=5)
    b = estimate(events, at, draws=2000, seed=5)
    c = estimate(events, at, draws=2000, seed=6)
    assert a == b
    assert a.p_any_live != c.p_any_live


@settings(max_examples=25, deadline=None)
@given(
    pid=st.sampled_from(IDS),
    n=st.integers(0, 200),
    extra=st.integers(1, 200),
    days=st.integers(0, 400),
)
def test_more_devices_never_lower_p_any(pid, n, extra, days):
    at = DAY0 + dt.timedelta(days=days)
    fewer = estimate([event(pid, best=n)], at, draws=300, seed=3)
    more = estimate([event(pid, best=n + extra)], at, draws=300, seed=3)
    assert more.p_any_live >= fewer.p_any_live


def test_events_of_an_area_are_summed():
    a, b = event(best=40), event("submunition-sd-field", best=200)
    at = dt.date(2024, 6, 15)
    both = estimate([a, b], at, draws=4000, seed=1)
    assert both.expected_live == pytest.approx(expected_live([a], at) + expected_live([b], at))
    assert both.p_any_live >= estimate([a], at, draws=4000, seed=1).p_any_live


def test_safe_date_when_few_devices_and_none_when_many():
    few = estimate([event(best=3)], dt.date(2024, 6, 1), draws=5000, seed=2)
    assert few.safe_date == DAY0 + dt.timedelta(days=120)
    assert "never reaches zero" in few.safe_date_reason
    many = estimate([event(best=40)], dt.date(2024, 6, 1), draws=5000, seed=2)
    assert many.safe_date is None and "never falls below" in many.safe_date_reason
    persistent = estimate([event("persistent-ap-mine", best=1)], DAY0, draws=500, seed=2)
    assert persistent.safe_date is None and "until cleared" in persistent.safe_date_reason
    assert persistent.p_any_live == 1.0


def test_bad_inputs_are_refused():
    with pytest.raises(ValidationError):
        estimate([event(best=-1)], DAY0)
    with pytest.raises(ValidationError, match="reversed"):
        estimate([event(best=10, low=20)], DAY0)
    with pytest.raises(ValidationError, match="swap"):
        estimate([event(until=DAY0 - dt.timedelta(days=1))], DAY0)
    with pytest.raises(ValidationError, match="before the emplacement"):
        estimate([event()], DAY0 - dt.timedelta(days=1))
    for bad in (0.0, 1.0, -0.1, 2):
        with pytest.raises(ValidationError, match="threshold"):
            estimate([event()], DAY0, threshold=bad)


def _arrays(n_areas: int, seed: int = 0) -> EventArrays:
    return random_event_arrays(n_areas, DAY0, seed=seed, max_count=50)


def test_batch_is_reproducible_whatever_the_threads_and_matches_the_analytic_mean():
    ev = _arrays(350)
    at = DAY0.toordinal() + 200.0
    one = estimate_batch(ev, at, draws=400, seed=9, workers=1)
    two = estimate_batch(ev, at, draws=400, seed=9, workers=2)
    for f in ("mean", "p05", "p95", "p_any"):
        np.testing.assert_array_equal(getattr(one, f), getattr(two, f))
    assert np.all(one.p05 <= one.p95) and np.all((one.p_any >= 0) & (one.p_any <= 1))
    big = estimate_batch(ev, at, draws=20_000, seed=9)
    # Analytic total over the uncertainty (fractions at their means), per event from its fields.
    events = [
        ContaminationEvent(
            area_ref="x",
            profile_id=ev.profiles[ev.profile[i]].id,
            quantity_low=int(ev.count_low[i]),
            quantity_best=int(ev.count_best[i]),
            quantity_high=int(ev.count_high[i]),
            emplaced_on=dt.date.fromordinal(int(ev.start_day[i])),
            emplaced_until=dt.date.fromordinal(int(ev.end_day[i])),
        )
        for i in range(len(ev))
    ]
    total = mean_live(events, dt.date.fromordinal(int(at)))
    assert big.mean.sum() == pytest.approx(total, rel=0.01)


# --- finds ----------------------------------------------------------------------------------


def test_update_with_finds_moves_the_last_stage():
    ccw = PROFILES["ccw-apii-minimum"]
    prior = ccw.self_deactivate.fail
    post = update_with_finds(ccw, live=5, inert=20)
    new = post.self_deactivate.fail
    assert (new.found_live, new.found_inert) == (5, 20)
    assert new.mean > prior.mean and new.point > prior.point  # 5 of 25 is far above 1%
    assert post.self_destruct == ccw.self_destruct
    calmer = update_with_finds(ccw, live=0, inert=2000).self_deactivate.fail
    assert calmer.mean < prior.mean
    assert update_with_finds(PROFILES["persistent-ap-mine"], 1, 1) == PROFILES["persistent-ap-mine"]
    with pytest.raises(ValidationError):
        update_with_finds(ccw, live=-1, inert=0)


def test_remaining_events_scale_the_counts():
    rest = remaining_events([event(best=40, low=20, high=90)], 0.25)[0]
    assert (rest.quantity_low, rest.quantity_best, rest.quantity_high) == (15, 30, 68)
    with pytest.raises(ValidationError):
        remaining_events([event()], 1.5)


def test_account_for_finds_updates_and_reduces():
    late = DAY0 + dt.timedelta(days=200)
    items = [
        Item(category="ap_mine", state="live", quantity=2, found_on=late),
        Item(category="ap_mine", state="inert", quantity=8, found_on=late),
        Item(category="ap_mine", state="live", quantity=5, found_on=DAY0),  # before day 120
    ]
    account = account_for_finds([event(best=40)], items, cleared_share=0.5)
    post = account.profiles["ccw-apii-minimum"].self_deactivate.fail
    prior = PROFILES["ccw-apii-minimum"].self_deactivate.fail
    assert (post.found_live, post.found_inert) == (2, 8)
    [shift] = account.shifts
    assert (shift.profile_id, shift.stage, shift.live, shift.inert) == (
        "ccw-apii-minimum",
        "self_deactivate",
        2,
        8,
    )
    assert shift.before == prior.point and shift.after == post.point > shift.before
    assert shift.prior_strength == prior.prior_strength
    assert account.events[0].quantity_best == 20
    assert PROFILES["ccw-apii-minimum"].self_deactivate.fail == prior  # packaged one untouched
    est = estimate(account.events, late, draws=2000, seed=1, profiles=account.profiles)
    assert est.expected_live > expected_live(account.events, late)  # finds raised f_sda


def test_profile_dataclasses_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PROFILES["ccw-apii-minimum"].id = "x"  # type: ignore[misc]
