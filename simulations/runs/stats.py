"""Mean, spread and confidence intervals: of a figure over the seeds of a sweep, of a share.

Over seeds: a Student-t interval (the tables), and a percentile bootstrap of the mean (the
figures: it stays within the values seen, so a share's interval never goes below 0). Of one share,
k of n: Wilson's score interval, within [0, 1] however small n is. The bootstrap draws from its
own generator with a fixed seed, so the same values give the same interval, byte for byte.

The t quantile is computed here (the regularised incomplete beta function, inverted by
bisection) so the simulator needs no scipy; it matches the published tables to 1e-9
(tests/simulations/runs/test_sweep.py checks t(0.975, 9) = 2.262157 and others).
"""

from __future__ import annotations

import functools
import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from amity.protocol.errors import UsageError

__all__ = ["Estimate", "bootstrap_mean", "estimate", "t_quantile", "wilson"]

_EPS: Final = 1e-15
_TINY: Final = 1e-300
_MAX_TERMS: Final = 1000


@dataclass(frozen=True, slots=True)
class Estimate:
    """A figure over ``n`` runs: its mean, sample standard deviation and a confidence interval.

    ``std`` and the intervals are None for fewer than two runs (no spread to measure), and every
    field but ``n`` is None for none. ``ci_*`` is Student's t (the tables), ``boot_*`` the
    bootstrap of the mean (the figures: within the values seen).
    """

    n: int
    mean: float | None
    std: float | None
    ci_low: float | None
    ci_high: float | None
    boot_low: float | None = None
    boot_high: float | None = None


def estimate(values: Sequence[float], *, confidence: float = 0.95) -> Estimate:
    """Mean ± t(1 - alpha/2, n - 1) · s / √n over ``values`` (summed in the order given)."""
    n = len(values)
    if n == 0:
        return Estimate(0, None, None, None, None)
    mean = statistics.fmean(values)
    if n == 1:
        return Estimate(1, mean, None, None, None)
    std = statistics.stdev(values)
    half = t_quantile(0.5 + confidence / 2, n - 1) * std / math.sqrt(n)
    boot = bootstrap_mean(values, confidence=confidence)
    assert boot is not None  # n >= 2
    return Estimate(n, mean, std, mean - half, mean + half, *boot)


#: Resamples of a bootstrap: the interval's ends move by well under 1 % of its width past this.
BOOTSTRAP_RESAMPLES: Final = 4000


def bootstrap_mean(
    values: Sequence[float], *, confidence: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES
) -> tuple[float, float] | None:
    """The percentile bootstrap interval of the mean of ``values`` (None for fewer than two).

    It lies between the smallest and the largest value, so it never leaves the range a figure
    can take. With few values it is narrow (3 values have 10 distinct resampled means): read it
    with the number of seeds, as the caption gives it.
    """
    n = len(values)
    if n < 2:
        return None
    rng = random.Random(0)  # a fixed seed: the same values, the same interval
    means = sorted(statistics.fmean(rng.choices(values, k=n)) for _ in range(resamples))
    alpha = (1 - confidence) / 2
    low = means[math.floor(alpha * (resamples - 1))]
    high = means[math.ceil((1 - alpha) * (resamples - 1))]
    return low, high


def wilson(successes: int, trials: int, *, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson's score interval for a share of ``successes`` in ``trials`` (None for no trials)."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise UsageError(f"wilson: expected 0 <= successes <= trials, got {successes}/{trials}")
    z = _normal_quantile(0.5 + confidence / 2)
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = (
        z
        / (1 + z * z / trials)
        * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    )
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def _normal_quantile(p: float) -> float:
    return statistics.NormalDist().inv_cdf(p)


@functools.lru_cache(maxsize=256)
def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom."""
    if not 0 < p < 1 or not df > 0:
        raise UsageError(f"t quantile: expected 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    if p == 0.5:
        return 0.0
    if df == 1:  # Cauchy
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if _t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _t_cdf(t: float, df: float) -> float:
    """P(T <= t) for t >= 0: 1 - I_x(df/2, 1/2) / 2 with x = df / (df + t²)."""
    x = df / (df + t * t)
    return 1 - _regularised_beta(x, df / 2, 0.5) / 2


def _regularised_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), by its continued fraction (modified Lentz), as in Numerical Recipes §6.4."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(x, a, b) / a
    return 1 - math.exp(log_front) * _beta_fraction(1 - x, b, a) / b


def _beta_fraction(x: float, a: float, b: float) -> float:
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_TERMS + 1):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > _TINY else _TINY)
            c = 1 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1) < _EPS:
            break
    return h
