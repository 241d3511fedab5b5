"""Seed 004's bias-variance advisor: decompose the test error and order what to work on.

Test error = irreducible error + bias + variance + val overfitting, with irreducible = goal,
bias = train - goal, variance = val - train, val overfitting = test - val (seed 004).  An optional
``test_val`` error (a held-out split drawn like the test data) separates distribution shift
(test_val - val) from val overfitting (test - test_val).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from trialwise._exceptions import UsageError
from trialwise.diagnose._catalog import Catalog, load_catalog
from trialwise.metrics._common import Record

__all__ = ["BIASVAR_TOLERANCE", "BiasVarComponent", "BiasVarianceReport", "PlanStep", "biasvar"]

BIASVAR_TOLERANCE = 0.02
"""A component counts when it exceeds this many error units (2 points).  Seed 004's example calls a
1-point test-val difference "okay" and a 7-point train-val difference overfitting; *trialwise* draws
the line between them."""

SE_Z = 2.0
"""With per-seed values, a component must also exceed this many standard errors (about 95%)."""


@dataclass(frozen=True)
class BiasVarComponent(Record):
    """One term of the decomposition (error units), its standard error over seeds, and whether it counts."""

    name: str
    value: float
    se: float | None
    significant: bool


@dataclass(frozen=True)
class PlanStep(Record):
    """One step of seed 004's plan; ``applies`` says whether the numbers call for it."""

    key: str
    title: str
    applies: bool
    reason: str
    remedies: tuple[str, ...]


@dataclass(frozen=True)
class BiasVarianceReport(Record):
    """Errors, decomposition, one-line diagnosis and the ordered plan."""

    goal: float
    train: float
    val: float
    test: float | None
    test_val: float | None
    components: tuple[BiasVarComponent, ...]
    diagnosis: str
    plan: tuple[PlanStep, ...]
    tolerance: float

    def component(self, name: str) -> BiasVarComponent | None:
        return next((c for c in self.components if c.name == name), None)

    @property
    def next_step(self) -> PlanStep | None:
        """The first step that applies (seed 004: underfitting first)."""
        return next((s for s in self.plan if s.applies), None)


def _errors(value: float | Sequence[float], name: str, kind: str) -> tuple[float, float | None, np.ndarray]:
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.ndim != 1 or not len(arr) or not np.all(np.isfinite(arr)):
        raise UsageError(f"The '{name}' parameter of biasvar must be a finite number or a list of per-seed numbers. "
                         f"Got {value!r} instead.")
    if kind == "accuracy":
        arr = 1.0 - arr
    if np.any(arr < 0) or np.any(arr > 1):
        raise UsageError(f"The '{name}' parameter of biasvar must be an error rate in [0, 1] (or an accuracy with "
                         f"kind='accuracy'). Got {value!r} instead.")
    se = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else None
    return float(arr.mean()), se, arr


def _diff_se(*ses: float | None) -> float | None:
    known = [s for s in ses if s is not None]
    return math.sqrt(sum(s * s for s in known)) if known else None


def _pts(x: float) -> str:
    return f"{100 * x:.1f} points"


def biasvar(goal: float, train: float | Sequence[float], val: float | Sequence[float],
            test: float | Sequence[float] | None = None, *, test_val: float | Sequence[float] | None = None,
            kind: Literal["error", "accuracy"] = "error", tolerance: float = BIASVAR_TOLERANCE,
            catalog: Catalog | None = None) -> BiasVarianceReport:
    """Decompose the error (seed 004) and order the work: underfitting, overfitting, distribution shift,
    re-balance.

    Parameters
    ----------
    goal : float
        The error you want (irreducible error, e.g. human level).
    train, val, test : float or sequence of float
        Errors on each split; a sequence is one value per seed (its mean is used and its standard
        error must be beaten too).
    test_val : float or sequence, optional
        Error on a held-out split drawn like the test data; separates distribution shift from val
        overfitting.
    kind : {"error", "accuracy"}
        ``"accuracy"`` converts every value (goal included) to an error ``1 - x``.
    tolerance : float
        Smallest component, in error units, that calls for work.

    Examples
    --------
    Seed 004's example (goal 1%, train 20%, validation 27%, test 28%):

    >>> r = biasvar(0.01, 0.20, 0.27, 0.28)
    >>> [(c.name, round(c.value, 2), c.significant) for c in r.components]
    [('irreducible', 0.01, False), ('bias', 0.19, True), ('variance', 0.07, True), ('val_overfitting', 0.01, False)]
    >>> [s.key for s in r.plan if s.applies]
    ['underfitting', 'overfitting']

    References
    ----------
    .. [1] Seed 004: notes on the Full Stack Deep Learning course, "Model evaluation" and
       "prioritizing improvements".
    .. [2] Tobin, "Troubleshooting Deep Neural Networks", Full Stack Deep Learning, 2019 (test-val split).
    """
    if kind not in ("error", "accuracy"):
        raise UsageError(f"The 'kind' parameter of biasvar must be 'error' or 'accuracy'. Got {kind!r} instead.")
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise UsageError(f"The 'tolerance' parameter of biasvar must be >= 0. Got {tolerance!r} instead.")
    g, _, _ = _errors(goal, "goal", kind)
    tr, tr_se, _ = _errors(train, "train", kind)
    va, va_se, _ = _errors(val, "val", kind)
    te, te_se = (None, None) if test is None else _errors(test, "test", kind)[:2]
    tv, tv_se = (None, None) if test_val is None else _errors(test_val, "test_val", kind)[:2]

    def comp(name: str, value: float, se: float | None) -> BiasVarComponent:
        sig = value > tolerance and (se is None or value > SE_Z * se)
        return BiasVarComponent(name, value, se, bool(sig))

    comps = [BiasVarComponent("irreducible", g, None, False), comp("bias", tr - g, tr_se),
             comp("variance", va - tr, _diff_se(tr_se, va_se))]
    if tv is not None:
        comps.append(comp("distribution_shift", tv - va, _diff_se(va_se, tv_se)))
    if te is not None:
        ref, ref_se = (tv, tv_se) if tv is not None else (va, va_se)
        comps.append(comp("val_overfitting", te - ref, _diff_se(ref_se, te_se)))
    by = {c.name: c for c in comps}

    catalog = catalog or load_catalog()
    under, over = by["bias"], by["variance"]
    shift = by.get("distribution_shift")
    valover = by.get("val_overfitting")
    plan = [
        PlanStep("underfitting", catalog.step("underfitting").title, under.significant,
                 f"train error exceeds the goal by {_pts(under.value)}", catalog.step("underfitting").remedies),
        PlanStep("overfitting", catalog.step("overfitting").title, over.significant,
                 f"validation error exceeds train error by {_pts(over.value)}", catalog.step("overfitting").remedies),
    ]
    if shift is not None:
        plan.append(PlanStep("distribution-shift", catalog.step("distribution-shift").title, shift.significant,
                             f"test-val error exceeds validation error by {_pts(shift.value)}",
                             catalog.step("distribution-shift").remedies))
    elif valover is not None:
        plan.append(PlanStep("distribution-shift", catalog.step("distribution-shift").title, valover.significant,
                             f"test error exceeds validation error by {_pts(valover.value)}; without a test-val split "
                             f"shift and val overfitting cannot be told apart",
                             catalog.step("distribution-shift").remedies))
    else:
        plan.append(PlanStep("distribution-shift", catalog.step("distribution-shift").title, False,
                             "no test error given", catalog.step("distribution-shift").remedies))
    plan.append(PlanStep("rebalance", catalog.step("rebalance").title, bool(valover and valover.significant),
                         (f"test error exceeds {'test-val' if tv is not None else 'validation'} error by "
                          f"{_pts(valover.value)} (val overfitting)") if valover else "no test error given",
                         catalog.step("rebalance").remedies))

    issues = [f"{label} ({c.name} {_pts(c.value)})" for label, c in
              (("underfitting", under), ("overfitting", over), ("distribution shift", shift),
               ("val overfitting", valover)) if c is not None and c.significant]
    ok = [f"{c.name} {_pts(c.value)} is within tolerance" for c in (under, over, shift, valover)
          if c is not None and not c.significant]
    if issues:
        diagnosis = ("both " if len(issues) == 2 else "") + " and ".join(issues)
    else:
        diagnosis = "no component exceeds tolerance"
    if ok:
        diagnosis += "; " + ", ".join(ok)
    return BiasVarianceReport(g, tr, va, te, tv, tuple(comps), diagnosis, tuple(plan), float(tolerance))
