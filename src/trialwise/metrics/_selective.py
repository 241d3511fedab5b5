"""Selective classification: risk-coverage curve, AURC, and the SGR threshold with a risk guarantee.

A model that may abstain answers only inputs whose confidence clears a threshold; coverage is the
share it answers and (selective) risk the error rate on those (seed 003: "it is possible to trade
coverage for accuracy").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialwise.metrics._common import Record, as_bool, as_scores, check_fraction, check_same_length, fmt_pct

__all__ = ["RiskCoverage", "SelectiveThreshold", "aurc", "risk_coverage_curve", "selective_threshold"]

DEFAULT_DELTA = 0.001
"""Probability that the SGR guarantee fails (Geifman & El-Yaniv, NeurIPS 2017, use 0.001)."""


@dataclass(frozen=True, eq=False)
class RiskCoverage(Record):
    """Selective risk at every distinct confidence threshold, most confident first.

    ``coverage[i]`` and ``risk[i]`` hold when answering inputs with ``confidence >= thresholds[i]``.
    """

    thresholds: np.ndarray
    coverage: np.ndarray
    risk: np.ndarray
    aurc: float
    e_aurc: float
    error_rate: float
    n: int


def _sorted_desc(confidence: Any, correct: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    c = as_scores(confidence, "confidence", where, ndim=(1,))
    ok = as_bool(correct, "correct", where)
    check_same_length(where, confidence=c, correct=ok)
    order = np.argsort(-c, kind="stable")
    return c[order], ~ok[order]


def _expected_cum_errors(c_sorted: np.ndarray, wrong_sorted: np.ndarray) -> np.ndarray:
    """Errors among the top ``i`` (i = 1..n), averaged over the orderings of tied confidences."""
    n = len(c_sorted)
    starts = np.concatenate([[0], np.nonzero(np.diff(c_sorted))[0] + 1])
    ends = np.concatenate([starts[1:], [n]])
    sizes = ends - starts
    group_err = np.add.reduceat(wrong_sorted.astype(np.float64), starts)
    before = np.concatenate([[0.0], np.cumsum(group_err)[:-1]])
    gid = np.repeat(np.arange(len(starts)), sizes)
    pos_in_group = np.arange(n) - starts[gid] + 1
    return before[gid] + pos_in_group * group_err[gid] / sizes[gid]


def _aurc_from_cum(cum_err: np.ndarray) -> float:
    return float(np.mean(cum_err / np.arange(1, len(cum_err) + 1)))


def _optimal_aurc(n: int, n_err: int) -> float:
    """AURC of a confidence that ranks every correct example above every error."""
    i = np.arange(1, n + 1)
    return float(np.mean(np.maximum(0, i - (n - n_err)) / i))


def aurc(confidence: Any, correct: Any) -> float:
    """Area under the risk-coverage curve (lower is better).

    The mean over ``i = 1..n`` of the error rate among the ``i`` most confident examples; ties in
    confidence count at their expected value over orderings, so the result does not depend on
    input order.

    Parameters
    ----------
    confidence : array-like of shape (n,)
        Confidence of each prediction (e.g. max softmax probability); higher answers first.
    correct : array-like of shape (n,)
        Whether each prediction is right.

    Returns
    -------
    float

    References
    ----------
    .. [1] Y. Geifman, G. Uziel, R. El-Yaniv, "Bias-reduced uncertainty estimation for deep neural
       classifiers", ICLR 2019 (AURC, E-AURC).
    """
    c, wrong = _sorted_desc(confidence, correct, "aurc")
    return _aurc_from_cum(_expected_cum_errors(c, wrong))


def risk_coverage_curve(confidence: Any, correct: Any) -> RiskCoverage:
    """Risk-coverage curve, AURC and excess AURC (E-AURC = AURC - AURC of a perfect ranking).

    E-AURC removes the part of AURC due to the error rate itself, so it compares the confidence
    ranking of models with different accuracies. The optimum is computed exactly for the sample
    (Geifman et al. give its continuous approximation ``r + (1 - r) ln(1 - r)``).

    Parameters
    ----------
    confidence, correct
        As :func:`aurc`.

    Returns
    -------
    RiskCoverage

    References
    ----------
    .. [1] Y. Geifman, G. Uziel, R. El-Yaniv, ICLR 2019.
    .. [2] R. El-Yaniv, Y. Wiener, "On the foundations of noise-free selective classification",
       JMLR 11, 2010 (risk-coverage curve).
    """
    c, wrong = _sorted_desc(confidence, correct, "risk_coverage_curve")
    n = len(c)
    ends = np.concatenate([np.nonzero(np.diff(c))[0], [n - 1]])
    cum = np.cumsum(wrong)[ends]
    covered = ends + 1
    value = _aurc_from_cum(_expected_cum_errors(c, wrong))
    n_err = int(wrong.sum())
    return RiskCoverage(thresholds=c[ends], coverage=covered / n, risk=cum / covered, aurc=value,
                        e_aurc=value - _optimal_aurc(n, n_err), error_rate=n_err / n, n=n)


def _bin_tail_bound(errors: int, m: int, delta: float) -> float:
    """Geifman & El-Yaniv's B*: the ``b`` with ``sum_{j<=errors} C(m,j) b^j (1-b)^(m-j) = delta``.

    The true risk exceeds it with probability below ``delta`` (one-sided Clopper-Pearson bound).
    """
    from scipy.special import betaincinv

    if errors >= m:
        return 1.0
    return float(betaincinv(errors + 1, m - errors, 1.0 - delta))


@dataclass(frozen=True)
class SelectiveThreshold(Record):
    """A confidence threshold with a high-probability risk guarantee (SGR) and the plain empirical one."""

    found: bool
    threshold: float | None
    coverage: float
    accuracy: float
    risk_bound: float
    target_accuracy: float
    delta: float
    empirical_threshold: float | None
    empirical_coverage: float
    empirical_accuracy: float
    n: int
    n_tests: int
    message: str


def selective_threshold(confidence: Any, correct: Any, target_accuracy: float,
                        delta: float = DEFAULT_DELTA) -> SelectiveThreshold:
    """Selection with guaranteed risk (SGR): answer only confident inputs, keep risk <= target w.p. 1-delta.

    Binary search over the sorted confidences (``ceil(log2 n)`` steps); each candidate threshold
    gets the binomial-tail bound ``B*`` on its selective risk at level ``delta / ceil(log2 n)``
    (union bound over the tests); the search moves towards more coverage while the bound stays
    below the target risk ``1 - target_accuracy``. Returned is the tested threshold with the
    largest coverage whose bound is below the target (the paper returns the last one tested, which
    can miss the target; any tested candidate is covered by the same union bound).

    The guarantee holds for new data from the distribution ``confidence``/``correct`` came from;
    they must be held out from training (a validation or calibration split).

    Parameters
    ----------
    confidence : array-like of shape (n,)
        Confidence of each prediction; higher is answered first.
    correct : array-like of shape (n,)
        Whether each prediction is right.
    target_accuracy : float
        Desired accuracy on answered inputs, in (0, 1).
    delta : float
        Allowed probability that the true selective risk exceeds the target.

    Returns
    -------
    SelectiveThreshold
        ``threshold`` (answer when ``confidence >= threshold``), coverage and accuracy on this sample,
        ``risk_bound``, the plain empirical threshold with the most coverage at ``target_accuracy``
        (no guarantee), and a sentence such as "answer 72% of inputs at 99.1% accuracy (risk ≤ 1.0%
        with probability 99.9%)".

    References
    ----------
    .. [1] Y. Geifman, R. El-Yaniv, "Selective classification for deep neural networks",
       NeurIPS 2017, Algorithm 1 (SGR) and Lemma 3.1 (binomial tail bound).
    """
    where = "selective_threshold"
    target_acc = check_fraction(target_accuracy, "target_accuracy", where)
    delta = check_fraction(delta, "delta", where)
    c, wrong = _sorted_desc(confidence, correct, where)
    n = len(c)
    r_star = 1.0 - target_acc
    asc = c[::-1]
    wrong_asc = wrong[::-1]
    suffix_err = np.concatenate([np.cumsum(wrong_asc[::-1])[::-1], [0]])  # errors among asc[z:]
    n_tests = max(1, math.ceil(math.log2(n))) if n > 1 else 1
    delta_i = delta / n_tests
    z_min, z_max = 0, n - 1
    best: tuple[float, int, int, float] | None = None  # threshold, covered, errors, bound
    tightest: tuple[float, float] | None = None  # bound, coverage
    for _ in range(n_tests):
        z = math.ceil((z_min + z_max) / 2)
        theta = float(asc[z])
        first = int(np.searchsorted(asc, theta, side="left"))  # ties with theta are answered too
        covered, errors = n - first, int(suffix_err[first])
        bound = _bin_tail_bound(errors, covered, delta_i)
        if tightest is None or bound < tightest[0]:
            tightest = (bound, covered / n)
        if bound < r_star:
            if best is None or covered > best[1]:
                best = (theta, covered, errors, bound)
            z_max = z
        else:
            z_min = z

    # plain empirical choice: the largest coverage whose accuracy on answered inputs meets the target
    ends = np.concatenate([np.nonzero(np.diff(c))[0], [n - 1]])
    acc = 1.0 - np.cumsum(wrong)[ends] / (ends + 1)
    ok = np.nonzero(acc >= target_acc)[0]
    if len(ok):
        j = ok[-1]
        emp = (float(c[ends[j]]), float((ends[j] + 1) / n), float(acc[j]))
    else:
        emp = (None, 0.0, math.nan)

    prob = fmt_pct(1 - delta, rounding="down")
    if best is None:
        assert tightest is not None
        message = (f"no threshold guarantees {fmt_pct(target_acc)} accuracy with probability {prob} from "
                   f"these {n} examples (tightest bound tested: risk ≤ {fmt_pct(tightest[0], rounding='up')} "
                   f"at {fmt_pct(tightest[1], 0)} coverage); use more held-out examples or a lower target")
        return SelectiveThreshold(False, None, 0.0, math.nan, tightest[0], target_acc, delta, *emp, n, n_tests,
                                  message)
    theta, covered, errors, bound = best
    accuracy = 1.0 - errors / covered
    message = (f"answer {fmt_pct(covered / n, 0)} of inputs at {fmt_pct(accuracy)} accuracy "
               f"(risk ≤ {fmt_pct(bound, rounding='up')} with probability {prob}); "
               f"threshold: confidence >= {theta:.4g}")
    return SelectiveThreshold(True, theta, covered / n, accuracy, bound, target_acc, delta, *emp, n, n_tests,
                              message)
