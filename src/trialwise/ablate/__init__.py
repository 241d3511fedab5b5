"""Ablations: which combinations of changes to run, how to build them, and what they show.

Seed 001 (D. Khizbullin, 2023): #3 regression shadowing (measure changes separately and together),
#5 a fast training cycle that reflects the effect of changes, #6 a branch per change, #8
non-invasive changes. This package is pure (designs, analysis, fidelity, config diffs) plus the
git-level combination builder; the store, runner and CLI wire it up.
"""

from trialwise.ablate._combine import build_combinations, combination_ref
from trialwise.ablate._common import LIKELY, Effect
from trialwise.ablate._design import (
    Design,
    DesignRecommendation,
    Term,
    fractional_factorial,
    full_factorial,
    one_at_a_time_plus_all,
    recommend_design,
)
from trialwise.ablate._factorial import (
    Cell,
    FactorialAnalysis,
    ShadowFlag,
    ShadowingReport,
    SubsetRecommendation,
    analyze_factorial,
    detect_shadowing,
    recommend_subset,
)
from trialwise.ablate._fidelity import FidelityPair, FidelityReport, fidelity
from trialwise.ablate._invasive import ABSENT, ConfigDiff, InvasiveReport, ModeDiff, diff_configs, invasive_report

__all__ = [
    "ABSENT", "LIKELY", "Cell", "ConfigDiff", "Design", "DesignRecommendation", "Effect", "FactorialAnalysis",
    "FidelityPair", "FidelityReport", "InvasiveReport", "ModeDiff", "ShadowFlag", "ShadowingReport",
    "SubsetRecommendation", "Term", "analyze_factorial", "build_combinations", "combination_ref", "detect_shadowing",
    "diff_configs", "fidelity", "fractional_factorial", "full_factorial", "invasive_report",
    "one_at_a_time_plus_all", "recommend_design", "recommend_subset",
]
