"""The distribution functions, tests and intervals of a plain ``compare``, without ``scipy.stats``.

Importing ``scipy.stats`` costs ≈ 0.5 s (it loads every distribution, ``scipy.optimize``,
``scipy.spatial``...), more than the rest of a ``compare``; ``scipy.special``, where those
distributions' numbers come from, costs a third of it.  Each function here computes what the
``scipy.stats`` call it names computes, with the same ``scipy.special`` functions and the same
floating-point operations in the same order, so the results are identical, not merely close
(``tests/stats/test_dist.py`` compares them bit for bit with ``scipy.stats`` / ``scipy.optimize``
on grids and random arms).  Anything else (Mann–Whitney, the paired t-test, other distributions)
still calls ``scipy.stats``, which is then imported.

Sources: SciPy 1.17 ``scipy/stats/_distn_infrastructure.py`` (``rv_continuous.sf/isf/ppf``),
``_continuous_distns.py`` (``t``, ``nct``, ``norm``), ``_stats_py.py`` (``ttest_ind``),
``_resampling.py`` (``bootstrap``), ``_quantile.py`` (``quantile``, method ``linear``) and
``scipy/optimize/Zeros/brentq.c`` (R. P. Brent, "Algorithms for Minimization without
Derivatives", 1973, ch. 4, as written for SciPy by C. Harris).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["bootstrap_interval", "brentq", "nct_cdf", "nct_sf", "norm_sf", "t_isf", "t_ppf", "ttest_ind"]

BRENTQ_RTOL = 4 * float(np.finfo(float).eps)
"""``scipy.optimize.brentq``'s default (and smallest allowed) relative tolerance."""

BRENTQ_MAXITER = 100
"""``scipy.optimize.brentq``'s default iteration limit."""


def _special() -> Any:
    import scipy.special

    return scipy.special


def _ufuncs() -> Any:
    import scipy.special._ufuncs

    return scipy.special._ufuncs


def _finish(output: np.ndarray) -> Any:
    return output[()] if output.ndim == 0 else output


def _quantile_fn(q: Any, df: Any, fn: Callable[[np.ndarray, np.ndarray], np.ndarray], at_one: float,
                 at_zero: float) -> Any:
    """``rv_continuous.ppf``/``isf`` of a distribution with support (-inf, inf) and shape ``df > 0``."""
    q, df = np.asarray(q), np.asarray(df)
    cond0 = df > 0
    cond1 = (0 < q) & (q < 1)
    cond = cond0 & cond1
    output = np.full(np.shape(cond), fill_value=np.nan)
    np.place(output, cond0 & (q == 1), at_one)
    np.place(output, cond0 & (q == 0), at_zero)
    if np.any(cond):
        qq, dd = (np.extract(cond, np.broadcast_to(a, cond.shape)) for a in (q, df))
        np.place(output, cond, fn(qq, dd) * np.float64(1.0) + np.float64(0.0))
    return _finish(output)


def t_ppf(q: Any, df: Any) -> Any:
    """``scipy.stats.t.ppf(q, df)``: ``stdtrit(df, q)`` where ``0 < q < 1`` and ``df > 0``."""
    return _quantile_fn(q, df, lambda qq, dd: _special().stdtrit(dd, qq), math.inf, -math.inf)


def t_isf(q: Any, df: Any) -> Any:
    """``scipy.stats.t.isf(q, df)``: ``-stdtrit(df, q)`` where ``0 < q < 1`` and ``df > 0``."""
    return _quantile_fn(q, df, lambda qq, dd: -_special().stdtrit(dd, qq), -math.inf, math.inf)


def _tail_fn(x: Any, df: Any, nc: Any, fn: Callable[..., np.ndarray], upper: bool) -> Any:
    """``rv_continuous.cdf`` (``upper=False``) / ``sf`` of the noncentral t (support (-inf, inf))."""
    x, df, nc = np.asarray(x), np.asarray(df), np.asarray(nc)
    dtyp = np.promote_types(x.dtype, np.float64)
    x = np.asarray((x - np.float64(0.0)) / np.float64(1.0), dtype=dtyp)
    cond0 = (df > 0) & (nc == nc)
    with np.errstate(invalid="ignore"):
        cond1 = (-np.inf < x) & (x < np.inf)
    edge = cond0 & (x <= -np.inf) if upper else (x >= np.inf) & cond0
    cond = cond0 & cond1
    output = np.zeros(np.shape(cond), dtyp)
    np.place(output, (1 - cond0) + np.isnan(x), np.nan)
    np.place(output, edge, 1.0)
    if np.any(cond):
        args = [np.extract(cond, np.broadcast_to(a, cond.shape)) for a in (x, df, nc)]
        np.place(output, cond, fn(*args))
    return _finish(output)


def nct_sf(x: Any, df: Any, nc: Any) -> Any:
    """``scipy.stats.nct.sf(x, df, nc)`` (Boost's noncentral t through ``scipy.special``)."""
    def sf(xx: np.ndarray, dd: np.ndarray, cc: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.clip(_ufuncs()._nct_sf(xx, dd, cc), 0, 1)

    return _tail_fn(x, df, nc, sf, upper=True)


def nct_cdf(x: Any, df: Any, nc: Any) -> Any:
    """``scipy.stats.nct.cdf(x, df, nc)``: ``nctdtr(df, nc, x)``."""
    return _tail_fn(x, df, nc, lambda xx, dd, cc: _special().nctdtr(dd, cc, xx), upper=False)


def norm_sf(z: Any) -> Any:
    """``scipy.stats.norm.sf(z)``: ``ndtr(-z)`` (NaN stays NaN, ±inf give 0 and 1)."""
    z = np.asarray(z)
    z = np.asarray((z - np.float64(0.0)) / np.float64(1.0), dtype=np.promote_types(z.dtype, np.float64))
    with np.errstate(invalid="ignore"):
        cond = (-np.inf < z) & (z < np.inf)
    output = np.zeros(np.shape(cond), z.dtype)
    np.place(output, np.isnan(z), np.nan)
    np.place(output, z <= -np.inf, 1.0)
    if np.any(cond):
        np.place(output, cond, _special().ndtr(-np.extract(cond, z)))
    return _finish(output)


def _var_ddof1(x: np.ndarray) -> np.ndarray:
    """``scipy.stats._stats_py._var(x, ddof=1)`` of a 1-d sample: mean squared deviation x n/(n-1)."""
    mean = np.mean(x, axis=0, keepdims=True)
    var = np.mean((x - mean) ** 2, axis=0)
    n = np.asarray(x.shape[0], dtype=x.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        var *= n / (n - 1)
    return var


def ttest_ind(a: Any, b: Any, equal_var: bool, alternative: str) -> tuple[float, float]:
    """Statistic and p-value of ``scipy.stats.ttest_ind(a, b, equal_var=..., alternative=...)`` for
    two 1-d samples of at least 2 finite values each (Welch's t when ``equal_var`` is false)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    n1, n2 = a.shape[0], b.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        v1, v2 = _var_ddof1(a), _var_ddof1(b)
    m1, m2 = np.mean(a, axis=0), np.mean(b, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if equal_var:
            v1 = np.where(np.asarray(n1 == 1), 0., v1)
            v2 = np.where(np.asarray(n2 == 1), 0., v2)
            df = n1 + n2 - 2.0
            svar = ((n1 - 1) * v1 + (n2 - 1) * v2) / df
            denom = np.sqrt(svar * (1.0 / n1 + 1.0 / n2))
            df = np.asarray(df, dtype=denom.dtype)
        else:
            vn1, vn2 = v1 / n1, v2 / n2
            df = (vn1 + vn2) ** 2 / (vn1 ** 2 / (n1 - 1) + vn2 ** 2 / (n2 - 1))
            df = np.where(np.isnan(df), 1., df)
            denom = np.sqrt(vn1 + vn2)
        t = np.divide(m1 - m2, denom)
    df = np.asarray(df, dtype=t.dtype)
    stdtr = _special().stdtr
    if alternative == "less":
        p = stdtr(df, t)
    elif alternative == "greater":
        p = stdtr(df, -t)
    else:
        p = 2 * stdtr(df, -np.abs(t))
    return float(t), float(p)


def _quantile_linear(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``scipy.stats.quantile(x, p, method="linear")`` of a 1-d ``x`` at the 1-d probabilities ``p``."""
    y = np.sort(x, axis=-1)
    if np.isnan(y).any():
        y = np.full_like(y, np.nan)
    n = np.asarray(y.shape[-1], dtype=y.dtype)
    p_mask = (p > 1) | (p < 0) | np.isnan(p)
    if np.any(p_mask):
        p = np.where(p_mask, 0.5, p)
    m = 1 - p
    jg = p * n + m
    jp1 = jg // 1
    j = jp1 - 1
    g = jg % 1
    g = np.where(j < 0, 0, g)
    j = np.clip(j, 0., n - 1)
    jp1 = np.clip(jp1, 0., n - 1)
    res = (1 - g) * y[j.astype(np.int64)] + g * y[jp1.astype(np.int64)]
    return np.where(p_mask, np.nan, res)


def _jackknife(sample: np.ndarray) -> np.ndarray:
    """Every leave-one-out resample of a 1-d sample, one per row (``_jackknife_resample``)."""
    n = sample.shape[-1]
    keep = np.ones((n, n), dtype=bool)
    np.fill_diagonal(keep, False)
    i = np.broadcast_to(np.arange(n), (n, n))[keep].reshape((n, n - 1))
    return sample[..., i]


def _bca_levels(data: Sequence[np.ndarray], statistic: Callable[..., np.ndarray], alpha: float,
                theta_hat_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.stats._resampling._bca_interval``: the BCa levels (Efron 1987; Efron & Tibshirani
    1993, 14.3 and eq. 15.36) of the bootstrap distribution ``theta_hat_b``."""
    ndtr, ndtri = _special().ndtr, _special().ndtri
    theta_hat = np.expand_dims(statistic(*data, axis=-1), axis=-1)
    below = np.count_nonzero(theta_hat_b < theta_hat, axis=-1) + np.count_nonzero(theta_hat_b <= theta_hat, axis=-1)
    percentile = np.asarray(below.astype(theta_hat.dtype) / (2 * theta_hat_b.shape[-1]), dtype=theta_hat.dtype)
    z0_hat = ndtri(percentile)
    theta_hat_ji = []
    for j, sample in enumerate(data):
        samples = [np.expand_dims(s, axis=-2) for s in data]
        samples[j] = _jackknife(sample)
        rows = samples[j].shape[0]
        broadcast = [s if k == j else np.broadcast_to(s, (rows, s.shape[-1])) for k, s in enumerate(samples)]
        theta_hat_ji.append(np.concatenate([statistic(*broadcast, axis=-1)], axis=-1))
    n_j = [float(t.shape[-1]) for t in theta_hat_ji]
    theta_hat_j_dot = [np.mean(t, axis=-1, keepdims=True) for t in theta_hat_ji]
    u_ji = [(n - 1) * (dot - t) for dot, t, n in zip(theta_hat_j_dot, theta_hat_ji, n_j)]
    nums = [np.sum(u ** 3, axis=-1) / n ** 3 for u, n in zip(u_ji, n_j)]
    dens = [np.sum(u ** 2, axis=-1) / n ** 2 for u, n in zip(u_ji, n_j)]
    a_hat = 1 / 6 * sum(nums) / sum(dens) ** (3 / 2)
    z_alpha = float(ndtri(alpha))
    z_1alpha = -z_alpha
    num1 = z0_hat + z_alpha
    alpha_1 = ndtr(z0_hat + num1 / (1 - a_hat * num1))
    num2 = z0_hat + z_1alpha
    alpha_2 = ndtr(z0_hat + num2 / (1 - a_hat * num2))
    return alpha_1, alpha_2


def bootstrap_interval(data: Sequence[np.ndarray], statistic: Callable[..., np.ndarray], *, n_resamples: int,
                       confidence_level: float, method: str, rng: Any) -> tuple[float, float]:
    """``scipy.stats.bootstrap(data, statistic, vectorized=True, method=method,
    confidence_level=confidence_level, n_resamples=n_resamples, rng=rng).confidence_interval``,
    two-sided, for 1-d samples of at least 2 values and a vectorised ``statistic(*samples, axis)``;
    ``method`` is ``"BCa"`` or ``"percentile"``.  A degenerate interval is NaN (scipy also warns)."""
    generator = np.random.default_rng(rng)
    data = [np.asarray(s) for s in data]
    resampled = [s[..., generator.integers(0, s.shape[-1], (n_resamples, s.shape[-1]), dtype="int64")]
                 for s in data]
    theta_hat_b = np.concatenate([statistic(*resampled, axis=-1)], axis=-1)
    alpha = (1 - float(confidence_level)) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        if method.lower() == "bca":
            levels: tuple[Any, Any] = _bca_levels(data, statistic, alpha, theta_hat_b)
        else:
            level = np.asarray(alpha, dtype=theta_hat_b.dtype)
            levels = (level, 1 - level)
        ci = _quantile_linear(theta_hat_b, np.stack(levels, axis=-1))
    return float(ci[..., 0]), float(ci[..., 1])


def brentq(f: Callable[[float], float], a: float, b: float, *, xtol: float = 2e-12, rtol: float = BRENTQ_RTOL,
           maxiter: int = BRENTQ_MAXITER) -> float:
    """``scipy.optimize.brentq(f, a, b, xtol=xtol, rtol=rtol, maxiter=maxiter)``: a root of ``f`` in
    ``[a, b]`` by Brent's method (inverse quadratic extrapolation, secant, bisection), step by step
    as SciPy's C implementation takes them, so the same root comes back.

    Raises ``ValueError`` when ``f(a)`` and ``f(b)`` have the same sign or ``f`` gives NaN, and
    ``RuntimeError`` when ``maxiter`` steps do not converge (as SciPy does)."""
    if xtol <= 0:
        raise ValueError(f"xtol too small ({xtol:g} <= 0)")
    if rtol < BRENTQ_RTOL:
        raise ValueError(f"rtol too small ({rtol:g} < {BRENTQ_RTOL:g})")

    def call(x: float) -> float:
        fx = float(f(x))
        if math.isnan(fx):
            raise ValueError(f"The function value at x={x} is NaN; solver cannot continue.")
        return fx

    xpre, xcur = float(a), float(b)
    xblk = fblk = spre = scur = 0.0
    fpre, fcur = call(xpre), call(xcur)
    if fpre * fcur > 0:
        raise ValueError("f(a) and f(b) must have different signs")
    if fpre == 0:
        return xpre
    if fcur == 0:
        return xcur
    for _ in range(maxiter):
        if fpre * fcur < 0:
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2
        sbis = (xblk - xcur) / 2
        if fcur == 0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # secant (linear interpolation)
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # inverse quadratic extrapolation
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2 * abs(stry) < min(abs(spre), 3 * abs(sbis) - delta):
                spre, scur = scur, stry  # a good short step
            else:
                spre = scur = sbis
        else:
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = call(xcur)
    raise RuntimeError(f"Failed to converge after {maxiter} iterations, value is {xcur}.")
