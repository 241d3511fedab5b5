"""Property-based fuzzing of run directories (issue 17, item 3): whatever the files hold — stdout
JSON lines, ``metrics.jsonl`` records, ``config.json``, ``summary.json`` — recording the run never
raises, the run gets its terminal status, and every good value next to the bad ones is stored.

Every example is recorded into a real SQLite store with the runner's own ``record_run``.
"""

from __future__ import annotations

import json
import math
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.robust._store_helpers import store_with_experiment
from tests.robust._strategies import DEEP, DEEP_TEXT, JSON, NAME, NUMBER, dumps
from trialwise.api import _files as F
from trialwise.runner._record import record_run
from trialwise.settings import MetricConfig
from trialwise.store._store import Store

METRIC = MetricConfig(name="sentinel_metric", direction="max")
FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

LINE = st.one_of(
    st.dictionaries(NAME, NUMBER, max_size=4).map(dumps),       # flat metric records
    st.dictionaries(NAME, JSON, max_size=3).map(dumps),         # anything JSON
    st.dictionaries(NAME, NUMBER, max_size=3).map(repr),        # Python dict reprs
    st.text(max_size=30), DEEP, st.just("{" * 500),
)
API_LINE = st.one_of(
    st.builds(lambda t, s, m: dumps({"t": t, "s": s, "m": m}), NUMBER,
              st.lists(NUMBER, max_size=3), st.lists(st.dictionaries(NAME, NUMBER, max_size=3), max_size=3)),
    JSON.map(dumps), DEEP, st.text(max_size=20),
)
OBJECT_FILE = st.one_of(st.dictionaries(NAME, JSON, max_size=4).map(dumps), JSON.map(dumps),
                        DEEP, st.binary(max_size=20).map(lambda b: b.decode("latin-1")))


def _good_name(key: object) -> bool:
    return (isinstance(key, str) and 0 < len(key) <= 300 and "\x00" not in key
            and not any(0xD800 <= ord(c) <= 0xDFFF for c in key) and not key.startswith("sentinel"))


@pytest.fixture(scope="module")
def store() -> Store:
    directory = Path(tempfile.mkdtemp())
    return store_with_experiment(directory / "store.db")[0]


def _record(store: Store, files: dict[str, str]) -> str:
    run_id = store.create_run(experiment_id="e1", seed=0)
    run_dir = Path(tempfile.mkdtemp()) / uuid.uuid4().hex
    run_dir.mkdir()
    for name, text in files.items():
        (run_dir / name).write_text(text, encoding="utf-8", errors="surrogatepass")
    record_run(store, run_id, run_dir, METRIC, status="completed", exit_code=0)
    return run_id


@FUZZ
@given(lines=st.lists(LINE, max_size=8), api=st.lists(API_LINE, max_size=4), config=OBJECT_FILE,
       summary=st.dictionaries(NAME, NUMBER, max_size=4), sentinels=st.integers(1, 3))
@example(lines=[dumps({"step": 2**63 - 1}), dumps({"a": 1})], api=[], config="{}", summary={}, sentinels=1)
@example(lines=[dumps({"\ud800": 1})], api=[dumps({"t": 1, "s": [0], "m": [{"\udfff": 2}]})], config='{"\\ud800": 1}',
         summary={"\ud800": 1.0}, sentinels=1)
@example(lines=[], api=[dumps({"t": 10**400, "s": [0], "m": [{"a": 0}]})], config="{}", summary={}, sentinels=1)
@example(lines=[DEEP_TEXT], api=[DEEP_TEXT], config="[1, 2]", summary={"acc": "high"}, sentinels=2)  # type: ignore[dict-item]
def test_any_run_directory_is_recorded(store: Store, lines: list[str], api: list[str], config: str,
                                       summary: dict[str, object], sentinels: int) -> None:
    sentinel_api = dumps({"t": 1.0, "s": list(range(sentinels)), "m": [{"sentinel_api": 1.0}] * sentinels})
    stdout = lines + [dumps({"sentinel_stdout": 2.0})] * sentinels
    files = {
        F.STDOUT_FILE: "\n".join(stdout) + "\n",
        F.METRICS_FILE: "\n".join([*api, sentinel_api]) + "\n",
        F.CONFIG_FILE: config,
        F.SUMMARY_FILE: dumps({**summary, "sentinel_summary": 3.0}),
    }
    run_id = _record(store, files)
    run = store.run(run_id)
    assert run.status == "completed"
    series = store.series(run_id)
    assert series["sentinel_api"][1] == [1.0] * sentinels  # never a whole-run loss
    # trailing step-less records are summary values, not curve points (issue 15 item 8): either way kept
    assert series.get("sentinel_stdout", ([], [2.0] * sentinels))[1] == [2.0] * sentinels
    assert run.summary["sentinel_stdout"] == 2.0
    assert run.summary["sentinel_summary"] == 3.0
    for key, value in summary.items():  # every good summary value next to the bad ones is kept
        if _good_name(key) and isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e308:
            stored = run.summary[key]
            assert stored == float(value) or (math.isnan(stored) and math.isnan(float(value)))
    api_keys = {k for line in api for row in _rows(line) for k in row}
    for line in lines:  # every good flat record on stdout is stored (unless tw.log had the series)
        obj = _flat(line)
        for key, value in obj.items():
            if _good_name(key) and key not in api_keys and key not in ("step", "global_step", "iteration", "iter") \
                    and isinstance(value, (int, float)) and not isinstance(value, bool):
                assert key in series or key in run.summary, (key, line)
    store.runs("e1")  # the repository stays readable


def _flat(line: str) -> dict[str, object]:
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return {}
    return obj if isinstance(obj, dict) else {}


def _rows(line: str) -> list[dict[str, object]]:
    obj = _flat(line)
    rows = obj.get("m") if isinstance(obj.get("s"), list) else None
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
