"""Device profiles' fractions: the stated ranges kept as stated, prior strength, finds moved."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from landrelease.residual import load_profiles, update_with_finds
from landrelease.residual.finds import StageShift
from landrelease.residual.fractions import Fraction
from landrelease.residual.profiles import parse_profiles

PROFILES = load_profiles()
FRACTIONS = [
    pytest.param(frac, id=f"{pid}.{stage}")
    for pid, profile in sorted(PROFILES.items())
    for stage, frac in profile.fractions().items()
]


def synthetic(**fields: object) -> Fraction:
    """Return a synthetic fraction: 10% (5-20% as a 90% range), worth 20 devices."""
    values: dict[str, object] = {
        "best": 0.10,
        "low": 0.05,
        "high": 0.20,
        "range_quantiles": (0.05, 0.95),
        "kind": "assumption",
        "source": "synthetic",
        "prior_strength": 20.0,
        "prior_strength_reason": "synthetic",
    }
    values.update(fields)
    return Fraction(**values)  # type: ignore[arg-type]


# --- the stated ranges, as stated -------------------------------------------------------------


@pytest.mark.parametrize("frac", FRACTIONS)
def test_the_model_passes_through_the_stated_low_best_and_high(frac: Fraction) -> None:
    q_lo, q_hi = frac.range_quantiles
    assert frac.ppf(q_lo) == pytest.approx(frac.low, rel=0.02)
    assert frac.ppf(q_hi) == pytest.approx(frac.high, rel=0.02)
    assert frac.ppf(0.5) == pytest.approx(frac.best, rel=0.02)
    assert frac.point == frac.best  # exactly: the point figures stay the sources' own
    assert frac.low < frac.mean < frac.high and frac.sd > 0


@pytest.mark.parametrize("frac", FRACTIONS)
def test_draws_follow_the_quantiles(frac: Fraction) -> None:
    draws = frac.sample(np.random.default_rng(7), 200_000)
    q = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    np.testing.assert_allclose(np.quantile(draws, q), frac.ppf(q), rtol=0.02)
    assert draws.mean() == pytest.approx(frac.mean, rel=0.02)


def test_every_fraction_says_which_quantiles_and_how_strong_and_why() -> None:
    for pid, profile in PROFILES.items():
        for stage, frac in profile.fractions().items():
            where = f"{pid}.{stage}"
            assert 0 < frac.range_quantiles[0] < frac.range_quantiles[1] < 1, where
            assert frac.prior_strength > 0 and frac.prior_strength_reason.strip(), where
            quantile_words = ("percentile", "quantile", "90% range")
            assert any(word in frac.range_note for word in quantile_words), where


def test_lopsided_ranges_are_no_longer_recentred() -> None:
    # What the model printed before for its 5-95% range, against what the sources state.
    official = PROFILES["submunition-official-2023"].dud
    assert official is not None and official.range_quantiles == (0.10, 0.90)
    assert official.ppf(0.10) == pytest.approx(0.0235) and official.ppf(0.90) == pytest.approx(0.14)
    field = PROFILES["submunition-field-typical"].dud
    assert field is not None
    assert (field.ppf(0.05), field.ppf(0.95)) == pytest.approx((0.07, 0.26))


@settings(max_examples=80, deadline=None)
@given(
    best=st.floats(1e-5, 0.9),
    down=st.floats(1.05, 20.0),
    up=st.floats(0.05, 0.95),
    q_lo=st.floats(0.005, 0.45),
    q_hi=st.floats(0.55, 0.995),
)
def test_any_stated_range_is_reproduced(
    best: float, down: float, up: float, q_lo: float, q_hi: float
) -> None:
    high = best + up * (1.0 - best)
    frac = synthetic(best=best, low=best / down, high=high, range_quantiles=(q_lo, q_hi))
    assert frac.ppf(q_lo) == pytest.approx(best / down, rel=1e-9)
    assert frac.ppf(q_hi) == pytest.approx(high, rel=1e-9)
    assert frac.point == best


def test_a_beta_given_directly_is_a_beta() -> None:
    frac = Fraction.from_beta(
        2.0, 38.0, kind="test", source="synthetic", prior_strength=40, prior_strength_reason="s"
    )
    assert frac.mean == pytest.approx(0.05) and frac.point == pytest.approx(frac.best)
    assert frac.sd == pytest.approx(math.sqrt(2 * 38 / (40**2 * 41)))
    draws = frac.sample(np.random.default_rng(1), 200_000)
    np.testing.assert_allclose(
        np.quantile(draws, [0.05, 0.5, 0.95]), frac.ppf(np.array([0.05, 0.5, 0.95])), rtol=0.02
    )


# --- prior strength and finds -----------------------------------------------------------------


@pytest.mark.parametrize("alpha,beta,strength", [(1, 99, 100), (10, 990, 10), (3, 27, 300)])
def test_a_beta_prior_of_size_n_moves_as_n_pseudo_observations(
    alpha: float, beta: float, strength: float
) -> None:
    prior = Fraction.from_beta(
        alpha, beta, kind="test", source="s", prior_strength=strength, prior_strength_reason="s"
    )
    m = prior.mean
    post = prior.updated(3, 0)
    assert post.mean == pytest.approx((m * strength + 3) / (strength + 3), rel=0.01)
    assert prior.updated(1, 2).updated(2, 5) == prior.updated(3, 7)


@pytest.mark.parametrize("pid", sorted(PROFILES))
@pytest.mark.parametrize("live,inert", [(3, 0), (1, 9), (0, 20), (40, 160)])
def test_finds_move_a_stage_as_its_prior_strength_says(pid: str, live: int, inert: int) -> None:
    # Every fraction: after finds, Beta(c N + live, (1 - c) N + inert), c the figure before.
    for prior in PROFILES[pid].fractions().values():
        n, c = prior.prior_strength, prior.centre
        post = prior.updated(live, inert)
        expected = (c * n + live) / (n + live + inert)
        assert post.point == pytest.approx(expected, rel=1e-12)
        assert post.mean == pytest.approx(expected, rel=1e-12)
        beta = stats.beta(c * n + live, (1 - c) * n + inert)
        assert post.ppf(0.05) == pytest.approx(beta.ppf(0.05), rel=1e-9)
        assert post.ppf(0.95) == pytest.approx(beta.ppf(0.95), rel=1e-9)


def test_a_range_worth_its_own_size_keeps_its_width_after_the_first_finds() -> None:
    # A field figure whose strength is its stated range's Beta-equivalent size: the first
    # finds that agree with it barely change its 90% range (no jump when finds arrive).
    prior = PROFILES["submunition-field-high"].dud
    assert prior is not None
    before = prior.ppf(0.95) - prior.ppf(0.05)
    after = prior.updated(1, 2)
    assert after.ppf(0.95) - after.ppf(0.05) == pytest.approx(before, rel=0.15)


def test_ccw_minimum_self_deactivation_now_moves_with_three_live_finds() -> None:
    """3 of 3 intact mines found live after day 120. With the range read as a Beta of about
    1,070 pseudo-observations, they moved the failing share only from 0.0100 to 0.0128; the
    design limit now counts as 100 devices, and the same finds move it to (1 + 3) / 103."""
    ccw = PROFILES["ccw-apii-minimum"]
    prior = ccw.self_deactivate.fail  # type: ignore[union-attr]
    assert prior.prior_strength == 100 and "design limit" in prior.prior_strength_reason
    post = update_with_finds(ccw, live=3, inert=0).self_deactivate.fail  # type: ignore[union-attr]
    shift = StageShift.of(ccw.id, "self_deactivate", prior, post)
    assert shift.before == 0.01 and shift.before_range == pytest.approx((0.005, 0.015))
    assert shift.after == pytest.approx(4 / 103)
    assert shift.after_range == pytest.approx(
        (stats.beta(4, 99).ppf(0.05), stats.beta(4, 99).ppf(0.95))
    )
    # Inert finds move it down, by as much as 3 devices against 100 should.
    calmer = prior.updated(0, 3)
    assert calmer.point == pytest.approx(1 / 103)
    assert shift.as_dict() == {
        "profile_id": "ccw-apii-minimum",
        "stage": "self_deactivate",
        "live": 3,
        "inert": 0,
        "prior_strength": 100.0,
        "before": 0.01,
        "after": shift.after,
        "before_range": list(shift.before_range),
        "after_range": list(shift.after_range),
    }


def test_finds_accumulate_and_the_prior_is_kept() -> None:
    frac = synthetic()
    assert frac.updated(0, 0) == frac and frac.updated(0, 0).point == frac.best
    twice = frac.updated(2, 3).updated(1, 4)
    assert (twice.found_live, twice.found_inert) == (3, 7)
    assert twice.mean == pytest.approx(frac.updated(3, 7).mean)
    assert twice.best == frac.best and twice.prior_strength == frac.prior_strength
    draws = twice.sample(np.random.default_rng(3), 200_000)
    q = np.array([0.05, 0.5, 0.95])
    np.testing.assert_allclose(np.quantile(draws, q), twice.ppf(q), rtol=0.02)
    with pytest.raises(ValueError):
        frac.updated(-1, 0)


def test_profile_as_dict_shows_the_model_beside_the_stated_figures() -> None:
    data = PROFILES["ccw-apii-minimum"].as_dict()
    fail = data["self_deactivate"]["fail"]
    for key in (
        "point",
        "mean",
        "sd",
        "p05",
        "p95",
        "best",
        "low",
        "high",
        "range_quantiles",
        "prior_strength",
        "prior_strength_reason",
        "found_live",
        "found_inert",
    ):
        assert key in fail, key
    assert fail["point"] == 0.01 and fail["range_quantiles"] == [0.05, 0.95]
    assert fail["p05"] == pytest.approx(0.005) and fail["p95"] == pytest.approx(0.015)
    assert data["floor"] == pytest.approx(0.001)


# --- a malformed profiles file is refused, naming the fraction --------------------------------

GOOD = """
[[profile]]
id = "x"
name = "synthetic"
category = "submunition"
basis = "test"
[profile.dud]
kind = "test"
source = "synthetic"
"""
FIELDS = {
    "best": "0.1",
    "low": "0.05",
    "high": "0.2",
    "range_quantiles": "[0.05, 0.95]",
    "prior_strength": "20",
    "prior_strength_reason": '"synthetic"',
}


def toml(**changes: str | None) -> str:
    fields = {**FIELDS, **changes}
    return GOOD + "".join(f"{k} = {v}\n" for k, v in fields.items() if v is not None)


def test_the_synthetic_profile_is_accepted() -> None:
    dud = parse_profiles(toml())["x"].dud
    assert dud is not None and dud.prior_strength == 20 and dud.range_quantiles == (0.05, 0.95)


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"prior_strength": None}, "prior_strength is required"),
        ({"prior_strength_reason": None}, "prior_strength_reason is required"),
        ({"prior_strength": "0"}, "prior_strength must be above 0"),
        ({"range_quantiles": None}, "range_quantiles is required"),
        ({"range_quantiles": "[0.95, 0.05]"}, "ascending"),
        ({"range_quantiles": "[0.0, 0.95]"}, "in \\(0, 1\\)"),
        ({"range_quantiles": "[0.05, 1.0]"}, "in \\(0, 1\\)"),
        ({"range_quantiles": "[0.05]"}, "two numbers"),
        ({"low": "0.15"}, "low < best"),
        ({"high": "0.08"}, "best < high"),
        ({"best_quantile": "0.99"}, "best_quantile"),
        ({"prior_strenght": "20"}, "unknown key"),
        ({"alpha": "2"}, "alpha and beta"),
    ],
)
def test_a_malformed_fraction_is_refused_naming_it(
    changes: dict[str, str | None], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_profiles(toml(**changes))
    assert str(caught.value).startswith("x.dud: ")
