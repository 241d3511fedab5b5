"""Sanity checks to run before (or instead of) a long training run.

Each check returns a frozen record with ``passed``, the evidence, a ``message`` and ``to_dict()``.

- Model and optimisation (PyTorch; torch loads on first use): :func:`overfit_one_batch`,
  :func:`initial_loss_check`, :func:`lr_range_test` (repeated over seeds), :func:`gradcheck`.
- Data (numpy): :func:`check_pairs` (seed 004's glob-order bug), :func:`find_leakage` (duplicates
  across splits, a column that encodes the label), :func:`label_shuffle_test`,
  :func:`class_balance` (accuracy against the majority-class rate).

``import trialwise.checks`` imports neither torch nor scikit-learn nor scipy nor numpy: each name loads
its module on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trialwise._lazy import lazy_exports

if TYPE_CHECKING:
    from trialwise.checks._labels import class_balance, label_shuffle_test
    from trialwise.checks._leakage import find_leakage
    from trialwise.checks._pairs import check_pairs
    from trialwise.checks._records import (
        ClassBalanceResult,
        GradcheckResult,
        InitialLossResult,
        LeakageResult,
        LeakyColumn,
        LrCurve,
        LrRangeResult,
        OverfitResult,
        PairMismatch,
        PairsResult,
        ShuffleResult,
    )
    from trialwise.checks._training import gradcheck, initial_loss_check, lr_range_test, overfit_one_batch

__all__ = [
    "ClassBalanceResult", "GradcheckResult", "InitialLossResult", "LeakageResult", "LeakyColumn", "LrCurve",
    "LrRangeResult", "OverfitResult", "PairMismatch", "PairsResult", "ShuffleResult", "check_pairs",
    "class_balance", "find_leakage", "gradcheck", "initial_loss_check", "label_shuffle_test", "lr_range_test",
    "overfit_one_batch",
]

_HOMES = {
    "_labels": ("class_balance", "label_shuffle_test"),
    "_leakage": ("find_leakage",),
    "_pairs": ("check_pairs",),
    "_training": ("gradcheck", "initial_loss_check", "lr_range_test", "overfit_one_batch"),
    "_records": ("ClassBalanceResult", "GradcheckResult", "InitialLossResult", "LeakageResult", "LeakyColumn",
                 "LrCurve", "LrRangeResult", "OverfitResult", "PairMismatch", "PairsResult", "ShuffleResult"),
}
"""The sub-module of each public name, imported on first use (PEP 562): the runner imports
``trialwise.checks._seeds`` on every run, which must not load numpy (``_labels``) or torch
(``_training``) through this package."""

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
