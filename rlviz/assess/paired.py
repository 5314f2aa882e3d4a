"""Paired comparison of returns: the same seeds played with and without an edit.

Episode k of both runs starts from ``reset(seed + k)``, so the two returns of a seed form a
pair and the per-seed differences carry the comparison (the seed's own luck cancels). The
95% confidence interval of the mean difference is Student's t interval:

    d_k = edited_k - original_k,   mean d  +-  t_{0.975, n-1} * sd(d) / sqrt(n)

with sd the sample standard deviation (n - 1). The t quantile is computed here (no scipy):
the t distribution's CDF through the regularised incomplete beta function, by its continued
fraction (Lentz's method), inverted by bisection.

Example:
    >>> s = paired_difference([21, 21, 20], [-3, -8, -1])
    >>> round(s.diff_mean, 2), s.ci_excludes_zero
    (-24.67, True)
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass

import numpy as np

from rlviz.util.errors import RlvizError


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) (modified Lentz; converges for x < (a + 1) / (a + b + 2))."""
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        for num in (m * (b - m) * x / ((a + m2 - 1.0) * (a + m2)),
                    -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if not 0.0 <= x <= 1.0:
        raise RlvizError(f"incomplete beta needs 0 <= x <= 1, got {x}")
    if x in (0.0, 1.0):
        return x
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    if df <= 0:
        raise RlvizError(f"degrees of freedom must be positive, got {df}")
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


@functools.lru_cache(maxsize=256)
def t_quantile(p: float, df: float) -> float:
    """The t value with P(T <= t) = p (bisection on t_cdf to ~1e-12 relative)."""
    if not 0.0 < p < 1.0:
        raise RlvizError(f"a quantile needs 0 < p < 1, got {p}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


@dataclass
class PairedStats:
    """Returns with and without an edit over the same seeds, and their paired difference."""

    n: int
    original_mean: float
    original_std: float  # population std over episodes (as rlviz evaluate reports)
    edited_mean: float
    edited_std: float
    diff_mean: float  # mean of edited - original
    diff_sd: float  # sample sd of the differences (n - 1); NaN for one pair
    ci_low: float  # confidence interval of the mean difference; NaN for one pair
    ci_high: float
    confidence: float = 0.95

    @property
    def ci_excludes_zero(self) -> bool:
        return bool(self.ci_low > 0 or self.ci_high < 0)

    def to_dict(self) -> dict:
        return {**asdict(self), "ci_excludes_zero": self.ci_excludes_zero}


def paired_difference(original, edited, confidence: float = 0.95) -> PairedStats:
    """Paired statistics of two equally long sequences of returns, pair k from the same seed."""
    a = np.asarray(original, dtype=np.float64)
    b = np.asarray(edited, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise RlvizError(f"paired returns need two equally long, non-empty lists; got {a.size} and {b.size}")
    if not 0.0 < confidence < 1.0:
        raise RlvizError(f"confidence must be between 0 and 1, got {confidence}")
    d = b - a
    n = d.size
    if n > 1:
        sd = float(d.std(ddof=1))
        half = t_quantile(0.5 + confidence / 2.0, n - 1) * sd / math.sqrt(n)
    else:
        sd, half = float("nan"), float("nan")
    mean = float(d.mean())
    return PairedStats(n, float(a.mean()), float(a.std()), float(b.mean()), float(b.std()), mean, sd,
                       mean - half, mean + half, confidence)
