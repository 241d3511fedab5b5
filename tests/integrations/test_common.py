"""The framework-free parts of the integrations: flat configs, numeric metrics, the step map, the seed
from the environment, caller-driven probe steps, and that ``import trialwise`` imports no framework."""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from trialwise._exceptions import UsageError
from trialwise.integrations._common import StepMap, env_seed, flat_config, numeric_metrics, seed_once
from trialwise.probes import watch


def test_import_trialwise_and_the_integrations_package_import_no_framework():
    code = ("import sys, trialwise, trialwise.integrations; "
            "print([m for m in ('lightning', 'pytorch_lightning', 'transformers', 'keras', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.replace("'", '"')) == []


class Mode(enum.Enum):
    FAST = "fast"


@dataclasses.dataclass
class Opt:
    name: str = "adam"
    betas: tuple[float, float] = (0.9, 0.99)


def test_flat_config_flattens_nesting_and_makes_every_value_json():
    params = {"lr": 0.1, "opt": Opt(), "ns": argparse.Namespace(depth=2, path=Path("/data")), "mode": Mode.FAST,
              "nan": float("nan"), "np": np.float32(0.5), "t": torch.tensor(3), "cls": nn.ReLU, "empty": {}}
    flat = flat_config(params)
    assert flat == {"lr": 0.1, "opt.name": "adam", "opt.betas": [0.9, 0.99], "ns.depth": 2, "ns.path": "/data",
                    "mode": "fast", "nan": "nan", "np": 0.5, "t": 3, "cls": str(nn.ReLU), "empty": {}}
    json.dumps(flat)
    assert flat_config(argparse.Namespace(a=1)) == {"a": 1}
    with pytest.raises(UsageError, match="mapping"):
        flat_config([1, 2])


def test_numeric_metrics_keeps_numbers_and_scalar_tensors_as_they_are():
    t = torch.tensor(0.25)
    out = numeric_metrics({"loss": t, "n": 3, "acc": np.float64(0.5), "name": "x", "flag": True, "none": None,
                           "vec": torch.ones(3), "arr": np.ones(2), "one": torch.ones(1), "idx": torch.tensor(2)},
                          prefix="batch/")
    assert list(out) == ["batch/loss", "batch/n", "batch/acc", "batch/one", "batch/idx"]
    assert out["batch/loss"] is t  # not turned into a float here (no device synchronisation)


def test_step_map_translates_exact_and_in_between_steps():
    m = StepMap(size=3)
    assert m.lookup(7) == 7  # nothing recorded: the watcher's own count
    for local, glob in [(0, 0), (4, 2), (8, 4), (12, 6)]:
        m.record(local, glob)
    assert m.lookup(8) == 4 and m.lookup(10) == 4 and m.lookup(13) == 6
    assert m.lookup(0) == 0  # forgotten (size 3): falls back to the step itself


def test_env_seed_reads_trialwise_seed_and_refuses_garbage(monkeypatch):
    monkeypatch.delenv("TRIALWISE_SEED", raising=False)
    assert env_seed() is None
    seen: list[int] = []
    assert seed_once("test-none", seen.append) is None and seen == []
    monkeypatch.setenv("TRIALWISE_SEED", "5")
    assert env_seed() == 5
    assert seed_once("test-fw", seen.append) == 5 and seed_once("test-fw", seen.append) == 5
    assert seen == [5]  # once per framework and process
    monkeypatch.setenv("TRIALWISE_SEED", "five")
    with pytest.raises(UsageError, match="TRIALWISE_SEED='five' is not a whole number"):
        env_seed()


class Wrapper(nn.Module):
    """Like a LightningModule: the training step calls ``self.net``, not ``forward``."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def test_a_watcher_driven_by_the_caller_counts_batches_not_forwards():
    torch.manual_seed(0)
    model = Wrapper()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    logged: list[tuple[int, dict]] = []
    w = watch(model, every=2, log=lambda m, step: logged.append((step, m)), hook_forward=False)
    for _ in range(5):
        x = torch.randn(16, 4)
        w.step(x)
        loss = model.net(x).pow(2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        w.end_step()
        model(torch.randn(3, 4))  # an extra training-mode forward: neither a step nor part of the probe
    w.close()
    assert [s for s, _ in logged] == [0, 2, 4] and w.steps == 5
    first = logged[0][1]
    assert set(k for k in first if k.startswith("probe/dead_frac/")) == {"probe/dead_frac/net.1"}  # one call only
    assert first["probe/update_ratio_median"] > 0 and first["probe/input_std"] > 0.5
