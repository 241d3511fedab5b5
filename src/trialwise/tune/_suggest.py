"""``trialwise sweep suggest``: a search space and its order from the prior table, and the seed-004
defaults as the first trial.

Seed 004 ranks what is worth tuning (learning rate, schedule, loss and layer size high; optimizer,
its other parameters, batch size and nonlinearity low); seed 003 says the learning rate comes first,
on a log scale.  High and medium parameters are searched; low ones are held at their default unless
nothing else is left to search.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from trialwise.metrics._common import Record
from trialwise.tune._priors import SENSITIVITIES, PriorParam, match_prior
from trialwise.tune._space import ParamSpec, Space

__all__ = ["SUGGESTED_TRIALS_PER_PARAM", "SpaceSuggestion", "SuggestedParam", "default_trial", "suggest_space"]

SUGGESTED_TRIALS_PER_PARAM = 10
"""Trials suggested per searched parameter, on top of :data:`SUGGESTED_MIN_TRIALS` (trialwise's rule
of thumb; Bergstra & Bengio, JMLR 13, 2012, §3: random search finds a good region of one or two
important parameters in a few dozen trials)."""

SUGGESTED_MIN_TRIALS = 10
"""Optuna's TPE starts with 10 random trials (``TPESampler(n_startup_trials=10)``) before it models."""

UNKNOWN_RANGE_FACTOR = 10.0
"""A numeric parameter without a prior is searched over its current value divided and multiplied by
this factor, on a log scale (one decade each way; trialwise's choice)."""

SEARCHED = ("high", "medium")
"""Sensitivities searched by default; ``low`` ones are held fixed (seed 004: "rules of thumb of what is
worth tuning")."""


@dataclass(frozen=True)
class SuggestedParam(Record):
    """One parameter of a suggested sweep."""

    name: str
    source: str
    current: Any
    prior: str | None
    sensitivity: str
    spec: str | None
    default: Any
    default_note: str
    search: bool
    reason: str


@dataclass(frozen=True)
class SpaceSuggestion(Record):
    """The suggested sweep: parameters in search order, the first trial, a command line."""

    params: tuple[SuggestedParam, ...]
    first_trial: dict[str, Any]
    fixed: dict[str, Any]
    trials: int
    command: str
    notes: tuple[str, ...] = field(default_factory=tuple)


def _widen(spec: ParamSpec, current: Any) -> tuple[ParamSpec, str]:
    """``spec`` widened so that the script's current value lies inside it."""
    if current is None or spec.contains(current):
        return spec, ""
    if spec.kind == "choice":
        return ParamSpec(spec.name, "choice", choices=(current, *spec.choices)), f"added the current value {current!r}"
    if isinstance(current, bool) or not isinstance(current, (int, float)) or not math.isfinite(current):
        return spec, ""
    if spec.log and current <= 0:
        return spec, f"current value {current!r} cannot lie on a log scale; kept the range"
    low, high = min(spec.low, current), max(spec.high, current)  # type: ignore[type-var]
    if spec.kind in ("int", "logint"):
        low, high = int(math.floor(low)), int(math.ceil(high))
    return ParamSpec(spec.name, spec.kind, low, high), f"widened to include the current value {current!r}"


def _unknown_spec(name: str, current: Any) -> ParamSpec | None:
    """A range around the current value of a parameter the table does not know."""
    if isinstance(current, bool):
        return ParamSpec(name, "choice", choices=(current, not current))
    if isinstance(current, int) and current > 0:
        low = max(1, int(current / UNKNOWN_RANGE_FACTOR))
        high = int(current * UNKNOWN_RANGE_FACTOR)
        return ParamSpec(name, "logint", low, high) if high > low else None
    if isinstance(current, float) and math.isfinite(current) and current > 0:
        return ParamSpec(name, "log", current / UNKNOWN_RANGE_FACTOR, current * UNKNOWN_RANGE_FACTOR)
    return None


def default_trial(space: Space) -> tuple[dict[str, Any], dict[str, str]]:
    """The first trial of a sweep: the seed-004 default of every parameter that has one (Adam 3e-4,
    ReLU, He init, no regularization), the middle of the range (first choice) for the rest.

    Returns
    -------
    (values, notes)
        ``notes[name]`` says where each value comes from.
    """
    values: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for p in space.params:
        prior = match_prior(p.name)
        found = prior.default_in(p) if prior is not None else None
        if found is not None:
            values[p.name], notes[p.name] = found
        else:
            values[p.name] = p.center()
            notes[p.name] = "first choice" if p.kind == "choice" else "middle of the range"
    return values, notes


def _rank(item: tuple[str, str, Any, PriorParam | None]) -> tuple[int, int, int]:
    prior = item[3]
    if prior is None:
        return len(SENSITIVITIES), 0, 0
    return (*prior.row.rank, 0)


def suggest_space(names: Mapping[str, tuple[str, Any]], *, seeds: int = 2,
                  extra_args: Sequence[str] = ()) -> SpaceSuggestion:
    """Propose a sweep over the script's parameters from the prior table.

    Parameters
    ----------
    names : mapping
        ``{name: (source, current value or None)}``: the parameters the script takes, where each
        name was found (``[params.map]``, a profile's ``set``, the last run's ``tw.config``).
    seeds : int
        ``--seeds`` of the suggested command.
    extra_args : sequence of str
        Further arguments for the suggested command (e.g. ``--profile fast``).

    Returns
    -------
    SpaceSuggestion
        Parameters ordered by prior sensitivity (high first; the learning rate first of all),
        searched (high/medium) or held at their default (low), with the first trial.

    References
    ----------
    .. [1] Seed 004 (Full Stack Deep Learning notes): sensitivity table and sensible defaults.
    .. [2] Seed 003 (Deep Learning Book ch. 11 notes): learning rate first, U-shaped curves.
    """
    items = sorted(((n, src, cur, match_prior(n)) for n, (src, cur) in names.items()), key=_rank)
    rows: list[SuggestedParam] = []
    notes: list[str] = []
    for name, source, current, prior in items:
        widen_note = ""
        if prior is not None:
            spec = prior.spec(name)
            if spec is None and current is not None:
                spec = ParamSpec(name, "choice", choices=(current,))
                widen_note = "the table lists no values: add your alternatives"
            elif spec is not None:
                spec, widen_note = _widen(spec, current)
            sensitivity = prior.row.sensitivity
            reason = f"seed 004: {prior.row.label} — {sensitivity} sensitivity"
            if prior.row.key == "learning_rate":
                reason += "; seed 003: tune it first, on a log scale"
            if prior.range_source:
                reason += f" (range: {prior.range_source})"
        else:
            spec = _unknown_spec(name, current)
            sensitivity = "unknown"
            reason = "not in the prior table" + (f"; one decade around the current value {current!r}" if spec else "")
        default, default_note = None, ""
        if spec is not None:
            found = prior.default_in(spec) if prior is not None else None
            default, default_note = found if found is not None else (spec.center(), "middle of the range")
        elif prior is not None and prior.default is not None:
            default, default_note = prior.default, "seed-004 default"
        search = spec is not None and sensitivity in (*SEARCHED, "unknown")
        if widen_note:
            reason += f"; {widen_note}"
        rows.append(SuggestedParam(name, source, current, prior.row.label if prior else None, sensitivity,
                                   spec.spec() if spec else None, default, default_note, search, reason))
    if rows and not any(r.search for r in rows):
        rows = [replace(r, search=r.spec is not None) for r in rows]
        notes.append("every parameter has low prior sensitivity: all are searched, expect small effects")
    searched = [r for r in rows if r.search]
    fixed = {r.name: r.default for r in rows if not r.search and r.default is not None
             and r.default_note.startswith("seed-004")}
    first = {r.name: r.default for r in searched}
    first.update(fixed)
    trials = SUGGESTED_MIN_TRIALS + SUGGESTED_TRIALS_PER_PARAM * len(searched)
    parts = ["trialwise", "sweep"]
    for r in searched:
        parts += ["--param", str(r.spec)]
    for k, v in fixed.items():
        parts += ["--set", f"{k}={v}"]
    parts += ["--sampler", "tpe", "--trials", str(trials), "--seeds", str(seeds), *extra_args]
    if not rows:
        notes.append("no parameters found: map them in trialwise.toml [params.map], set them in a profile, "
                     "record them with tw.config() in the script, or name them with --name")
    for r in rows:
        if r.spec is None:
            notes.append(f"{r.name}: no range known; add --param {r.name}=KIND:LOW..HIGH yourself")
    return SpaceSuggestion(tuple(rows), first, fixed, trials, shlex.join(parts), tuple(notes))
