"""The series names each integration writes reach diagnose's roles without configuration, one case per
framework family, and a framework's own ``grad_norm`` feeds the exploding-gradient rule."""

from __future__ import annotations

import numpy as np
import pytest

from trialwise.diagnose import RunSeries, diagnose, recognize_roles


@pytest.mark.parametrize(("family", "names", "expected"), [
    ("lightning: self.log(on_step, on_epoch), slashes, LearningRateMonitor, grad_norm()",
     ["train_loss_step", "train_loss_epoch", "val/acc", "val/loss", "epoch", "lr-SGD", "grad_2.0_norm_total",
      "grad_2.0_norm/net.0.weight", "probe/grad_norm_ratio"],
     {"train_loss": "train_loss_step", "train_loss_epoch": "train_loss_epoch", "val_loss": "val/loss",
      "val_acc": "val/acc", "lr": "lr-SGD", "epoch": "epoch", "grad_norm_ratio": "probe/grad_norm_ratio",
      "grad_norm": "grad_2.0_norm_total"}),
    ("lightning: slash-separated train names",
     ["train/loss_step", "train/loss_epoch", "train/acc_step", "train/acc_epoch", "val/acc", "grad_inf_norm_total"],
     {"train_loss": "train/loss_step", "train_loss_epoch": "train/loss_epoch", "train_acc_step": "train/acc_step",
      "train_acc": "train/acc_epoch", "val_acc": "val/acc", "grad_norm": "grad_inf_norm_total"}),
    ("hugging face Trainer logs",
     ["loss", "grad_norm", "learning_rate", "epoch", "eval_loss", "eval_accuracy", "eval_runtime",
      "eval_samples_per_second", "eval_steps_per_second"],
     {"train_loss": "loss", "val_loss": "eval_loss", "val_acc": "eval_accuracy", "lr": "learning_rate",
      "epoch": "epoch", "grad_norm": "grad_norm"}),
    ("hugging face stdout with the end-of-training train_loss",
     ["loss", "train_loss", "eval_loss", "eval_f1"],
     {"train_loss": "loss", "val_loss": "eval_loss", "val_score": "eval_f1"}),
    ("keras with batch logs (the per-batch loss is the training loss, the epoch loss its epoch partner)",
     ["batch/loss", "batch/accuracy", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "epoch"],
     {"train_loss": "batch/loss", "train_loss_epoch": "loss", "val_loss": "val_loss", "train_acc_step": "batch/accuracy",
      "train_acc": "accuracy", "val_acc": "val_accuracy", "lr": "learning_rate", "epoch": "epoch"}),
    ("keras epoch logs only (model.fit history)",
     ["loss", "accuracy", "val_loss", "val_accuracy"],
     {"train_loss": "loss", "train_acc": "accuracy", "val_loss": "val_loss", "val_acc": "val_accuracy"}),
])
def test_each_framework_family_reaches_its_roles(family, names, expected):
    lengths = {n: 1 if n == "train_loss" else 50 for n in names}  # HF's train_loss: one point, at the end
    assert recognize_roles(names, lengths=lengths) == expected, family


def test_a_framework_grad_norm_that_grows_by_orders_of_magnitude_is_exploding():
    steps = np.arange(0, 200, 5, dtype=float)
    t = steps / steps[-1]
    grad = 0.5 * np.exp(9 * t)  # x8000 over the run
    loss = np.log(10) * (1 + 0.02 * np.sin(steps))  # stuck at ln C: learning is impaired
    run = RunSeries({"loss": (steps, loss), "grad_norm": (steps, grad), "eval_accuracy": (steps[::8], np.full(5, 0.1))},
                    seed=0, n_classes=10)
    d = diagnose([run])
    assert d.roles["grad_norm"] == "grad_norm"
    found = d.get("exploding-gradients")
    assert found is not None, d.codes
    assert any("gradient norm grew" in line for line in found.evidence)
    healthy = RunSeries({"loss": (steps, np.log(10) * np.exp(-5 * t) + 0.05), "grad_norm": (steps, 1 + 0.1 * t)},
                        seed=0, n_classes=10)
    assert diagnose([healthy]).get("exploding-gradients") is None
