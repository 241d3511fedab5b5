"""Holm's correction and the power calculations, checked by hand, by formula and by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from trialwise import DataError
from trialwise.stats import holm, power_summary


def _holm_reference(p: list[float], alpha: float) -> tuple[list[float], list[bool]]:
    """Holm (1979) as written: step down through the sorted p-values, stop at the first acceptance."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    rejected = [False] * m
    for rank, i in enumerate(order):
        if p[i] > alpha / (m - rank):
            break
        rejected[i] = True
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted, rejected


def test_holm_matches_a_hand_computation():
    # sorted: 0.005 (x4 = 0.02), 0.011 (x3 = 0.033), 0.02 (x2 = 0.04), 0.04 (x1 = 0.04)
    res = holm([0.04, 0.005, 0.02, 0.011], alpha=0.05)
    assert res.adjusted == pytest.approx((0.04, 0.02, 0.04, 0.033))
    assert res.rejected == (True, True, True, True)
    # 0.01 (x3 = 0.03), 0.03 (x2 = 0.06 -> stop), 0.04 (x1 = 0.04, raised to 0.06 by monotonicity)
    res = holm([0.03, 0.01, 0.04], alpha=0.05)
    assert res.adjusted == pytest.approx((0.06, 0.03, 0.06))
    assert res.rejected == (False, True, False)


def test_holm_matches_the_step_down_reference_on_random_p_values():
    rng = np.random.default_rng(4)
    for _ in range(200):
        m = int(rng.integers(1, 12))
        p = list(rng.uniform(0, 0.2, m) ** 2)
        adjusted, rejected = _holm_reference(p, 0.05)
        res = holm(p, 0.05)
        assert res.adjusted == pytest.approx(adjusted) and list(res.rejected) == rejected


def test_holm_edge_cases():
    assert holm([], 0.05).adjusted == ()
    assert holm([0.7, 0.9], 0.05).adjusted == (1.0, 1.0)
    with pytest.raises(DataError, match="p_values"):
        holm([0.01, float("nan")], 0.05)


def test_power_is_the_noncentral_t_formula():
    s = power_summary(1.0, 2.0, 8, 10, effect=1.2, alpha=0.05)
    sp = math.sqrt((7 * 1.0 + 9 * 4.0) / 16)
    ncp, df = 1.2 / (sp * math.sqrt(1 / 8 + 1 / 10)), 16
    crit = stats.t.isf(0.025, df)
    assert s.pooled_std == pytest.approx(sp)
    assert s.power == pytest.approx(stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp))
    one = power_summary(1.0, 2.0, 8, 10, effect=1.2, alternative="greater")
    assert one.power == pytest.approx(stats.nct.sf(stats.t.isf(0.05, df), df, ncp))


def test_seeds_needed_is_the_smallest_n_with_80_percent_power():
    s = power_summary(1.0, 1.0, 5, 5, effect=1.0)
    assert s.seeds_needed == 17  # the textbook answer for d = 1, two-sided alpha = 0.05
    at = power_summary(1.0, 1.0, 17, 17, effect=1.0).power
    below = power_summary(1.0, 1.0, 16, 16, effect=1.0).power
    assert below < 0.8 <= at
    assert power_summary(1.0, 1.0, 5, 5, effect=1.0, alternative="greater").seeds_needed == 14


def test_mde_has_exactly_the_target_power():
    s = power_summary(0.01, 0.012, 6, 6, effect=0.0)
    assert power_summary(0.01, 0.012, 6, 6, effect=s.mde).power == pytest.approx(0.8, abs=1e-8)
    assert s.seeds_needed is None  # nothing to detect
    less = power_summary(0.01, 0.012, 6, 6, effect=-0.003, alternative="less")
    assert less.seeds_needed is not None and less.mde < s.mde  # one-sided detects smaller effects
    assert power_summary(0.01, 0.012, 6, 6, effect=0.003, alternative="less").seeds_needed is None


def test_mann_whitney_and_paired_power():
    t = power_summary(1.0, 1.0, 10, 10, effect=1.0)
    mw = power_summary(1.0, 1.0, 10, 10, effect=1.0, test="mannwhitney")
    assert mw.mde > t.mde and mw.seeds_needed >= t.seeds_needed  # 3/pi of a seed each
    paired = power_summary(1.0, 1.0, 10, 10, effect=1.0, test="paired", std_diff=0.5)
    assert paired.power == pytest.approx(stats.nct.sf(stats.t.isf(0.025, 9), 9, 1.0 / (0.5 / math.sqrt(10)))
                                         + stats.nct.cdf(-stats.t.isf(0.025, 9), 9, 1.0 / (0.5 / math.sqrt(10))))


def test_fixed_welch_has_nominal_size_and_power_at_seeds_needed():
    """Simulation: Welch at the computed seeds_needed has ≈ 80 % power, and ≤ 5 % false decisions at d = 0."""
    n_sims, d = 4000, 0.8
    n = power_summary(1.0, 1.0, 5, 5, effect=d).seeds_needed
    rng = np.random.default_rng(2024)
    a = rng.standard_normal((2, n_sims, n))
    slack = 3 * math.sqrt(0.8 * 0.2 / n_sims)
    power = np.mean(stats.ttest_ind(a[1] + d, a[0], axis=1, equal_var=False).pvalue <= 0.05)
    assert 0.8 - slack <= power <= 0.8 + slack + 0.03  # ceil(n) can only add a little power
    size = np.mean(stats.ttest_ind(a[1], a[0], axis=1, equal_var=False).pvalue <= 0.05)
    assert size <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / n_sims)
