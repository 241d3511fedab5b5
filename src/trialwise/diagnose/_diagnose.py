"""``diagnose``: run every detector on every seed, aggregate "seen in k of n seeds", rank the findings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from trialwise._exceptions import UsageError
from trialwise.diagnose._catalog import SEVERITIES, Catalog, Cause, load_catalog
from trialwise.diagnose._context import DATA_FILES, Evidence, RunContext
from trialwise.diagnose._detectors import BY_CODE, DETECTORS
from trialwise.diagnose._roles import FAMILY_ROLES, ROLES, layer_families, recognize_roles
from trialwise.diagnose._series import RunSeries, seeds_text
from trialwise.metrics._common import Record

__all__ = ["MAX_EVIDENCE_LINES", "Diagnosis", "Finding", "RunEvidence", "diagnose"]

MAX_EVIDENCE_LINES = 5
"""Per-seed evidence lines kept in a finding's ``evidence`` (all remain in ``details``)."""

MAX_DECIDE_CAUSES = 3
"""A finding says what would decide among this many of its leading causes (issue 15 item 6)."""


@dataclass(frozen=True)
class RunEvidence(Record):
    """One affected run's evidence."""

    run: str
    seed: int | None
    summary: str
    values: dict[str, float]
    steps: tuple[float, ...]
    strength: float


@dataclass(frozen=True)
class Finding(Record):
    """One failure mode seen in one or more seeds.

    ``causes`` are the catalog's, ranked (causes the evidence points at first); ``confidence`` is
    (share of seeds affected) x (median strength of the signal over those seeds), in [0, 1].
    ``explained_by`` names a finding listed before this one that usually causes it.
    """

    code: str
    title: str
    severity: str
    verdict: str
    evidence: tuple[str, ...]
    causes: tuple[Cause, ...]
    next_diagnostic: str
    seeds_affected: tuple[int | str, ...]
    n_seeds: int
    confidence: float
    explained_by: str | None = None
    details: tuple[RunEvidence, ...] = ()
    rule: str = ""
    """The detector's rule in one line (what decided that this finding is there)."""
    would_decide: tuple[str, ...] = ()
    """When no evidence told the causes apart: what would (``tw.watch(model)``, the data files)."""
    after: tuple[str, ...] = ()
    """Codes the evidence says came first and caused this finding (the order of events)."""

    @property
    def n_affected(self) -> int:
        return len(self.seeds_affected)


@dataclass(frozen=True)
class Diagnosis(Record):
    """Findings ordered by severity then confidence (explained findings right after their cause).

    ``checked`` lists the codes at least one run could be examined for; ``not_checked`` says, per
    code, what was missing; ``roles`` maps roles to series names (first run; others in ``notes``).
    """

    findings: tuple[Finding, ...]
    n_runs: int
    roles: dict[str, str]
    checked: tuple[str, ...]
    not_checked: dict[str, str]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def healthy(self) -> bool:
        """No finding at all."""
        return not self.findings

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.findings)

    @property
    def top(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    def get(self, code: str) -> Finding | None:
        return next((f for f in self.findings if f.code == code), None)


def _goal_role(metric: str | None, roles: Mapping[str, str]) -> str | None:
    if metric is None:
        return None
    if metric in ROLES:
        return metric
    return next((r for r, n in roles.items() if n == metric), None)


def _rank(f: Finding, catalog: Catalog) -> tuple[int, int, float, str]:
    return catalog[f.code].kind_rank, SEVERITIES.index(f.severity), -f.confidence, f.code


def _order(findings: list[Finding], catalog: Catalog) -> list[Finding]:
    """The catalog's ranking as data: a finding another present finding explains (``explains``, or the
    evidence's order of events, ``after``) in every seed it was seen in goes right after it; the others,
    causes before symptoms (``kind``), then severity, then confidence."""
    base = sorted(findings, key=lambda f: _rank(f, catalog))
    by_code = {f.code: f for f in base}

    def covers(g: Finding, f: Finding) -> bool:  # a cause explains a symptom only in the seeds it was seen in
        return set(f.seeds_affected) <= set(g.seeds_affected)

    parent: dict[str, str] = {}
    for f in base:
        first = next((c for c in f.after if c in by_code and c != f.code and covers(by_code[c], f)), None)
        if first is not None:  # the evidence says which event came first
            parent[f.code] = first
            continue
        for g in base:
            if g.code != f.code and f.code in catalog[g.code].explains and covers(g, f) \
                    and g.code not in catalog[f.code].explains:
                parent[f.code] = g.code
                break
    # drop cycles longer than two: walk up, cut when a code repeats
    for code in list(parent):
        seen, c = {code}, parent.get(code)
        while c is not None:
            if c in seen:
                parent.pop(code, None)
                break
            seen.add(c)
            c = parent.get(c)
    children: dict[str, list[Finding]] = {}
    for f in base:
        if f.code in parent:
            children.setdefault(parent[f.code], []).append(f)

    def subtree(f: Finding) -> list[Finding]:
        out = [f]
        for ch in children.get(f.code, []):
            out.extend(subtree(ch))
        return out

    roots = [f for f in base if f.code not in parent]
    trees = [subtree(r) for r in roots]
    trees.sort(key=lambda t: _rank(t[0], catalog))
    out: list[Finding] = []
    for t in trees:
        for f in t:
            out.append(f if f.code not in parent else _with_parent(f, parent[f.code]))
    return out


def _with_parent(f: Finding, parent: str) -> Finding:
    return replace(f, explained_by=parent)


def diagnose(runs: Sequence[RunSeries], *, chance: float | None = None, n_classes: int | None = None,
             goal: float | None = None, metric: str | None = None, directions: Mapping[str, str] | None = None,
             mapping: Mapping[str, str] | None = None, catalog: Catalog | None = None) -> Diagnosis:
    """Diagnose the training curves of the seeds of one experiment.

    Parameters
    ----------
    runs : sequence of RunSeries
        One entry per seed (or per run) of the same configuration.
    chance : float, optional
        Chance accuracy (e.g. the majority-class rate); default ``1 / n_classes``.
    n_classes : int, optional
        Number of classes; default each run's ``n_classes`` or its config's ``n_classes``.
    goal : float, optional
        Desired value of ``metric`` (seed 003: "decide a desired level of performance").
    metric : str, optional
        Role (``val_acc``) or series name the goal is about; default the validation accuracy.
    directions : mapping, optional
        ``"max"``/``"min"`` per role or series name for ``*_score`` metrics (higher is better by default).
    mapping : mapping role -> series name, optional
        Explicit roles (``[diagnose.series]``); they win over name recognition.
    catalog : Catalog, optional
        Default: the shipped ``catalog.toml``.

    Returns
    -------
    Diagnosis
        Findings ordered by severity, then confidence; each says in how many seeds it was seen.

    References
    ----------
    .. [1] Seed 002 (failure modes), seed 004 (bias-variance), AutoTrainer (ICSE 2021), DeepDiagnosis
       (ICSE 2022), TheDeepChecker (TOSEM 2022), Cockpit (NeurIPS 2021): see
       :mod:`trialwise.diagnose._thresholds`.
    """
    runs = list(runs)
    if not runs:
        raise UsageError("diagnose needs at least one run; got an empty list. Pass one RunSeries per seed.")
    if any(not isinstance(r, RunSeries) for r in runs):
        raise UsageError("diagnose takes RunSeries objects (trialwise.diagnose.RunSeries); build them from "
                         "each run's logged series.")
    if chance is not None and not (0.0 < chance < 1.0):
        raise UsageError(f"The 'chance' parameter of diagnose must be in (0, 1). Got {chance!r} instead.")
    if n_classes is not None and (not isinstance(n_classes, (int, np.integer)) or n_classes < 2):
        raise UsageError(f"The 'n_classes' parameter of diagnose must be an integer >= 2. Got {n_classes!r} instead.")
    bad_dir = {k: v for k, v in (directions or {}).items() if v not in ("max", "min")}
    if bad_dir:
        raise UsageError(f"The 'directions' parameter of diagnose takes 'max' or 'min'. Got {bad_dir} instead.")
    catalog = catalog or load_catalog()
    unknown = [d.code for d in DETECTORS if d.code not in catalog]
    if unknown:
        raise UsageError(f"The catalog has no entry for detector code(s) {unknown}; add them to catalog.toml.")

    notes: list[str] = []
    hits: dict[str, list[tuple[RunContext, Evidence]]] = {}
    checked: set[str] = set()
    missing: dict[str, str] = {}
    roles0: dict[str, str] = {}
    contexts: list[RunContext] = []
    for i, run in enumerate(runs):
        lengths = {name: len(v) for name, (_, v) in run.series.items()}
        roles = recognize_roles(run.series, mapping, lengths=lengths)
        families = layer_families(run.series, mapping)
        for role, name in (mapping or {}).items():
            if role in FAMILY_ROLES:
                if FAMILY_ROLES[role] not in families:
                    notes.append(f"{run.label}: [diagnose.series] {role} = '{name}' matches none of its series")
            elif name not in run.series:
                notes.append(f"{run.label}: [diagnose.series] maps {role} to '{name}', which this run did not log")
        ctx = RunContext(run, roles, chance=chance, n_classes=n_classes, goal=goal,
                         goal_role=_goal_role(metric, roles) if metric else ("val_acc" if goal is not None else None),
                         directions=directions, families=families)
        if i == 0:
            roles0 = dict(ctx.roles)
        elif ctx.roles != roles0:
            notes.append(f"{run.label}: roles differ from the first run: {ctx.roles}")
        contexts.append(ctx)
        notes.extend(f"{run.label}: {n}" for n in (*run.notes, *ctx.notes))
        for spec in DETECTORS:
            why = spec.missing(ctx)
            if why is not None:
                missing.setdefault(spec.code, why)
                continue
            checked.add(spec.code)
            ev = spec.detect(ctx)
            if ev is not None:
                hits.setdefault(spec.code, []).append((ctx, ev))
    if metric is not None and _goal_role(metric, roles0) is None:
        notes.append(f"metric '{metric}' is neither a role nor a logged series; the goal was not used")

    n = len(runs)
    present = {role for ctx in contexts for role in ROLES + (DATA_FILES,) if ctx.has(role)}
    findings = [_finding(code, found, n, catalog, present) for code, found in hits.items()]
    not_checked = {c: why for c, why in missing.items() if c not in checked}
    return Diagnosis(tuple(_order(findings, catalog)), n, roles0, tuple(d.code for d in DETECTORS if d.code in checked),
                     not_checked, tuple(dict.fromkeys(notes)))


def _would_decide(causes: tuple[Cause, ...], promoted: bool, present: set[str], catalog: Catalog) -> tuple[str, ...]:
    """What would tell the causes apart, when no evidence did: for the leading causes whose deciding
    evidence (``decided_by``) no run has, how to get it (``[[evidence]]``), one line per way."""
    if promoted:
        return ()
    ways: dict[str, list[str]] = {}
    for c in causes[:MAX_DECIDE_CAUSES]:
        if c.decided_by and not set(c.decided_by) & present:
            how = catalog.evidence[c.decided_by[0]]
            ways.setdefault(how, []).append(c.id)
    return tuple(f"{how} would tell {', '.join(ids)} apart" for how, ids in ways.items())


def _finding(code: str, found: list[tuple[RunContext, Evidence]], n: int, catalog: Catalog,
             present: set[str] | None = None) -> Finding:
    mode = catalog[code]
    labels = [ctx.label for ctx, _ in found]
    k = len(found)
    strengths = [ev.strength for _, ev in found]
    confidence = round(float(k / n * np.median(strengths)), 3)
    votes: dict[str, int] = {}
    for _, ev in found:
        for rank, cid in enumerate(ev.promote):
            votes[cid] = votes.get(cid, 0) + (len(ev.promote) - rank)
    promote = tuple(sorted(votes, key=lambda c: -votes[c]))
    seeds = tuple(ctx.run.seed if ctx.run.seed is not None else ctx.label for ctx, _ in found)
    lines = [f"seen in {k} of {n} seed{'s' if n != 1 else ''} ({seeds_text(labels)})"]
    lines += [f"{ctx.label}: {ev.summary}" for ctx, ev in found[:MAX_EVIDENCE_LINES]]
    if k > MAX_EVIDENCE_LINES:
        lines.append(f"... and {k - MAX_EVIDENCE_LINES} more")
    details = tuple(RunEvidence(ctx.label, ctx.run.seed, ev.summary, dict(ev.values), ev.steps, ev.strength)
                    for ctx, ev in found)
    mild = mode.mild is not None and all(ev.mild for _, ev in found)
    severity = mode.mild if mild and mode.mild else mode.severity
    title = f"{mode.title} (mild)" if mild else mode.title
    verdict = f"{title} - {k} of {n} seed{'s' if n != 1 else ''}"
    causes = mode.ranked_causes(promote)
    spec = BY_CODE.get(code)
    rule = (spec.detect.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ") if spec is not None else ""
    return Finding(code=code, title=title, severity=severity, verdict=verdict, evidence=tuple(lines),
                   causes=causes, next_diagnostic=mode.next_diagnostic(promote),
                   seeds_affected=seeds, n_seeds=n, confidence=confidence, details=details,
                   rule=" ".join(rule.split()), after=tuple(dict.fromkeys(c for _, ev in found for c in ev.after)),
                   would_decide=_would_decide(causes, bool(promote), present or set(), catalog))
