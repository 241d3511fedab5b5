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
    "MERGE_RULE", "MergeChoice", "detect_shadowing", "merge_rule", "recommend_subset",
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


MERGE_RULE = ("a change whose own effect has its {level} CI below 0 (a regression) is never merged; among the "
              "other combinations, those whose {level} CI against the base lies above 0 (better, direction "
              "'{direction}'), the one with the best mean; a combination with fewer changes that is not "
              "distinguishable from it (Welch, p >= {alpha}) is preferred; none above the base: merge nothing")
"""The merge rule of :func:`merge_rule`, as printed under the recommendation (format it with the
confidence level, the direction and alpha). A combination is merged only on the evidence of its own
interval against the base (seed 001 #6: a change reaches the main branch when it shows a
progression); a change that regresses on its own is dropped even when a bundle with it improves,
and extra changes come in only when they are distinguishably better (seed 001 #3: "you only want
the change that brings in an improvement while dropping the change that decreases the metric")."""


@dataclass(frozen=True)
class MergeChoice(Record):
    """What :func:`merge_rule` picked, and from what.

    Attributes
    ----------
    chosen : Cell or None
        The combination to merge; ``None`` = merge nothing (keep the base).
    best : Cell or None
        The candidate with the best mean (``None`` when there is no candidate).
    candidates : tuple of Cell
        The combinations free of ``regressions`` whose interval against the base lies above 0
        (oriented: better), best mean first.
    close : tuple of Cell
        Candidates not distinguishable from ``best`` (Welch, ``p >= alpha``), ``best`` included.
    vs_best : tuple of Effect
        Every other candidate minus ``best`` (Welch, oriented), in the order of ``candidates``.
    regressions : tuple of str
        Changes whose own effect (alone vs base, or main effect) has its interval below 0.
    """

    chosen: Cell | None
    best: Cell | None
    candidates: tuple[Cell, ...]
    close: tuple[Cell, ...]
    vs_best: tuple[Effect, ...]
    regressions: tuple[str, ...]


def merge_rule(analysis: FactorialAnalysis) -> MergeChoice:
    """The combination to merge: the best mean among those above the base, fewer changes when tied.

    1. *Regressions*: a change with an own effect (alone vs base, main effect) whose interval lies
       below 0 is never merged (seed 001 #3: it may be shadowed by a bigger improvement).
    2. *Candidates*: the other non-base cells whose oriented difference from the base has its
       interval above 0 (``cell.vs_base.ci_low > 0``; for a ``"min"`` metric the raw difference
       lies below 0). No candidate: merge nothing.
    3. *Best*: the candidate with the best mean (direction-aware; ties: fewer changes).
    4. Each other candidate is compared with the best (Welch at ``analysis.alpha``); of the best and
       those *close* to it (``p >= alpha``), the one with the fewest changes is chosen (ties:
       better mean).

    A bigger combination thus wins only when it is distinguishably better than every smaller
    candidate, and a noisy big combination can never turn a clear single change into "merge
    nothing": the base is not a candidate. The intervals are the ones of the "Cells vs base"
    table, so the recommendation cannot contradict it.

    References
    ----------
    Seed 001 #3 and #6 (D. Khizbullin, 2023); B. L. Welch, Biometrika 34 (1947).
    """
    a = analysis
    regressions = tuple(n for n in a.names if any(e.ci_high < 0 for e in a.own_effects(n)))
    candidates = sorted((c for c in a.cells if c.subset and not set(regressions).intersection(c.subset)
                         and c.vs_base is not None and c.vs_base.ci_low > 0),
                        key=lambda c: (-a.sign * c.mean, len(c.subset)))
    if not candidates:
        return MergeChoice(None, None, (), (), (), regressions)
    best = candidates[0]
    close, vs_best = [best], []
    for c in candidates[1:]:
        e = welch_effect(f"{c.label} vs {best.label}", "cell", c.subset, np.asarray(c.values),
                         np.asarray(best.values), a.sign, a.alpha, a.pooled_std**2, a.df_error)
        vs_best.append(e)
        if not e.p_value < a.alpha:
            close.append(c)
    chosen = min(close, key=lambda c: (len(c.subset), -a.sign * c.mean))
    return MergeChoice(chosen, best, tuple(candidates), tuple(close), tuple(vs_best), regressions)


@dataclass(frozen=True)
class SubsetRecommendation(Record):
    """The subset of changes to merge (by :func:`merge_rule`), and how it compares with the others.

    Attributes
    ----------
    subset : tuple of str
        The changes to merge (``()`` = merge nothing).
    rule : str
        The rule that chose it, in words (:data:`MERGE_RULE`).
    candidates : tuple of tuple of str
        The combinations whose interval against the base lies above 0, best mean first.
    best_subset : tuple of str
        The candidate with the best mean (may hold more changes than ``subset``; ``()`` when no
        combination is above the base).
    indistinguishable : tuple of tuple of str
        Candidates whose difference from the best is not significant (the best included).
    excluded : tuple of (str, str)
        Every change left out of ``subset``, and why.
    vs_base : Effect or None
        The recommended cell against the base (``None`` when it is the base).
    vs_best : tuple of Effect
        Every other candidate minus the best cell (Welch), best first.
    overall_best : tuple of str
        The best cell by mean among all cells, above the base or not.
    """

    subset: tuple[str, ...]
    rule: str
    candidates: tuple[tuple[str, ...], ...]
    best_subset: tuple[str, ...]
    indistinguishable: tuple[tuple[str, ...], ...]
    excluded: tuple[tuple[str, str], ...]
    vs_base: Effect | None
    vs_best: tuple[Effect, ...]
    overall_best: tuple[str, ...]
    summary: tuple[str, ...]


def _own_evidence(e: Effect, d: int) -> str:
    return (f"{'alone vs base' if e.kind == 'simple' else 'main effect'} {fmt(e.estimate, d, sign=True)} "
            f"(CI {fmt(e.ci_low, d, sign=True)} to {fmt(e.ci_high, d, sign=True)})")


def _vs_base_text(c: Cell, d: int) -> str:
    v = c.vs_base
    assert v is not None
    return (f"{fmt(v.estimate, d, sign=True)} (CI {fmt(v.ci_low, d, sign=True)} to {fmt(v.ci_high, d, sign=True)}, "
            f"p {fmt_p(v.p_value)})")


def _why_left_out(a: FactorialAnalysis, name: str, m: MergeChoice, d: int) -> str:
    """Why change ``name`` is not in the chosen combination, in the rule's own terms."""
    regressing = [e for e in a.own_effects(name) if e.ci_high < 0]
    if regressing:
        return "its own effect is a regression (" + "; ".join(_own_evidence(e, d) for e in regressing) + ")"
    with_it = [c for c in m.candidates if name in c.subset]
    if not with_it:
        cells = [c for c in a.cells if name in c.subset and c.vs_base is not None
                 and not set(m.regressions).intersection(c.subset)]
        if not cells:
            return "every combination with it also holds a regression"
        top = max(cells, key=lambda c: a.sign * c.mean)
        return f"no combination with it is above the base (the best, {top.label}: {_vs_base_text(top, d)})"
    top = with_it[0]  # candidates are sorted best first
    assert m.chosen is not None and m.best is not None
    if top is m.best:
        gap = next(e for e in m.vs_best if e.factors == m.chosen.subset)
        return (f"the best combination with it, {top.label}, has the best mean above the base, but "
                f"{m.chosen.label} is not distinguishable from it ({fmt(gap.estimate, d, sign=True)}, p "
                f"{fmt_p(gap.p_value)}) and has fewer changes")
    if top in m.close:
        return (f"the best combination with it, {top.label}, is not distinguishable from the best, {m.best.label}, "
                f"and {m.chosen.label} is smaller" + ("" if len(m.chosen.subset) < len(top.subset) else
                                                      " or as small with a better mean"))
    gap = next(e for e in m.vs_best if e.factors == top.subset)
    return (f"the best combination with it, {top.label}, is worse than {m.best.label} "
            f"({fmt(gap.estimate, d, sign=True)}, p {fmt_p(gap.p_value)})")


def recommend_subset(analysis: FactorialAnalysis) -> SubsetRecommendation:
    """The subset to merge by :func:`merge_rule`, with the rule and every left-out change explained.

    The recommendation follows from the cells' own intervals against the base (the same numbers
    as the "Cells vs base" table), so it can never say "merge nothing" beside a combination whose
    interval lies above the base.

    References
    ----------
    Seed 001 #3 and #6 (D. Khizbullin, 2023); B. L. Welch, Biometrika 34 (1947).
    """
    a = analysis
    d = a.decimals
    m = merge_rule(a)
    chosen = m.chosen
    subset = chosen.subset if chosen is not None else ()
    rule = MERGE_RULE.format(level=f"{1 - a.alpha:.0%}", direction=a.direction, alpha=f"{a.alpha:g}")
    excluded = tuple((n, _why_left_out(a, n, m, d)) for n in a.names if n not in subset)
    overall = max(a.cells, key=lambda c: (a.sign * c.mean, -len(c.subset)))

    lines = [f"Merge: {subset_label(subset) if subset else 'nothing (keep the base)'}.", f"Rule: {rule}."]
    if chosen is not None:
        lines.append(f"{chosen.label} vs base: {_vs_base_text(chosen, d)}: {_verdict(chosen.vs_base)}.")  # type: ignore[arg-type]
        if chosen is not m.best and m.best is not None:
            gap = next(e for e in m.vs_best if e.factors == chosen.subset)
            lines.append(f"{m.best.label} has the best mean above the base, but {chosen.label} is not "
                         f"distinguishable from it ({fmt(gap.estimate, d, sign=True)}, p {fmt_p(gap.p_value)}) and "
                         "has fewer changes.")
        others = [c.label for c in m.close if c is not m.best and c is not chosen]
        if others:
            lines.append(f"Also indistinguishable from the best: {', '.join(others)}.")
    else:
        lines.append("No combination's interval against the base lies above 0: nothing shows a progression.")
    for name, why in excluded:
        lines.append(f"Left out {name}: {why}.")
    if overall.subset and overall not in m.candidates:
        held = [n for n in overall.subset if n in m.regressions]
        why = (f"holds {', '.join(held)}, a regression on its own (seed 001 #3)" if held
               else "is not above the base with confidence")
        lines.append(f"The best mean overall, {overall.label} ({_vs_base_text(overall, d)} vs base), {why}.")
    return SubsetRecommendation(subset, rule, tuple(c.subset for c in m.candidates),
                                m.best.subset if m.best is not None else (), tuple(c.subset for c in m.close),
                                excluded, chosen.vs_base if chosen is not None else None,
                                tuple(sorted(m.vs_best, key=lambda e: -e.estimate)), overall.subset, tuple(lines))
