"""The Monte Carlo's two ranges (expected count, actual count), the batch's safe days, progress.

Events here are synthetic: made-up areas, counts and dates to exercise the model.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic_events import random_event_arrays

from landrelease.domain.errors import ValidationError
from landrelease.domain.records import ContaminationEvent
from landrelease.residual import (
    EventArrays,
    estimate,
    estimate_batch,
    events_to_arrays,
    load_profiles,
)
from landrelease.residual.chart import residual_chart
from landrelease.residual.draws import covering, shortest_range
from landrelease.residual.montecarlo import AreaDraws, find_safe_date, timeline
from landrelease.residual.plot import plot_timeline

PROFILES = load_profiles()
IDS = sorted(PROFILES)
DAY0 = dt.date(2024, 1, 1)
TREATY = "ccw-apii-minimum"


def event(profile=TREATY, best=1000, low=None, high=None, until=None, area="A", on=DAY0):
    return ContaminationEvent(
        ref=f"{area}-{profile}",
        area_ref=area,
        profile_id=profile,
        quantity_low=low,
        quantity_best=best,
        quantity_high=high,
        emplaced_on=on,
        emplaced_until=until,
    )


def days(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


# --- the actual count's range ------------------------------------------------------------------


@pytest.mark.parametrize("day", [120, 200, 4000])
def test_treaty_minimum_at_day_120_and_later_is_0_to_2_devices(day):
    """1,000 mines at the treaty minimum: 1.0 expected live, an actual number of 0 to 2."""
    est = estimate([event()], days(day), draws=10_000, seed=16)
    assert est.expected_live == pytest.approx(1.0)
    assert (est.actual_low, est.actual_high) == (0, 2)
    # The range of the expected count is a band of fractions of a device around 1.
    assert 0.3 < est.expected_p05 < 1.0 < est.expected_p95 < 2.0
    assert est.expected_p05 != round(est.expected_p05)
    assert est.expected_p95 != round(est.expected_p95)
    assert 1.0 - est.p_any_live == pytest.approx(0.40, abs=0.03)  # P(0 live) ~ 0.37-0.42
    area = AreaDraws.draw(events_to_arrays([event()], PROFILES), 10_000, 16)
    actual = area.at(days(day).toordinal()).actual
    assert np.mean(actual <= 2) == pytest.approx(0.92, abs=0.02)
    assert np.mean(actual == 0) == pytest.approx(1.0 - est.p_any_live, abs=0.02)


def test_treaty_minimum_range_in_the_batch_and_on_the_chart():
    ev = events_to_arrays([event(area=a) for a in "ABC"], PROFILES, {"A": 0, "B": 1, "C": 2})
    batch = estimate_batch(ev, days(150).toordinal(), draws=4000, seed=3)
    assert batch.actual_low.tolist() == [0, 0, 0]
    assert batch.actual_high.tolist() == [2, 2, 2]
    assert batch.actual_low.dtype == np.int64
    line = timeline([event()], days(100), days(300), points=50, draws=4000, seed=3)
    late = np.array([d >= days(120) for d in line.dates])
    assert set(line.actual_low[late]) == {0} and set(line.actual_high[late]) == {2}
    assert np.all(line.actual_low[~late] > 50)  # before the step: about a hundred live


@pytest.mark.parametrize("count", [0, 1, 37])
def test_a_persistent_profile_with_a_fixed_count_is_exactly_that_count(count):
    ev = event("persistent-ap-mine", best=count)
    est = estimate([ev], days(365), draws=2000, seed=1)
    assert (est.actual_low, est.actual_high) == (count, count)
    assert est.expected_p05 == est.expected_p95 == count
    arrays = events_to_arrays([ev], PROFILES)
    batch = estimate_batch(arrays, days(365).toordinal(), draws=500, seed=1)
    assert (batch.actual_low[0], batch.actual_high[0]) == (count, count)


def test_the_actual_count_mixes_the_binomial_draws_and_the_count_range():
    """The mean of the actual count is the mean of the expected count; its spread is wider."""
    events = [
        event("submunition-official-2023", best=300, low=100, high=600, area="A"),
        event(TREATY, best=200, until=days(20), area="A"),
    ]
    area = AreaDraws.draw(events_to_arrays(events, PROFILES), 20_000, 4)
    now = area.at(days(125).toordinal())
    assert now.actual.mean() == pytest.approx(now.live.mean(), rel=0.02)
    assert now.actual.var() > now.live.var()
    assert np.all(now.actual <= 600 + 200)


def test_estimate_and_a_one_area_batch_give_the_same_numbers():
    """The same seed draws the same fractions, counts and survivors on both paths."""
    events = [
        event(TREATY, best=40, low=20, high=90, until=days(30)),
        event("us-nonpersistent-claimed", best=8, until=days(3)),
    ]
    ev = events_to_arrays(events, PROFILES)
    for day in (20, 125, 400):
        est = estimate(events, days(day), draws=3000, seed=21, threshold=0.05)
        batch = estimate_batch(ev, days(day).toordinal(), draws=3000, seed=21, threshold=0.05)
        assert batch.mean[0] == est.expected_live_mc
        assert (batch.p05[0], batch.p95[0]) == (est.expected_p05, est.expected_p95)
        assert (batch.actual_low[0], batch.actual_high[0]) == (est.actual_low, est.actual_high)
        assert batch.p_any[0] == est.p_any_live
        assert est.safe_date is not None
        assert dt.date.fromordinal(int(batch.safe_day[0])) == est.safe_date


# --- shortest_range ------------------------------------------------------------------------------


def _brute_force(row: np.ndarray, keep: int) -> tuple[int, int]:
    """The shortest interval holding `keep` values, the lowest of equal ones, by trying all."""
    best = None
    for a in range(int(row.min()), int(row.max()) + 1):
        for b in range(a, int(row.max()) + 1):
            if np.count_nonzero((row >= a) & (row <= b)) >= keep:
                if best is None or b - a < best[1] - best[0]:
                    best = (a, b)
                break
    assert best is not None
    return best


@settings(max_examples=120, deadline=None)
@given(
    rows=st.integers(1, 40).flatmap(
        lambda d: st.lists(
            st.lists(st.integers(0, 12), min_size=d, max_size=d), min_size=1, max_size=4
        )
    ),
    share=st.sampled_from([0.5, 0.9, 0.95, 1.0]),
)
def test_shortest_range_is_the_shortest_lowest_interval_holding_the_share(rows, share):
    x = np.array(rows, dtype=np.int64)
    low, high = shortest_range(x, share)
    keep = covering(x.shape[1], share)
    for i, row in enumerate(x):
        assert np.count_nonzero((row >= low[i]) & (row <= high[i])) >= keep
        assert (low[i], high[i]) == _brute_force(row, keep)


def test_shortest_range_ties_go_to_the_lowest_and_counts_whole_draws():
    low, high = shortest_range(np.array([[1] * 50 + [0] * 50, [3] * 50 + [2] * 50]), 0.5)
    assert (low.tolist(), high.tolist()) == ([0, 2], [0, 2])
    low, high = shortest_range(np.array([[9, 0, 1, 2, 3, 4, 5, 6, 7, 8]]), 0.9)
    assert (low[0], high[0]) == (0, 8)  # 0..8 and 1..9 both hold 9 of 10: the lowest
    assert covering(2000) == 1800 and covering(10) == 9 and covering(1) == 1


@settings(max_examples=30, deadline=None)
@given(
    pid=st.sampled_from(IDS),
    best=st.integers(0, 300),
    spread=st.integers(0, 300),
    window=st.integers(0, 60),
    day=st.integers(0, 500),
)
def test_the_actual_range_holds_90_percent_of_the_draws(pid, best, spread, window, day):
    ev = event(pid, best=best, low=best // 2, high=best + spread, until=days(window))
    at = days(window + day)
    est = estimate([ev], at, draws=600, seed=7)
    area = AreaDraws.draw(events_to_arrays([ev], PROFILES), 600, 7)
    actual = area.at(at.toordinal()).actual
    inside = np.count_nonzero((actual >= est.actual_low) & (actual <= est.actual_high))
    assert inside >= math.ceil(0.9 * 600)
    assert 0 <= est.actual_low <= est.actual_high <= best + spread
    assert isinstance(est.actual_low, int) and isinstance(est.actual_high, int)
    assert est.expected_p05 <= est.expected_live_mc <= est.expected_p95
    if est.p_any_live == 0.0:  # no device can be live: the actual count is 0 in every draw
        assert (est.actual_low, est.actual_high) == (0, 0)


# --- the batch: reproducible, safe days, progress ---------------------------------------------


def _mixed_areas() -> tuple[list[str], dict[str, list[ContaminationEvent]]]:
    start = dt.date(2024, 3, 1)
    areas = {
        "A": [event(TREATY, best=3, area="A", on=start)],
        "B": [event("us-nonpersistent-claimed", best=10, low=5, high=20, area="B", on=start)],
        "C": [
            event(TREATY, best=4, low=2, high=6, until=start + dt.timedelta(10), area="C", on=start)
        ],
        "D": [event("persistent-ap-mine", best=5, area="D", on=start)],
        "E": [event("submunition-official-2023", best=100, area="E", on=start)],
        "F": [
            event(TREATY, best=2, area="F", on=start),
            event(
                "us-nonpersistent-claimed",
                best=20,
                until=start + dt.timedelta(30),
                area="F",
                on=start,
            ),
        ],
    }
    return list(areas), areas


def test_batch_safe_day_is_find_safe_date_of_the_same_area():
    """Per area of a batch of mixed profiles, the safe day is the one `find_safe_date` finds.

    The batch draws differ from those of each area alone (it draws the fractions of all its
    profiles from one stream, and the counts chunk by chunk), so P(at least one live) differs
    by Monte Carlo noise; where it crosses the threshold at a step of the model (a
    self-deactivation, the end of the self-destruct window) both land on the same day. With
    the same draws (a batch of one area) the day is the same whatever the area, tested above.
    """
    refs, areas = _mixed_areas()
    events = [e for r in refs for e in areas[r]]
    ev = events_to_arrays(events, PROFILES, {r: i for i, r in enumerate(refs)})
    batch = estimate_batch(ev, dt.date(2024, 3, 5).toordinal(), draws=2000, seed=8, threshold=0.01)
    for i, ref in enumerate(refs):
        alone = AreaDraws.draw(events_to_arrays(areas[ref], PROFILES), 2000, 9)
        day, _ = find_safe_date(alone, 0.01)
        if day is None:
            assert math.isnan(batch.safe_day[i]), ref
        else:
            assert abs(batch.safe_day[i] - day.toordinal()) <= 1, ref
    start = dt.date(2024, 3, 1).toordinal()
    assert (batch.safe_day[:3] - start).tolist() == [120, 15, 130]
    assert np.isnan(batch.safe_day[3:5]).all()


def _arrays(n_areas: int, seed: int = 0) -> EventArrays:
    return random_event_arrays(n_areas, DAY0, seed=seed, max_count=40)


def test_a_seed_reproduces_the_batch_whatever_the_threads_with_safe_days_and_progress():
    ev = _arrays(330)
    at = DAY0.toordinal() + 150.0
    seen: dict[int, list[tuple[int, int]]] = {1: [], 3: []}
    runs = {
        w: estimate_batch(
            ev,
            at,
            draws=300,
            seed=12,
            workers=w,
            threshold=0.02,
            progress=lambda done, total, w=w: seen[w].append((done, total)),
        )
        for w in (1, 3)
    }
    one, three = runs[1], runs[3]
    for f in ("mean", "p05", "p95", "actual_low", "actual_high", "p_any", "safe_day"):
        np.testing.assert_array_equal(getattr(one, f), getattr(three, f), err_msg=f)
    assert one.seed == three.seed == 12
    assert np.isfinite(one.safe_day).any() and np.isnan(one.safe_day).any()
    for calls in seen.values():
        assert calls[-1] == (330, 330)
        assert len(calls) == 4  # one per chunk of 100 areas
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    other = estimate_batch(ev, at, draws=300, seed=13, threshold=0.02)
    assert not np.array_equal(one.p_any, other.p_any)


def test_batch_without_threshold_has_no_safe_days_and_empty_areas_get_zeros():
    ev = _arrays(50)
    empty = sorted(set(range(50)) - set(ev.area.tolist()))
    batch = estimate_batch(ev, DAY0.toordinal() + 40.0, draws=200, seed=1)
    assert np.isnan(batch.safe_day).all()
    assert empty, "the synthetic areas include some without events"
    for f in ("mean", "p05", "p95", "actual_low", "actual_high", "p_any"):
        assert np.all(getattr(batch, f)[empty] == 0), f
    calls: list[tuple[int, int]] = []
    estimate_batch(ev, 0.0, draws=10, seed=1, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(50, 50)]


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.5, 3.0])
def test_batch_refuses_a_threshold_outside_0_1(bad):
    with pytest.raises(ValidationError, match="threshold"):
        estimate_batch(_arrays(3), DAY0.toordinal(), draws=10, threshold=bad)
    with pytest.raises(ValidationError, match="draws"):
        estimate_batch(_arrays(3), DAY0.toordinal(), draws=0)


# --- what the edges read -----------------------------------------------------------------------


def test_estimate_and_chart_name_both_ranges(tmp_path):
    est = estimate([event()], days(130), draws=2000, seed=2)
    assert list(est.as_dict()) == [
        "at",
        "expected_live",
        "expected_live_monte_carlo",
        "expected_live_p05",
        "expected_live_p95",
        "actual_live_low",
        "actual_live_high",
        "p_any_live",
        "safe_date",
        "safe_date_reason",
        "threshold",
        "draws",
        "seed",
        "profiles",
    ]
    chart = residual_chart([event()], est, profiles=PROFILES, draws=1000)
    data = chart.as_dict()
    assert {
        "dates",
        "expected_live",
        "expected_live_p05",
        "expected_live_p95",
        "actual_live_low",
        "actual_live_high",
        "p_any_live",
        "at",
        "safe_date",
        "threshold",
        "emplaced_on",
        "draws",
        "seed",
        "expected_live_at",
    } == set(data)
    n = len(data["dates"])
    assert all(len(data[k]) == n for k in ("actual_live_low", "actual_live_high"))
    assert all(isinstance(v, int) for v in data["actual_live_high"])
    png = plot_timeline(chart.line, est, tmp_path / "curve.png", title="synthetic")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_leaving_out_the_actual_range_keeps_the_expected_count_and_its_range():
    ev = _arrays(120, seed=5)
    at = DAY0.toordinal() + 150.0
    full = estimate_batch(ev, at, draws=300, seed=11, workers=2)
    lean = estimate_batch(ev, at, draws=300, seed=11, workers=2, actual=False)
    for f in ("mean", "p05", "p95", "p_any"):
        np.testing.assert_array_equal(getattr(full, f), getattr(lean, f))
    assert full.actual_high.any() and not lean.actual_high.any()
