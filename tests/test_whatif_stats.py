"""Paired statistics of what-if returns against closed forms and an independent oracle."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from rlviz.assess.paired import incomplete_beta, paired_difference, t_cdf, t_quantile
from rlviz.util.errors import RlvizError


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
