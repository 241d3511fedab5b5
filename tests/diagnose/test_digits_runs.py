"""Real curves: the buggy digits trainer (``data/make_digits_runs.py``), two seeds per bug.

Recorded once with torch so these tests need none; they pin what ``diagnose`` says on real training
dynamics, which synthetic signatures can only imitate.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from trialwise.diagnose import RunSeries, diagnose

DATA = Path(__file__).with_name("data") / "digits_runs.json.gz"


@lru_cache(maxsize=1)
def _runs() -> dict[str, list[RunSeries]]:
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        raw = json.load(fh)
    return {case: [RunSeries({k: (np.asarray(s), v) for k, (s, v) in run.items()}, seed=i, n_classes=10,
                             config={"batch_size": 32})
                   for i, run in enumerate(runs)] for case, runs in raw.items()}


@pytest.mark.parametrize("case", ["healthy", "healthy_long"])
def test_healthy_digits_training_raises_nothing(case):
    assert diagnose(_runs()[case]).findings == ()


@pytest.mark.parametrize(("case", "code", "cause"), [
    ("lr_high", "dead-units", "lr-too-high"),            # lr 1.0: the ReLUs die, accuracy falls to chance
    ("dead_relu", "dead-units", "bad-init"),             # biases -8: dead from the first step
    ("deep_sigmoid", "vanishing-gradients", "saturating-activations"),
    ("sorted", "catastrophic-forgetting", "sequential-data"),
    ("raw_pixels", "unnormalized-input", "raw-values"),
    ("explode", "initial-loss", "bad-init"),             # weights x6: loss at init ~7x ln(10), then it learns
    ("lr_low", "chance-level", "lr-too-low"),            # lr 1e-4: updates ~1e-5 of the weights
    ("random_labels", "chance-level", None),
    ("leak", "data-leakage", "answer-encoded"),          # one-hot label x4 in the top row: 1.0 after one epoch
    ("accumulate_grads", "exploding-gradients", None),   # zero_grad forgotten: gradient norm grows 100x+
])
def test_each_bug_is_named_first_with_the_right_cause(case, code, cause):
    d = diagnose(_runs()[case])
    assert d.top.code == code, d.codes
    assert d.top.n_affected >= 1 and d.top.n_seeds == 2
    if cause is not None:
        assert d.top.causes[0].id == cause


def test_symptoms_of_a_root_cause_are_listed_after_it():
    d = diagnose(_runs()["deep_sigmoid"])
    assert d.get("chance-level").explained_by == "vanishing-gradients"
    d = diagnose(_runs()["sorted"])
    assert d.get("chance-level").explained_by == "catastrophic-forgetting"
