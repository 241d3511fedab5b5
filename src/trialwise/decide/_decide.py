"""Decisions between two experiments: refusals first, then the statistics of :mod:`trialwise.stats`.

Several metrics or modes in one decision are corrected with Holm–Bonferroni (Holm 1979).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialwise.decide._arms import Arm, Checks, check_arms, load_arm
from trialwise.store._records import Experiment
from trialwise.store._store import Store

REFUSED = "refused"
"""Verdict when a refusal (or, with ``strict``, a warning) forbids a decision."""

PROGRESSION = "progression"
REGRESSION = "regression"
NO_DIFFERENCE = "no detectable difference"
INSUFFICIENT = "insufficient data"


@dataclass(frozen=True)
class Decision:
    """The outcome of comparing a candidate with a baseline on one metric."""

    base: Arm
    cand: Arm
    metric: str
    direction: str
    checks: Checks
    comparison: Any | None
    verdict: str
    sentence: str
    p_adjusted: float | None = None
    label: str = ""

    @property
    def decided(self) -> bool:
        return self.verdict in (PROGRESSION, REGRESSION, NO_DIFFERENCE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label, "metric": self.metric, "direction": self.direction, "verdict": self.verdict,
            "sentence": self.sentence, "baseline": self.base.to_dict(), "candidate": self.cand.to_dict(),
            "checks": self.checks.to_dict(), "p_adjusted": self.p_adjusted,
            "comparison": self.comparison.to_dict() if self.comparison is not None else None,
        }


@dataclass(frozen=True)
class DecisionSet:
    """Several decisions made together (metrics × modes), Holm-corrected."""

    decisions: list[Decision]
    alpha: float
    correction: str = "holm"
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """``refused`` if any is refused, else ``regression`` if any regresses, else
        ``progression`` if any progresses (none regressing), else the weakest remaining."""
        verdicts = [d.verdict for d in self.decisions]
        for v in (REFUSED, REGRESSION, INSUFFICIENT, PROGRESSION):
            if v in verdicts:
                return v
        return NO_DIFFERENCE

    @property
    def undecided(self) -> Decision | None:
        """The first decision without a verdict (refused, insufficient data): ``gate`` and ``compare``
        exit 2 on it, whatever the others say."""
        return next((d for d in self.decisions if d.verdict not in (PROGRESSION, REGRESSION, NO_DIFFERENCE)), None)

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "alpha": self.alpha, "correction": self.correction if len(self.decisions) > 1 else None,
                "notes": self.notes, "decisions": [d.to_dict() for d in self.decisions]}


def decide(store: Store, root: Path, base: Experiment, cand: Experiment, *, metric: str | None = None,
           direction: str | None = None, alternative: str = "two-sided", alpha: float = 0.05, test: str = "welch",
           max_age_days: float = 7.0, strict: bool = False, label: str = "") -> Decision:
    """Compare candidate ``cand`` with baseline ``base`` on ``metric``, refusing when the antipatterns
    of seed 001 would make the answer meaningless.

    Without ``metric``, the experiments' own (each ran with its commit's ``trialwise.toml``) decides;
    arms configured with different metrics are refused."""
    from trialwise.stats import compare

    mismatch = None
    if metric is None:
        metric = cand.metric_name or base.metric_name or "val_acc"
        direction = direction or cand.metric_direction or base.metric_direction or "max"
        own = {(e.metric_name, e.metric_direction) for e in (base, cand) if e.metric_name}
        if len(own) > 1:
            mismatch = (f"the arms were configured with different metrics ({base.name}: "
                        f"{base.metric_name} ({base.metric_direction}), {cand.name}: {cand.metric_name} "
                        f"({cand.metric_direction})): pass --metric NAME[:max|min] to decide on one both logged")
    direction = direction or "max"
    a = load_arm(store, base, metric)
    b = load_arm(store, cand, metric)
    checks = check_arms(store, root, a, b, max_age_days=max_age_days, paired=test == "paired")
    if mismatch:
        checks.refusals.insert(0, mismatch)
    blocking = checks.refusals + (checks.warnings if strict else [])
    if blocking:
        reason = blocking[0] if len(blocking) == 1 else f"{len(blocking)} reasons: " + " | ".join(blocking)
        return Decision(a, b, metric, direction, checks, None, REFUSED, f"no verdict: {reason}", label=label)
    result = compare(a.values, b.values, direction=direction, alternative=alternative, alpha=alpha, test=test,
                     metric=metric, label_a=a.label, label_b=b.label)
    verdict = str(getattr(result.verdict, "value", result.verdict))
    return Decision(a, b, metric, direction, checks, result, verdict, result.sentence, label=label)


def holm_adjust(decisions: Sequence[Decision], alpha: float) -> DecisionSet:
    """Re-judge each decided comparison with Holm-adjusted p-values across the set."""
    from trialwise.stats import holm

    if len(decisions) <= 1:
        return DecisionSet(list(decisions), alpha)
    tested = [d for d in decisions if d.comparison is not None and d.verdict != INSUFFICIENT and math.isfinite(d.comparison.p_value)]
    adjusted: dict[int, float] = {}
    if tested:
        res = holm([d.comparison.p_value for d in tested], alpha)
        adjusted = {id(d): p for d, p in zip(tested, res.adjusted)}
    out = []
    for d in decisions:
        if id(d) not in adjusted:
            out.append(d)
            continue
        p = adjusted[id(d)]
        verdict = d.verdict
        if p > alpha and verdict in (PROGRESSION, REGRESSION):
            verdict = NO_DIFFERENCE
        sentence = d.sentence if verdict == d.verdict else (
            f"{d.sentence.rsplit(':', 1)[0]}: after Holm correction over {len(tested)} comparisons p = {p:.3g} > {alpha:g}: {NO_DIFFERENCE}"
        )
        out.append(Decision(d.base, d.cand, d.metric, d.direction, d.checks, d.comparison, verdict, sentence, p, d.label))
    return DecisionSet(out, alpha, notes=[f"Holm–Bonferroni over {len(tested)} comparisons (Holm 1979)"])
