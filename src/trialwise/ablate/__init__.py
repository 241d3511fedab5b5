"""Ablations: which combinations of changes to run, how to build them, and what they show.

Seed 001 (D. Khizbullin, 2023): #3 regression shadowing (measure changes separately and together),
#5 a fast training cycle that reflects the effect of changes, #6 a branch per change, #8
non-invasive changes. The pure layer (designs, analysis, fidelity, config diffs) and the git-level
combination builder; :mod:`trialwise.ablate._orchestrate` wires them to the runner, the store and
the decision engine (``run_ablation``, ``check_invasive``, ``store_fidelity``) for the CLI.
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
    MERGE_RULE,
    Cell,
    FactorialAnalysis,
    MergeChoice,
    ShadowFlag,
    ShadowingReport,
    SubsetRecommendation,
    analyze_factorial,
    detect_shadowing,
    merge_rule,
    recommend_subset,
)
from trialwise.ablate._fidelity import FidelityPair, FidelityReport, fidelity
from trialwise.ablate._invasive import ABSENT, ConfigDiff, InvasiveReport, ModeDiff, diff_configs, invasive_report
from trialwise.ablate._orchestrate import (
    ABLATION_KIND,
    DESIGN_CHOICES,
    DRY_RUN_KIND,
    INVASIVE,
    NON_INVASIVE,
    UNDECIDED,
    AblationCell,
    AblationResult,
    Executor,
    FidelityEntry,
    InvasiveCheck,
    StoreFidelity,
    check_invasive,
    choose_design,
    local_executor,
    run_ablation,
    store_fidelity,
)

__all__ = [
    "ABLATION_KIND", "DESIGN_CHOICES", "DRY_RUN_KIND", "INVASIVE", "NON_INVASIVE", "UNDECIDED", "AblationCell",
    "AblationResult", "Executor", "FidelityEntry", "InvasiveCheck", "StoreFidelity", "check_invasive",
    "choose_design", "local_executor", "run_ablation", "store_fidelity",
    "ABSENT", "LIKELY", "MERGE_RULE", "Cell", "ConfigDiff", "Design", "DesignRecommendation", "Effect", "FactorialAnalysis",
    "FidelityPair", "FidelityReport", "InvasiveReport", "MergeChoice", "ModeDiff", "ShadowFlag", "ShadowingReport",
    "SubsetRecommendation", "Term", "analyze_factorial", "build_combinations", "combination_ref", "detect_shadowing",
    "diff_configs", "fidelity", "fractional_factorial", "full_factorial", "invasive_report", "merge_rule",
    "one_at_a_time_plus_all", "recommend_design", "recommend_subset",
]
