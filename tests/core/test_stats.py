"""The interval helper against scipy.stats, and its refusals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from selfdistill.core.stats import mean_interval, paired_interval


@pytest.mark.parametrize("n", [2, 5, 8, 30])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_paired_interval_matches_scipy_ttest_rel(n, level):
    rng = np.random.default_rng(n)
    a, b = rng.normal(0.8, 0.05, n), rng.normal(0.78, 0.05, n)
    iv = paired_interval(a, b, level)
    ref = sps.ttest_rel(a, b).confidence_interval(level)
    assert iv.n == n and iv.dof == n - 1
    assert iv.low == pytest.approx(ref.low, rel=1e-12, abs=1e-15)
    assert iv.high == pytest.approx(ref.high, rel=1e-12, abs=1e-15)
    assert iv.mean == pytest.approx(float(np.mean(a - b)), rel=1e-12, abs=1e-15)
    assert iv.sd == pytest.approx(float(np.std(a - b, ddof=1)), rel=1e-12)


def test_mean_interval_matches_scipy_t_interval():
    x = [0.012, -0.004, 0.02, 0.009, 0.015, 0.001]
    iv = mean_interval(x, 0.95)
    ref = sps.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=sps.sem(x))
    assert (iv.low, iv.high) == pytest.approx(ref, rel=1e-12)


def test_two_samples_use_one_degree_of_freedom():
    """With 2 seeds the 95% half-width is 12.7 standard errors, not 2."""
    iv = mean_interval([0.0, 1.0])
    se = iv.sd / np.sqrt(2)
    assert (iv.high - iv.mean) / se == pytest.approx(12.706, rel=1e-4)


@pytest.mark.parametrize("call, message", [
    (lambda: mean_interval([1.0]), "at least 2"),
    (lambda: mean_interval([1.0, float("nan")]), "non-finite"),
    (lambda: mean_interval([1.0, 2.0], level=1.0), "level = 1.0"),
    (lambda: mean_interval([1.0, 2.0], level=True), "level = True"),
    (lambda: mean_interval("ab"), "real numbers"),
    (lambda: paired_interval([1.0, 2.0], [1.0]), "paired samples"),
])
def test_refusals_name_the_parameter(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
