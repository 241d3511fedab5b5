"""Which hyperparameters matter, with a bootstrap interval, next to the prior table of seed 004.

Optuna's importance evaluators return bare point estimates that move from run to run and from one
set of trials to the next.  :func:`bootstrap_importance` resamples the completed trials with
replacement, recomputes the importances each time and reports percentile intervals.  Every resample
also carries a *noise probe*: a parameter drawn uniformly at random, known not to matter.  A
parameter "matters" when it is more important than the probe in at least :data:`MATTERS_SHARE` of
the resamples: the shadow-feature test of Boruta (Kursa & Rudnicki, JSS 36(11), 2010) with the
bootstrap of Efron & Tibshirani (1993) for the variability over trials.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trialwise._exceptions import DataError, UsageError
from trialwise.metrics._common import Record
from trialwise.tune._priors import match_prior
from trialwise.tune._space import Space

__all__ = [
    "DEFAULT_BOOTSTRAP", "EVALUATORS", "MATTERS_SHARE", "MIN_TRIALS_FOR_IMPORTANCE", "NOISE_PROBE",
    "ImportanceResult", "ParamImportance", "bootstrap_importance",
]

EVALUATORS = ("fanova", "ped-anova", "mdi")
"""Optuna evaluators: fANOVA (Hutter, Hoos & Leyton-Brown, ICML 2014; the default), PED-ANOVA
(Watanabe et al., IJCAI 2023) and mean decrease in impurity of a random forest (Breiman 2001)."""

DEFAULT_BOOTSTRAP = 100
"""Bootstrap resamples: 50-200 estimate a standard error well (Efron & Tibshirani, *An Introduction to
the Bootstrap*, 1993, §6.4); percentile ends at 90 % rest on 5 resamples per tail, enough to rank."""

BOOTSTRAP_TREES = 16
"""Trees of each resample's fANOVA / MDI forest (Optuna's default is 64 for the point estimate).
Fewer trees add forest noise to the bootstrap spread, which only widens the intervals; it makes
100 resamples of 40 trials take seconds instead of a minute."""

CONFIDENCE = 0.90
"""Level of the percentile intervals (two-sided; 5 % per tail, matching :data:`MATTERS_SHARE`)."""

MATTERS_SHARE = 0.95
"""A parameter matters when it beats the noise probe in at least this share of resamples (a one-sided
5 % bootstrap test)."""

MIN_TRIALS_FOR_IMPORTANCE = 10
"""Fewer completed trials do not support a forest of the objective (trialwise's choice; fANOVA's
authors fit on hundreds of evaluations)."""

NOISE_PROBE = "(noise)"
"""Name of the random reference parameter."""

READINGS = {
    ("high", True): "matters, as the prior expects",
    ("high", False): "no evidence it matters here although the prior says high: is its range too narrow "
                     "or the budget too small?",
    ("medium", True): "matters (prior: medium)",
    ("medium", False): "no evidence it matters (prior: medium)",
    ("low", True): "matters more than the prior expects (prior: low)",
    ("low", False): "no evidence it matters, as the prior expects",
    ("unknown", True): "matters (not in the prior table)",
    ("unknown", False): "no evidence it matters (not in the prior table)",
}
"""What the data says next to seed 004's prior sensitivity."""


@dataclass(frozen=True)
class ParamImportance(Record):
    """One parameter: importance on all trials, bootstrap interval, and the prior's view."""

    name: str
    importance: float
    ci_low: float
    ci_high: float
    above_noise: float
    matters: bool
    rank: int
    prior_row: str | None
    prior: str
    reading: str


@dataclass(frozen=True)
class ImportanceResult(Record):
    """Parameter importances (normalised to sum to 1 with the noise probe), ranked."""

    evaluator: str
    n_trials: int
    n_bootstrap: int
    confidence: float
    params: tuple[ParamImportance, ...]
    noise: tuple[float, float, float]
    sentence: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ranking(self) -> list[str]:
        return [p.name for p in self.params]


def _evaluator(name: str, seed: int, trees: int | None) -> Any:
    from optuna import importance as imp

    tree_kw = {} if trees is None else {"n_trees": trees}
    if name == "fanova":
        return imp.FanovaImportanceEvaluator(seed=seed, **tree_kw)
    if name == "ped-anova":
        return imp.PedAnovaImportanceEvaluator()
    if name == "mdi":
        return imp.MeanDecreaseImpurityImportanceEvaluator(seed=seed, **tree_kw)
    raise UsageError(f"--importance must be one of {', '.join(EVALUATORS)}, got '{name}'")


def _importances(rows: Sequence[Mapping[str, Any]], values: np.ndarray, noise: np.ndarray, dists: dict[str, Any],
                 direction: str, evaluator: Any) -> dict[str, float]:
    import optuna

    study = optuna.create_study(direction="maximize" if direction == "max" else "minimize")
    study.add_trials([
        optuna.trial.create_trial(params={**row, NOISE_PROBE: float(z)}, distributions=dists, value=float(v))
        for row, v, z in zip(rows, values, noise)
    ])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = optuna.importance.get_param_importances(study, evaluator=evaluator, normalize=True)
    return {k: float(v) for k, v in got.items()}


def bootstrap_importance(params: Sequence[Mapping[str, Any]], values: Sequence[float], space: Space, *,
                         direction: str = "max", evaluator: str = "fanova", n_bootstrap: int = DEFAULT_BOOTSTRAP,
                         confidence: float = CONFIDENCE, seed: int = 0) -> ImportanceResult:
    """Importance of each searched parameter with a bootstrap interval over trials.

    Parameters
    ----------
    params : sequence of mapping
        Each completed trial's parameter values.
    values : sequence of float
        Each trial's objective (non-finite trials are left out).
    space : Space
        The searched space (its distributions).
    direction : {"max", "min"}
    evaluator : {"fanova", "ped-anova", "mdi"}
    n_bootstrap : int
        Resamples of the trials.
    confidence : float
        Level of the percentile intervals.
    seed : int
        Seeds the resampling, the noise probe and the forests: same inputs, same result.

    Returns
    -------
    ImportanceResult
        Parameters ranked by importance on all trials; ``matters`` from the noise-probe test.

    Raises
    ------
    DataError
        Fewer than :data:`MIN_TRIALS_FOR_IMPORTANCE` usable trials.

    References
    ----------
    .. [1] F. Hutter, H. Hoos, K. Leyton-Brown, "An efficient approach for assessing hyperparameter
       importance", ICML 2014.
    .. [2] S. Watanabe, A. Bansal, F. Hutter, "PED-ANOVA: Efficiently quantifying hyperparameter
       importance in arbitrary subspaces", IJCAI 2023.
    .. [3] M. B. Kursa, W. R. Rudnicki, "Feature selection with the Boruta package", JSS 36(11), 2010.
    .. [4] B. Efron, R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall, 1993.
    """
    from optuna.distributions import FloatDistribution

    if evaluator not in EVALUATORS:
        raise UsageError(f"--importance must be one of {', '.join(EVALUATORS)}, got '{evaluator}'")
    if n_bootstrap < 1:
        raise UsageError(f"The 'n_bootstrap' parameter of bootstrap_importance must be at least 1. Got {n_bootstrap} instead.")
    names = space.names
    keep = [i for i, (p, v) in enumerate(zip(params, values))
            if v is not None and math.isfinite(v) and all(n in p and space.get(n).contains(p[n]) for n in names)]
    if len(keep) < MIN_TRIALS_FOR_IMPORTANCE:
        raise DataError(f"importance needs at least {MIN_TRIALS_FOR_IMPORTANCE} completed trials with a finite "
                        f"objective, this study has {len(keep)}: run more trials (raise --trials)")
    rows = [{n: params[i][n] for n in names} for i in keep]
    y = np.asarray([values[i] for i in keep], dtype=float)
    dists = {**space.distributions(), NOISE_PROBE: FloatDistribution(0.0, 1.0)}
    rng = np.random.default_rng(seed)
    with _quiet():
        return _bootstrap(rows, y, names, dists, rng, direction, evaluator, n_bootstrap, confidence, seed)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence Optuna's "A new study created in memory" line for each resample (restored after)."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def _bootstrap(rows: list[dict[str, Any]], y: np.ndarray, names: list[str], dists: dict[str, Any],
               rng: np.random.Generator, direction: str, evaluator: str, n_bootstrap: int, confidence: float,
               seed: int) -> ImportanceResult:
    n = len(rows)
    point = _importances(rows, y, rng.random(n), dists, direction, _evaluator(evaluator, seed, None))
    draws: dict[str, list[float]] = {k: [] for k in [*names, NOISE_PROBE]}
    beats = {k: 0 for k in names}
    done = 0
    for b in range(n_bootstrap):
        idx = rng.integers(0, n, n)
        noise = rng.random(n)
        try:
            got = _importances([rows[i] for i in idx], y[idx], noise, dists, direction,
                               _evaluator(evaluator, seed + 1 + b, BOOTSTRAP_TREES))
        except (ValueError, RuntimeError):
            continue  # a degenerate resample (e.g. one parameter constant): skip it
        done += 1
        for k in draws:
            draws[k].append(got.get(k, 0.0))
        for k in names:
            beats[k] += got.get(k, 0.0) > got.get(NOISE_PROBE, 0.0)
    if done == 0:
        raise DataError("every bootstrap resample of the trials was degenerate; run more trials")
    tail = (1 - confidence) / 2 * 100

    def ci(k: str) -> tuple[float, float]:
        lo, hi = np.percentile(draws[k], [tail, 100 - tail])
        return float(lo), float(hi)

    ranked = sorted(names, key=lambda k: -point.get(k, 0.0))
    out = []
    for rank, k in enumerate(ranked, 1):
        prior = match_prior(k)
        level = prior.row.sensitivity if prior else "unknown"
        matters = beats[k] / done >= MATTERS_SHARE
        lo, hi = ci(k)
        out.append(ParamImportance(k, point.get(k, 0.0), lo, hi, beats[k] / done, matters, rank,
                                   prior.row.label if prior else None, level, READINGS[(level, matters)]))
    nlo, nhi = ci(NOISE_PROBE)
    yes = [p.name for p in out if p.matters]
    no = [p.name for p in out if not p.matters]
    sentence = ((f"the data says {', '.join(yes)} matter{'s' if len(yes) == 1 else ''}" if yes
                 else "the data shows no parameter above a pure-noise parameter")
                + (f"; no evidence for {', '.join(no)}" if yes and no else "")
                + f" ({evaluator}, {n} trials, {done} bootstrap resamples)")
    notes = () if done == n_bootstrap else (f"{n_bootstrap - done} degenerate resample(s) skipped",)
    return ImportanceResult(evaluator, n, done, confidence, tuple(out), (point.get(NOISE_PROBE, 0.0), nlo, nhi),
                            sentence, notes)
