"""``diagnose``: no finding on healthy curves, the right finding first on each failure's signature,
aggregation over seeds, ordering, messy inputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from trialwise._exceptions import DataError, UsageError
from trialwise.diagnose import Diagnosis, RunSeries, diagnose, load_catalog
from trialwise.diagnose._detectors import DETECTORS

from . import synth

# -- false alarms: the worst failure --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["step", "epoch", "regression", "hard"])
def test_healthy_curves_raise_nothing(kind):
    """Healthy synthetic runs of every shape: zero findings on every one (0 of 600 here; 0 of 9000 in
    the measurement reported with this module)."""
    flagged = []
    for seed in range(150):
        if kind == "regression":
            run = synth.healthy(seed, regression=True)
        elif kind == "hard":
            run = synth.healthy(10_000 + seed, hard=True)
        else:
            run = synth.healthy(seed, mode=kind)
        d = diagnose([run])
        if d.findings:
            flagged.append((seed, [f.evidence[1] for f in d.findings]))
    assert flagged == []


def test_healthy_seeds_together_raise_nothing_and_examine_most_modes():
    runs = [synth.healthy(seed, mode="step") for seed in range(400, 405)]
    d = diagnose(runs)
    assert d.healthy and d.n_runs == 5
    assert {"loss-divergence", "overfitting", "slow-start", "chance-level"} <= set(d.checked)


# -- detection: each signature, its code first ------------------------------------------------------------


@pytest.mark.parametrize(("code", "gen"), [(c, g) for c, gens in synth.SIGNATURES.items() for g in gens],
                         ids=lambda x: x if isinstance(x, str) else x.__name__)
def test_each_failure_signature_is_ranked_first(code, gen):
    for seed in range(5):
        d = diagnose([gen(seed)], goal=synth.GOALS.get(code))
        assert d.findings, f"{gen.__name__}({seed}): nothing found"
        assert d.findings[0].code == code, f"{gen.__name__}({seed}): {d.codes}"


def test_every_detector_has_a_signature():
    assert {d.code for d in DETECTORS} <= set(synth.SIGNATURES)


# -- aggregation over seeds ----------------------------------------------------------------------------------


def test_seen_in_k_of_n_seeds_with_seeds_and_confidence():
    runs = [synth.loss_divergence(s) for s in (0, 2, 4)] + [synth.healthy(s, mode="step") for s in (1, 3)]
    runs = [RunSeries(r.series, seed=i, n_classes=r.n_classes, status=r.status) for i, r in
            zip((0, 2, 4, 1, 3), runs, strict=True)]
    d = diagnose(runs)
    f = d.get("loss-divergence")
    assert f is not None and d.top is f
    assert f.seeds_affected == (0, 2, 4) and f.n_seeds == 5 and f.n_affected == 3
    assert f.evidence[0] == "seen in 3 of 5 seeds (seeds 0, 2, 4)"
    assert "3 of 5 seeds" in f.verdict
    assert any("non-finite" in line and "status 'failed'" in line for line in f.evidence[1:])
    assert f.confidence == pytest.approx(3 / 5 * 1.0)
    assert f.causes[0].id == "lr-too-high" and f.causes[0].confirm.describe() == "lr x 0.1"
    assert len(f.details) == 3 and f.details[0].steps


def test_findings_are_ordered_by_severity_and_explained_ones_follow_their_cause():
    d = diagnose([synth.vanishing_gradients(0)])
    assert d.codes[:2] == ("vanishing-gradients", "chance-level")
    assert d.findings[1].explained_by == "vanishing-gradients"
    cat = load_catalog()
    # data-leakage (critical) before its symptom suspiciously-good (warning)
    d = diagnose([synth.data_leakage(0)])
    assert d.codes == ("data-leakage", "suspiciously-good")
    assert [cat[c].severity for c in d.codes] == ["critical", "warning"]
    assert d.findings[1].explained_by == "data-leakage"
    # a root cause of lower severity is listed with the severity of what it explains
    run = synth._flat_chance(0, extra=synth.probes(np.random.default_rng(0), np.arange(0, 1200, 20.0), dead=0.97,
                                                     ratio=0.0, first=0.0, input_mean=120.0, input_std=70.0))
    d = diagnose([run])
    assert d.codes[:3] == ("unnormalized-input", "dead-units", "chance-level")
    assert d.findings[1].causes[0].id == "unnormalized-input"  # the evidence re-ranks dead-units' causes


def test_evidence_promotes_the_cause_it_points_at():
    d = diagnose([synth.small_batch_noise(0)])
    assert d.top.causes[0].id == "batch-too-small"
    assert d.top.causes[0].confirm.describe() == "batch_size x 4"
    d = diagnose([synth.plateau_low(0)])
    assert d.top.code == "plateau-low"
    d = diagnose([synth.initial_loss(0)])
    assert d.top.causes[0].id == "bad-init"


def test_diagnosis_is_json_serialisable():
    d = diagnose([synth.overfitting(s) for s in range(3)])
    data = json.loads(json.dumps(d.to_dict()))
    assert data["findings"][0]["code"] == "overfitting"
    # the training set is memorised while val_acc holds: "add more training data" first (seed 004)
    assert data["findings"][0]["causes"][0]["confirm"] == {"param": "data_fraction", "factor": None, "value": 0.5}
    assert isinstance(d, Diagnosis) and data["n_runs"] == 3


def test_trained_too_long_when_the_validation_accuracy_falls_after_the_loss_minimum():
    runs = []
    for seed in range(3):
        s = dict(synth.overfitting(seed).series)
        steps, val = s["val_acc"]
        s["val_acc"] = (steps, val - 0.25 * np.clip(steps / steps[-1] - 0.35, 0, None))
        runs.append(RunSeries(s, seed=seed, n_classes=10))
    top = diagnose(runs).top
    assert top.code == "overfitting" and top.causes[0].id == "trained-too-long"
    assert top.severity == "warning" and "fell from its best" in " ".join(top.evidence)


def test_a_validation_loss_creeping_up_with_a_flat_accuracy_is_mild():
    """Issue 15 item 5: accuracy is the metric; a rising val_loss alone is info at most."""
    runs = []
    for seed in range(3):
        s = dict(synth.overfitting(seed).series)
        steps, train = s["train_acc"]
        s["train_acc"] = (steps, np.minimum(train, s["val_acc"][1] + 0.03))  # no accuracy gap either
        runs.append(RunSeries(s, seed=seed, n_classes=10))
    f = diagnose(runs).get("overfitting")
    assert f is not None and f.severity == "info" and f.title.endswith("(mild)")


# -- inputs ---------------------------------------------------------------------------------------------------


def test_none_nan_and_inf_count_as_non_finite_loss():
    steps = np.arange(100.0)
    values: list[float | None] = list(np.linspace(2.3, 0.5, 100))
    values[60] = None
    run = RunSeries({"loss": (steps, values)}, seed=7)
    f = diagnose([run]).get("loss-divergence")
    assert f is not None and "from step 60" in f.evidence[1]
    run = RunSeries({"loss": (steps, np.r_[np.linspace(2.3, 1.0, 90), np.full(10, np.inf)])})
    assert diagnose([run]).top.code == "loss-divergence"


def test_per_step_and_per_epoch_series_of_different_lengths_are_aligned_by_step():
    run = synth.overfitting(1)
    lengths = {k: len(v[0]) for k, v in run.series.items()}
    assert lengths["train_loss"] == 1200 and lengths["val_loss"] == 20
    f = diagnose([run]).get("overfitting")
    assert "while train_loss fell" in f.evidence[1]


def test_accuracy_in_percent_is_read_as_a_fraction():
    run = synth.chance_level(0)
    s = dict(run.series)
    steps, acc = s.pop("val_acc")
    s["val_top1"] = (steps, 100 * np.asarray(acc))
    d = diagnose([RunSeries(s, n_classes=10)])
    assert d.top.code == "chance-level" and any("percentage" in n for n in d.notes)


def test_chance_level_needs_the_number_of_classes_and_says_so():
    run = synth.chance_level(0)
    no_loss = RunSeries({k: v for k, v in run.series.items() if "loss" not in k})
    d = diagnose([no_loss])
    assert "chance-level" not in d.codes and "n_classes" in d.not_checked["chance-level"]
    # a cross-entropy at ln C says C: the chance level is read off the loss, and a note says so
    anonymous = RunSeries(run.series)
    d = diagnose([anonymous])
    assert d.top.code == "chance-level" and any("read as 10 classes" in n for n in d.notes)
    assert diagnose([anonymous], n_classes=10).top.code == "chance-level"
    assert diagnose([RunSeries(run.series, config={"num_classes": 10})]).top.code == "chance-level"
    # an explicit chance (e.g. the majority-class rate) overrides 1/C
    binary = RunSeries(synth._flat_chance(0, n_classes=2).series)  # accuracy about 0.5
    assert diagnose([binary], n_classes=2).top.code == "chance-level"
    assert "chance-level" not in diagnose([binary], n_classes=2, chance=0.2).codes


def test_classes_read_off_the_loss_only_when_it_sits_at_ln_c():
    """Initial loss ln C, or a second half flat at ln C after an early spike (lr too high); a loss
    that is not a cross-entropy at uniform predictions says nothing."""
    rng = np.random.default_rng(3)
    steps = np.arange(600, dtype=float)
    ends = steps[59::60]
    acc = {"val_acc": (ends, rng.binomial(400, 0.1, len(ends)) / 400)}
    # step 0 at ln C (read as 10 classes), then the first updates blow the loss up: the learning rate
    spiked = np.concatenate([[2.3026, 2355.0, 18.4, 4.9, 5.3, 8.2], 2.3026 * np.exp(rng.normal(0, 0.03, 594))])
    d = diagnose([RunSeries({"train/loss": (steps, spiked), **acc})])
    top = d.top
    assert top.code == "chance-level" and top.causes[0].id == "lr-too-high"
    assert "initial-loss" not in d.codes  # the start was a spike, not the initialization
    assert any("at step 0 is 2.3 ~ ln 10: read as 10 classes" in n for n in d.notes)
    # only the loss at step 0 says C (issue 15 item 9): a loss flat at ln C after a spike does not
    late = np.concatenate([[2355.0, 18.4, 4.9, 5.3, 8.2], 2.3026 * np.exp(rng.normal(0, 0.03, 595))])
    d = diagnose([RunSeries({"train/loss": (steps, late), **acc})])
    assert "chance-level" in d.not_checked and not any("classes" in n for n in d.notes)
    mse = 0.75 * np.exp(-steps / 300) + 0.5  # starts at 1.25, between ln 3 and ln 4: nothing is inferred
    d = diagnose([RunSeries({"loss": (steps, mse), **acc})])
    assert "chance-level" not in d.codes and "n_classes" in d.not_checked["chance-level"]


def test_missing_series_are_reported_as_not_checked():
    d = diagnose([synth.healthy(3, mode="epoch")])
    for code in ("dead-units", "vanishing-gradients", "unnormalized-input"):
        if code not in d.checked:
            assert d.not_checked[code].startswith("needs probe/")


def test_mapping_resolves_unusual_names():
    run = synth.chance_level(0)
    s = {("objective" if k == "train_loss" else "holdout" if k == "val_acc" else k): v for k, v in run.series.items()}
    d = diagnose([RunSeries(s, n_classes=10)], mapping={"train_loss": "objective", "val_acc": "holdout"})
    assert d.roles["train_loss"] == "objective" and d.top.code == "chance-level"
    d = diagnose([RunSeries(s, n_classes=10)], mapping={"val_acc": "absent"})
    assert any("absent" in n for n in d.notes)


def test_goal_turns_a_satisfactory_run_into_underfitting():
    run = synth.underfitting(0)  # train accuracy ends near 0.8
    assert "underfitting" not in diagnose([run]).codes
    f = diagnose([run], goal=0.95).get("underfitting")
    assert f is not None and "goal 0.95" in f.evidence[1]
    assert "underfitting" not in diagnose([run], goal=0.75).codes
    # a goal on the loss (lower is better)
    assert diagnose([run], goal=0.1, metric="val_loss").get("underfitting") is not None


def test_score_direction_hint_flips_a_lower_is_better_metric():
    rng = np.random.default_rng(0)
    steps = np.arange(0, 1200, 60.0) + 59
    err_train = np.clip(0.2 + rng.normal(0, 0.002, len(steps)), 0, 1)
    err_val = err_train - 0.15  # "val better than train" only once the direction is known
    run = RunSeries({"train_f1": (steps, err_train), "val_f1": (steps, err_val)})
    assert "suspiciously-good" not in diagnose([run]).codes
    assert "suspiciously-good" in diagnose([run], directions={"val_score": "min", "train_score": "min"}).codes


def test_random_inputs_never_crash():
    rng = np.random.default_rng(3)
    roles = ["loss", "val_loss", "val_acc", "train_acc", "train_acc_step", "test_acc", "lr", "probe/grad_norm_ratio",
             "probe/dead_frac_max", "probe/input_mean", "probe/input_std", "probe/nonfinite_layer", "test_loss"]
    for _ in range(200):
        series = {}
        for name in rng.choice(roles, size=int(rng.integers(1, len(roles))), replace=False):
            n = int(rng.integers(0, 40))
            values = rng.choice([rng.random(n), np.full(n, 0.5), np.full(n, np.nan), rng.normal(0, 5, n)])
            series[str(name)] = (np.sort(rng.random(n) * 100), values)
        diagnose([RunSeries(series, n_classes=int(rng.integers(2, 20)))], goal=float(rng.random()))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"chance": 1.5}, "chance"), ({"n_classes": 1}, "n_classes"), ({"directions": {"val_score": "up"}}, "directions"),
])
def test_bad_parameters_are_usage_errors(kwargs, match):
    with pytest.raises(UsageError, match=match):
        diagnose([synth.healthy(0)], **kwargs)
    with pytest.raises(UsageError, match="at least one run"):
        diagnose([])


def test_runseries_validates_and_builds_from_long_rows():
    with pytest.raises(DataError, match="3 steps but 2 values"):
        RunSeries({"loss": ([0, 1, 2], [1.0, 2.0])})
    with pytest.raises(DataError, match="non-numeric"):
        RunSeries({"loss": ([0, 1], [1.0, "x"])})
    run = RunSeries.from_points([("loss", 2, 0.5), ("loss", 0, 2.0), ("val_acc", 1, None), ("loss", 1, 1.0)], seed=3)
    steps, values = run.series["loss"]
    assert steps.tolist() == [0, 1, 2] and values.tolist() == [2.0, 1.0, 0.5]
    assert math.isnan(run.series["val_acc"][1][0])
    assert json.loads(json.dumps(run.to_dict()))["seed"] == 3
