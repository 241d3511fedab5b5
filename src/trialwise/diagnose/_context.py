"""One run seen through its roles: the input every detector receives, and the evidence it returns."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from trialwise.diagnose import _thresholds as T
from trialwise.diagnose._roles import FRACTION_ROLES, layer_families
from trialwise.diagnose._series import Curve, RunSeries, head, noise_sigma, tail
from trialwise.metrics._common import Record

__all__ = ["ACC_ROLES", "DATA_FILES", "SCORE_ROLES", "Evidence", "RunContext", "strength"]

ACC_ROLES = ("train_acc", "train_acc_step", "val_acc", "test_acc")
SCORE_ROLES = ("train_score", "val_score", "test_score")
DATA_FILES = "data_files"
"""Pseudo-role of a detector's needs: the run left its train/validation arrays (issue 15 item 7)."""
_PERCENT_MAX = 100.0
"""Accuracy logged in percent (timm's top1) is rescaled to [0, 1] when its maximum is in (1, 100]."""


@dataclass(frozen=True)
class Evidence(Record):
    """What a detector saw in one run.

    ``summary`` is one human line with numbers and steps; ``values`` the numbers by name;
    ``strength`` in [0.5, 1] says how far past its threshold the signal is; ``promote`` lists cause
    ids the evidence points at (they move to the front of the catalog's ranking); ``mild`` lowers the
    finding to the catalog's ``mild`` severity.
    """

    summary: str
    values: dict[str, float] = field(default_factory=dict)
    steps: tuple[float, ...] = ()
    strength: float = 1.0
    promote: tuple[str, ...] = ()
    mild: bool = False
    """The signal is there but costs nothing yet, or is only the consequence of ``after`` (the
    catalog's ``mild`` severity applies)."""
    after: tuple[str, ...] = ()
    """Codes of findings whose event came first and caused this one (the order of events): when such
    a finding is present, this one is listed under it, whatever the catalog's ``explains`` say."""


def strength(value: float, threshold: float) -> float:
    """0.5 at the threshold, rising to 1 as ``value / threshold`` grows (both positive)."""
    if not (value > 0 and threshold > 0) or not math.isfinite(value):
        return 1.0
    return float(min(1.0, max(0.5, 1.0 - 0.5 * threshold / value)))


class RunContext:
    """The role-resolved series of one run, plus the run's chance level, goal and probes.

    Detectors read curves through :meth:`curve` and the derived views below; nothing here decides.
    """

    def __init__(self, run: RunSeries, roles: Mapping[str, str], *, chance: float | None = None,
                 n_classes: int | None = None, goal: float | None = None, goal_role: str | None = None,
                 directions: Mapping[str, str] | None = None,
                 families: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None) -> None:
        self.run = run
        self.notes: list[str] = []
        self.roles = dict(roles)
        self.families = {k: dict(v) for k, v in (families if families is not None
                                                 else layer_families(run.series)).items()}
        stated = run.classes_stated() if n_classes is None else None
        self.n_classes = n_classes if n_classes is not None else (stated[0] if stated else None)
        if stated is not None and not stated[1].endswith("(tw.config)") and stated[1] != "given":
            self.notes.append(f"{stated[0]} classes: {stated[1]}")
        self.chance = chance if chance is not None else (1.0 / self.n_classes if self.n_classes else None)
        self.ln_c = math.log(self.n_classes) if self.n_classes else None
        self.goal = goal
        self.goal_role = goal_role
        self._curves: dict[str, Curve] = {}
        directions = dict(directions or {})
        if goal is not None and goal_role in SCORE_ROLES and \
                (directions.get(goal_role) or directions.get(self.roles.get(goal_role, ""))) == "min":
            self.goal = -goal  # score curves are stored negated so that higher is better
        for role, name in self.roles.items():
            c = run.curve(name)
            if role in ACC_ROLES:
                c = self._percent(c)
            if role in SCORE_ROLES and (directions.get(role) or directions.get(name)) == "min":
                c = Curve(c.name, c.steps, -c.values)
            if role in FRACTION_ROLES:
                c = self._percent(c)
            self._curves[role] = c
        self._derive()
        self.classes_inferred: str | None = None
        if self.n_classes is None and chance is None:
            self._infer_classes()
        spans = [c.steps for r, c in self._curves.items() if r in _CURVE_ROLES and c.n]
        allsteps = np.concatenate(spans) if spans else np.array([0.0, 1.0])
        self.s0 = float(allsteps.min())
        self.s1 = float(allsteps.max()) if allsteps.max() > allsteps.min() else float(allsteps.min()) + 1.0

    def _infer_classes(self) -> None:
        """Infer C from a cross-entropy at uniform predictions, ln(C), when nothing states it.

        Only the loss logged at step 0, before any update moved it (Karpathy 2019, "verify loss @
        init": a C-class softmax starts at ln C; issue 15 item 9: a first loss logged after some
        updates gave a wrong C in a quarter of runs); only with an accuracy series to judge against
        1/C; a note says so.
        """
        if self.accuracy() is None:
            return
        loss = self.curve("train_loss")
        f = loss.finite() if loss is not None else None
        if f is None or f.n < T.MIN_CURVE_POINTS or f.steps[0] != 0 or self.first_loss_after_updates:
            return
        value = float(f.values[0])
        if not value > 0:
            return
        c = int(round(math.exp(min(value, math.log(T.INFER_MAX_CLASSES + 1)))))
        if 2 <= c <= T.INFER_MAX_CLASSES and abs(value - math.log(c)) <= T.INFER_LN_TOL:
            self.n_classes, self.chance, self.ln_c = c, 1.0 / c, math.log(c)
            self.classes_inferred = "initial"
            self.notes.append(f"{loss.name} at step 0 is {value:.3g} ~ ln {c}: read as {c} classes, chance "
                              f"{1 / c:.3g} (nothing states the number of classes: report n_classes with tw.config, "
                              "pass --num-classes, or --chance, to be exact)")

    @cached_property
    def first_loss_after_updates(self) -> str | None:
        """Why the first logged training loss is not the loss at initialization: the run's ``epoch``
        series says it was logged after part of an epoch (Hugging Face logs the mean of the first
        ``logging_steps``), or its step is not the first of the run."""
        loss = self.curve("train_loss")
        if loss is None or not loss.finite().n:
            return None
        s0 = float(loss.finite().steps[0])
        epoch = self.curve("epoch")
        if epoch is not None and epoch.finite().n:
            e = epoch.finite()
            at = e.values[e.steps == s0]
            if len(at) and float(at[0]) > 0:
                return f"{loss.name} is first logged at epoch {float(at[0]):g}, after some updates"
        return None

    def _derive(self) -> None:
        """Roles the run did not log but its per-layer families give: the first and last layer's
        gradient norm, their ratio (AutoTrainer's statistic), the largest layer's; the largest share of
        dead or saturated units.  Each derived curve is named after what it was computed from."""
        grads = self.layers("grad_norm")
        if len(grads) >= 2:
            names = list(grads)
            if "grad_norm_first" not in self._curves:
                self._set_derived("grad_norm_first", grads[names[0]])
            if "grad_norm_last" not in self._curves:
                self._set_derived("grad_norm_last", grads[names[-1]])
            if "grad_norm_max" not in self._curves:
                self._set_derived("grad_norm_max", _combine(list(grads.values()), np.max, "max over layers of "
                                                            f"{_family_label(grads)}"))
        first, last = self._curves.get("grad_norm_first"), self._curves.get("grad_norm_last")
        if "grad_norm_ratio" not in self._curves and first is not None and last is not None:
            steps, (a, b) = _aligned([first, last])
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(b > 0, a / b, np.nan)
            self._set_derived("grad_norm_ratio", Curve(f"{first.name} / {last.name}", steps, ratio))
        for kind, role in (("dead_frac", "dead_frac_max"), ("saturated_frac", "saturated_frac_max")):
            layers = self.layers(kind)
            if role not in self._curves and layers:
                c = _combine(list(layers.values()), np.max, f"max over layers of {_family_label(layers)}")
                self._set_derived(role, self._percent(c))

    def _set_derived(self, role: str, c: Curve) -> None:
        if c.n:
            self._curves[role] = c
            self.roles[role] = c.name

    def _percent(self, c: Curve) -> Curve:
        f = c.values[np.isfinite(c.values)]
        if len(f) and 1.0 + 1e-9 < f.max() <= _PERCENT_MAX and f.min() >= 0:
            self.notes.append(f"{c.name} looks like a percentage (max {f.max():g}); read as a fraction")
            return Curve(c.name, c.steps, c.values / 100.0)
        return c

    # -- access -----------------------------------------------------------------------------------
    def curve(self, role: str) -> Curve | None:
        """The curve playing ``role`` (``None`` when the run has none)."""
        return self._curves.get(role)

    def has(self, *roles: str) -> bool:
        """Whether any of ``roles`` is present; ``"data_files"`` is the run's own data arrays."""
        return any(r in self._curves or (r == DATA_FILES and self.run.data is not None) for r in roles)

    @property
    def data(self) -> Any:
        """The run's :class:`~trialwise.diagnose._evidence.DataEvidence`, or ``None``."""
        return self.run.data

    def frac(self, step: float) -> float:
        """Position of ``step`` in the run, 0 at the first logged step and 1 at the last."""
        return (step - self.s0) / (self.s1 - self.s0)

    @property
    def label(self) -> str:
        return self.run.label

    def loss(self) -> Curve | None:
        """The training loss, per step if logged so, else per epoch."""
        return self.curve("train_loss") or self.curve("train_loss_epoch")

    def train_perf(self) -> Curve | None:
        """Training accuracy (per epoch preferred; per-step smoothed otherwise), else another training score."""
        if self.curve("train_acc") is not None:
            return self.curve("train_acc")
        step = self.curve("train_acc_step")
        if step is not None:
            return step.smooth()
        return self.curve("train_score")

    def val_perf(self) -> Curve | None:
        return self.curve("val_acc") or self.curve("val_score")

    def test_perf(self) -> Curve | None:
        return self.curve("test_acc") or self.curve("test_score")

    def accuracy(self) -> Curve | None:
        """The accuracy that says how well the model does: validation, else training."""
        if self.curve("val_acc") is not None:
            return self.curve("val_acc")
        if self.curve("train_acc") is not None:
            return self.curve("train_acc")
        step = self.curve("train_acc_step")
        return step.smooth() if step is not None else None

    def layers(self, kind: str) -> dict[str, Curve]:
        """Per-layer curves of family ``kind`` (``grad_norm``, ``dead_frac`` ...: tw.watch's
        ``probe/<kind>/<layer>`` or the script's own ``grad/layer1``) by layer name, in layer order;
        the per-parameter series of one layer are combined (gradient norms: root of the sum of squares)."""
        out: dict[str, Curve] = {}
        for layer, names in self.families.get(kind, {}).items():
            curves = [self.run.curve(n) for n in names if n in self.run.series]
            if not curves:
                continue
            if len(curves) == 1:
                out[layer] = curves[0]
            elif kind == "grad_norm":
                out[layer] = _combine(curves, lambda v, axis: np.sqrt(np.sum(v ** 2, axis=axis)), layer)
            else:
                out[layer] = _combine(curves, np.max, layer)
        return out

    def config_value(self, *keys: str) -> Any:
        """The first of ``keys`` present in the run's config (case-insensitive), else ``None``."""
        lower = {str(k).lower(): v for k, v in self.run.config.items()}
        for k in keys:
            if k in lower:
                return lower[k]
        return None

    # -- shared judgements --------------------------------------------------------------------------
    def near_chance(self, c: Curve) -> tuple[float, float] | None:
        """``(final, margin)`` when accuracy curve ``c`` ends within chance + margin, else ``None``."""
        if self.chance is None:
            return None
        v = c.finite().smooth().values
        if len(v) < 3:
            return None
        k = max(1, int(math.ceil(0.2 * len(v))))
        final = tail(v, 0.2)
        noise = T.NOISE_Z * noise_sigma(v[len(v) // 2:]) / math.sqrt(k)
        margin = max(T.CHANCE_MARGIN * (1.0 - self.chance), min(noise, T.CHANCE_MARGIN_MAX * (1.0 - self.chance)))
        return (final, margin) if final <= self.chance + margin else None

    @cached_property
    def impaired(self) -> bool:
        """Learning is impaired: non-finite loss, a loss that fell and climbed back, or an accuracy that
        ends below AutoTrainer's satisfactory Theta (validation, else training); without accuracy, a
        loss that never really fell (DeepDiagnosis "loss not decreasing").  Unknown (no curves)
        counts as impaired, so probes alone can still speak.  Gates the probe detectors, as
        AutoTrainer gates its gradient checks on "not converged"."""
        loss = self.loss()
        if loss is not None and not loss.finite_mask.all():
            return True
        acc = self.accuracy()
        if acc is not None and acc.finite().n:
            return tail(acc.finite().smooth().values, 0.2) < T.SATISFIED_ACC
        if loss is not None and loss.finite().n >= T.MIN_CURVE_POINTS:
            v = loss.smooth().values
            start, low, end = head(v, 0.1), float(v.min()), tail(v, 0.1)
            drop = start - low
            learned = drop >= T.IMPAIRED_LOSS_DROP * abs(start)
            return not learned or end - low >= T.REBOUND_GIVEBACK * drop
        return True

    @cached_property
    def input_stats(self) -> tuple[float, float] | None:
        """Median probe input mean and std, when logged."""
        m, s = self.curve("input_mean"), self.curve("input_std")
        if m is None or s is None or not m.finite().n or not s.finite().n:
            return None
        return float(np.median(m.finite().values)), float(np.median(s.finite().values))

    @cached_property
    def unnormalized(self) -> bool:
        """The probed input batches, or else the run's training array, are far from standardized."""
        st = self.input_stats
        if st is not None:
            return abs(st[0]) > T.UNNORMALIZED_MEAN or st[1] > T.UNNORMALIZED_STD
        return self.data is not None and self.data.unnormalized


_CURVE_ROLES = ("train_loss", "train_loss_epoch", "val_loss", "test_loss", *ACC_ROLES, *SCORE_ROLES)


def _aligned(curves: list[Curve]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The steps every curve has a finite value at, and each curve's values there."""
    common = None
    for c in curves:
        f = c.finite()
        common = set(f.steps.tolist()) if common is None else common & set(f.steps.tolist())
    steps = np.array(sorted(common or ()), dtype=float)
    out = []
    for c in curves:
        f = c.finite()
        lookup = dict(zip(f.steps.tolist(), f.values.tolist()))
        out.append(np.array([lookup[s] for s in steps.tolist()], dtype=float))
    return steps, out


def _combine(curves: list[Curve], how: Any, name: str) -> Curve:
    steps, values = _aligned(curves)
    if not len(steps):
        return Curve(name, steps, steps.copy())
    return Curve(name, steps, how(np.vstack(values), axis=0))


def _family_label(layers: Mapping[str, Curve]) -> str:
    names = [c.name for c in layers.values()]
    return ", ".join(names) if len(names) <= 3 else f"{names[0]} ... {names[-1]} ({len(names)} layers)"
