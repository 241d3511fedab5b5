"""One self-contained HTML page from a :class:`~trialwise.report._collect.ReportModel`.

- Jinja2 templates (``templates/``) with autoescaping on for every template: a name, tag, parameter
  value or metric key is text, never markup.
- Figures (:mod:`trialwise.report._charts`) travel as JSON in ``<script type="application/json">``
  elements, serialised by :func:`json_for_script`, which escapes ``<``, ``>``, ``&`` and the JavaScript
  line separators: no ``</script>`` or ``<!--`` can end or change the element, and the page reads
  them with ``JSON.parse``, never ``eval``.
- plotly.js comes from the installed ``plotly`` package (:func:`plotly.offline.get_plotlyjs`),
  gzip-compressed and base64-encoded into the page (:func:`plotly_payload`), unpacked by the
  browser's ``DecompressionStream``: the file works offline, has no ``src``/``href``/``url(...)``
  that leaves it, and — unlike plotly.js as shipped, whose code holds URL strings (licence
  comments, the unused map tiles' defaults) — has no ``http://`` or ``https://`` in its text at all.
  Compressed, the 4.8 MB of plotly.js take 2 MB.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from trialwise.report._charts import (
    ArmPoints, CurveSet, EffectBar, EvidenceMark, ImportanceBar, PRLineData, arms_figure, confusion_figure,
    curve_figure, effects_figure, evidence_figure, history_figure, importance_figure, parallel_figure, pr_figure,
    risk_coverage_figure, slice_figure,
)
from trialwise.report._collect import PROBE_PREFIX, DiagnosisView, ExperimentView, ReportModel
from trialwise.stats._bands import MAX_DISPLAY_POINTS, curve_band

__all__ = ["PLOTLY_CACHE", "json_for_script", "plotly_payload", "render_html"]

TEMPLATES = Path(__file__).parent / "templates"

PLOTLY_CACHE = "report-plotlyjs"
"""Namespace of :mod:`trialwise._cache` holding the compressed plotly.js (0.3 s to compress; keyed by
the plotly version and the digest of its JS)."""

GZIP_LEVEL = 6
"""zlib's default level: level 9 saves 0.2% more for 40% more time."""

MAX_CAUSES_SHOWN = 3
"""Ranked causes shown per finding (as ``trialwise diagnose`` prints them)."""

MAX_EVIDENCE_SERIES = 2
"""Series drawn per finding: the first recognised series of each group of roles its detector reads."""

ENV_SUMMARY_KEYS = (("python", "python"), ("implementation", "implementation"), ("torch", "torch"),
                    ("gpus", "GPUs"), ("nvidia_driver", "NVIDIA driver"), ("cuda_visible_devices", "CUDA_VISIBLE_DEVICES"),
                    ("platform", "platform"), ("cpu", "CPU"), ("cpu_count", "CPU cores"), ("host", "host"),
                    ("user", "user"))
"""The environment fingerprint's items shown on a provenance card, with their labels."""

_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                 0x2028: "\\u2028", 0x2029: "\\u2029"}


def json_for_script(obj: Any) -> Markup:
    """JSON that is safe inside a ``<script>`` element (the escapes of Django's ``json_script``):
    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e``, ``\\u0026``, so neither ``</script>`` nor
    ``<!--`` can appear; NaN/inf (not JSON) become ``null``."""
    text = json.dumps(_finite(obj), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return Markup(text.translate(_JSON_ESCAPES))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def plotly_payload() -> str:
    """plotly.js of the installed ``plotly`` package, gzip-compressed, base64 (cached on disk)."""
    import plotly
    from plotly.offline import get_plotlyjs

    from trialwise._cache import cache_get, cache_put

    js = get_plotlyjs().encode("utf-8")
    key = {"plotly": plotly.__version__, "sha256": hashlib.sha256(js).hexdigest(), "level": GZIP_LEVEL}
    hit = cache_get(PLOTLY_CACHE, key)
    if isinstance(hit, str):
        return hit
    packed = base64.b64encode(gzip.compress(js, GZIP_LEVEL, mtime=0)).decode("ascii")
    cache_put(PLOTLY_CACHE, key, packed)
    return packed


def fmt(value: Any, digits: int = 4) -> str:
    """A number for people: ``—`` when missing, ``digits`` significant places."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int,)):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        return f"{value:.{digits}g}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.{digits}f}".rstrip("0").rstrip(".") or "0"
    return str(value)


def _when(ts: float | None) -> str:
    return "—" if not ts else dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class _Figures:
    """Figures of the page, numbered in order of appearance."""

    items: list[tuple[str, Markup]] = field(default_factory=list)

    def add(self, figure: dict[str, Any]) -> str:
        fid = f"fig-{len(self.items) + 1}"
        self.items.append((fid, json_for_script(figure)))
        return fid


# -- view models: plain dicts the templates iterate over ----------------------------------------------

def _provenance(v: ExperimentView) -> dict[str, Any]:
    e = v.experiment
    env = v.environment or {}
    env_rows = [(label, env.get(key)) for key, label in ENV_SUMMARY_KEYS if env.get(key) not in (None, "", [])]
    if env.get("packages"):
        env_rows.append(("packages", f"{len(env['packages'])} installed"))
    metric = e.metric_name
    runs = [{"seed": r.seed, "id": r.id, "status": r.status, "value": fmt(r.summary.get(metric)) if metric else "—",
             "duration": f"{r.duration:.1f} s" if r.duration else "—", "dirty": r.dirty,
             "error": ((r.error or "").strip().splitlines() or [""])[-1][:120]} for r in v.runs]
    return {
        "label": v.label, "colour": v.colour, "id": e.id, "kind": e.kind, "created": _when(e.created_at),
        "commit": e.commit_sha, "dirty": e.dirty or any(r.dirty for r in v.runs), "ref": e.ref or "—",
        "branch": e.branch or "—", "command": shlex.join(e.command), "profile": e.profile or "—", "mode": e.mode or "—",
        "tag": e.tag or "", "metric": f"{metric} ({e.metric_direction})" if metric else "—",
        "metric_versions": ", ".join(v.metric_versions) or "—", "environment_hash": v.environment_hash or "—",
        "environment": env_rows, "runs": runs, "running": [{"seed": r.seed, "id": r.id} for r in v.running],
        "n_history": v.n_history, "params": sorted((str(k), json.dumps(val, default=str) if not isinstance(val, str)
                                                    else val) for k, val in v.params.items()),
    }


def _decision(d: Any, colours: dict[str, str], figs: _Figures) -> dict[str, Any]:
    c = d.comparison
    out: dict[str, Any] = {
        "title": f"{d.label + ': ' if d.label else ''}{d.metric} ({d.direction}) — {d.base.label} → {d.cand.label}",
        "verdict": d.verdict, "sentence": d.sentence, "warnings": list(d.checks.warnings),
        "refusals": list(d.checks.refusals), "launch_diff": [(k, str(a) or "—", str(b) or "—")
                                                          for k, a, b in d.checks.launch_diff],
        "stats": None, "arms": [], "figure": None,
    }
    if c is not None:
        p = d.p_adjusted if d.p_adjusted is not None else c.p_value
        out["stats"] = [
            ("difference", f"{fmt(c.diff)} ({c.confidence:.0%} {c.ci_method} bootstrap CI {fmt(c.diff_ci_low)} to "
                           f"{fmt(c.diff_ci_high)})"),
            ("p", f"{fmt(p, 3)} ({c.test}{', Holm-adjusted' if d.p_adjusted is not None else ''}, {c.alternative})"),
            ("Hedges' g", fmt(c.hedges_g, 3)),
            ("P(improvement)", f"{fmt(c.p_improvement, 3)} (P(a seed of {d.cand.label} beats one of {d.base.label}))"),
            ("seeds needed", f"{c.seeds_needed} per arm to detect the observed difference (80% power)"
                             if c.seeds_needed else "—"),
            ("smallest detectable effect", f"{fmt(c.mde)} at this n (80% power)"),
        ]
        out["arms"] = [{"label": a.label, "n": a.n, "failed": a.n_failed, "mean": fmt(a.mean), "std": fmt(a.std),
                        "ci": f"{fmt(a.ci_low)} – {fmt(a.ci_high)}"} for a in (c.arm_a, c.arm_b)]
        arms = [ArmPoints(arm.label, colours.get(arm.experiment.id, "#444"), tuple(arm.seeds), tuple(arm.values),
                          s.mean, s.ci_low, s.ci_high) for arm, s in ((d.base, c.arm_a), (d.cand, c.arm_b))]
        out["figure"] = figs.add(arms_figure(d.metric, arms))
    return out


def _curve_sections(model: ReportModel, figs: _Figures, max_points: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(metrics, probes)``: one chart per metric key, every experiment that logged it overlaid."""
    main: list[dict[str, Any]] = []
    probes: list[dict[str, Any]] = []
    for key in model.metrics():
        sets = [CurveSet(v.label, v.colour, v.curves[key], curve_band(v.curves[key]))
                for v in model.experiments if key in v.curves]
        fig = curve_figure(key, sets, max_points=max_points)
        meta = fig["layout"]["meta"]
        entry = {"key": key, "figure": figs.add(fig), "downsampled": meta["downsampled"],
                 "nonfinite": meta["nonfinite"],
                 "experiments": [{"label": s.label, "colour": s.colour, "seeds": len(s.curves)} for s in sets]}
        (probes if key.startswith(PROBE_PREFIX) else main).append(entry)
    return main, probes


def _evidence_series(code: str, roles: dict[str, str], curves: dict[str, Any]) -> list[str]:
    """The series a finding's detector reads: per group of roles it needs, the first one logged."""
    from trialwise.diagnose._detectors import BY_CODE

    spec = BY_CODE.get(code)
    out: list[str] = []
    for group in spec.needs if spec is not None else ():
        name = next((roles[r] for r in group if r in roles and roles[r] in curves), None)
        if name is not None and name not in out:
            out.append(name)
    return out[:MAX_EVIDENCE_SERIES]


def _diagnosis(dv: DiagnosisView, views: dict[str, ExperimentView], figs: _Figures) -> dict[str, Any]:
    out: dict[str, Any] = {"experiment": dv.experiment, "error": dv.error, "findings": [], "healthy": False,
                           "notes": [], "not_checked": [], "n_runs": 0, "checked": 0,
                           "biasvar": _biasvar(dv.biasvar) if dv.biasvar is not None else None,
                           "biasvar_note": dv.biasvar_note}
    sd = dv.result
    if sd is None:
        return out
    d = sd.diagnosis
    view = views.get(sd.experiment_id)
    out.update(healthy=d.healthy, n_runs=d.n_runs, checked=len(d.checked), notes=list(d.notes),
               not_checked=sorted(d.not_checked.items()), seeds=", ".join(map(str, sd.seeds)))
    for i, f in enumerate(d.findings, 1):
        charts = []
        if view is not None:
            # RunEvidence names steps, not yet the span a detector read: EvidenceMark.span stays None
            marks = [EvidenceMark(int(e.seed), tuple(e.steps)) for e in f.details if e.seed is not None]
            for series in _evidence_series(f.code, dict(d.roles), view.curves):
                charts.append(figs.add(evidence_figure(f"{f.code}: {series}", series, view.curves[series], marks)))
        out["findings"].append({
            "n": i, "code": f.code, "title": f.title, "severity": f.severity, "verdict": f.verdict,
            "evidence": list(f.evidence), "explained_by": f.explained_by or "",
            "causes": [c.cause for c in f.causes[:MAX_CAUSES_SHOWN]], "more_causes": max(0, len(f.causes) - MAX_CAUSES_SHOWN),
            "next": f.next_diagnostic, "confidence": fmt(f.confidence, 2), "charts": charts,
        })
    return out


def _ablation(r: Any, figs: _Figures) -> dict[str, Any]:
    """The tables ``trialwise ablate`` prints: combinations, effects (shadowed changes flagged), the
    recommendation."""
    from trialwise.ablate._common import fmt as fixed
    from trialwise.ablate._factorial import _verdict

    a = r.analysis
    d = a.decimals
    level = f"{1 - a.alpha:.0%}"
    shadowed = set(r.shadowing.flagged)
    cells = []
    for c, cell in zip(r.cells, a.cells):
        s, v = c.summary, cell.vs_base
        cells.append({"label": c.label, "commit": c.commit[:8], "experiment": c.experiment_name,
                      "n": f"{s.n}" + (f" ({s.n_failed} failed)" if s.n_failed else ""),
                      "mean": f"{fixed(s.mean, d)} ({fixed(s.ci_low, d)} – {fixed(s.ci_high, d)})",
                      "vs_base": fixed(v.estimate, d, sign=True) if v else "—",
                      "ci": f"{fixed(v.ci_low, d, sign=True)} – {fixed(v.ci_high, d, sign=True)}" if v else "—",
                      "verdict": c.verdict, "reused": f"{c.reused}/{len(c.seeds)}",
                      "shadowed": any(ch in shadowed for ch in c.subset) and len(c.subset) == 1})
    effects, bars = [], []
    for e in (*a.effects, *a.simple_effects):
        flagged = e.kind in ("main", "simple") and len(e.factors) == 1 and e.factors[0] in shadowed
        kind = "alone vs base" if e.kind == "simple" else e.kind
        label = e.label + (f" (= {', '.join(e.aliases)})" if e.aliases else "")
        effects.append({"label": label, "kind": kind, "estimate": fixed(e.estimate, d, sign=True),
                        "ci": f"{fixed(e.ci_low, d, sign=True)} – {fixed(e.ci_high, d, sign=True)}",
                        "p": fmt(e.p_value, 3), "p_worse": fmt(e.p_worse, 2), "verdict": _verdict(e),
                        "flagged": flagged})
        bars.append(EffectBar(f"{label} [{kind}]", e.estimate, e.ci_low, e.ci_high, flagged))
    return {"title": f"{r.design.name}: {len(r.cells)} cells of {', '.join(r.changes)} on {r.base_ref} "
                     f"({r.base_commit[:8]}); {r.metric} ({r.direction}), positive effect = better",
            "level": level, "cells": cells, "effects": effects,
            "pooled": f"seed-to-seed sd {fixed(a.pooled_std, d)}, {a.df_error} df",
            "figure": figs.add(effects_figure(f"effects on {r.metric} ({level} CI)", bars)) if bars else None,
            "shadowing": list(r.shadowing.summary), "flagged": bool(r.shadowing.flags),
            "recommendation": list(r.subset.summary), "warnings": list(r.warnings), "notes": list(r.notes)}


def _sweep(r: Any, figs: _Figures) -> list[dict[str, Any]]:
    """What ``trialwise sweep report`` prints, as tables and plots; the learning-rate stage first."""
    stages = [*(_sweep(r.lr_stage, figs) if r.lr_stage is not None else []), _sweep_stage(r, figs)]
    return stages


def _sweep_stage(r: Any, figs: _Figures) -> dict[str, Any]:
    meta = r.meta
    obj = meta.objective
    names = list(meta.parsed_space.names)
    out: dict[str, Any] = {
        "study": r.study, "objective": obj.describe(), "seeds": meta.seeds, "commit": meta.commit,
        "stage": meta.stage, "counts": ", ".join(f"{v} {k}" for k, v in sorted(r.counts.items())),
        "fixed": ", ".join(f"{k}={v}" for k, v in sorted(meta.fixed.items())), "names": names,
        "best": [{"trial": t.number, "params": [fmt(t.params.get(n)) for n in names], "value": fmt(t.value),
                  "std": fmt(t.seed_std), "seeds": f"{t.n_completed} of {t.n_seeds}", "experiment": t.experiment_id or ""}
                 for t in r.best],
        "recheck": None, "importance": None, "history": None, "parallel": None, "slices": [],
        "notes": list(r.notes),
    }
    done: dict[int, dict[str, Any]] = {}
    value: dict[int, float] = {}
    for sl in r.slices:
        for x, y, t in zip(sl.x, sl.y, sl.trials):
            done.setdefault(t, {})[sl.name] = x
            value[t] = y
    if not value:  # no parameter slices (nothing completed): the best trials are all there is
        value = {t.number: t.value for t in r.best if t.value is not None}
    if value:
        out["history"] = figs.add(history_figure(obj.metric, obj.direction, list(value), list(value.values())))
    if done and len(names) >= 1:
        trials = sorted(done)
        logs = [next((sl.log for sl in r.slices if sl.name == n), False) for n in names]
        out["parallel"] = figs.add(parallel_figure(obj.metric, names, [done[t] for t in trials],
                                                   [value[t] for t in trials], logs=logs))
    for sl in r.slices:
        categorical = sl.kind == "choice" or any(isinstance(x, str) for x in sl.x)
        bins = [((10 ** ((b.low + b.high) / 2)) if sl.log else (b.low + b.high) / 2, b.mean, b.std) for b in sl.bins]
        out["slices"].append({"name": sl.name, "note": sl.note, "shape": sl.shape,
                              "figure": figs.add(slice_figure(obj.metric, sl.name, sl.x, sl.y, sl.trials, log=sl.log,
                                                              categorical=categorical, bins=bins))})
    imp = r.importance
    if imp is not None:
        bars = [ImportanceBar(p.name, p.importance, p.ci_low, p.ci_high, p.matters) for p in imp.params]
        noise = ImportanceBar("(noise: a random parameter)", *imp.noise, False)
        out["importance"] = {
            "figure": figs.add(importance_figure(f"parameter importance ({imp.evaluator}, {imp.confidence:.0%} "
                                                 f"bootstrap interval over {imp.n_bootstrap} resamples)", bars, noise)),
            "rows": [{"rank": p.rank, "name": p.name, "importance": fmt(p.importance, 3),
                      "ci": f"{fmt(p.ci_low, 3)} – {fmt(p.ci_high, 3)}", "above_noise": f"{p.above_noise:.0%}",
                      "matters": p.matters, "prior": p.prior + (f" ({p.prior_row})" if p.prior_row else ""),
                      "reading": p.reading} for p in imp.params],
            "sentence": imp.sentence,
        }
    rc = r.recheck
    if rc is not None:
        out["recheck"] = {
            "title": f"winner re-check on fresh seeds {list(rc.fresh_seeds)} (Welch, Holm at alpha {rc.alpha:g})",
            "rows": [{"trial": e.trial, "params": [fmt(e.params.get(n)) for n in names], "search": fmt(e.search_mean),
                      "fresh": f"{fmt(e.fresh_mean)} ± {fmt(e.fresh_std)}", "p": fmt(e.p_adjusted, 3),
                      "vs": "winner" if e.trial == rc.winner.trial else (
                          "worse" if e.distinguishable else "indistinguishable")} for e in rc.entries],
            "sentence": rc.sentence,
        }
    return out


def _pct(x: float | None) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"


def _errors(ev: Any, figs: _Figures) -> dict[str, Any]:
    """``trialwise errors`` and ``trialwise metrics`` of one run, as tables and plots."""
    e, m = ev.errors, ev.metrics
    where = f" — {ev.experiment}, seed {ev.seed}, {ev.split}"
    plots = m.plots(where)
    cm = plots["confusion_matrix.png"]
    out: dict[str, Any] = {
        "experiment": ev.experiment, "run": ev.run_id, "seed": ev.seed, "split": ev.split, "note": ev.note,
        "summary": f"{e.n_errors} errors in {e.n} examples, error rate {_pct(e.error_rate)}",
        "warnings": list(m.warnings), "messages": list(m.messages[len(m.warnings):]),
        "confusion": figs.add(confusion_figure(cm.title, cm.names, cm.counts, cm.colour)),
        "pairs": [{"actual": p.actual, "predicted": p.predicted, "count": p.count, "share": _pct(p.share)}
                  for p in e.most_confused],
        "worst_by": e.worst_by or "", "worst": [
            {"rank": w.rank, "id": str(w.id), "true": w.true, "predicted": w.predicted, "loss": fmt(w.loss),
             "confidence": fmt(w.confidence, 3), "input": w.input or "", "thumb": ev.thumbnails.get(w.rank)}
            for w in e.worst],
        "classes": [{"name": c.name, "support": f"{c.support} ({_pct(c.prevalence)})", "precision": _pct(c.precision),
                     "recall": _pct(c.recall), "f": _pct(c.fscore), "ap": fmt(c.average_precision)} for c in m.classes],
        "beta": f"{m.beta:g}", "pr": None, "risk": None,
        "coverage": [{"coverage": _pct(p.coverage), "risk": _pct(p.risk), "threshold": f"{p.threshold:.4g}"}
                     for p in m.coverage],
        "stable": None,
    }
    pr = plots.get("pr_curve.png")
    if pr is not None:
        lines = [PRLineData(ln.name, ln.precision, ln.recall, ln.average_precision, ln.prevalence) for ln in pr.lines]
        out["pr"] = figs.add(pr_figure(pr.title, lines))
    rc = plots.get("risk_coverage.png")
    if rc is not None:
        out["risk"] = figs.add(risk_coverage_figure(rc.title, rc.coverage, rc.risk, aurc=rc.aurc, e_aurc=rc.e_aurc,
                                                    error_rate=rc.error_rate, point=rc.operating_point,
                                                    point_label=rc.operating_label))
    if e.seeds is not None:
        sd = e.seeds
        out["stable"] = {"message": sd.message, "seeds": ", ".join(map(str, sd.seeds)),
                         "pairs": [{"actual": p.actual, "predicted": p.predicted, "counts": ", ".join(map(str, p.counts)),
                                    "share": _pct(p.mean_share), "stable": p.stable} for p in sd.pairs]}
    return out


def _biasvar(sb: Any) -> dict[str, Any]:
    """Seed 004's decomposition as ``trialwise biasvar --run`` prints it."""
    r = sb.report
    errors = [("goal (irreducible)", r.goal), ("train", r.train), ("validation", r.val)]
    errors += [("test-val", r.test_val)] if r.test_val is not None else []
    errors += [("test", r.test)] if r.test is not None else []
    return {"seeds": ", ".join(map(str, sb.seeds)), "errors": [(n, _pct(v)) for n, v in errors],
            "components": [{"name": c.name, "value": _pct(c.value), "se": _pct(c.se) if c.se is not None else "—",
                            "significant": c.significant} for c in r.components],
            "diagnosis": r.diagnosis,
            "plan": [{"title": p.title, "reason": p.reason, "applies": p.applies, "remedies": list(p.remedies)}
                     for p in r.plan]}


def _env_diffs(model: ReportModel) -> list[dict[str, Any]]:
    return [{"base": e.base, "other": e.other, "known": e.known,
             "rows": [(item, _env_value(a), _env_value(b)) for item, a, b in e.items]} for e in model.env_diffs]


def _env_value(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, default=str)


def render_html(model: ReportModel, *, max_points: int = MAX_DISPLAY_POINTS) -> str:
    """The report page (a string of HTML, self-contained)."""
    import jinja2

    from trialwise._version import __version__

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt
    figs = _Figures()
    colours = {v.experiment.id: v.colour for v in model.experiments}
    views = {v.experiment.id: v for v in model.experiments}
    decisions = [_decision(d, colours, figs) for d in model.decisions]
    metrics, probes = _curve_sections(model, figs, max_points)
    diagnoses = [_diagnosis(dv, views, figs) for dv in model.diagnoses]
    ablation = _ablation(model.ablation, figs) if model.ablation is not None else None
    sweep = _sweep(model.sweep, figs) if model.sweep is not None else None
    errors = [_errors(ev, figs) for ev in model.errors]
    toc = [("sweep", "Sweep")] if sweep else []
    toc += [("ablation", "Ablation")] if ablation else []
    toc += [("verdicts", "Verdicts")] if decisions else []
    toc += [("curves", "Learning curves"), ("provenance", "Provenance")]
    toc += [("diagnosis", "Diagnosis")] if diagnoses else []
    toc += [("errors", "Error analysis")] if errors else []
    script = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    if any(bad in script.lower() for bad in ("</", "<!--", "<script")):  # nor end nor nest its element
        raise AssertionError("report.js must not contain '</', '<!--' or '<script'")
    page = env.get_template("report.html.j2").render(
        title=model.title, generated=_when(model.generated_at), version=__version__,
        experiments=[_provenance(v) for v in model.experiments], env_diffs=_env_diffs(model),
        decisions=decisions, decision_notes=list(model.decision_notes), metrics=metrics, probes=probes,
        diagnoses=diagnoses, ablation=ablation, sweep=sweep, errors=errors, notes=list(model.notes), toc=toc, figures=figs.items,
        max_points=max_points, plotly=plotly_payload(), script=Markup(script),
    )
    return page
