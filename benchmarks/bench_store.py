"""The store against MLflow's tracking store, through each one's own Python API, in one run (issue 16).

For each size (``--runs``, default 100 and 1,000 runs of ``--points`` = 10,000 points, grouped
10 seeds to an experiment) the stores are filled from the same points (one series ``val_loss`` per
run; noisy values, generated per run from its index, so no layout gets repeated data for free) and
then read. Every read is the median of :data:`REPEATS` timings (after an untimed warm-up when it is
quick), in this process: start-up and imports are ``bench_cli.py``'s.

- **ingest**: points per second. trialwise: ``Store.add_metrics`` per run (one transaction per run,
  what the runner does when a run ends); MLflow: ``MlflowClient.log_batch`` in its largest allowed
  batches (1,000 metrics per call), timed on the last :data:`MLFLOW_LOGGED` runs of each size, so
  into a store already holding the others. The other MLflow runs are created through the client
  (``create_run``, ``set_terminated``) and their points written by bulk SQL into MLflow's own tables
  (``metrics`` and ``latest_metrics``), the rows its ``SqlAlchemyStore._log_metrics`` writes (checked
  at start: the same points through ``log_batch`` and through the bulk path leave equal rows);
  ``log_batch`` alone would take ~30 minutes for 10M points here.
- **list**: every run with its summary. trialwise: what ``trialwise ls`` reads (the running runs
  ``recover_stale_runs`` scans, ``Store.runs()``, ``Store.experiments()``, the counted runs of each
  experiment); MLflow: ``search_runs`` over every experiment.
- **show**: one experiment's runs with summaries. trialwise: what ``trialwise show --json`` reads
  (``select_target``, environments, ``series_counts``, params, artifacts); MLflow: ``search_runs`` of
  the experiment and ``get_run`` of each run.
- **compare**: two experiments' final metric per seed. trialwise: ``select_experiment`` and
  ``load_arm`` of both (what ``decide`` reads before its statistics); MLflow: ``search_runs`` of the
  two experiments, reading the metric. A trialwise-only row adds the identical-seed check
  ``compare`` also runs (``identical_seed_refusal``: it reads both arms' curves of the metric).
- **curves**: one experiment's series (10 seeds x ``--points``) into a pandas DataFrame. trialwise:
  ``Store.metrics_df``; MLflow: ``get_metric_history`` per run into a DataFrame.
- **export**: rows per second of what ``trialwise export`` does, end to end into a CSV file: the
  counted runs' points as an Arrow table (``store/_select.py``'s ``metrics_table``) written by
  ``store/_export.py``'s ``write_points`` (Arrow's CSV writer); MLflow: its
  history DataFrame as for the curves, then ``to_csv``.
- **size**: bytes on disk per point (SQLite: the file after a WAL checkpoint; PostgreSQL: the
  database's growth, ``pg_database_size``, over the empty schema).
- **16 seeds x 100k points** (trialwise only, issue 16's target): one more experiment added to the
  largest store after its other measures; its curves into a DataFrame and its export.

PostgreSQL: trialwise's store on a throw-away server (``tests/_postgres.py``: ``initdb`` and
``pg_ctl`` into a temporary directory, unix socket only, durability off), measured the same way;
skipped, and said so, when the server binaries or ``psycopg`` are missing (``--no-postgres`` skips
it too). MLflow is skipped (and said so) when it is not importable. How each measure grows from the
smaller size to the larger is the ratio of the two rows. Writes ``results/store.json`` and
``results/store.md`` (not with ``--quick``, which only checks that everything runs, at small sizes).

Run: ``nice python benchmarks/bench_store.py`` (≈ 12-20 minutes on 2 cores); ``--quick`` (< 1 minute);
``--runs 100 --points 1000`` and the other options to run smaller; ``--render`` re-writes the table
from ``results/store.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"

SEEDS = 10
"""Runs per experiment (seeds of one experiment)."""
RUNS = (100, 1_000)
"""Store sizes in runs (issue 16: "at 100 and 1,000 runs x 10k points")."""
POINTS = 10_000
"""Points per run (issue 16's 10k)."""
BIG_SEEDS, BIG_POINTS = 16, 100_000
"""Issue 16's target experiment: "one experiment's curves (16 seeds x 100k points) into a DataFrame"."""
MLFLOW_LOGGED = 20
"""MLflow runs per size written through ``log_batch`` (the last ones); the rest by bulk SQL."""
MLFLOW_BATCH = 1000
"""Most metrics MLflow's ``log_batch`` accepts per call (``MAX_METRICS_PER_BATCH``)."""
MLFLOW_MAX_RESULTS = 50_000
"""Most runs one ``search_runs`` page returns from MLflow's SQL store (``SEARCH_MAX_RESULTS_THRESHOLD``)."""
REPEATS = 3
"""Timings per read measure; the median is reported."""
WARM_UP_BELOW_S = 2.0
"""A first call quicker than this is a warm-up (not counted); a slower one counts as a timing."""
KEY, SOURCE = "val_loss", "tw.log"
T0 = 1.7e9
"""Timestamps of the generated points start here (seconds)."""

QUICK = {"runs": [20, 40], "points": 500, "big_points": 2_000, "mlflow_logged": 5}
"""``--quick``: small enough to check that every path runs in well under a minute."""

TARGETS = {"ingest_points_per_s": (500_000, "≥ 500k"), "big_curves_s": (0.1, "≤ 0.1 s"),
           "export_rows_per_s": (1_000_000, "≥ 1M"), "big_export_rows_per_s": (1_000_000, "≥ 1M")}
"""Issue 16's targets: ingest ≥ 500k points/s into SQLite, one experiment's curves (16 seeds x 100k
points) into a DataFrame ≤ 100 ms, export ≥ 1M rows/s."""

Point = tuple[str, int, float, float, str]


def series(run: int, n: int) -> list[Point]:
    """Run ``run``'s ``n`` points ``(key, step, value, time, source)``: a decaying loss plus noise
    seeded by the run (deterministic, different in every run)."""
    import numpy as np

    steps = np.arange(n)
    values = 1.0 / (steps + 1.0) + np.random.default_rng(run).normal(0.0, 0.01, n)
    times = T0 + run * 1e4 + steps * 0.1
    return list(zip(repeat(KEY), range(n), values.tolist(), times.tolist(), repeat(SOURCE)))


FIRST_TOUCH_BYTES = 100_000_000
"""About what one 16 seeds x 100k points frame allocates (8 columns of 1.6M values)."""


def first_touch_s(nbytes: int) -> tuple[float, float]:
    """Seconds of ``numpy.ones`` of ``nbytes`` in a fresh interpreter, the first time and the second:
    what the machine charges for memory a process touches for the first time."""
    code = ("import time, numpy as np\n"
            "out = []\n"
            "for _ in range(2):\n"
            f"    start = time.perf_counter(); a = np.ones({nbytes // 8}); out.append(time.perf_counter() - start); del a\n"
            "print(out[0], out[1])")
    first, again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(first), float(again)


def timed(fn: Callable[[], Any], repeats: int = REPEATS) -> tuple[float, Any]:
    """Median seconds of ``repeats`` calls of ``fn`` (after a warm-up call when that one is quick)
    and the last call's result. Each call's result is released before the next call, as a program
    that reloads its data drops the old copy: a frame of 1.6M points kept alive while the next is
    built makes each call allocate fresh memory, whose first touch this VM charges ~0.5 s a 100 MB."""
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    times = [] if first < WARM_UP_BELOW_S else [first]
    while len(times) < repeats:
        result = None
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def sqlite_size(path: Path) -> int:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


@dataclass(frozen=True)
class Sizes:
    runs: int
    points: int
    big_points: int
    mlflow_logged: int


# -- trialwise -------------------------------------------------------------------------------

def _experiment(exp_id: str, index: int) -> Any:
    from trialwise.store._records import Experiment

    return Experiment(id=exp_id, name=exp_id, kind="run", commit_sha=f"{index:040x}", ref=None,
                      branch=None, command=["python", "train.py"], launch={}, profile=None, mode=None,
                      metric_name=KEY, metric_direction="min", dirty=False, tag=None, created_at=T0 + index)


def _ingest_experiment(store: Any, exp_id: str, seeds: int, points: int, first_run: int) -> float:
    """One experiment of ``seeds`` completed runs of ``points`` points each; seconds spent in ``add_metrics``."""
    store.upsert_experiment(_experiment(exp_id, first_run))
    spent = 0.0
    for seed in range(seeds):
        r = first_run + seed
        rid = store.create_run(experiment_id=exp_id, seed=seed, env_hash="env", started_at=T0 + r)
        pts = series(r, points)
        start = time.perf_counter()
        store.add_metrics(rid, pts)
        spent += time.perf_counter() - start
        store.set_summary(rid, {KEY: pts[-1][2]})
        store.set_terminal_status(rid, "completed", exit_code=0, ended_at=T0 + r + 1)
    return spent


def _exp_id(e: int) -> str:
    return f"exp{e:05d}"


def trialwise_ls(store: Any) -> int:
    """What ``trialwise ls`` reads: the running runs (``recover_stale_runs``), every run in one
    query, the experiments, and each experiment's counted runs and their metric."""
    from trialwise.store._select import select_counted

    store.runs(status="running")
    by_experiment: dict[str, list[Any]] = {}
    for run in store.runs():
        by_experiment.setdefault(run.experiment_id, []).append(run)
    rows = 0
    for exp in store.experiments():
        selection = select_counted(by_experiment.get(exp.id, []))
        values = [r.summary.get(exp.metric_name, math.nan) for r in selection.completed]
        rows += len(values)
    return rows


def trialwise_show(store: Any, root: Path, exp_id: str) -> int:
    """What ``trialwise show --json`` reads of the store."""
    from trialwise.store._select import select_target

    exp, selection = select_target(store, root, exp_id)
    runs = list(selection.runs)
    {r.env_hash: store.environment(r.env_hash) for r in runs if r.env_hash}
    store.series_counts([r.id for r in runs + selection.running])
    {r.id: store.params(r.id) for r in runs}
    store.artifacts(experiment_id=exp.id)
    return len(runs)


def trialwise_compare(store: Any, root: Path, a: str, b: str, *, seed_check: bool) -> int:
    """What ``decide`` reads of the store for two arms: their experiments and counted runs' final
    values; with ``seed_check`` also the identical-seed check (both arms' curves of the metric)."""
    from trialwise.decide._arms import identical_seed_refusal, load_arm
    from trialwise.store._select import select_experiment

    arms = [load_arm(store, select_experiment(store, root, t), KEY) for t in (a, b)]
    if seed_check:
        for arm in arms:
            identical_seed_refusal(store, arm)
    return sum(len(arm.values) for arm in arms)


def trialwise_export(store: Any, root: Path, exp_id: str, out: Path) -> int:
    """What ``trialwise export EXP --format csv --out FILE`` does after opening the store."""
    from trialwise.store._export import write_points
    from trialwise.store._select import counted_runs, metrics_table, select_experiment

    table = metrics_table(store, counted_runs(store, select_experiment(store, root, exp_id)))
    write_points(table, "csv", out)
    return int(table.num_rows)


def bench_trialwise(work: Path, sizes: Sizes, url: str | None = None, size_of: Callable[[], int] | None = None,
                    big: bool = False) -> dict[str, float]:
    """Fill a trialwise store (SQLite in ``work`` unless ``url``) and read it; with ``big`` also
    issue 16's 16 seeds x 100k experiment. ``size_of`` gives the store's bytes (default: the SQLite file)."""
    from trialwise.store import connect

    db = work / "trialwise.db"
    store = connect(url or f"sqlite:///{db}")
    size_of = size_of or (lambda: sqlite_size(db))
    empty = size_of() if url else 0
    runs, points = sizes.runs, sizes.points
    ingest = sum(_ingest_experiment(store, _exp_id(e), SEEDS, points, e * SEEDS) for e in range(runs // SEEDS))
    out: dict[str, float] = {"ingest_points_per_s": runs * points / ingest,
                             "bytes_per_point": (size_of() - empty) / (runs * points)}
    out["list_s"], listed = timed(lambda: trialwise_ls(store))
    out["show_s"], shown = timed(lambda: trialwise_show(store, work, _exp_id(0)))
    out["compare_s"], compared = timed(lambda: trialwise_compare(store, work, _exp_id(0), _exp_id(1), seed_check=False))
    out["compare_checked_s"], _ = timed(lambda: trialwise_compare(store, work, _exp_id(0), _exp_id(1), seed_check=True))
    out["curves_s"], frame = timed(lambda: store.metrics_df(_exp_id(0)))
    export_s, exported = timed(lambda: trialwise_export(store, work, _exp_id(0), work / "export.csv"))
    out["export_rows_per_s"] = exported / export_s
    assert listed == runs and shown == SEEDS and compared == 2 * SEEDS, (listed, shown, compared)
    assert len(frame) == exported == SEEDS * points, (len(frame), exported)
    if big:
        big_id = "big16x100k"
        spent = _ingest_experiment(store, big_id, BIG_SEEDS, sizes.big_points, runs)
        out["big_ingest_points_per_s"] = BIG_SEEDS * sizes.big_points / spent
        start = time.perf_counter()
        store.metrics_df(big_id)
        out["big_curves_first_s"] = time.perf_counter() - start
        store.metrics_df(big_id)  # a second warm-up: the allocator's heap grows to the frame's size once
        frame = None
        out["big_curves_s"], frame = timed(lambda: store.metrics_df(big_id))
        export_s, exported = timed(lambda: trialwise_export(store, work, big_id, work / "export.csv"))
        out["big_export_rows_per_s"] = exported / export_s
        assert len(frame) == exported == BIG_SEEDS * sizes.big_points, (len(frame), exported)
    store.close()
    return out


# -- MLflow ----------------------------------------------------------------------------------

def _mlflow_rows(run_uuid: str, points: list[Point]) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """The ``metrics`` rows and the ``latest_metrics`` row MLflow's ``SqlAlchemyStore._log_metrics``
    writes for ``points`` of one key (``sqlalchemy_store.py``, ``dbmodels/models.py``): value, integer
    milliseconds, step, ``is_nan`` (NaN stored as 0 with ``is_nan`` true, no NaN here); the latest
    is the greatest ``(step, timestamp, value)``."""
    rows = [(key, value, int(t * 1000), step, 0, run_uuid) for key, step, value, t, _src in points]
    latest = max(rows, key=lambda r: (r[3], r[2], r[1]))
    return rows, latest


METRICS_INSERT = "INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)"
LATEST_INSERT = "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)"


def _mlflow_bulk(db: Path, run_uuid: str, points: list[Point]) -> None:
    rows, latest = _mlflow_rows(run_uuid, points)
    with sqlite3.connect(db, timeout=60) as conn:
        conn.executemany(METRICS_INSERT, rows)
        conn.execute(LATEST_INSERT, latest)
    conn.close()


def _mlflow_log(client: Any, run_uuid: str, points: list[Point]) -> float:
    from mlflow.entities import Metric

    metrics = [Metric(k, v, int(t * 1000), s) for k, s, v, t, _ in points]
    start = time.perf_counter()
    for i in range(0, len(metrics), MLFLOW_BATCH):
        client.log_batch(run_uuid, metrics=metrics[i:i + MLFLOW_BATCH])
    return time.perf_counter() - start


def _mlflow_client(db: Path) -> Any:
    import logging

    from mlflow.tracking import MlflowClient

    logging.getLogger("alembic").setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=f"sqlite:///{db}")


def _mlflow_table_rows(db: Path, run_uuid: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with sqlite3.connect(db) as conn:
        return tuple(conn.execute(f"SELECT key, value, timestamp, step, is_nan FROM {t} WHERE run_uuid = ? "
                                  "ORDER BY step, timestamp", (run_uuid,)).fetchall()
                     for t in ("metrics", "latest_metrics"))  # type: ignore[return-value]


def check_mlflow_bulk(work: Path, points: int) -> None:
    """The bulk path writes the rows ``log_batch`` writes: the same points through both, compared."""
    db = work / "check.db"
    client = _mlflow_client(db)
    exp = client.create_experiment("check", artifact_location=str(work / "mlruns"))
    logged, bulk = (client.create_run(exp).info.run_id for _ in range(2))
    pts = series(0, points)
    _mlflow_log(client, logged, pts)
    _mlflow_bulk(db, bulk, pts)
    a, b = _mlflow_table_rows(db, logged), _mlflow_table_rows(db, bulk)
    assert a == b and len(a[0]) == points and len(a[1]) == 1, "bulk SQL rows differ from log_batch's"


def bench_mlflow(work: Path, sizes: Sizes) -> dict[str, float]:
    import pandas as pd

    db = work / "mlflow.db"
    client = _mlflow_client(db)
    runs, points = sizes.runs, sizes.points
    logged_from = max(0, runs - sizes.mlflow_logged)
    experiments: list[str] = []
    by_experiment: list[list[str]] = []
    ingest = 0.0
    for r in range(runs):
        if r % SEEDS == 0:
            experiments.append(client.create_experiment(f"exp-{r // SEEDS}", artifact_location=str(work / "mlruns")))
            by_experiment.append([])
        rid = client.create_run(experiments[-1], run_name=f"seed-{r % SEEDS}").info.run_id
        by_experiment[-1].append(rid)
        pts = series(r, points)
        if r >= logged_from:
            ingest += _mlflow_log(client, rid, pts)
        else:
            _mlflow_bulk(db, rid, pts)
        client.set_terminated(rid)
    out: dict[str, float] = {"ingest_points_per_s": (runs - logged_from) * points / ingest,
                             "bytes_per_point": sqlite_size(db) / (runs * points)}

    def history() -> Any:
        rows = [(rid, m.key, m.step, m.value, m.timestamp / 1000) for rid in by_experiment[0]
                for m in client.get_metric_history(rid, KEY)]
        return pd.DataFrame(rows, columns=["run_id", "key", "step", "value", "time"])

    def show() -> int:
        found = client.search_runs([experiments[0]], max_results=MLFLOW_MAX_RESULTS)
        return len([client.get_run(r.info.run_id) for r in found])

    def compare() -> int:
        values: dict[str, list[float]] = {}
        for r in client.search_runs(experiments[:2], max_results=MLFLOW_MAX_RESULTS):
            values.setdefault(r.info.experiment_id, []).append(r.data.metrics[KEY])
        return sum(map(len, values.values()))

    def export() -> int:
        frame = history()
        frame.to_csv(work / "export.csv", index=False)
        return len(frame)

    out["list_s"], listed = timed(lambda: len(client.search_runs(experiments, max_results=MLFLOW_MAX_RESULTS)))
    out["show_s"], shown = timed(show)
    out["compare_s"], compared = timed(compare)
    out["curves_s"], frame = timed(history)
    export_s, exported = timed(export)
    out["export_rows_per_s"] = exported / export_s
    assert listed == runs and shown == SEEDS and compared == 2 * SEEDS, (listed, shown, compared)
    assert len(frame) == exported == SEEDS * points, (len(frame), exported)
    return out


# -- PostgreSQL ------------------------------------------------------------------------------

def postgres_missing() -> str | None:
    sys.path.insert(0, str(ROOT))
    from tests import _postgres

    return _postgres.why_unavailable()


@contextmanager
def postgres_database() -> Iterator[tuple[str, Callable[[], int]]]:
    """A fresh database on a throw-away server: its store URL and a function giving its size in bytes."""
    import psycopg

    from tests import _postgres

    server = _postgres.start_server()
    try:
        name = server.create_database()

        def size() -> int:
            with psycopg.connect(host=str(server.socket_dir), user=_postgres.SUPERUSER, dbname=name) as conn:
                return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])

        yield server.url(name), size
    finally:
        server.stop()


def bench_postgres(work: Path, sizes: Sizes, big: bool = False) -> dict[str, float]:
    with postgres_database() as (url, size):
        return bench_trialwise(work, sizes, url=url, size_of=size, big=big)


# -- report ----------------------------------------------------------------------------------

MEASURES = (
    ("ingest_points_per_s", "ingest, points/s", "{:,.0f}", True),
    ("list_s", "list every run (`ls`), s", "{:.3f}", False),
    ("show_s", "one experiment's runs (`show`), s", "{:.3f}", False),
    ("compare_s", "two experiments' final metric per seed (`compare`), s", "{:.3f}", False),
    ("compare_checked_s", "`compare` with its identical-seed check (reads both arms' curves), s", "{:.3f}", False),
    ("curves_s", "one experiment's curves (10 seeds) to a DataFrame, s", "{:.3f}", False),
    ("export_rows_per_s", "CSV export of those curves, rows/s", "{:,.0f}", True),
    ("bytes_per_point", "store size, bytes/point", "{:.0f}", False),
    ("big_ingest_points_per_s", "16 seeds x {big} points: ingest, points/s", "{:,.0f}", True),
    ("big_curves_s", "16 seeds x {big} points: curves to a DataFrame, s", "{:.3f}", False),
    ("big_export_rows_per_s", "16 seeds x {big} points: CSV export, rows/s", "{:,.0f}", True),
    ("big_curves_first_s", "16 seeds x {big} points: curves, the process's first read, s", "{:.3f}", False),
)
"""(key, label, format, higher is better) of each row."""

READING = (
    "what each row reads, through which calls, is in the docstring of `benchmarks/bench_store.py`",
    "`show` reads `series_counts` (a sum over the experiment's stored chunks, one per run, key and source, for "
    "its captured-series table) where MLflow's `get_run` reads one latest value per key",
    "`compare` reads more than the final values: its identical-seed check reads both arms' curves of the metric "
    "(the row with the check)",
)
"""Fixed notes under the figures: what the rows read."""

PEERS = ("trialwise", "MLflow", "trialwise (PostgreSQL)")


def _advantage(ratio: float) -> str:
    """``ratio`` (trialwise's figure over MLflow's, oriented so above 1 is trialwise ahead) in words."""
    return f"{ratio:.1f}x better" if ratio >= 1 else f"{1 / ratio:.1f}x worse"


def render(out: dict[str, Any]) -> str:
    results = out["results"]
    sizes = list(results)
    peers = [p for p in PEERS if any(p in results[s] for s in sizes)]
    big = f"{out['big_points_per_run']:,}"
    load = out["load_average_before"][0], out["load_average_after"][0]
    lines = ["# The store against MLflow's", "",
             f"trialwise at commit {out.get('commit', 'unknown')}, {out['peers']}; {out['points_per_run']:,} points per run, {SEEDS} runs (seeds) per experiment; "
             f"Python {out['python']}, {out['machine']}, {out['cores']} cores, load average {load[0]:.1f} before "
             f"and {load[1]:.1f} after (a shared machine: absolute figures move with the load). Reads: median of "
             f"{REPEATS}, in-process (start-up is in [cli.md](cli.md)).", ""]
    lines += [f"- {note}" for note in [*out["notes"], *READING]] + [""]
    head = "| measure | runs | " + " | ".join(peers)
    if "MLflow" in peers:
        head += " | trialwise vs MLflow"
    lines += [head + " | target |", "|---|---|" + "---|" * (len(peers) + ("MLflow" in peers) + 1)]
    for key, label, fmt, higher in MEASURES:
        for size in sizes:
            vals = [results[size].get(p, {}).get(key) for p in peers]
            if all(v is None for v in vals):
                continue
            cells = ("—" if v is None else fmt.format(v) for v in vals)
            row = f"| {label.format(big=big)} | {int(size):,} | " + " | ".join(cells)
            if "MLflow" in peers:
                tw, ml = results[size]["trialwise"].get(key), results[size].get("MLflow", {}).get(key)
                row += " | " + (_advantage(tw / ml if higher else ml / tw) if tw and ml else "—")
            target = TARGETS.get(key)
            if target:
                tw = results[size]["trialwise"].get(key)
                met = tw is not None and (tw >= target[0] if higher else tw <= target[0])
                row += f" | {target[1]}: {'met' if met else '**not met**'}"
            else:
                row += " | "
            lines.append(row + " |")
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        lines += ["", f"Growth from {int(lo):,} to {int(hi):,} runs ({int(hi) / int(lo):.0f}x the runs and points; "
                  "the larger size's figure over the smaller's: for times, above 1 is slower; for rates, below 1 is "
                  "slower):", "", "| measure | " + " | ".join(peers) + " |", "|---|" + "---|" * len(peers)]
        for key, label, _fmt, _higher in MEASURES:
            cells = []
            for p in peers:
                a, b = results[lo].get(p, {}).get(key), results[hi].get(p, {}).get(key)
                cells.append(f"{b / a:.2f}x" if a and b else "—")
            if any(c != "—" for c in cells):
                lines.append(f"| {label.format(big=big)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, nargs="+", default=list(RUNS), help="store sizes, in runs")
    parser.add_argument("--points", type=int, default=POINTS, help="points per run")
    parser.add_argument("--big-points", type=int, default=BIG_POINTS,
                        help=f"points per run of the {BIG_SEEDS}-seed experiment added to the largest store")
    parser.add_argument("--mlflow-logged", type=int, default=MLFLOW_LOGGED,
                        help="MLflow runs per size written (and timed) through log_batch")
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--render", action="store_true", help="only re-write results/store.md from results/store.json")
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes ({QUICK}, unless given), nothing written under results/")
    if parser.parse_known_args()[0].quick:
        parser.set_defaults(**QUICK)
    opts = parser.parse_args()
    if opts.render:
        (RESULTS / "store.md").write_text(render(json.loads((RESULTS / "store.json").read_text())))
        return
    if any(r % SEEDS or r < 2 * SEEDS for r in opts.runs):
        parser.error(f"--runs: each size must be a multiple of {SEEDS} (seeds per experiment), at least {2 * SEEDS}")
    sys.path.insert(0, str(ROOT / "src"))
    notes = []
    peers: dict[str, Callable[..., dict[str, float]]] = {"trialwise": bench_trialwise}
    mlflow_note = "MLflow not measured (--no-mlflow)"
    if not opts.no_mlflow:
        try:
            import mlflow

            peers["MLflow"] = bench_mlflow
            mlflow_note = f"MLflow {mlflow.__version__}, SQLite tracking store"
            notes.append(f"MLflow's ingest is `log_batch` (1,000 metrics a call) on the last {opts.mlflow_logged} runs "
                         "of each size, into a store already holding the others; those others were created through "
                         "`MlflowClient` and their points written by bulk SQL into MLflow's `metrics` and "
                         "`latest_metrics` tables, the rows `log_batch` writes (checked at start on the same points)")
        except ImportError:
            mlflow_note = "MLflow not importable: not measured"
    if not opts.no_postgres:
        missing = postgres_missing()
        if missing:
            notes.append(f"PostgreSQL skipped: {missing}")
            print(f"PostgreSQL skipped: {missing}", file=sys.stderr)
        else:
            peers["trialwise (PostgreSQL)"] = bench_postgres
            notes.append("trialwise (PostgreSQL): the same store on a throw-away PostgreSQL "
                         f"{_postgres_version()} server on this machine (unix socket, fsync and synchronous_commit "
                         "off: tests/_postgres.py); size is the database's growth over the empty schema")
    first, again = first_touch_s(FIRST_TOUCH_BYTES)
    notes.append(f"the 16 seeds x 100k curves row is read after two warm-up reads; the process's first read is the "
                 f"last row: it also pays the first touch of the frame's fresh memory, which on this VM is slow "
                 f"(numpy.ones of {FIRST_TOUCH_BYTES // 10**6} MB in a fresh process: {first:.2f} s the first time, "
                 f"{again:.3f} s the second)")
    notes.append(f"the 16 seeds x {opts.big_points:,} points experiment is added to the {max(opts.runs):,}-run "
                 "store after its other measures (trialwise only)")
    load_before = os.getloadavg()
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="tw-bench-store-") as tmp:
        if "MLflow" in peers:
            check_mlflow_bulk(Path(tmp), 2_000)
        for runs in opts.runs:
            sizes = Sizes(runs, opts.points, opts.big_points, opts.mlflow_logged)
            for name, fn in peers.items():
                work = Path(tempfile.mkdtemp(prefix=f"{runs}-", dir=tmp))
                start = time.perf_counter()
                kwargs = {"big": runs == max(opts.runs)} if name != "MLflow" else {}
                results.setdefault(str(runs), {})[name] = fn(work, sizes, **kwargs)
                shutil.rmtree(work, ignore_errors=True)
                took = time.perf_counter() - start
                print(f"{runs} runs, {name} ({took:.0f} s):", results[str(runs)][name], flush=True)
    load_after = os.getloadavg()
    out = {"commit": _commit(), "python": platform.python_version(), "machine": f"{platform.machine()} {platform.system()}",
           "cores": os.cpu_count(), "load_average_before": load_before, "load_average_after": load_after,
           "points_per_run": opts.points, "big_points_per_run": opts.big_points, "seeds_per_experiment": SEEDS,
           "mlflow_logged_runs": opts.mlflow_logged, "peers": mlflow_note, "notes": notes, "results": results}
    text = render(out)
    if not opts.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "store.json").write_text(json.dumps(out, indent=2) + "\n")
        (RESULTS / "store.md").write_text(text)
    print(text)


def _commit() -> str:
    """The checkout's commit (short), ``+dirty`` when its ``src/`` differs from it: the code measured."""
    import subprocess

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)

    head = git("rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("+dirty" if git("diff", "--quiet", "HEAD", "--", "src").returncode else "")


def _postgres_version() -> str:
    import subprocess

    from tests import _postgres

    bin_dir = _postgres.find_bin_dir()
    proc = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, text=True)
    words = proc.stdout.split()  # "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    return words[2] if proc.returncode == 0 and len(words) > 2 else "?"


if __name__ == "__main__":
    main()
