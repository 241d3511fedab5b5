"""The detectors: one small pure function per failure mode, registered in :data:`DETECTORS`.

Each takes the :class:`~trialwise.diagnose._context.RunContext` of one run and returns
:class:`~trialwise.diagnose._context.Evidence` or ``None``.  Thresholds live in
:mod:`trialwise.diagnose._thresholds` with their sources.

References
----------
.. [1] Zhang et al., "AUTOTRAINER: An Automatic DNN Training Problem Detection and Repair System",
   ICSE 2021.
.. [2] Wardat et al., "DeepDiagnosis: Automatically Diagnosing Faults and Recommending Actionable
   Fixes in Deep Learning Programs", ICSE 2022.
.. [3] Ben Braiek & Khomh, "Testing Feedforward Neural Networks Training Programs" (TheDeepChecker),
   ACM TOSEM 2022.
.. [4] Schneider, Dangel & Hennig, "Cockpit: A Practical Debugging Tool for the Training of Deep
   Neural Networks", NeurIPS 2021.
.. [5] Seed 002 (Sultania, "Deep Learning in Practice"), seed 003 (Goodfellow et al. ch. 11 notes),
   seed 004 (Full Stack Deep Learning notes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trialwise.diagnose import _thresholds as T
from trialwise.diagnose._context import DATA_FILES, Evidence, RunContext, strength
from trialwise.diagnose._series import Curve, head, noise_sigma, robust_sd, tail, theil_sen

__all__ = ["BY_CODE", "DETECTORS", "DetectorSpec"]

Detector = Callable[[RunContext], "Evidence | None"]

BATCH_KEYS = ("batch_size", "batch-size", "bs", "per_device_train_batch_size", "train_batch_size", "batchsize",
              "mini_batch_size", "minibatch_size")
"""Parameter names of the (per-device) training batch size: trialwise's, Hugging Face's, common ones."""


def _g(x: float) -> str:
    return f"{x:.3g}"


def _step(x: float) -> str:
    """Steps are integers in evidence texts (a smoothed curve's block centre rounds to its step)."""
    return f"{int(round(x))}"


# -- shared curve facts --------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Progress:
    """Start, minimum and end of a smoothed loss curve, with its block noise."""

    start: float
    minimum: float
    min_step: float
    end: float
    noise: float
    curve: Curve

    @property
    def learned(self) -> bool:
        """The loss fell by a real amount (beyond noise and :data:`MIN_PROGRESS` of its start)."""
        drop = self.start - self.minimum
        return drop > max(T.NOISE_Z * self.noise, T.MIN_PROGRESS * abs(self.start))

    @property
    def rebounded(self) -> bool:
        """Learned, then gave back nearly all of it."""
        drop = self.start - self.minimum
        back = self.end - self.minimum >= T.REBOUND_GIVEBACK * drop
        factor_ok = self.minimum <= 0 or self.end >= T.REBOUND_FACTOR * self.minimum
        return self.learned and back and factor_ok


def _progress(c: Curve | None) -> _Progress | None:
    if c is None or c.finite().n < T.MIN_CURVE_POINTS:
        return None
    s = c.smooth()
    i = int(np.argmin(s.values))
    return _Progress(head(s.values, T.HEAD), float(s.values[i]), float(s.steps[i]), tail(s.values, T.TAIL),
                     noise_sigma(s.values), s)


def _share_above(values: np.ndarray, threshold: float) -> float:
    return float(np.mean(values > threshold)) if len(values) else 0.0


def _probe(ctx: RunContext, role: str, last_half: bool = False) -> np.ndarray | None:
    c = ctx.curve(role)
    if c is None:
        return None
    f = c.finite()
    if not f.n:
        return None
    v = f.values
    return v[len(v) // 2:] if last_half and len(v) >= 2 else v


def _worst_layers(ctx: RunContext, kind: str, n: int = 3) -> str:
    layers = {k: float(np.median(c.finite().values)) for k, c in ctx.layers(kind).items() if c.finite().n}
    top = sorted(layers.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{k} {v:.0%}" for k, v in top)


def _lr_low_hint(ctx: RunContext) -> bool:
    """Updates tiny relative to the weights - unless dead units or vanishing gradients explain it."""
    ratios = [float(np.median(c.finite().values)) for c in ctx.layers("update_ratio").values() if c.finite().n]
    if not ratios or float(np.median(ratios)) >= T.UPDATE_RATIO_LOW:
        return False
    dead = _dead_share(ctx)
    grad = _probe(ctx, "grad_norm_ratio")
    vanishing = grad is not None and float(np.median(grad)) < T.VANISHING_RATIO
    return not (vanishing or (dead is not None and dead >= T.PROBE_MAJORITY))


# -- divergence and gradients --------------------------------------------------------------------------

def loss_divergence(ctx: RunContext) -> Evidence | None:
    """Non-finite loss (NaN, inf, missing) or a training loss that climbs far above its minimum."""
    found: list[str] = []
    steps: list[float] = []
    values: dict[str, float] = {}
    for role in ("train_loss", "train_loss_epoch", "val_loss"):
        c = ctx.curve(role)
        if c is None or not c.n:
            continue
        bad = ~c.finite_mask
        if bad.any():
            first = float(c.steps[bad][0])
            found.append(f"{c.name} non-finite (NaN/inf/missing) from step {_step(first)} "
                         f"({int(bad.sum())} of {c.n} points)")
            steps.append(first)
            values[f"{role}_nonfinite_points"] = float(bad.sum())
    nf = ctx.curve("nonfinite_layer")
    if nf is not None:
        f = nf.finite()
        hit = f.values >= 0
        if hit.any():
            found.append(f"first non-finite layer: {int(f.values[hit][0])} at step {_step(float(f.steps[hit][0]))}")
            steps.append(float(f.steps[hit][0]))
            values["nonfinite_layer"] = float(f.values[hit][0])
    gm = ctx.curve("grad_norm_max") or ctx.curve("grad_norm")
    if gm is not None and gm.n and not gm.finite_mask.all():
        first = float(gm.steps[~gm.finite_mask][0])
        found.append(f"gradient norm non-finite from step {_step(first)}")
        steps.append(first)
    st = 1.0
    if not found:
        p = _progress(ctx.loss())
        if p is None:
            return None
        if p.minimum > 0 and p.end > T.DIVERGENCE_FACTOR * p.minimum and p.end > p.start:
            ratio = p.end / p.minimum
            found.append(f"{p.curve.name} climbed to {_g(p.end)}, {ratio:.0f}x its minimum {_g(p.minimum)} "
                         f"(step {_step(p.min_step)})")
            st = strength(ratio, T.DIVERGENCE_FACTOR)
        elif p.rebounded:
            found.append(f"{p.curve.name} fell from {_g(p.start)} to {_g(p.minimum)} (step {_step(p.min_step)}) "
                         f"and climbed back to {_g(p.end)}")
            st = T.STRENGTH_MEDIUM
        else:
            return None
        steps.append(p.min_step)
        values.update(start=p.start, minimum=p.minimum, end=p.end)
    if ctx.run.status and ctx.run.status.lower() not in ("finished", "completed", "success", "ok", "running"):
        found.append(f"run ended with status '{ctx.run.status}'")
    elif not any("non-finite" in f for f in found):
        found.append("the loss stayed finite (a growth, not NaN)")
    origin = _blowup_origin(ctx)
    promote: tuple[str, ...] = ()
    if origin is not None:
        promote = (origin[0],)
        found.append(f"decided by the order of events: {origin[1]}")
    return Evidence("; ".join(found), values, tuple(steps), st, promote)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Rank correlation of ``x`` and ``y`` (Spearman 1904), 0.0 for fewer than 3 points or no spread."""
    if len(x) < 3:
        return 0.0
    rx, ry = np.argsort(np.argsort(x)).astype(float), np.argsort(np.argsort(y)).astype(float)
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _steady_growth(ctx: RunContext) -> str | None:
    """The gradient norm climbs step after step over the whole run (:data:`STEADY_GROWTH`)."""
    for role in ("grad_norm", "grad_norm_max"):
        c = ctx.curve(role)
        if c is None or c.finite().n < T.MIN_SHAPE_POINTS:
            continue
        sm = c.smooth()
        rho = _spearman(sm.steps, sm.values)
        first, last = float(sm.values[0]), tail(sm.values, T.TAIL)
        if rho >= T.STEADY_GROWTH and first > 0 and last > 2 * first:
            return (f"{c.name} climbs steadily over the whole run ({_g(first)} -> {_g(last)}, rank correlation with "
                    f"the step {rho:.2f}): gradients that pile up, not a burst")
    return None


def _blowup_origin(ctx: RunContext) -> tuple[str, str] | None:
    """Which cause the order of events points at when the loss or the gradients blow up (issue 15
    item 3): from the first step (the loss at step 0 is already far above ln C, or far above what the
    next steps reach: unnormalized inputs when the inputs are, else the initialization); a steady climb
    of the gradient norm (accumulating gradients); or a normal start followed by a blow-up, the
    gradient norm with it (the learning rate)."""
    init = _initial_blowup(ctx)
    if init is not None:
        if ctx.unnormalized:
            return "unnormalized-input", f"{init}, and the inputs are unnormalized"
        return "bad-init", f"{init} (the inputs look normalized or were not probed)" if ctx.input_stats is None \
            and ctx.data is None else f"{init}, with normalized inputs"
    steady = _steady_growth(ctx)
    if steady is not None:
        return "accumulating-gradients", steady
    c = ctx.curve("train_loss") or ctx.loss()
    if c is None or c.finite().n < T.MIN_CURVE_POINTS:
        return None
    f = c.finite()
    first = float(f.values[0])
    up = np.nonzero(f.values >= T.EARLY_RISE * first)[0] if first > 0 else np.empty(0, dtype=int)
    if not len(up):
        return None
    at = float(f.steps[up[0]])
    start = f"{c.name} started at {_g(first)}" + (f" (~ln C = {_g(ctx.ln_c)})" if ctx.ln_c is not None and
                                                  abs(first / ctx.ln_c - 1) < 0.5 else "")
    text = f"{start} and doubled by step {_step(at)}"
    for role in ("grad_norm_max", "grad_norm"):
        g = ctx.curve(role)
        if g is not None and g.finite().n >= T.MIN_CURVE_POINTS:
            gf = g.finite()
            g0 = float(np.median(gf.values[gf.steps <= gf.steps[0] + 0.1 * (at - gf.steps[0]) + 1e-9][:3]))
            g_at = float(np.max(gf.values[gf.steps <= at])) if np.any(gf.steps <= at) else math.nan
            if g0 > 0 and g_at >= T.EARLY_RISE * g0:
                text += f", {g.name} rising with it ({_g(g0)} -> {_g(g_at)}): lr-driven"
            break
    return "lr-too-high", text


def _initial_blowup(ctx: RunContext) -> str | None:
    """The loss is far too high at the very start: above :data:`INITIAL_LOSS_FACTOR` x ln C at its first
    point, or (C unknown) that many times the median of the next :data:`HOCKEY_WINDOW` of training."""
    ratio = _initial_loss_ratio(ctx)
    c = ctx.curve("train_loss")
    if c is None or not c.finite().n:
        return None
    f = c.finite()
    v0 = float(f.values[0])
    if ratio is not None and ctx.ln_c is not None and v0 > T.INITIAL_LOSS_FACTOR * ctx.ln_c:
        return f"{c.name} is already {_g(v0)} at step {_step(float(f.steps[0]))}, {v0 / ctx.ln_c:.1f} x ln C"
    hockey = _hockey_stick(ctx)
    return hockey[1] if hockey is not None else None


def _hockey_stick(ctx: RunContext) -> tuple[float, str] | None:
    """``(ratio, text)`` when nothing states the number of classes and a classifier's per-step loss
    starts above ln(:data:`INFER_MAX_CLASSES`): no softmax over up to that many classes starts there
    at a sane initialization (Karpathy 2019, "verify loss @ init"); ``ratio`` is the start over what
    the next :data:`HOCKEY_POINTS` steps reach (the first updates only undo the initial scale)."""
    c = ctx.curve("train_loss")
    if c is None or ctx.ln_c is not None or ctx.accuracy() is None:
        return None
    f = c.finite()
    evals = max((ctx.curve(r).finite().n for r in ("val_loss", "val_acc") if ctx.curve(r) is not None), default=0)
    if f.n < T.MIN_SHAPE_POINTS or not evals or f.n < T.PER_STEP_FACTOR * evals \
            or ctx.frac(float(f.steps[0])) > T.INITIAL_WINDOW:
        return None  # an epoch-averaged loss says nothing about the first updates
    k = T.INITIAL_LOSS_POINTS
    v0 = float(np.median(f.values[:k]))
    ceiling = math.log(T.INFER_MAX_CLASSES)
    if v0 <= ceiling:
        return None
    ref = float(np.median(f.values[k:k + T.HOCKEY_POINTS]))
    return v0 / max(ref, 1e-12), (f"{c.name} is {_g(v0)} over its first {k} steps (from step "
                                  f"{_step(float(f.steps[0]))}), above ln {T.INFER_MAX_CLASSES} = {_g(ceiling)} where "
                                  f"any classifier of up to {T.INFER_MAX_CLASSES} classes starts, and {_g(ref)} over "
                                  f"the next {T.HOCKEY_POINTS} steps: the first updates only undo the initial scale")


_GROWTH_SERIES = (("grad_norm_max", "largest layer gradient norm"), ("grad_norm", "gradient norm"))
"""Where gradient growth is read, first found first: the probes' largest layer norm, else the whole
gradient's norm the framework logs (Hugging Face's ``grad_norm``)."""


def _gradient_growth(ctx: RunContext) -> tuple[float, float, float, str] | None:
    """``(growth, early, late, what)``: the median gradient norm (:data:`_GROWTH_SERIES`) over the
    second half of the points relative to its median over the first ones, when it passes
    :data:`EXPLODING_GROWTH`."""
    role, what = next(((r, w) for r, w in _GROWTH_SERIES if ctx.has(r)), _GROWTH_SERIES[0])
    g = _probe(ctx, role)
    if g is None or len(g) < T.MIN_CURVE_POINTS:
        return None
    early = float(np.median(g[: max(1, int(math.ceil(T.EXPLODING_EARLY * len(g))))]))
    late = g[len(g) // 2:]
    if early <= 0 or float(np.mean(late > T.EXPLODING_GROWTH * early)) < T.PROBE_MAJORITY:
        return None
    med = float(np.median(late))
    return med / early, early, med, what


def exploding_gradients(ctx: RunContext) -> Evidence | None:
    """||g_first|| / ||g_last|| above AutoTrainer's beta_3 on most probed steps, or the gradient norm
    grown by orders of magnitude over training (Pascanu et al. 2013), when learning is impaired."""
    if not ctx.impaired:
        return None
    found: list[str] = []
    values: dict[str, float] = {}
    st = 0.0
    r = _probe(ctx, "grad_norm_ratio")
    share = _share_above(r, T.EXPLODING_RATIO) if r is not None else 0.0
    if r is not None and share >= T.PROBE_MAJORITY:
        med = float(np.median(r))
        found.append(f"first/last layer gradient-norm ratio median {_g(med)} (> {T.EXPLODING_RATIO:g}) on "
                     f"{share:.0%} of probed steps")
        values.update(grad_norm_ratio_median=med, share=share)
        st = strength(med, T.EXPLODING_RATIO)
    growth = _gradient_growth(ctx)
    if growth is not None:
        factor, early, late, what = growth
        found.append(f"{what} grew from {_g(early)} (first points) to {_g(late)} (median of the "
                     f"second half), {factor:.0f}x (> {T.EXPLODING_GROWTH:g}x)")
        values.update(grad_norm_growth=factor, grad_norm_early=early, grad_norm_late=late)
        st = max(st, strength(factor, T.EXPLODING_GROWTH))
    if not found:
        return None
    origin = _blowup_origin(ctx)
    if origin is not None:
        found.append(f"decided by the order of events: {origin[1]}")
    return Evidence("; ".join(found), values, strength=st, promote=(origin[0],) if origin is not None else ())


def _dead_share(ctx: RunContext) -> float | None:
    d = _probe(ctx, "dead_frac_max", last_half=True)
    return None if d is None else float(np.mean(d >= T.DEAD_FRAC))


def vanishing_gradients(ctx: RunContext) -> Evidence | None:
    """||g_first|| / ||g_last|| < beta_1 and ||g_first|| < beta_2 (AutoTrainer), when learning is impaired.

    Dead ReLUs also zero the first layer's gradient; AutoTrainer checks dying ReLU first, so do we.
    """
    r = _probe(ctx, "grad_norm_ratio")
    if r is None or not ctx.impaired:
        return None
    dead = _dead_share(ctx)
    if dead is not None and dead >= T.PROBE_MAJORITY:
        return None
    share = float(np.mean(r < T.VANISHING_RATIO))
    if share < T.PROBE_MAJORITY:
        return None
    med = float(np.median(r))
    text = (f"first/last layer gradient-norm ratio median {med:.2g} (< {T.VANISHING_RATIO:g}) on {share:.0%} of "
            f"probed steps")
    first = _probe(ctx, "grad_norm_first")
    if first is not None:
        if float(np.mean(first < T.VANISHING_FIRST_NORM)) < T.PROBE_MAJORITY:
            return None
        text += f"; first-layer gradient norm median {float(np.median(first)):.2g} (< {T.VANISHING_FIRST_NORM:g})"
    after = _after_blowup(ctx, ctx.curve("grad_norm_ratio"))
    if after is not None:
        text += f"; {after}"
    return Evidence(text, {"grad_norm_ratio_median": med, "share": share},
                    strength=strength(T.VANISHING_RATIO, max(med, 1e-300)), mild=after is not None,
                    after=("loss-divergence",) if after is not None else ())


def _after_blowup(ctx: RunContext, ratio: Curve | None) -> str | None:
    """The first/last ratio was healthy at the start and collapsed only after the loss had blown up
    (to :data:`EARLY_RISE` x its first value): weights grown by too-large updates push saturating
    units to their tails, and the first layer's gradient vanishes as a consequence (issue 15 item 3:
    the order of events)."""
    loss = ctx.curve("train_loss") or ctx.loss()
    if ratio is None or loss is None:
        return None
    r, f = ratio.finite(), loss.finite()
    if r.n < T.MIN_EVALS or f.n < T.MIN_CURVE_POINTS or float(r.values[0]) < T.VANISHING_RATIO:
        return None
    low = np.nonzero(r.values < T.VANISHING_RATIO)[0]
    first = float(f.values[0])
    up = np.nonzero(f.values >= T.EARLY_RISE * first)[0] if first > 0 else np.empty(0, dtype=int)
    if not len(low) or not len(up) or float(f.steps[up[0]]) > float(r.steps[low[0]]):
        return None
    return (f"the ratio was {_g(float(r.values[0]))} at step {_step(float(r.steps[0]))} and fell below "
            f"{T.VANISHING_RATIO:g} at step {_step(float(r.steps[low[0]]))}, after {loss.name} had risen from {_g(first)} "
            f"to {_g(float(f.values[up[0]]))} by step {_step(float(f.steps[up[0]]))}: a consequence of the blow-up")


def _unit_majority(ctx: RunContext, kind: str, threshold: float) -> tuple[float, float, str] | None:
    """``(median, share, worst layers)`` when the worst layer's ``kind`` fraction (dead, saturated) is
    at least ``threshold`` over most of the second half of an impaired run; else ``None``."""
    d = _probe(ctx, f"{kind}_max", last_half=True)
    if d is None or not ctx.impaired:
        return None
    share = float(np.mean(d >= threshold))
    if share < T.PROBE_MAJORITY:
        return None
    return float(np.median(d)), share, _worst_layers(ctx, kind)


def dead_units(ctx: RunContext) -> Evidence | None:
    """At least 70% of some layer's units dead (AutoTrainer gamma) over most of the second half."""
    found = _unit_majority(ctx, "dead_frac", T.DEAD_FRAC)
    if found is None:
        return None
    med, share, worst = found
    first = _probe(ctx, "dead_frac_max")
    promote: tuple[str, ...] = ()
    narrow = _too_narrow(ctx)
    if ctx.unnormalized:
        promote = ("unnormalized-input",)
    elif first is not None and first[0] >= T.DEAD_FRAC:
        promote = ("bad-init",)
    elif narrow is not None:
        promote = ("activation",)
    text = (f"{med:.0%} of the units of the worst layer are dead (>= {T.DEAD_FRAC:.0%}) over the second half"
            + (f"; by layer: {worst}" if worst else ""))
    if narrow is not None:
        text += f"; {narrow}: a few dying units empty such a layer"
    return Evidence(text, {"dead_frac_max_median": med, "share": share}, strength=strength(med, T.DEAD_FRAC),
                    promote=promote, after=("underfitting",) if narrow is not None else ())


def saturated_units(ctx: RunContext) -> Evidence | None:
    """At least 70% of some layer's sigmoid/tanh units saturated over most of the second half."""
    found = _unit_majority(ctx, "saturated_frac", T.SATURATED_FRAC)
    if found is None:
        return None
    med, share, worst = found
    return Evidence(f"{med:.0%} of the units of the worst layer are saturated (>= {T.SATURATED_FRAC:.0%})"
                    + (f"; by layer: {worst}" if worst else ""), {"saturated_frac_max_median": med, "share": share},
                    strength=strength(med, T.SATURATED_FRAC),
                    promote=("unnormalized-input",) if ctx.unnormalized else ("activation",))


def unnormalized_input(ctx: RunContext) -> Evidence | None:
    """Median input batch mean or std far from a standardized or [0, 1]-scaled input; without input
    probes, the run's own training array (issue 15 item 7)."""
    if not ctx.unnormalized:
        return None
    st = ctx.input_stats
    if st is not None:
        mean, sd = st
        text = f"input batches have median mean {_g(mean)} and std {_g(sd)} (standardized inputs: 0 and 1)"
    else:
        mean, sd = ctx.data.input_mean, ctx.data.input_std
        text = f"{ctx.data.describe_range()} (standardized inputs: mean 0, std 1)"
    s = max(strength(abs(mean), T.UNNORMALIZED_MEAN), strength(sd, T.UNNORMALIZED_STD))
    return Evidence(text, {"input_mean": mean, "input_std": sd}, strength=s)


def _initial_loss_ratio(ctx: RunContext) -> float | None:
    c = ctx.curve("train_loss")
    if c is None or ctx.ln_c is None:
        return None
    f = c.finite()
    if not f.n or ctx.frac(float(f.steps[0])) > T.INITIAL_WINDOW:
        return None
    first = float(f.values[0]) / ctx.ln_c
    support = float(np.median(f.values[:T.INITIAL_LOSS_POINTS])) / ctx.ln_c
    return first if first > T.INITIAL_LOSS_FACTOR and support > T.INITIAL_LOSS_SUPPORT else None


def initial_loss(ctx: RunContext) -> Evidence | None:
    """The first logged cross-entropy far above ln(C) (TheDeepChecker; Karpathy's "verify loss @ init");
    without a number of classes, a loss at step 0 three times what the next steps reach (a hockey stick)."""
    ratio = _initial_loss_ratio(ctx)
    if ratio is None or ctx.ln_c is None:
        hockey = _hockey_stick(ctx)
        if hockey is None:
            return None
        r, text = hockey
        promote = ("bad-init",) if not ctx.unnormalized else ()
        return Evidence(f"{text} (the number of classes is not stated)", {"ratio": r},
                        strength=T.STRENGTH_MEDIUM, promote=promote)
    c = ctx.curve("train_loss")
    assert c is not None
    f = c.finite()
    if float(f.values[0]) <= T.INITIAL_LOSS_FACTOR * ctx.ln_c:
        return None  # the very first loss (computed before any update) was fine: later points are training
    late = ctx.first_loss_after_updates
    acc = ctx.accuracy()
    if late is not None and acc is not None and ctx.near_chance(acc) is not None:
        return None  # logged after updates and never learning: the first updates may have blown it up (the lr)
    v0 = float(f.values[0])
    v3 = float(np.median(f.values[:T.INITIAL_LOSS_POINTS]))
    promote: tuple[str, ...] = ()
    bs = ctx.config_value(*BATCH_KEYS)
    if isinstance(bs, (int, float)) and bs > 1 and abs(v3 / (bs * ctx.ln_c) - 1) < T.SUMMED_LOSS_TOL:
        promote = ("summed-loss",)
    return Evidence(f"{c.name} at the start (step {_step(float(f.steps[0]))}) is {_g(v0)} = {ratio:.1f} x "
                    f"ln({ctx.n_classes}) = {_g(ctx.ln_c)}, the median of its first {min(f.n, T.INITIAL_LOSS_POINTS)} "
                    f"points {_g(v3)}" + (f"; {late}, and the run then learns: the excess was there from the start"
                                          if late else ""), {"initial_loss": v0, "ln_c": ctx.ln_c, "ratio": ratio},
                    (float(f.steps[0]),), strength(ratio, T.INITIAL_LOSS_FACTOR), promote)


# -- learning curves -----------------------------------------------------------------------------------

def chance_level(ctx: RunContext) -> Evidence | None:
    """Final accuracy within noise of chance (1/C), or cross-entropy staying at ln(C)."""
    acc = ctx.accuracy()
    promote: list[str] = []
    p = _progress(ctx.loss())
    if acc is not None and ctx.chance is not None:
        hit = ctx.near_chance(acc)
        if hit is None:
            return None
        final, margin = hit
        v = acc.finite().smooth().values
        peak = float(v.max())
        text = (f"{acc.name} ends at {final:.3f}, chance is {ctx.chance:.3f} (margin {margin:.3f}); "
                f"best {peak:.3f}")
        if p is not None and ctx.ln_c is not None:
            text += f"; {p.curve.name} ends at {_g(p.end)} (ln C = {_g(ctx.ln_c)})"
        rising = tail(v, T.FINAL) - head(v, T.FINAL) > margin / 2
        st = strength(ctx.chance + margin, max(final, 1e-9)) if final > 0 else 1.0
        values = {"final": final, "chance": ctx.chance, "margin": margin, "peak": peak}
    elif p is not None and ctx.ln_c is not None:
        if not (T.CHANCE_LOSS_LOW * ctx.ln_c <= p.end <= T.CHANCE_LOSS_HIGH * ctx.ln_c) or p.learned:
            return None
        text = f"{p.curve.name} stays at {_g(p.end)} ~ ln({ctx.n_classes}) = {_g(ctx.ln_c)} (uniform predictions)"
        rising = False
        st = T.STRENGTH_MEDIUM
        values = {"final_loss": p.end, "ln_c": ctx.ln_c}
    else:
        return None
    falling = p is not None and p.start - p.end > max(T.NOISE_Z * p.noise, T.MIN_FALL * abs(p.start))
    vl = ctx.curve("val_loss")
    if vl is not None and vl.finite().n >= T.MIN_EVALS:  # the validation loss creeps down: learning, slowly
        d = np.diff(vl.finite().values)
        falling = falling or (float(np.mean(d < 0)) >= T.SUSPICIOUS_CONSISTENT and float(np.sum(d)) < 0)
    spike = _early_spike(ctx)
    frozen = _weights_frozen(ctx)
    tiny = _lr_tiny(ctx)
    narrow = _too_narrow(ctx)
    if frozen is not None:
        promote.append("implementation-bug")
        text += f"; {frozen}"
    elif narrow is not None:
        promote.append("poor-architecture")
        text += f"; {narrow}"
    elif tiny is not None:
        promote.append("lr-too-low")
        text += f"; {tiny}"
    elif spike is not None:
        promote.append("lr-too-high")
        text += f"; {spike}"
    elif rising or falling:
        promote += ["not-started", "lr-too-low"]
    if _lr_low_hint(ctx) and frozen is None:
        promote.insert(0, "lr-too-low")
    # a model too narrow for its classes underfits; at chance is the far end of that, not a second problem
    return Evidence(text, values, strength=st, promote=tuple(dict.fromkeys(promote)),
                    after=("underfitting",) if narrow is not None and frozen is None else ())


def _weights_frozen(ctx: RunContext) -> str | None:
    """The weights never change: the validation loss is the same at every evaluation, or the probed
    update ratio is 0 (``optimizer.step()`` missing, lr 0, parameters not given to the optimizer)."""
    upd = _probe(ctx, "update_ratio")
    if upd is None:
        ratios = [c.finite().values for c in ctx.layers("update_ratio").values() if c.finite().n]
        upd = np.concatenate(ratios) if ratios else None
    if upd is not None and len(upd) >= T.MIN_EVALS and float(np.max(np.abs(upd))) == 0.0:
        return f"the weights never change (update ratio 0 at all {len(upd)} probed steps)"
    vl = ctx.curve("val_loss")
    if vl is not None and vl.finite().n >= T.MIN_EVALS:
        v = vl.finite().values
        level = float(np.median(np.abs(v)))
        if level > 0 and float(np.ptp(v)) <= T.CONSTANT_REL * level:
            return (f"{vl.name} is {_g(float(v[0]))} at all {len(v)} evaluations: the weights never change "
                    "(optimizer.step() missing, lr 0, or frozen parameters)")
    return None


def _lr_tiny(ctx: RunContext) -> str | None:
    """The logged learning rate never exceeds :data:`LR_TINY`, or it is still warming up at the end."""
    lr = ctx.curve("lr")
    if lr is None or lr.finite().n < 2:
        return None
    f = lr.finite()
    top = float(np.max(f.values))
    if 0 < top <= T.LR_TINY:
        return f"{lr.name} never exceeds {top:.2g} (<= {T.LR_TINY:g}: too low for any optimizer)"
    first = float(f.values[f.values > 0][0]) if np.any(f.values > 0) else 0.0
    peak_at = ctx.frac(float(f.steps[int(np.argmax(f.values))]))
    if first > 0 and top >= T.LR_STILL_WARMING * first and peak_at >= 1 - T.TAIL \
            and float(f.values[-1]) >= 0.9 * top:
        return (f"{lr.name} rises from {first:.2g} to {top:.2g} and peaks at the very end: the warm-up never "
                "finished")
    return None


def _early_spike(ctx: RunContext) -> str | None:
    """The training loss blew up at the start before settling: far above ln C, or rising to
    :data:`EARLY_RISE` times its first logged value (it should fall from there): updates too large."""
    c = ctx.curve("train_loss") or ctx.loss()
    if c is None:
        return None
    f = c.finite()
    if f.n < T.MIN_CURVE_POINTS:
        return None
    window = f.steps <= f.steps[0] + T.HEAD * (f.steps[-1] - f.steps[0])
    if window.sum() < 3:
        window = np.arange(f.n) < 3
    early = f.values[window]
    i = int(np.argmax(early))
    peak, first = float(early[i]), float(f.values[0])
    at = _step(float(f.steps[window][i]))
    if ctx.ln_c is not None and peak > T.DIVERGENCE_FACTOR * ctx.ln_c:
        return f"{c.name} spiked to {_g(peak)} at step {at} (> {T.DIVERGENCE_FACTOR:g} x ln C) before settling"
    if first > 0 and i > 0 and peak >= T.EARLY_RISE * first:
        return (f"{c.name} rose from {_g(first)} (step {_step(float(f.steps[0]))}) to {_g(peak)} at step {at}, "
                f"{peak / first:.1f}x, in the first {T.HEAD:.0%} of training: the first updates overshoot")
    return None


def _memorised_by_loss(ctx: RunContext) -> Evidence | None:
    """Without a training accuracy: the training loss falls well below ln C while the validation loss
    ends at or above ln C and the validation accuracy at chance (Zhang et al., ICLR 2017)."""
    val, vl, p = ctx.curve("val_acc"), ctx.curve("val_loss"), _progress(ctx.loss())
    if val is None or vl is None or p is None or ctx.ln_c is None or ctx.near_chance(val) is None:
        return None
    v_end = tail(vl.finite().values, T.FINAL) if vl.finite().n else math.nan
    if not (p.end <= T.RANDOM_LABELS_LOSS * ctx.ln_c and v_end >= ctx.ln_c and p.learned):
        return None
    return Evidence(f"{p.curve.name} falls from {_g(p.start)} to {_g(p.end)} ({p.end / ctx.ln_c:.0%} of ln C = "
                    f"{_g(ctx.ln_c)}) while {vl.name} ends at {_g(v_end)} (above ln C) and {val.name} at "
                    f"{tail(val.finite().values, T.FINAL):.3f} (chance {ctx.chance:.3f}): the training set is "
                    "memorised, nothing generalises", {"train_loss_end": p.end, "val_loss_end": v_end},
                    strength=strength(ctx.ln_c, max(p.end, 1e-9)))


def random_labels(ctx: RunContext) -> Evidence | None:
    """Validation at chance while training accuracy climbs well above it, or the training loss falls
    well below ln C while the validation loss stays above it (memorisation)."""
    val, train = ctx.curve("val_acc"), ctx.train_perf()
    if val is None or ctx.chance is None:
        return None
    if train is None or not ctx.has("train_acc", "train_acc_step"):
        return _memorised_by_loss(ctx)
    if ctx.near_chance(val) is None:
        return None
    t = train.finite().smooth().values
    if len(t) < T.MIN_EVALS:
        return None
    need = max(T.RANDOM_LABELS_MEMO * (1 - ctx.chance), T.NOISE_Z * noise_sigma(t))
    final, first = tail(t, T.FINAL), head(t, T.FINAL)
    if final < ctx.chance + need or final - first < need:
        return None
    vfinal = tail(val.finite().values, T.FINAL)
    return Evidence(f"{train.name} climbs from {first:.3f} to {final:.3f} while {val.name} stays at {vfinal:.3f} "
                    f"(chance {ctx.chance:.3f})", {"train_final": final, "val_final": vfinal, "chance": ctx.chance},
                    strength=strength(final - ctx.chance, need))


def _forget_peak_drop(ctx: RunContext) -> Evidence | None:
    acc = ctx.val_perf() or ctx.curve("train_acc")
    if acc is None:
        return None
    s = acc.finite().smooth()
    v = s.values
    if len(v) < T.MIN_EVALS + 1:
        return None
    base = ctx.chance if ctx.chance is not None else 0.0
    i = int(np.argmax(v))
    peak = float(v[i])
    if peak < base + T.FORGET_PEAK * (1 - base) or len(v) - 1 - i < T.OVERFIT_AFTER:
        return None
    drop = max(T.FORGET_DROP * (peak - base), T.NOISE_Z * noise_sigma(v))
    last = v[-T.OVERFIT_AFTER:]
    if not np.all(last <= peak - drop):
        return None
    loss = ctx.loss()
    if loss is not None and not loss.finite_mask.all():
        return None  # the loss went NaN/inf: divergence, not forgetting
    p = _progress(loss)
    if p is not None and (p.rebounded or p.end - p.minimum > (1 - T.FORGET_KEEP) * (p.start - p.minimum)):
        return None  # the training loss collapsed too: divergence, not forgetting
    return Evidence(f"{acc.name} reached {peak:.3f} at step {_step(float(s.steps[i]))} then fell to "
                    f"{float(np.median(last)):.3f} and stayed down", {"peak": peak, "final": float(np.median(last))},
                    (float(s.steps[i]),), strength(peak - float(np.median(last)), drop))


def _forget_block_hits(ctx: RunContext) -> Evidence | None:
    c = ctx.curve("train_acc_step")
    if c is None:
        return None
    f = c.finite()
    a = np.clip(f.values, 0.0, 1.0)
    n = len(a)
    if n < T.FORGET_MIN_STEPS:
        return None
    levels = np.unique(np.round(a, 6))
    gaps = np.diff(levels)
    gaps = gaps[gaps > 1e-6]
    if not len(gaps):
        return None
    batch = int(round(1.0 / float(gaps.min())))
    if batch < T.FORGET_MIN_BATCH or batch > 100_000:
        return None
    w = T.FORGET_NEIGHBOURS
    padded = np.pad(a, w, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * w + 1)
    neighbours = np.median(np.delete(windows, w, axis=1), axis=1)
    quiet, busy = neighbours <= T.FORGET_LOW_LEVEL, neighbours >= T.FORGET_HIGH_LEVEL
    high = (a >= T.FORGET_HIT_HIGH) & quiet
    low = (a <= T.FORGET_HIT_LOW) & busy
    observed = int(high.sum() + low.sum())
    if observed < T.FORGET_MIN_EPISODES:
        return None
    from scipy.stats import binom

    p = np.clip(neighbours, T.BINOMIAL_CLIP, 1 - T.BINOMIAL_CLIP)
    k_high = math.ceil(T.FORGET_HIT_HIGH * batch - 1e-9)
    k_low = math.floor(T.FORGET_HIT_LOW * batch + 1e-9)
    expected = float(np.sum(np.where(quiet, binom.sf(k_high - 1, batch, p), 0.0))
                     + np.sum(np.where(busy, binom.cdf(k_low, batch, p), 0.0)))
    idx = np.nonzero(high | low)[0]
    episodes = 1 + int(np.sum(np.diff(idx) > w))
    if observed < T.FORGET_EXCESS * expected or episodes < T.FORGET_MIN_EPISODES:
        return None
    hit_steps = f.steps[idx]
    return Evidence(f"{c.name} jumps between ~0 and ~1 in whole blocks at {observed} steps in {episodes} episodes "
                    f"(shuffled batches of "
                    f"{batch} would give {expected:.2g}), first at step {_step(float(hit_steps[0]))}",
                    {"block_hits": float(observed), "expected": expected, "batch": float(batch)},
                    tuple(float(s) for s in hit_steps[:5]), T.STRENGTH_STRONG)


def _forget_below_chance(ctx: RunContext) -> Evidence | None:
    train, val = ctx.train_perf(), ctx.curve("val_acc")
    if train is None or val is None or ctx.curve("train_score") is train:
        return None
    t, v = train.finite().smooth().values, val.finite().values
    if len(t) < 2 or len(v) < 2:
        return None
    tf, vf = tail(t, T.FINAL), tail(v, T.FINAL)
    below = T.FORGET_BELOW_CHANCE
    # without a stated C, a training accuracy near 0 is below chance for any C up to 1 / FORGET_ZERO_ACC
    chance = ctx.chance if ctx.chance is not None else T.FORGET_ZERO_ACC / below
    what = f"chance {ctx.chance:.3f}" if ctx.chance is not None else f"chance for up to {round(below / T.FORGET_ZERO_ACC)} classes"
    if tf <= below * chance and tf <= below * vf and vf >= below * chance:
        return Evidence(f"{train.name} is {tf:.3f}, below {what} and below {val.name} {vf:.3f}: "
                        f"the model keeps predicting the previous block's class", {"train_final": tf, "val_final": vf},
                        strength=T.STRENGTH_STRONG)
    return None


def catastrophic_forgetting(ctx: RunContext) -> Evidence | None:
    """Accuracy rises then collapses while the loss on what is being trained stays low; or the per-step
    accuracy of class-sorted data (whole blocks right or wrong); or training accuracy below chance."""
    parts = [e for e in (_forget_peak_drop(ctx), _forget_block_hits(ctx), _forget_below_chance(ctx)) if e]
    if not parts:
        return None
    values: dict[str, float] = {}
    for e in parts:
        values.update(e.values)
    return Evidence("; ".join(e.summary for e in parts), values, tuple(s for e in parts for s in e.steps),
                    max(e.strength for e in parts))


def _val_start(ctx: RunContext) -> tuple[Curve, float] | None:
    acc = ctx.curve("val_acc")
    if acc is None:
        return None
    f = acc.finite()
    if not f.n:
        return None
    early = f.values[(np.array([ctx.frac(float(s)) for s in f.steps]) <= T.EARLY_FRAC)]
    best_early = float(max(f.values[0], early.max() if len(early) else f.values[0]))
    return f, best_early


def _file_leakage(ctx: RunContext) -> Evidence | None:
    """The leakage scan of the run's own train/validation arrays found copies or a label-encoding input."""
    d = ctx.data
    if d is None or not d.leaks:
        return None
    r = d.leakage
    dup = r.exact_duplicates + r.near_duplicates
    promote = ("split-overlap", "answer-encoded") if dup >= len(r.leaky_columns) and dup else \
        ("answer-encoded", "split-overlap")
    return Evidence(f"{d.train} vs {d.val}: {r.message}",
                    {"exact_duplicates": float(r.exact_duplicates), "near_duplicates": float(r.near_duplicates),
                     "leaky_columns": float(len(r.leaky_columns)), "n_val": float(r.n_val)},
                    strength=T.STRENGTH_STRONG, promote=promote)


def data_leakage(ctx: RunContext) -> Evidence | None:
    """The run's own data files show validation rows copied from training or an input that encodes the
    label (issue 15 item 7); or near-perfect validation accuracy at the first evaluation or within the
    first tenth of training - unless the validation set is too small for that to mean anything."""
    found = _file_leakage(ctx)
    if found is not None:
        return found
    vs = _val_start(ctx)
    if vs is None or vs[1] < T.NEAR_PERFECT or _eval_size(ctx) is not None:
        return None
    f, best = vs
    return Evidence(f"{f.name} is already {best:.4f} (>= {T.NEAR_PERFECT}) at the first evaluation or within the "
                    f"first {T.EARLY_FRAC:.0%} of training (step {_step(float(f.steps[0]))})",
                    {"early_val_acc": best}, (float(f.steps[0]),), strength(1 - T.NEAR_PERFECT, max(1 - best, 1e-6)),
                    ("answer-encoded",))


def _granularity(values: np.ndarray) -> int | None:
    """The smallest n <= :data:`GRANULARITY_MAX_N` such that every value is a multiple of 1/n (an
    accuracy on n examples), from at least :data:`GRANULARITY_MIN_DISTINCT` distinct values."""
    v = values[np.isfinite(values) & (values >= 0) & (values <= 1)]
    if len(np.unique(np.round(v, 6))) < T.GRANULARITY_MIN_DISTINCT:
        return None
    for n in range(2, T.GRANULARITY_MAX_N + 1):
        k = v * n
        if np.all(np.abs(k - np.round(k)) <= T.GRANULARITY_TOL * n):
            return n
    return None


def _eval_size(ctx: RunContext) -> tuple[int, str, float, tuple[float, float]] | None:
    """``(n, how, final, (low, high))`` when the validation set is too small for its accuracy
    (:data:`SMALL_EVAL_HALFWIDTH`): n from the run's validation file, else from the accuracies
    themselves (every value a multiple of 1/n)."""
    val = ctx.curve("val_acc")
    if val is None or val.finite().n < T.MIN_EVALS:
        return None
    v = val.finite().values
    if ctx.data is not None and ctx.data.n_val:
        n, how = int(ctx.data.n_val), f"{ctx.data.val} holds {ctx.data.n_val} examples"
    else:
        g = _granularity(v)
        if g is None:
            return None
        n, how = g, f"{val.name} takes only values k/{g} ({len(np.unique(np.round(v, 6)))} distinct in {len(v)} evaluations)"
    final = tail(v, T.FINAL)
    from trialwise.metrics import wilson_interval

    ci = wilson_interval(int(round(final * n)), n)
    if max(ci.high - final, final - ci.low) < T.SMALL_EVAL_HALFWIDTH:
        return None
    return n, how, final, (ci.low, ci.high)


def small_eval_set(ctx: RunContext) -> Evidence | None:
    """The 95% interval of the final validation accuracy is at least 10 points wide on a side: the
    validation set is too small for it to rank or flag anything (seed 002: "Test dataset too small")."""
    found = _eval_size(ctx)
    if found is None:
        return None
    n, how, final, (low, high) = found
    return Evidence(f"{how}: the final {final:.3f} has a 95% interval [{low:.3f}, {high:.3f}] (Wilson); one "
                    f"example moves it by {1 / n:.3f}", {"n_val": float(n), "final": final, "low": low, "high": high},
                    strength=strength(max(high - final, final - low), T.SMALL_EVAL_HALFWIDTH),
                    promote=("test-too-small",))


def _regularized(ctx: RunContext) -> bool:
    drop = ctx.config_value("dropout", "drop_rate", "dropout_rate", "p_dropout")
    aug = ctx.config_value("augment", "augmentation", "mixup", "cutmix", "label_smoothing")
    return (isinstance(drop, (int, float)) and drop > 0) or bool(aug)


def suspiciously_good(ctx: RunContext) -> Evidence | None:
    """Near-perfect early, or validation consistently better than training by a margin."""
    found: list[str] = []
    values: dict[str, float] = {}
    vs = _val_start(ctx)
    if vs is not None and vs[1] >= T.NEAR_PERFECT:
        found.append(f"{vs[0].name} is {vs[1]:.4f} at the start")
        values["early_val_acc"] = vs[1]
    val, train = ctx.val_perf(), ctx.train_perf()
    good = val is not None and val.finite().n and (
        ctx.near_chance(val) is None if ctx.chance is not None else
        val is not ctx.curve("val_acc") or tail(val.finite().values, T.FINAL) >= T.SATISFIED_ACC)
    if val is not None and train is not None and good:
        v = val.finite()
        keep = np.array([ctx.frac(float(s)) for s in v.steps]) >= T.SUSPICIOUS_SKIP
        if keep.sum() >= T.MIN_EVALS:
            d = v.values[keep] - np.asarray(train.at(v.steps[keep]))
            margin = max(T.SUSPICIOUS_MARGIN, T.NOISE_Z * noise_sigma(d))
            if np.mean(d > 0) >= T.SUSPICIOUS_CONSISTENT and min(float(np.median(d)), tail(d, 1 / 3)) > margin:
                found.append(f"{val.name} beats {train.name} by {float(np.median(d)):.3f} (median) in "
                             f"{np.mean(d > 0):.0%} of evaluations")
                values["val_minus_train"] = float(np.median(d))
    vl, tl = ctx.curve("val_loss"), ctx.loss()
    if vl is not None and tl is not None and tl.finite().n >= 2:
        v = vl.finite()
        keep = np.array([ctx.frac(float(s)) for s in v.steps]) >= T.SUSPICIOUS_SKIP
        if keep.sum() >= T.MIN_EVALS:
            tr = np.asarray(tl.smooth().at(v.steps[keep]))
            ok = tr > 0
            if ok.sum() >= T.MIN_EVALS:
                r = v.values[keep][ok] / tr[ok]
                low = r < T.SUSPICIOUS_LOSS_RATIO
                if np.mean(low) >= T.SUSPICIOUS_CONSISTENT and tail(r, 1 / 3) < T.SUSPICIOUS_LOSS_RATIO:
                    found.append(f"{vl.name} is {float(np.median(r)):.2f}x {tl.name} (median) in "
                                 f"{np.mean(r < T.SUSPICIOUS_LOSS_RATIO):.0%} of evaluations")
                    values["val_over_train_loss"] = float(np.median(r))
    if not found:
        return None
    reg = _regularized(ctx)
    promote = ("train-only-regularization",) if reg and "early_val_acc" not in values else ("answer-encoded",)
    st = T.STRENGTH_WEAK if reg else T.STRENGTH_MEDIUM
    return Evidence("; ".join(found), values, strength=st, promote=promote)


def overfitting(ctx: RunContext) -> Evidence | None:
    """Validation loss rises from its minimum (sustained) while training loss keeps falling; or the
    train - val accuracy gap passes AutoTrainer's threshold and keeps widening."""
    vl = ctx.curve("val_loss")
    if vl is not None and vl.finite().n >= T.MIN_CURVE_POINTS:
        s = vl.smooth()
        v = s.values
        i = int(np.argmin(v))
        vmin = float(v[i])
        if len(v) - 1 - i >= T.OVERFIT_AFTER and i <= T.OVERFIT_MIN_POSITION * (len(v) - 1):
            rise = max(T.OVERFIT_RISE * abs(vmin), T.NOISE_Z * noise_sigma(v))
            last = v[-T.OVERFIT_AFTER:]
            if np.all(last > vmin + rise):
                step_min = float(s.steps[i])
                tl = ctx.loss()
                text = (f"{vl.name} rose from its minimum {_g(vmin)} (step {_step(step_min)}) to "
                        f"{_g(float(np.median(last)))}")
                st = strength(float(np.median(last)) - vmin, rise)
                if tl is not None and tl.finite().n >= 2:
                    ts = tl.smooth()
                    t_at, t_end = float(ts.at(step_min)), tail(ts.values, T.TAIL)
                    if not t_end < t_at - max(noise_sigma(ts.values), T.MIN_FALL * abs(t_at)):
                        return None
                    text += f" while {tl.name} fell from {_g(t_at)} to {_g(t_end)}"
                else:
                    st *= T.STRENGTH_MEDIUM
                metric = _val_metric_after(ctx, step_min)
                mild = False
                promote: tuple[str, ...] = ()
                if metric is not None:
                    fell, line, gap_ok = metric
                    text += f"; {line}"
                    mild = not fell and gap_ok
                    if fell and ctx.frac(step_min) < T.EARLY_MINIMUM:
                        promote = ("trained-too-long",)
                    elif _memorised(ctx):
                        promote = ("too-little-data",)
                elif ctx.frac(step_min) < T.EARLY_MINIMUM:
                    promote = ("trained-too-long",)
                return Evidence(text, {"val_min": vmin, "val_end": float(np.median(last))}, (step_min,), st, promote,
                                mild=mild)
    val, train = ctx.val_perf(), ctx.train_perf()
    if val is None or train is None:
        return None
    v = val.finite()
    if v.n < T.MIN_CURVE_POINTS or (ctx.chance is not None and ctx.near_chance(val) is not None):
        return None
    gap = np.asarray(train.at(v.steps)) - v.values
    t_end = tail(np.asarray(train.at(v.steps)), T.FINAL)
    need = T.OVERFIT_GAP_HIGH if t_end > T.OVERFIT_GAP_SWITCH else T.OVERFIT_GAP_LOW
    g_end, g_start = tail(gap, T.FINAL), head(gap, T.FINAL)
    widened = g_end - g_start >= need / 2
    fitted = t_end >= T.OVERFIT_TRAIN_FIT  # the training set is learned and the gap is what is left
    if g_end >= max(need, T.NOISE_Z * noise_sigma(gap)) and (widened or fitted):
        how = f"widened from {g_start:.3f} to" if widened else f"is {g_end:.3f} with {train.name} at {t_end:.3f}:"
        return Evidence(f"{train.name} - {val.name} gap {how} {g_end:.3f} (AutoTrainer threshold {need})",
                        {"gap_end": g_end, "gap_start": g_start, "train_end": t_end},
                        strength=T.STRENGTH_WEAK * strength(g_end, need))
    return None


def _val_metric_after(ctx: RunContext, step: float) -> tuple[bool, str, bool] | None:
    """``(fell, text, gap_ok)`` of the validation metric after the validation loss' minimum at ``step``:
    whether it fell from its best by more than noise (the accuracy is what the run is for: a loss that
    creeps up while the accuracy stays flat is calibration, not overfitting that costs anything), and
    whether the train - val accuracy gap stays under AutoTrainer's threshold."""
    val = ctx.val_perf()
    if val is None or val.finite().n < T.MIN_EVALS:
        return None
    v = val.finite()
    after = v.values[v.steps >= step]
    if not len(after):
        return None
    best = float(np.max(v.values))
    final = tail(after, T.FINAL)
    drop = best - final
    tol = max(T.UNDERFIT_TOL, T.NOISE_Z * noise_sigma(v.values))
    train = ctx.train_perf()
    gap_ok = True
    if train is not None and train.finite().n:
        t_end = tail(np.asarray(train.at(v.steps)), T.FINAL)
        need = T.OVERFIT_GAP_HIGH if t_end > T.OVERFIT_GAP_SWITCH else T.OVERFIT_GAP_LOW
        gap_ok = t_end - final < need
    fell = drop > tol
    text = (f"{val.name} fell from its best {best:.3f} to {final:.3f}" if fell else
            f"{val.name} stays at {final:.3f} (best {best:.3f}, within {tol:.3f})")
    return fell, text, gap_ok


def _memorised(ctx: RunContext) -> bool:
    train = ctx.train_perf()
    return train is not None and train.finite().n > 0 and tail(train.finite().values, T.FINAL) >= T.MEMORISED


def _still_falling(ctx: RunContext) -> bool:
    p = _progress(ctx.loss())
    if p is None:
        return False
    s = p.curve
    q = s.steps >= s.steps[0] + T.STILL_FALLING_FROM * (s.steps[-1] - s.steps[0])
    if q.sum() < T.MIN_EVALS:
        return False
    change = theil_sen(s.steps[q], s.values[q]) * float(s.steps[q][-1] - s.steps[q][0])
    return change < -max(T.NOISE_Z * p.noise, T.PLATEAU_FLAT * abs(float(np.median(s.values[q]))))


WIDTH_KEYS = ("width", "hidden", "hidden_size", "hidden_dim", "n_hidden", "num_hidden", "hidden_units",
              "num_units", "units", "d_model", "hidden_layer_size", "hidden_layer_sizes")
"""Parameter names of a network's hidden width (people's, Hugging Face's ``hidden_size``, ``d_model``)."""


def _too_narrow(ctx: RunContext) -> str | None:
    """The stated hidden width is smaller than the number of classes minus one: the logits of a
    softmax fed by d features span at most d + 1 dimensions, so not every ranking of C classes can be
    expressed (Yang et al., "Breaking the softmax bottleneck", ICLR 2018) - seed 002's "Poor
    architecture (too narrow or deep) - Diagnostic: Increasing width ... fixes issue"."""
    if ctx.n_classes is None:
        return None
    for key in WIDTH_KEYS:
        w = ctx.config_value(key)
        if isinstance(w, (int, np.integer)) and not isinstance(w, bool) and 1 <= w < ctx.n_classes - 1:
            where = ctx.run.sources.get(key) or next((v for k, v in ctx.run.sources.items() if k.lower() == key),
                                                     "tw.config")
            return (f"{key} = {w} ({where}) is narrower than the {ctx.n_classes} classes need: a softmax fed by {w} "
                    f"features cannot rank every class (the softmax bottleneck)")
    return None


def underfitting(ctx: RunContext) -> Evidence | None:
    """Training performance short of the goal (seed 004: bias = train error - goal); without a goal,
    training accuracy below AutoTrainer's satisfactory 0.7 but above chance."""
    role = ctx.goal_role
    goal = ctx.goal
    if goal is None:
        train = ctx.train_perf()
        if train is None or ctx.curve("train_score") is train:
            return None
        goal, higher = T.SATISFIED_ACC, True
        default = True
    else:
        default = False
        higher = role is None or not role.endswith("loss")
        if role is None or role.endswith(("acc", "acc_step")):
            train = ctx.train_perf() if ctx.curve("train_score") is not ctx.train_perf() else None
        elif role.endswith("score"):
            train = ctx.curve("train_score")
        else:
            train = ctx.loss()
    if train is None:
        return None
    t = train.finite().smooth().values
    if len(t) < T.MIN_EVALS:
        return None
    final = tail(t, T.FINAL)
    k = max(1, int(math.ceil(T.FINAL * len(t))))
    noise = T.NOISE_Z * noise_sigma(t) / math.sqrt(k)
    bias = goal - final if higher else final - goal
    tol = max(T.UNDERFIT_TOL if higher else T.UNDERFIT_TOL * abs(goal), noise)
    if bias <= tol:
        return None
    narrow = _too_narrow(ctx)
    if default and narrow is None and ctx.chance is not None and ctx.near_chance(train) is not None:
        return None  # chance-level takes it, unless the architecture itself says why
    text = (f"{train.name} ends at {final:.3g}, {abs(bias):.3g} short of the "
            + ("default satisfactory accuracy 0.7 (AutoTrainer; set [metric] goal)" if default else f"goal {goal:g}"))
    promote: tuple[str, ...] = ("not-trained-enough",) if _still_falling(ctx) else ()
    if narrow is not None:
        text += f"; {narrow}"
        promote = ("model-too-small", *promote)
    return Evidence(text, {"train_final": final, "goal": goal, "bias": bias},
                    strength=strength(bias, tol) * (T.DEFAULT_GOAL_DISCOUNT if default else 1.0), promote=promote)


def plateau_low(ctx: RunContext) -> Evidence | None:
    """The loss fell, then stayed flat for the last 40% of training at a level still above half of ln(C)."""
    if ctx.ln_c is None and not ctx.has("train_acc", "train_acc_step", "val_acc"):
        return None
    p = _progress(ctx.loss())
    if p is None or p.curve.n < T.MIN_SHAPE_POINTS or not p.learned or p.rebounded:
        return None
    s = p.curve
    win = s.steps >= s.steps[0] + (1 - T.PLATEAU_SPAN) * (s.steps[-1] - s.steps[0])
    if win.sum() < T.MIN_EVALS:
        return None
    level = float(np.median(s.values[win]))
    change = theil_sen(s.steps[win], s.values[win]) * float(s.steps[win][-1] - s.steps[win][0])
    if abs(change) > max(T.PLATEAU_FLAT * abs(level), T.NOISE_Z * p.noise):
        return None
    ref = ctx.ln_c if ctx.ln_c is not None else p.start
    if level < T.PLATEAU_LEVEL * ref or (ctx.ln_c is not None and level >= T.CHANCE_LOSS_LOW * ctx.ln_c):
        return None
    promote: list[str] = []
    lr = ctx.curve("lr")
    lrv = lr.finite().values if lr is not None else np.empty(0)
    if len(lrv) >= 2 and float(lrv[-1]) <= T.LR_DECAYED * float(lrv.max()):
        promote.append("lr-too-low")
    if _lr_low_hint(ctx):
        promote.append("lr-too-low")
    if _regularized(ctx):
        promote.append("too-much-regularization")
    ref_name = f"ln({ctx.n_classes}) = {_g(ref)}" if ctx.ln_c is not None else f"its start {_g(ref)}"
    return Evidence(f"{s.name} flat at {_g(level)} over the last {T.PLATEAU_SPAN:.0%} of training "
                    f"(change {_g(change)}), still {level / ref:.0%} of {ref_name}",
                    {"plateau_level": level, "reference": ref, "change": change},
                    strength=strength(level / ref, T.PLATEAU_LEVEL), promote=tuple(dict.fromkeys(promote)))


def slow_start(ctx: RunContext) -> Evidence | None:
    """The first tenth of the loss decrease comes only after a quarter of training (a flat start)."""
    c = ctx.loss()
    sign = 1.0
    if c is None:
        c, sign = ctx.accuracy(), -1.0
    if c is None or c.finite().n < T.MIN_CURVE_POINTS + 1:
        return None
    s = c.smooth()
    v = sign * s.values
    start, end = head(v, T.HEAD), tail(v, T.TAIL)
    total = start - end
    if total < max(T.SLOW_START_PROGRESS * abs(start), T.NOISE_Z * noise_sigma(v)):
        return None
    below = np.nonzero(v <= start - T.SLOW_START_SHARE * total)[0]
    if not len(below):
        return None
    tx = float(s.steps[below[0]])
    frac = (tx - float(s.steps[0])) / (float(s.steps[-1]) - float(s.steps[0]))
    if frac < T.SLOW_START_FRAC:
        return None
    lr = ctx.curve("lr")
    if lr is not None and lr.finite().n >= 2:
        lv = lr.finite()
        early = lv.values[lv.steps <= tx]
        if len(early) >= 2 and early.max() >= T.WARMUP_FACTOR * max(early[0], 1e-300):
            return None
    return Evidence(f"{s.name} stays flat near {_g(sign * start)} until step {_step(tx)} ({frac:.0%} of training), "
                    f"then falls to {_g(sign * end)}", {"flat_until_frac": frac, "start": sign * start,
                                                        "end": sign * end}, (tx,), strength(frac, T.SLOW_START_FRAC))


def loss_oscillation(ctx: RunContext) -> Evidence | None:
    """In the second half the loss does not fall, and its (block) means bounce around their trend by a
    large relative amplitude, well beyond what per-step noise explains."""
    c = ctx.loss()
    if c is None or c.finite().n < T.MIN_SHAPE_POINTS:
        return None
    f = c.finite()
    s = c.smooth()
    start = head(s.values, T.HEAD)
    half = s.steps >= s.steps[0] + (s.steps[-1] - s.steps[0]) / 2
    if half.sum() < T.MIN_CURVE_POINTS or start <= 0:
        return None
    x, y = s.steps[half], s.values[half]
    level = float(np.median(y))
    if level < T.OSC_LEVEL * start:
        return None
    slope = theil_sen(x, y)
    resid = y - (float(np.median(y - slope * x)) + slope * x)
    amp = robust_sd(resid)
    rel = amp / level
    if rel < T.OSC_REL:
        return None
    if slope * float(x[-1] - x[0]) < -max(T.OSC_MIN_DECREASE * level, 2 * amp):
        return None  # falls by more than it bounces
    if f.n >= 2 * len(s.values) and len(s.values) > 1:
        block = f.n / len(s.values)
        expected = T.MEDIAN_SE * noise_sigma(f.values) / math.sqrt(block)
        if amp < T.OSC_NOISE_RATIO * expected:
            return None
        extra = f"; {amp / max(expected, 1e-300):.1f}x the spread batch noise would give"
    else:
        d = np.diff(y)
        flips = float(np.mean(np.sign(d[1:]) != np.sign(d[:-1]))) if len(d) > 1 else 0.0
        if flips < T.OSC_FLIPS:
            return None
        extra = f"; direction flips at {flips:.0%} of epochs"
    return Evidence(f"{c.name} does not decrease over the second half (level {_g(level)}) and bounces by "
                    f"{rel:.0%} of its level{extra}", {"relative_amplitude": rel, "level": level},
                    strength=strength(rel, T.OSC_REL))


def _rolling_median(y: np.ndarray, window: int) -> np.ndarray:
    h = window // 2
    padded = np.pad(y, h, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * h + 1), axis=1)


def small_batch_noise(ctx: RunContext) -> Evidence | None:
    """Per-step loss noise large relative to its local trend during the first descent through the
    middle levels, while the trend falls fine (seed 002: "minibatch size is too small")."""
    c = ctx.curve("train_loss")
    if c is None:
        return None
    f = c.finite()
    if f.n < 4 * T.SBN_WINDOW:
        return None
    bs = ctx.config_value(*BATCH_KEYS)
    if isinstance(bs, (int, float)) and not isinstance(bs, bool) and bs > T.SBN_MAX_BATCH:
        return None
    y = f.values
    trend = _rolling_median(y, T.SBN_WINDOW)
    start, end = head(trend, T.HEAD), tail(trend, T.TAIL)
    if start <= 0 or end > T.SBN_DECREASE * start:
        return None
    lo, hi = T.SBN_BAND
    enter = np.nonzero(trend <= hi * start)[0]
    leave = np.nonzero(trend <= lo * start)[0]
    if not len(enter):
        return None
    a = int(enter[0])
    b = int(leave[0]) if len(leave) else len(y)
    if b - a < T.SBN_MIN_POINTS or np.any(trend[a:b] <= 0):
        return None
    cv = robust_sd(y[a:b] / trend[a:b])
    if cv < T.SBN_CV:
        return None
    extra = f" (batch_size {bs})" if bs is not None else ""
    dip = _val_dip(ctx)
    text = (f"{c.name} varies by {cv:.0%} around its local trend per step{extra} between steps "
            f"{_step(float(f.steps[a]))} and {_step(float(f.steps[b - 1]))}, while the trend falls from "
            f"{_g(start)} to {_g(end)}")
    text += f"; it costs accuracy: {dip}" if dip else "; validation accuracy does not suffer (mild)"
    return Evidence(text, {"relative_noise": cv, "start": start, "end": end}, (float(f.steps[a]),),
                    strength(cv, T.SBN_CV), ("batch-too-small",), mild=dip is None)


def _val_dip(ctx: RunContext) -> str | None:
    """A validation accuracy that falls between two evaluations by more than :data:`VAL_DIP` (or 3
    binomial standard errors of the evaluation set when its size is known): the step noise reaches
    the model the run ends with (issue 15 item 4)."""
    val = ctx.curve("val_acc")
    if val is None or val.finite().n < 2:
        return None
    v = val.finite()
    n = ctx.data.n_val if ctx.data is not None and ctx.data.n_val else _granularity(v.values)
    d = np.diff(v.values)
    i = int(np.argmin(d))
    p = float(np.clip(v.values[i], 0.01, 0.99))
    tol = max(T.VAL_DIP, T.NOISE_Z * math.sqrt(p * (1 - p) / n)) if n else T.VAL_DIP
    if -d[i] <= tol:
        return None
    return (f"{v.name} drops from {v.values[i]:.3f} to {v.values[i + 1]:.3f} between steps {_step(float(v.steps[i]))} "
            f"and {_step(float(v.steps[i + 1]))} (> {tol:.3f}), best {float(v.values.max()):.3f}")


# -- second evaluation set ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Gap:
    test_minus_val: float
    val_minus_train: float | None
    tol: float
    shift_min: float
    text: str


def _test_gap(ctx: RunContext) -> _Gap | None:
    test, val = ctx.test_perf(), ctx.val_perf()
    relative = False
    if test is None or val is None:
        test, val = ctx.curve("test_loss"), ctx.curve("val_loss")
        relative = True
        if test is None or val is None:
            return None
    t, v = test.finite(), val.finite()
    if not t.n or not v.n:
        return None
    vv = np.asarray(v.at(t.steps))  # validation where the second set was evaluated
    k = min(T.MIN_EVALS, t.n)
    if relative:
        base = float(np.median(vv[-k:]))
        if base <= 0:
            return None
        d = (t.values - vv) / base
        train = ctx.loss()
        vt = None
        if train is not None and train.finite().n:
            tr = float(np.median(np.asarray(train.smooth().at(t.steps[-k:]))))
            vt = (base - tr) / tr if tr > 0 else None
        tol, shift = T.GAP_TOL_REL, T.SHIFT_MIN_REL
        unit = "relative loss"
    else:
        d = vv - t.values
        train = ctx.train_perf()
        vt = float(np.median(np.asarray(train.at(t.steps[-k:])) - vv[-k:])) if train is not None else None
        tol, shift = T.GAP_TOL, T.SHIFT_MIN
        unit = "accuracy"
    # the second set tracks validation: the noise that matters is that of their difference
    noise = T.NOISE_Z * noise_sigma(d) / math.sqrt(k) if len(d) >= 4 else 0.0
    gap = float(np.median(d[-k:]))
    text = (f"{test.name} is worse than {val.name} by {gap:.3g} ({unit})"
            + (f"; {val.name} vs training gap {vt:.3g}" if vt is not None else ""))
    return _Gap(gap, vt, max(tol, noise), shift, text)


def _is_shift(g: _Gap) -> bool:
    base = max(g.val_minus_train if g.val_minus_train is not None else 0.0, g.tol)
    return g.test_minus_val >= g.shift_min and g.test_minus_val >= T.SHIFT_FACTOR * base


def val_overfitting(ctx: RunContext) -> Evidence | None:
    """Test worse than validation by more than noise, but not by the margin of a distribution shift."""
    g = _test_gap(ctx)
    if g is None or g.test_minus_val <= g.tol or _is_shift(g):
        return None
    return Evidence(g.text, {"test_minus_val": g.test_minus_val}, strength=strength(g.test_minus_val, g.tol))


def distribution_shift(ctx: RunContext) -> Evidence | None:
    """Test much worse than validation while validation tracks training (seed 004)."""
    g = _test_gap(ctx)
    if g is None or g.test_minus_val <= g.tol or not _is_shift(g):
        return None
    return Evidence(g.text, {"test_minus_val": g.test_minus_val,
                             "val_minus_train": g.val_minus_train if g.val_minus_train is not None else math.nan},
                    strength=strength(g.test_minus_val, g.shift_min))


# -- registry ----------------------------------------------------------------------------------------------

_LOSS = ("train_loss", "train_loss_epoch")
_ACC = ("val_acc", "train_acc", "train_acc_step")
_VALPERF = ("val_acc", "val_score")


@dataclass(frozen=True)
class DetectorSpec:
    """A detector and the roles it needs: every group in ``needs`` must have at least one role present."""

    code: str
    detect: Detector
    needs: tuple[tuple[str, ...], ...]
    requires: str
    needs_classes: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "detector": self.detect.__name__, "needs": [list(g) for g in self.needs],
                "requires": self.requires, "needs_classes": self.needs_classes}

    def missing(self, ctx: RunContext) -> str | None:
        """Why this detector cannot look at ``ctx`` (``None`` when it can)."""
        if any(not ctx.has(*group) for group in self.needs):
            return f"needs {self.requires}"
        if self.needs_classes and ctx.chance is None and ctx.ln_c is None:
            return "needs n_classes (or chance) to know the chance level"
        return None


DETECTORS: tuple[DetectorSpec, ...] = (
    DetectorSpec("loss-divergence", loss_divergence,
                 ((*_LOSS, "val_loss", "nonfinite_layer", "grad_norm_max", "grad_norm"),), "a loss series"),
    DetectorSpec("exploding-gradients", exploding_gradients, (("grad_norm_ratio", "grad_norm_max", "grad_norm"),),
                 "probe/grad_norm_ratio, probe/grad_norm_max or a logged grad_norm"),
    DetectorSpec("vanishing-gradients", vanishing_gradients, (("grad_norm_ratio",),), "probe/grad_norm_ratio"),
    DetectorSpec("dead-units", dead_units, (("dead_frac_max",),), "probe/dead_frac_max"),
    DetectorSpec("saturated-units", saturated_units, (("saturated_frac_max",),), "probe/saturated_frac_max"),
    DetectorSpec("unnormalized-input", unnormalized_input, (("input_mean", DATA_FILES), ("input_std", DATA_FILES)),
                 "probe/input_mean and probe/input_std, or the run's data files"),
    DetectorSpec("initial-loss", initial_loss, (("train_loss",),), "a per-step training loss"),
    DetectorSpec("chance-level", chance_level, ((*_LOSS, *_ACC),), "an accuracy or a cross-entropy loss",
                 needs_classes=True),
    DetectorSpec("random-labels", random_labels, (("val_acc",), ("train_acc", "train_acc_step", *_LOSS)),
                 "validation accuracy and a training accuracy or loss", needs_classes=True),
    DetectorSpec("catastrophic-forgetting", catastrophic_forgetting, ((*_ACC, "val_score"),), "an accuracy series"),
    DetectorSpec("data-leakage", data_leakage, (("val_acc", DATA_FILES),),
                 "validation accuracy or the run's train/validation data files"),
    DetectorSpec("suspiciously-good", suspiciously_good, (("val_acc", "val_score", "val_loss"),),
                 "validation and training metrics"),
    DetectorSpec("overfitting", overfitting, (("val_loss", *_VALPERF),), "a validation loss or metric"),
    DetectorSpec("underfitting", underfitting, ((*_LOSS, "train_acc", "train_acc_step", "train_score"),),
                 "a training metric (and a goal)"),
    DetectorSpec("plateau-low", plateau_low, (_LOSS,), "a training loss"),
    DetectorSpec("slow-start", slow_start, ((*_LOSS, *_ACC),), "a training loss or an accuracy"),
    DetectorSpec("loss-oscillation", loss_oscillation, (_LOSS,), "a training loss"),
    DetectorSpec("small-batch-noise", small_batch_noise, (("train_loss",),), "a per-step training loss"),
    DetectorSpec("small-eval-set", small_eval_set, (("val_acc",),), "a validation accuracy"),
    DetectorSpec("val-overfitting", val_overfitting, (("test_acc", "test_score", "test_loss"),),
                 "a second evaluation set (test_acc / test_loss)"),
    DetectorSpec("distribution-shift", distribution_shift, (("test_acc", "test_score", "test_loss"),),
                 "a second evaluation set (test_acc / test_loss)"),
)
"""Detector table (code -> detector), in the order they run."""

BY_CODE: dict[str, DetectorSpec] = {d.code: d for d in DETECTORS}
"""The same table by code."""
