"""Holm–Bonferroni step-down correction for several comparisons made together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trialwise._exceptions import DataError
from trialwise.stats._common import Record, check_fraction

__all__ = ["HolmResult", "holm"]


@dataclass(frozen=True)
class HolmResult(Record):
    """Holm-adjusted p-values (in input order) and which hypotheses are rejected at ``alpha``."""

    p_values: tuple[float, ...]
    adjusted: tuple[float, ...]
    rejected: tuple[bool, ...]
    alpha: float


def holm(p_values: Sequence[float], alpha: float = 0.05) -> HolmResult:
    """Holm's step-down procedure: controls the family-wise error rate at ``alpha``.

    With ``m`` p-values sorted ascending, ``p_(i)`` is adjusted to
    ``max_{j <= i} min(1, (m - j + 1) p_(j))``; hypothesis ``i`` is rejected when its adjusted
    p-value is ``<= alpha``, which is exactly Holm's rule "reject while ``p_(i) <= alpha/(m-i+1)``".

    Parameters
    ----------
    p_values : sequence of float
        P-values in [0, 1], one per comparison.
    alpha : float
        Family-wise significance level.

    Returns
    -------
    HolmResult

    References
    ----------
    .. [1] S. Holm, "A simple sequentially rejective multiple test procedure",
       Scandinavian Journal of Statistics 6(2), 1979.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03], alpha=0.05).adjusted
    (0.03, 0.06, 0.06)
    """
    alpha = check_fraction(alpha, "alpha", "holm")
    p = np.asarray(list(p_values), dtype=float)
    if p.ndim != 1 or not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise DataError(f"The 'p_values' parameter of holm must be a list of p-values in [0, 1]. "
                        f"Got {list(p_values)!r} instead; drop comparisons without a p-value first.")
    m = p.size
    if m == 0:
        return HolmResult((), (), (), alpha)
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted_sorted = np.maximum.accumulate(stepped)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    adj = tuple(float(x) for x in adjusted)
    return HolmResult(tuple(float(x) for x in p), adj, tuple(bool(x <= alpha) for x in adj), alpha)


