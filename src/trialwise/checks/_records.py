"""Result records of every sanity check (torch-free, so they import without torch).

Each is a frozen dataclass with ``passed`` first, then the evidence, and ``to_dict()`` (JSON-able:
tuples become lists, NaN becomes ``None``).  ``message`` is one sentence for a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trialwise.metrics._common import Record
from trialwise.metrics._intervals import Interval


@dataclass(frozen=True)
class OverfitResult(Record):
    """:func:`~trialwise.checks.overfit_one_batch`: can the model memorise one small batch?"""

    passed: bool
    initial_loss: float
    final_loss: float
    min_loss: float
    target_loss: float
    steps: int
    steps_to_target: int | None
    accuracy: float | None
    losses: tuple[float, ...]
    message: str


@dataclass(frozen=True)
class InitialLossResult(Record):
    """:func:`~trialwise.checks.initial_loss_check`: is the loss at initialisation about ln(C)?"""

    passed: bool
    loss: float
    expected: float
    ratio: float
    label_entropy: float
    mean_max_prob: float | None
    logit_std: float | None
    n_classes: int
    batch_size: int
    message: str


@dataclass(frozen=True)
class LrCurve(Record):
    """One seed of a learning-rate range test."""

    seed: int
    lrs: tuple[float, ...]
    losses: tuple[float, ...]
    smoothed: tuple[float, ...]
    diverged_at: int | None
    steepest_lr: float | None
    min_loss_lr: float | None


@dataclass(frozen=True)
class LrRangeResult(Record):
    """:func:`~trialwise.checks.lr_range_test`: the suggested learning rate and how stable it is over seeds."""

    passed: bool
    rule: str
    suggestions: tuple[float | None, ...]
    median: float | None
    geometric_std: float | None
    spread: float | None
    low: float | None
    high: float | None
    curves: tuple[LrCurve, ...]
    message: str


@dataclass(frozen=True)
class GradcheckResult(Record):
    """:func:`~trialwise.checks.gradcheck`: analytical against numerical gradients, in float64."""

    passed: bool
    message: str
    n_inputs: int
    eps: float
    atol: float
    rtol: float


@dataclass(frozen=True)
class PairMismatch(Record):
    """Position ``index`` pairs ``input`` with ``label`` although their keys differ."""

    index: int
    input: str
    label: str
    input_key: str
    label_key: str


@dataclass(frozen=True)
class PairsResult(Record):
    """:func:`~trialwise.checks.check_pairs`: do two file listings correspond position by position?"""

    passed: bool
    n_inputs: int
    n_labels: int
    same_length: bool
    inputs_sorted: bool
    labels_sorted: bool
    n_mismatches: int
    mismatches: tuple[PairMismatch, ...]
    only_in_inputs: tuple[str, ...]
    only_in_labels: tuple[str, ...]
    fixed_by_sorting: bool
    mismatches_after_sorting: int
    message: str


@dataclass(frozen=True)
class LeakyColumn(Record):
    """A single input column and how well it alone predicts the label on the validation split."""

    column: int
    name: str
    score: float
    chance: float


@dataclass(frozen=True)
class LeakageResult(Record):
    """:func:`~trialwise.checks.find_leakage`: duplicates across splits and label-encoding columns."""

    passed: bool
    n_train: int
    n_val: int
    exact_duplicates: int
    exact_pairs: tuple[tuple[int, int], ...]
    exact_same_label: int | None
    near_duplicates: int
    near_pairs: tuple[tuple[int, int], ...]
    near_method: str
    near_threshold: float | None
    leaky_columns: tuple[LeakyColumn, ...]
    top_columns: tuple[LeakyColumn, ...]
    task: str | None
    message: str


@dataclass(frozen=True)
class ShuffleResult(Record):
    """:func:`~trialwise.checks.label_shuffle_test`: does a model trained on shuffled labels sit at chance?"""

    passed: bool
    shuffled_accuracy: float
    chance: float
    p_value: float
    alpha: float
    n_test: int
    control_accuracy: float | None
    control_p_value: float | None
    message: str


@dataclass(frozen=True)
class ClassBalanceResult(Record):
    """:func:`~trialwise.checks.class_balance`: the majority-class rate and whether an accuracy clears it."""

    passed: bool
    n: int
    class_counts: dict[str, int]
    majority_label: Any
    majority_rate: float
    minority_rate: float
    accuracy: Interval | None
    message: str
