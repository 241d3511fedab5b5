"""Look-alike blow-ups told apart by the order of events, noise that costs accuracy, causes before the
symptoms they explain (issue 15 items 2, 3, 4)."""

from __future__ import annotations

import math

import numpy as np

from tests.diagnose import synth
from trialwise.diagnose import RunSeries, diagnose, load_catalog

STEPS = np.arange(600, dtype=float)
ENDS = STEPS[59::60]
LN10 = math.log(10)


def _run(loss, grad=None, seed=0, **extra):
    rng = np.random.default_rng(seed)
    s = {"train_loss": (STEPS, loss), "val_acc": (ENDS, rng.binomial(400, 0.1, len(ENDS)) / 400), **extra}
    if grad is not None:
        s["grad_norm"] = (STEPS, grad)
    return RunSeries(s, seed=seed, n_classes=10)


def test_an_lr_blow_up_starts_at_ln_c_and_rises_with_the_gradient():
    rng = np.random.default_rng(0)
    rise = np.minimum(1.0, np.maximum(0.0, (STEPS - 5) / 20))
    loss = LN10 * (1 + 100 * rise) * np.exp(rng.normal(0, 0.05, len(STEPS)))
    grad = 0.3 * (1 + 30 * rise) * np.exp(rng.normal(0, 0.05, len(STEPS)))
    d = diagnose([_run(loss, grad)])
    f = d.get("loss-divergence")
    assert f is not None and f.causes[0].id == "lr-too-high"
    text = " ".join(f.evidence)
    assert "the loss stayed finite" in text and "lr-driven" in text and "started at 2.3" in text


def test_a_blow_up_from_the_first_step_blames_the_initialization():
    rng = np.random.default_rng(1)
    loss = (LN10 + 40 * np.exp(-STEPS / 3)) * np.exp(rng.normal(0, 0.05, len(STEPS)))
    grad = 0.3 * (1 + 60 * np.exp(-STEPS / 3)) * np.exp(rng.normal(0, 0.05, len(STEPS)))
    d = diagnose([_run(loss, grad)])
    assert d.top.code == "initial-loss" and d.top.causes[0].id == "bad-init"
    assert "lr-too-high" not in [f.causes[0].id for f in d.findings if f.code == "initial-loss"]


def test_gradients_that_pile_up_blame_a_missing_zero_grad():
    rng = np.random.default_rng(2)
    grad = 0.5 * 1.02 ** STEPS * np.exp(rng.normal(0, 0.05, len(STEPS)))  # grows step after step
    loss = LN10 * (1 + STEPS / 20) * np.exp(rng.normal(0, 0.05, len(STEPS)))
    d = diagnose([_run(loss, grad)])
    f = d.get("exploding-gradients")
    assert f is not None and f.causes[0].id == "accumulating-gradients"
    assert "climbs steadily" in " ".join(f.evidence)
    assert d.get("loss-divergence").causes[0].id == "accumulating-gradients"


def test_vanishing_after_the_blow_up_is_its_consequence_listed_under_it():
    rng = np.random.default_rng(3)
    rise = np.minimum(1.0, np.maximum(0.0, (STEPS - 5) / 20))
    loss = LN10 * (1 + 100 * rise) * np.exp(rng.normal(0, 0.05, len(STEPS)))
    probes = STEPS[::10]
    ratio = np.where(probes < 30, 0.5, 1e-8)
    run = _run(loss, None, **{"grad_norm_first_layer": (probes, ratio * 0.4), "grad_norm_last_layer":
                              (probes, np.full(len(probes), 0.4))})
    d = diagnose([run])
    v = d.get("vanishing-gradients")
    assert v is not None and v.explained_by == "loss-divergence" and v.severity == "info"
    assert d.codes.index("loss-divergence") < d.codes.index("vanishing-gradients")


def test_small_batch_noise_is_a_warning_only_when_validation_accuracy_pays_for_it():
    calm = diagnose([synth.small_batch_noise(0)]).get("small-batch-noise")
    assert calm is not None and calm.severity == "info" and calm.title.endswith("(mild)")
    s = dict(synth.small_batch_noise(0).series)
    steps, acc = s["val_acc"]
    acc = acc.copy()
    acc[len(acc) // 2] -= 0.15  # one evaluation 15 points down
    noisy = diagnose([RunSeries(s | {"val_acc": (steps, acc)}, n_classes=10, config={"batch_size": 2})])
    f = noisy.get("small-batch-noise")
    assert f is not None and f.severity == "warning" and "it costs accuracy" in " ".join(f.evidence)


def test_the_ranking_is_data_causes_explain_symptoms_in_the_seeds_they_share():
    cat = load_catalog()
    assert all(m.kind in ("cause", "symptom") for m in cat.modes)
    assert "loss-divergence" in cat["catastrophic-forgetting"].explains
    # dead units in one seed do not explain a plateau in another
    dead = synth.dead_units(0)
    plateau = synth.plateau_low(1)
    d = diagnose([RunSeries(dead.series, seed=0, n_classes=10), RunSeries(plateau.series, seed=1, n_classes=10)])
    assert d.get("plateau-low").explained_by is None
    assert d.get("chance-level").explained_by == "dead-units"


def test_a_hidden_width_below_the_classes_is_the_architecture_not_two_problems():
    """Seed 002's "poor architecture (too narrow)": one seed underfits, the other collapses to chance;
    with ``--width 2`` for 10 classes both are underfitting of a model too small, listed first."""
    under = RunSeries(synth.plateau_low(0).series, seed=0, n_classes=10, config={"width": 2},
                      sources={"width": "command line"})
    flat = RunSeries(synth._flat_chance(1).series, seed=1, n_classes=10, config={"width": 2},
                     sources={"width": "command line"})
    d = diagnose([under, flat])
    assert d.top.code == "underfitting" and d.top.causes[0].id == "model-too-small" and d.top.n_affected == 2
    assert d.get("chance-level").explained_by == "underfitting"
    assert "width = 2 (command line)" in " ".join(d.top.evidence)
    wide = [RunSeries(r.series, seed=r.seed, n_classes=10, config={"width": 64}) for r in (under, flat)]
    assert diagnose(wide).top.code == "chance-level"


def _hf_like(first: float, learns: bool, seed: int = 0) -> RunSeries:
    """Hugging Face logs the mean loss of every 10 steps at a fractional epoch, and num_labels says C."""
    rng = np.random.default_rng(seed)
    pos = np.arange(40, dtype=float)
    tail = 0.2 if learns else LN10
    loss = tail + (first - tail) * np.exp(-pos / 0.7) * np.exp(rng.normal(0, 0.03, len(pos)))
    evals = pos[4::5]
    acc = (np.linspace(0.9, 0.97, len(evals)) if learns else rng.binomial(360, 0.1, len(evals)) / 360)
    return RunSeries({"loss": (pos, loss), "epoch": (pos, (pos + 1) / 5), "eval_accuracy": (evals, acc)},
                     seed=seed, config={"num_labels": 10})


def test_a_first_loss_logged_after_updates_is_the_init_only_if_the_run_then_learns():
    d = diagnose([_hf_like(17.0, learns=True)])
    assert d.top.code == "initial-loss" and "after some updates" in d.top.evidence[1]
    d = diagnose([_hf_like(11000.0, learns=False)])
    assert "initial-loss" not in d.codes
    assert d.top.code == "chance-level" and d.top.causes[0].id == "lr-too-high"


def test_class_sorted_training_accuracy_near_zero_without_a_stated_number_of_classes():
    rng = np.random.default_rng(5)
    s = {"train_acc": (ENDS, np.full(len(ENDS), 0.0)), "val_acc": (ENDS, rng.binomial(360, 0.09, len(ENDS)) / 360)}
    f = diagnose([RunSeries(s)]).get("catastrophic-forgetting")
    assert f is not None and f.causes[0].id == "sequential-data" and "up to 50 classes" in f.evidence[1]
