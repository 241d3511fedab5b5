"""Cost of live ingestion to the training: step time of a run logging 10,000 points/s through
``tw.log``, under ``trialwise run`` with live ingestion every 2 s against with it off
(``TRIALWISE_LIVE_INTERVAL=0``: everything is read when the run ends).

The script does a fixed amount of numpy work per step and measures its own steps; the ratio of
median step times is the cost (1.00 = none).  The runner reads in its own process, so on a machine
with idle cores the cost is near zero; on 2 busy cores it is the CPU the runner takes.  Writes
``results/live.json`` and ``results/live.md``.  Run: ``python benchmarks/bench_live.py``
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
REPEATS = 3
STEPS = 1500
KEYS = 10
TARGET_POINTS_PER_S = 10_000

TRAIN = f"""
import json, os, time
import numpy as np
import trialwise as tw
rng = np.random.default_rng(0)
a = rng.standard_normal((96, 96))
times = []
period = {KEYS} / {TARGET_POINTS_PER_S}
for step in range({STEPS}):
    t0 = time.perf_counter()
    for _ in range(6):
        a = np.tanh(a @ a.T / 96)
    tw.log({{f"m{{k}}": float(a[k, k]) for k in range({KEYS})}}, step=step)
    took = time.perf_counter() - t0
    times.append(took)
    if took < period:
        time.sleep(period - took)
tw.summary(step_ms=1000 * float(np.median(times)), val_acc=1.0)
"""


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


def _step_ms(repo: Path, interval: str) -> float:
    env = {**os.environ, "TRIALWISE_LIVE_INTERVAL": interval}
    out = subprocess.run([sys.executable, "-m", "trialwise", "run", "--rerun", "--seeds", "1", "--json"], cwd=repo,
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["runs"][0]["summary"]["step_ms"]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tw-bench-live-") as tmp:
        repo = Path(tmp)
        (repo / "train.py").write_text(TRAIN)
        (repo / ".gitignore").write_text(".trialwise/\n")
        (repo / "trialwise.toml").write_text(f'command = "{sys.executable} train.py"\nseeds = 1\n')
        _git(repo, "init", "-q")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", "bench")
        off, on = [], []
        for _ in range(REPEATS):
            off.append(_step_ms(repo, "0"))
            on.append(_step_ms(repo, "2"))
    res = {"machine": {"cores": os.cpu_count(), "python": platform.python_version()},
           "points_per_s": TARGET_POINTS_PER_S, "steps": STEPS,
           "step_ms_live_off": statistics.median(off), "step_ms_live_on": statistics.median(on)}
    res["ratio"] = res["step_ms_live_on"] / res["step_ms_live_off"]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "live.json").write_text(json.dumps(res, indent=2) + "\n")
    md = f"""# Live ingestion: cost to the training

A run logging {TARGET_POINTS_PER_S:,} points/s ({KEYS} metrics per step) through `tw.log` for {STEPS:,} steps,
under `trialwise run`, {os.cpu_count()} cores, Python {platform.python_version()}; medians of {REPEATS} runs each.
Produced by `python benchmarks/bench_live.py`.

| live ingestion | median step time (ms) | ratio |
|---|---|---|
| off (`TRIALWISE_LIVE_INTERVAL=0`, all read at the end) | {res['step_ms_live_off']:.3f} | 1.00 |
| on (every 2 s, the default) | {res['step_ms_live_on']:.3f} | {res['ratio']:.2f} |
"""
    (RESULTS / "live.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
