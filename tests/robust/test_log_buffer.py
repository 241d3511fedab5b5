"""``tw.log``'s buffer holds nothing the cyclic garbage collector must walk, and pairs every step
with its metrics even when several threads log at once."""

from __future__ import annotations

import gc
import tempfile
import threading
from pathlib import Path

import pytest

import trialwise as tw
from trialwise.api import _files as F
from trialwise.runner._ingest import read_api_metrics

CALLS = 5_000


@pytest.fixture
def run_dir(monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = Path(tempfile.mkdtemp())
    monkeypatch.setenv(F.ENV_RUN_DIR, str(directory))
    monkeypatch.setenv(F.ENV_RUN_ID, "buffer")
    return directory


def test_logged_numbers_leave_no_gc_tracked_object_until_the_flush(run_dir: Path) -> None:
    run = tw.init()
    try:
        with run._lock:  # the flush thread waits: everything logged stays in the buffer
            before = len(gc.get_objects())
            for i in range(CALLS):
                tw.log({"loss": 1.0 / (i + 1), "lr": 0.1}, step=i)
            grown = len(gc.get_objects()) - before
            assert grown < CALLS // 10, grown  # a (step, dict) tuple per call would add CALLS tracked objects
            assert not any(gc.is_tracked(item) for item in run._buffer)
    finally:
        tw.finish()
    points = read_api_metrics(run_dir)
    assert [p[1] for p in points if p[0] == "loss"] == list(range(CALLS))


def test_threads_logging_at_once_keep_each_step_with_its_metrics(run_dir: Path) -> None:
    run = tw.init()
    threads = 4
    start = threading.Barrier(threads)

    def worker(k: int) -> None:
        start.wait()
        for i in range(CALLS):
            tw.log({"who": float(k), "i": float(i)}, step=k * 1_000_000 + i)

    try:
        pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    finally:
        tw.finish()
    points = read_api_metrics(run.dir)
    who = {p[1]: p[2] for p in points if p[0] == "who"}
    index = {p[1]: p[2] for p in points if p[0] == "i"}
    assert len(who) == len(index) == threads * CALLS
    assert all(value == step // 1_000_000 for step, value in who.items())
    assert all(value == step % 1_000_000 for step, value in index.items())
