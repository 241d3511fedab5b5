"""How much data: learning-curve fits, seed 000's heuristics and PAC sample-size bounds.

- :func:`fit_learning_curve` fits ``err(n) = a * n**b + c`` (Hestness et al. 2017) with a bootstrap
  over seeds; :func:`extrapolate_size` inverts it for a goal, with an interval and how far it reaches
  beyond the data (Mahmood et al., CVPR 2022: such fits misjudge; collect in rounds and re-fit).
- :func:`data_heuristics`: "1000 examples per class", "10x the degrees of freedom" (seed 000).
- :func:`pac_finite`, :func:`pac_vc`: the two PAC bounds of seed 000, with its caveats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trialwise._exceptions import DataError, UsageError
from trialwise.metrics._common import Record

__all__ = [
    "DataHeuristics", "PacBound", "PowerLawFit", "SizeEstimate", "data_heuristics", "extrapolate_size",
    "fit_learning_curve", "pac_finite", "pac_vc",
]

EXAMPLES_PER_CLASS = 1000
"""Seed 000 (Torok, "Deep Learning Antipatterns", 2022): heuristic "1000 examples per class"."""

DOF_FACTOR = 10
"""Seed 000: heuristic "10x the degrees of freedom"."""

MIN_SIZES = 3
"""A three-parameter curve needs at least three distinct training-set sizes."""

B_BOUNDS = (-3.0, 0.0)
"""Exponent range of the fit.  Hestness et al. (2017) measure -0.07 to -0.35 for generalization error;
-0.5 is the classical parametric rate; -3 leaves room without letting the fit run away."""

COLLECTION_ROUNDS = 5
"""Mahmood et al. (CVPR 2022) recommend collecting over multiple (e.g. five) rounds, re-fitting after
each: the next round goes ``(n_needed / n_max) ** (1 / rounds)`` of the way (geometrically)."""

FAR_EXTRAPOLATION = 2.0
"""An estimate beyond this multiple of the largest measured size is flagged as far.  *trialwise*:
Mahmood et al. show single-shot estimates from 10% of ImageNet missing by large factors."""

MAHMOOD_CAVEAT = (
    "Mahmood et al. (CVPR 2022, 'How Much More Data Do I Need?') found that power-law fits of the learning "
    "curve can badly misjudge the data needed to reach a target: collect in rounds (e.g. five), re-fit after "
    "each, and aim slightly past the goal (their correction factor)."
)

PAC_CAVEATS = (
    "Depends on 'only' model complexity, error and failure rate: nothing about data selection or presentation, "
    "nothing about inductive bias (CNN vs fully connected) (seed 000).",
    "A worst-case bound for any distribution; for neural networks |H| and the VC dimension are huge, so the bound "
    "is usually vacuous - yet networks train on far less (seed 000: 500 MNIST samples gave 91.13% accuracy "
    "after structure optimization, D'souza et al. 2020).",
    "Assumes i.i.d. examples from the distribution the model will meet.",
)


def _power(n: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a * np.power(n, b) + c


@dataclass(frozen=True)
class PowerLawFit(Record):
    """``err(n) = a * n**b + c`` with bootstrap percentile intervals (``confidence``)."""

    a: float
    b: float
    c: float
    a_interval: tuple[float, float]
    b_interval: tuple[float, float]
    c_interval: tuple[float, float]
    confidence: float
    n_points: int
    sizes: tuple[float, ...]
    n_max: float
    residual_sd: float
    n_boot: int
    resampling: str
    boot: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.empty((0, 3)))

    def predict(self, n: Any) -> np.ndarray:
        """Fitted error at training-set size(s) ``n``."""
        return _power(np.asarray(n, dtype=float), self.a, self.b, self.c)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.pop("boot", None)
        return d


@dataclass(frozen=True)
class SizeEstimate(Record):
    """The training-set size that reaches ``goal`` on the fitted curve, with an interval."""

    goal: float
    n_needed: float
    interval: tuple[float, float]
    confidence: float
    reachable: bool
    extrapolation: float
    next_round: float
    caveats: tuple[str, ...]
    verdict: str


@dataclass(frozen=True)
class DataHeuristics(Record):
    """Seed 000's rules of thumb, and how the available data compare."""

    per_class_rule: int | None
    dof_rule: int | None
    n_examples: int | None
    enough: dict[str, bool]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class PacBound(Record):
    """A PAC sample-size bound ``m`` for error ``epsilon`` with probability ``1 - delta``."""

    m: int
    formula: str
    epsilon: float
    delta: float
    complexity: float
    caveats: tuple[str, ...]


def _fit_once(n: np.ndarray, err: np.ndarray) -> tuple[float, float, float]:
    from scipy.optimize import curve_fit

    scale = float(n.max())
    x = n / scale
    lo_c = 0.0
    hi_c = max(float(err.min()), 1e-12)
    c0 = 0.5 * hi_c
    y0 = np.clip(err - c0, 1e-12, None)
    b0, log_a0 = np.polyfit(np.log(x), np.log(y0), 1)
    b0 = float(np.clip(b0, B_BOUNDS[0] + 1e-3, B_BOUNDS[1] - 1e-3))
    a0 = float(max(math.exp(log_a0), 1e-12))
    popt, _ = curve_fit(_power, x, err, p0=(a0, b0, c0), bounds=([0.0, B_BOUNDS[0], lo_c], [np.inf, B_BOUNDS[1], hi_c]),
                        maxfev=20000)
    a_s, b, c = (float(v) for v in popt)
    return a_s * scale ** (-b), b, c


def fit_learning_curve(n: Any, err: Any, seeds: Any = None, *, n_boot: int = 400, confidence: float = 0.9,
                       random_state: int = 0) -> PowerLawFit:
    """Fit ``err ≈ a·n^b + c`` to measured errors at training-set sizes ``n``.

    Parameters
    ----------
    n, err : array-like
        Training-set size and the error measured there, one entry per (size, seed) run.
    seeds : array-like, optional
        The seed of each entry: the bootstrap then resamples whole seeds (their curves stay
        together).  Without seeds it resamples runs within each size, or residuals when every size
        was measured once.
    n_boot : int
        Bootstrap resamples for the intervals.
    confidence : float
        Level of the percentile intervals.
    random_state : int
        Seed of the bootstrap.

    Returns
    -------
    PowerLawFit

    References
    ----------
    .. [1] Hestness et al., "Deep Learning Scaling is Predictable, Empirically", arXiv:1712.00409, 2017.
    .. [2] Efron & Tibshirani, "An Introduction to the Bootstrap", 1993 (percentile intervals).
    """
    x = np.asarray(n, dtype=float).ravel()
    y = np.asarray(err, dtype=float).ravel()
    if x.shape != y.shape or not len(x):
        raise DataError(f"fit_learning_curve needs one error per size. Got {x.shape[0]} sizes and {y.shape[0]} errors.")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or np.any(x <= 0) or np.any(y < 0):
        raise DataError("fit_learning_curve needs positive, finite sizes and finite, non-negative errors.")
    sizes = np.unique(x)
    if len(sizes) < MIN_SIZES:
        raise UsageError(f"fit_learning_curve needs at least {MIN_SIZES} distinct training-set sizes. Got "
                         f"{len(sizes)} ({sizes.tolist()}); train on more subsets (e.g. 10%, 25%, 50%, 100%).")
    if not 0 < confidence < 1:
        raise UsageError(f"The 'confidence' parameter of fit_learning_curve must be in (0, 1). Got {confidence!r}.")
    s = None if seeds is None else np.asarray(seeds).ravel()
    if s is not None and s.shape != x.shape:
        raise DataError(f"fit_learning_curve: 'seeds' must have one entry per size. Got {s.shape[0]} for {x.shape[0]}.")
    a, b, c = _fit_once(x, y)
    resid = y - _power(x, a, b, c)
    rng = np.random.default_rng(random_state)
    boots: list[tuple[float, float, float]] = []
    if s is not None and len(np.unique(s)) > 1:
        how = "seeds"
        groups = [np.nonzero(s == u)[0] for u in np.unique(s)]
        draw = lambda: np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])  # noqa: E731
    elif len(x) > len(sizes):
        how = "runs within each size"
        strata = [np.nonzero(x == u)[0] for u in sizes]
        draw = lambda: np.concatenate([rng.choice(ix, len(ix)) for ix in strata])  # noqa: E731
    else:
        how = "residuals"
        draw = None
    fitted = _power(x, a, b, c)
    for _ in range(max(0, int(n_boot))):
        if draw is None:
            xb, yb = x, np.clip(fitted + rng.choice(resid, len(resid)), 0.0, None)
        else:
            idx = draw()
            xb, yb = x[idx], y[idx]
        if len(np.unique(xb)) < MIN_SIZES:
            continue
        try:
            boots.append(_fit_once(xb, yb))
        except (RuntimeError, ValueError):
            continue
    boot = np.array(boots) if boots else np.empty((0, 3))
    lo, hi = 100 * (1 - confidence) / 2, 100 * (1 + confidence) / 2

    def ci(j: int, point: float) -> tuple[float, float]:
        if not len(boot):
            return (point, point)
        return float(np.percentile(boot[:, j], lo)), float(np.percentile(boot[:, j], hi))

    dof = max(1, len(x) - 3)
    return PowerLawFit(a, b, c, ci(0, a), ci(1, b), ci(2, c), float(confidence), len(x), tuple(float(v) for v in sizes),
                       float(sizes.max()), float(math.sqrt(float(np.sum(resid ** 2)) / dof)), len(boot), how, boot)


def _needed(a: float, b: float, c: float, goal: float) -> float:
    if goal <= c or a <= 0 or b >= 0:
        return math.inf
    return float(((goal - c) / a) ** (1.0 / b))


def extrapolate_size(fit: PowerLawFit, goal: float) -> SizeEstimate:
    """The training-set size at which the fitted error reaches ``goal``, with a bootstrap interval.

    ``extrapolation`` is ``n_needed / n_max``: how far beyond the largest measured size the answer
    reaches (1 or less: interpolation).  ``next_round`` is the size to collect next when going there
    in :data:`COLLECTION_ROUNDS` geometric rounds.

    References
    ----------
    .. [1] Mahmood et al., "How Much More Data Do I Need? Estimating Requirements for Downstream
       Tasks", CVPR 2022.
    .. [2] Hestness et al., "Deep Learning Scaling is Predictable, Empirically", 2017.
    """
    if not (isinstance(goal, (int, float)) and math.isfinite(goal) and goal >= 0):
        raise UsageError(f"The 'goal' parameter of extrapolate_size must be a finite error >= 0. Got {goal!r} instead.")
    need = _needed(fit.a, fit.b, fit.c, float(goal))
    if len(fit.boot):
        ns = np.array([_needed(a, b, c, float(goal)) for a, b, c in fit.boot])
        lo_q, hi_q = (1 - fit.confidence) / 2, (1 + fit.confidence) / 2
        interval = (float(np.quantile(ns, lo_q, method="lower")), float(np.quantile(ns, hi_q, method="higher")))
    else:
        interval = (need, need)
    reachable = math.isfinite(need)
    extrapolation = need / fit.n_max if reachable else math.inf
    caveats = [MAHMOOD_CAVEAT]
    if not reachable:
        verdict = (f"the fitted floor c = {fit.c:.4g} is at or above the goal {goal:g}: more data of the same kind "
                   f"is not predicted to reach it; change the model or the data")
        next_round = math.inf
    elif need <= fit.n_max:
        verdict = f"the goal {goal:g} is reached at about n = {need:.0f}, within the measured sizes"
        next_round = need
    else:
        next_round = float(fit.n_max * extrapolation ** (1.0 / COLLECTION_ROUNDS))
        verdict = (f"about n = {need:.0f} ({extrapolation:.1f}x the largest measured n = {fit.n_max:.0f}); "
                   f"interval {interval[0]:.0f} to {interval[1]:.4g}; collect to about {next_round:.0f} next and "
                   f"re-fit")
        if extrapolation > FAR_EXTRAPOLATION:
            caveats.append(f"this extrapolates {extrapolation:.1f}x beyond the largest measured size; treat it as a "
                           f"rough order of magnitude")
    if math.isinf(interval[1]) and reachable:
        caveats.append("in part of the bootstrap the goal is unreachable (the upper bound is infinite)")
    return SizeEstimate(float(goal), need, interval, fit.confidence, reachable, extrapolation, next_round,
                        tuple(caveats), verdict)


def data_heuristics(*, n_classes: int | None = None, degrees_of_freedom: int | None = None,
                    n_examples: int | None = None) -> DataHeuristics:
    """Seed 000's rules of thumb: 1000 examples per class; 10x the degrees of freedom.

    ``degrees_of_freedom`` is typically the number of trainable parameters (for which the rule is
    very demanding: a reminder that heuristics disagree, not a requirement).

    References
    ----------
    .. [1] Seed 000: Torok, "Deep Learning Antipatterns", Budapest ML Forum 2022 ("What's big enough data?").
    """
    for name, v in (("n_classes", n_classes), ("degrees_of_freedom", degrees_of_freedom), ("n_examples", n_examples)):
        if v is not None and (not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1):
            raise UsageError(f"The '{name}' parameter of data_heuristics must be a positive integer. "
                             f"Got {v!r} instead.")
    per_class = EXAMPLES_PER_CLASS * int(n_classes) if n_classes else None
    dof = DOF_FACTOR * int(degrees_of_freedom) if degrees_of_freedom else None
    enough: dict[str, bool] = {}
    notes = ["Heuristics, not guarantees: the need also depends on the model's inductive bias, the problem's "
             "complexity and how the data are selected and presented (seed 000)."]
    if n_examples is not None:
        if per_class is not None:
            enough["per_class"] = n_examples >= per_class
        if dof is not None:
            enough["dof"] = n_examples >= dof
    if per_class is None and dof is None:
        notes.append("give n_classes and/or degrees_of_freedom to get a number")
    notes.append("Measure instead when you can: a learning curve over training-set sizes (fit_learning_curve).")
    return DataHeuristics(per_class, dof, n_examples, enough, tuple(notes))


def _check_eps_delta(epsilon: float, delta: float, where: str) -> None:
    for name, v in (("epsilon", epsilon), ("delta", delta)):
        if not (isinstance(v, (int, float)) and 0 < v < 1):
            raise UsageError(f"The '{name}' parameter of {where} must be in (0, 1). Got {v!r} instead.")


def pac_finite(epsilon: float, delta: float, *, n_hypotheses: float | None = None,
               ln_hypotheses: float | None = None) -> PacBound:
    """Sample size for a consistent learner over a finite class: m >= (1/ε)(ln|H| + ln(1/δ)).

    Give ``n_hypotheses`` (|H|) or, for huge classes, ``ln_hypotheses`` (e.g. a network with P
    32-bit parameters: ``ln_hypotheses = 32 * P * ln 2``).

    Examples
    --------
    >>> pac_finite(0.1, 0.05, n_hypotheses=1000).m
    100

    References
    ----------
    .. [1] Seed 000, after Littman & Isbell, "Computational Learning Theory" (Udacity).
    .. [2] Haussler, "Quantifying inductive bias", Artificial Intelligence 1988; Mitchell, *Machine
       Learning*, 1997, eq. 7.2.
    """
    _check_eps_delta(epsilon, delta, "pac_finite")
    if (n_hypotheses is None) == (ln_hypotheses is None):
        raise UsageError("pac_finite needs exactly one of n_hypotheses (|H|) or ln_hypotheses (ln |H|).")
    if n_hypotheses is not None:
        if not n_hypotheses >= 1:
            raise UsageError(f"The 'n_hypotheses' parameter of pac_finite must be >= 1. Got {n_hypotheses!r} instead.")
        ln_h = math.log(n_hypotheses)
    else:
        ln_h = float(ln_hypotheses)  # type: ignore[arg-type]
        if not (math.isfinite(ln_h) and ln_h >= 0):
            raise UsageError(f"The 'ln_hypotheses' parameter of pac_finite must be >= 0. "
                             f"Got {ln_hypotheses!r} instead.")
    m = (ln_h + math.log(1 / delta)) / epsilon
    return PacBound(int(math.ceil(m - 1e-9)), "m >= (1/eps) (ln|H| + ln(1/delta))", float(epsilon), float(delta), ln_h,
                    PAC_CAVEATS + ("Assumes the class contains a hypothesis with zero training error (realizable).",))


def pac_vc(epsilon: float, delta: float, vc_dim: float) -> PacBound:
    """Sample size from the VC dimension: m >= (1/ε)(8·VC·log2(13/ε) + 4·log2(2/δ)).

    Examples
    --------
    >>> pac_vc(0.1, 0.05, 3).m
    1899

    References
    ----------
    .. [1] Seed 000, after Littman & Isbell, "Computational Learning Theory" (Udacity).
    .. [2] Blumer, Ehrenfeucht, Haussler & Warmuth, "Learnability and the Vapnik-Chervonenkis
       dimension", JACM 1989; Mitchell, *Machine Learning*, 1997, eq. 7.7.
    """
    _check_eps_delta(epsilon, delta, "pac_vc")
    if not (isinstance(vc_dim, (int, float)) and math.isfinite(vc_dim) and vc_dim >= 0):
        raise UsageError(f"The 'vc_dim' parameter of pac_vc must be a finite number >= 0. Got {vc_dim!r} instead.")
    m = (8 * vc_dim * math.log2(13 / epsilon) + 4 * math.log2(2 / delta)) / epsilon
    return PacBound(int(math.ceil(m - 1e-9)), "m >= (1/eps) (8 VC(H) log2(13/eps) + 4 log2(2/delta))", float(epsilon),
                    float(delta), float(vc_dim), PAC_CAVEATS)
