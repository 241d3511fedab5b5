"""Series roles: which logged series is the training loss, the validation accuracy, the learning rate.

Recognition is data: :data:`ROLE_PATTERNS` lists, per role, regular expressions matched against the
*normalized* name (lower case; ``/ . - :`` and spaces read as ``_``), most specific first.  An explicit
mapping (``[diagnose.series]`` in ``trialwise.toml``, e.g. ``train_loss = "my_loss"``) always wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from trialwise._exceptions import UsageError
from trialwise.metrics._common import Record

__all__ = [
    "MIN_ROLE_POINTS", "PROBE_PREFIX", "ROLES", "ROLE_PATTERNS", "RolePattern", "normalize_name", "recognize_roles",
]

_TRAIN = r"(?:train|training|trn)"
_VAL = r"(?:val|valid|validation|eval|dev)"
_TEST = r"(?:test|holdout|heldout)"
_ACC = r"(?:acc|accuracy|top_?1(?:_acc(?:uracy)?)?)"
_SCORE = (r"(?:f1|f1_score|macro_f1|micro_f1|weighted_f1|auc|auroc|roc_auc|ap|map|iou|miou|dice|precision"
          r"|recall|bleu|r2|mcc|balanced_accuracy)")

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
    RolePattern("grad_norm_ratio", (r"probe_grad_norm_ratio",), "first/last layer gradient-norm ratio"),
    RolePattern("grad_norm_first", (r"probe_grad_norm_first",), "gradient norm of the first layer"),
    RolePattern("grad_norm_last", (r"probe_grad_norm_last",), "gradient norm of the last layer"),
    RolePattern("grad_norm_max", (r"probe_grad_norm_max",), "largest layer gradient norm"),
    RolePattern("grad_norm", (
        r"grad_norm", r"gradient_norm", rf"{_TRAIN}_grad_norm", r"total_grad_norm", r"grad_norm_total",
        r"grad_(?:\d+(?:_\d+)?|inf)_norm_total",
    ), "norm of the whole gradient as the framework logs it (Hugging Face Trainer's grad_norm, Lightning's "
       "grad_norm() utility: grad_2.0_norm_total)"),
    RolePattern("dead_frac_max", (r"probe_dead_frac_max",), "largest share of dead units over layers"),
    RolePattern("saturated_frac_max", (r"probe_saturated_frac_max",), "largest share of saturated units"),
    RolePattern("input_mean", (r"probe_input_mean",), "mean of the input batch"),
    RolePattern("input_std", (r"probe_input_std",), "standard deviation of the input batch"),
    RolePattern("nonfinite_layer", (r"probe_nonfinite_layer",), "index of the first layer with NaN/inf, -1 if none"),
)
"""The role table, in resolution order: a name taken by an earlier role is not offered to a later one."""

ROLES: tuple[str, ...] = tuple(p.role for p in ROLE_PATTERNS)

MIN_ROLE_POINTS = 3
"""A candidate series with fewer points loses to one with more (a summary value is not a curve)."""

_COMPILED = tuple((p.role, tuple(re.compile(x) for x in p.patterns)) for p in ROLE_PATTERNS)
_SEPARATORS = re.compile(r"[/.\-:\s]+")


def normalize_name(name: str) -> str:
    """``"lr-Adam/pg1"`` -> ``"lr_adam_pg1"``: lower case, separators read as ``_``."""
    return re.sub(r"_+", "_", _SEPARATORS.sub("_", name.strip().lower())).strip("_")


def recognize_roles(names: Iterable[str], mapping: Mapping[str, str] | None = None, *,
                    lengths: Mapping[str, int] | None = None) -> dict[str, str]:
    """Map roles (``train_loss``, ``val_acc``, ``lr`` ...) to the series names that play them.

    Parameters
    ----------
    names : iterable of str
        The series names of one run.
    mapping : mapping role -> name, optional
        Explicit choices (``[diagnose.series]``); they win over recognition.  A mapped name that
        the run did not log leaves that role unresolved.

    Returns
    -------
    dict
        Only the roles that were found.  Per-layer probe series (``probe/dead_frac/<layer>``) are
        not roles; detectors read them by prefix.

    Examples
    --------
    >>> recognize_roles(["loss", "val_loss", "val_accuracy", "lr-Adam", "epoch"])
    {'train_loss': 'loss', 'val_loss': 'val_loss', 'val_acc': 'val_accuracy', 'lr': 'lr-Adam', 'epoch': 'epoch'}
    >>> recognize_roles(["my_loss", "loss"], {"train_loss": "my_loss"})
    {'train_loss': 'my_loss'}
    """
    pool = list(dict.fromkeys(names))
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(ROLES))
    if unknown:
        raise UsageError(f"[diagnose.series] names unknown role(s) {unknown}. Valid roles: {', '.join(ROLES)}. "
                         f"Write e.g. train_loss = \"my_loss\".")
    found: dict[str, str] = {role: name for role, name in mapping.items() if name in pool}
    taken = set(mapping.values())
    for role, patterns in _COMPILED:
        if role in mapping:
            continue
        best: tuple[int, int, str] | None = None
        for name in pool:
            if name in taken:
                continue
            norm = normalize_name(name)
            for rank, rx in enumerate(patterns):
                if rx.fullmatch(norm):
                    short = lengths is not None and lengths.get(name, 0) < MIN_ROLE_POINTS
                    key = (rank + (len(patterns) if short else 0), len(name), name)
                    best = key if best is None or key < best else best
                    break
        if best is not None:
            found[role] = best[2]
            taken.add(best[2])
    return {role: found[role] for role in ROLES if role in found}
