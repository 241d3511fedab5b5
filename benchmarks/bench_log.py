"""Cost of ``tw.log`` per call against a bare list append and TensorBoard's ``add_scalar``.

All three run in this one process, interleaved over several repeats; the medians are compared as
ratios (absolute times depend on the machine).  Writes ``results/log.json`` and ``results/log.md``.

Run: ``python benchmarks/bench_log.py``
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

CALLS = 200_000
REPEATS = 7
RESULTS = Path(__file__).parent / "results"


def per_call(fn, calls: int) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn(calls)
    return (time.perf_counter() - start) / calls


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="tw-bench-log-")
    os.environ["TRIALWISE_RUN_DIR"] = os.path.join(tmp, "run")
    os.environ["TRIALWISE_RUN_ID"] = "bench"
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
    try:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(os.path.join(tmp, "tb"))

        def add_scalar(n: int) -> None:
            for i in range(n):
                writer.add_scalar("train_loss", 0.5, i)

        peers["SummaryWriter.add_scalar"] = add_scalar
    except ImportError:
        writer = None
    samples: dict[str, list[float]] = {k: [] for k in peers}
    for _ in range(REPEATS):
        for name, fn in peers.items():
            samples[name].append(per_call(fn, CALLS))
    tw.finish()
    if writer is not None:
        writer.close()
    med = {k: statistics.median(v) for k, v in samples.items()}
    result = {
        "calls_per_repeat": CALLS, "repeats": REPEATS, "python": platform.python_version(),
        "median_seconds_per_call": med,
        "ratio_tw_log_over_list_append": med["tw.log"] / med["list.append"],
        "ratio_add_scalar_over_tw_log": (med["SummaryWriter.add_scalar"] / med["tw.log"]) if writer else None,
        "tw_log_us_per_call": med["tw.log"] * 1e6,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "log.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# `tw.log` cost per call", "",
        f"{CALLS} calls x {REPEATS} interleaved repeats in one process, median per call (Python {result['python']}).", "",
        "| peer | µs per call | ratio to list.append |", "|---|---|---|",
    ]
    for name, value in med.items():
        lines.append(f"| {name} | {value * 1e6:.3f} | {value / med['list.append']:.2f}x |")
    if writer:
        lines += ["", f"`SummaryWriter.add_scalar` costs {result['ratio_add_scalar_over_tw_log']:.1f}x a `tw.log` call."]
    (RESULTS / "log.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
