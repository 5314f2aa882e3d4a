"""Paired statistics of what-if returns against closed forms and an independent oracle."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from rlviz.assess.paired import incomplete_beta, paired_difference, t_cdf, t_quantile
from rlviz.util.errors import RlvizError


@pytest.fixture(autouse=True)
def cold_quantiles():
    """t_quantile is cached: clear it so every test computes its quantiles (and a mutant of the
    functions below it is seen by every test that reaches them)."""
    t_quantile.cache_clear()
    yield
    t_quantile.cache_clear()


@pytest.mark.parametrize("p", [0.6, 0.9, 0.975, 0.995, 0.2])
def test_t_quantile_matches_the_closed_forms_for_1_2_and_4_degrees_of_freedom(p):
    assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)  # Cauchy
    assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-9)
    a = 4 * p * (1 - p)
    q = math.cos(math.acos(math.sqrt(a)) / 3) / math.sqrt(a)
    assert t_quantile(p, 4) == pytest.approx(math.copysign(2 * math.sqrt(q - 1), p - 0.5), rel=1e-9)


def test_t_quantile_tends_to_the_normal_quantile():
    assert t_quantile(0.975, 1e7) == pytest.approx(NormalDist().inv_cdf(0.975), rel=1e-5)


@pytest.mark.parametrize("df", [3, 7, 15])
def test_t_cdf_equals_the_integrated_density(df):
    # independent oracle: Simpson's rule on the t density from 0 to t
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    for t in (0.3, 1.0, 2.5, 6.0):
        x = np.linspace(0, t, 20001)
        f = c * (1 + x * x / df) ** (-(df + 1) / 2)
        h = x[1] - x[0]
        integral = h / 3 * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())
        assert t_cdf(t, df) == pytest.approx(0.5 + integral, abs=1e-10)
        assert t_cdf(-t, df) == pytest.approx(0.5 - integral, abs=1e-10)


def test_incomplete_beta_closed_forms():
    for x in (0.1, 0.5, 0.93):
        assert incomplete_beta(1, 1, x) == pytest.approx(x, abs=1e-14)  # uniform
        assert incomplete_beta(2, 1, x) == pytest.approx(x * x, abs=1e-14)
        assert incomplete_beta(0.5, 0.5, x) == pytest.approx(2 / math.pi * math.asin(math.sqrt(x)), abs=1e-12)


def test_paired_difference_on_synthetic_returns_by_hand():
    s = paired_difference([20, 21, 19], [21, 23, 22])  # differences 1, 2, 3: mean 2, sd 1, df 2
    half = (2 * 0.975 - 1) / math.sqrt(2 * 0.975 * 0.025) / math.sqrt(3)
    assert (s.n, s.diff_mean, s.diff_sd) == (3, pytest.approx(2.0), pytest.approx(1.0))
    assert (s.ci_low, s.ci_high) == (pytest.approx(2 - half), pytest.approx(2 + half))
    assert s.original_mean == pytest.approx(20.0) and s.edited_std == pytest.approx(np.std([21, 23, 22]))
    assert not s.ci_excludes_zero  # half-width 2.48 > 2
    assert paired_difference([21, 21, 20, 21], [-3, -8, -1, -5]).ci_excludes_zero


def test_pairing_removes_the_seeds_own_luck():
    # seeds differ a lot, the edit adds exactly 1: the paired interval is a point at +1
    base = np.array([-20.0, 0.0, 15.0, 3.0])
    s = paired_difference(base, base + 1)
    assert s.diff_mean == pytest.approx(1.0) and s.ci_low == pytest.approx(1.0) and s.ci_high == pytest.approx(1.0)
    assert s.ci_excludes_zero


def test_interval_covers_the_true_mean_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    covered = 0
    trials = 2000
    for _ in range(trials):
        a = rng.normal(0, 5, 5)
        b = a + rng.normal(-2.0, 3.0, 5)
        s = paired_difference(a, b)
        covered += s.ci_low <= -2.0 <= s.ci_high
    assert abs(covered / trials - 0.95) < 0.015


def test_one_pair_has_no_interval_and_bad_input_is_refused():
    s = paired_difference([3.0], [1.0])
    assert s.diff_mean == -2.0 and math.isnan(s.ci_low) and not s.ci_excludes_zero
    with pytest.raises(RlvizError):
        paired_difference([1, 2], [1])
    with pytest.raises(RlvizError):
        paired_difference([], [])
    with pytest.raises(RlvizError):
        t_quantile(1.0, 3)


def test_incomplete_beta_is_0_and_1_at_the_ends_and_refuses_x_outside():
    for a, b in ((2.0, 3.0), (0.5, 7.0)):
        assert incomplete_beta(a, b, 0.0) == 0.0 and incomplete_beta(a, b, 1.0) == 1.0
    for x in (-0.25, 1.5):
        with pytest.raises(RlvizError, match=rf"^incomplete beta needs 0 <= x <= 1, got {x}$"):
            incomplete_beta(2.0, 3.0, x)


@pytest.mark.parametrize("x", [1e-2, 1e-4, 0.3, 0.999, 0.999999])
@pytest.mark.parametrize("s", [0.5, 1.0, 2.0, 500.0])
def test_incomplete_beta_keeps_its_precision_near_both_ends(x, s):
    # I_x(1, s) = 1 - (1 - x)^s and I_x(s, 1) = x^s, written so neither loses digits
    assert incomplete_beta(1.0, s, x) == pytest.approx(-math.expm1(s * math.log1p(-x)), rel=1e-12, abs=1e-15)
    assert incomplete_beta(s, 1.0, x) == pytest.approx(x**s, rel=1e-12, abs=1e-15)


def test_t_cdf_refuses_zero_or_negative_degrees_of_freedom():
    for df in (0, -2.5):
        with pytest.raises(RlvizError, match=rf"^degrees of freedom must be positive, got {df}$"):
            t_cdf(1.0, df)
    assert t_cdf(0.0, 3) == pytest.approx(0.5, abs=1e-15)


def test_two_pairs_get_the_cauchy_interval_and_another_confidence_its_own_quantile():
    s = paired_difference([0.0, 0.0], [1.0, 3.0])  # d = 1, 3: mean 2, sd sqrt(2), df 1
    half = math.tan(math.pi * 0.475) * math.sqrt(2) / math.sqrt(2)
    assert (s.n, s.diff_sd, s.ci_low, s.ci_high) == (2, pytest.approx(math.sqrt(2)), pytest.approx(2 - half),
                                                     pytest.approx(2 + half))
    s90 = paired_difference([20, 21, 19], [21, 23, 22], confidence=0.9)  # t_{0.95, 2} in closed form
    half90 = (2 * 0.95 - 1) / math.sqrt(2 * 0.95 * 0.05) / math.sqrt(3)
    assert (s90.ci_low, s90.ci_high, s90.confidence) == (pytest.approx(2 - half90), pytest.approx(2 + half90), 0.9)
    assert paired_difference([1, 2], [2, 2]).confidence == 0.95


def test_paired_stats_report_each_sides_mean_and_spread_and_their_dict_says_the_verdict():
    s = paired_difference([1.0, 5.0], [20.0, 10.0])  # d = 19, 5
    assert (s.original_mean, s.original_std, s.edited_mean, s.edited_std) == (3.0, 2.0, 15.0, 5.0)
    d = s.to_dict()
    assert d == {"n": 2, "original_mean": 3.0, "original_std": 2.0, "edited_mean": 15.0, "edited_std": 5.0,
                 "diff_mean": 12.0, "diff_sd": pytest.approx(14 / math.sqrt(2)), "ci_low": s.ci_low, "ci_high": s.ci_high,
                 "confidence": 0.95, "ci_excludes_zero": s.ci_excludes_zero}
    assert d["ci_excludes_zero"] is False  # half-width 12.7 * 9.9 / sqrt(2) = 89 > 12


def test_bad_pairs_and_confidences_are_refused_with_what_was_given():
    with pytest.raises(RlvizError, match=r"^paired returns need two equally long, non-empty lists; got 2 and 1$"):
        paired_difference([1, 2], [1])
    with pytest.raises(RlvizError, match=r"got 4 and 4$"):
        paired_difference([[1, 2], [3, 4]], [[1, 2], [3, 4]])  # not one list of returns
    for c in (0.0, 1.0, 1.5):
        with pytest.raises(RlvizError, match=rf"^confidence must be between 0 and 1, got {c}$"):
            paired_difference([1, 2], [2, 3], confidence=c)
