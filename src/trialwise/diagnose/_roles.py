"""Series roles: which logged series is the training loss, the validation accuracy, the learning rate,
the gradient norm of the first layer, the share of dead units.

Recognition is data: :data:`ROLE_PATTERNS` lists, per role, regular expressions matched against the
*normalized* name (lower case; ``/ . - :`` and spaces read as ``_``), most specific first.  Besides
trialwise's own probes (``probe/...``), the common naming families of people's scripts and of the
frameworks are roles (issue 15):

- gradient norms: the whole gradient (``grad_norm``, Hugging Face's ``grad_norm``, Lightning's
  ``grad_2.0_norm_total``), the first and last layer (``grad_norm_first_layer``,
  ``first_layer_grad_norm``, ``grad_norm_last``), their ratio (``grad_norm_ratio``), the largest layer
  (``grad_norm_max``);
- dead and saturated units (``dead_relu_fraction``, ``frac_dead``, ``dead_frac``, ``pct_dead_neurons``,
  ``saturation_fraction``; percentages are read as fractions);
- the learning rate (``lr``, ``learning_rate``, Lightning's ``lr-SGD``), the update-to-weight ratio
  (``update_ratio``) and the weight norm (``weight_norm``, ``param_norm``), the input statistics
  (``input_mean``, ``input_std``).

Per-layer series are *families* (:data:`LAYER_FAMILIES`): ``grad/layer1``, ``grad_norm/fc2``,
``gradients/encoder.0``, Lightning's per-parameter ``grad_2.0_norm/net.0.weight`` (weight and bias of
one layer are one layer), ``dead_frac/relu1``, ``probe/grad_norm/<layer>``.  Their layers are ordered
by the numbers in their names (``layer2`` before ``layer10``); the diagnosis derives the first/last
ratio and the largest layer from them when the run does not log those.

An explicit mapping (``[diagnose.series]`` in ``trialwise.toml``, e.g. ``train_loss = "my_loss"``)
always wins; a family is mapped with a glob whose ``*`` is the layer (``grad_norm_layers = "g/*"``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from trialwise._exceptions import UsageError
from trialwise.metrics._common import Record

__all__ = [
    "DENSEST_ROLES", "FAMILY_ROLES", "FRACTION_ROLES", "LAYER_FAMILIES", "MIN_ROLE_POINTS", "PROBE_PREFIX",
    "ROLES", "ROLE_PATTERNS", "LayerFamily", "RolePattern", "layer_families", "natural_key", "normalize_name",
    "recognize_roles",
]

_TRAIN = r"(?:train|training|trn)"
_VAL = r"(?:val|valid|validation|eval|dev)"
_TEST = r"(?:test|holdout|heldout)"
_ACC = r"(?:acc|accuracy|top_?1(?:_acc(?:uracy)?)?)"
_SCORE = (r"(?:f1|f1_score|macro_f1|micro_f1|weighted_f1|auc|auroc|roc_auc|ap|map|iou|miou|dice|precision"
          r"|recall|bleu|r2|mcc|balanced_accuracy)")
_GRAD = r"(?:grad|grads|gradient|gradients)"
_GNORM = rf"(?:{_GRAD}_norm|{_GRAD}_l2_norm|gnorm|grad_(?:\d+(?:_\d+)?|inf)_norm)"
_FRAC = r"(?:frac|fraction|ratio|share|pct|percent|percentage|rate|prop|proportion)"
_UNITS = r"(?:relu|relus|unit|units|neuron|neurons|activation|activations|node|nodes)"

PROBE_PREFIX = "probe/"
"""Prefix of the series that ``trialwise.watch`` (the torch probes) logs."""


@dataclass(frozen=True)
class RolePattern(Record):
    """Names that play ``role``: full-match regular expressions on the normalized name."""

    role: str
    patterns: tuple[str, ...]
    meaning: str


ROLE_PATTERNS: tuple[RolePattern, ...] = (
    RolePattern("train_loss", (
        rf"{_TRAIN}_loss_step", r"loss_step", rf"{_TRAIN}_batch_loss", r"batch_loss", rf"{_TRAIN}_loss", r"loss",
        rf"loss_{_TRAIN}",
    ), "training loss, per step when both per-step and per-epoch are logged (Lightning's *_step, Keras's "
       "batch/loss beside its epoch loss)"),
    RolePattern("train_loss_epoch", (
        rf"{_TRAIN}_loss_epoch", r"loss_epoch", rf"epoch_{_TRAIN}_loss", r"epoch_loss",
    ), "training loss averaged per epoch (Lightning's *_epoch)"),
    RolePattern("val_loss", (rf"{_VAL}_loss(?:_epoch)?", rf"loss_{_VAL}"), "validation loss"),
    RolePattern("test_loss", (rf"{_TEST}_loss(?:_epoch)?", rf"loss_{_TEST}"), "loss on a second evaluation set"),
    RolePattern("train_acc_step", (
        rf"{_TRAIN}_{_ACC}_step", rf"{_ACC}_step", rf"{_TRAIN}_batch_{_ACC}", rf"batch_{_ACC}",
    ), "training accuracy of each minibatch"),
    RolePattern("train_acc", (
        rf"{_TRAIN}_{_ACC}(?:_epoch)?", rf"{_ACC}(?:_epoch)?", rf"{_ACC}_{_TRAIN}",
    ), "training accuracy (per epoch when both are logged)"),
    RolePattern("val_acc", (rf"{_VAL}_{_ACC}(?:_epoch)?", rf"{_ACC}_{_VAL}"), "validation accuracy"),
    RolePattern("test_acc", (rf"{_TEST}_{_ACC}(?:_epoch)?", rf"{_ACC}_{_TEST}"), "accuracy on a second evaluation set"),
    RolePattern("train_score", (rf"{_TRAIN}_{_SCORE}(?:_epoch)?", rf"{_SCORE}(?:_epoch)?", rf"{_SCORE}_{_TRAIN}"),
                "another training metric, higher is better unless a direction says otherwise"),
    RolePattern("val_score", (rf"{_VAL}_{_SCORE}(?:_epoch)?", rf"{_SCORE}_{_VAL}"), "another validation metric"),
    RolePattern("test_score", (rf"{_TEST}_{_SCORE}(?:_epoch)?", rf"{_SCORE}_{_TEST}"),
                "another metric on a second evaluation set"),
    RolePattern("lr", (r"lr", r"learning_rate", r"lr_[a-z0-9_]+", r"learning_rate_[a-z0-9_]+", r"[a-z0-9_]+_lr"),
                "learning rate (Lightning's LearningRateMonitor logs lr-Adam, lr-SGD/pg1)"),
    RolePattern("epoch", (r"epoch", r"epochs", r"trainer_epoch"), "epoch counter"),
    RolePattern("grad_norm_ratio", (
        r"probe_grad_norm_ratio", rf"{_GNORM}_ratio", rf"{_GRAD}_ratio", rf"first_last_{_GNORM}_ratio",
        rf"{_GNORM}_first_(?:last|over_last|to_last)(?:_ratio)?",
    ), "first/last layer gradient-norm ratio"),
    RolePattern("grad_norm_first", (
        r"probe_grad_norm_first", rf"{_GNORM}_first(?:_layer)?", rf"first_layer_{_GNORM}", rf"first_{_GNORM}",
        rf"{_GRAD}_first(?:_layer)?", rf"{_GNORM}_(?:layer_?0|input_layer)",
    ), "gradient norm of the first layer (issue 15: grad_norm_first_layer, first_layer_grad_norm)"),
    RolePattern("grad_norm_last", (
        r"probe_grad_norm_last", rf"{_GNORM}_last(?:_layer)?", rf"last_layer_{_GNORM}", rf"last_{_GNORM}",
        rf"{_GRAD}_last(?:_layer)?", rf"{_GNORM}_(?:output_layer|head|classifier)",
    ), "gradient norm of the last layer"),
    RolePattern("grad_norm_max", (r"probe_grad_norm_max", rf"{_GNORM}_max", rf"max_layer_{_GNORM}"),
                "largest layer gradient norm"),
    RolePattern("grad_norm", (
        r"grad_norm", r"gradient_norm", rf"{_TRAIN}_grad_norm", r"total_grad_norm", r"grad_norm_total",
        r"grad_(?:\d+(?:_\d+)?|inf)_norm_total", rf"global_{_GNORM}", rf"{_GNORM}_global", rf"{_GNORM}_total",
        rf"{_GNORM}_all", r"gnorm",
    ), "norm of the whole gradient as the framework logs it (Hugging Face Trainer's grad_norm, Lightning's "
       "grad_norm() utility: grad_2.0_norm_total)"),
    RolePattern("dead_frac_max", (
        r"probe_dead_frac_max", rf"dead_{_UNITS}?_?{_FRAC}(?:_max)?", rf"{_FRAC}_(?:of_)?dead(?:_{_UNITS})?",
        rf"dead_{_UNITS}_{_FRAC}", rf"{_UNITS}_dead_{_FRAC}", rf"pct_dead_{_UNITS}", r"dead_frac_max",
    ), "largest share of dead units over layers (issue 15: dead_relu_fraction, frac_dead)"),
    RolePattern("saturated_frac_max", (
        r"probe_saturated_frac_max", rf"saturat(?:ed|ion)_{_UNITS}?_?{_FRAC}(?:_max)?",
        rf"{_FRAC}_(?:of_)?saturated(?:_{_UNITS})?", rf"saturated_{_UNITS}_{_FRAC}",
    ), "largest share of saturated units"),
    RolePattern("update_ratio", (
        r"probe_update_ratio_median", r"update_ratio", r"update_to_(?:weight|param|parameter)s?_ratio",
        r"(?:weight|param|parameter)_update_ratio", r"update_norm_ratio", r"update_weight_ratio",
    ), "||update|| / ||weights|| of an optimizer step (~1e-3 is healthy; Karpathy, CS231n)"),
    RolePattern("weight_norm", (
        r"probe_weight_norm", r"weights?_norm", r"param(?:eter)?s?_norm", r"model_norm", r"weight_l2_norm",
    ), "norm of all weights"),
    RolePattern("input_mean", (r"probe_input_mean", r"input_mean", r"inputs_mean", r"batch_mean", r"x_mean"),
                "mean of the input batch"),
    RolePattern("input_std", (r"probe_input_std", r"input_std", r"inputs_std", r"batch_std", r"x_std"),
                "standard deviation of the input batch"),
    RolePattern("nonfinite_layer", (r"probe_nonfinite_layer",), "index of the first layer with NaN/inf, -1 if none"),
)
"""The role table, in resolution order: a name taken by an earlier role is not offered to a later one."""

ROLES: tuple[str, ...] = tuple(p.role for p in ROLE_PATTERNS)

MIN_ROLE_POINTS = 3
"""A candidate series with fewer points loses to one with more (a summary value is not a curve)."""

DENSEST_ROLES = {"train_loss": "train_loss_epoch"}
"""Per-step roles and their per-epoch partner: when several series match the per-step role, the one with
the most points plays it and the next (with at least :data:`MIN_ROLE_POINTS`) the per-epoch role, so
that a loop printing ``loss`` every step and ``train_loss`` every epoch is read the right way round."""

FRACTION_ROLES = ("dead_frac_max", "saturated_frac_max")
"""Roles that are shares of units: values in (1, 100] are read as percentages."""


@dataclass(frozen=True)
class LayerFamily(Record):
    """Per-layer series of one kind: ``patterns`` are full-match regular expressions on the *raw* name
    whose group ``layer`` names the layer."""

    kind: str
    patterns: tuple[str, ...]
    meaning: str


_NOT_A_LAYER = r"(?!(?:first|last|max|min|mean|median|ratio|total|all|global)(?:_layer)?$)"
LAYER_FAMILIES: tuple[LayerFamily, ...] = (
    LayerFamily("grad_norm", (
        rf"{re.escape(PROBE_PREFIX)}grad_norm/(?P<layer>.+)",
        rf"(?i:grad|grads|gradient|gradients|grad_norm|grad_norms|gradient_norm|gradient_norms|gnorm"
        rf"|grad_(?:\d+(?:\.\d+)?|inf)_norm)[/.:](?P<layer>{_NOT_A_LAYER}.+)",
        rf"(?i:grad_norm|gradient_norm)_(?P<layer>{_NOT_A_LAYER}(?:layer|block|fc|conv|lin|linear|dense)_?\d+)",
    ), "gradient norm per layer or per parameter (Lightning's grad_2.0_norm/<param>)"),
    LayerFamily("dead_frac", (
        rf"{re.escape(PROBE_PREFIX)}dead_frac/(?P<layer>.+)",
        rf"(?i:dead|dead_frac|dead_fraction|frac_dead|dead_relu|dead_relu_fraction|dead_units)[/.:](?P<layer>.+)",
    ), "share of dead units per activation layer"),
    LayerFamily("saturated_frac", (
        rf"{re.escape(PROBE_PREFIX)}saturated_frac/(?P<layer>.+)",
        rf"(?i:saturated|saturated_frac|saturation)[/.:](?P<layer>.+)",
    ), "share of saturated units per activation layer"),
    LayerFamily("update_ratio", (
        rf"{re.escape(PROBE_PREFIX)}update_ratio/(?P<layer>.+)",
        rf"(?i:update_ratio|update_to_weight)[/.:](?P<layer>.+)",
    ), "||update|| / ||weight|| per layer"),
)
"""Per-layer naming families, in resolution order (a name taken by one family is not offered to the next)."""

FAMILY_ROLES: dict[str, str] = {f"{f.kind}_layers": f.kind for f in LAYER_FAMILIES}
"""``[diagnose.series]`` keys that map a family with a glob (``grad_norm_layers = "my_grads/*"``)."""

_COMPILED = tuple((p.role, tuple(re.compile(x) for x in p.patterns)) for p in ROLE_PATTERNS)
_FAMILIES = tuple((f.kind, tuple(re.compile(x) for x in f.patterns)) for f in LAYER_FAMILIES)
_SEPARATORS = re.compile(r"[/.\-:\s]+")
_PARAM_SUFFIX = re.compile(r"[./](?:weight|bias|weight_orig|weight_g|weight_v|gamma|beta|running_mean|running_var)$")


def normalize_name(name: str) -> str:
    """``"lr-Adam/pg1"`` -> ``"lr_adam_pg1"``: lower case, separators read as ``_``."""
    return re.sub(r"_+", "_", _SEPARATORS.sub("_", name.strip().lower())).strip("_")


def natural_key(text: str) -> tuple[tuple[int, object], ...]:
    """``"layer10"`` after ``"layer2"``: digit runs compare as numbers."""
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"(\d+)", text) if t)


def layer_families(names: Iterable[str], mapping: Mapping[str, str] | None = None) -> dict[str, dict[str, tuple[str, ...]]]:
    """Per-layer series by family: ``{"grad_norm": {"net.0": ("grad_2.0_norm/net.0.bias", ...), ...}}``.

    Layers are in natural order (:func:`natural_key`); a layer lists the series that make it up
    (per-parameter norms of one module are combined by the caller).  ``mapping`` holds
    ``[diagnose.series]`` globs for ``<kind>_layers`` keys; a mapped family replaces recognition.
    """
    pool = list(dict.fromkeys(names))
    found: dict[str, dict[str, list[str]]] = {}
    taken: set[str] = set()
    for key, glob in (mapping or {}).items():
        kind = FAMILY_ROLES.get(key)
        if kind is None or "*" not in glob:
            continue
        prefix, _, suffix = glob.partition("*")
        for name in pool:
            if fnmatch.fnmatchcase(name, glob):
                layer = name[len(prefix): len(name) - len(suffix) if suffix else None]
                found.setdefault(kind, {}).setdefault(layer, []).append(name)
                taken.add(name)
    for kind, patterns in _FAMILIES:
        if kind in found:
            continue
        sources: dict[str, dict[str, list[str]]] = {}  # one family per prefix: probes and a script's own never mix
        for name in pool:
            if name in taken:
                continue
            for rx in patterns:
                m = rx.fullmatch(name.strip())
                if m:
                    raw = m.group("layer")
                    layer = _PARAM_SUFFIX.sub("", raw) or raw
                    sources.setdefault(name[: m.start("layer")], {}).setdefault(layer, []).append(name)
                    taken.add(name)
                    break
        if sources:
            prefix = max(sources, key=lambda p: (p.startswith(PROBE_PREFIX), len(sources[p]), p))
            found[kind] = sources[prefix]
    return {kind: {layer: tuple(members[layer]) for layer in sorted(members, key=natural_key)}
            for kind, members in found.items()}


def recognize_roles(names: Iterable[str], mapping: Mapping[str, str] | None = None, *,
                    lengths: Mapping[str, int] | None = None) -> dict[str, str]:
    """Map roles (``train_loss``, ``val_acc``, ``lr``, ``grad_norm_first`` ...) to the series names that play them.

    Parameters
    ----------
    names : iterable of str
        The series names of one run.
    mapping : mapping role -> name, optional
        Explicit choices (``[diagnose.series]``); they win over recognition.  A mapped name that
        the run did not log leaves that role unresolved.  ``<kind>_layers`` keys (globs for the
        per-layer families) are accepted and left to :func:`layer_families`.
    lengths : mapping name -> number of points, optional
        With it, a per-step role goes to the densest matching series (:data:`DENSEST_ROLES`) and a
        series of fewer than :data:`MIN_ROLE_POINTS` points loses to a longer one.

    Returns
    -------
    dict
        Only the roles that were found.  Per-layer series (``probe/dead_frac/<layer>``, ``grad/layer1``)
        are not roles; :func:`layer_families` groups them.

    Examples
    --------
    >>> recognize_roles(["loss", "val_loss", "val_accuracy", "lr-Adam", "epoch"])
    {'train_loss': 'loss', 'val_loss': 'val_loss', 'val_acc': 'val_accuracy', 'lr': 'lr-Adam', 'epoch': 'epoch'}
    >>> recognize_roles(["my_loss", "loss"], {"train_loss": "my_loss"})
    {'train_loss': 'my_loss'}
    >>> recognize_roles(["grad_norm_first_layer", "grad_norm_last_layer", "dead_relu_fraction"])
    {'grad_norm_first': 'grad_norm_first_layer', 'grad_norm_last': 'grad_norm_last_layer', 'dead_frac_max': 'dead_relu_fraction'}
    """
    pool = list(dict.fromkeys(names))
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(ROLES) - set(FAMILY_ROLES))
    if unknown:
        raise UsageError(f"[diagnose.series] names unknown role(s) {unknown}. Valid roles: {', '.join(ROLES)}; "
                         f"per-layer families take a glob: {', '.join(FAMILY_ROLES)}. Write e.g. "
                         f"train_loss = \"my_loss\" or grad_norm_layers = \"grads/*\".")
    families = {key: mapping.pop(key) for key in list(mapping) if key in FAMILY_ROLES}
    found: dict[str, str] = {role: name for role, name in mapping.items() if name in pool}
    taken = set(mapping.values())
    taken |= {n for members in layer_families(pool, families).values() for layer in members.values() for n in layer}
    losers: dict[str, list[tuple[int, str]]] = {}
    for role, patterns in _COMPILED:
        if role in mapping:
            continue
        candidates: list[tuple[tuple[int, ...], str]] = []
        for name in pool:
            if name in taken:
                continue
            norm = normalize_name(name)
            for rank, rx in enumerate(patterns):
                if rx.fullmatch(norm):
                    points = lengths.get(name, 0) if lengths is not None else 0
                    short = lengths is not None and points < MIN_ROLE_POINTS
                    dense = -points if role in DENSEST_ROLES and lengths is not None else 0
                    candidates.append(((int(short), dense, rank + (len(patterns) if short else 0), len(name)), name))
                    break
        if role in losers and not candidates:  # the per-epoch partner of a per-step role
            candidates = [((0, -points, 0, len(name)), name) for points, name in losers[role]
                          if name not in taken and points >= MIN_ROLE_POINTS]
        if not candidates:
            continue
        candidates.sort()
        best = candidates[0][1]
        found[role] = best
        taken.add(best)
        if role in DENSEST_ROLES and lengths is not None:
            losers[DENSEST_ROLES[role]] = [(lengths.get(n, 0), n) for _, n in candidates[1:]]
    return {role: found[role] for role in ROLES if role in found}
