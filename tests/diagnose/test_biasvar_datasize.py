"""Seed 004's bias-variance advisor; learning-curve fits, extrapolation, heuristics and PAC bounds."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from trialwise._exceptions import DataError, UsageError
from trialwise.diagnose import (
    biasvar,
    data_heuristics,
    extrapolate_size,
    fit_learning_curve,
    pac_finite,
    pac_vc,
)

# -- bias-variance ------------------------------------------------------------------------------------------


def test_seed_004_example_decomposes_and_plans_in_the_seed_order():
    r = biasvar(0.01, 0.20, 0.27, 0.28)
    values = {c.name: round(c.value, 4) for c in r.components}
    assert values == {"irreducible": 0.01, "bias": 0.19, "variance": 0.07, "val_overfitting": 0.01}
    # the decomposition adds up to the test error
    assert sum(values.values()) == pytest.approx(0.28)
    assert [s.key for s in r.plan] == ["underfitting", "overfitting", "distribution-shift", "rebalance"]
    assert [s.applies for s in r.plan] == [True, True, False, False]
    assert r.next_step.key == "underfitting"
    assert r.plan[0].remedies[0].startswith("Make the model bigger") and r.plan[0].remedies[-1] == "Add features"
    assert r.plan[1].remedies[0] == "Add more training data (if possible)"
    assert r.diagnosis.startswith("both underfitting (bias 19.0 points) and overfitting (variance 7.0 points)")
    assert "within tolerance" in r.diagnosis
    json.dumps(r.to_dict())


def test_accuracies_and_per_seed_values():
    r = biasvar(0.99, [0.80, 0.82, 0.81], [0.79, 0.80, 0.78], [0.70, 0.71, 0.69], kind="accuracy")
    assert r.train == pytest.approx(0.19) and r.val == pytest.approx(0.21) and r.test == pytest.approx(0.30)
    bias = r.component("bias")
    assert bias.se is not None and bias.significant
    assert r.component("variance").significant is False  # 2 points: not beyond the tolerance
    assert [s.key for s in r.plan if s.applies] == ["underfitting", "distribution-shift", "rebalance"]


def test_noisy_per_seed_component_is_not_significant():
    # the mean variance is 5 points but the seeds disagree wildly
    r = biasvar(0.0, [0.10, 0.10, 0.10], [0.05, 0.25, 0.15, 0.15, 0.05, 0.25])
    var = r.component("variance")
    assert var.value == pytest.approx(0.05) and var.se > 0.025 and not var.significant


def test_test_val_split_separates_distribution_shift_from_val_overfitting():
    r = biasvar(0.01, 0.02, 0.03, 0.20, test_val=0.10)
    assert r.component("distribution_shift").value == pytest.approx(0.07)
    assert r.component("val_overfitting").value == pytest.approx(0.10)
    assert [s.key for s in r.plan if s.applies] == ["distribution-shift", "rebalance"]
    assert r.plan[2].remedies[0].startswith("Analyse test-val set errors")


def test_nothing_to_do_when_every_component_is_small():
    r = biasvar(0.05, 0.06, 0.07)
    assert r.next_step is None and r.diagnosis.startswith("no component exceeds tolerance")


@pytest.mark.parametrize(("args", "kwargs", "match"), [
    ((0.01, 1.5, 0.2), {}, "train"), ((0.01, 0.1, float("nan")), {}, "val"),
    ((0.01, 0.1, 0.2), {"kind": "loss"}, "kind"), ((0.01, 0.1, 0.2), {"tolerance": -1}, "tolerance"),
])
def test_biasvar_refuses_bad_input(args, kwargs, match):
    with pytest.raises(UsageError, match=match):
        biasvar(*args, **kwargs)


# -- learning curves ------------------------------------------------------------------------------------------

def _curve(seed: int = 0, noise: float = 0.003):
    rng = np.random.default_rng(seed)
    n = np.repeat([100, 200, 400, 800, 1600, 3200], 5)
    seeds = np.tile(np.arange(5), 6)
    err = 2.0 * n ** -0.5 + 0.05 + rng.normal(0, noise, len(n))
    return n, err, seeds


def test_power_law_fit_recovers_the_parameters_with_intervals_that_cover_them():
    n, err, seeds = _curve()
    fit = fit_learning_curve(n, err, seeds, n_boot=150)
    assert fit.a == pytest.approx(2.0, rel=0.15) and fit.b == pytest.approx(-0.5, abs=0.05)
    assert fit.c == pytest.approx(0.05, abs=0.01)
    assert fit.b_interval[0] <= -0.5 <= fit.b_interval[1]
    assert fit.c_interval[0] <= 0.05 <= fit.c_interval[1]
    assert fit.resampling == "seeds" and fit.n_boot > 100 and fit.n_max == 3200
    assert fit.predict(800) == pytest.approx(2.0 * 800 ** -0.5 + 0.05, abs=0.005)
    assert "boot" not in fit.to_dict()
    json.dumps(fit.to_dict())


def test_extrapolation_gives_size_interval_and_how_far_it_reaches():
    n, err, seeds = _curve()
    fit = fit_learning_curve(n, err, seeds, n_boot=150)
    est = extrapolate_size(fit, 0.07)
    truth = (2.0 / 0.02) ** 2  # 10 000
    assert est.reachable and est.n_needed == pytest.approx(truth, rel=0.25)
    assert est.interval[0] <= est.n_needed <= est.interval[1]
    assert est.extrapolation == pytest.approx(est.n_needed / 3200)
    assert 3200 < est.next_round < est.n_needed  # the first of several collection rounds
    assert any("Mahmood" in c for c in est.caveats) and any("extrapolates" in c for c in est.caveats)
    within = extrapolate_size(fit, 0.1)
    assert within.n_needed < 3200 and "within the measured sizes" in within.verdict


def test_goal_below_the_fitted_floor_is_unreachable():
    n, err, seeds = _curve()
    est = extrapolate_size(fit_learning_curve(n, err, seeds, n_boot=50), 0.03)
    assert not est.reachable and math.isinf(est.n_needed) and "floor" in est.verdict


def test_bootstrap_without_seeds_resamples_within_sizes_or_residuals():
    n, err, _ = _curve()
    assert fit_learning_curve(n, err, n_boot=30).resampling == "runs within each size"
    single = fit_learning_curve([100, 300, 1000, 3000, 10000], [0.3, 0.2, 0.14, 0.11, 0.095], n_boot=30)
    assert single.resampling == "residuals" and single.n_boot > 0


def test_learning_curve_input_errors():
    with pytest.raises(UsageError, match="at least 3 distinct"):
        fit_learning_curve([100, 100, 200], [0.3, 0.31, 0.2])
    with pytest.raises(DataError):
        fit_learning_curve([100, 200, -1], [0.3, 0.2, 0.1])
    with pytest.raises(DataError):
        fit_learning_curve([100, 200, 300], [0.3, 0.2])


# -- heuristics and PAC ------------------------------------------------------------------------------------------

def test_seed_000_heuristics():
    h = data_heuristics(n_classes=10, degrees_of_freedom=500, n_examples=8000)
    assert h.per_class_rule == 10_000 and h.dof_rule == 5_000
    assert h.enough == {"per_class": False, "dof": True}
    assert data_heuristics().per_class_rule is None
    with pytest.raises(UsageError):
        data_heuristics(n_classes=0)


def test_pac_bounds_match_the_formulas():
    eps, delta = 0.05, 0.01
    b = pac_finite(eps, delta, n_hypotheses=2 ** 20)
    assert b.m == math.ceil((20 * math.log(2) + math.log(1 / delta)) / eps)
    assert pac_finite(eps, delta, ln_hypotheses=20 * math.log(2)).m == b.m
    v = pac_vc(eps, delta, 10)
    assert v.m == math.ceil((8 * 10 * math.log2(13 / eps) + 4 * math.log2(2 / delta)) / eps)
    assert any("inductive bias" in c for c in v.caveats) and any("vacuous" in c for c in v.caveats)
    # more complexity, smaller error or smaller failure probability all need more data
    assert pac_vc(eps, delta, 20).m > v.m > pac_vc(0.1, delta, 10).m
    assert pac_vc(eps, 0.001, 10).m > v.m
    with pytest.raises(UsageError):
        pac_finite(eps, delta)
    with pytest.raises(UsageError):
        pac_vc(1.5, delta, 3)
