"""Metric points stored as packed chunks (store/_points.py): what goes in comes back, in step order,
through the tuple API and the numpy columns alike, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from tests.robust._store_helpers import store_with_experiment
from trialwise.store import _points
from trialwise.store import _schema as S
from trialwise.store._points import STEP_NONE, pack, unpack

POINT = st.tuples(
    st.sampled_from(["loss", "acc", "val/loss"]),
    st.one_of(st.none(), st.integers(-(2**62), 2**62), st.integers(0, 5)),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5)),
    st.one_of(st.none(), st.floats(0, 2e9)),
    st.sampled_from(["api", "stdout"]),
)


def _expected(batches: list[list[tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
    """The documented order: by key, then step (a point without one first); within a step, as
    stored: each call's points of one key and source together, in the order the call first named
    them, calls in order."""
    stored = []
    for batch in batches:
        groups: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        for p in batch:
            groups.setdefault((p[0], p[4]), []).append(p)
        stored += [p for group in groups.values() for p in group]
    stored.sort(key=lambda p: (p[0], p[1] is not None, p[1] or 0))  # stable
    return [(p[0], p[1], float(p[2]), p[3]) for p in stored]


def _by_series(points: list[tuple[Any, ...]]) -> dict[tuple[Any, Any], list[tuple[Any, ...]]]:
    """``(key, source)`` -> its points ``(step, value, time)`` in order."""
    out: dict[tuple[Any, Any], list[tuple[Any, ...]]] = {}
    for key, step, value, t, source in points:
        out.setdefault((key, source), []).append(("nan" if value != value else value, step, t))
    return out


def _same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    def norm(p: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple("nan" if isinstance(x, float) and math.isnan(x) else x for x in p)

    return [norm(p) for p in a] == [norm(p) for p in b]


@given(st.lists(POINT, max_size=60))
def test_pack_then_unpack_keeps_every_point_in_step_order(points: list[tuple[Any, ...]]) -> None:
    got = []
    for c in pack(points):
        s = unpack([(c.n, c.steps, c.values, c.times)])
        got += [(c.key, st_, v, t, c.source) for st_, v, t in zip(s.step_list(), s.values, s.time_list())]
    in_step_order = sorted(points, key=lambda p: (p[1] is not None, p[1] or 0))  # stable
    assert _by_series(got) == _by_series([(k, s, float(v), t, src) for k, s, v, t, src in in_step_order])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(POINT, max_size=30), min_size=1, max_size=4))
def test_the_store_returns_what_it_was_given_through_both_apis(tmp_path_factory: pytest.TempPathFactory,
                                                               batches: list[list[tuple[Any, ...]]]) -> None:
    store, _url = store_with_experiment(tmp_path_factory.mktemp("s") / "store.db")
    rid = store.create_run(experiment_id="e1", seed=0)
    for batch in batches:  # several calls: several chunks per key, as live ingestion stores them
        store.add_metrics(rid, batch)
    everything = [p for batch in batches for p in batch]
    want = _expected(batches)
    got = store.metrics([rid])
    assert _same([p[1:] for p in got], want)
    cols = store.metric_columns([rid])
    exact = [None if s == STEP_NONE else s for s in cols.step.tolist()]
    assert _same([(cols.keys[k], s, v, None if t != t else t)
                  for k, s, v, t in zip(cols.key, exact, cols.value, cols.time)], want)
    frame = cols.frame()  # a step column with a missing step is float64: NaN, and steps rounded past 2**53
    steps = [s for _k, s, _v, _t in want]
    assert [None if s != s else s for s in frame.step] == [
        None if s is None else (float(s) if None in steps else s) for s in steps]
    assert list(frame.key) == [k for k, _s, _v, _t in want] and list(frame.run_id) == [rid] * len(want)
    table = cols.table()  # Arrow: exact steps, null where none
    assert table.column("step").to_pylist() == steps and table.column("key").to_pylist() == list(frame.key)
    store.compact_metrics(rid)  # one chunk per key and source: each series' points in the same order
    assert len(store.metrics([rid])) == len(want)
    with store._read() as conn:
        rows = conn.execute(select(S.metric_chunks.c.key, S.metric_chunks.c.source, S.metric_chunks.c.n,
                                   S.metric_chunks.c.steps, S.metric_chunks.c.vals, S.metric_chunks.c.times)
                            .where(S.metric_chunks.c.run_id == rid)).all()
    assert len(rows) == len({(r.key, r.source) for r in rows}) == len({(p[0], p[4]) for p in everything})
    got = []
    for r in rows:
        one = unpack([(r.n, r.steps, r.vals, r.times)])
        got += [(r.key, s, v, t, r.source) for s, v, t in zip(one.step_list(), one.values, one.time_list())]
    in_step_order = sorted(everything, key=lambda p: (p[1] is not None, p[1] or 0))  # stable
    assert _by_series(got) == _by_series([(k, s, float(v), t, src) for k, s, v, t, src in in_step_order])


def test_a_series_longer_than_a_chunk_is_split_and_read_back_whole(store_url: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_points, "MAX_CHUNK_POINTS", 7)
    store, _ = store_with_experiment(store_url)
    rid = store.create_run(experiment_id="e1", seed=0)
    store.add_metrics(rid, [("loss", i, 1.0 / (i + 1), None, "api") for i in range(30)])
    store.add_metrics(rid, [("loss", 30 + i, 0.0, 5.0, "api") for i in range(10)])
    with store._read() as conn:
        assert conn.execute(select(func.count()).select_from(S.metric_chunks)).scalar_one() == 5 + 2
    assert store.compact_metrics(rid) == 7 - 6  # 40 points: ceil(40 / 7) chunks once merged
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert store.compact_metrics(rid) == 0  # compact already: its points' bytes are not even read
    assert statements and not any("steps" in sql for sql in statements)
    steps, values = store.series(rid)["loss"]
    assert steps == list(range(40)) and values[:2] == [1.0, 0.5] and values[30:] == [0.0] * 10
    assert [p[4] for p in store.metrics([rid])] == [None] * 30 + [5.0] * 10


def test_columns_of_many_runs_carry_each_runs_values(store_url: str) -> None:
    store, _ = store_with_experiment(store_url)
    ids = [store.create_run(experiment_id="e1", seed=s) for s in range(3)]
    for seed, rid in enumerate(ids):
        store.add_metrics(rid, [("loss", i, seed + i / 10, None, "api") for i in range(4)]
                          + [("acc", None, 0.5 + seed, 1.0, "stdout")])
    cols = store.metric_columns(ids[::-1], keys=["loss"])
    frame = cols.frame({"seed": [2, 1, 0]})
    assert len(frame) == 12 and set(frame.key) == {"loss"} and frame.step.dtype == np.int64
    for rid, seed in zip(ids, range(3)):
        part = frame[frame.run_id == rid]
        assert list(part.seed) == [seed] * 4 and list(part.value) == [seed + i / 10 for i in range(4)]
    with_acc = store.metric_columns(ids).frame()
    assert with_acc.step.isna().sum() == 3  # a point without a step: NaN in a float step column
    assert (store.metric_columns(ids).step == STEP_NONE).sum() == 3
    assert store.metric_columns([]).frame().empty
    by_run = store.series_by_run(ids, keys=["loss"])
    assert by_run == {rid: {"loss": store.series(rid)["loss"]} for rid in ids}
    assert store.series(rid)["acc"] == ([None], [2.5])
