"""Invasive changes (seed 001 #8): does a change alter the resolved config of modes it does not target?

Seed 001 #8: "You want to change the learning rate for backbone X [...] You alter the learning rate
for both modes, run the experiment for backbone X, and observe the improvement [...] Merging the
code 'as is' is an antipattern since the learning rate gets altered for backbone Y, for which an
experiment has not been run." Given each mode's resolved config before and after the change, this
lists the non-target modes whose config differs.

References
----------
D. Khizbullin, "Ten Patterns and Antipatterns of Deep Learning Experimentation", Towards AI, 2023, #8.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trialwise._exceptions import UsageError
from trialwise.metrics._common import Record, to_jsonable

__all__ = ["ABSENT", "ConfigDiff", "InvasiveReport", "ModeDiff", "diff_configs", "invasive_report"]


class _Absent:
    """The value of a key a config does not have."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<absent>"

    def __reduce__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()
"""Stands for a missing key in :class:`ConfigDiff` (shown as ``<absent>``)."""

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
"""Keys printed without quotes in dotted paths (TOML's bare keys, https://toml.io/en/v1.0.0#keys)."""


@dataclass(frozen=True)
class ConfigDiff(Record):
    """One key whose value differs: ``old`` or ``new`` is :data:`ABSENT` when the key is missing there."""

    key: str
    old: Any
    new: Any

    @property
    def kind(self) -> str:
        """``"added"``, ``"removed"`` or ``"changed"``."""
        return "added" if self.old is ABSENT else "removed" if self.new is ABSENT else "changed"

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "old": _show(self.old), "new": _show(self.new)}

    def __str__(self) -> str:
        return f"{self.key}: {_text(self.old)} -> {_text(self.new)}"


def _show(v: Any) -> Any:
    return repr(ABSENT) if v is ABSENT else to_jsonable(v)


def _text(v: Any) -> str:
    return repr(ABSENT) if v is ABSENT else repr(v) if isinstance(v, str) else str(to_jsonable(v))


def _path(prefix: str, key: Any) -> str:
    k = str(key)
    k = k if _BARE_KEY.match(k) else '"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{prefix}.{k}" if prefix else k


def _same(a: Any, b: Any) -> bool:
    """Equal values; a bool never equals a number, and NaN equals NaN."""
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - exotic values (arrays) that do not compare to a bool
        return repr(a) == repr(b)


def _walk(old: Any, new: Any, prefix: str, out: list[ConfigDiff]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        keys = list(old) + [k for k in new if k not in old]
        for k in sorted(keys, key=str):
            _walk(old.get(k, ABSENT), new.get(k, ABSENT), _path(prefix, k), out)
        return
    if isinstance(old, Mapping) and old and new is ABSENT:
        for k in sorted(old, key=str):
            _walk(old[k], ABSENT, _path(prefix, k), out)
        return
    if isinstance(new, Mapping) and new and old is ABSENT:
        for k in sorted(new, key=str):
            _walk(ABSENT, new[k], _path(prefix, k), out)
        return
    if old is ABSENT and new is ABSENT:
        return
    if old is ABSENT or new is ABSENT or not _same(old, new):
        out.append(ConfigDiff(prefix or "<root>", old, new))


def diff_configs(base: Mapping[str, Any], change: Mapping[str, Any]) -> list[ConfigDiff]:
    """Every leaf that differs between two nested configs, as dotted key paths in sorted order.

    A key present on one side only is reported with :data:`ABSENT` on the other; a whole missing
    section is reported leaf by leaf. Lists are compared as values. Keys that are not TOML bare
    keys are quoted (``optim."lr.decay"``).

    Examples
    --------
    >>> [str(d) for d in diff_configs({"optim": {"lr": 1e-3}}, {"optim": {"lr": 3e-4, "wd": 0.1}})]
    ['optim.lr: 0.001 -> 0.0003', 'optim.wd: <absent> -> 0.1']
    """
    for name, value in (("base", base), ("change", change)):
        if not isinstance(value, Mapping):
            raise UsageError(f"The '{name}' parameter of diff_configs() must be a mapping (a resolved config). "
                             f"Got {type(value).__name__} instead.")
    out: list[ConfigDiff] = []
    _walk(base, change, "", out)
    return out


@dataclass(frozen=True)
class ModeDiff(Record):
    """A mode whose resolved config differs between base and change."""

    mode: str
    diffs: tuple[ConfigDiff, ...]
    status: str = "changed"
    """``"changed"``, ``"added"`` (the mode exists only with the change) or ``"removed"``."""


@dataclass(frozen=True)
class InvasiveReport(Record):
    """Whether a change meant for ``target_mode`` also alters other modes (seed 001 #8).

    Attributes
    ----------
    invaded : tuple of ModeDiff
        Non-target modes whose resolved config differs.
    target_diffs : tuple of ConfigDiff
        What the change does to the target mode's config (empty: code-only change, or it does not reach it).
    """

    target_mode: str
    target_changed: bool
    target_diffs: tuple[ConfigDiff, ...]
    invaded: tuple[ModeDiff, ...]
    unchanged_modes: tuple[str, ...]
    summary: tuple[str, ...]

    @property
    def invasive(self) -> bool:
        return bool(self.invaded)


def invasive_report(mode_configs_base: Mapping[str, Mapping[str, Any]],
                    mode_configs_change: Mapping[str, Mapping[str, Any]], target_mode: str) -> InvasiveReport:
    """List every non-target mode whose resolved config the change alters.

    Parameters
    ----------
    mode_configs_base, mode_configs_change : mapping of mode name to resolved config
        Each mode's config as the base and as the change resolve it.
    target_mode : str
        The mode the change is meant for (its experiment was run).

    References
    ----------
    Seed 001 #8 (D. Khizbullin, 2023).
    """
    modes = list(mode_configs_base) + [m for m in mode_configs_change if m not in mode_configs_base]
    if target_mode not in modes:
        raise UsageError(f"The 'target_mode' parameter of invasive_report() must be one of the modes "
                         f"{', '.join(map(repr, modes)) or '(none given)'}. Got {target_mode!r} instead.")
    diffs: dict[str, ModeDiff] = {}
    for mode in modes:
        old, new = mode_configs_base.get(mode), mode_configs_change.get(mode)
        status = "added" if old is None else "removed" if new is None else "changed"
        d = diff_configs(old or {}, new or {})
        if d or status != "changed":
            diffs[mode] = ModeDiff(mode, tuple(d), status)
    target = diffs.get(target_mode)
    invaded = tuple(v for m, v in diffs.items() if m != target_mode)
    unchanged = tuple(m for m in modes if m not in diffs)
    lines = []
    if target is None:
        lines.append(f"The change does not alter the resolved config of the target mode '{target_mode}': it is a "
                     "code-only change, or it does not reach that mode.")
    else:
        lines.append(f"Target mode '{target_mode}': " + ("; ".join(map(str, target.diffs)) or target.status) + ".")
    for m in invaded:
        what = "; ".join(map(str, m.diffs)) or m.status
        lines.append(f"Invasive: the change also alters mode '{m.mode}' ({m.status}: {what}), for which no "
                     "experiment targets it (seed 001 #8).")
    if invaded:
        lines.append("Make the change non-invasive (scope it to the target mode), then re-run the target "
                     "experiment before merging; or run the affected modes too.")
    else:
        lines.append("Non-invasive: no other mode's resolved config changes.")
    return InvasiveReport(target_mode, target is not None, target.diffs if target else (), invaded, unchanged,
                          tuple(lines))
