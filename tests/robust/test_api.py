"""The ``tw.log`` flush thread never dies (issue 17, item 4).

A bad call is refused in the script (``TypeError``/``ValueError`` naming ``tw.log``) or coerced when
written; either way every later point is flushed, and flushed points survive ``kill -9``. The first
test is a real training process under ``trialwise run`` that kills itself with SIGKILL; the fuzzer
drives the public ``tw.log``/``tw.config``/``tw.summary`` in-process and reads the files back with
the runner's own ingestion.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import trialwise as tw
from tests.conftest import make_repo
from tests.robust._strategies import NAME, NUMBER
from trialwise.api import _files as F
from trialwise.runner._ingest import ingest_run_dir, read_api_metrics

PY = sys.executable

KILLED = r'''
import os, signal, time
import trialwise as tw


class BadFloat:
    def __float__(self):
        raise RuntimeError("device lost")


loop = []
loop.append(loop)
run = tw.init()
for i in range(1000):
    tw.log({"good": float(i)}, step=i)
for bad_step in ("ten", 1.5, 2**70, [1]):
    try:
        tw.log({"x": 1.0}, step=bad_step)
    except (TypeError, ValueError) as exc:
        print("refused:", exc, flush=True)
tw.log({("tuple", "key"): 1.0, "obj": object(), "loop": loop, "bad_float": BadFloat(), 7: 7.0, "ok": 2.0}, step=1000)
tw.log({"nested": {1: "a", (2,): "b"}, "ok": 3.0}, step=1001)
for i in range(1002, 2000):
    tw.log({"good": float(i)}, step=i)
# the background thread (not an exit handler) must write the last point; then die like kill -9
path = run.dir / "metrics.jsonl"
deadline = time.monotonic() + 30
while '{"good": 1999.0}' not in path.read_text() and time.monotonic() < deadline:
    time.sleep(0.05)
os.kill(os.getpid(), signal.SIGKILL)
'''


def test_bad_tw_log_calls_never_stop_flushing_and_points_survive_kill_9(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", f'command = "{PY} train.py"\nseeds = 1\n[metric]\nname = "good"\n',
                     {"train.py": KILLED})
    out = repo.tw_json("run", check=False)
    (run,) = out["runs"]
    assert run["status"] == "crashed" and "SIGKILL" in (run["error"] or "")
    series = repo.store().series(run["id"])
    assert series["good"] == (list(range(1000)) + list(range(1002, 2000)), [float(i) for i in range(2000) if i not in (1000, 1001)])
    assert series["ok"] == ([1000, 1001], [2.0, 3.0])
    assert series["('tuple', 'key')"] == ([1000], [1.0]) and series["7"] == ([1000], [7.0])
    assert "x" not in series  # every bad step was refused at the call
    stdout = (Path(run["run_dir"]) / F.STDOUT_FILE).read_text()
    assert stdout.count("refused: tw.log(..., step=") == 4


class _Raises:
    def __float__(self) -> float:
        raise ZeroDivisionError


def _circular() -> list[object]:
    loop: list[object] = []
    loop.append(loop)
    return loop


WEIRD_KEY = st.one_of(NAME, st.integers(), st.floats(), st.none(), st.booleans(), st.tuples(st.integers()),
                      st.builds(object), st.builds(_Raises))
WEIRD_VALUE = st.one_of(NUMBER, st.text(max_size=5), st.lists(NUMBER, max_size=3), st.builds(object),
                        st.builds(_Raises), st.builds(_circular), st.dictionaries(st.integers(), NUMBER, max_size=2),
                        st.integers().map(lambda i: __import__("numpy").int64(i % 2**62)),
                        st.floats(width=32).map(lambda f: __import__("numpy").float32(f)))
WEIRD_STEP = st.one_of(st.none(), st.integers(), st.sampled_from([2**63 - 1, 2**63, -(2**63)]), st.floats(),
                       st.text(max_size=3), st.booleans(), st.integers().map(lambda i: __import__("numpy").int32(i % 2**31)))


@pytest.fixture
def run_dir(monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = Path(tempfile.mkdtemp())
    monkeypatch.setenv(F.ENV_RUN_DIR, str(directory))
    monkeypatch.setenv(F.ENV_RUN_ID, "fuzz")
    return directory


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.lists(st.tuples(st.dictionaries(WEIRD_KEY, WEIRD_VALUE, max_size=4), WEIRD_STEP), max_size=4),
       config=st.dictionaries(WEIRD_KEY, WEIRD_VALUE, max_size=3), summary=st.dictionaries(WEIRD_KEY, WEIRD_VALUE, max_size=3))
@example(calls=[({"a": 1.0}, "x")], config={}, summary={})
@example(calls=[({("t",): 1.0}, None)], config={1: 2, "a": {1: 2, "b": 3}}, summary={(1,): 2.0})
def test_any_tw_call_is_refused_clearly_or_written(run_dir: Path, calls: list[tuple[dict[object, object], object]],
                                                   config: dict[object, object], summary: dict[object, object]) -> None:
    for name in (F.METRICS_FILE, F.CONFIG_FILE, F.SUMMARY_FILE):
        (run_dir / name).unlink(missing_ok=True)
    run = tw.init()
    try:
        for metrics, step in calls:
            try:
                tw.log(metrics, step=step)  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:
                assert str(exc).startswith("tw.log(")
        for call, name, values in ((tw.config, "tw.config(", config), (tw.summary, "tw.summary(", summary)):
            try:
                call(values)
            except ValueError as exc:  # a circular value: said at the call
                assert str(exc).startswith(name)
        tw.log({"sentinel": 1.0})
        run.flush()  # what the thread runs: it must not raise whatever the batch held
        assert run._thread.is_alive()
    finally:
        tw.finish()
    points = read_api_metrics(run_dir)
    assert [p[2] for p in points if p[0] == "sentinel"] == [1.0]
    data = ingest_run_dir(run_dir)
    assert isinstance(data.config, dict) and all(isinstance(v, float) for v in data.summary.values())


def test_summary_values_that_are_not_numbers_are_nan(run_dir: Path) -> None:
    run = tw.init()
    try:
        tw.summary({"acc": 0.9, "bad": _Raises(), 3: 1.0})
    finally:
        tw.finish()
    stored = json.loads((run.dir / F.SUMMARY_FILE).read_text())
    assert stored["acc"] == 0.9 and stored["3"] == 1.0 and stored["bad"] is None
    assert math.isnan(ingest_run_dir(run.dir).summary["bad"])
