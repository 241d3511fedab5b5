"""The prior sensitivity table (seed 004) and seed-004 defaults, read from ``priors.toml``.

The table is data: :func:`priors` loads it once; :func:`match_prior` maps a script's parameter
name (``lr``, ``hidden_dim``, ``encoder_lr``) to its row by aliases.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from trialwise._exceptions import ConfigError
from trialwise.metrics._common import Record
from trialwise.tune._space import KINDS, ParamSpec

__all__ = ["PRIORS_FILE", "SENSITIVITIES", "PriorParam", "PriorRow", "PriorTable", "match_prior", "priors"]

PRIORS_FILE = Path(__file__).with_name("priors.toml")

DEFAULT_CLIPPED = "clipped to"
"""Words of a default's note when the seed-004 default lies outside the searched range and the
range's nearest value is used instead (the search stays inside the range the user gave)."""

SENSITIVITIES = ("high", "medium", "low")
"""Levels of seed 004's "likely sensitivity" column, most sensitive first."""


@dataclass(frozen=True)
class PriorRow(Record):
    """One row of seed 004's table: a kind of hyperparameter and how much it usually matters."""

    key: str
    label: str
    sensitivity: str
    order: int
    note: str = ""

    @property
    def rank(self) -> tuple[int, int]:
        """Sort key: sensitivity (high first), then the table's order (learning rate first)."""
        return SENSITIVITIES.index(self.sensitivity), self.order


@dataclass(frozen=True)
class PriorParam(Record):
    """A parameter name scripts use for a row, with a suggested range and the seed-004 default."""

    name: str
    row: PriorRow
    aliases: tuple[str, ...]
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    default: Any = None
    default_synonyms: tuple[str, ...] = ()
    range_source: str = ""

    def spec(self, name: str | None = None) -> ParamSpec | None:
        """The suggested search range under the script's ``name`` (``None``: no range known)."""
        name = name or self.name
        if self.kind == "choice":
            return ParamSpec(name, "choice", choices=self.choices) if self.choices else None
        low, high = self.low, self.high
        if self.kind in ("int", "logint"):
            return ParamSpec(name, self.kind, int(low), int(high))  # type: ignore[arg-type]
        return ParamSpec(name, self.kind, float(low), float(high))  # type: ignore[arg-type]

    def default_in(self, spec: ParamSpec) -> tuple[Any, str] | None:
        """The seed-004 default expressed in ``spec`` and how: ``(value, note)``; ``None`` if the
        table has no default for this parameter or ``spec`` cannot express it."""
        if self.default is None:
            return None
        if spec.kind == "choice":
            wanted = [str(s).lower() for s in (self.default_synonyms or (self.default,))]
            for c in spec.choices:
                if str(c).lower() in wanted:
                    return c, "seed-004 default"
            return None
        if not isinstance(self.default, (int, float)):
            return None
        if spec.contains(self.default):
            return spec.clip(self.default), "seed-004 default"
        value = spec.clip(float(self.default))
        return value, (f"seed-004 default {self.default:g} lies outside the range {spec.low:g}..{spec.high:g}; "
                       f"{DEFAULT_CLIPPED} {value:g}")


@dataclass(frozen=True)
class PriorTable(Record):
    """Every row and parameter of ``priors.toml``."""

    rows: tuple[PriorRow, ...]
    params: tuple[PriorParam, ...]

    def row(self, key: str) -> PriorRow:
        for r in self.rows:
            if r.key == key:
                return r
        raise KeyError(key)


def _fail(path: Path, where: str, why: str) -> ConfigError:
    return ConfigError(f"{path}: {where}: {why}; fix the prior table (see the comment at its top)")


@lru_cache(maxsize=4)
def priors(path: Path = PRIORS_FILE) -> PriorTable:
    """Load the prior table (cached).

    References
    ----------
    .. [1] Seed 004: notes on the Full Stack Deep Learning course, "Tuning hyperparameters" (the
       sensitivity table) and "Sensible defaults".
    .. [2] Seed 003: Deep Learning course notes after Goodfellow, Bengio & Courville, *Deep
       Learning*, MIT Press 2016, ch. 11 (learning rate first, on the training set).
    """
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    rows = []
    for i, r in enumerate(data.get("row", [])):
        if r.get("sensitivity") not in SENSITIVITIES:
            raise _fail(path, f"row {i + 1} ({r.get('key')})", f"sensitivity must be one of {SENSITIVITIES}")
        rows.append(PriorRow(r["key"], r["label"], r["sensitivity"], int(r["order"]), r.get("note", "")))
    by_key = {r.key: r for r in rows}
    params = []
    for i, p in enumerate(data.get("param", [])):
        where = f"param {i + 1} ({p.get('name')})"
        if p.get("row") not in by_key:
            raise _fail(path, where, f"row '{p.get('row')}' is not a [[row]] key")
        if p.get("kind") not in KINDS:
            raise _fail(path, where, f"kind must be one of {KINDS}")
        params.append(PriorParam(
            name=p["name"], row=by_key[p["row"]], aliases=tuple(a.lower() for a in p.get("aliases", [p["name"]])),
            kind=p["kind"], low=p.get("low"), high=p.get("high"), choices=tuple(p.get("choices", ())),
            default=p.get("default"), default_synonyms=tuple(p.get("default_synonyms", ())),
            range_source=p.get("range_source", ""),
        ))
    return PriorTable(tuple(rows), tuple(params))


def _normal(name: str) -> str:
    return name.strip().lstrip("-").lower().replace("-", "_")


def match_prior(name: str, table: PriorTable | None = None) -> PriorParam | None:
    """The prior entry for a script's parameter ``name``, or ``None``.

    Exact alias first; then a compound name that ends or starts with an alias (``encoder_lr``,
    ``lr_warmup``, ``weight_decay_rate``), the longest alias winning.

    Examples
    --------
    >>> match_prior("learning-rate").row.key
    'learning_rate'
    >>> match_prior("encoder_lr").row.sensitivity
    'high'
    """
    table = table or priors()
    n = _normal(name)
    for p in table.params:
        if n in p.aliases:
            return p
    pairs = sorted(((a, p) for p in table.params for a in p.aliases), key=lambda ap: -len(ap[0]))
    for alias, p in pairs:
        if n.endswith("_" + alias) or n.endswith("." + alias) or n.startswith(alias + "_"):
            return p
    return None
