"""trialwise.stats._dist computes what scipy.stats / scipy.optimize compute, bit for bit, and a plain
``compare`` of stored experiments no longer imports scipy.stats."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy import optimize, stats

from trialwise.stats import _dist as D
from trialwise.stats import compare, power_summary
from trialwise.stats._compare import _diff_of_means


def same(x: object, y: object) -> bool:
    """Equal element by element, NaN where the other is NaN, same shape."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return x.shape == y.shape and bool(np.all((x == y) | (np.isnan(x) & np.isnan(y))))


QS = [0.0, 1e-12, 0.001, 0.025, 0.05, 0.2, 0.5, 0.8, 0.975, 0.999, 1.0, -0.1, 1.5, np.nan]
DFS = [0.5, 1, 2, 3, 4.5, 7, 18, 30, 200, 1e6, 0, -1, np.nan, np.inf]


def test_t_quantiles_equal_scipys_on_a_grid() -> None:
    q, df = np.meshgrid(QS, DFS)
    assert same(D.t_ppf(q, df), stats.t.ppf(q, df))
    assert same(D.t_isf(q, df), stats.t.isf(q, df))
    for qq in (0.975, 0.5, 0.0):  # scalars come back as scalars, as scipy's
        assert D.t_ppf(qq, 4) == stats.t.ppf(qq, 4) and np.ndim(D.t_ppf(qq, 4)) == 0


def test_noncentral_t_and_normal_tails_equal_scipys_on_a_grid() -> None:
    xs = [-np.inf, -30, -3.18, -1, 0, 0.5, 1.96, 3.18, 8, 40, np.inf, np.nan]
    ncs = [-8, -1, 0, 0.3, 2.5, 8, 37, np.nan]
    x, df, nc = np.meshgrid(xs, [0.5, 1, 2, 3, 5.7, 18, 300, 0, np.nan], ncs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert same(D.nct_sf(x, df, nc), stats.nct.sf(x, df, nc))
        assert same(D.nct_cdf(x, df, nc), stats.nct.cdf(x, df, nc))
    z = np.array([-np.inf, -40, -2, -1e-3, 0, 1.5, 9, 40, np.inf, np.nan])
    assert same(D.norm_sf(z), stats.norm.sf(z))
    assert D.norm_sf(1.5) == stats.norm.sf(1.5)


def arms(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_a, n_b = rng.integers(2, 12, size=2)
    scale = 10.0 ** rng.uniform(-4, 1)
    return rng.normal(0.8, scale, n_a), rng.normal(0.8 + rng.normal(0, scale), scale * rng.uniform(0.2, 5), n_b)


@pytest.mark.parametrize("seed", range(40))
def test_t_tests_equal_scipys(seed: int) -> None:
    b, a = arms(seed)
    for equal_var in (False, True):
        for alternative in ("two-sided", "greater", "less"):
            res = stats.ttest_ind(b, a, equal_var=equal_var, alternative=alternative)
            assert D.ttest_ind(b, a, equal_var=equal_var, alternative=alternative) == (
                float(res.statistic), float(res.pvalue))


def test_t_test_of_a_constant_arm_equals_scipys() -> None:
    b, a = np.array([0.5, 0.5, 0.5]), np.array([0.4, 0.41, 0.43])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.ttest_ind(b, a, equal_var=False)
    assert same(D.ttest_ind(b, a, equal_var=False, alternative="two-sided"), (res.statistic, res.pvalue))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("method", ["BCa", "percentile"])
def test_bootstrap_intervals_equal_scipys(seed: int, method: str) -> None:
    b, a = arms(seed)
    n = min(a.size, b.size)
    for data, statistic in (((b, a), _diff_of_means), ((b[:n] - a[:n],), np.mean)):
        for confidence, resamples, rng in ((0.95, 999, seed), (0.9, 200, np.random.default_rng(seed))):
            if isinstance(rng, np.random.Generator):  # a Generator is consumed: each side gets its own copy
                rng_mine, rng_scipy = np.random.default_rng(seed), np.random.default_rng(seed)
            else:
                rng_mine = rng_scipy = rng
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = stats.bootstrap(data, statistic, vectorized=True, method=method, confidence_level=confidence,
                                      n_resamples=resamples, rng=rng_scipy).confidence_interval
            got = D.bootstrap_interval(data, statistic, n_resamples=resamples, confidence_level=confidence,
                                       method=method, rng=rng_mine)
            assert same(got, (ref.low, ref.high)), (data, method, confidence)


def test_degenerate_bca_is_nan_as_scipys() -> None:
    a, b = np.array([1.0, 1.0, 1.0, 2.0]), np.array([5.0, 5.0, 5.0, 5.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = stats.bootstrap((b, a), _diff_of_means, vectorized=True, method="BCa", n_resamples=50,
                              rng=0).confidence_interval
    got = D.bootstrap_interval((b, a), _diff_of_means, n_resamples=50, confidence_level=0.95, method="BCa", rng=0)
    assert same(got, (ref.low, ref.high))


def test_brentq_finds_scipys_root_and_raises_as_it_does() -> None:
    cases = [(lambda x: x ** 3 - 2 * x - 5, 0.0, 4.0, 1e-10), (lambda x: np.cos(x) - x, 0.0, 1.0, 2e-12),
             (lambda x: float(stats.norm.cdf(x)) - 0.8, -5.0, 5.0, 1e-10), (lambda x: np.exp(x) - 1e4, 0.0, 100.0, 1e-3),
             (lambda x: x, 0.0, 1.0, 1e-10), (lambda x: (x - 1e-7) ** 3, -1.0, 1.0, 1e-12)]
    for f, lo, hi, xtol in cases:
        assert D.brentq(f, lo, hi, xtol=xtol) == optimize.brentq(f, lo, hi, xtol=xtol)
    with pytest.raises(ValueError):
        optimize.brentq(lambda x: x * x + 1, -1.0, 1.0)
    with pytest.raises(ValueError, match="different signs"):
        D.brentq(lambda x: x * x + 1, -1.0, 1.0)
    for solve in (optimize.brentq, D.brentq):  # both give up after 100 steps here
        with pytest.raises(RuntimeError, match="converge"):
            solve(lambda x: (x - 1e-7) ** 3, -1.0, 1.0, xtol=1e-14)


@pytest.mark.parametrize("seed", range(25))
def test_power_summary_equals_the_scipy_formulas(seed: int) -> None:
    """The MDE and power through scipy.stats.nct/t and scipy.optimize.brentq, as before the port."""
    b, a = arms(seed)
    sa, sb = float(np.std(a, ddof=1)), float(np.std(b, ddof=1))
    effect = float(np.mean(b) - np.mean(a))
    for alternative in ("two-sided", "greater"):
        got = power_summary(sa, sb, a.size, b.size, effect, 0.05, alternative)
        sd = got.pooled_std
        se = sd * np.sqrt(1.0 / a.size + 1.0 / b.size)
        df = a.size + b.size - 2.0
        level = 0.05 / 2 if alternative == "two-sided" else 0.05

        def power_at(ncp: float) -> float:
            crit = stats.t.isf(level, df)
            p = stats.nct.sf(crit, df, ncp) + (stats.nct.sf(crit, df, -ncp) if alternative == "two-sided" else 0.0)
            return float(np.clip(p, 0.0, 1.0))

        assert got.power == power_at(effect / se)
        hi = 1.0
        while power_at(hi) < 0.8:
            hi *= 2.0
        assert got.mde == float(optimize.brentq(lambda x: power_at(x) - 0.8, 0.0, hi, xtol=1e-10) * se)


@pytest.mark.parametrize("seed", range(15))
def test_compare_equals_its_scipy_stats_computation(seed: int) -> None:
    """Every number of compare (welch and student) against the scipy.stats calls it made before."""
    b, a = arms(seed)
    for test in ("welch", "student"):
        c = compare(a, b, test=test, n_resamples=999)
        half_a = float(stats.t.ppf(0.975, a.size - 1)) * float(np.std(a, ddof=1)) / np.sqrt(a.size)
        assert c.arm_a.ci_low == float(np.mean(a)) - half_a and c.arm_a.ci_high == float(np.mean(a)) + half_a
        res = stats.ttest_ind(b, a, equal_var=test == "student")
        assert (c.statistic, c.p_value) == (float(res.statistic), float(res.pvalue))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ci = stats.bootstrap((b, a), _diff_of_means, vectorized=True, method="BCa", n_resamples=999,
                                 rng=0).confidence_interval
        if c.ci_method == "BCa":
            assert (c.diff_ci_low, c.diff_ci_high) == (float(ci.low), float(ci.high))


def test_a_plain_compare_does_not_import_scipy_stats(tmp_path) -> None:
    code = ("import sys; from trialwise.stats import compare; "
            "c = compare([0.90, 0.91, 0.90, 0.92, 0.91], [0.93, 0.94, 0.92, 0.95, 0.93]); "
            "print(c.verdict.value, 'scipy.stats' in sys.modules, 'scipy.optimize' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, check=True, capture_output=True,
                         text=True).stdout.split()
    assert out == ["progression", "False", "False"]
