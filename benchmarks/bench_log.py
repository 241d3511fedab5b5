"""Cost of ``tw.log`` per call against a bare list append and TensorBoard's ``add_scalar``.

The cyclic garbage collector stays on (as in training), and each scenario runs in its own process
so that the heap differs: **trialwise only**, and **a heap holding torch** (``import torch``: some
10^5 live objects for every full collection to walk, what a training script has; TensorBoard's
``SummaryWriter`` is measured there).  Within a process the peers run interleaved over several
repeats; the medians are compared as ratios (absolute times depend on the machine and its load).

Writes ``results/log.json`` and ``results/log.md``.

Run: ``python benchmarks/bench_log.py``
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CALLS = 200_000
REPEATS = 7
RESULTS = Path(__file__).parent / "results"
SCENARIOS = {"trialwise only": "bare", "heap holding torch": "torch"}


def per_call(fn, calls: int) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn(calls)
    return (time.perf_counter() - start) / calls


def measure(heap: str) -> dict[str, object]:
    """The peers' median seconds per call in this process, with ``heap`` loaded first."""
    tmp = tempfile.mkdtemp(prefix="tw-bench-log-")
    os.environ["TRIALWISE_RUN_DIR"] = os.path.join(tmp, "run")
    os.environ["TRIALWISE_RUN_ID"] = "bench"
    if heap == "torch":
        import torch  # noqa: F401
    import trialwise as tw

    tw.init()
    sink: list[object] = []

    def bare_append(n: int) -> None:
        append = sink.append
        for i in range(n):
            append({"train_loss": 0.5})
        sink.clear()

    def tw_log(n: int) -> None:
        log = tw.log
        for i in range(n):
            log({"train_loss": 0.5}, step=i)

    peers = {"list.append": bare_append, "tw.log": tw_log}
    writer = None
    if heap == "torch":
        try:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(os.path.join(tmp, "tb"))

            def add_scalar(n: int) -> None:
                for i in range(n):
                    writer.add_scalar("train_loss", 0.5, i)

            peers["SummaryWriter.add_scalar"] = add_scalar
        except ImportError:
            pass
    samples: dict[str, list[float]] = {k: [] for k in peers}
    for _ in range(REPEATS):
        for name, fn in peers.items():
            samples[name].append(per_call(fn, CALLS))
    tw.finish()
    if writer is not None:
        writer.close()
    return {"gc_enabled": gc.isenabled(), "live_objects": len(gc.get_objects()),
            "median_seconds_per_call": {k: statistics.median(v) for k, v in samples.items()}}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--heap":
        print(json.dumps(measure(sys.argv[2])))
        return
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, *filter(None, [os.environ.get("PYTHONPATH")])])}
    load_before = os.getloadavg()
    scenarios = {}
    for label, heap in SCENARIOS.items():
        out = subprocess.run([sys.executable, __file__, "--heap", heap], check=True, capture_output=True, text=True,
                             env=env).stdout
        scenarios[label] = json.loads(out.strip().splitlines()[-1])
    load_after = os.getloadavg()
    for s in scenarios.values():
        med = s["median_seconds_per_call"]
        s["ratio_tw_log_over_list_append"] = med["tw.log"] / med["list.append"]
        if "SummaryWriter.add_scalar" in med:
            s["ratio_add_scalar_over_tw_log"] = med["SummaryWriter.add_scalar"] / med["tw.log"]
    result = {"calls_per_repeat": CALLS, "repeats": REPEATS, "python": platform.python_version(),
              "cores": os.cpu_count(), "load_average_before": load_before, "load_average_after": load_after,
              "scenarios": scenarios}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "log.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# `tw.log` cost per call", "",
        f"{CALLS} calls x {REPEATS} interleaved repeats per process, median per call, garbage collector on "
        f"(Python {result['python']}, {os.cpu_count()} cores, load average {load_before[0]:.1f} before and "
        f"{load_after[0]:.1f} after). Target: `tw.log` <= 3x `list.append` in both heaps.", "",
        "| heap | live objects | peer | µs per call | ratio to list.append |", "|---|---|---|---|---|",
    ]
    for label, s in scenarios.items():
        med = s["median_seconds_per_call"]
        for name, value in med.items():
            lines.append(f"| {label} | {s['live_objects']:,} | {name} | {value * 1e6:.3f} | "
                         f"{value / med['list.append']:.2f}x |")
    for label, s in scenarios.items():
        if "ratio_add_scalar_over_tw_log" in s:
            lines += ["", f"`SummaryWriter.add_scalar` costs {s['ratio_add_scalar_over_tw_log']:.1f}x a `tw.log` "
                      f"call ({label})."]
    lines += ["", "Each `tw.log` call adds its step and a copy of its metrics to the buffer in one `deque.extend`; "
              "no per-call container outlives the call (a dict of numbers is not tracked by the collector), so a "
              "large heap does not make it slower. Keeping a `(step, dict)` tuple per call until the flush cost "
              "5.7x `list.append` with only trialwise loaded and 14x on a heap holding torch (issue 16)."]
    (RESULTS / "log.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
