"""The user's own evidence (issue 15 item 1): the naming families of gradient norms, dead and saturated
units, learning rate, update and weight norms are roles; per-layer series are families; a name is
mapped in ``[diagnose.series]``; and the diagnosis uses them as it uses ``tw.watch``'s probes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.diagnose import synth
from trialwise import UsageError
from trialwise.diagnose import RunSeries, diagnose, recognize_roles
from trialwise.diagnose._context import RunContext
from trialwise.diagnose._roles import layer_families


@pytest.mark.parametrize(("name", "role"), [
    # the whole gradient: Hugging Face's Trainer, Lightning's grad_norm() utility, people's names
    ("grad_norm", "grad_norm"), ("grad_2.0_norm_total", "grad_norm"), ("global_grad_norm", "grad_norm"),
    ("gradient_norm", "grad_norm"), ("train/grad_norm", "grad_norm"),
    # first and last layer, and their ratio
    ("grad_norm_first_layer", "grad_norm_first"), ("first_layer_grad_norm", "grad_norm_first"),
    ("grad_norm/first", "grad_norm_first"), ("grad_norm_last_layer", "grad_norm_last"),
    ("last_layer_grad_norm", "grad_norm_last"), ("grad_norm_ratio", "grad_norm_ratio"),
    ("grad_norm_max", "grad_norm_max"),
    # dead and saturated units
    ("dead_relu_fraction", "dead_frac_max"), ("frac_dead", "dead_frac_max"), ("dead_frac", "dead_frac_max"),
    ("pct_dead_neurons", "dead_frac_max"), ("fraction_of_dead_units", "dead_frac_max"),
    ("saturation_fraction", "saturated_frac_max"), ("frac_saturated", "saturated_frac_max"),
    # learning rate, update and weight norms, input statistics
    ("lr-SGD", "lr"), ("learning_rate", "lr"), ("update_ratio", "update_ratio"),
    ("update_to_weight_ratio", "update_ratio"), ("param_norm", "weight_norm"), ("weight_norm", "weight_norm"),
    ("input_mean", "input_mean"), ("input_std", "input_std"),
])
def test_each_naming_family_plays_its_role(name, role):
    assert recognize_roles([name, "val_acc"]).get(role) == name


@pytest.mark.parametrize(("names", "expected"), [
    (["grad/layer1", "grad/layer10", "grad/layer2"], {"layer1": 1, "layer2": 1, "layer10": 1}),
    # Lightning's grad_norm(): one series per parameter; weight and bias are one layer
    (["grad_2.0_norm/net.0.weight", "grad_2.0_norm/net.0.bias", "grad_2.0_norm/net.6.weight",
      "grad_2.0_norm_total"], {"net.0": 2, "net.6": 1}),
    (["gradients/encoder.fc1", "gradients/head"], {"encoder.fc1": 1, "head": 1}),
    (["grad_norm_layer1", "grad_norm_layer2", "grad_norm_first_layer"], {"layer1": 1, "layer2": 1}),
])
def test_per_layer_gradient_norms_are_a_family_in_layer_order(names, expected):
    fam = layer_families(names)["grad_norm"]
    assert {k: len(v) for k, v in fam.items()} == expected
    assert list(fam) == list(expected)  # natural order: layer2 before layer10


def test_probes_and_a_scripts_own_layers_never_mix():
    fam = layer_families(["probe/grad_norm/0", "probe/grad_norm/2", "grad/layer1", "grad/layer2", "grad/layer3"])
    assert list(fam["grad_norm"]) == ["0", "2"]
    assert list(layer_families(["dead/relu1", "dead/relu2"])["dead_frac"]) == ["relu1", "relu2"]


def test_per_step_loss_plays_train_loss_and_the_epoch_loss_its_partner():
    """A loop printing ``loss`` every step and ``train_loss`` every epoch."""
    roles = recognize_roles(["loss", "train_loss", "val_loss"], lengths={"loss": 360, "train_loss": 8, "val_loss": 8})
    assert roles["train_loss"] == "loss" and roles["train_loss_epoch"] == "train_loss"
    # Hugging Face's one-point train_loss summary is no epoch curve
    roles = recognize_roles(["loss", "train_loss"], lengths={"loss": 40, "train_loss": 1})
    assert roles == {"train_loss": "loss"}


def test_a_name_is_mapped_in_diagnose_series_and_a_family_by_glob():
    names = ["zeros_share", "g/a", "g/b", "g/c", "val_acc"]
    roles = recognize_roles(names, {"dead_frac_max": "zeros_share", "grad_norm_layers": "g/*"})
    assert roles["dead_frac_max"] == "zeros_share"
    assert "grad_norm" not in roles
    assert list(layer_families(names, {"grad_norm_layers": "g/*"})["grad_norm"]) == ["a", "b", "c"]
    with pytest.raises(UsageError, match="grad_norm_layers"):
        recognize_roles(names, {"grad_layers": "g/*"})


def _steps(n: int = 60) -> np.ndarray:
    return np.arange(0, 1200, 1200 // n, dtype=float)


def test_first_last_ratio_and_the_largest_layer_are_derived_from_the_users_series():
    s = _steps()
    run = RunSeries({"grad/layer1": (s, np.full(len(s), 1e-6)), "grad/layer2": (s, np.full(len(s), 1e-3)),
                     "grad/layer3": (s, np.full(len(s), 0.5)), "dead": (s, np.full(len(s), 40.0))})
    ctx = RunContext(run, recognize_roles(run.series))
    assert ctx.curve("grad_norm_first").name == "grad/layer1" and ctx.curve("grad_norm_last").name == "grad/layer3"
    assert np.allclose(ctx.curve("grad_norm_ratio").values, 2e-6)
    assert np.allclose(ctx.curve("grad_norm_max").values, 0.5)
    assert ctx.roles["grad_norm_ratio"] == "grad/layer1 / grad/layer3"
    lit = RunSeries({"grad_2.0_norm/net.0.weight": (s, np.full(len(s), 3.0)),
                     "grad_2.0_norm/net.0.bias": (s, np.full(len(s), 4.0)),
                     "grad_2.0_norm/net.6.weight": (s, np.full(len(s), 1.0))})
    ctx = RunContext(lit, recognize_roles(lit.series))
    assert np.allclose(ctx.curve("grad_norm_first").values, 5.0)  # sqrt(3^2 + 4^2): one layer
    assert np.allclose(ctx.curve("grad_norm_ratio").values, 5.0)


def test_a_dead_fraction_in_percent_is_read_as_a_fraction():
    s = _steps()
    run = RunSeries({"pct_dead_neurons": (s, np.full(len(s), 95.0))})
    assert np.allclose(RunContext(run, recognize_roles(run.series)).curve("dead_frac_max").values, 0.95)


def _chance_with(extra: dict) -> RunSeries:
    return synth._flat_chance(3, extra=extra)


def test_the_users_dead_relu_fraction_names_dead_units_before_chance_level():
    s = _steps()
    d = diagnose([_chance_with({"dead_relu_fraction": (s, np.full(len(s), 1.0))})])
    assert d.top.code == "dead-units"
    assert d.get("chance-level").explained_by is not None


def test_the_users_first_and_last_layer_norms_name_vanishing_gradients():
    s = _steps()
    rng = np.random.default_rng(0)
    first = 1e-7 * np.exp(rng.normal(0, 0.3, len(s)))
    d = diagnose([_chance_with({"grad_norm_first_layer": (s, first), "grad_norm_last_layer": (s, np.full(len(s), 0.4))})])
    assert d.top.code == "vanishing-gradients"
    assert "grad_norm_first_layer / grad_norm_last_layer" in " ".join(d.top.evidence) or \
        d.roles["grad_norm_ratio"] == "grad_norm_first_layer / grad_norm_last_layer"


def test_healthy_runs_with_healthy_user_series_raise_nothing():
    s = _steps()
    rng = np.random.default_rng(1)
    extra = {"grad_norm_first_layer": (s, 0.2 * np.exp(rng.normal(0, 0.2, len(s)))),
             "grad_norm_last_layer": (s, 0.4 * np.exp(rng.normal(0, 0.2, len(s)))),
             "dead_relu_fraction": (s, np.clip(rng.normal(0.2, 0.05, len(s)), 0, 1)),
             "grad_norm": (s, 0.5 * np.exp(rng.normal(0, 0.2, len(s))))}
    for seed in range(3):
        assert diagnose([synth._good(seed, extra=extra)]).findings == ()
