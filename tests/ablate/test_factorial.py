"""Factorial analysis, regression shadowing and the subset to merge, on synthetic per-seed results."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from trialwise import DataError, UsageError
from trialwise.ablate import (
    analyze_factorial,
    detect_shadowing,
    fractional_factorial,
    full_factorial,
    one_at_a_time_plus_all,
    merge_rule,
    recommend_subset,
)

SEEDS = 5
NOISE = 0.004
BASE = 0.80
SPREAD = np.array([-2.0, -1.0, 0.0, 1.0, 2.0]) / math.sqrt(2.5)  # mean 0, sd 1: deterministic "seeds"


def shadowing_results(seed: int = 0, n: int = SEEDS) -> dict[tuple[int, int], np.ndarray]:
    """Seed 001 #3: A regresses (-0.01), B improves (+0.03), A+B together improve (+0.02)."""
    rng = np.random.default_rng(seed)
    means = {(0, 0): BASE, (1, 0): BASE - 0.01, (0, 1): BASE + 0.03, (1, 1): BASE + 0.02}
    return {row: m + rng.normal(0, NOISE, n) for row, m in means.items()}


def exact(mean: float, sd: float = NOISE) -> np.ndarray:
    return mean + sd * SPREAD


def test_shadowing_flags_a_and_recommends_b() -> None:
    a = analyze_factorial(full_factorial(2), shadowing_results(), ["A", "B"])
    report = detect_shadowing(a)
    assert report.flagged == ("A",)
    flag = report.flags[0]
    assert flag.severity == "significant"
    assert [b.factors for b in flag.bundles] == [("A", "B")]
    assert flag.bundles[0].ci_low > 0
    assert "A is a regression shadowed by A+B" in flag.sentence
    rec = recommend_subset(a)
    assert rec.subset == ("B",)
    assert [name for name, _ in rec.excluded] == ["A"]
    assert rec.overall_best == ("B",)
    assert rec.vs_base is not None and rec.vs_base.ci_low > 0
    assert rec.summary[0] == "Merge: B."
    for obj in (a, report, rec):
        json.dumps(obj.to_dict())


def test_effects_recover_the_known_values_within_their_intervals() -> None:
    a = analyze_factorial(full_factorial(2), shadowing_results(seed=1), ["A", "B"])
    truth = {("A",): -0.01, ("B",): 0.03, ("A", "B"): 0.0}  # main effects and interaction of the cell means
    for factors, value in truth.items():
        e = a.effect(*factors)
        assert e is not None and e.ci_low < value < e.ci_high, (factors, e)
        assert abs(e.estimate - value) < 3 * e.se
    for name, value in (("A", -0.01), ("B", 0.03)):
        s = a.simple_effect(name)
        assert s is not None and s.ci_low < value < s.ci_high
    assert a.df_error == 4 * (SEEDS - 1)
    assert 0.5 * NOISE < a.pooled_std < 1.5 * NOISE


def test_least_squares_matches_the_textbook_contrasts_and_standard_errors() -> None:
    """Balanced 2^3: effect = mean at + minus mean at -, SE = 2 s / sqrt(N) (Box, Hunter & Hunter ch. 5)."""
    rng = np.random.default_rng(3)
    d = full_factorial(3)
    true = {(0,): 0.02, (1,): -0.015, (2,): 0.0, (0, 1): 0.01, (0, 2): 0.0, (1, 2): -0.006, (0, 1, 2): 0.004}
    results = {}
    for row in d.rows:
        x = 2 * np.array(row) - 1
        mu = 0.7 + sum(v / 2 * np.prod(x[list(f)]) for f, v in true.items())
        results[row] = mu + rng.normal(0, NOISE, 4)
    a = analyze_factorial(d, results, ["a", "b", "c"])
    y = np.concatenate([results[r] for r in d.rows])
    xs = np.concatenate([[2 * np.array(r) - 1] * 4 for r in d.rows])
    s = math.sqrt(sum(np.var(v, ddof=1) for v in results.values()) / 8)
    assert a.pooled_std == pytest.approx(s)
    for f, value in true.items():
        col = np.prod(xs[:, list(f)], axis=1)
        contrast = y[col > 0].mean() - y[col < 0].mean()
        e = a.effect(*[["a", "b", "c"][i] for i in f])
        assert e.estimate == pytest.approx(contrast, abs=1e-12)
        assert e.se == pytest.approx(2 * s / math.sqrt(len(y)))
        assert e.df == 24
        assert e.ci_low < value < e.ci_high, (f, e)
    assert {e.kind for e in a.effects} == {"main", "interaction"}
    assert a.effect("a", "b", "c") is not None  # k <= 3: every order is reported


def test_simple_effect_is_welch_and_direction_min_flips_the_sign() -> None:
    res = shadowing_results(seed=2)
    a = analyze_factorial(full_factorial(2), res, ["A", "B"])
    s = a.simple_effect("A")
    w = stats.ttest_ind(res[(1, 0)], res[(0, 0)], equal_var=False)
    assert s.p_value == pytest.approx(w.pvalue)
    assert s.estimate == pytest.approx(res[(1, 0)].mean() - res[(0, 0)].mean())
    # a loss: the same numbers negated, smaller is better -> the same oriented effects
    loss = {row: -v for row, v in res.items()}
    b = analyze_factorial(full_factorial(2), loss, ["A", "B"], direction="min")
    for e, f in zip(a.effects + a.simple_effects, b.effects + b.simple_effects):
        assert f.estimate == pytest.approx(e.estimate) and f.p_value == pytest.approx(e.p_value)
    assert detect_shadowing(b).flagged == ("A",)
    assert recommend_subset(b).subset == ("B",)


def test_likely_but_not_significant_regression_is_flagged_as_likely() -> None:
    d = full_factorial(2)
    spread3 = np.array([-1.0, 0.0, 1.0])
    res = {(0, 0): 0.8 + NOISE * spread3, (1, 0): 0.796 + NOISE * spread3,
           (0, 1): 0.83 + NOISE * spread3, (1, 1): 0.826 + NOISE * spread3}
    a = analyze_factorial(d, res, ["A", "B"])
    s, m = a.simple_effect("A"), a.main_effect("A")
    assert s.ci_high > 0 and m.ci_high > 0  # not significant ...
    assert s.p_worse > 0.8 and m.p_worse > 0.8  # ... but likely
    report = detect_shadowing(a)
    assert report.flagged == ("A",) and report.flags[0].severity == "likely"
    assert "likely regression" in report.flags[0].sentence
    assert detect_shadowing(a, likely=0.99).flagged == ()


def test_no_shadowing_without_an_improving_bundle() -> None:
    res = {(0, 0): exact(0.8), (1, 0): exact(0.79), (0, 1): exact(0.8), (1, 1): exact(0.79)}
    a = analyze_factorial(full_factorial(2), res, ["A", "B"])
    report = detect_shadowing(a)
    assert report.flagged == () and report.regressions == ("A",)
    assert recommend_subset(a).subset == ()


def test_recommend_prefers_fewer_changes_when_the_best_cells_are_indistinguishable() -> None:
    res = {(0, 0): exact(0.8), (1, 0): exact(0.83), (0, 1): exact(0.801), (1, 1): exact(0.832)}
    a = analyze_factorial(full_factorial(2), res, ["B", "C"])
    rec = recommend_subset(a)
    assert rec.best_subset == ("B", "C")
    assert rec.subset == ("B",)
    assert set(rec.indistinguishable) == {("B", "C"), ("B",)}
    assert [name for name, _ in rec.excluded] == ["C"]
    assert "B is not distinguishable from it" in rec.excluded[0][1] and "fewer changes" in rec.excluded[0][1]
    assert any("not distinguishable" in line for line in rec.summary)


def test_one_at_a_time_plus_all_detects_shadowing_through_the_bundle() -> None:
    d = one_at_a_time_plus_all(3)
    means = {(0, 0, 0): 0.8, (1, 0, 0): 0.79, (0, 1, 0): 0.82, (0, 0, 1): 0.81, (1, 1, 1): 0.83}
    a = analyze_factorial(d, {r: exact(m) for r, m in means.items()}, ["A", "B", "C"])
    assert a.main_effect("A").estimate == pytest.approx(-0.01)  # treatment coding: effect at the base
    nonadd = a.effect("A", "B", "C")
    assert nonadd.estimate == pytest.approx(0.83 - 0.8 - (-0.01 + 0.02 + 0.01))
    assert detect_shadowing(a).flagged == ("A",)
    rec = recommend_subset(a)
    assert rec.subset == ("B",) and rec.overall_best == ("A", "B", "C")
    assert any("best mean overall, A+B+C" in line and "holds A, a regression on its own" in line
               for line in rec.summary)


def test_fractional_design_estimates_main_effects_and_uses_the_added_bundle() -> None:
    d = fractional_factorial(5, 5)
    names = ["a", "b", "c", "d", "e"]
    mains = np.array([-0.01, 0.02, 0.0, 0.005, 0.01])
    rng = np.random.default_rng(5)
    res = {row: 0.7 + float(mains @ np.array(row)) + rng.normal(0, NOISE, 3) for row in d.rows}
    a = analyze_factorial(d, res, names)
    for name, value in zip(names, mains):
        e = a.main_effect(name)
        assert e.ci_low < value < e.ci_high
    assert a.simple_effects == ()  # no single-change cell in this fraction
    assert a.cell(names).vs_base is not None
    assert len(a.effects) == 5 + 10
    report = detect_shadowing(a)
    assert report.flagged == ("a",)
    assert recommend_subset(a).subset and "a" not in recommend_subset(a).subset


def test_failed_seeds_are_left_out_and_bad_input_is_refused() -> None:
    d = full_factorial(2)
    res = {row: list(v) for row, v in shadowing_results().items()}
    res[(1, 1)][0] = float("nan")
    a = analyze_factorial(d, res, ["A", "B"])
    assert a.n_failed == 1 and a.cell(["A", "B"]).n == SEEDS - 1 and "1 failed" in a.summary[0]
    with pytest.raises(DataError, match=r"cell\(s\) A\+B"):
        analyze_factorial(d, {k: v for k, v in res.items() if k != (1, 1)}, ["A", "B"])
    with pytest.raises(DataError, match="not a cell"):
        analyze_factorial(d, {**res, (2, 0): [1.0]}, ["A", "B"])
    with pytest.raises(DataError, match="one seed per cell"):
        analyze_factorial(d, {k: [v[1]] for k, v in res.items()}, ["A", "B"])
    with pytest.raises(UsageError, match="'names'"):
        analyze_factorial(d, res, ["A"])
    with pytest.raises(UsageError, match="'direction'"):
        analyze_factorial(d, res, ["A", "B"], direction="up")
    with pytest.raises(UsageError, match="'likely'"):
        detect_shadowing(a, likely=1.5)


@pytest.mark.parametrize("seed", range(20))
def test_shadowing_is_found_for_every_noise_draw(seed: int) -> None:
    """A's -0.01 is 4 standard errors of a simple effect at 5 seeds: 20 fixed draws all flag A and pick B."""
    a = analyze_factorial(full_factorial(2), shadowing_results(seed=100 + seed), ["A", "B"])
    assert detect_shadowing(a).flagged == ("A",)
    assert recommend_subset(a).subset == ("B",)


def test_summary_is_readable_text() -> None:
    a = analyze_factorial(full_factorial(2), shadowing_results(), ["A", "B"])
    text = "\n".join(a.summary)
    assert "A×B" in text and "Welch" in text and "A+B" in text and "95%" in text
    assert all(isinstance(x, str) for x in a.summary)


# ------------------------------------------------------------------ the merge rule on seed 001 #3's cases


def merge_of(means: dict[tuple[int, int], float], sds: dict[tuple[int, int], float] | None = None,
             direction: str = "max") -> tuple[tuple[str, ...], object]:
    """The subset merge_rule() and recommend_subset() choose for a 2x2 ablation of A and B."""
    sds = sds or {}
    res = {row: exact(m, sds.get(row, NOISE)) for row, m in means.items()}
    a = analyze_factorial(full_factorial(2), res, ["A", "B"], direction=direction)
    choice = merge_rule(a)
    rec = recommend_subset(a)
    assert rec.subset == (choice.chosen.subset if choice.chosen is not None else ())
    return rec.subset, rec


def test_merge_rule_a_helps_alone_and_b_is_neutral() -> None:
    subset, rec = merge_of({(0, 0): 0.80, (1, 0): 0.83, (0, 1): 0.7995, (1, 1): 0.8305})
    assert subset == ("A",)
    assert set(rec.candidates) == {("A",), ("A", "B")} and rec.best_subset == ("A", "B")
    assert dict(rec.excluded)["B"].startswith("the best combination with it, A+B, has the best mean above the base")


def test_merge_rule_a_helps_and_b_hurts_is_shadowing() -> None:
    subset, rec = merge_of({(0, 0): 0.80, (1, 0): 0.83, (0, 1): 0.79, (1, 1): 0.82})
    assert subset == ("A",)
    assert "its own effect is a regression" in dict(rec.excluded)["B"]
    # the same when the bundle looks better than A by chance: B regresses on its own, so it is never merged
    subset, rec = merge_of({(0, 0): 0.80, (1, 0): 0.83, (0, 1): 0.79, (1, 1): 0.835})
    assert subset == ("A",) and ("A", "B") not in rec.candidates


def test_merge_rule_both_help() -> None:
    subset, rec = merge_of({(0, 0): 0.80, (1, 0): 0.82, (0, 1): 0.83, (1, 1): 0.85})
    assert subset == ("A", "B") and rec.excluded == ()
    assert rec.summary[0] == "Merge: A+B."


def test_merge_rule_a_noisier_bundle_never_turns_a_clear_change_into_nothing() -> None:
    """The issue's case: A alone is a progression, A+B has a higher but noisy mean. The old rule took
    the noisy best (A+B), found the base "indistinguishable" from it and merged nothing."""
    means = {(0, 0): 0.80, (1, 0): 0.82, (0, 1): 0.80, (1, 1): 0.83}
    sds = {(1, 1): 0.03}
    subset, rec = merge_of(means, sds)
    assert subset == ("A",)
    assert rec.vs_base is not None and rec.vs_base.ci_low > 0
    assert ("A", "B") not in rec.candidates  # its own CI against the base crosses 0
    assert "no combination with it is above the base" in dict(rec.excluded)["B"]
    assert rec.summary[0] == "Merge: A." and rec.summary[1].startswith("Rule: a change whose own effect")
    assert any("best mean overall, A+B" in line and "not above the base" in line for line in rec.summary)
    # a loss: the same numbers mirrored, smaller is better -> the same choice
    assert merge_of({r: 2 - m for r, m in means.items()}, sds, direction="min")[0] == ("A",)


def test_merge_rule_merges_nothing_when_no_combination_is_above_the_base() -> None:
    subset, rec = merge_of({(0, 0): 0.80, (1, 0): 0.801, (0, 1): 0.7995, (1, 1): 0.8005})
    assert subset == () and rec.candidates == () and rec.vs_base is None
    assert rec.summary[0] == "Merge: nothing (keep the base)."
    assert any("nothing shows a progression" in line for line in rec.summary)
