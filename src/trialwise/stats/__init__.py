"""The statistics engine: pure functions on per-seed values that decide progression or regression.

- :func:`compare`: Welch (default), Student, paired t or Mann–Whitney test of candidate B against
  baseline A, oriented by the metric's direction, with bootstrap interval, Hedges' g,
  P(B better than A), minimum detectable effect, seeds needed and a one-sentence verdict.
- :func:`holm`: Holm–Bonferroni correction when several comparisons decide together.
- :func:`power_summary`: power, minimum detectable effect and seeds needed (noncentral t).
- :func:`sequential_design` / :func:`sequential_step`: a group-sequential Welch test that adds seeds
  in rounds until it can decide, with the false-decision rate held at alpha.

Seed 001 (Khizbullin 2023): #1 run several seeds and test, #2 re-run after every change to catch
regressions, #9/#10 compare against a freshly re-run baseline (the store/CLI enforce those).
"""

from trialwise.stats._common import Verdict
from trialwise.stats._compare import ArmSummary, Comparison, compare
from trialwise.stats._holm import HolmResult, holm
from trialwise.stats._power import PowerSummary, power_summary
from trialwise.stats._sequential import SequentialDesign, SequentialState, sequential_design, sequential_step

__all__ = [
    "ArmSummary", "Comparison", "HolmResult", "PowerSummary", "SequentialDesign", "SequentialState", "Verdict",
    "compare", "holm", "power_summary", "sequential_design", "sequential_step",
]
