"""Per-run isolation cost and parallel efficiency on CPU, measured with the real runner.

1. **Worktree per run** on a repository of 10,000 files: ``git worktree add`` + outputs kept +
   ``worktree remove``, against what every run pays anyway (starting Python and importing torch),
   and against the cheapest isolated copy (``git archive | tar -x``).
2. **Parallel efficiency** of 2 seeds on this machine's cores: a small PyTorch training run twice
   one after the other (``--jobs 1``), then 2 at once with every run using all cores (what happened
   before runs got a share: ``OMP_NUM_THREADS`` = cores), then 2 at once with trialwise's share.
   Efficiency = sequential time / parallel time (2.0 is perfect for 2 runs).

Writes ``results/runs.json`` and ``results/runs.md``.  Run: ``python benchmarks/bench_runs.py``
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
FILES = 10_000
REPEATS = 5
PARALLEL_REPEATS = 3
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}

TRAIN = """
import json, os, torch
torch.manual_seed(int(os.environ["TRIALWISE_SEED"]))
x = torch.randn(2048, 512)
w1, w2 = torch.randn(512, 512, requires_grad=True), torch.randn(512, 10, requires_grad=True)
opt = torch.optim.SGD([w1, w2], lr=1e-3)
y = torch.randint(0, 10, (2048,))
for step in range(60):
    loss = torch.nn.functional.cross_entropy(torch.relu(x @ w1) @ w2, y)
    opt.zero_grad(); loss.backward(); opt.step()
print(json.dumps({"step": step, "val_acc": float(-loss)}))
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=GIT_ENV)


def _repo(base: Path, files: int) -> Path:
    repo = base / "repo"
    repo.mkdir(parents=True)
    for i in range(files):
        p = repo / f"pkg{i % 100}" / f"mod{i}.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"X = {i}\n")
    (repo / "train.py").write_text(TRAIN)
    (repo / ".gitignore").write_text(".trialwise/\n")
    (repo / "trialwise.toml").write_text(f'command = "{sys.executable} train.py"\nseeds = 2\n')
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "bench")
    return repo


def _time(fn) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def worktree_cost(repo: Path) -> dict[str, float]:
    from trialwise.provenance import Worktree, git
    from trialwise.runner._outputs import keep_outputs

    sha = git(repo, "rev-parse", "HEAD").strip()
    run_dir = repo / ".trialwise" / "bench-run"

    def per_run() -> None:
        with Worktree(repo, sha) as wt:
            (wt.path / "ckpt.pt").write_bytes(b"0" * 1024)
            keep_outputs(wt.path, run_dir, ("*",), (), 100.0)

    def archive() -> None:
        with tempfile.TemporaryDirectory() as d:
            subprocess.run(f"git archive {sha} | tar -x -C {d}", shell=True, cwd=repo, check=True)

    def python_torch() -> None:
        subprocess.run([sys.executable, "-c", "import torch"], check=True)

    times = {"worktree_per_run_s": [], "git_archive_s": [], "python_import_torch_s": []}
    for _ in range(REPEATS):
        times["worktree_per_run_s"].append(_time(per_run))
        times["git_archive_s"].append(_time(archive))
        times["python_import_torch_s"].append(_time(python_torch))
    return {k: statistics.median(v) for k, v in times.items()}


def _run(repo: Path, jobs: int, env: dict[str, str]) -> float:
    cmd = [sys.executable, "-m", "trialwise", "run", "--rerun", "--jobs", str(jobs), "--json"]
    return _time(lambda: subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True))


def parallel(repo: Path) -> dict[str, float]:
    cores = os.cpu_count() or 1
    base = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    all_cores = {**base, "OMP_NUM_THREADS": str(cores), "MKL_NUM_THREADS": str(cores)}
    times: dict[str, list[float]] = {"sequential_s": [], "parallel_all_cores_each_s": [], "parallel_shared_s": []}
    for _ in range(PARALLEL_REPEATS):
        times["sequential_s"].append(_run(repo, 1, base))
        times["parallel_all_cores_each_s"].append(_run(repo, 2, all_cores))
        times["parallel_shared_s"].append(_run(repo, 2, base))
    med = {k: statistics.median(v) for k, v in times.items()}
    med["efficiency_before"] = med["sequential_s"] / med["parallel_all_cores_each_s"]
    med["efficiency_after"] = med["sequential_s"] / med["parallel_shared_s"]
    return med


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tw-bench-runs-") as tmp:
        repo = _repo(Path(tmp), FILES)
        wt = worktree_cost(repo)
        small = _repo(Path(tmp) / "small", 0)
        par = parallel(small)
    result = {"machine": {"python": platform.python_version(), "cores": os.cpu_count(), "platform": platform.platform()},
              "files": FILES, "worktree": wt,
              "worktree_over_torch_import": wt["worktree_per_run_s"] / wt["python_import_torch_s"],
              "worktree_over_git_archive": wt["worktree_per_run_s"] / wt["git_archive_s"], "parallel": par}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "runs.json").write_text(json.dumps(result, indent=2) + "\n")
    md = f"""# Per-run isolation and parallel efficiency

Machine: {result['machine']['cores']} cores, Python {result['machine']['python']}, {result['machine']['platform']}.
Produced by `python benchmarks/bench_runs.py` (medians of {REPEATS} / {PARALLEL_REPEATS} repeats).

## A worktree per run, on a repository of {FILES:,} files

| per run | seconds | ratio |
|---|---|---|
| `git worktree add` + keep outputs + `worktree remove` | {wt['worktree_per_run_s']:.3f} | 1.00 |
| `git archive \\| tar -x` (cheapest isolated copy, no git metadata) | {wt['git_archive_s']:.3f} | {wt['git_archive_s'] / wt['worktree_per_run_s']:.2f} |
| `python -c "import torch"` (what every run pays anyway) | {wt['python_import_torch_s']:.3f} | {wt['python_import_torch_s'] / wt['worktree_per_run_s']:.2f} |

A worktree per run costs {result['worktree_over_torch_import']:.2f}× a bare torch import and
{result['worktree_over_git_archive']:.2f}× an archive extraction; it keeps `git` working inside the run (scripts
that read their own commit) and is what trialwise uses.

## 2 seeds on {result['machine']['cores']} cores (small PyTorch MLP training, CPU)

| how | wall seconds | efficiency (sequential / parallel; 2.0 = perfect) |
|---|---|---|
| one after the other (`--jobs 1`) | {par['sequential_s']:.2f} | 1.00 |
| 2 at once, each with every core's threads (before) | {par['parallel_all_cores_each_s']:.2f} | {par['efficiency_before']:.2f} |
| 2 at once, each with its share (`OMP_NUM_THREADS` = cores / 2, after) | {par['parallel_shared_s']:.2f} | {par['efficiency_after']:.2f} |
"""
    (RESULTS / "runs.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
