"""What a run's capture found, and the warnings an experiment gets when it found too little.

At the end of ``trialwise run`` each experiment is checked: the configured metric was captured
from no run (the warning lists the series and files seen, and the one-line fix), or its seeds
produced identical curves (:mod:`trialwise.checks._seeds`).  Either would otherwise surface later
as ``nan ± nan`` or as a variance of zero.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialwise.api import _files as F
from trialwise.checks._seeds import IdenticalSeeds, same_seeds
from trialwise.runner._ingest import TB_GLOB, csv_log_files, parse_stdout_line
from trialwise.store._records import Experiment, Run
from trialwise.store._store import Store

EVAL_MARKS = ("val", "eval", "test", "acc", "f1", "auc")
"""Name parts of series that are likely decision metrics, suggested first as ``[metric] name``."""

SERIES_SHOWN = 8
"""Series named in a no-metric warning (the rest are counted)."""


@dataclass(frozen=True)
class SourcesSeen:
    """The metric sources found in one run directory."""

    stdout_lines: int = 0
    stdout_records: int = 0
    tensorboard_files: int = 0
    csv_files: int = 0
    api_file: bool = False
    series: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"{self.stdout_records} metric record(s) in {self.stdout_lines} stdout line(s)",
                 f"{self.tensorboard_files} TensorBoard event file(s)", f"{self.csv_files} metrics.csv file(s)"]
        if self.api_file:
            parts.append("a tw.log file")
        return ", ".join(parts)


def sources_seen(run_dir: Path, series: dict[str, int]) -> SourcesSeen:
    """Count what ``run_dir`` holds that capture reads (``series``: captured key → points)."""
    lines = records = 0
    try:
        with (run_dir / F.STDOUT_FILE).open(encoding="utf-8", errors="replace", newline="\n") as fh:
            for line in fh:
                lines += 1
                records += parse_stdout_line(line) is not None
    except OSError:
        pass
    return SourcesSeen(lines, records, len(list(run_dir.glob(TB_GLOB))), len(csv_log_files(run_dir)),
                       (run_dir / F.METRICS_FILE).exists(), series)


def suggest_metric(metric: str, names: Sequence[str]) -> str | None:
    """The captured series most likely meant as the decision metric: the closest name among the
    evaluation-like ones (:data:`EVAL_MARKS`), else the closest of all."""
    evalish = [n for n in names if any(m in n.lower() for m in EVAL_MARKS) and "loss" not in n.lower()]
    for pool in (evalish, list(names)):
        close = difflib.get_close_matches(metric, pool, n=1, cutoff=0.0)
        if close:
            return close[0]
    return None


def no_metric_hint(exp: Experiment, metric: str, seen: SourcesSeen) -> str:
    """The warning for an experiment none of whose runs logged ``metric``."""
    if not seen.series:
        return (f"metric '{metric}' was not captured from {exp.name}, and nothing else was: the run wrote "
                f"{seen.describe()}. Fix: print one JSON object per line (print(json.dumps({{'step': step, "
                f"'{metric}': value}}))), log with a TensorBoard or CSV logger, or call tw.log (README)")
    names = sorted(seen.series, key=lambda k: (-seen.series[k], k))
    shown = ", ".join(f"{k} ({seen.series[k]} points)" for k in names[:SERIES_SHOWN])
    more = f" and {len(names) - SERIES_SHOWN} more" if len(names) > SERIES_SHOWN else ""
    best = suggest_metric(metric, names)
    return (f"metric '{metric}' was not captured from {exp.name}. Found: {shown}{more}; from "
            f"{seen.describe()}. Fix: set [metric] name = \"{best}\" in trialwise.toml (and commit it), "
            f"or log '{metric}' from the script")


def capture_hints(store: Store, exp: Experiment, runs: Sequence[Run]) -> list[str]:
    """Warnings about what the completed ``runs`` of ``exp`` captured: no metric, identical seeds."""
    metric = exp.metric_name or "val_acc"
    completed = [r for r in runs if r.status == "completed"]
    if not completed:
        return []
    hints: list[str] = []
    if not any(math.isfinite(r.summary.get(metric, math.nan)) for r in completed):
        run = completed[0]
        counts = store.series_counts([run.id])[run.id]
        seen = sources_seen(Path(run.run_dir or "."), {k: n for k, (_src, n) in counts.items()})
        hints.append(no_metric_hint(exp, metric, seen))
    same = seeds_alike(store, completed, metric)
    if same.found:
        hints.append(same.describe(exp.name))
    return hints


STDOUT_COMPARED_BYTES = 1_000_000
"""How much of each run's stdout the identical-output fallback compares."""


def seeds_alike(store: Store, runs: Sequence[Run], metric: str) -> IdenticalSeeds:
    """Seeds among the completed ``runs`` that produced identical curves (or, with too little
    captured to compare, identical output)."""
    from trialwise.checks._seeds import LOSS_MARK

    done = [r for r in runs if r.status == "completed"]
    # only the series the check compares are read (a run may hold millions of other points)
    counts = store.series_counts([r.id for r in done])
    keys = sorted({k for c in counts.values() for k in c if k == metric or LOSS_MARK in k.lower()})
    seed_of = {r.id: r.seed for r in done}
    series: dict[int, dict[str, list[float]]] = {r.seed: {} for r in done}
    for run_id, per_key in (store.series_by_run(list(seed_of), keys) if keys else {}).items():
        series[seed_of[run_id]] = {key: values for key, (_steps, values) in per_key.items()}
    texts = {}
    for r in done:
        try:
            with (Path(r.run_dir or ".") / F.STDOUT_FILE).open("rb") as fh:
                texts[r.seed] = fh.read(STDOUT_COMPARED_BYTES).decode("utf-8", errors="replace")
        except OSError:
            texts[r.seed] = ""
    return same_seeds(series, texts, metric, {r.seed: r.summary.get(metric, math.nan) for r in done})


def run_outputs(run: Run) -> dict[str, Any]:
    """The kept outputs of ``run`` (see :mod:`trialwise.runner._outputs`) as a dict."""
    from trialwise.runner._outputs import OUTPUTS_DIR, read_manifest

    if not run.run_dir:
        return {"dir": None, "kept": [], "dropped": [], "kept_bytes": 0}
    kept = read_manifest(Path(run.run_dir))
    return {"dir": str(Path(run.run_dir) / OUTPUTS_DIR), **kept.to_dict()}
