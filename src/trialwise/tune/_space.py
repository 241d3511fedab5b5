"""Search spaces: ``--param lr=log:1e-5..1e-1`` parsed into typed parameter specs.

A space is data (frozen records); Optuna distributions are built from it on demand, so parsing and
validating a space never imports Optuna.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trialwise._exceptions import UsageError
from trialwise.metrics._common import Record

__all__ = ["KINDS", "DEFAULT_GRID_POINTS", "ParamSpec", "Space", "parse_param", "parse_space"]

KINDS = ("float", "log", "int", "logint", "choice")
"""Parameter kinds: uniform float, log-uniform float, uniform integer, log-uniform integer and a
categorical choice.  Log scales for quantities that act multiplicatively (learning rate, weight
decay, width): seed 003 and Bergstra & Bengio, "Random search for hyper-parameter optimization",
JMLR 13, 2012, §2.3."""

KIND_ALIASES = {"uniform": "float", "loguniform": "log", "int-log": "logint", "log-int": "logint",
                "categorical": "choice", "cat": "choice"}
"""Other spellings accepted on the command line."""

DEFAULT_GRID_POINTS = 5
"""Grid values per continuous parameter when ``--sampler grid`` (trialwise's choice: 5 points
resolve a U-shaped curve's bottom within one fifth of the range; wider grids grow as ``5^d``)."""

SPEC_RE = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.\-]*)\s*=\s*(?P<kind>[\w\-]+)\s*:\s*(?P<body>.+?)\s*$")
USAGE = ("NAME=KIND:LOW..HIGH (KIND: float, log, int, logint) or NAME=choice:A,B,C, "
         "e.g. lr=log:1e-5..1e-1, width=int:32..512, opt=choice:adam,sgd")


def cast_value(raw: str) -> Any:
    """``"3"`` → 3, ``"0.1"`` → 0.1, anything else stays text (how ``--set`` reads values)."""
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            continue
    return raw


def _number_text(x: float | int) -> str:
    return repr(x) if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class ParamSpec(Record):
    """One searched hyperparameter.

    Attributes
    ----------
    name : str
        The name the script receives through ``[params]`` (``--name value`` by default).
    kind : {"float", "log", "int", "logint", "choice"}
    low, high : float or int or None
        Inclusive bounds of numeric kinds.
    choices : tuple
        Values of a ``choice``.
    """

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    choices: tuple[Any, ...] = ()

    @property
    def log(self) -> bool:
        return self.kind in ("log", "logint")

    @property
    def numeric(self) -> bool:
        return self.kind != "choice"

    def spec(self) -> str:
        """The canonical ``--param`` text of this spec."""
        if self.kind == "choice":
            return f"{self.name}=choice:" + ",".join(str(c) for c in self.choices)
        assert self.low is not None and self.high is not None
        return f"{self.name}={self.kind}:{_number_text(self.low)}..{_number_text(self.high)}"

    def distribution(self) -> Any:
        """The Optuna distribution of this parameter."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "choice":
            return CategoricalDistribution(list(self.choices))
        if self.kind in ("int", "logint"):
            return IntDistribution(int(self.low), int(self.high), log=self.log)  # type: ignore[arg-type]
        return FloatDistribution(float(self.low), float(self.high), log=self.log)  # type: ignore[arg-type]

    def contains(self, value: Any) -> bool:
        if self.kind == "choice":
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind in ("int", "logint") and int(value) != value:
            return False
        return self.low <= value <= self.high  # type: ignore[operator]

    def center(self) -> Any:
        """The middle of the range on its own scale (geometric for log kinds); the first choice."""
        if self.kind == "choice":
            return self.choices[0]
        low, high = float(self.low), float(self.high)  # type: ignore[arg-type]
        mid = math.sqrt(low * high) if self.log else (low + high) / 2
        return int(round(mid)) if self.kind in ("int", "logint") else mid

    def clip(self, value: float) -> Any:
        """``value`` moved into the range (numeric kinds)."""
        v = min(max(value, self.low), self.high)  # type: ignore[type-var]
        return int(round(v)) if self.kind in ("int", "logint") else float(v)

    def grid(self, points: int = DEFAULT_GRID_POINTS) -> list[Any]:
        """Values for a grid search: every choice; ``points`` values on the parameter's scale."""
        if self.kind == "choice":
            return list(self.choices)
        low, high = float(self.low), float(self.high)  # type: ignore[arg-type]
        values = np.geomspace(low, high, points) if self.log else np.linspace(low, high, points)
        if self.kind in ("int", "logint"):
            if high - low + 1 <= points:
                return list(range(int(low), int(high) + 1))
            return sorted({int(round(v)) for v in values})
        return [float(v) for v in values]

    def position(self, value: Any) -> float:
        """Where ``value`` lies on the parameter's axis (log10 for log kinds; choice index)."""
        if self.kind == "choice":
            return float(self.choices.index(value)) if value in self.choices else math.nan
        return math.log10(float(value)) if self.log else float(value)


def _bad(text: str, why: str) -> UsageError:
    return UsageError(f"--param '{text}': {why}. Expected {USAGE}.")


def parse_param(text: str) -> ParamSpec:
    """Parse one ``--param`` value.

    Parameters
    ----------
    text : str
        ``NAME=KIND:LOW..HIGH`` or ``NAME=choice:A,B,...``.

    Returns
    -------
    ParamSpec

    Raises
    ------
    UsageError
        The text does not follow the grammar, or the range is empty or invalid for its scale.

    Examples
    --------
    >>> parse_param("lr=log:1e-5..1e-1").spec()
    'lr=log:1e-05..0.1'
    >>> parse_param("opt=choice:adam,sgd").choices
    ('adam', 'sgd')
    """
    m = SPEC_RE.match(text)
    if not m:
        raise _bad(text, "cannot read it")
    name, kind, body = m.group("name"), m.group("kind").lower(), m.group("body")
    kind = KIND_ALIASES.get(kind, kind)
    if kind not in KINDS:
        raise _bad(text, f"unknown kind '{m.group('kind')}' (known: {', '.join(KINDS)})")
    if kind == "choice":
        choices = tuple(cast_value(c.strip()) for c in body.split(",") if c.strip())
        if not choices:
            raise _bad(text, "a choice needs at least one value")
        if len(set(map(str, choices))) != len(choices):
            raise _bad(text, "a choice lists a value twice")
        return ParamSpec(name, kind, choices=choices)
    if ".." not in body:
        raise _bad(text, f"a {kind} range is written LOW..HIGH")
    low_t, high_t = (p.strip() for p in body.split("..", 1))
    try:
        low, high = float(low_t), float(high_t)
    except ValueError:
        raise _bad(text, f"'{low_t}' and '{high_t}' must be numbers") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise _bad(text, f"the range {low_t}..{high_t} is empty or not finite (LOW must be below HIGH)")
    if kind in ("log", "logint") and low <= 0:
        raise _bad(text, f"a log scale needs LOW > 0, got {low_t} (use kind float or int to include 0)")
    if kind in ("int", "logint"):
        if low != int(low) or high != int(high):
            raise _bad(text, f"an integer range needs integer bounds, got {low_t}..{high_t}")
        return ParamSpec(name, kind, int(low), int(high))
    return ParamSpec(name, kind, low, high)


@dataclass(frozen=True)
class Space(Record):
    """An ordered set of searched parameters, plus parameters held ``fixed`` (``--set``)."""

    params: tuple[ParamSpec, ...]
    fixed: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise UsageError(f"--param names {', '.join(dup)} more than once; give each parameter one range")
        both = sorted(set(names) & {k for k, _ in self.fixed})
        if both:
            raise UsageError(f"{', '.join(both)} is both searched (--param) and fixed (--set); drop one")

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def get(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise UsageError(f"no parameter '{name}' in the search space ({', '.join(self.names) or 'empty'})")

    def specs(self) -> list[str]:
        return [p.spec() for p in self.params]

    def key(self) -> str:
        """Canonical text of the space (with fixed values): part of a study's identity."""
        return json.dumps({"params": self.specs(), "fixed": dict(self.fixed)}, sort_keys=True, default=str)

    def distributions(self) -> dict[str, Any]:
        return {p.name: p.distribution() for p in self.params}

    def grid(self, points: int = DEFAULT_GRID_POINTS) -> dict[str, list[Any]]:
        return {p.name: p.grid(points) for p in self.params}

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Draw one configuration from an Optuna trial (its sampler decides)."""
        out: dict[str, Any] = {}
        for p in self.params:
            if p.kind == "choice":
                out[p.name] = trial.suggest_categorical(p.name, list(p.choices))
            elif p.kind in ("int", "logint"):
                out[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)  # type: ignore[arg-type]
            else:
                out[p.name] = trial.suggest_float(p.name, float(p.low), float(p.high), log=p.log)  # type: ignore[arg-type]
        return out

    def without(self, names: Sequence[str], fixed: Mapping[str, Any]) -> Space:
        """This space with ``names`` removed from the search and ``fixed`` values added."""
        return Space(tuple(p for p in self.params if p.name not in names),
                     tuple(sorted({**dict(self.fixed), **dict(fixed)}.items())))


def parse_space(params: Sequence[str], fixed: Mapping[str, Any] | None = None) -> Space:
    """A :class:`Space` from ``--param`` texts and ``--set`` values."""
    return Space(tuple(parse_param(t) for t in params), tuple(sorted((fixed or {}).items())))
