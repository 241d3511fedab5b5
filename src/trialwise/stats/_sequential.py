"""Group-sequential Welch test for ``compare --until-decided``: add seeds in rounds, stop early.

Design (Jennison & Turnbull 2000, ch. 7 and 11):

* Looks at ``min_seeds, min_seeds + round_size, ..., max_seeds`` seeds per arm (default: after
  every seed, 3 to 20); information fraction ``t_k = n_k / n_K``.
* At each look the oriented Welch t (positive = B better) is mapped to the normal scale through
  its own t distribution, ``z = Φ⁻¹(F_t(t; ν_Welch))`` (the "significance level approach",
  Jennison & Turnbull 2000, §11.4), so a z boundary is a nominal p-value boundary.
* Efficacy boundaries spend α with the Lan–DeMets O'Brien–Fleming-type function
  ``α(t) = 2 − 2Φ(z_{1−α/2} / √t)`` (Lan & DeMets 1983): almost nothing at 3 seeds, nearly the
  whole α at the end. They are *calibrated by Monte-Carlo simulation of the Welch t statistics
  themselves* (fixed seed, 100 000 paths at each of the sd ratios 1, 2 and 5 between the arms,
  keeping the largest boundary): at a handful of seeds the joint law of the transformed
  statistics is not the multivariate normal of the z-theory, plain z boundaries applied to t
  statistics are anti-conservative, and the Welch approximation is slightly liberal in the far
  tails when variances differ (tests/stats prove all three). By default the efficacy boundaries
  ignore futility (non-binding): type I error <= α even when a user continues past a futility
  stop; ``binding_futility=True`` recalibrates them on the null paths futility has not stopped.
* Futility boundaries spend β = 1 − power under the design effect with a Hwang–Shih–DeCani
  function ``β(t) = β (1 − e^{−γt}) / (1 − e^{−γ})`` (Hwang, Shih & DeCani 1990; β-spending of
  Pampallona, Tsiatis & Kim 2001), the two boundaries meeting at the last look. ``γ`` is the most
  aggressive value (largest) that still gives the target power within ``max_seeds``; in every
  design we searched this also minimised the expected seeds at the design effect.

Why these choices, and what is attainable (two-sided α = 0.05, 80 % power at d = 1, fixed-n Welch
needs 17 seeds per arm; simulated, 40 000 paths per design, γ_β re-tuned for 80 % power each time;
"saved" = 1 − E[seeds per arm at d = 1] / 17):

=============================================  ================  ==========  =========
design (looks after every seed from 3)         max seeds         saved d=1   saved d=0
=============================================  ================  ==========  =========
O'Brien–Fleming-type α, non-binding (default)  20                20 %        29 %
same, binding futility                         20                22 %        33 %
same, looks every 2 seeds (previous default)   20                19 %        29 %
HSD α-spending γ = −2 … −6, non-binding        20                15–19 %     23–31 %
HSD γ >= −1 (towards Pocock, γ = 1)            20                cannot reach 80 % power
O'Brien–Fleming-type / HSD γ = 0 / γ = 1       23–30             10–19 %     25–37 %
best binding design with a larger maximum      22–30             <= 22 %     <= 40 %
known variance (z-test), best HSD pair         26                34 %        37 %
Wald's SPRT, known variance, continuous looks  unbounded         42 %        —
=============================================  ================  ==========  =========

So the issue's target of 40 % fewer seeds at d = 1 is **not attainable** with a valid test on
Welch t statistics: even with the variance known, looks after every seed and no cap, Wald's SPRT
— which minimises the expected sample size at both hypotheses among all tests with the same error
rates (Wald & Wolfowitz 1948) — needs ≈ 0.63 of the fixed-n z-test's 15.7 seeds, ≈ 9.8 per arm,
i.e. 42 % fewer than the t-test's 17; group looks, a cap and, above all, estimating the variance
from 3–15 seeds (a t boundary at a one-sided nominal p of 0.01 with 10 dof is 19 % further out than the z
boundary) leave about 20 %. Pocock-like spending spends α at 3–6 seeds where the t statistic has
almost no power, so it needs a larger maximum, and a larger maximum buys earlier futility stops
(d = 0) but not fewer seeds at d = 1. What the default saves (``benchmarks/bench_sequential.py``):
≈ 29 % with no effect, ≈ 20 % at d = 0.5 and ≈ 20 % at d = 1 (power 0.80), with type I error
≈ 0.042–0.045 (<= α at arm std ratios 1 to 5); a one-sided design saves ≈ 52 % with no effect.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trialwise._exceptions import UsageError
from trialwise.stats._common import (
    ALTERNATIVES,
    DIRECTIONS,
    TARGET_POWER,
    Record,
    Verdict,
    check_choice,
    check_fraction,
    decimals_for,
    fmt_num,
    orientation,
    seed_values,
)
from trialwise.stats._power import n_per_arm

__all__ = ["SequentialDesign", "SequentialState", "sequential_design", "sequential_step"]

CALIBRATION_SIMULATIONS = 100_000
"""Simulated paths per calibration scenario: the Monte-Carlo standard error of the calibrated
type I error is √(α(1−α)/M) ≈ 0.0007 at α = 0.05."""

CALIBRATION_SEED = 20_010_605
"""Seed of the calibration simulation: a design is a deterministic function of its parameters."""

CALIBRATION_SD_RATIOS = (1.0, 2.0, 5.0)
"""Ratios sd_B / sd_A of the arms' seed-to-seed standard deviations at which the efficacy
boundaries are calibrated (the first, equal variances, also sets futility and power). Welch's t
is the default because a change may make training more or less stable, but at 3–10 seeds and in
the far tails the Welch–Satterthwaite approximation is a little liberal when the variances differ
(type I error up to 0.053 for α = 0.05 at ratios 4–6 in our simulations when calibrated at ratio
1 only). Each look keeps the largest boundary over the ratios, so the rate stays <= α at every
ratio; the error peaks near ratio 5 and vanishes as the ratio grows (the Welch t then tends to a
t with n − 1 dof), and 1/r behaves like r (the null law of the Welch t is symmetric)."""

CALIBRATION_SAFETY_SE = 2.0
"""The efficacy boundaries spend α − 2 Monte-Carlo standard errors, so that the type I error
stays <= α for a fresh sample of paths with ≈ 98 % confidence (one-sided normal bound)."""

MAX_LOOKS = 30
"""Most looks a design may have: the calibration's memory grows with paths × looks (≈ 90 MB at
the default 10 looks, ≈ 260 MB at 30); with more, use a larger ``round_size``."""

GAMMA_RANGE = (-8.0, 4.0)
"""Bracket of the Hwang–Shih–DeCani γ of the β-spending function: −8 spends β almost only at the
last looks (close to no futility), +4 spends ≈ 45 % of it by t = 0.15 (3 of 20 seeds). For
scale: γ = −4 resembles O'Brien–Fleming, γ = 1 Pocock (Hwang, Shih & DeCani 1990)."""

GAMMA_BISECTIONS = 10
"""Bisection steps on γ (resolution ≈ 0.01 over ``GAMMA_RANGE``)."""

CONTINUE = "continue"
"""Decision of a look that crossed no boundary: add ``round_size`` seeds to both arms."""

_CONTINUE, _PROGRESSION, _REGRESSION, _NO_DIFFERENCE, _INSUFFICIENT = range(5)
_DECISIONS = (CONTINUE, Verdict.PROGRESSION.value, Verdict.REGRESSION.value, Verdict.NO_DIFFERENCE.value,
              Verdict.INSUFFICIENT.value)
"""Integer codes of the vectorised paths and the decision strings they stand for."""

REFERENCES = (
    "K. K. G. Lan, D. L. DeMets, 'Discrete sequential boundaries for clinical trials', Biometrika 70(3), 1983.",
    "P. C. O'Brien, T. R. Fleming, 'A multiple testing procedure for clinical trials', Biometrics 35(3), 1979.",
    "I. K. Hwang, W. J. Shih, J. S. DeCani, 'Group sequential designs using a family of type I error probability "
    "spending functions', Statistics in Medicine 9(12), 1990.",
    "S. Pampallona, A. A. Tsiatis, K. Kim, 'Interim monitoring of group sequential trials using spending functions "
    "for the type I and type II error probabilities', Drug Information Journal 35(4), 2001.",
    "C. Jennison, B. W. Turnbull, Group Sequential Methods with Applications to Clinical Trials, Chapman & Hall/CRC, "
    "2000 (ch. 7 error spending, ch. 11 group sequential t-tests).",
    "B. L. Welch, 'The generalization of \"Student's\" problem when several different population variances are "
    "involved', Biometrika 34(1/2), 1947.",
    "P. Armitage, C. K. McPherson, B. C. Rowe, 'Repeated significance tests on accumulating data', JRSS A 132(2), "
    "1969 (why re-testing after every seed inflates the type I error).",
    "A. Wald, J. Wolfowitz, 'Optimum character of the sequential probability ratio test', Ann. Math. Stat. 19(3), "
    "1948 (the lower bound on the expected number of seeds).",
)


@dataclass(frozen=True)
class SequentialDesign(Record):
    """Looks and boundaries of a group-sequential Welch test, with its simulated operating characteristics.

    Boundaries are on the z scale of the oriented Welch t (positive = B better): two-sided, stop
    for progression at ``z >= efficacy_z[k]``, regression at ``z <= -efficacy_z[k]``, no detectable
    difference at ``|z| < futility_z[k]``; one-sided ``greater`` (``less`` mirrors it with −z),
    success at ``z >= efficacy_z[k]``, no detectable difference at ``z < futility_z[k]``. ``inf``
    (``None`` in ``to_dict``) means the look cannot stop that way. ``efficacy_t``/``futility_t``
    show the same boundaries on the t scale for equal variances (ν = 2n − 2).
    """

    alpha: float
    power: float
    effect_size: float
    alternative: str
    min_seeds: int
    max_seeds: int
    round_size: int
    looks: tuple[int, ...]
    information: tuple[float, ...]
    alpha_spent: tuple[float, ...]
    beta_spent: tuple[float, ...]
    efficacy_z: tuple[float, ...]
    futility_z: tuple[float, ...]
    efficacy_t: tuple[float, ...]
    futility_t: tuple[float, ...]
    beta_gamma: float
    type1_error: float
    achieved_power: float
    expected_seeds_null: float
    expected_seeds_effect: float
    fixed_seeds: int | None
    n_simulations: int
    seed: int
    explanation: str
    references: tuple[str, ...] = REFERENCES
    binding_futility: bool = False


@dataclass(frozen=True)
class SequentialState(Record):
    """What one look of a sequential design decided.

    ``decision`` is ``continue`` (run both arms up to ``next_round_seeds`` seeds), ``progression``,
    ``regression``, ``no detectable difference``, or ``insufficient data`` (only at the last look
    when too few seeds completed). ``look`` counts from 1.
    """

    decision: str
    look: int
    n_looks: int
    seeds_per_arm: int
    n_a: int
    n_b: int
    n_failed_a: int
    n_failed_b: int
    improvement: float
    t: float
    df: float
    z: float
    efficacy_z: float
    futility_z: float
    efficacy_t: float
    futility_t: float
    next_round_seeds: int | None
    sentence: str
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# statistics shared by the design simulation and by each look


def obf_spending(t: np.ndarray | float, total: float) -> np.ndarray:
    """Lan–DeMets O'Brien–Fleming-type spending ``2 − 2Φ(Φ⁻¹(1 − total/2) / √t)`` (Lan & DeMets 1983)."""
    from scipy.special import ndtr, ndtri

    t = np.asarray(t, dtype=float)
    return 2.0 - 2.0 * ndtr(ndtri(1.0 - total / 2.0) / np.sqrt(t))


def hsd_spending(t: np.ndarray | float, total: float, gamma: float) -> np.ndarray:
    """Hwang–Shih–DeCani spending ``total (1 − e^{−γt}) / (1 − e^{−γ})`` (linear at γ = 0)."""
    t = np.asarray(t, dtype=float)
    if abs(gamma) < 1e-12:
        return total * t
    return total * np.expm1(-gamma * t) / np.expm1(-gamma)


def welch_z(diff: np.ndarray | float, se: np.ndarray | float, df: np.ndarray | float) -> np.ndarray:
    """Normal-scale equivalent of the Welch t ``diff / se`` with ``df`` degrees of freedom.

    ``z = sign(t) Φ⁻¹(1 − F_t(−|t|; ν))`` keeps full precision in both tails.
    """
    from scipy.special import ndtri, stdtr

    t = np.asarray(diff, dtype=float) / np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sign(t) * -ndtri(stdtr(df, -np.abs(t)))


def welch_se_df(var_a: np.ndarray | float, var_b: np.ndarray | float, n_a: np.ndarray | float,
                n_b: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Standard error of ``mean_b − mean_a`` and Welch–Satterthwaite degrees of freedom."""
    qa, qb = np.asarray(var_a, dtype=float) / n_a, np.asarray(var_b, dtype=float) / n_b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(qa + qb), (qa + qb) ** 2 / (qa**2 / (np.asarray(n_a) - 1) + qb**2 / (np.asarray(n_b) - 1))


@dataclass(frozen=True)
class _Paths:
    """Per-path, per-look mean difference (B − A), its standard error and Welch dof, shape (M, K)."""

    diff: np.ndarray
    se: np.ndarray
    df: np.ndarray

    def z(self, shift: float = 0.0) -> np.ndarray:
        """Normal-scale Welch statistics when B's mean is moved by ``shift`` (common random numbers)."""
        return welch_z(self.diff + shift, self.se, self.df)

    def t(self, shift: float = 0.0) -> np.ndarray:
        """The raw Welch t statistics (before the normal-scale transform)."""
        return (self.diff + shift) / self.se


def simulate_paths(looks: tuple[int, ...], n_sims: int, seed: int, *, sd_b: float = 1.0) -> _Paths:
    """Simulate ``n_sims`` comparisons observed at ``looks`` seeds per arm (A ~ N(0, 1), B ~ N(0, sd_b²)).

    Seeds are drawn round by round (memory O(n_sims × round)); running sums give each look's
    Welch statistics.
    """
    rng = np.random.default_rng(seed)
    k_looks = len(looks)
    sums = np.zeros((4, n_sims))  # sum_a, sumsq_a, sum_b, sumsq_b
    diff, se, df = (np.empty((n_sims, k_looks)) for _ in range(3))
    prev = 0
    for k, n in enumerate(looks):
        xa = rng.standard_normal((n_sims, n - prev))
        xb = sd_b * rng.standard_normal((n_sims, n - prev))
        sums += (xa.sum(1), (xa * xa).sum(1), xb.sum(1), (xb * xb).sum(1))
        prev = n
        mean_a, mean_b = sums[0] / n, sums[2] / n
        var_a = np.maximum(sums[1] - n * mean_a**2, 0.0) / (n - 1)
        var_b = np.maximum(sums[3] - n * mean_b**2, 0.0) / (n - 1)
        diff[:, k] = mean_b - mean_a
        se[:, k], df[:, k] = welch_se_df(var_a, var_b, n, n)
    return _Paths(diff, se, df)


def paths_from_data(a: np.ndarray, b: np.ndarray, looks: tuple[int, ...]) -> _Paths:
    """Welch statistics at each look for given data ``a``, ``b`` of shape (M, max look)."""
    cols = [(np.mean(b[:, :n], 1) - np.mean(a[:, :n], 1),
             *welch_se_df(np.var(a[:, :n], 1, ddof=1), np.var(b[:, :n], 1, ddof=1), n, n)) for n in looks]
    diff, se, df = (np.stack(x, 1) for x in zip(*cols))
    return _Paths(diff, se, df)


def _tested(z: np.ndarray, alternative: str) -> np.ndarray:
    """The statistic the boundaries apply to: |z| two-sided, z for ``greater``, −z for ``less``."""
    return np.abs(z) if alternative == "two-sided" else (z if alternative == "greater" else -z)


def _classify(z: np.ndarray, efficacy: float, futility: float, alternative: str, last: bool) -> np.ndarray:
    """Decision codes of one look for the oriented statistics ``z`` (vectorised)."""
    s = _tested(z, alternative)
    if alternative == "two-sided":
        success = np.where(z > 0, _PROGRESSION, _REGRESSION)
    else:
        success = np.full(z.shape, _PROGRESSION if alternative == "greater" else _REGRESSION)
    stop_null = np.ones(z.shape, bool) if last else s < futility
    return np.where(s >= efficacy, success, np.where(stop_null, _NO_DIFFERENCE, _CONTINUE))


def run_paths(z: np.ndarray, efficacy: np.ndarray, futility: np.ndarray, alternative: str,
              *, binding: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Decision code and stopping look index of each path (rows of ``z``, shape (M, K)).

    ``binding=False`` ignores the futility boundary (how the type I error is guaranteed).
    """
    m, k_looks = z.shape
    code = np.full(m, _CONTINUE)
    stop = np.full(m, k_looks - 1)
    for k in range(k_looks):
        open_ = code == _CONTINUE
        fut = futility[k] if binding else -math.inf
        new = _classify(z[open_, k], efficacy[k], fut, alternative, k == k_looks - 1)
        code[open_] = new
        stop[np.flatnonzero(open_)[new != _CONTINUE]] = k
    return code, stop


def decide_paths(design: SequentialDesign, z: np.ndarray, *, binding: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``run_paths`` with a design's boundaries; returns decision codes and seeds per arm at the stop."""
    code, stop = run_paths(z, np.asarray(design.efficacy_z), np.asarray(design.futility_z), design.alternative,
                           binding=binding)
    return code, np.asarray(design.looks)[stop]


# ---------------------------------------------------------------------------------------------
# calibration


def _kth_largest_cut(values: np.ndarray, need: int) -> float:
    """A cut with exactly ``need`` of ``values`` at or above it (midway between order statistics)."""
    m = values.size
    if need <= 0:
        return math.inf
    if need >= m:
        return -math.inf
    part = np.partition(values, [m - need - 1, m - need])
    return 0.5 * (float(part[m - need - 1]) + float(part[m - need]))


def _calibrate_efficacy(s0: list[np.ndarray], counts: np.ndarray) -> np.ndarray:
    """Efficacy boundaries under which at most ``counts[k]`` null paths (cumulative) have crossed by
    look k in *every* simulated scenario of ``s0`` (one (M, K) array per variance ratio).

    Each look takes the largest of the scenarios' cuts, each scenario with the paths still alive
    under the common boundaries so far, so budget left unspent at a look carries to the next.
    """
    alive = [np.ones(s.shape[0], bool) for s in s0]
    crossed = [0] * len(s0)
    bounds = np.full(s0[0].shape[1], math.inf)
    for k in range(bounds.size):
        bounds[k] = max(_kth_largest_cut(s[live, k], int(counts[k]) - done)
                        for s, live, done in zip(s0, alive, crossed))
        for i, s in enumerate(s0):
            hit = alive[i] & (s[:, k] >= bounds[k])
            crossed[i] += int(hit.sum())
            alive[i] &= ~hit
    return bounds


def _calibrate_futility(s1: np.ndarray, efficacy: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Futility boundaries that stop exactly ``counts[k]`` paths under the effect (cumulative) by look k;
    the last one equals the efficacy boundary so that the last look always decides."""
    k_looks = s1.shape[1]
    alive = np.ones(s1.shape[0], bool)
    stopped = 0
    bounds = np.full(k_looks, -math.inf)
    for k in range(k_looks - 1):
        open_ = alive & (s1[:, k] < efficacy[k])
        need = int(counts[k]) - stopped
        if need > 0:
            bounds[k] = min(-_kth_largest_cut(-s1[open_, k], need), efficacy[k])
        fut = open_ & (s1[:, k] < bounds[k])
        stopped += int(fut.sum())
        alive = open_ & ~fut
    bounds[-1] = efficacy[-1]
    return bounds


def _calibrate_binding(s0: list[np.ndarray], s1: np.ndarray, alpha_counts: np.ndarray,
                       beta_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Efficacy and *binding* futility boundaries, calibrated look by look (Pampallona, Tsiatis &
    Kim 2001): at look k the efficacy cut spends ``alpha_counts[k]`` (cumulative) among the null
    paths that crossed neither boundary before, then the futility cut stops ``beta_counts[k]``
    (cumulative) effect paths. Null paths stopped for futility no longer count against α, so the
    efficacy boundaries are lower than :func:`_calibrate_efficacy`'s, and the type I error is
    <= α only if every futility stop is respected."""
    k_looks = s1.shape[1]
    efficacy, futility = np.full(k_looks, math.inf), np.full(k_looks, -math.inf)
    alive0 = [np.ones(s.shape[0], bool) for s in s0]
    crossed = [0] * len(s0)
    alive1 = np.ones(s1.shape[0], bool)
    stopped = 0
    for k in range(k_looks):
        efficacy[k] = max(_kth_largest_cut(s[live, k], int(alpha_counts[k]) - done)
                          for s, live, done in zip(s0, alive0, crossed))
        if k == k_looks - 1:
            futility[k] = efficacy[k]
        else:
            open_ = alive1 & (s1[:, k] < efficacy[k])
            need = int(beta_counts[k]) - stopped
            if need > 0:
                futility[k] = min(-_kth_largest_cut(-s1[open_, k], need), efficacy[k])
            fut = open_ & (s1[:, k] < futility[k])
            stopped += int(fut.sum())
            alive1 = open_ & ~fut
        for i, s in enumerate(s0):
            hit = alive0[i] & (s[:, k] >= efficacy[k])
            crossed[i] += int(hit.sum())
            alive0[i] &= ~hit & ~(s[:, k] < futility[k])
    return efficacy, futility


def _looks(min_seeds: int, max_seeds: int, round_size: int) -> tuple[int, ...]:
    return tuple(sorted(set(range(min_seeds, max_seeds, round_size)) | {max_seeds}))


def _t_scale(z: np.ndarray, df: np.ndarray) -> np.ndarray:
    """t values with the same tail probability as the normal-scale ``z``."""
    from scipy.special import ndtr, stdtrit

    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(z), stdtrit(df, ndtr(np.where(np.isfinite(z), z, 0.0))), z)


DESIGN_CACHE = "sequential-design"
"""Namespace of :mod:`trialwise._cache` holding computed designs: ``compare --until-decided`` would
otherwise simulate 3 × 100 000 Welch-t paths (seconds) before its first seed in every command."""


@functools.lru_cache(maxsize=16)
def _design(alpha: float, power: float, effect_size: float, alternative: str, min_seeds: int, max_seeds: int,
            round_size: int, n_sims: int, seed: int, binding: bool = False) -> SequentialDesign:
    """The design for these parameters: from this process's memory, else from the on-disk cache,
    else computed by :func:`_compute_design` and cached (the computation is deterministic)."""
    from trialwise._cache import cache_get, cache_put

    params = (alpha, power, effect_size, alternative, min_seeds, max_seeds, round_size, n_sims, seed, binding)
    key = _design_key(*params)
    cached = _design_from_json(cache_get(DESIGN_CACHE, key))
    if cached is not None:
        return cached
    design = _compute_design(*params)
    cache_put(DESIGN_CACHE, key, _design_to_json(design))
    return design


def _design_key(alpha: float, power: float, effect_size: float, alternative: str, min_seeds: int, max_seeds: int,
                round_size: int, n_sims: int, seed: int, binding: bool) -> dict[str, Any]:
    """Everything a design depends on: its parameters, the calibration constants, the source of the
    code computing it (an edit invalidates cached designs) and the NumPy/SciPy releases (random
    streams and special functions)."""
    import scipy

    from trialwise._cache import source_digest
    from trialwise.stats import _common, _power

    return {"alpha": alpha, "power": power, "effect_size": effect_size, "alternative": alternative,
            "min_seeds": min_seeds, "max_seeds": max_seeds, "round_size": round_size, "n_simulations": n_sims,
            "seed": seed, "binding_futility": binding, "sd_ratios": list(CALIBRATION_SD_RATIOS),
            "safety_se": CALIBRATION_SAFETY_SE, "gamma_range": list(GAMMA_RANGE),
            "gamma_bisections": GAMMA_BISECTIONS, "code": source_digest(sys.modules[__name__], _power, _common),
            "numpy": np.__version__, "scipy": scipy.__version__}


def _design_to_json(design: SequentialDesign) -> dict[str, Any]:
    """Every field as JSON (tuples as lists; infinities stay ``Infinity``, unlike ``to_dict``)."""
    return {f.name: list(v) if isinstance(v := getattr(design, f.name), tuple) else v
            for f in dataclasses.fields(design)}


_JSON_CHECKS: dict[str, Any] = {
    "float": lambda v: isinstance(v, float),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
}
"""Validators of the JSON values of :class:`SequentialDesign`'s field types (by annotation)."""


def _design_from_json(value: Any) -> SequentialDesign | None:
    """The design stored by :func:`_design_to_json`, or ``None`` when ``value`` is not one
    (a corrupt or hand-edited cache file is recomputed, never trusted)."""
    fields = dataclasses.fields(SequentialDesign)
    if not isinstance(value, dict) or set(value) != {f.name for f in fields}:
        return None
    args: dict[str, Any] = {}
    for f in fields:
        v, kind = value[f.name], str(f.type)
        if kind.startswith("tuple["):
            check = _JSON_CHECKS[kind[len("tuple["):-len(", ...]")]]
            if not isinstance(v, list) or not all(check(x) for x in v):
                return None
            v = tuple(v)
        elif not (_JSON_CHECKS[kind.removesuffix(" | None")](v) or (kind.endswith(" | None") and v is None)):
            return None
        args[f.name] = v
    n_looks = len(args["looks"])
    if n_looks == 0 or any(len(args[name]) != n_looks for name in (
            "information", "alpha_spent", "beta_spent", "efficacy_z", "futility_z", "efficacy_t", "futility_t")):
        return None
    return SequentialDesign(**args)


def _compute_design(alpha: float, power: float, effect_size: float, alternative: str, min_seeds: int,
                    max_seeds: int, round_size: int, n_sims: int, seed: int, binding: bool = False) -> SequentialDesign:
    """Simulate and calibrate the design (seconds: 3 × ``n_sims`` paths); see :func:`sequential_design`."""
    looks = _looks(min_seeds, max_seeds, round_size)
    info = np.asarray(looks, dtype=float) / looks[-1]
    # The design is built in the "greater" frame; "less" is its mirror image (−z, regression of size d).
    frame = "greater" if alternative == "less" else alternative

    mc_se = math.sqrt(alpha * (1 - alpha) / n_sims)
    alpha_cal = alpha - CALIBRATION_SAFETY_SE * mc_se
    alpha_spent = obf_spending(info, alpha)
    counts = np.floor(obf_spending(info, alpha_cal) * n_sims)
    scenarios = []
    for i, ratio in enumerate(CALIBRATION_SD_RATIOS):
        paths = simulate_paths(looks, n_sims, seed + i, sd_b=ratio)
        z = paths.z()
        if i == 0:  # equal variances: the scenario futility, power and expected seeds are computed in
            z0, z1 = z, paths.z(effect_size)
        del paths
        scenarios.append(_tested(z, frame).astype(np.float32))  # float32: halves memory, cuts to 1e-7
        del z
    s1 = _tested(z1, frame)
    beta = 1.0 - power
    fixed_efficacy = None if binding else _calibrate_efficacy(scenarios, counts)

    def evaluate(gamma: float) -> tuple[np.ndarray, np.ndarray, float]:
        beta_counts = np.floor(hsd_spending(info, beta, gamma) * n_sims)
        if fixed_efficacy is None:
            eff, fut = _calibrate_binding(scenarios, s1, counts, beta_counts)
        else:
            eff, fut = fixed_efficacy, _calibrate_futility(s1, fixed_efficacy, beta_counts)
        code, _ = run_paths(z1, eff, fut, frame)
        return eff, fut, float(np.mean(code == _PROGRESSION))

    lo, hi = GAMMA_RANGE
    if evaluate(hi)[2] >= power:
        gamma = hi
    else:
        for _ in range(GAMMA_BISECTIONS):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if evaluate(mid)[2] >= power else (lo, mid)
        gamma = lo
    efficacy, futility, achieved = evaluate(gamma)
    del scenarios

    # Non-binding: the type I error ignores futility stops (a user may continue past one); binding:
    # the procedure as run, futility stops included.
    code0, _ = run_paths(z0, efficacy, futility, frame, binding=binding)
    type1 = float(np.mean(code0 != _NO_DIFFERENCE))
    _, stop0 = run_paths(z0, efficacy, futility, frame)
    _, stop1 = run_paths(z1, efficacy, futility, frame)
    seeds = np.asarray(looks)
    en0, en1 = float(seeds[stop0].mean()), float(seeds[stop1].mean())
    fixed = n_per_arm(effect_size, 1.0, alpha, frame, power, "welch")
    nominal_df = 2.0 * seeds - 2.0
    design_args = dict(alpha=alpha, power=power, effect_size=effect_size, alternative=alternative,
                       min_seeds=min_seeds, max_seeds=max_seeds, round_size=round_size, looks=looks,
                       information=tuple(float(x) for x in info), alpha_spent=tuple(float(x) for x in alpha_spent),
                       beta_spent=tuple(float(x) for x in hsd_spending(info, beta, gamma)),
                       efficacy_z=tuple(float(x) for x in efficacy), futility_z=tuple(float(x) for x in futility),
                       efficacy_t=tuple(float(x) for x in _t_scale(efficacy, nominal_df)),
                       futility_t=tuple(float(x) for x in _t_scale(futility, nominal_df)),
                       beta_gamma=float(gamma), type1_error=type1, achieved_power=achieved,
                       expected_seeds_null=en0, expected_seeds_effect=en1, fixed_seeds=fixed,
                       n_simulations=n_sims, seed=seed, binding_futility=binding)
    return SequentialDesign(**design_args, explanation=_explain(**design_args))


def _explain(**d: Any) -> str:
    """A plain-language account of the design, its guarantee and its expected cost."""
    side = {"two-sided": "two-sided (progression or regression)", "greater": "one-sided: progression only",
            "less": "one-sided: regression only"}[d["alternative"]]
    looks = ", ".join(str(n) for n in d["looks"])
    lines = [
        f"Group-sequential Welch test, {side}, alpha = {d['alpha']:g}, powered at {d['power']:.0%} for an effect of "
        f"d = {d['effect_size']:g} seed-to-seed standard deviations.",
        f"Looks at {looks} seeds per arm. At each look the Welch t is turned into a normal-scale z through its own "
        "t distribution and compared with two boundaries:",
        "- efficacy: Lan–DeMets O'Brien–Fleming-type alpha spending (Lan & DeMets 1983; O'Brien & Fleming 1979), "
        f"calibrated on {d['n_simulations']:,} simulated Welch-t paths (seed {d['seed']}) at each arm std ratio "
        f"{', '.join(f'{r:g}' for r in CALIBRATION_SD_RATIOS)}, so small-seed t statistics and unequal variances "
        "are accounted for by simulating them, not by the normal approximation;",
        f"- futility: Hwang–Shih–DeCani beta spending with gamma = {d['beta_gamma']:.2f} "
        "(Hwang, Shih & DeCani 1990; Pampallona, Tsiatis & Kim 2001), "
        + ("binding: null paths stopped for futility free alpha for later looks, so the false-decision rate is "
           "controlled only if every futility stop is respected." if d["binding_futility"] else
           "non-binding: the efficacy boundaries ignore it, so continuing past a futility stop cannot raise the "
           "false-decision rate."),
        f"Simulated: type I error {d['type1_error']:.4f} with equal variances and at most {d['alpha']:g} at arm std "
        f"ratios up to {max(CALIBRATION_SD_RATIOS):g}, "
        + ("futility stops included; " if d["binding_futility"] else "without even counting futility stops; ")
        + f"power {d['achieved_power']:.3f} at d = {d['effect_size']:g}; expected seeds per arm "
        f"{d['expected_seeds_null']:.1f} with no effect and {d['expected_seeds_effect']:.1f} at d = "
        f"{d['effect_size']:g}" + (f", against {d['fixed_seeds']} for a fixed-n Welch test of the same power."
                                   if d["fixed_seeds"] else "."),
        "Re-testing after every seed without such boundaries inflates the false-decision rate several-fold "
        "(Armitage, McPherson & Rowe 1969).",
    ]
    if d["achieved_power"] < d["power"]:
        lines.append(f"Warning: max_seeds = {d['max_seeds']} cannot reach {d['power']:.0%} power at d = "
                     f"{d['effect_size']:g} (fixed-n Welch alone needs {d['fixed_seeds']} per arm); raise max_seeds.")
    return "\n".join(lines)


def sequential_design(alpha: float = 0.05, power: float = TARGET_POWER, effect_size: float = 1.0,
                      alternative: str = "two-sided", min_seeds: int = 3, max_seeds: int = 20, round_size: int = 1,
                      *, binding_futility: bool = False, n_simulations: int = CALIBRATION_SIMULATIONS,
                      seed: int = CALIBRATION_SEED) -> SequentialDesign:
    """Design a group-sequential Welch test that adds ``round_size`` seeds per arm per look.

    Parameters
    ----------
    alpha : float
        Largest probability of declaring a progression or regression when there is no effect.
    power : float
        Probability of declaring the change (progression for ``two-sided``/``greater``, regression
        for ``less``) when its effect is ``effect_size``.
    effect_size : float
        Cohen's d (difference of means / seed-to-seed std) the design is powered for.
    alternative : {"two-sided", "greater", "less"}
        Oriented like :func:`compare`: ``greater`` = B better.
    min_seeds, max_seeds, round_size : int
        First look, last look, seeds added per arm between looks. A look after every seed
        (``round_size=1``, the default) spends the fewest seeds; larger rounds trade seeds for
        parallelism (``round_size=2`` saves ≈ 1 percentage point less at d = 1).
    binding_futility : bool
        ``False`` (default): the efficacy boundaries ignore futility, so the type I error stays
        <= α even if someone keeps adding seeds after a "no detectable difference" stop. ``True``:
        null paths stopped for futility free α for later looks (lower efficacy boundaries, ≈ 1.5
        percentage points more seeds saved at d = 1 and ≈ 3 at d = 0), valid only if every
        futility stop is respected, as ``compare --until-decided`` does.
    n_simulations, seed : int
        Calibration paths per hypothesis and their seed (the design is deterministic).

    Returns
    -------
    SequentialDesign
        Cached: the same parameters return the same object within a process, and across processes
        from a JSON file under the user cache directory (``$TRIALWISE_CACHE_DIR``, else
        ``$XDG_CACHE_HOME/trialwise`` or ``~/.cache/trialwise``), keyed by the parameters, the
        calibration constants and the code; computing it the first time takes seconds.

    References
    ----------
    .. [1] K. K. G. Lan, D. L. DeMets, Biometrika 70(3), 1983.
    .. [2] C. Jennison, B. W. Turnbull, *Group Sequential Methods with Applications to Clinical
       Trials*, 2000, ch. 7 and 11.
    .. [3] S. Pampallona, A. A. Tsiatis, K. Kim, Drug Information Journal 35(4), 2001.
    .. [4] I. K. Hwang, W. J. Shih, J. S. DeCani, Statistics in Medicine 9(12), 1990.

    Examples
    --------
    >>> design = sequential_design()
    >>> design.looks
    (3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)
    """
    where = "sequential_design"
    alternative = check_choice(alternative, "alternative", where, ALTERNATIVES)
    alpha = check_fraction(alpha, "alpha", where, high=0.5)
    power = check_fraction(power, "power", where)
    if power <= alpha:
        raise UsageError(f"The 'power' parameter of {where} must be larger than alpha ({alpha:g}). "
                         f"Got {power:g} instead.")
    try:
        effect_size = float(effect_size)
    except (TypeError, ValueError):
        effect_size = math.nan
    if not (math.isfinite(effect_size) and effect_size > 0):
        raise UsageError(f"The 'effect_size' parameter of {where} must be a positive Cohen's d (e.g. 1.0). "
                         f"Got {effect_size!r} instead.")
    ints = {"min_seeds": min_seeds, "max_seeds": max_seeds, "round_size": round_size, "n_simulations": n_simulations}
    for name, value in ints.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise UsageError(f"The '{name}' parameter of {where} must be an integer. Got {value!r} instead.")
    if min_seeds < 2 or max_seeds < min_seeds or round_size < 1:
        raise UsageError(f"The seeds of {where} must satisfy 2 <= min_seeds <= max_seeds and round_size >= 1 "
                         f"(a variance needs 2 seeds per arm). Got min_seeds={min_seeds}, max_seeds={max_seeds}, "
                         f"round_size={round_size} instead.")
    if len(_looks(int(min_seeds), int(max_seeds), int(round_size))) > MAX_LOOKS:
        raise UsageError(f"The design of {where} may have at most {MAX_LOOKS} looks. Got "
                         f"{len(_looks(int(min_seeds), int(max_seeds), int(round_size)))} (min_seeds={min_seeds}, "
                         f"max_seeds={max_seeds}, round_size={round_size}) instead; use a larger round_size.")
    if not isinstance(binding_futility, (bool, np.bool_)):
        raise UsageError(f"The 'binding_futility' parameter of {where} must be True or False. "
                         f"Got {binding_futility!r} instead.")
    if n_simulations < 1000:
        raise UsageError(f"The 'n_simulations' parameter of {where} must be at least 1000. "
                         f"Got {n_simulations} instead.")
    return _design(alpha, power, effect_size, alternative, int(min_seeds), int(max_seeds), int(round_size),
                   int(n_simulations), int(seed), bool(binding_futility))


# ---------------------------------------------------------------------------------------------
# one look


def _rules(alternative: str, efficacy: float, futility: float) -> str:
    """The boundaries of one look in words."""
    if not math.isfinite(efficacy):
        rules = ["too early to declare a change"]
    elif alternative == "two-sided":
        rules = [f"progression at z >= {efficacy:.2f}, regression at z <= {-efficacy:.2f}"]
    elif alternative == "greater":
        rules = [f"progression at z >= {efficacy:.2f}"]
    else:
        rules = [f"regression at z <= {-efficacy:.2f}"]
    if math.isfinite(futility):
        where = {"two-sided": f"|z| < {futility:.2f}", "greater": f"z < {futility:.2f}",
                 "less": f"z > {-futility:.2f}"}[alternative]
        rules.append(f"no detectable difference at {where}")
    return "; ".join(rules)


def sequential_step(design: SequentialDesign, a: Any, b: Any, *, direction: str) -> SequentialState:
    """Decide at the current look of ``design`` from the seeds run so far.

    Parameters
    ----------
    design : SequentialDesign
        From :func:`sequential_design`.
    a, b : array-like of float
        Every seed run so far for the baseline A and the candidate B, NaN for a failed run. The look
        is the largest planned look <= the seeds run per arm (a count between looks uses the
        earlier look's boundaries; skipping looks never raises the type I error).
    direction : {"max", "min"}
        Whether larger or smaller metric values are better.

    Returns
    -------
    SequentialState
        ``decision`` and, when it is ``continue``, ``next_round_seeds`` (total seeds per arm to run
        before the next call).

    References
    ----------
    .. [1] C. Jennison, B. W. Turnbull, *Group Sequential Methods with Applications to Clinical
       Trials*, 2000, §11.4 (significance-level approach for t statistics).
    """
    where = "sequential_step"
    if not isinstance(design, SequentialDesign):
        raise UsageError(f"The 'design' parameter of {where} must come from sequential_design(). "
                         f"Got {type(design).__name__} instead.")
    direction = check_choice(direction, "direction", where, DIRECTIONS)
    a_raw, b_raw = seed_values(a, "a", where), seed_values(b, "b", where)
    looks = design.looks
    n_run = max(a_raw.size, b_raw.size)
    notes: list[str] = []
    if a_raw.size != b_raw.size:
        notes.append(f"the arms ran different seed counts ({a_raw.size} and {b_raw.size}); the look uses the larger")
    a_ok, b_ok = a_raw[np.isfinite(a_raw)], b_raw[np.isfinite(b_raw)]
    n_a, n_b = int(a_ok.size), int(b_ok.size)
    fails = (int(a_raw.size - n_a), int(b_raw.size - n_b))
    if any(fails):
        notes.append(f"failed runs excluded: {fails[0]} of A, {fails[1]} of B (boundaries assume none failed)")
    nan = math.nan
    fields: dict[str, Any] = dict(look=0, n_looks=len(looks), seeds_per_arm=n_run, n_a=n_a, n_b=n_b,
                                  n_failed_a=fails[0], n_failed_b=fails[1], improvement=nan, t=nan, df=nan, z=nan,
                                  efficacy_z=nan, futility_z=nan, efficacy_t=nan, futility_t=nan, notes=notes)
    if n_run < looks[0]:
        return SequentialState(CONTINUE, **fields, next_round_seeds=looks[0],
                               sentence=f"{n_run} seeds per arm so far: run both arms to the first look at {looks[0]}")
    k = int(np.searchsorted(looks, n_run, side="right")) - 1
    last = k == len(looks) - 1
    if n_run != looks[k]:
        notes.append(f"{n_run} seeds per arm is not a planned look; the boundaries of the look at {looks[k]} apply")
    nxt = None if last else looks[k + 1]
    eff, fut = design.efficacy_z[k], design.futility_z[k]
    improvement = orientation(direction) * (float(np.mean(b_ok)) - float(np.mean(a_ok))) if n_a and n_b else nan
    fields.update(look=k + 1, seeds_per_arm=looks[k], improvement=improvement, efficacy_z=eff, futility_z=fut)
    var_a = float(np.var(a_ok, ddof=1)) if n_a >= 2 else nan
    var_b = float(np.var(b_ok, ddof=1)) if n_b >= 2 else nan
    header = f"look {k + 1}/{len(looks)} at {looks[k]} seeds per arm"
    if min(n_a, n_b) < 2 or (var_a == 0 and var_b == 0):
        why = ("fewer than 2 completed seeds in an arm" if min(n_a, n_b) < 2
               else "every seed gave the same value within each arm")
        then = "no seeds left to add" if last else f"continue to {nxt} seeds per arm"
        return SequentialState(_DECISIONS[_INSUFFICIENT if last else _CONTINUE], **fields, next_round_seeds=nxt,
                               sentence=f"{header}: {why}: {then}")
    se, df = (float(x) for x in welch_se_df(var_a, var_b, n_a, n_b))
    z = float(welch_z(improvement, se, df))
    code = int(_classify(np.asarray([z]), eff, fut, design.alternative, last)[0])
    eff_t, fut_t = (float(x) for x in _t_scale(np.asarray([eff, fut]), np.asarray([df, df])))
    fields.update(t=improvement / se, df=df, z=z, efficacy_t=eff_t, futility_t=fut_t)
    decision = _DECISIONS[code]
    dec = decimals_for(math.sqrt(0.5 * (var_a + var_b)))
    sentence = (f"{header}: improvement {fmt_num(improvement, dec, sign=True)} (t = {improvement / se:.2f}, "
                f"df = {df:.1f}, z = {z:.2f}); {_rules(design.alternative, eff, -math.inf if last else fut)}: "
                f"{decision}" + (f" to {nxt} seeds per arm" if code == _CONTINUE else ""))
    return SequentialState(decision, **fields, next_round_seeds=nxt if code == _CONTINUE else None, sentence=sentence)
