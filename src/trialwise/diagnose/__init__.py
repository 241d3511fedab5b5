"""Diagnosis of training curves: pure functions from logged series to ranked, explained findings.

- :func:`load_catalog`: the failure-mode catalog (``catalog.toml``: symptoms, ranked causes,
  diagnostics, remedies, confirmatory experiments, sources) as :class:`FailureMode` records.
- :func:`recognize_roles`: which series is the training loss, the validation accuracy, the
  learning rate (``loss``, ``val/loss``, ``eval_accuracy``, ``lr-Adam`` ...); an explicit mapping wins.
- :func:`diagnose`: run every detector on every seed (:class:`RunSeries`) and return a
  :class:`Diagnosis` of :class:`Finding` records ("seen in 3 of 5 seeds"), ordered by severity then
  confidence.  Thresholds come from AutoTrainer (ICSE 2021), DeepDiagnosis (ICSE 2022),
  TheDeepChecker (TOSEM 2022) and Cockpit (NeurIPS 2021); see ``_thresholds.py``.
- :func:`biasvar`: seed 004's bias-variance decomposition and ordered plan.
- :func:`fit_learning_curve`, :func:`extrapolate_size`, :func:`data_heuristics`, :func:`pac_finite`,
  :func:`pac_vc`: how much data (Hestness et al. 2017; Mahmood et al. 2022; seed 000).

Stored experiments (what ``trialwise diagnose|doctor|biasvar|datasize`` call): :func:`diagnose_stored`,
:func:`plan_confirmations` / :func:`run_confirmations` (confirmatory experiments judged by
:func:`trialwise.decide.decide`), :func:`biasvar_stored`, :func:`run_datasize`; they take a store and,
to run seeds, a ``launch(spec)`` callable.  Importing this package loads neither torch nor the store.
"""

from trialwise.diagnose._biasvar import BiasVarComponent, BiasVarianceReport, PlanStep, biasvar
from trialwise.diagnose._catalog import Catalog, Cause, Confirm, FailureMode, load_catalog
from trialwise.diagnose._datasize import (
    DataHeuristics,
    PacBound,
    PowerLawFit,
    SizeEstimate,
    data_heuristics,
    extrapolate_size,
    fit_learning_curve,
    pac_finite,
    pac_vc,
)
from trialwise.diagnose._diagnose import Diagnosis, Finding, RunEvidence, diagnose
from trialwise.diagnose._orchestrate import (
    CONFIRMED,
    INCONCLUSIVE,
    NOT_CONFIRMED,
    REJECTED,
    Confirmation,
    DataSizePoint,
    DataSizeReport,
    DoctorReport,
    Hypothesis,
    StoredBiasVar,
    StoredDiagnosis,
    biasvar_stored,
    diagnose_stored,
    load_series,
    plan_confirmations,
    run_confirmations,
    run_datasize,
)
from trialwise.diagnose._roles import ROLES, recognize_roles
from trialwise.diagnose._series import RunSeries

__all__ = [
    "CONFIRMED", "INCONCLUSIVE", "NOT_CONFIRMED", "REJECTED", "Confirmation", "DataSizePoint", "DataSizeReport",
    "DoctorReport", "Hypothesis", "StoredBiasVar", "StoredDiagnosis", "biasvar_stored", "diagnose_stored",
    "load_series", "plan_confirmations", "run_confirmations", "run_datasize",
    "ROLES", "BiasVarComponent", "BiasVarianceReport", "Catalog", "Cause", "Confirm", "DataHeuristics", "Diagnosis",
    "FailureMode", "Finding", "PacBound", "PlanStep", "PowerLawFit", "RunEvidence", "RunSeries", "SizeEstimate",
    "biasvar", "data_heuristics", "diagnose", "extrapolate_size", "fit_learning_curve", "load_catalog", "pac_finite",
    "pac_vc", "recognize_roles",
]
