"""Wilson intervals, the rare-event warning, thresholds for targets, risk-coverage/AURC and SGR."""

from __future__ import annotations

import math
import re
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from trialwise import DataError, UsageError
from trialwise import metrics as tm
from trialwise.metrics._selective import _bin_tail_bound

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True)


# -- Wilson ----------------------------------------------------------------------------------------

@SETTINGS
@given(st.integers(1, 5000), st.data(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_endpoints_solve_the_score_equation(n, data, confidence):
    """Wilson's bounds are the p with |p_hat - p| = z sqrt(p (1 - p) / n)."""
    k = data.draw(st.integers(0, n))
    iv = tm.wilson_interval(k, n, confidence)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p_hat = k / n
    for p in (iv.low, iv.high):
        assert (p_hat - p) ** 2 == pytest.approx(z * z * p * (1 - p) / n, rel=1e-9, abs=1e-12)
    assert 0 <= iv.low <= p_hat <= iv.high <= 1
    assert (k == 0) == (iv.low == 0) and (k == n) == (iv.high == 1)


def test_wilson_known_value_and_errors():
    iv = tm.wilson_interval(5, 100)
    assert (round(iv.low, 4), round(iv.high, 4)) == (0.0215, 0.1118)  # Brown, Cai & DasGupta 2001 formula
    with pytest.raises(UsageError, match="0 <= k <= n"):
        tm.wilson_interval(5, 4)
    with pytest.raises(UsageError, match="confidence"):
        tm.wilson_interval(1, 4, confidence=1.5)


def test_rare_event_warning_on_the_one_in_a_million_disease():
    """Seed 003: 99.9999% accuracy by predicting nobody has the disease."""
    y = np.zeros(1_000_000, dtype=np.int64)
    y[123] = 1
    check = tm.rare_event_warning(y, accuracy=0.999999)
    assert check.warn and check.majority_label == 0 and check.majority_rate == 0.999999
    assert "precision and recall" in check.message
    balanced = tm.rare_event_warning(np.arange(1000) % 2, accuracy=0.9)
    assert not balanced.warn
    # 95% accuracy with a 94% majority class on 200 examples is within noise, on 20000 it is not
    y_small = np.r_[np.zeros(188), np.ones(12)]
    assert tm.rare_event_warning(y_small, 0.95).warn
    assert not tm.rare_event_warning(np.tile(y_small, 100), 0.95).warn


# -- threshold for a target ----------------------------------------------------------------------

@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(2, 80), st.sampled_from([0.5, 0.8, 0.95]),
       st.sampled_from(["precision", "recall"]))
def test_threshold_for_target_is_the_best_feasible_threshold(seed, n, target, metric):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    y[0] = 1
    s = np.round(rng.random(n) * 0.5 + 0.5 * y * rng.random(n), 2)
    choice = tm.threshold_for_target(y, s, **{metric: target})
    # brute force over every candidate threshold
    best = None
    for t in np.unique(s):
        flag = s >= t
        tp = int(np.sum(flag & (y == 1)))
        prec, rec = tp / flag.sum(), tp / y.sum()
        value, other = (prec, rec) if metric == "precision" else (rec, prec)
        if value >= target and (best is None or other > best[0]):
            best = (other, t)
    assert choice.achieved == (best is not None)
    if best is not None:
        got_other = choice.recall.estimate if metric == "precision" else choice.precision.estimate
        assert got_other == pytest.approx(best[0])
        got_value = choice.precision.estimate if metric == "precision" else choice.recall.estimate
        assert got_value >= target - 1e-12


def test_threshold_for_target_needs_one_target():
    with pytest.raises(UsageError, match="exactly one target"):
        tm.threshold_for_target([0, 1], [0.1, 0.9])
    with pytest.raises(UsageError, match="exactly one target"):
        tm.threshold_for_target([0, 1], [0.1, 0.9], precision=0.9, recall=0.9)


# -- risk-coverage / AURC --------------------------------------------------------------------------

def _naive_aurc(conf, correct):
    order = np.argsort(-conf, kind="stable")
    wrong = ~correct[order]
    return np.mean(np.cumsum(wrong) / np.arange(1, len(wrong) + 1))


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(1, 200))
def test_aurc_matches_per_sample_definition_and_ignores_order_under_ties(seed, n):
    rng = np.random.default_rng(seed)
    conf = rng.random(n)
    correct = rng.random(n) < conf
    assert tm.aurc(conf, correct) == pytest.approx(_naive_aurc(conf, correct), rel=1e-12)
    tied = np.round(conf, 1)
    perm = rng.permutation(n)
    assert tm.aurc(tied, correct) == pytest.approx(tm.aurc(tied[perm], correct[perm]), rel=1e-12)
    # ties count at their expected value: the mean over random tie orders converges to it
    curve = tm.risk_coverage_curve(tied, correct)
    assert curve.coverage[-1] == 1.0 and curve.risk[-1] == pytest.approx(1 - correct.mean())
    assert curve.e_aurc >= -1e-12


def test_aurc_of_a_perfect_ranking_has_zero_excess():
    correct = np.r_[np.ones(90, bool), np.zeros(10, bool)]
    conf = np.r_[np.linspace(1, 0.5, 90), np.linspace(0.4, 0.1, 10)]
    curve = tm.risk_coverage_curve(conf, correct)
    assert curve.e_aurc == pytest.approx(0.0, abs=1e-15)
    r = 0.1  # Geifman et al. 2019: optimal AURC ~ r + (1 - r) ln(1 - r)
    assert curve.aurc == pytest.approx(r + (1 - r) * math.log(1 - r), abs=0.01)
    assert tm.risk_coverage_curve(-conf, correct).e_aurc > 0.3


# -- SGR -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("errors", "m", "delta"), [(0, 10, 0.01), (3, 50, 0.001), (40, 1000, 0.05), (9, 10, 0.1)])
def test_binomial_tail_bound_solves_the_lemma_equation(errors, m, delta):
    """Geifman & El-Yaniv 2017, Lemma 3.1: sum_{j<=k} C(m,j) b^j (1-b)^(m-j) = delta."""
    b = _bin_tail_bound(errors, m, delta)
    assert stats.binom.cdf(errors, m, b) == pytest.approx(delta, rel=1e-8)
    assert b > errors / m
    assert _bin_tail_bound(m, m, delta) == 1.0


def _draw(rng: np.random.Generator, n: int, a: float) -> tuple[np.ndarray, np.ndarray]:
    """Confidence ~ U(0, 1); P(error | c) = a (1 - c)^2, so the true risk above t is a (1 - t)^2 / 3."""
    c = rng.random(n)
    return c, rng.random(n) >= a * (1 - c) ** 2


def test_sgr_guarantee_holds_by_simulation():
    """Coarse check: true selective risk <= target in >= 1 - delta of repeats; empirical choice fails often."""
    a, target_risk, delta, repeats = 0.6, 0.05, 0.1, 200
    rng = np.random.default_rng(7)
    sgr_violations = fresh_violations = empirical_violations = found = 0
    for _ in range(repeats):
        c, correct = _draw(rng, 2000, a)
        res = tm.selective_threshold(c, correct, target_accuracy=1 - target_risk, delta=delta)
        if res.found:
            found += 1
            sgr_violations += a * (1 - res.threshold) ** 2 / 3 > target_risk  # exact true risk
            c_new, correct_new = _draw(rng, 20_000, a)  # and measured on fresh data
            fresh_violations += np.mean(~correct_new[c_new >= res.threshold]) > target_risk
            assert res.risk_bound < target_risk and 1 - res.accuracy <= res.risk_bound
        empirical_violations += a * (1 - res.empirical_threshold) ** 2 / 3 > target_risk
    assert found >= 0.9 * repeats
    assert sgr_violations / repeats <= delta
    assert fresh_violations / repeats <= delta
    assert empirical_violations / repeats > 0.2  # without the bound the target is missed routinely


def test_sgr_result_sentence_and_fields():
    rng = np.random.default_rng(0)
    c, correct = _draw(rng, 20_000, 0.6)
    res = tm.selective_threshold(c, correct, target_accuracy=0.99, delta=0.001)
    assert res.found and 0 < res.coverage < 1 and res.accuracy >= 0.99
    assert res.empirical_coverage >= res.coverage  # the guarantee costs coverage
    assert re.fullmatch(r"answer \d+% of inputs at \d+\.\d% accuracy \(risk ≤ \d\.\d% with probability 99\.9%\); "
                        r"threshold: confidence >= .+", res.message), res.message
    assert res.to_dict()["threshold"] == res.threshold


def test_sgr_says_when_no_threshold_can_be_guaranteed():
    c = np.linspace(0, 1, 50)
    correct = np.ones(50, bool)
    correct[::3] = False
    res = tm.selective_threshold(c, correct, target_accuracy=0.999)
    assert not res.found and res.threshold is None
    assert res.message.startswith("no threshold guarantees 99.9% accuracy")
    with pytest.raises(DataError):
        tm.selective_threshold([0.5, 0.7], [True], 0.9)


def test_rare_event_message_says_below_names_the_class_and_handles_one_class():
    y = np.r_[np.zeros(289, int), np.ones(11, int)]
    below = tm.rare_event_warning(y, accuracy=0.73, classes=["healthy", "ill"])
    # 73% [67.7%, 77.8%] is far below the 96.3% of always answering 'healthy': not "within noise"
    assert below.warn and "is below 96.3%" in below.message and "within noise" not in below.message
    assert "'healthy'" in below.message and below.majority_label == 0
    near = tm.rare_event_warning(y, accuracy=0.96, classes=["healthy", "ill"])
    assert near.warn and "within noise of 96.3%" in near.message and "'healthy'" in near.message
    assert "always predicting 0" in tm.rare_event_warning(y, accuracy=0.96).message  # no names: the label
    single = tm.rare_event_warning(np.zeros(50, int), accuracy=1.0)
    assert single.warn and "every one of the 50 examples is of class 0" in single.message
