"""Which hyperparameters an experiment ran with: ``--set`` values, its command line, ``tw.config``.

``doctor`` changes one hyperparameter per confirmatory experiment (``lr x 0.1``), so it must know
the value the experiment ran with and the name the script takes it under. Scripts say it in
different places: trialwise's own overrides (``--set lr=0.01``, a profile's ``set``), the command
line in ``trialwise.toml`` or a mode's ``args`` (``--lr 0.01``, ``--learning_rate=0.01``,
``--optimizer.lr 0.01``), or ``tw.config({...})`` from inside the script. This module reads all three
(pure functions on the stored values) and matches the catalog's name to the script's through the
aliases of the prior table (seed 004's rows: ``lr`` = ``learning_rate`` = ``base_lr`` ...).

The command line is read the way :mod:`argparse` reads long options: ``--name value`` and
``--name=value``, the last occurrence winning; a long option followed by another option (or by
nothing) is a flag (``True``; ``--no-name`` also gives ``name = False``). Short options and
positional arguments are not parameters. A value that looks like a number is a number, ``true`` /
``false`` are booleans.

References
----------
Python's :mod:`argparse` ("prefix matching", "the last one wins" for repeated options);
seed 004 (Full Stack Deep Learning notes, the hyperparameter table) for the aliases.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trialwise.metrics._common import Record

__all__ = ["SOURCES", "ParamLookup", "command_line_params", "find_param", "param_aliases"]

SET, COMMAND_LINE, TW_CONFIG, PARAMS_MAP = "--set", "command line", "tw.config", "[params].map"
SOURCES = (SET, COMMAND_LINE, TW_CONFIG, PARAMS_MAP)
"""Where a value is looked for, in this order: trialwise's own overrides (``launch["set"]``: a
profile's or mode's ``set`` and ``--set``), the stored command line (the experiment's full argv),
the values the script reported with ``tw.config`` (the most common over seeds), and the names of
``[params].map`` (the script takes the parameter; its value is unknown)."""

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _cast(raw: str) -> Any:
    """``"3"`` -> 3, ``"1e-3"`` -> 0.001, ``"true"`` -> True, anything else stays text."""
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if _NUMBER.match(raw):
        try:
            return int(raw)
        except ValueError:
            return float(raw)
    return raw


def _is_option(token: str) -> bool:
    return token.startswith("-") and len(token) > 1 and not _NUMBER.match(token)


def command_line_params(argv: Sequence[str]) -> dict[str, Any]:
    """The long options of a command line as ``{name: value}``, the last occurrence winning.

    Examples
    --------
    >>> command_line_params(["python", "train.py", "--lr", "0.01", "--learning_rate=1e-3", "--amp", "--no-shuffle"])
    {'lr': 0.01, 'learning_rate': 0.001, 'amp': True, 'no-shuffle': True, 'shuffle': False}
    """
    out: dict[str, Any] = {}
    args = [str(a) for a in argv]
    i = 0
    while i < len(args):
        token = args[i]
        i += 1
        if token == "--":
            break
        if not token.startswith("--") or len(token) == 2:
            continue
        body = token[2:]
        if "=" in body:
            name, raw = body.split("=", 1)
            out[name] = _cast(raw)
        elif i < len(args) and not _is_option(args[i]):
            out[body] = _cast(args[i])
            i += 1
        else:
            out[body] = True
            for prefix in ("no-", "no_"):
                if body.startswith(prefix) and len(body) > len(prefix):
                    out[body[len(prefix):]] = False
    return out


def _normal(name: str) -> str:
    return str(name).strip().lstrip("-").lower().replace("-", "_")


def param_aliases(param: str) -> frozenset[str]:
    """Normalised names that mean the same hyperparameter as ``param``: itself and, when the prior
    table (seed 004) lists ``param`` as an exact alias of a parameter, that parameter's aliases."""
    from trialwise.tune._priors import priors

    n = _normal(param)
    names = {n}
    for p in priors().params:
        if n in p.aliases or n == _normal(p.name):
            names |= set(p.aliases) | {_normal(p.name)}
    return frozenset(names)


@dataclass(frozen=True)
class ParamLookup(Record):
    """What is known of one hyperparameter of an experiment.

    Attributes
    ----------
    param : str
        The name asked for (the catalog's, e.g. ``lr``).
    name : str or None
        The name the script takes it under (``learning_rate``, ``optimizer.lr``); ``None`` when no
        source names it.
    value : Any
        The value it ran with (``None`` when unknown).
    known : bool
        Whether ``value`` is known (a ``[params].map`` entry names the parameter but not its value).
    source : str
        One of :data:`SOURCES`, or ``""``.
    candidates : tuple of str
        Every script name that matched (several = ambiguous: ``name`` is ``None``).
    """

    param: str
    name: str | None
    value: Any
    known: bool
    source: str
    candidates: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.name is None and len(self.candidates) > 1


def _most_common(seen: Sequence[Any]) -> Any:
    counts = Counter(repr(v) for v in seen)
    return next(v for v in seen if counts[repr(v)] == max(counts.values()))


def find_param(param: str, *, set_values: Mapping[str, Any] | None = None, argv: Sequence[str] = (),
               configs: Sequence[Mapping[str, Any]] = (), mapped: Sequence[str] = ()) -> ParamLookup:
    """Look ``param`` up in an experiment's sources (:data:`SOURCES`, in that order).

    A source's name matches when it is ``param`` itself (case, dashes and leading ``--`` aside), else
    when it, or its last dotted part (``optimizer.lr``), is an alias of ``param``
    (:func:`param_aliases`). An exact name wins over aliases; two different alias names in the first
    source that has any (``--base_lr`` and ``--max_lr``) are ambiguous and nothing is chosen.

    Parameters
    ----------
    param : str
        The catalog's name, e.g. ``"lr"``.
    set_values : mapping
        The experiment's ``launch["set"]``.
    argv : sequence of str
        The experiment's full command line (``Experiment.command``).
    configs : sequence of mapping
        Each run's ``tw.config`` values.
    mapped : sequence of str
        ``[params].map`` names.
    """
    aliases = param_aliases(param)
    want = _normal(param)
    reported: dict[str, list[Any]] = {}
    for c in configs:
        for k, v in c.items():
            reported.setdefault(k, []).append(v)
    sources: list[tuple[str, dict[str, Any], bool]] = [
        (SET, dict(set_values or {}), True),
        (COMMAND_LINE, command_line_params(argv), True),
        (TW_CONFIG, {k: _most_common(v) for k, v in reported.items()}, True),
        (PARAMS_MAP, {k: None for k in mapped}, False),
    ]
    for source, values, known in sources:  # an exact name, in source order
        for k, v in values.items():
            if _normal(k) == want:
                return ParamLookup(param, k, v, known, source, (k,))
    for source, values, known in sources:  # else an alias, in source order
        hits = [k for k in values if _normal(k) in aliases or _normal(k).rsplit(".", 1)[-1] in aliases]
        if len(hits) == 1:
            return ParamLookup(param, hits[0], values[hits[0]], known, source, tuple(hits))
        if hits:
            return ParamLookup(param, None, None, False, source, tuple(hits))
    return ParamLookup(param, None, None, False, "")


def is_number(value: Any) -> bool:
    """A finite int or float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
