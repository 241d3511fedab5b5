"""Hyperparameter search that respects seeds (issue 7).

- :func:`run_sweep`: Optuna proposes configurations (TPE, random, grid, ...; Optuna's samplers), the
  trialwise runner runs ``seeds`` seeds of each from one commit, the objective is the seed mean and
  the seed std is kept; bad trials are pruned from ``tw.log`` intermediate values; studies live in
  Optuna's RDB storage next to the store, so a sweep resumes and runs in parallel workers.
- :func:`run_lr_on_train`: the learning rate on the training loss first, the rest on validation
  (seed 003).
- :func:`recheck`: the top configurations re-run on fresh seeds and compared (Welch + Holm) before a
  winner is declared (the winner's curse).
- :func:`bootstrap_importance` and :func:`slice_data`: which parameters matter, with bootstrap
  intervals and a noise probe, next to the prior table of seed 004; slices show the U-shape.
- :func:`suggest_space`: a space and its order from the prior table, the seed-004 defaults first.

Optuna, scipy and matplotlib are imported only when used.
"""

from trialwise.tune._importance import ImportanceResult, ParamImportance, bootstrap_importance
from trialwise.tune._objective import Objective, aggregate
from trialwise.tune._priors import PriorParam, PriorRow, PriorTable, match_prior, priors
from trialwise.tune._recheck import Recheck, RecheckEntry, recheck, top_configurations
from trialwise.tune._report import SweepReport, analyze_study, fresh_runner
from trialwise.tune._slices import SliceBin, SliceData, save_slices, slice_data
from trialwise.tune._space import ParamSpec, Space, parse_param, parse_space
from trialwise.tune._study import SAMPLERS, PRUNERS, StudyMeta, TrialRecord, optuna_storage_url, study_name
from trialwise.tune._suggest import SpaceSuggestion, SuggestedParam, default_trial, suggest_space
from trialwise.tune._sweep import (
    LrOnTrain,
    SweepInterrupted,
    SweepObserver,
    SweepOutcome,
    SweepSpec,
    load_study,
    run_lr_on_train,
    run_sweep,
)

__all__ = [
    "ImportanceResult", "LrOnTrain", "Objective", "PRUNERS", "ParamImportance", "ParamSpec", "PriorParam",
    "PriorRow", "PriorTable", "Recheck", "RecheckEntry", "SAMPLERS", "SliceBin", "SliceData", "Space",
    "SpaceSuggestion", "StudyMeta", "SuggestedParam", "SweepInterrupted", "SweepObserver", "SweepOutcome",
    "SweepReport", "SweepSpec", "TrialRecord", "aggregate", "analyze_study", "bootstrap_importance",
    "default_trial", "fresh_runner", "load_study", "match_prior", "optuna_storage_url", "parse_param",
    "parse_space", "priors", "recheck", "run_lr_on_train", "run_sweep", "save_slices", "slice_data",
    "study_name", "suggest_space", "top_configurations",
]
