"""The failure-mode catalog (data, validated) and series-role recognition."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trialwise._exceptions import ConfigError, UsageError
from trialwise.diagnose import FailureMode, load_catalog, recognize_roles
from trialwise.diagnose._catalog import CATALOG_FILE, SEVERITIES
from trialwise.diagnose._detectors import DETECTORS

REQUIRED = (
    "chance-level", "slow-start", "loss-oscillation", "loss-divergence", "plateau-low", "catastrophic-forgetting",
    "suspiciously-good", "overfitting", "underfitting", "vanishing-gradients", "exploding-gradients", "dead-units",
    "saturated-units", "unnormalized-input", "small-batch-noise", "data-leakage", "val-overfitting",
    "distribution-shift",
)


def test_catalog_has_every_required_mode_with_ranked_causes_and_sources():
    cat = load_catalog()
    for code in REQUIRED:
        mode = cat[code]
        assert isinstance(mode, FailureMode)
        assert mode.severity in SEVERITIES
        assert mode.causes and mode.sources and mode.symptom
        assert all(c.diagnostic and c.remedy for c in mode.causes)
    # every detector has a catalog entry and every catalog entry a detector
    assert {d.code for d in DETECTORS} == set(cat.codes)


def test_catalog_keeps_the_seed_words_and_confirm_experiments():
    cat = load_catalog()
    assert cat["chance-level"].symptom == "Network won't go above random performance."
    assert cat["loss-oscillation"].causes[0].confirm.describe() == "lr x 0.1"
    forgetting = cat["catastrophic-forgetting"].causes[0]
    assert forgetting.diagnostic == "Does shuffling the data fix the problem?"
    assert forgetting.confirm.param == "shuffle" and forgetting.confirm.value is True
    assert cat["plateau-low"].causes[2].confirm.describe() == "dropout = 0"
    assert cat["chance-level"].causes[0].confirm.value == 0.01  # overfit a tiny subset
    assert "find_leakage" in cat["data-leakage"].next_diagnostic()
    json.dumps(cat.to_dict())  # JSON-able


def test_ranked_causes_promote_moves_named_causes_first_and_keeps_the_rest_in_order():
    mode = load_catalog()["chance-level"]
    ids = [c.id for c in mode.causes]
    ranked = [c.id for c in mode.ranked_causes(("lr-too-low", "not-a-cause"))]
    assert ranked[0] == "lr-too-low"
    assert ranked[1:] == [i for i in ids if i != "lr-too-low"]
    assert mode.next_diagnostic(("lr-too-low",)) == "Try increasing the learning rate."


def test_biasvar_plan_steps_are_data_in_seed_order():
    steps = load_catalog().biasvar
    assert [s.key for s in steps] == ["underfitting", "overfitting", "distribution-shift", "rebalance"]
    assert steps[0].remedies[0].startswith("Make the model bigger")
    assert steps[1].remedies[0].startswith("Add more training data") and steps[1].remedies[-1] == "Reduce model size"


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = CATALOG_FILE.read_text(encoding="utf-8")
    assert old in text
    p = tmp_path / "catalog.toml"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p


@pytest.mark.parametrize(("old", "new", "message"), [
    ('severity = "critical"', 'severity = "dire"', "severity"),
    ('confirm = { param = "lr", factor = 0.1 }', 'confirm = { param = "lr", factor = 0.1, value = 1 }', "exactly one"),
    ('confirm = { param = "lr", factor = 0.1 }', 'confirm = { param = "lr", factor = -2 }', "positive"),
    ('explains = ["loss-divergence", "loss-oscillation"]', 'explains = ["no-such-mode"]', "unknown code"),
    ('code = "slow-start"', 'code = "chance-level"', "unique"),
    ('key = "rebalance"', 'key = "other"', "seed 004"),
])
def test_malformed_catalog_is_refused_naming_the_entry(tmp_path, old, new, message):
    path = _broken(tmp_path, old, new)
    with pytest.raises(ConfigError, match=message) as err:
        load_catalog(path)
    assert str(path) in str(err.value)


# -- roles ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("names", "expected"), [
    # Keras
    (["loss", "accuracy", "val_loss", "val_accuracy"],
     {"train_loss": "loss", "train_acc": "accuracy", "val_loss": "val_loss", "val_acc": "val_accuracy"}),
    # Lightning, both per step and per epoch, LearningRateMonitor
    (["train_loss_step", "train_loss_epoch", "val_loss", "val_acc", "lr-Adam", "epoch"],
     {"train_loss": "train_loss_step", "train_loss_epoch": "train_loss_epoch", "val_loss": "val_loss",
      "val_acc": "val_acc", "lr": "lr-Adam", "epoch": "epoch"}),
    # TensorBoard tags and slashes
    (["Loss/train", "Loss/test", "Accuracy/train", "val/loss", "val/accuracy"],
     {"train_loss": "Loss/train", "test_loss": "Loss/test", "train_acc": "Accuracy/train", "val_loss": "val/loss",
      "val_acc": "val/accuracy"}),
    # Hugging Face Trainer
    (["loss", "eval_loss", "eval_accuracy", "learning_rate", "eval_f1"],
     {"train_loss": "loss", "val_loss": "eval_loss", "val_acc": "eval_accuracy", "val_score": "eval_f1",
      "lr": "learning_rate"}),
    # the buggy digits trainer of the end-to-end tests, and its probes
    (["train_loss", "train_acc_step", "val_loss", "val_acc", "train_acc", "epoch", "probe/grad_norm_ratio",
      "probe/dead_frac_max", "probe/dead_frac/0", "probe/input_mean", "probe/nonfinite_layer"],
     {"train_loss": "train_loss", "train_acc_step": "train_acc_step", "val_loss": "val_loss", "val_acc": "val_acc",
      "train_acc": "train_acc", "epoch": "epoch", "grad_norm_ratio": "probe/grad_norm_ratio",
      "dead_frac_max": "probe/dead_frac_max", "input_mean": "probe/input_mean",
      "nonfinite_layer": "probe/nonfinite_layer"}),
    (["valid_loss", "valid_acc", "test_acc", "training_loss", "f1", "val_f1", "test_loss"],
     {"train_loss": "training_loss", "val_loss": "valid_loss", "val_acc": "valid_acc", "test_acc": "test_acc",
      "train_score": "f1", "val_score": "val_f1", "test_loss": "test_loss"}),
    (["validation_loss", "eval_top1", "lr-SGD/pg1"], {"val_loss": "validation_loss", "val_acc": "eval_top1",
                                                     "lr": "lr-SGD/pg1"}),
])
def test_recognize_roles_knows_the_usual_names(names, expected):
    assert recognize_roles(names) == expected


def test_names_that_play_no_role_are_left_alone():
    assert recognize_roles(["gpu_mem", "throughput", "probe/update_ratio/fc1", "val_loss_ema_delta"]) == {}


def test_explicit_mapping_wins_and_takes_the_name_away_from_other_roles():
    roles = recognize_roles(["my_loss", "loss", "holdout_metric"],
                            {"train_loss": "my_loss", "test_acc": "holdout_metric"})
    assert roles == {"train_loss": "my_loss", "test_acc": "holdout_metric"}
    # a mapped name the run did not log leaves the role empty
    assert recognize_roles(["loss"], {"val_loss": "absent"}) == {"train_loss": "loss"}


def test_unknown_role_in_mapping_is_a_usage_error_listing_valid_roles():
    with pytest.raises(UsageError, match="train_loss"):
        recognize_roles(["loss"], {"training": "loss"})


def test_lengths_prefer_a_curve_over_a_one_point_summary():
    # Hugging Face logs `loss` every few steps and a single `train_loss` at the end
    assert recognize_roles(["loss", "train_loss"])["train_loss"] == "train_loss"
    assert recognize_roles(["loss", "train_loss"], lengths={"loss": 300, "train_loss": 1})["train_loss"] == "loss"
