"""Helpers: a temporary git repository whose script is a fast synthetic objective (``synthetic_train.py``)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from tests.conftest import Repo, make_repo

TRAIN = (Path(__file__).with_name("synthetic_train.py")).read_text(encoding="utf-8")
LR_OPT = -2.5
"""log10 of the learning rate where the synthetic val_acc peaks (``synthetic_train.LR_OPT``)."""
TRAIN_LR_OPT = -1.8
"""log10 of the learning rate where its train_loss is lowest."""

CONFIG = f"""
command = "{sys.executable} train.py"
seeds = 2
[metric]
name = "val_acc"
[profiles.fast]
args = []
"""

SPACE = ["--param", "lr=log:1e-5..1e-1", "--param", "width=int:32..512", "--param", "opt=choice:adam,sgd"]


def synthetic_repo(path: Path, config: str = CONFIG) -> Repo:
    return make_repo(path, config, {"train.py": TRAIN})


def study(storage: str, name: str) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.load_study(study_name=name, storage=storage)


def lr_distance(lr: float, opt: float = LR_OPT) -> float:
    return abs(math.log10(lr) - opt)
