"""Analysis of an ablation: effects, regression shadowing and the subset to merge (seed 001 #3).

Seed 001 #3: "change A gives a slight regression, whereas change B provides a significant
progression. Combined, the two may show improvement [...] you only want the change that brings in
an improvement while dropping the change that decreases the metric."

All seeds are replicates: effects come from least squares on every run, standard errors from the
pooled within-cell ("pure error") variance, and intervals from Student's t. Every effect is
oriented by ``direction`` so that positive = better.

References
----------
G. E. P. Box, J. S. Hunter, W. G. Hunter, *Statistics for Experimenters*, 2nd ed., 2005, ch. 5
(effects of replicated 2^k factorials, their standard errors from pooled replicate variance).
D. C. Montgomery, *Design and Analysis of Experiments*, 8th ed., 2013, ch. 6 (regression model of
the 2^k design, §6.7) and ch. 8.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from trialwise._exceptions import DataError, UsageError
from trialwise.ablate._common import (
    LIKELY,
    Effect,
    as_values,
    check_alpha,
    check_direction,
    check_names,
    decimals_for,
    fmt,
    fmt_p,
    subset_label,
    t_effect,
    welch_effect,
)
from trialwise.ablate._design import EFFECTS, Design
from trialwise.metrics._common import Record

__all__ = [
    "Cell", "FactorialAnalysis", "ShadowFlag", "ShadowingReport", "SubsetRecommendation", "analyze_factorial",
    "detect_shadowing", "recommend_subset",
]

SIGNIFICANT = "significant"
LIKELY_SEVERITY = "likely"
"""Severities of a regression: the interval lies below zero, or only P(effect < 0) > :data:`LIKELY`."""


@dataclass(frozen=True)
class Cell(Record):
    """One combination of changes: its completed seeds and its oriented difference from the base."""

    subset: tuple[str, ...]
    row: tuple[int, ...]
    values: tuple[float, ...]
    n_failed: int
    mean: float
    std: float
    vs_base: Effect | None

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def label(self) -> str:
        return subset_label(self.subset)


@dataclass(frozen=True)
class FactorialAnalysis(Record):
    """Effects of an ablation, oriented so that positive = better.

    Attributes
    ----------
    effects : tuple of Effect
        The design's model terms: main effects (``kind="main"``) and interactions; for a ±1-coded
        design an effect is the mean with the change(s) minus the mean without (Box, Hunter &
        Hunter's convention, twice the regression coefficient); for one-at-a-time + all (treatment
        coding) a main effect is the change's effect at the base.
    simple_effects : tuple of Effect
        Each change on its own: the cell with only that change vs the base cell (Welch); only for
        changes whose single-change cell was run.
    cells : tuple of Cell
        Every cell, base first, each with its Welch difference from the base.
    pooled_std, df_error
        Seed-to-seed standard deviation pooled over cells, and its degrees of freedom (runs - cells).
    """

    design_name: str
    names: tuple[str, ...]
    direction: str
    alpha: float
    cells: tuple[Cell, ...]
    effects: tuple[Effect, ...]
    simple_effects: tuple[Effect, ...]
    pooled_std: float
    df_error: int
    n_runs: int
    n_failed: int
    summary: tuple[str, ...]

    @property
    def base(self) -> Cell:
        return self.cells[0]

    @property
    def sign(self) -> float:
        return 1.0 if self.direction == "max" else -1.0

    @property
    def decimals(self) -> int:
        return decimals_for(self.pooled_std)

    def main_effect(self, name: str) -> Effect | None:
        """The main effect of change ``name``."""
        return next((e for e in self.effects if e.kind == "main" and e.factors == (name,)), None)

    def simple_effect(self, name: str) -> Effect | None:
        """Change ``name`` on its own vs the base, or ``None`` when its single-change cell was not run."""
        return next((e for e in self.simple_effects if e.factors == (name,)), None)

    def effect(self, *names: str) -> Effect | None:
        """The model term of exactly these changes (``effect("A", "B")`` = the A×B interaction)."""
        want = set(names)
        return next((e for e in self.effects if set(e.factors) == want), None)

    def cell(self, subset: Sequence[str]) -> Cell | None:
        """The cell that merges exactly ``subset``."""
        want = set(subset)
        return next((c for c in self.cells if set(c.subset) == want), None)

    def own_effects(self, name: str) -> tuple[Effect, ...]:
        """A change's own evidence: its simple effect vs base (if run) and its main effect."""
        return tuple(e for e in (self.simple_effect(name), self.main_effect(name)) if e is not None)


def _verdict(e: Effect, likely: float = LIKELY) -> str:
    """Seed 001's words for an effect; an interaction is a synergy (positive) or an antagonism."""
    up, down = ("synergy", "antagonism") if e.kind == "interaction" else ("progression", "regression")
    if e.ci_low > 0:
        return up
    if e.ci_high < 0:
        return down
    if e.p_worse > likely:
        return f"likely {down}"
    if e.p_better > likely:
        return f"likely {up}"
    return "no detectable " + ("interaction" if e.kind == "interaction" else "effect")


def _model_matrix(design: Design, rows: Sequence[tuple[int, ...]]) -> np.ndarray:
    b = np.asarray(rows, dtype=float)
    x = 2 * b - 1 if design.coding == EFFECTS else b
    cols = [np.ones(len(rows))] + [np.prod(x[:, list(t.factors)], axis=1) for t in design.terms]
    return np.column_stack(cols)


def _collect(design: Design, results: Mapping[tuple[int, ...], Sequence[float]], names: tuple[str, ...],
             where: str) -> dict[tuple[int, ...], tuple[np.ndarray, int]]:
    rows = set(design.rows)
    cells: dict[tuple[int, ...], tuple[np.ndarray, int]] = {}
    for key, values in results.items():
        try:
            row = tuple(int(b) for b in key)
        except (TypeError, ValueError):
            row = ()
        if row not in rows:
            raise DataError(f"The 'results' parameter of {where} has a key {key!r} that is not a cell of the design "
                            f"'{design.name}' (keys are 0/1 tuples, one per change: {', '.join(names)}).")
        label = subset_label([n for n, b in zip(names, row) if b])
        arr = as_values(values, where, label)
        finite = arr[np.isfinite(arr)]
        cells[row] = (finite, int(arr.size - finite.size))
    missing = [r for r in design.rows if r not in cells or cells[r][0].size == 0]
    if missing:
        labels = ", ".join(subset_label([n for n, b in zip(names, r) if b]) for r in missing)
        raise DataError(f"The 'results' parameter of {where} has no completed seed for cell(s) {labels} of "
                        f"'{design.name}': run them (or re-run the failed seeds) before analysing.")
    return cells


def analyze_factorial(design: Design, results: Mapping[tuple[int, ...], Sequence[float]], names: Sequence[str],
                      direction: str = "max", alpha: float = 0.05) -> FactorialAnalysis:
    """Main effects, interactions and each change's own effect from an ablation's per-seed results.

    Parameters
    ----------
    design : Design
        The design that was run (:func:`full_factorial`, :func:`fractional_factorial`, ...).
    results : mapping of 0/1 tuple to sequence of float
        Per cell (a row of ``design.rows``), the metric of every seed; NaN marks a failed run.
    names : sequence of str
        The change names, one per design column.
    direction : {"max", "min"}
        Whether larger metric values are better; effects are oriented so that positive = better.
    alpha : float
        1 - confidence level of the intervals.

    Returns
    -------
    FactorialAnalysis

    References
    ----------
    Box, Hunter & Hunter, *Statistics for Experimenters*, 2005, ch. 5; Montgomery 2013, §6.7;
    B. L. Welch, Biometrika 34 (1947) for the simple effects.
    """
    where = "analyze_factorial()"
    sign = check_direction(direction, where)
    alpha = check_alpha(alpha, where)
    names = check_names(names, design.k, where)
    cells = _collect(design, results, names, where)
    n_runs = sum(v.size for v, _ in cells.values())
    n_failed = sum(f for _, f in cells.values())
    df_error = n_runs - len(cells)
    if df_error < 1:
        raise DataError(f"The 'results' parameter of {where} has one seed per cell, which leaves no estimate of "
                        "seed-to-seed variance: run at least 2 seeds in some cell (seed 001 #1: run several "
                        "training cycles to estimate the variance).")
    ss_within = sum(float(np.sum((v - v.mean()) ** 2)) for v, _ in cells.values())
    pooled_var = ss_within / df_error

    # factorial model by least squares on every run of the model cells
    model_rows = design.model_rows
    obs_rows = [r for r in model_rows for _ in range(cells[r][0].size)]
    y = np.concatenate([cells[r][0] for r in model_rows])
    x = _model_matrix(design, obs_rows)
    xtx = x.T @ x
    if np.linalg.matrix_rank(xtx) < x.shape[1]:
        raise UsageError(f"The model of design '{design.name}' is not estimable from its cells; build designs "
                         "with full_factorial(), fractional_factorial() or one_at_a_time_plus_all().")
    cov_unit = np.linalg.inv(xtx)
    beta = cov_unit @ (x.T @ y)
    scale = 2.0 if design.coding == EFFECTS else 1.0
    effects = []
    for j, term in enumerate(design.terms, start=1):
        est = sign * scale * float(beta[j])
        se = scale * math.sqrt(pooled_var * float(cov_unit[j, j]))
        factors = tuple(names[i] for i in term.factors)
        kind = "main" if term.order == 1 else "interaction"
        effects.append(t_effect(term.name(names), kind, factors, est, se, df_error, alpha,
                                term.alias_names(names)))

    # each cell against the base (Welch), and each change on its own
    base_row = design.rows[0]
    base_vals = cells[base_row][0]
    out_cells, simple = [], []
    for row in design.rows:
        vals, failed = cells[row]
        subset = tuple(n for n, b in zip(names, row) if b)
        vs_base = None
        if row != base_row:
            vs_base = welch_effect(f"{subset_label(subset)} vs base", "cell", subset, vals, base_vals, sign,
                                   alpha, pooled_var, df_error)
        if len(subset) == 1:
            simple.append(welch_effect(subset[0], "simple", subset, vals, base_vals, sign, alpha, pooled_var,
                                       df_error))
        std = float(np.std(vals, ddof=1)) if vals.size > 1 else math.nan
        out_cells.append(Cell(subset, row, tuple(float(v) for v in vals), failed, float(vals.mean()), std, vs_base))
    simple.sort(key=lambda e: names.index(e.factors[0]))
    partial = FactorialAnalysis(design.name, names, direction, alpha, tuple(out_cells), tuple(effects),
                                tuple(simple), math.sqrt(pooled_var), df_error, n_runs, n_failed, ())
    return _with_summary(partial, design)


def _with_summary(a: FactorialAnalysis, design: Design) -> FactorialAnalysis:
    d = a.decimals
    level = f"{1 - a.alpha:.0%}"
    lines = [f"{a.design_name}: {len(a.cells)} cells, {a.n_runs} completed runs"
             + (f" ({a.n_failed} failed, left out)" if a.n_failed else "")
             + f"; seed-to-seed sd {fmt(a.pooled_std, d)} (pooled, {a.df_error} df); effects oriented so that "
             f"positive = better (direction '{a.direction}'), {level} intervals."]
    coding = "±1 coding: mean with minus mean without" if design.coding == EFFECTS else "each change at the base"
    lines.append(f"Model effects (least squares on every seed, {coding}):")
    lines += [f"  {e.sentence(d)}: {_verdict(e)}" for e in a.effects]
    if a.simple_effects:
        lines.append("Each change on its own vs base (Welch):")
        lines += [f"  {e.sentence(d)}: {_verdict(e)}" for e in a.simple_effects]
    lines.append("Cells vs base:")
    lines += [f"  {c.label}: mean {fmt(c.mean, d)} (n={c.n})"
              + (f", {fmt(c.vs_base.estimate, d, sign=True)} vs base (p {fmt_p(c.vs_base.p_value)}): "
                 f"{_verdict(c.vs_base)}" if c.vs_base else "") for c in a.cells]
    lines += [f"Design note: cannot separate {x}" for x in design.aliased if not x.startswith("nothing")]
    return dataclasses.replace(a, summary=tuple(lines))


# ---------------------------------------------------------------------------------------------- shadowing


@dataclass(frozen=True)
class ShadowFlag(Record):
    """A change that regresses on its own while a bundle containing it improves over the base."""

    change: str
    severity: str
    own_effects: tuple[Effect, ...]
    bundles: tuple[Effect, ...]
    sentence: str


@dataclass(frozen=True)
class ShadowingReport(Record):
    """Regression shadowing found in an ablation (seed 001 #3).

    ``flags``: shadowed regressions; ``regressions``: changes that regress with no improving bundle
    to hide them (plain regressions, reported for completeness).
    """

    flags: tuple[ShadowFlag, ...]
    regressions: tuple[str, ...]
    likely: float
    summary: tuple[str, ...]

    @property
    def flagged(self) -> tuple[str, ...]:
        return tuple(f.change for f in self.flags)


def _check_likely(likely: float, where: str) -> float:
    try:
        x = float(likely)
    except (TypeError, ValueError):
        x = math.nan
    if not 0.5 <= x < 1.0:
        raise UsageError(f"The 'likely' parameter of {where} must be a probability in [0.5, 1), e.g. {LIKELY}. "
                         f"Got {likely!r} instead.")
    return x


def _regression_severity(effects: Sequence[Effect], likely: float) -> str | None:
    if any(e.ci_high < 0 for e in effects):
        return SIGNIFICANT
    if any(e.p_worse > likely for e in effects):
        return LIKELY_SEVERITY
    return None


def _improves(e: Effect, likely: float) -> bool:
    return e.estimate > 0 and (e.ci_low > 0 or e.p_better > likely)


def detect_shadowing(analysis: FactorialAnalysis, likely: float = LIKELY) -> ShadowingReport:
    """Flag changes whose own effect regresses while a bundle containing them improves over the base.

    A change's own effect is its simple effect vs the base (when its single-change cell was run)
    and its main effect. It *regresses* significantly when an interval lies below zero, *likely*
    when P(effect < 0) > ``likely`` (flat-prior t posterior). A bundle (a cell of two or more
    changes) *improves* when its difference from the base has an interval above zero or
    P(better) > ``likely``.

    References
    ----------
    Seed 001 #3 (D. Khizbullin, 2023); A. Gelman et al., *Bayesian Data Analysis*, 3rd ed., 2013, §3.2.
    """
    likely = _check_likely(likely, "detect_shadowing()")
    d = analysis.decimals
    flags, plain = [], []
    for name in analysis.names:
        own = analysis.own_effects(name)
        severity = _regression_severity(own, likely)
        if severity is None:
            continue
        regressing = tuple(e for e in own if e.ci_high < 0 or e.p_worse > likely)
        bundles = tuple(c.vs_base for c in analysis.cells
                        if c.vs_base is not None and len(c.subset) > 1 and name in c.subset
                        and _improves(c.vs_base, likely))
        if not bundles:
            plain.append(name)
            continue
        bundles = tuple(sorted(bundles, key=lambda e: -e.estimate))
        evidence = "; ".join(f"{'alone vs base' if e.kind == 'simple' else 'main effect'} "
                             f"{fmt(e.estimate, d, sign=True)} (CI {fmt(e.ci_low, d, sign=True)} to "
                             f"{fmt(e.ci_high, d, sign=True)}, P(worse) = {e.p_worse:.2f})" for e in regressing)
        top = bundles[0]
        sentence = (f"{name} is a {'' if severity == SIGNIFICANT else 'likely '}regression shadowed by "
                    f"{subset_label(top.factors)} ({fmt(top.estimate, d, sign=True)} vs base, p "
                    f"{fmt_p(top.p_value)}): {evidence}. Drop {name} from the bundle (seed 001 #3).")
        flags.append(ShadowFlag(name, severity, regressing, bundles, sentence))
    lines = [f.sentence for f in flags] or ["No regression shadowing: no change regresses while a bundle with it "
                                            "improves."]
    lines += [f"{n} regresses on its own and no bundle with it improves over the base." for n in plain]
    return ShadowingReport(tuple(flags), tuple(plain), likely, tuple(lines))


# ----------------------------------------------------------------------------------------- recommendation


@dataclass(frozen=True)
class SubsetRecommendation(Record):
    """The subset of changes to merge, and how it compares with the other candidates.

    Attributes
    ----------
    subset : tuple of str
        The changes to merge (``()`` = merge nothing).
    best_subset : tuple of str
        The eligible cell with the best mean (may hold more changes than ``subset``).
    indistinguishable : tuple of tuple of str
        Eligible cells whose difference from the best is not significant (the best included).
    excluded : tuple of (str, str)
        Changes left out and why (a negative own effect).
    vs_base : Effect or None
        The recommended cell against the base (``None`` when it is the base).
    vs_best : tuple of Effect
        Every other eligible cell minus the best cell (Welch), best first.
    overall_best : tuple of str
        The best cell by mean among all cells, eligible or not.
    """

    subset: tuple[str, ...]
    best_subset: tuple[str, ...]
    indistinguishable: tuple[tuple[str, ...], ...]
    excluded: tuple[tuple[str, str], ...]
    vs_base: Effect | None
    vs_best: tuple[Effect, ...]
    overall_best: tuple[str, ...]
    summary: tuple[str, ...]


def recommend_subset(analysis: FactorialAnalysis) -> SubsetRecommendation:
    """The subset to merge: the best cell whose changes all have non-negative own effects.

    A change is *eligible* when none of its own effects (simple effect vs base, main effect) has a
    negative estimate: pattern #6 keeps a change out of the main branch unless it shows a
    progression. Among the cells that hold only eligible changes (the base included), the one with
    the best mean is compared with each other (Welch, ``analysis.alpha``); of those not
    distinguishable from it, the one with the fewest changes is recommended (ties: better mean).

    References
    ----------
    Seed 001 #3 and #6 (D. Khizbullin, 2023); B. L. Welch, Biometrika 34 (1947).
    """
    a = analysis
    d = a.decimals
    excluded = []
    for name in a.names:
        negative = [e for e in a.own_effects(name) if e.estimate < 0]
        if negative:
            why = "; ".join(f"{'alone vs base' if e.kind == 'simple' else 'main effect'} "
                            f"{fmt(e.estimate, d, sign=True)} (p {fmt_p(e.p_value)})" for e in negative)
            excluded.append((name, why))
    out = {n for n, _ in excluded}
    eligible = [c for c in a.cells if not out.intersection(c.subset)]
    pooled_var = a.pooled_std**2
    best = max(eligible, key=lambda c: (a.sign * c.mean, -len(c.subset)))
    vs_best = []
    close = [best]
    for c in eligible:
        if c is best:
            continue
        e = welch_effect(f"{c.label} vs {best.label}", "cell", c.subset, np.asarray(c.values),
                         np.asarray(best.values), a.sign, a.alpha, pooled_var, a.df_error)
        vs_best.append(e)
        if not e.p_value < a.alpha:
            close.append(c)
    vs_best.sort(key=lambda e: -e.estimate)
    chosen = min(close, key=lambda c: (len(c.subset), -a.sign * c.mean))
    overall = max(a.cells, key=lambda c: (a.sign * c.mean, -len(c.subset)))

    lines = [f"Merge: {subset_label(chosen.subset) if chosen.subset else 'nothing (keep the base)'}."]
    for name, why in excluded:
        lines.append(f"Left out {name}: its own effect is negative ({why}).")
    if chosen is not best:
        gap = next(e for e in vs_best if set(e.factors) == set(chosen.subset))
        lines.append(f"{best.label} has the best mean among eligible cells, but {chosen.label} is not "
                     f"distinguishable from it ({fmt(gap.estimate, d, sign=True)}, p {fmt_p(gap.p_value)}) and "
                     f"has fewer changes.")
    others = [c.label for c in close if c is not best and c is not chosen]
    if others:
        lines.append(f"Also indistinguishable from the best: {', '.join(others)}.")
    if chosen.vs_base is not None:
        v = chosen.vs_base
        lines.append(f"{chosen.label} vs base: {fmt(v.estimate, d, sign=True)} (CI {fmt(v.ci_low, d, sign=True)} "
                     f"to {fmt(v.ci_high, d, sign=True)}, p {fmt_p(v.p_value)}): {_verdict(v)}.")
    elif out and len(out) == len(a.names):
        lines.append("Every change has a negative own effect: merge none of them.")
    elif len(eligible) > 1:
        lines.append("No eligible combination is distinguishable from the base: nothing shows a progression.")
    if overall is not best:
        e = welch_effect("", "cell", overall.subset, np.asarray(overall.values), np.asarray(chosen.values),
                         a.sign, a.alpha, pooled_var, a.df_error)
        lines.append(f"The best cell overall, {overall.label}, holds a change with a negative own effect; it is "
                     f"{fmt(e.estimate, d, sign=True)} vs {chosen.label} (p {fmt_p(e.p_value)}).")
    return SubsetRecommendation(chosen.subset, best.subset, tuple(c.subset for c in close), tuple(excluded),
                                chosen.vs_base, tuple(vs_best), overall.subset, tuple(lines))
