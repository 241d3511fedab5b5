"""``compare --until-decided``: add seeds to both arms in rounds until a valid sequential test
decides, or ``max_seeds`` is reached (design and its guarantee: :mod:`trialwise.stats`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialwise.decide._arms import check_arms, load_arm
from trialwise.store._records import Experiment
from trialwise.store._store import Store


@dataclass(frozen=True)
class SequentialOutcome:
    """Every look of the sequential test and where it stopped."""

    design: Any
    looks: list[Any]
    decision: str
    seeds_per_arm: int
    refusals: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"design": self.design.to_dict(), "looks": [s.to_dict() for s in self.looks],
                "decision": self.decision, "seeds_per_arm": self.seeds_per_arm, "refusals": self.refusals}


def run_until_decided(store: Store, root: Path, base: Experiment, cand: Experiment, *, metric: str, direction: str,
                      design: Any, run_seeds: Callable[[Experiment, list[int]], None], max_age_days: float) -> SequentialOutcome:
    """Run rounds of seeds on both arms (``run_seeds`` runs the missing ones) until ``design`` stops."""
    from trialwise.stats import sequential_step

    looks: list[Any] = []
    n = design.looks[0]
    while True:
        for exp in (base, cand):
            run_seeds(exp, list(range(n)))
        a, b = load_arm(store, base, metric), load_arm(store, cand, metric)
        checks = check_arms(store, root, a, b, max_age_days=max_age_days)
        hard = [r for r in checks.refusals if "completed seed" not in r]
        if hard:
            return SequentialOutcome(design, looks, "refused", n, hard)
        a_vals = [v for s, v in zip(a.seeds, a.values) if s < n]
        b_vals = [v for s, v in zip(b.seeds, b.values) if s < n]
        state = sequential_step(design, a_vals, b_vals, direction=direction)
        looks.append(state)
        if state.decision != "continue":
            return SequentialOutcome(design, looks, state.decision, n)
        nxt = state.next_round_seeds
        if nxt is None or nxt <= n:
            return SequentialOutcome(design, looks, state.decision, n)
        n = nxt
