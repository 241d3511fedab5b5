"""Ray backend against the local backend: per-run overhead for a no-op script, and 8 seeds of a
small CPU training over a two-node local Ray cluster against 8 seeds on the local backend.

On one machine (this one has few cores) the two "nodes" share the same cores, so the second figure
is about the backend's overhead, not a speed-up: a real cluster adds the cores of its nodes.
Writes ``results/ray.json`` and ``results/ray.md``.  Run: ``python benchmarks/bench_ray.py``
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
REPEATS = 3
NOOP = "print('{\"val_acc\": 1}')\n"
WORK = """
import json, os
import numpy as np
a = np.random.default_rng(int(os.environ["TRIALWISE_SEED"])).standard_normal((200, 200))
for _ in range(300):
    a = np.tanh(a @ a.T / 200)
print(json.dumps({"val_acc": float(a[0, 0])}))
"""


def _repo(base: Path, script: str) -> Path:
    base.mkdir(parents=True)
    (base / "train.py").write_text(script)
    (base / ".gitignore").write_text(".trialwise/\n")
    (base / "trialwise.toml").write_text(f'command = "{shlex.quote(sys.executable)} train.py"\nseeds = 1\n')
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run(["git", *args], cwd=base, check=True, capture_output=True, env=env)
    return base


def _run(repo: Path, seeds: int, backend: str, address: str | None, jobs: int | None = None) -> float:
    cmd = [sys.executable, "-m", "trialwise", "--backend", backend, *(["--address", address] if address else []),
           "run", "--rerun", "--seeds", str(seeds), "--json", *(["--jobs", str(jobs)] if jobs else [])]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=repo, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    bare: list[float] = []
    try:
        with tempfile.TemporaryDirectory(prefix="tw-bench-ray-") as tmp:
            noop, work = _repo(Path(tmp) / "noop", NOOP), _repo(Path(tmp) / "work", WORK)
            t: dict[str, list[float]] = {k: [] for k in ("noop_local", "noop_ray", "eight_local", "eight_ray")}
            for _ in range(REPEATS):
                start = time.perf_counter()
                subprocess.run([sys.executable, "train.py"], cwd=noop, check=True, capture_output=True)
                bare.append(time.perf_counter() - start)
                t["noop_local"].append(_run(noop, 1, "local", None))
                t["noop_ray"].append(_run(noop, 1, "ray", cluster.address))
                t["eight_local"].append(_run(work, 8, "local", None, jobs=2))
                t["eight_ray"].append(_run(work, 8, "ray", cluster.address))
    finally:
        cluster.shutdown()
    m = {k: statistics.median(v) for k, v in t.items()}
    m["bare_script"] = statistics.median(bare)
    res = {"machine": {"cores": os.cpu_count(), "python": platform.python_version()}, "seconds": m,
           "ray_overhead_per_run_s": m["noop_ray"] - m["noop_local"],
           "eight_seeds_ray_over_local": m["eight_ray"] / m["eight_local"]}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ray.json").write_text(json.dumps(res, indent=2) + "\n")
    md = f"""# Ray backend against the local backend

{os.cpu_count()} cores, Python {platform.python_version()}; a local two-node Ray cluster (1 CPU each) on this one machine;
medians of {REPEATS}. Produced by `python benchmarks/bench_ray.py`.

| what | local (s) | Ray (s) | Ray / local |
|---|---|---|---|
| `trialwise run` of a no-op script, 1 seed (bare script: {m['bare_script']:.2f} s) | {m['noop_local']:.2f} | {m['noop_ray']:.2f} | {m['noop_ray'] / m['noop_local']:.2f} |
| 8 seeds of a small numpy training (local: `--jobs 2`; Ray: 2 nodes × 1 CPU) | {m['eight_local']:.2f} | {m['eight_ray']:.2f} | {res['eight_seeds_ray_over_local']:.2f} |

The Ray backend adds {res['ray_overhead_per_run_s']:.2f} s to an experiment (connecting to the cluster, scheduling,
disconnecting). Both "nodes" share this machine's cores, so the 8-seed figure measures the backend's
overhead, not a speed-up: on a real cluster each node brings its own cores.
"""
    (RESULTS / "ray.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
