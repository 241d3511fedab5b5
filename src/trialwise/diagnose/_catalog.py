"""The failure-mode catalog (``catalog.toml``) as typed, frozen records.

The catalog is data: :func:`load_catalog` reads it once (cached) and refuses a malformed entry with
a :class:`~trialwise.ConfigError` naming the file, the mode and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from trialwise._exceptions import ConfigError
from trialwise.metrics._common import Record

__all__ = [
    "CATALOG_FILE", "KINDS", "SEVERITIES", "BiasVarStep", "Catalog", "Cause", "Confirm", "FailureMode", "load_catalog",
]

CATALOG_FILE = Path(__file__).with_name("catalog.toml")

SEVERITIES = ("critical", "high", "warning", "info")
"""Severity levels, most severe first."""

KINDS = ("cause", "symptom")
"""What a mode is evidence of: a mechanism (``cause``) or what the curves show (``symptom``).  Findings
no other finding explains are ranked by this first (causes before the symptoms they may explain),
then by severity, then by confidence."""

EVIDENCE_PSEUDO_ROLES = ("data_files",)
"""Evidence a cause may be ``decided_by`` besides the series roles: the run's own data arrays."""


@dataclass(frozen=True)
class Confirm(Record):
    """A confirmatory experiment for ``doctor --confirm``: multiply ``param`` by ``factor`` or set it to ``value``."""

    param: str
    factor: float | None = None
    value: Any = None

    def describe(self) -> str:
        """``lr x 0.1`` or ``shuffle = true``."""
        if self.factor is not None:
            return f"{self.param} x {self.factor:g}"
        value = str(self.value).lower() if isinstance(self.value, bool) else self.value
        return f"{self.param} = {value}"


@dataclass(frozen=True)
class Cause(Record):
    """One cause of a failure mode, with how to tell it apart and how to fix it."""

    id: str
    cause: str
    diagnostic: str
    remedy: str
    confirm: Confirm | None = None
    decided_by: tuple[str, ...] = ()
    """Evidence (roles, ``data_files``) that tells this cause apart from the mode's others."""


@dataclass(frozen=True)
class FailureMode(Record):
    """One entry of the catalog; ``causes`` are ranked, most likely first."""

    code: str
    title: str
    severity: str
    symptom: str
    causes: tuple[Cause, ...]
    sources: tuple[str, ...]
    next: str = ""
    explains: tuple[str, ...] = ()
    kind: str = "symptom"
    mild: str | None = None
    """The severity when the detector marks its evidence mild (``None``: the same severity)."""

    @property
    def severity_rank(self) -> int:
        """0 for critical ... 3 for info."""
        return SEVERITIES.index(self.severity)

    @property
    def kind_rank(self) -> int:
        """0 for a cause, 1 for a symptom."""
        return KINDS.index(self.kind)

    def ranked_causes(self, promote: tuple[str, ...] = ()) -> tuple[Cause, ...]:
        """The causes with those in ``promote`` (cause ids, in that order) moved to the front."""
        first = [c for pid in promote for c in self.causes if c.id == pid]
        seen = {c.id for c in first}
        return tuple(first) + tuple(c for c in self.causes if c.id not in seen)

    def next_diagnostic(self, promote: tuple[str, ...] = ()) -> str:
        """The mode's own next step if it names one, else the diagnostic of its top cause."""
        if self.next:
            return self.next
        return self.ranked_causes(promote)[0].diagnostic


@dataclass(frozen=True)
class BiasVarStep(Record):
    """One step of seed 004's bias-variance plan with its remedies, first to try first."""

    key: str
    title: str
    remedies: tuple[str, ...]


@dataclass(frozen=True)
class Catalog(Record):
    """Every failure mode and the bias-variance plan."""

    modes: tuple[FailureMode, ...]
    biasvar: tuple[BiasVarStep, ...]
    evidence: dict[str, str] = field(default_factory=dict)
    """How to get each piece of evidence (``[[evidence]]``: role -> one line)."""

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.modes)

    def __getitem__(self, code: str) -> FailureMode:
        for m in self.modes:
            if m.code == code:
                return m
        raise KeyError(code)

    def __contains__(self, code: object) -> bool:
        return any(m.code == code for m in self.modes)

    def step(self, key: str) -> BiasVarStep:
        for s in self.biasvar:
            if s.key == key:
                return s
        raise KeyError(key)


_BIASVAR_KEYS = ("underfitting", "overfitting", "distribution-shift", "rebalance")


def _fail(path: Path, where: str, why: str) -> ConfigError:
    return ConfigError(f"{path}: {where}: {why}; fix the catalog (its header comment describes every key)")


def _text(entry: dict[str, Any], key: str, path: Path, where: str, *, required: bool = True) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise _fail(path, where, f"'{key}' must be a non-empty string")
    return value


def _confirm(raw: Any, path: Path, where: str) -> Confirm | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("param"), str):
        raise _fail(path, where, "'confirm' must be a table with a string 'param'")
    unknown = set(raw) - {"param", "factor", "value"}
    if unknown:
        raise _fail(path, where, f"'confirm' has unknown key(s) {sorted(unknown)}")
    if ("factor" in raw) == ("value" in raw):
        raise _fail(path, where, "'confirm' needs exactly one of 'factor' or 'value'")
    if "factor" in raw:
        factor = raw["factor"]
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor <= 0:
            raise _fail(path, where, "'confirm.factor' must be a positive number")
        return Confirm(raw["param"], factor=float(factor))
    return Confirm(raw["param"], value=raw["value"])


def _mode(i: int, raw: dict[str, Any], path: Path) -> FailureMode:
    where = f"[[mode]] {i + 1} ({raw.get('code', '?')})"
    code = _text(raw, "code", path, where)
    severity = _text(raw, "severity", path, where)
    if severity not in SEVERITIES:
        raise _fail(path, where, f"'severity' must be one of {SEVERITIES}, got {severity!r}")
    kind = raw.get("kind", "symptom")
    if kind not in KINDS:
        raise _fail(path, where, f"'kind' must be one of {KINDS}, got {kind!r}")
    mild = raw.get("mild")
    if mild is not None and mild not in SEVERITIES:
        raise _fail(path, where, f"'mild' must be one of {SEVERITIES}, got {mild!r}")
    causes = []
    for j, c in enumerate(raw.get("cause", [])):
        cw = f"{where} cause {j + 1} ({c.get('id', '?')})"
        decided = c.get("decided_by", [])
        unknown = [r for r in decided if r not in _evidence_roles()]
        if not isinstance(decided, list) or unknown:
            raise _fail(path, cw, f"'decided_by' must list roles or {EVIDENCE_PSEUDO_ROLES}; unknown: {unknown}")
        causes.append(Cause(_text(c, "id", path, cw), _text(c, "cause", path, cw), _text(c, "diagnostic", path, cw),
                            _text(c, "remedy", path, cw), _confirm(c.get("confirm"), path, cw), tuple(decided)))
    if not causes:
        raise _fail(path, where, "at least one [[mode.cause]] is needed")
    ids = [c.id for c in causes]
    if len(set(ids)) != len(ids):
        raise _fail(path, where, f"cause ids must be unique, got {ids}")
    sources = raw.get("sources", [])
    if not sources or not all(isinstance(s, str) for s in sources):
        raise _fail(path, where, "'sources' must be a non-empty list of strings")
    return FailureMode(code=code, title=_text(raw, "title", path, where), severity=severity,
                       symptom=_text(raw, "symptom", path, where), causes=tuple(causes), sources=tuple(sources),
                       next=_text(raw, "next", path, where, required=False),
                       explains=tuple(raw.get("explains", ())), kind=kind, mild=mild)


def _evidence_roles() -> tuple[str, ...]:
    from trialwise.diagnose._roles import ROLES

    return (*ROLES, *EVIDENCE_PSEUDO_ROLES)


@lru_cache(maxsize=4)
def load_catalog(path: Path | str | None = None) -> Catalog:
    """Load the failure-mode catalog (cached).

    Parameters
    ----------
    path : path-like, optional
        A catalog file; default: the ``catalog.toml`` shipped with trialwise.

    Returns
    -------
    Catalog
        ``catalog["chance-level"]`` is a :class:`FailureMode`; ``catalog.biasvar`` the plan steps.

    References
    ----------
    .. [1] Seed 002: Sultania, "Deep Learning in Practice" (failure modes after Kording, CIS 700).
    .. [2] Seed 004: notes on the Full Stack Deep Learning course (bias-variance plan).
    .. [3] Zhang et al., "AUTOTRAINER: An Automatic DNN Training Problem Detection and Repair
       System", ICSE 2021.
    """
    file = Path(path) if path is not None else CATALOG_FILE
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read the failure-mode catalog: {exc}") from None
    modes = tuple(_mode(i, m, file) for i, m in enumerate(data.get("mode", [])))
    codes = [m.code for m in modes]
    if len(set(codes)) != len(codes):
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        raise _fail(file, "[[mode]]", f"codes must be unique, got duplicates {dupes}")
    for m in modes:
        unknown = [c for c in m.explains if c not in codes]
        if unknown:
            raise _fail(file, f"[[mode]] {m.code}", f"'explains' names unknown code(s) {unknown}")
    steps = []
    for i, s in enumerate(data.get("biasvar", [])):
        where = f"[[biasvar]] {i + 1} ({s.get('key', '?')})"
        remedies = s.get("remedies", [])
        if not remedies or not all(isinstance(r, str) for r in remedies):
            raise _fail(file, where, "'remedies' must be a non-empty list of strings")
        steps.append(BiasVarStep(_text(s, "key", file, where), _text(s, "title", file, where), tuple(remedies)))
    keys = tuple(s.key for s in steps)
    if keys != _BIASVAR_KEYS:
        raise _fail(file, "[[biasvar]]", f"the steps must be {_BIASVAR_KEYS} in that order (seed 004), got {keys}")
    evidence: dict[str, str] = {}
    for i, e in enumerate(data.get("evidence", [])):
        where = f"[[evidence]] {i + 1} ({e.get('role', '?')})"
        role = _text(e, "role", file, where)
        if role not in _evidence_roles():
            raise _fail(file, where, f"'role' must be a role or one of {EVIDENCE_PSEUDO_ROLES}, got {role!r}")
        evidence[role] = _text(e, "get", file, where)
    missing = sorted({r for m in modes for c in m.causes for r in c.decided_by} - set(evidence))
    if missing:
        raise _fail(file, "[[evidence]]", f"no entry says how to get {missing} (used in decided_by)")
    return Catalog(modes, tuple(steps), evidence)
