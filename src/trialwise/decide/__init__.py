"""Decisions on stored experiments: compare, re-run baseline, sequential testing, the CI gate.

The statistics are pure (:mod:`trialwise.stats`); this package reads the store, refuses what the
antipatterns forbid, and runs more seeds when asked.
"""

from trialwise.decide._arms import MIN_SEEDS_FOR_VERDICT, Arm, Checks, check_arms, load_arm
from trialwise.decide._baseline import BASELINE_KIND, HistoryEntry, baseline_experiments, history, staleness
from trialwise.decide._decide import (
    INSUFFICIENT,
    NO_DIFFERENCE,
    PROGRESSION,
    REFUSED,
    REGRESSION,
    Decision,
    DecisionSet,
    decide,
    holm_adjust,
)
from trialwise.decide._gate import EXIT_FAIL, EXIT_PASS, EXIT_UNDECIDED, REQUIREMENTS, GateResult, judge, markdown_summary
from trialwise.decide._sequential import SequentialOutcome, run_until_decided

__all__ = [
    "BASELINE_KIND", "EXIT_FAIL", "EXIT_PASS", "EXIT_UNDECIDED", "INSUFFICIENT", "MIN_SEEDS_FOR_VERDICT",
    "NO_DIFFERENCE", "PROGRESSION", "REFUSED", "REGRESSION", "REQUIREMENTS", "Arm", "Checks", "Decision",
    "DecisionSet", "GateResult", "HistoryEntry", "SequentialOutcome", "baseline_experiments", "check_arms",
    "decide", "history", "holm_adjust", "judge", "load_arm", "markdown_summary", "run_until_decided", "staleness",
]
