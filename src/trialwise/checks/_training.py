"""Checks that train or differentiate a PyTorch model: overfit one batch, loss at init, LR range test,
gradient check.  Imports torch; :mod:`trialwise.checks` loads this module on first use.

Every check that trains restores the model's parameters and buffers (a deep copy of the
``state_dict``), its train/eval mode, the optimizer's state when one was passed, and the torch
random-number generators, so running a check leaves the training script where it was.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from trialwise._exceptions import UsageError
from trialwise.checks._records import GradcheckResult, InitialLossResult, LrCurve, LrRangeResult, OverfitResult

__all__ = ["gradcheck", "initial_loss_check", "lr_range_test", "overfit_one_batch"]

# -- constants ------------------------------------------------------------------------------------------

OVERFIT_STEPS = 200
"""Optimizer steps on the one batch (Karpathy, "A Recipe for Training Neural Networks", 2019:
"overfit one batch"; seed 002: "Can you overfit a small subset of the training data?")."""

OVERFIT_TARGET_FRACTION = 0.05
"""Without ``target_loss``, pass when the loss falls to this share of its initial value.
*trialwise*: Karpathy (2019) asks for "as low a loss as possible (e.g. zero)"; 5% of the initial
loss is reached within 200 steps by healthy digits MLPs and CNNs and never by the broken ones in
``tests/checks``."""

OVERFIT_LR = 3e-3
"""Adam learning rate of the default optimizer.  *trialwise*: 10x the seed-004 default (Adam 3e-4)
because memorising one batch needs no care for generalisation; at 3e-4 a two-layer digits MLP needs
more than 200 steps."""

INIT_LOSS_MAX_RATIO = 1.25
"""Initial cross-entropy above this multiple of ln(C) flags an over-confident initialisation
(Karpathy 2019, "verify loss @ init": expect -log(1/C)).  *trialwise* factor: PyTorch's default
init on normalised inputs gives 1.00-1.05; a layer scaled 6x gives about 2.4.  (The diagnose layer
uses a looser 3x on *logged* curves, whose first points may already be after some steps.)"""

INIT_LOSS_MIN_FRACTION = 0.5
"""Initial loss below this share of the batch's label entropy means the model already predicts the
labels before training: not at initialisation, or the input encodes the answer (seed 002).  A
prior-matched output bias (Karpathy 2019, "init well") gives about the label entropy, so it passes."""

SUMMED_LOSS_TOL = 0.3
"""A loss within this relative distance of batch_size x ln(C) looks summed instead of averaged
(same tolerance as :data:`trialwise.diagnose._thresholds.SUMMED_LOSS_TOL`)."""

LR_SMOOTHING = 0.98
"""Beta of the bias-corrected exponential moving average of the range-test loss (S. Gugger, "How Do
You Find A Good Learning Rate", 2017; fastai ``lr_find``)."""

LR_DIVERGENCE_FACTOR = 4.0
"""The sweep stops when the smoothed loss exceeds this multiple of its minimum (fastai ``lr_find``)."""

LR_SKIP_START = 0.1
"""The steepest-descent search skips this share of the sweep's first points, where the moving
average is still warming up (fastai plots skip the first 10 of 100 points)."""

LR_MIN_DIVISOR = 10.0
"""The "min/10" rule: one tenth of the learning rate at the minimum smoothed loss (fastai
``lr_find`` ``lr_min``; Smith 2017 takes the LR where the loss still falls)."""

LR_MIN_DROP = 0.05
"""A sweep gives no suggestion unless its smoothed loss falls at least this share below its start
before diverging.  *trialwise*: a flat curve (a model that cannot learn) otherwise yields a
"steepest" point from rounding noise."""

LR_SPREAD_MAX = 10.0
"""The range test passes when the per-seed suggestions span at most this factor (max/min).
*trialwise*: a suggestion that moves by more than a decade between seeds is noise, not a choice."""

LR_RULES = ("steepest", "min/10")


# -- shared plumbing -----------------------------------------------------------------------------------

def _cuda_devices(model: nn.Module) -> list[int]:
    return sorted({t.device.index or 0 for t in model.state_dict().values() if t.device.type == "cuda"})


@contextmanager
def _preserved(model: nn.Module, optimizer: Any = None) -> Iterator[dict[str, Any]]:
    """Restore ``model`` (state and mode), ``optimizer`` and the torch RNGs on exit."""
    state = copy.deepcopy(model.state_dict())
    opt_state = copy.deepcopy(optimizer.state_dict()) if isinstance(optimizer, torch.optim.Optimizer) else None
    training = model.training
    with torch.random.fork_rng(devices=_cuda_devices(model)):
        try:
            yield state
        finally:
            model.load_state_dict(state)
            model.train(training)
            if opt_state is not None:
                optimizer.load_state_dict(opt_state)


def _unpack(batch: Any, where: str) -> tuple[Any, Any]:
    if isinstance(batch, dict) and len(batch) == 2:
        batch = tuple(batch.values())
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise UsageError(f"The 'batch' parameter of {where} must be a pair (inputs, targets). Got "
                         f"{type(batch).__name__}{f' of length {len(batch)}' if hasattr(batch, '__len__') else ''} "
                         f"instead.")
    return batch[0], batch[1]


def _whole(value: Any, name: str, where: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise UsageError(f"The '{name}' parameter of {where} must be a whole number >= {low}. Got {value!r} instead.")
    return int(value)


def _make_optimizer(model: nn.Module, optimizer: Any, where: str) -> torch.optim.Optimizer:
    if optimizer is None:
        return torch.optim.Adam(model.parameters(), lr=OVERFIT_LR)
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):
        made = optimizer(model.parameters())
        if not isinstance(made, torch.optim.Optimizer):
            raise UsageError(f"The 'optimizer' factory of {where} must return a torch.optim.Optimizer. Got "
                             f"{type(made).__name__} instead.")
        return made
    raise UsageError(f"The 'optimizer' parameter of {where} must be None, a torch.optim.Optimizer or a "
                     f"factory params -> Optimizer. Got {type(optimizer).__name__} instead.")


def _accuracy(out: Any, y: Any) -> float | None:
    """Batch accuracy for class logits ``(N, C)`` with integer targets, or one binary logit."""
    if not (isinstance(out, torch.Tensor) and isinstance(y, torch.Tensor)) or not out.is_floating_point():
        return None
    if out.dim() == 2 and out.shape[1] >= 2 and y.dim() == 1 and not y.is_floating_point() and len(y) == len(out):
        return float((out.argmax(1) == y).float().mean())
    if out.squeeze(-1).shape == y.shape and y.is_floating_point() and bool(((y == 0) | (y == 1)).all()):
        return float(((out.squeeze(-1) > 0).float() == y).float().mean())
    return None


# -- overfit one batch ---------------------------------------------------------------------------------

def overfit_one_batch(model: nn.Module, batch: Any, loss_fn: Callable[[Any, Any], torch.Tensor],
                      optimizer: Any = None, steps: int = OVERFIT_STEPS,
                      target_loss: float | None = None) -> OverfitResult:
    """Train on one small batch and check that the loss goes to (near) zero.

    A model that cannot memorise a handful of examples has a bug: a detached output, labels that
    change under it, a learning rate of zero, a loss on the wrong tensors.  The model's state, mode
    and the torch RNGs are restored afterwards.

    Parameters
    ----------
    model : torch.nn.Module
        Called as ``model(inputs)`` in training mode.
    batch : (inputs, targets)
        One small batch (8-64 examples), on the model's device.
    loss_fn : callable
        ``loss_fn(model(inputs), targets) -> scalar tensor``.
    optimizer : torch.optim.Optimizer or callable, optional
        An optimizer over the model's parameters (its state is restored too), a factory
        ``params -> Optimizer``, or ``None`` for Adam at :data:`OVERFIT_LR`.
    steps : int
        Optimizer steps.
    target_loss : float, optional
        Pass when the loss reaches this.  Default: :data:`OVERFIT_TARGET_FRACTION` of the initial
        loss, or every example of the batch classified correctly (for class logits).

    Returns
    -------
    OverfitResult
        ``passed``, the loss trajectory ``losses`` (one per step, before the update), the final
        loss and batch accuracy (training mode off), ``steps_to_target``.

    References
    ----------
    .. [1] A. Karpathy, "A Recipe for Training Neural Networks", 2019 ("overfit one batch").
    .. [2] Seed 002 (Sultania, "Deep Learning in Practice"): "Implementation bug ... Can you overfit a
       small subset of the training data?"
    """
    where = "overfit_one_batch"
    steps = _whole(steps, "steps", where)
    x, y = _unpack(batch, where)
    with _preserved(model, optimizer):
        opt = _make_optimizer(model, optimizer, where)
        model.train()
        losses: list[float] = []
        problem = ""
        for i in range(steps):
            loss = loss_fn(model(x), y)
            if not loss.requires_grad:
                problem = (f"the loss does not depend on any trainable parameter (is the output detached, or "
                           f"computed under torch.no_grad?); step {i}")
                losses.append(float(loss.detach()))
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            if not math.isfinite(losses[-1]):
                problem = f"the loss became non-finite ({losses[-1]}) at step {i}"
                break
        model.eval()
        with torch.no_grad():
            out = model(x)
            final = float(loss_fn(out, y))
        accuracy = _accuracy(out, y)
    initial = losses[0]
    target = float(target_loss) if target_loss is not None else OVERFIT_TARGET_FRACTION * initial
    trajectory = [*losses, final]
    finite = [v for v in trajectory if math.isfinite(v)]
    best = min(finite) if finite else math.nan
    hit = next((i for i, v in enumerate(trajectory) if v <= target), None)
    memorised = target_loss is None and accuracy is not None and accuracy >= 1.0
    passed = not problem and (hit is not None or memorised)
    if passed:
        how = (f"reached {target:.3g} at step {hit}" if hit is not None
               else f"classifies the whole batch correctly (loss {final:.3g} above target {target:.3g})")
        message = f"the model memorises one batch: loss {initial:.3g} -> {final:.3g}, {how}"
    else:
        why = problem or (f"loss went {initial:.3g} -> {final:.3g} (best {best:.3g}) in {steps} steps, never "
                          f"below {target:.3g}" + (f"; batch accuracy {accuracy:.0%}" if accuracy is not None else ""))
        message = (f"the model cannot overfit one batch: {why}. Look for a bug: detached outputs, targets "
                   f"that do not match inputs, a zero or tiny learning rate, a loss on the wrong tensors")
    return OverfitResult(passed=passed, initial_loss=initial, final_loss=final, min_loss=best, target_loss=target,
                         steps=len(losses), steps_to_target=hit, accuracy=accuracy, losses=tuple(losses),
                         message=message)


# -- loss at initialisation ----------------------------------------------------------------------------

def _label_entropy(y: Any, n_classes: int) -> float:
    if not isinstance(y, torch.Tensor) or y.is_floating_point() or y.dim() != 1:
        return math.log(n_classes)
    counts = torch.bincount(y.detach().cpu().long().clamp(min=0), minlength=n_classes).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log()).sum())


def initial_loss_check(model: nn.Module, batch: Any, loss_fn: Callable[[Any, Any], torch.Tensor],
                       n_classes: int) -> InitialLossResult:
    """Compare the loss at initialisation with ln(C), the loss of a uniform prediction over C classes.

    An initial cross-entropy far above ln(C) means confident wrong outputs before any training:
    badly scaled weights or unnormalised inputs.  Far below the labels' entropy means the model
    already knows the labels.  Computed on one batch in training mode without gradients (the
    loss the first step sees); the model, its buffers and the RNGs are left as they were.

    Parameters
    ----------
    model : torch.nn.Module
    batch : (inputs, targets)
    loss_fn : callable
        A mean-reduced cross-entropy: ``loss_fn(model(inputs), targets) -> scalar``.
    n_classes : int
        Number of classes C (>= 2).

    Returns
    -------
    InitialLossResult
        ``passed`` when ``INIT_LOSS_MIN_FRACTION * H(labels) <= loss <= INIT_LOSS_MAX_RATIO * ln(C)``,
        with the ratio, the mean top-class probability and the logit standard deviation.

    References
    ----------
    .. [1] A. Karpathy, "A Recipe for Training Neural Networks", 2019 ("verify loss @ init").
    .. [2] H. Ben Braiek, F. Khomh, "Testing Feedforward Neural Networks Training Programs", ACM TOSEM
       2022 (initial-loss check).
    """
    where = "initial_loss_check"
    n_classes = _whole(n_classes, "n_classes", where, low=2)
    x, y = _unpack(batch, where)
    with _preserved(model), torch.no_grad():
        model.train()
        out = model(x)
        loss = float(loss_fn(out, y))
    expected = math.log(n_classes)
    ratio = loss / expected
    entropy = _label_entropy(y, n_classes)
    batch_size = len(out) if isinstance(out, torch.Tensor) and out.dim() >= 1 else 1
    mean_max_prob = logit_std = None
    if isinstance(out, torch.Tensor) and out.dim() == 2 and out.shape[1] == n_classes:
        o = out.detach().double()
        mean_max_prob = float(o.softmax(1).max(1).values.mean())
        logit_std = float(o.std()) if o.numel() > 1 else None
    too_high = not ratio <= INIT_LOSS_MAX_RATIO
    too_low = entropy > 0 and loss < INIT_LOSS_MIN_FRACTION * entropy
    passed = not (too_high or too_low)
    if passed:
        message = f"initial loss {loss:.3g} is {ratio:.2f}x ln({n_classes}) = {expected:.3g}, as expected at init"
    elif too_high and batch_size > 1 and abs(loss / (batch_size * expected) - 1) < SUMMED_LOSS_TOL:
        message = (f"initial loss {loss:.3g} is about batch size x ln({n_classes}) = {batch_size * expected:.3g}: the "
                   f"loss looks summed over the batch, not averaged; use reduction='mean'")
    elif too_high:
        conf = f" (mean top-class probability {mean_max_prob:.2f})" if mean_max_prob is not None else ""
        message = (f"initial loss {loss:.3g} is {ratio:.2f}x ln({n_classes}) = {expected:.3g} (> "
                   f"{INIT_LOSS_MAX_RATIO:g}x): the initialised model is confidently wrong{conf}; check weight "
                   f"scales (He/Glorot init), normalise the inputs, scale down the last layer")
    else:
        message = (f"initial loss {loss:.3g} is below {INIT_LOSS_MIN_FRACTION:g}x the labels' entropy "
                   f"{entropy:.3g}: the model predicts the labels before training; is it really at "
                   f"initialisation, and does the input encode the answer?")
    return InitialLossResult(passed=passed, loss=loss, expected=expected, ratio=ratio, label_entropy=entropy,
                             mean_max_prob=mean_max_prob, logit_std=logit_std, n_classes=n_classes,
                             batch_size=batch_size, message=message)


# -- learning-rate range test --------------------------------------------------------------------------

def _is_batch(obj: Any) -> bool:
    return isinstance(obj, (tuple, list)) and len(obj) == 2 and isinstance(obj[0], torch.Tensor)


def _batches(source: Any, seed: int) -> Iterator[Any]:
    """Endless batches: one batch repeated, a list in a seeded order per pass, or a re-iterated loader."""
    if _is_batch(source):
        while True:
            yield source
    if isinstance(source, Sequence):
        if not len(source):
            raise UsageError("The 'loader_or_batches' parameter of lr_range_test is empty.")
        rng = np.random.default_rng(seed)
        while True:
            for i in rng.permutation(len(source)):
                yield source[int(i)]
    while True:
        empty = True
        for b in source:
            empty = False
            yield b
        if empty:
            raise UsageError("The 'loader_or_batches' parameter of lr_range_test yielded no batch.")


def _suggest(lrs: np.ndarray, smoothed: np.ndarray) -> tuple[float | None, float | None]:
    """(steepest-descent LR, min/10 LR) of a smoothed curve (already cut at divergence)."""
    if len(smoothed) < 3 or smoothed.min() > (1 - LR_MIN_DROP) * smoothed[0]:
        return None, None
    min_lr = float(lrs[int(np.argmin(smoothed))]) / LR_MIN_DIVISOR
    skip = int(LR_SKIP_START * len(smoothed))
    s, lr = smoothed[skip:], lrs[skip:len(smoothed)]
    if len(s) < 3:
        return None, min_lr
    slope = np.gradient(s, np.log10(lr))
    i = int(np.argmin(slope))
    return (float(lr[i]) if slope[i] < 0 else None), min_lr


def _sweep(model: nn.Module, source: Any, loss_fn: Callable[[Any, Any], torch.Tensor],
           optimizer_factory: Callable[..., torch.optim.Optimizer], lrs: np.ndarray, seed: int) -> LrCurve:
    torch.manual_seed(seed)
    opt = optimizer_factory(model.parameters())
    if not isinstance(opt, torch.optim.Optimizer):
        raise UsageError(f"The 'optimizer_factory' parameter of lr_range_test must return a torch.optim.Optimizer. "
                         f"Got {type(opt).__name__} instead.")
    model.train()
    stream = _batches(source, seed)
    losses: list[float] = []
    smoothed: list[float] = []
    avg, best, diverged = 0.0, math.inf, None
    for i, lr in enumerate(lrs):
        for group in opt.param_groups:
            group["lr"] = float(lr)
        x, y = _unpack(next(stream), "lr_range_test")
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        v = float(loss.detach())
        losses.append(v)
        if not math.isfinite(v):
            diverged = i
            break
        avg = LR_SMOOTHING * avg + (1 - LR_SMOOTHING) * v
        s = avg / (1 - LR_SMOOTHING ** (i + 1))
        smoothed.append(s)
        if s > LR_DIVERGENCE_FACTOR * best:
            diverged = i
            break
        best = min(best, s)
    cut = np.asarray(smoothed[: diverged if diverged is not None else len(smoothed)])
    steepest, min10 = _suggest(lrs, cut)
    return LrCurve(seed=seed, lrs=tuple(float(v) for v in lrs[: len(losses)]), losses=tuple(losses),
                   smoothed=tuple(smoothed), diverged_at=diverged, steepest_lr=steepest, min_loss_lr=min10)


def lr_range_test(model: nn.Module, loader_or_batches: Any, loss_fn: Callable[[Any, Any], torch.Tensor],
                  optimizer_factory: Callable[..., torch.optim.Optimizer], min_lr: float = 1e-7,
                  max_lr: float = 10.0, steps: int = 100, seeds: Sequence[int] = (0, 1, 2),
                  rule: str = "steepest") -> LrRangeResult:
    """Learning-rate range test (Smith), repeated over seeds to show how stable the suggestion is.

    For each seed the model restarts from its initial state and trains ``steps`` batches while the
    learning rate grows exponentially from ``min_lr`` to ``max_lr``; the loss is smoothed (bias-
    corrected EMA, beta :data:`LR_SMOOTHING`) and the sweep stops when it exceeds
    :data:`LR_DIVERGENCE_FACTOR` times its minimum.  The suggestion is the learning rate of the
    steepest descent of the smoothed loss against log(lr) (``rule="steepest"``) or a tenth of the
    one at its minimum (``rule="min/10"``).  Seeds change the batch order (a list is permuted per
    pass; a ``DataLoader`` reshuffles from the seeded torch RNG) and stochastic layers.  The model,
    its mode and the RNGs are restored afterwards.

    Parameters
    ----------
    model : torch.nn.Module
    loader_or_batches : DataLoader, iterable, list of (inputs, targets), or one (inputs, targets)
        Re-iterated when exhausted.
    loss_fn : callable
        ``loss_fn(model(inputs), targets) -> scalar tensor``.
    optimizer_factory : callable
        ``params -> Optimizer`` (e.g. ``lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9)``); its
        learning rate is overwritten at each step.
    min_lr, max_lr : float
        Sweep bounds, ``0 < min_lr < max_lr``.
    steps : int
        Batches per sweep (>= 10).
    seeds : sequence of int
        One sweep per seed.
    rule : {"steepest", "min/10"}

    Returns
    -------
    LrRangeResult
        Per-seed ``suggestions`` (``None`` where the loss never fell), their ``median`` (geometric),
        ``geometric_std``, ``spread`` (max/min), ``low``/``high``, the ``curves``; ``passed`` when every
        seed gave a suggestion and the spread is at most :data:`LR_SPREAD_MAX`.

    References
    ----------
    .. [1] L. N. Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017
       (arXiv:1506.01186, 2015): the LR range test.
    .. [2] S. Gugger, "How Do You Find A Good Learning Rate", 2017 (smoothing, divergence stop).
    .. [3] Seed 003 (Goodfellow et al., ch. 11): "Learning rate can be tuned on the training set".
    """
    where = "lr_range_test"
    steps = _whole(steps, "steps", where, low=10)
    if rule not in LR_RULES:
        raise UsageError(f"The 'rule' parameter of {where} must be one of {LR_RULES}. Got {rule!r} instead.")
    if not (0 < float(min_lr) < float(max_lr) and math.isfinite(float(max_lr))):
        raise UsageError(f"The 'min_lr' and 'max_lr' parameters of {where} must satisfy 0 < min_lr < max_lr. Got "
                         f"min_lr={min_lr!r}, max_lr={max_lr!r} instead.")
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise UsageError(f"The 'seeds' parameter of {where} must name at least one seed.")
    lrs = np.geomspace(float(min_lr), float(max_lr), steps)
    curves: list[LrCurve] = []
    with _preserved(model) as initial:
        for seed in seeds:
            model.load_state_dict(initial)
            curves.append(_sweep(model, loader_or_batches, loss_fn, optimizer_factory, lrs, seed))
    suggestions = tuple(c.steepest_lr if rule == "steepest" else c.min_loss_lr for c in curves)
    found = np.array([s for s in suggestions if s is not None], dtype=float)
    median = gstd = spread = low = high = None
    if len(found):
        logs = np.log(found)
        median = float(np.exp(np.median(logs)))
        gstd = float(np.exp(np.std(logs, ddof=1))) if len(found) > 1 else None
        low, high = float(found.min()), float(found.max())
        spread = high / low
    missing = [s for s, v in zip(seeds, suggestions, strict=True) if v is None]
    passed = not missing and spread is not None and spread <= LR_SPREAD_MAX
    if median is None:
        message = (f"the loss never fell over {min_lr:g}..{max_lr:g} for any seed: no suggestion; check the model "
                   f"with overfit_one_batch and widen the range")
    else:
        message = (f"suggested learning rate {median:.3g} ({rule}; seeds {low:.3g}..{high:.3g}, spread "
                   f"{spread:.1f}x over {len(found)} of {len(seeds)} seeds)")
        if missing:
            message += f"; no suggestion for seed(s) {missing}"
        elif not passed:
            message += f": unstable across seeds (> {LR_SPREAD_MAX:g}x); use more steps or larger batches"
    return LrRangeResult(passed=passed, rule=rule, suggestions=suggestions, median=median, geometric_std=gstd,
                         spread=spread, low=low, high=high, curves=tuple(curves), message=message)


# -- gradient check ------------------------------------------------------------------------------------

GRADCHECK_DEFAULTS = {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-3}
"""torch.autograd.gradcheck's own defaults, reported in the result."""


def gradcheck(fn: Callable[..., Any], inputs: Any, **kw: Any) -> GradcheckResult:
    """Compare analytical gradients of ``fn`` with finite differences, in double precision.

    Wraps :func:`torch.autograd.gradcheck`: floating inputs are converted to float64 copies that
    require gradients, an ``nn.Module`` is checked on a float64 deep copy, and a failure comes back
    as ``passed=False`` with torch's message instead of an exception.

    Parameters
    ----------
    fn : callable or torch.nn.Module
        The function whose backward is checked (e.g. a custom ``autograd.Function``'s ``apply``).
    inputs : tensor or tuple of tensors
    **kw
        Passed to :func:`torch.autograd.gradcheck` (``eps``, ``atol``, ``rtol``, ...).

    Returns
    -------
    GradcheckResult

    References
    ----------
    .. [1] Seed 003 (Goodfellow et al., ch. 11): "If you implemented the derivatives, compare them
       with numerical derivatives."
    """
    raw = inputs if isinstance(inputs, tuple) else (inputs,)
    converted = tuple(t.detach().to(torch.float64).requires_grad_(True)
                      if isinstance(t, torch.Tensor) and t.is_floating_point() else t for t in raw)
    if isinstance(fn, nn.Module):
        fn = copy.deepcopy(fn).double()
    kw.pop("raise_exception", None)
    settings = {**GRADCHECK_DEFAULTS, **{k: float(v) for k, v in kw.items() if k in GRADCHECK_DEFAULTS}}
    try:
        torch.autograd.gradcheck(fn, converted, raise_exception=True, **kw)
        passed, message = True, "analytical gradients match finite differences"
    except RuntimeError as exc:  # GradcheckError is a RuntimeError; so are "no input requires grad" errors
        passed, message = False, str(exc).strip()
    return GradcheckResult(passed=passed, message=message, n_inputs=len(converted), **settings)
