"""The store against MLflow's SQLite tracking store, through each one's own Python API, in one run.

For each size (``--runs``, default 100 and 1,000 runs; ``--points`` per run, default 1,000; runs
grouped 10 seeds to an experiment) both stores are filled from the same points and then read:

- **ingest**: points per second. trialwise: ``Store.add_metrics`` per run (one transaction per run,
  what the runner does when a run ends); MLflow: ``MlflowClient.log_batch`` in its largest allowed
  batches (1,000 metrics per call).
- **list**: every run with its summary. trialwise: ``Store.experiments()`` + ``Store.runs()`` (what
  ``trialwise ls`` reads); MLflow: ``search_runs`` over every experiment.
- **curves**: one experiment's series (10 seeds x ``--points``) into a pandas DataFrame. trialwise:
  ``Store.metrics_df``; MLflow: ``get_metric_history`` per run into a DataFrame.
- **export**: those curves written as CSV (rows per second).
- **size**: bytes on disk (SQLite file, WAL checkpointed) per point.

How each grows from the smaller size to the larger is the ratio of the two rows. MLflow is skipped
(and said so) when it is not importable. Writes ``results/store.json`` and ``results/store.md``.

Run: ``python benchmarks/bench_store.py`` (≈ 4 minutes on 2 cores, most of it MLflow's ingest);
``--points 10000`` is issue 16's "1,000 runs x 10k points", where MLflow's ingest alone takes the
better part of an hour on a small machine.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
SEEDS = 10
"""Runs per experiment (seeds of one experiment)."""
MLFLOW_BATCH = 1000
"""Most metrics MLflow's ``log_batch`` accepts per call."""


def _points(seed: int, n: int) -> list[tuple[str, int, float, float, str]]:
    return [("val_loss", i, 1.0 / (i + 1) + seed * 1e-3, 1.7e9 + i, "tw.log") for i in range(n)]


def _sqlite_size(path: Path) -> int:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def bench_trialwise(work: Path, runs: int, points: int) -> dict[str, float]:
    from trialwise.store import connect
    from trialwise.store._records import Experiment

    db = work / "trialwise.db"
    store = connect(f"sqlite:///{db}")
    run_ids: list[str] = []
    ingest = 0.0
    for r in range(runs):
        e = r // SEEDS
        if r % SEEDS == 0:
            store.upsert_experiment(Experiment(
                id=f"exp{e:05d}", name=f"exp-{e}", kind="run", commit_sha=f"{e:040x}", ref=None, branch=None,
                command=["python", "train.py"], launch={}, profile=None, mode=None, metric_name="val_loss",
                metric_direction="min", dirty=False, tag=None, created_at=1.7e9 + e))
        rid = store.create_run(experiment_id=f"exp{e:05d}", seed=r % SEEDS, env_hash="env", started_at=1.7e9 + r)
        pts = _points(r % SEEDS, points)
        start = time.perf_counter()
        store.add_metrics(rid, pts)
        ingest += time.perf_counter() - start
        store.set_summary(rid, {"val_loss": pts[-1][2]})
        store.set_terminal_status(rid, "completed", exit_code=0, ended_at=1.7e9 + r + 1)
        run_ids.append(rid)
    start = time.perf_counter()
    n_experiments, listed = len(store.experiments()), len(store.runs())
    list_s = time.perf_counter() - start
    start = time.perf_counter()
    frame = store.metrics_df("exp00000")
    curves_s = time.perf_counter() - start
    start = time.perf_counter()
    frame.to_csv(io.StringIO(), index=False)
    export_s = time.perf_counter() - start
    store.close()
    assert listed == runs and n_experiments == -(-runs // SEEDS) and len(frame) == SEEDS * points
    return {"ingest_points_per_s": runs * points / ingest, "list_s": list_s, "curves_s": curves_s,
            "export_rows_per_s": len(frame) / export_s, "bytes_per_point": _sqlite_size(db) / (runs * points)}


def bench_mlflow(work: Path, runs: int, points: int) -> dict[str, float]:
    import logging

    import pandas as pd
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    logging.getLogger("alembic").setLevel(logging.WARNING)
    db = work / "mlflow.db"
    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiments: list[str] = []
    first_runs: list[str] = []
    ingest = 0.0
    for r in range(runs):
        e = r // SEEDS
        if r % SEEDS == 0:
            experiments.append(client.create_experiment(f"exp-{e}", artifact_location=str(work / "mlruns")))
        run = client.create_run(experiments[-1], run_name=f"seed-{r % SEEDS}")
        if e == 0:
            first_runs.append(run.info.run_id)
        metrics = [Metric(k, v, int(t * 1000), s) for k, s, v, t, _ in _points(r % SEEDS, points)]
        start = time.perf_counter()
        for i in range(0, len(metrics), MLFLOW_BATCH):
            client.log_batch(run.info.run_id, metrics=metrics[i:i + MLFLOW_BATCH])
        ingest += time.perf_counter() - start
        client.set_terminated(run.info.run_id)
    start = time.perf_counter()
    listed = len(client.search_runs(experiments, max_results=50_000))
    list_s = time.perf_counter() - start
    start = time.perf_counter()
    rows = [(rid, m.key, m.step, m.value, m.timestamp / 1000) for rid in first_runs
            for m in client.get_metric_history(rid, "val_loss")]
    frame = pd.DataFrame(rows, columns=["run_id", "key", "step", "value", "time"])
    curves_s = time.perf_counter() - start
    start = time.perf_counter()
    frame.to_csv(io.StringIO(), index=False)
    export_s = time.perf_counter() - start
    assert listed == runs and len(frame) == SEEDS * points, (listed, len(frame))
    return {"ingest_points_per_s": runs * points / ingest, "list_s": list_s, "curves_s": curves_s,
            "export_rows_per_s": len(frame) / export_s, "bytes_per_point": _sqlite_size(db) / (runs * points)}


METRICS = (("ingest_points_per_s", "ingest, points/s", "{:,.0f}", True),
           ("list_s", "list every run, s", "{:.3f}", False),
           ("curves_s", "one experiment's curves to a DataFrame, s", "{:.3f}", False),
           ("export_rows_per_s", "CSV export, rows/s", "{:,.0f}", True),
           ("bytes_per_point", "store size, bytes/point", "{:.0f}", False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--points", type=int, default=1_000)
    opts = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    try:
        import mlflow  # noqa: F401

        peers = {"trialwise": bench_trialwise, "MLflow": bench_mlflow}
        mlflow_note = f"MLflow {sys.modules['mlflow'].__version__}, SQLite tracking store"
    except ImportError:
        peers = {"trialwise": bench_trialwise}
        mlflow_note = "MLflow not importable: trialwise only"
    load_before = os.getloadavg()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for runs in opts.runs:
        for name, fn in peers.items():
            work = Path(tempfile.mkdtemp(prefix="tw-bench-store-"))
            try:
                results.setdefault(str(runs), {})[name] = fn(work, runs, opts.points)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            print(runs, name, results[str(runs)][name], flush=True)
    load_after = os.getloadavg()
    out = {"python": platform.python_version(), "cores": os.cpu_count(), "load_average_before": load_before,
           "load_average_after": load_after, "points_per_run": opts.points, "seeds_per_experiment": SEEDS,
           "peers": mlflow_note, "results": results}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "store.json").write_text(json.dumps(out, indent=2) + "\n")
    sizes = [str(r) for r in opts.runs]
    lines = ["# The store against MLflow's", "",
             f"{mlflow_note}; {opts.points:,} points per run, {SEEDS} runs per experiment; Python {out['python']}, "
             f"{os.cpu_count()} cores, load average {load_before[0]:.1f} before and {load_after[0]:.1f} after "
             "(a shared machine: absolute figures move with the load).", "",
             "| measure | runs | " + " | ".join(peers) + (" | trialwise advantage |" if len(peers) > 1 else " |"),
             "|---|---|" + "---|" * len(peers) + ("---|" if len(peers) > 1 else "")]
    for key, label, fmt, higher_better in METRICS:
        for size in sizes:
            vals = [results[size][p][key] for p in peers]
            row = f"| {label} | {int(size):,} | " + " | ".join(fmt.format(v) for v in vals) + " |"
            if len(vals) > 1:
                adv = vals[0] / vals[1] if higher_better else vals[1] / vals[0]
                row += f" {adv:.1f}x |"
            lines.append(row)
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        lines += ["", f"Growth from {int(lo):,} to {int(hi):,} runs ({int(hi) / int(lo):.0f}x the runs; the time of "
                  "listing, per point for ingest):", ""]
        for name in peers:
            r0, r1 = results[lo][name], results[hi][name]
            lines.append(f"- {name}: list {r1['list_s'] / r0['list_s']:.1f}x, ingest rate "
                         f"{r1['ingest_points_per_s'] / r0['ingest_points_per_s']:.2f}x, curves of one experiment "
                         f"{r1['curves_s'] / r0['curves_s']:.2f}x")
    (RESULTS / "store.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
