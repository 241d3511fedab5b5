"""compare(): numbers equal scipy's on fixed data, orientation, verdicts and refusals to decide."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from trialwise import DataError, UsageError
from trialwise.stats import Comparison, Verdict, compare

A = np.array([0.912, 0.905, 0.918, 0.909, 0.915, 0.907])
B = np.array([0.921, 0.917, 0.926, 0.915, 0.924, 0.919])
TIES_A = np.array([1.0, 2.0, 2.0, 3.0, 4.0])
TIES_B = np.array([2.0, 3.0, 2.0, 4.0, 5.0])


def _diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize(("test", "reference"), [
    ("welch", lambda b, a, alt: stats.ttest_ind(b, a, equal_var=False, alternative=alt)),
    ("student", lambda b, a, alt: stats.ttest_ind(b, a, equal_var=True, alternative=alt)),
    ("paired", lambda b, a, alt: stats.ttest_rel(b, a, alternative=alt)),
    ("mannwhitney", lambda b, a, alt: stats.mannwhitneyu(b, a, alternative=alt)),
])
def test_statistic_and_p_value_equal_scipy(test, reference, alternative):
    for a, b in ((A, B), (TIES_A, TIES_B)):
        c = compare(a, b, test=test, alternative=alternative)
        ref = reference(b, a, alternative)
        assert c.statistic == pytest.approx(float(ref.statistic), rel=1e-12)
        assert c.p_value == pytest.approx(float(ref.pvalue), rel=1e-12)


@pytest.mark.parametrize("test", ["welch", "student", "paired", "mannwhitney"])
def test_min_direction_is_scipy_on_negated_values(test):
    ref = compare(-A, -B, test=test, alternative="greater")
    c = compare(A, B, test=test, alternative="greater", direction="min")
    assert (c.statistic, c.p_value) == pytest.approx((ref.statistic, ref.p_value), rel=1e-12)
    assert c.diff == pytest.approx(B.mean() - A.mean()) and c.improvement == pytest.approx(A.mean() - B.mean())


def test_arm_summaries_are_mean_std_and_t_interval():
    c = compare(A, B, confidence=0.9)
    for arm, x in ((c.arm_a, A), (c.arm_b, B)):
        low, high = stats.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        assert (arm.n, arm.n_failed) == (len(x), 0)
        assert arm.mean == pytest.approx(x.mean()) and arm.std == pytest.approx(x.std(ddof=1))
        assert (arm.ci_low, arm.ci_high) == pytest.approx((low, high))


def test_bootstrap_interval_is_scipy_bca_on_the_difference_of_means():
    c = compare(A, B, n_resamples=2000, random_state=3)
    ref = stats.bootstrap((B, A), _diff, vectorized=True, method="BCa", confidence_level=0.95, n_resamples=2000, rng=3)
    assert c.ci_method == "BCa"
    assert (c.diff_ci_low, c.diff_ci_high) == (ref.confidence_interval.low, ref.confidence_interval.high)


def test_paired_bootstrap_resamples_the_paired_differences():
    c = compare(A, B, test="paired", random_state=11)
    ref = stats.bootstrap((B - A,), np.mean, vectorized=True, method="BCa", n_resamples=9999, rng=11)
    assert (c.diff_ci_low, c.diff_ci_high) == (ref.confidence_interval.low, ref.confidence_interval.high)


@pytest.mark.filterwarnings("ignore")  # scipy's own warnings from the reference BCa call below
def test_degenerate_bca_falls_back_to_percentile_with_a_note():
    # 3 resamples with this seed all fall on one side of the estimate: BCa is undefined (scipy gives NaN).
    bca = stats.bootstrap((B, A), _diff, vectorized=True, method="BCa", n_resamples=3, rng=23)
    assert math.isnan(bca.confidence_interval.low)
    c = compare(A, B, n_resamples=3, random_state=23)
    ref = stats.bootstrap((B, A), _diff, vectorized=True, method="percentile", n_resamples=3, rng=23)
    assert c.ci_method == "percentile"
    assert (c.diff_ci_low, c.diff_ci_high) == (ref.confidence_interval.low, ref.confidence_interval.high)
    assert any("percentile" in n for n in c.notes)


def test_effect_sizes_hedges_g_and_probability_of_improvement():
    c = compare(TIES_A, TIES_B)
    n1, n2 = len(TIES_A), len(TIES_B)
    sp = math.sqrt(((n1 - 1) * TIES_A.var(ddof=1) + (n2 - 1) * TIES_B.var(ddof=1)) / (n1 + n2 - 2))
    g = (1 - 3 / (4 * (n1 + n2) - 9)) * (TIES_B.mean() - TIES_A.mean()) / sp
    assert c.hedges_g == pytest.approx(g)
    # by hand: 25 pairs, B wins 14 and ties 6 (b=2: 2 ties twice, b=3: 1, b=4: 1) -> (14 + 3) / 25
    assert c.p_improvement == pytest.approx(17 / 25)
    assert c.p_improvement == pytest.approx(stats.mannwhitneyu(TIES_B, TIES_A).statistic / (n1 * n2))
    loss = compare(TIES_A, TIES_B, direction="min")
    assert loss.hedges_g == pytest.approx(-g) and loss.p_improvement == pytest.approx(1 - 17 / 25)


def test_lower_loss_is_a_progression_and_higher_loss_a_regression():
    loss_a, loss_b = A + 0.2, A + 0.1  # B's loss is lower
    better = compare(loss_a, loss_b, direction="min", metric="val_loss")
    assert better.verdict is Verdict.PROGRESSION and better.improvement > 0
    assert better.sentence.startswith("B improves val_loss by 0.10")
    worse = compare(loss_b, loss_a, direction="min", metric="val_loss")
    assert worse.verdict is Verdict.REGRESSION and "worsens val_loss" in worse.sentence
    assert compare(loss_a, loss_b, direction="max").verdict is Verdict.REGRESSION


def test_one_sided_alternatives_only_conclude_their_own_side():
    worse_b = A - 0.02
    assert compare(A, worse_b, alternative="two-sided").verdict is Verdict.REGRESSION
    greater = compare(A, worse_b, alternative="greater")
    assert greater.verdict is Verdict.NO_DIFFERENCE and greater.p_value > 0.99
    assert any("one-sided" in n for n in greater.notes)
    assert compare(A, worse_b, alternative="less").verdict is Verdict.REGRESSION
    assert compare(A, B, alternative="greater").verdict is Verdict.PROGRESSION
    assert compare(A, B, alternative="less").verdict is Verdict.NO_DIFFERENCE


def test_progression_sentence_has_the_numbers():
    c = compare(A, B, metric="val_acc")
    assert c.verdict is Verdict.PROGRESSION
    lo, hi = c.diff_ci_low, c.diff_ci_high
    assert c.sentence == (f"B improves val_acc by {c.diff:.4f} (95% CI {lo:.4f} to {hi:.4f}), "
                          f"p = {c.p_value:.2g} with 6 seeds each: progression")


def test_no_difference_reports_the_smallest_detectable_effect():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.9, 0.01, 5), rng.normal(0.9, 0.01, 5)
    c = compare(a, b, metric="val_acc")
    assert c.verdict is Verdict.NO_DIFFERENCE
    assert c.mde > abs(c.diff) and f"{c.mde:.4f}" in c.sentence
    assert c.seeds_needed is not None and c.seeds_needed > 5 and str(c.seeds_needed) in c.sentence


def test_failed_runs_are_excluded_and_counted():
    c = compare(np.r_[A, np.nan], np.r_[np.nan, np.inf, B])
    ref = compare(A, B)
    assert (c.arm_a.n, c.arm_a.n_failed, c.arm_b.n, c.arm_b.n_failed) == (6, 1, 6, 2)
    assert c.p_value == ref.p_value and c.verdict is ref.verdict
    assert any("infinite" in n for n in c.notes)


def test_paired_drops_pairs_whose_partner_failed():
    a, b = np.r_[A, np.nan], np.r_[B, 0.93]
    c = compare(a, b, test="paired")
    assert c.p_value == pytest.approx(stats.ttest_rel(B, A).pvalue)
    assert c.arm_b.n == 6 and any("dropped" in n for n in c.notes)


@pytest.mark.parametrize(("a", "b", "why"), [
    ([0.9], [0.91, 0.92, 0.93], "run at least 1 more seed of A"),
    ([np.nan, np.nan], [np.nan], "A has 0 completed seeds (2 failed)"),
    ([], [0.9, 0.91], "at least 2 completed seeds per arm"),
    ([0.9, 0.9, 0.9], [0.91, 0.91, 0.91], "the seed-to-seed noise cannot be estimated"),
])
def test_insufficient_data_says_why_and_what_to_run(a, b, why):
    c = compare(a, b, metric="val_acc")
    assert c.verdict is Verdict.INSUFFICIENT
    assert c.sentence.startswith("insufficient data on val_acc: ") and why in c.sentence
    assert math.isnan(c.p_value)


def test_zero_variance_in_one_arm_still_decides():
    c = compare([0.9, 0.9, 0.9, 0.9], [0.95, 0.96, 0.97, 0.955])
    assert c.verdict is Verdict.PROGRESSION


def test_paired_with_identical_differences_is_insufficient():
    assert compare(A, A + 0.01, test="paired").verdict is Verdict.INSUFFICIENT


def test_bad_inputs_raise_errors_that_name_the_parameter():
    with pytest.raises(UsageError, match="same length"):
        compare(A, B[:4], test="paired")
    for kwargs, name in (({"direction": "up"}, "direction"), ({"test": "z"}, "test"),
                         ({"alternative": "bigger"}, "alternative"), ({"alpha": 1.5}, "alpha")):
        with pytest.raises(UsageError, match=f"'{name}' parameter of compare"):
            compare(A, B, **kwargs)
    with pytest.raises(DataError, match="'a' parameter"):
        compare([[1.0, 2.0]], B)
    with pytest.raises(DataError, match="'b' parameter"):
        compare(A, ["x", "y"])


def test_to_dict_is_json_with_the_verdict_as_text():
    c = compare([0.9], B)
    d = json.loads(json.dumps(compare(A, B).to_dict()))
    assert d["verdict"] == "progression" and d["arm_a"]["n"] == 6
    assert json.loads(json.dumps(c.to_dict()))["p_value"] is None
    assert isinstance(c, Comparison) and str(c.verdict) == "insufficient data"


def test_same_inputs_give_the_same_comparison():
    assert compare(A, B).to_dict() == compare(A, B).to_dict()
