"""A fast synthetic training script in a real git repo: its metric is a known effect per change.

Every change branch commits one file ``changes/<name>.json`` (``{"effect": 0.02}``, optionally
``"fast"`` for the fast profile's effect and ``"modes"`` for the backbones it reaches); the metric is
``0.8 - |lr - optimal lr of the backbone| + sum of effects + noise``, where the noise depends on
the seed only, so every cell shares it and each effect is measured exactly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo, make_repo

PY = sys.executable

TRAIN = """
import argparse, glob, json, os, random, time
import trialwise as tw

OPTIMAL_LR = {"x": 0.2, "y": 0.1}
EPOCH_SECONDS = 0.03
parser = argparse.ArgumentParser()
parser.add_argument("--backbone", default="x")
parser.add_argument("--epochs", type=int, default=1)
args = parser.parse_args()
tw.init()
seed = int(os.environ["TRIALWISE_SEED"])  # not tw.seed_everything(): it imports torch (seconds)
hp = json.load(open("hparams.json"))
lr = hp.get("lr_" + args.backbone, hp["lr"])
tw.config({"backbone": args.backbone, "lr": lr, "epochs": args.epochs})  # exits here under TRIALWISE_DRY_RUN=1
profile = os.environ.get("TRIALWISE_PROFILE") or "full"
effect = 0.0
for path in sorted(glob.glob("changes/*.json")):
    change = json.load(open(path))
    if args.backbone in change.get("modes", ["x", "y"]):
        effect += change.get(profile, change["effect"])
time.sleep(EPOCH_SECONDS * (args.epochs - 1))
noise = random.Random(seed * 7919 + 1).gauss(0, 0.005)
tw.summary(val_acc=0.8 - abs(lr - OPTIMAL_LR[args.backbone]) + effect + noise)
"""

CONFIG = f"""
command = "{PY} train.py"
seeds = 3
jobs = 3
[metric]
name = "val_acc"
summary = "summary"
[profiles.fast]
args = ["--epochs", "1"]
[profiles.full]
args = ["--epochs", "10"]
[modes.x]
args = ["--backbone", "x"]
[modes.y]
args = ["--backbone", "y"]
"""


def branch(repo: Repo, name: str, files: dict[str, object]) -> None:
    """Commit ``files`` (JSON-encoded unless already text) on a new branch ``name`` off main."""
    repo.git("checkout", "--quiet", "-b", name, "main")
    for rel, content in files.items():
        repo.write(rel, content if isinstance(content, str) else json.dumps(content))
    repo.commit(f"change {name}")
    repo.git("checkout", "--quiet", "main")


def change(repo: Repo, name: str, effect: float, **extra: object) -> None:
    """A change branch ``feat/<name>`` whose only edit is ``changes/<name>.json``."""
    branch(repo, f"feat/{name}", {f"changes/{name}.json": {"effect": effect, **extra}})


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "repo", CONFIG, {"train.py": TRAIN, "hparams.json": json.dumps({"lr": 0.1})})
