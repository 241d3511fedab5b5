"""``watch(model)``: gradient, activation, update and input statistics of a PyTorch model.

How it stays cheap
------------------
One forward pre-hook on the model is the only hook that runs on every step: it counts training
steps and returns.  On a probe step (every ``every``-th) it registers, for that step only, forward
hooks on the layers and activations and post-accumulate-grad hooks on the parameters, and copies
the parameters.  The numbers stay tensors (no device synchronisation) until the *next* training
step, which turns them into floats with one transfer, measures the update the optimizer just made
(``||W_{t+1} - W_t|| / ||W_t||``), removes the temporary hooks and calls ``log``.

Definitions
-----------
- *step*: one forward pass of the model in training mode with gradients enabled (evaluation
  passes in ``model.eval()`` or under ``torch.no_grad()`` are not steps).  A probe is completed at
  the first step after its gradients arrived, so several forwards before one backward (siamese
  nets) still get gradient statistics.  With gradient accumulation a step is a micro-batch, and the
  update ratio of a micro-batch without an optimizer step is 0.
- *layer*: a module with parameters of its own (``Linear``, ``Conv2d``, ``BatchNorm`` ...), named by
  its qualified name (``"features.0"``; the model itself is ``"root"``), ordered by its first call in
  the forward pass.  Its gradient norm is the L2 norm over all its own parameters' gradients (as
  accumulated, before clipping or optimizer scaling).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import torch
from torch import nn

from trialwise._exceptions import UsageError
from trialwise.probes._activations import ACTIVATIONS, SIGMOID_SATURATION, TANH_SATURATION

__all__ = ["DEFAULT_EVERY", "NonfiniteEvent", "Watcher", "watch"]

DEFAULT_EVERY = 50
"""Probe every this many training steps.  *trialwise*: the per-step probes cost several times a bare
step (see ``benchmarks/results/probes.md``); one step in 50 keeps the overhead within a few percent
while a 1000-step run still yields 20 points per series, enough for the diagnose layer's majority
rules."""

PREFIX = "probe/"
"""Prefix of every series the watcher logs (the diagnose layer reads it)."""

ROOT_NAME = "root"
"""Layer name of the model itself when it owns parameters directly."""

HISTORY_LIMIT = 1000
"""``Watcher.history`` keeps the last this many probes (the ``log`` callback receives all of them)."""

LogFn = Callable[..., Any]


@dataclass(frozen=True)
class NonfiniteEvent:
    """The first probe step at which a layer's output or gradient held NaN or inf.

    ``index`` is the layer's position in forward order (as in ``probe/nonfinite_layer``); ``where`` is
    ``"output"`` (the forward pass; the first such layer in forward order) or ``"gradient"`` (the first
    parameter gradient, in backward order, that was non-finite while every output was finite).
    Probes see only probe steps: run with ``every=1`` to pin the step where the values broke.
    """

    step: int
    index: int
    layer: str
    where: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Layer:
    name: str
    module: nn.Module
    params: tuple[nn.Parameter, ...]


class _Probe:
    """The tensors one probe step collects; floats are made from them once, in :meth:`Watcher._finish`."""

    __slots__ = ("acts", "act_calls", "forward_handles", "grad_handles", "grad_arrival", "grads", "input_stats",
                 "out_ok", "out_order", "params", "step")

    def __init__(self, step: int) -> None:
        self.step = step
        self.input_stats: tuple[torch.Tensor, torch.Tensor] | None = None
        self.out_ok: dict[int, torch.Tensor] = {}
        self.out_order: list[int] = []
        self.acts: list[tuple[str, str, torch.Tensor]] = []
        self.act_calls: dict[int, int] = {}
        self.params: list[tuple[int, nn.Parameter, torch.Tensor]] = []  # (layer index, parameter, copy)
        self.grads: dict[int, torch.Tensor] = {}
        self.grad_arrival: list[int] = []
        self.forward_handles: list[Any] = []
        self.grad_handles: list[Any] = []


def _tensors(obj: Any) -> Iterable[torch.Tensor]:
    """Floating tensors of a module output: a tensor, or a (shallow) tuple/list/dict of them."""
    if isinstance(obj, torch.Tensor):
        items: Iterable[Any] = (obj,)
    elif isinstance(obj, (tuple, list)):
        items = obj
    elif isinstance(obj, dict):
        items = obj.values()
    else:
        items = ()
    return (t for t in items if isinstance(t, torch.Tensor) and (t.is_floating_point() or t.is_complex()))


def _first_input(args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor | None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor):
            return value if value.is_floating_point() else None
    return None


def _norm(t: torch.Tensor) -> torch.Tensor:
    t = t.detach()
    if t.is_sparse:
        t = t.coalesce().values()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return torch.linalg.vector_norm(t)


def _dead_fraction(out: torch.Tensor) -> torch.Tensor:
    """Share of units (dim 1: features, or channels of ``N, C, ...``) that are ``<= 0`` on every example.

    Reduces with ``amax`` before comparing (several times faster than ``(out > 0).any(0)``)."""
    peak = out.amax(dim=0) if out.dim() >= 2 else out.amax().reshape(1)
    if peak.dim() > 1:
        peak = peak.flatten(1).amax(dim=1)
    return (peak <= 0).float().mean()


def _finite_flag(t: torch.Tensor) -> torch.Tensor:
    """A 0-d bool tensor, true iff every element of ``t`` is finite, via the sum: it propagates NaN and
    inf in one pass (about 25x cheaper than ``isfinite(t).all()``).  A sum beyond the dtype's range
    (float32: values of order 1e33 and more, which overflow a layer or two later anyway) also counts
    as non-finite; half precision is summed in float32."""
    low = t.dtype in (torch.float16, torch.bfloat16)
    return torch.isfinite(t.detach().sum(dtype=torch.float32 if low else None))


def _saturated_fraction(out: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "sigmoid":
        return ((out < SIGMOID_SATURATION) | (out > 1.0 - SIGMOID_SATURATION)).float().mean()
    return (out.abs() > TANH_SATURATION).float().mean()


def _ratio(a: float, b: float) -> float:
    if b > 0 or math.isnan(b):
        return a / b
    return math.inf if a > 0 else math.nan


def _max(values: list[float]) -> float:
    """Largest value; a NaN or inf among them wins (non-finite must stay visible)."""
    bad = [v for v in values if not math.isfinite(v)]
    return bad[0] if bad else max(values)


class Watcher:
    """Hooks on a PyTorch model that log probe statistics every ``every`` training steps.

    Made by :func:`watch`.  Attributes: ``steps`` (training steps seen), ``history`` (``(step,
    metrics)`` of the last :data:`HISTORY_LIMIT` probes logged), ``first_nonfinite`` (a
    :class:`NonfiniteEvent` or ``None``), ``layers`` (layer names in forward order, once a probe step
    ran).  ``close()`` logs the pending
    probe and removes every hook; a ``with watch(model) as w:`` block closes on exit.
    """

    def __init__(self, model: nn.Module, every: int = DEFAULT_EVERY, log: LogFn | None = None,
                 input: bool = True, hook_forward: bool = True) -> None:  # noqa: A002 - the public keyword is ``input``
        if not isinstance(model, nn.Module):
            raise UsageError(f"The 'model' parameter of watch must be a torch.nn.Module. Got "
                             f"{type(model).__name__} instead.")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise UsageError(f"The 'every' parameter of watch must be a whole number >= 1 (probe every N "
                             f"training steps). Got {every!r} instead.")
        if log is not None and not callable(log):
            raise UsageError(f"The 'log' parameter of watch must be callable as log(metrics, step=step). Got "
                             f"{type(log).__name__} instead.")
        self.model = model
        self.every = every
        self.steps = 0
        self.history: deque[tuple[int, dict[str, float | str]]] = deque(maxlen=HISTORY_LIMIT)
        self.first_nonfinite: NonfiniteEvent | None = None
        self._log = log
        self._input = bool(input)
        self._layers = self._find_layers(model)
        self._acts = self._find_activations(model)
        self._order: dict[int, int] = {}
        self._pending: _Probe | None = None
        self._handles = [model.register_forward_pre_hook(self._on_forward, with_kwargs=True)] if hook_forward else []

    # -- discovery ----------------------------------------------------------------------------------
    @staticmethod
    def _find_layers(model: nn.Module) -> list[_Layer]:
        seen: set[int] = set()
        layers: list[_Layer] = []
        for name, module in model.named_modules():
            own = tuple(p for p in module.parameters(recurse=False) if id(p) not in seen)
            seen.update(id(p) for p in own)
            if own:
                layers.append(_Layer(name or ROOT_NAME, module, own))
        return layers

    @staticmethod
    def _find_activations(model: nn.Module) -> list[tuple[str, nn.Module, str]]:
        table = [(getattr(nn, a.class_name), a.kind) for a in ACTIVATIONS if hasattr(nn, a.class_name)]
        found = []
        for name, module in model.named_modules():
            kind = next((k for cls, k in table if isinstance(module, cls)), None)
            if kind is not None:
                found.append((name or ROOT_NAME, module, kind))
        return found

    @property
    def layers(self) -> list[str]:
        """Layer names in forward order (layers never called in a probed forward come last)."""
        ranked = sorted(range(len(self._layers)), key=lambda i: self._order.get(i, len(self._layers) + i))
        return [self._layers[i].name for i in ranked]

    def step(self, *args: Any, **kwargs: Any) -> None:
        """Count one training step whose inputs are ``args``/``kwargs``, for a watcher made with
        ``hook_forward=False``: training loops that never call the model's own ``forward``
        (Lightning calls ``training_step``) drive the probes from their batch hooks instead.  Call
        :meth:`end_step` once the step's forward passes are done."""
        self._on_forward(self.model, args, kwargs)

    def end_step(self) -> None:
        """Stop reading layer outputs for the step :meth:`step` began (with ``hook_forward=True`` the
        end of the model's forward does this), so later evaluation passes do not count; its
        gradients and update are still read."""
        if self._pending is not None:
            self._on_forward_end(self._pending, self.model, (), None)

    # -- hooks --------------------------------------------------------------------------------------
    def _on_forward(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if not (module.training and torch.is_grad_enabled()):
            return None
        step = self.steps
        self.steps += 1
        pending = self._pending
        # A probe waits for its backward pass (several forwards may share one: siamese nets, GAN
        # discriminators), but no longer than until the next probe step.
        if pending is not None and (pending.grads or step - pending.step >= self.every):
            self._finish(after_step=bool(pending.grads))
        if step % self.every == 0 and self._pending is None:
            self._start(step, args, kwargs)
        return None

    def _start(self, step: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        probe = _Probe(step)
        if self._input:
            x = _first_input(args, kwargs)
            if x is not None and x.numel() > 1:
                xd = x.detach().float()
                probe.input_stats = (xd.mean(), xd.std())
        fh = probe.forward_handles
        for i, layer in enumerate(self._layers):
            fh.append(layer.module.register_forward_hook(partial(self._on_layer_output, probe, i)))
        for j, (_, module, _) in enumerate(self._acts):
            fh.append(module.register_forward_hook(partial(self._on_activation, probe, j)))
        fh.append(self.model.register_forward_hook(partial(self._on_forward_end, probe), always_call=True))
        for i, layer in enumerate(self._layers):
            for p in layer.params:
                if p.requires_grad:
                    k = len(probe.params)
                    probe.params.append((i, p, p.detach().clone()))
                    probe.grad_handles.append(p.register_post_accumulate_grad_hook(partial(self._on_grad, probe, k)))
        self._pending = probe

    @staticmethod
    def _on_forward_end(probe: _Probe, module: nn.Module, args: Any, output: Any) -> None:
        for h in probe.forward_handles:
            h.remove()
        probe.forward_handles.clear()

    def _on_layer_output(self, probe: _Probe, i: int, module: nn.Module, args: Any, output: Any) -> None:
        flags = [_finite_flag(t) for t in _tensors(output)]
        if not flags:
            return
        ok = flags[0] if len(flags) == 1 else torch.stack(flags).all()
        if i in probe.out_ok:
            probe.out_ok[i] = probe.out_ok[i] & ok
        else:
            probe.out_ok[i] = ok
            probe.out_order.append(i)
            self._order.setdefault(i, len(self._order))

    def _on_activation(self, probe: _Probe, j: int, module: nn.Module, args: Any, output: Any) -> None:
        out = next(iter(_tensors(output)), None)
        if out is None or out.numel() == 0:
            return
        name, _, kind = self._acts[j]
        calls = probe.act_calls.get(j, 0)
        probe.act_calls[j] = calls + 1
        if calls:
            name = f"{name}:{calls}"
        out = out.detach()
        stat = _dead_fraction(out) if kind == "dead" else _saturated_fraction(out, kind)
        probe.acts.append((name, kind, stat))

    @staticmethod
    def _on_grad(probe: _Probe, k: int, p: torch.Tensor) -> None:
        if p.grad is None:
            return
        if k not in probe.grads:
            probe.grad_arrival.append(k)
        probe.grads[k] = _norm(p.grad)

    # -- turning a probe into numbers ---------------------------------------------------------------
    def _finish(self, after_step: bool) -> None:
        probe, self._pending = self._pending, None
        assert probe is not None
        for h in (*probe.forward_handles, *probe.grad_handles):
            h.remove()
        keys: list[tuple[Any, ...]] = []
        tensors: list[torch.Tensor] = []  # 0-d tensors, turned into floats with one transfer
        if probe.input_stats is not None:
            keys += [("input_mean",), ("input_std",)]
            tensors += probe.input_stats
        keys += [("out_ok", i) for i in probe.out_ok]
        tensors += probe.out_ok.values()
        keys += [("act", n) for n in range(len(probe.acts))]
        tensors += [stat for _, _, stat in probe.acts]
        keys += [("grad", k) for k in probe.grads]
        tensors += probe.grads.values()
        if after_step and probe.params:
            befores = [b for _, _, b in probe.params]
            deltas = torch._foreach_sub([p.detach() for _, p, _ in probe.params], befores)
            keys += [("delta", k) for k in range(len(befores))] + [("weight", k) for k in range(len(befores))]
            tensors += [*torch._foreach_norm(deltas), *torch._foreach_norm(befores)]
        values: dict[tuple[Any, ...], float] = {}
        if tensors:
            try:
                stacked = torch.stack(tensors)
            except RuntimeError:  # tensors on several devices
                stacked = torch.stack([t.detach().double().cpu() for t in tensors])
            values = dict(zip(keys, stacked.double().tolist(), strict=True))
        self._emit(probe.step, self._metrics(probe, values))

    def _metrics(self, probe: _Probe, values: dict[tuple[Any, ...], float]) -> dict[str, float | str]:
        m: dict[str, float | str] = {}
        n_layers = len(self._layers)
        # gradients, per layer, in forward order
        grad_sq: dict[int, float] = {}
        for k in probe.grads:
            i = probe.params[k][0]
            grad_sq[i] = grad_sq.get(i, 0.0) + values[("grad", k)] ** 2
        ranked = sorted(grad_sq, key=lambda i: self._order.get(i, n_layers + i))
        grad = {i: math.sqrt(grad_sq[i]) for i in ranked}
        for i in ranked:
            m[f"{PREFIX}grad_norm/{self._layers[i].name}"] = grad[i]
        in_order = [i for i in ranked if i in self._order]
        if in_order:
            first, last = grad[in_order[0]], grad[in_order[-1]]
            m[f"{PREFIX}grad_norm_first"] = first
            m[f"{PREFIX}grad_norm_last"] = last
            m[f"{PREFIX}grad_norm_ratio"] = _ratio(first, last)
        if grad:
            m[f"{PREFIX}grad_norm_max"] = _max(list(grad.values()))
        # activations
        for kind, series in (("dead", "dead_frac"), ("sat", "saturated_frac")):
            stats = [(name, values[("act", n)]) for n, (name, k, _) in enumerate(probe.acts)
                     if (k == "dead") == (kind == "dead")]
            for name, v in stats:
                m[f"{PREFIX}{series}/{name}"] = v
            if stats:
                m[f"{PREFIX}{series}_max"] = _max([v for _, v in stats])
        # update-to-weight ratio, per layer
        delta_sq: dict[int, list[float]] = {}
        for k, (i, _, _) in enumerate(probe.params):
            if ("delta", k) in values:
                acc = delta_sq.setdefault(i, [0.0, 0.0])
                acc[0] += values[("delta", k)] ** 2
                acc[1] += values[("weight", k)] ** 2
        ratios = []
        for i in sorted(delta_sq, key=lambda i: self._order.get(i, n_layers + i)):
            d, w = delta_sq[i]
            if w > 0:
                r = math.sqrt(d) / math.sqrt(w)
                ratios.append(r)
                m[f"{PREFIX}update_ratio/{self._layers[i].name}"] = r
        if ratios:
            m[f"{PREFIX}update_ratio_median"] = statistics.median(ratios)
        # input
        if ("input_mean",) in values:
            m[f"{PREFIX}input_mean"] = values[("input_mean",)]
            m[f"{PREFIX}input_std"] = values[("input_std",)]
        # first non-finite layer: outputs in forward order, else gradients in backward (arrival) order
        bad: tuple[int, str] | None = None
        for i in probe.out_order:
            if values[("out_ok", i)] < 0.5:
                bad = (i, "output")
                break
        if bad is None:
            for k in probe.grad_arrival:
                if not math.isfinite(values[("grad", k)]):
                    bad = (probe.params[k][0], "gradient")
                    break
        if bad is None:
            m[f"{PREFIX}nonfinite_layer"] = -1.0
        else:
            i, where = bad
            index = self._order.get(i, i)
            name = self._layers[i].name
            m[f"{PREFIX}nonfinite_layer"] = float(index)
            m[f"{PREFIX}nonfinite_layer_name"] = name
            if self.first_nonfinite is None:
                self.first_nonfinite = NonfiniteEvent(probe.step, index, name, where)
        return m

    def _emit(self, step: int, metrics: dict[str, float | str]) -> None:
        self.history.append((step, metrics))
        if self._log is None:
            import trialwise

            self._log = trialwise.log
        self._log(metrics, step=step)

    # -- lifecycle ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Log the pending probe (without an update ratio: no optimizer step is known to follow) and
        remove every hook.  Safe to call twice."""
        if self._pending is not None:
            self._finish(after_step=False)
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Watcher(every={self.every}, steps={self.steps}, layers={len(self._layers)}, "
                f"activations={len(self._acts)}, probes={len(self.history)})")


def watch(model: nn.Module, every: int = DEFAULT_EVERY, log: LogFn | None = None,
          input: bool = True, hook_forward: bool = True) -> Watcher:  # noqa: A002
    """Log gradient, activation, update and input statistics of ``model`` every ``every`` steps.

    A step is a forward pass in training mode with gradients enabled.  On a probe step the watcher
    records, and at the next step logs with ``log(metrics, step=probe_step)``:

    - ``probe/grad_norm/<layer>`` (L2 norm of the layer's parameter gradients), ``probe/grad_norm_first``,
      ``probe/grad_norm_last`` (first and last layer in forward order), ``probe/grad_norm_max`` and
      ``probe/grad_norm_ratio`` (first / last: AutoTrainer's vanishing/exploding statistic);
    - ``probe/dead_frac/<act>`` and ``probe/dead_frac_max``: share of units of a ReLU-family output
      that are ``<= 0`` for every example of the batch (per feature, or per channel of ``N, C, ...``);
    - ``probe/saturated_frac/<act>`` and ``probe/saturated_frac_max``: share of sigmoid outputs below
      0.01 or above 0.99, tanh outputs with ``|y| > 0.99``;
    - ``probe/update_ratio/<layer>`` and ``probe/update_ratio_median``: ``||W_{t+1} - W_t|| / ||W_t||``
      over the optimizer step that followed the probe step;
    - ``probe/input_mean``, ``probe/input_std`` of the model's first floating input (``input=True``);
    - ``probe/nonfinite_layer``: forward-order index of the first layer whose output (forward order)
      or gradient (backward order) held NaN/inf, ``-1`` if none; when there is one,
      ``probe/nonfinite_layer_name`` carries its name as a string (``tw.log`` keeps it in the run's
      raw metrics file; the store keeps numbers only) and ``Watcher.first_nonfinite`` the first event.

    An activation module called several times in one forward (one ``nn.ReLU()`` reused) yields
    ``<name>``, ``<name>:1``, ``<name>:2`` ... per call.  Activations applied functionally
    (``F.relu``) are not seen.  Under AMP's ``GradScaler`` the gradient norms include the loss scale
    (their ratio does not).  A probe step briefly holds a copy of the trainable parameters (for the
    update ratio).

    Parameters
    ----------
    model : torch.nn.Module
        The model to watch (hooks go on it and its submodules; nothing else changes).
    every : int
        Probe every this many training steps (the first step, 0, is probed).
    log : callable, optional
        ``log(metrics: dict, step: int)``; default ``trialwise.log``.
    input : bool
        Record the input batch mean and standard deviation.
    hook_forward : bool
        Count a step at each training-mode forward of ``model`` (default).  ``False``: the caller
        counts steps with :meth:`Watcher.step` (the framework integrations do, from batch hooks).

    Returns
    -------
    Watcher
        Call ``close()`` (or use it as a context manager) to log the last probe and remove the hooks.

    References
    ----------
    .. [1] X. Zhang, J. Zhai, S. Ma, C. Shen, "AUTOTRAINER: An Automatic DNN Training Problem
       Detection and Repair System", ICSE 2021 (gradient-norm ratio, dying ReLU).
    .. [2] X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward neural
       networks", AISTATS 2010 (saturation).
    .. [3] A. Karpathy, CS231n notes "Neural Networks Part 3" (2016): update/weight ratio near 1e-3.
    .. [4] Seed 003 (Goodfellow et al., ch. 11): "Check the gradient (exploding or vanishing) ... Check
       the activations: how many neurons fire?"
    """
    return Watcher(model, every=every, log=log, input=input, hook_forward=hook_forward)
