"""Seeds that do not vary: the script seeds itself, so N "seeds" are N copies of one run.

Scripts as their authors wrote them often fix their own seed (argparse ``--seed`` default 1,
LightningCLI's ``seed_everything_default``, Hugging Face's ``TrainingArguments(seed=42)``).  Their
runs are then identical, the spread across seeds is zero, and every statistic built on it is wrong
(pattern #1 needs seeds that vary).  :func:`identical_seeds` finds the seeds whose training curves
match point for point.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LOSS_MARK = "loss"
"""Series whose name contains this are compared too: a loss curve is the surest fingerprint."""

MIN_POINTS = 2
"""Fewer compared points than this cannot tell a copy from a coincidence (one final accuracy of
0.95 on 200 examples is shared by chance); no judgment is made."""

SEED_FIX = (
    "the seed does not reach the script, which seeds itself (an argparse `--seed` default, "
    "LightningCLI's `seed_everything_default`, `TrainingArguments(seed=42)`). Map it in "
    "trialwise.toml: [params] seed = \"--seed {value}\" (LightningCLI: \"--seed_everything {value}\"), "
    "or let `trialwise init` detect it"
)
"""The likely cause and the fix, for a warning or a refusal."""


@dataclass(frozen=True)
class IdenticalSeeds:
    """Groups of seeds (two or more each) whose compared series are identical."""

    groups: list[list[int]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.groups)

    def describe(self, label: str) -> str:
        seeds = "; ".join(", ".join(map(str, g)) for g in self.groups)
        return (f"seeds {seeds} of {label} produced identical {', '.join(self.keys)} series: {SEED_FIX}")

    def to_dict(self) -> dict[str, Any]:
        return {"groups": self.groups, "keys": self.keys}


def _fingerprint(series: Mapping[str, Sequence[float]], keys: Sequence[str]) -> str:
    h = hashlib.sha256()
    for key in keys:
        values = series.get(key, ())
        h.update(key.encode("utf-8", "surrogatepass") + b"\0" + struct.pack("<q", len(values)))
        for v in values:
            h.update(struct.pack("<d", v if math.isfinite(v) else math.nan))
    return h.hexdigest()


def identical_seeds(series: Mapping[int, Mapping[str, Sequence[float]]], metric: str) -> IdenticalSeeds:
    """Seeds whose ``metric`` series and loss series are identical.

    ``series`` maps each seed to its series (``{key: values in step order}``).  Only keys every
    seed logged are compared, and only when they hold :data:`MIN_POINTS` or more points."""
    if len(series) < 2:
        return IdenticalSeeds()
    common = set.intersection(*(set(s) for s in series.values()))
    keys = sorted(k for k in common if k == metric or LOSS_MARK in k.lower())
    if not keys or min(sum(len(s[k]) for k in keys) for s in series.values()) < MIN_POINTS:
        return IdenticalSeeds()  # no keys: cannot judge
    by_print: dict[str, list[int]] = {}
    for seed in sorted(series):
        by_print.setdefault(_fingerprint(series[seed], keys), []).append(seed)
    return IdenticalSeeds([g for g in by_print.values() if len(g) > 1], keys)


MIN_OUTPUT_CHARS = 20
"""Shorter outputs (``done``) are the same for any seed; no judgment from them."""


def identical_outputs(texts: Mapping[int, str]) -> IdenticalSeeds:
    """Seeds whose printed output is identical, character for character: the fallback when too
    little was captured to compare curves.  Output that differs only in timings is not identical,
    so this can miss copies but never invents one."""
    if len(texts) < 2:
        return IdenticalSeeds()
    by_text: dict[str, list[int]] = {}
    for seed in sorted(texts):
        text = texts[seed]
        if len(text.strip()) < MIN_OUTPUT_CHARS:
            return IdenticalSeeds()
        by_text.setdefault(hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), []).append(seed)
    return IdenticalSeeds([g for g in by_text.values() if len(g) > 1], ["stdout"])


def same_seeds(series: Mapping[int, Mapping[str, Sequence[float]]], texts: Mapping[int, str],
               metric: str, finals: Mapping[int, float] | None = None) -> IdenticalSeeds:
    """:func:`identical_seeds` on the curves when they can judge, else :func:`identical_outputs`,
    but only when the seeds' final ``metric`` values (``finals``) do not already differ: a script
    that prints a fixed banner and reports one final value that varies is not a copy."""
    found = identical_seeds(series, metric)
    if found.found or found.keys:
        return found
    values = {(round(v, 12) if math.isfinite(v) else None) for v in (finals or {}).values()}
    if len(values) > 1:
        return IdenticalSeeds()
    return identical_outputs(texts)
