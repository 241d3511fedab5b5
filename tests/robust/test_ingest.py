"""One bad line never breaks a run or the repository (issue 17, item 3).

Each case writes a real run directory, records it into a real SQLite store with the runner's own
``record_run`` and checks: the run has its terminal status, every good value is stored, the bad
item is skipped and named in the run's note. The last test runs a real training script through the
CLI, then ``ls`` — which used to re-crash on such a run forever.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import make_repo
from tests.robust._store_helpers import store_with_experiment
from trialwise.api import _files as F
from trialwise.runner._ingest import MAX_STEP
from trialwise.runner._record import record_run
from trialwise.settings import MetricConfig
from trialwise.store._store import Store

PY = sys.executable
METRIC = MetricConfig(name="acc", direction="max")
DEEP = "[" * 100_000 + "]" * 100_000


def _record(tmp_path: Path, files: dict[str, str | bytes]) -> tuple[Store, str]:
    store, _url = store_with_experiment(tmp_path / "store.db")
    run_id = store.create_run(experiment_id="e1", seed=0)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name, content in files.items():
        path = run_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/"):
            path.mkdir()
            continue
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    record_run(store, run_id, run_dir, METRIC, status="completed", exit_code=0)
    return store, run_id


def _lines(*objs: object) -> str:
    return "".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs)


def _series(store: Store, run_id: str) -> dict[str, list[tuple[int | None, float]]]:
    return {k: list(zip(steps, values)) for k, (steps, values) in store.series(run_id).items()}


def test_int64_step_then_step_less_line(tmp_path: Path) -> None:
    store, run_id = _record(tmp_path, {F.STDOUT_FILE: _lines({"step": MAX_STEP, "acc": 0.1}, {"acc": 0.2}, {"loss": 3})})
    run = store.run(run_id)
    assert run.status == "completed"
    # the step-less records after the last stepped one are summary values, not curve points (issue 15 item 8)
    assert [s for s, _ in _series(store, run_id)["acc"]] == [MAX_STEP]
    assert run.summary["loss"] == 3


def test_lone_surrogate_keys_from_stdout_and_tw_log_files(tmp_path: Path) -> None:
    api = json.dumps({"t": 1.0, "s": [0, 1], "m": [{"\ud800": 1.0, "acc": 0.5}, {"acc": 0.6}]})
    stdout = _lines({"step": 0, "\udc00x": 1, "loss": 2.0})
    store, run_id = _record(tmp_path, {F.METRICS_FILE: api + "\n", F.STDOUT_FILE: stdout})
    run = store.run(run_id)
    assert run.status == "completed"
    assert _series(store, run_id) == {"acc": [(0, 0.5), (1, 0.6)], "loss": [(0, 2.0)]}
    assert "2 metric names that are not valid Unicode" in run.error


def test_config_holding_a_list_and_config_with_bad_keys(tmp_path: Path) -> None:
    store, run_id = _record(tmp_path, {F.CONFIG_FILE: "[1, 2]", F.STDOUT_FILE: _lines({"acc": 0.9})})
    assert store.run(run_id).status == "completed" and store.run(run_id).summary["acc"] == 0.9
    assert "config.json (not a JSON object)" in store.run(run_id).error
    store, run_id = _record(tmp_path / "b", {F.CONFIG_FILE: json.dumps({"\ud800": 1, "lr": 0.1, "x" * 301: 2})})
    assert store.params(run_id) == {"lr": 0.1}
    assert store.run(run_id).status == "completed"


@pytest.mark.parametrize("where", [F.STDOUT_FILE, F.METRICS_FILE, F.CONFIG_FILE, F.SUMMARY_FILE])
def test_a_deeply_nested_line_loses_nothing_else(tmp_path: Path, where: str) -> None:
    api = json.dumps({"t": 1.0, "s": [0], "m": [{"acc": 0.5}]}) + "\n"
    files: dict[str, str | bytes] = {F.METRICS_FILE: api, F.STDOUT_FILE: _lines({"step": 1, "loss": 1.0}),
                                     F.SUMMARY_FILE: json.dumps({"best": 0.7})}
    deep = '{"a": ' + DEEP + "}"
    files[where] = (files.get(where, "") + deep + "\n") if where in (F.STDOUT_FILE, F.METRICS_FILE) else deep
    store, run_id = _record(tmp_path, files)
    run = store.run(run_id)
    assert run.status == "completed"
    series = _series(store, run_id)
    assert series["acc"] == [(0, 0.5)] and series["loss"] == [(1, 1.0)]
    assert run.summary.get("best") == (None if where == F.SUMMARY_FILE else 0.7)


def test_non_numeric_summary_keeps_every_metric(tmp_path: Path) -> None:
    summary = {"acc": "high", "loss": 0.25, "f1": [1, 2], "n": None, "ratio": "0.5"}
    store, run_id = _record(tmp_path, {F.SUMMARY_FILE: json.dumps(summary),
                                       F.STDOUT_FILE: _lines({"step": 0, "acc": 0.9}, {"step": 1, "acc": 0.95})})
    run = store.run(run_id)
    assert run.status == "completed"
    assert len(_series(store, run_id)["acc"]) == 2
    assert run.summary["acc"] == 0.95 and run.summary["loss"] == 0.25 and run.summary["ratio"] == 0.5
    assert "f1" not in run.summary
    assert "2 summary values that are not numbers" in run.error
    store, run_id = _record(tmp_path / "b", {F.SUMMARY_FILE: "[0.5]", F.STDOUT_FILE: _lines({"acc": 0.9})})
    assert store.run(run_id).summary["acc"] == 0.9


def test_an_unreadable_event_source_keeps_the_other_sources(tmp_path: Path) -> None:
    """TensorBoard's reader raises on a directory named like an event file (here the only way to make
    it raise: it skips corrupt records); the stdout metrics must survive it."""
    store, run_id = _record(tmp_path, {"tb/events.out.tfevents.1.host/": "", F.STDOUT_FILE: _lines({"acc": 0.9})})
    assert store.run(run_id).summary["acc"] == 0.9
    assert "tensorboard source (unreadable: IsADirectoryError)" in store.run(run_id).error


def test_a_cut_last_line_is_silent_but_a_bad_complete_line_is_counted(tmp_path: Path) -> None:
    good = json.dumps({"t": 1.0, "s": [0], "m": [{"acc": 0.5}]})
    store, run_id = _record(tmp_path, {F.METRICS_FILE: good + "\n" + good[:10]})
    assert store.run(run_id).error is None
    store, run_id = _record(tmp_path / "b", {F.METRICS_FILE: good + "\n" + '{"t": 1, "s": 3}\n'})
    assert "1 unreadable lines of metrics.jsonl" in store.run(run_id).error


def test_a_run_already_closed_keeps_its_status(tmp_path: Path) -> None:
    store, _url = store_with_experiment(tmp_path / "store.db")
    run_id = store.create_run(experiment_id="e1", seed=0)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / F.STDOUT_FILE).write_text(_lines({"acc": 0.9}))
    record_run(store, run_id, tmp_path / "run", METRIC, status="completed", exit_code=0)
    record_run(store, run_id, tmp_path / "run", METRIC, status="crashed", exit_code=None, error="late recovery")
    run = store.run(run_id)
    assert (run.status, run.error) == ("completed", None)
    assert len(store.metrics([run_id])) == 1  # the second ingestion replaced, not appended


BAD_TRAIN = r'''
import json, sys
import trialwise as tw
tw.init()
print(json.dumps({"step": 9223372036854775807, "acc": 0.1}))
print(json.dumps({"acc": 0.2}))
print('{"\\ud800": 1, "loss": 0.5}')
print('{"a": ' + "[" * 100000 + "]" * 100000 + '}')
tw.config({"\ud800": 1, "lr": 0.1})
tw.summary({"acc": 0.75})
tw.log({"val": 1.0}, step=0)
'''


def test_a_real_run_printing_bad_lines_completes_and_ls_keeps_working(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", f'command = "{PY} train.py"\nseeds = 1\n[metric]\nname = "val"\n',
                     {"train.py": BAD_TRAIN})
    out = repo.tw_json("run")
    (run,) = out["runs"]
    assert run["status"] == "completed", run
    assert run["summary"]["acc"] == 0.75 and run["summary"]["loss"] == 0.5 and run["summary"]["val"] == 1.0
    assert repo.store().params(run["id"]) == {"lr": 0.1}
    listed = repo.tw_json("ls")
    assert listed and repo.tw("ls").returncode == 0


LIVE_TRAIN = r'''
import json, os, time
import trialwise as tw
from trialwise.store import connect
run = tw.init()
print('{"\\ud800": 1, "loss": 0.5}', flush=True)
print(json.dumps({"step": 9223372036854775807, "acc": 0.1}), flush=True)
print(json.dumps({"acc": 0.2}), flush=True)
tw.log({"\ud800x": 1.0, "val": 1.0}, step=0)
store = connect(os.environ["TRIALWISE_STORE"])
deadline = time.monotonic() + 30
while time.monotonic() < deadline and len([p for p in store.metrics([run.id]) if p[1] == "acc"]) < 2:
    time.sleep(0.05)  # until live ingestion stored the lines after the bad ones
seen = len([p for p in store.metrics([run.id]) if p[1] == "acc"])
print(json.dumps({"step": 1, "live_seen": seen}), flush=True)
'''


def test_live_ingestion_skips_bad_lines_and_the_end_stores_each_point_once(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", f'command = "{PY} train.py"\nseeds = 1\n[metric]\nname = "val"\n',
                     {"train.py": LIVE_TRAIN})
    (run,) = repo.tw_json("run", env={"TRIALWISE_LIVE_INTERVAL": "0.1"})["runs"]
    assert run["status"] == "completed", run
    series = repo.store().series(run["id"])
    assert series.pop("live_seen") == ([1], [2.0])  # live ingestion went on past the bad lines
    assert series == {"loss": ([0], [0.5]), "acc": ([MAX_STEP, MAX_STEP], [0.1, 0.2]), "val": ([0], [1.0])}
    assert "2 metric names that are not valid Unicode" in run["error"]
