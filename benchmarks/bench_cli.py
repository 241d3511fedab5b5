"""How long users wait for the commands they type, each against its reference in the same run.

Every row is a fresh process timed from launch (wall clock, median of ``REPEATS`` runs interleaved
across rows, after one warm-up so that bytecode and the on-disk caches exist, as after the first
command of an install):

- ``python -c pass``: the interpreter alone, the floor under every row.
- ``trialwise --help``.
- ``trialwise ls`` and ``trialwise show`` in a small repository (2 experiments x 5 seeds), and at
  1,000 runs (100 experiments x 10 seeds, ``POINTS`` metric points per run, built through the
  store API).
- ``trialwise compare A B`` on stored experiments.
- ``trialwise compare A B --until-decided`` until its first seed starts (the seed's script writes
  the time it started): with the sequential design cached on disk, and once with an empty cache
  (the design simulated, what the first such command of an install or of new parameters costs).
- ``trialwise run`` of a no-op script (1 seed, ``--rerun``) against the bare script.

The trialwise measured is this checkout's ``src`` (``--src`` names another tree, e.g. an older
commit's, for a before/after).  The load average is noted: on a shared machine the figures move
with it, the ratios less.

Writes ``results/cli.json`` and ``results/cli.md`` (``--out`` elsewhere).
Run: ``python benchmarks/bench_cli.py``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
REPEATS = 7
"""Timed runs per row (the median is reported)."""
POINTS = 10_000
"""Metric points per run of the 1,000-run store (the issue's "1,000 runs x 10k points")."""
BIG_EXPERIMENTS, BIG_SEEDS = 100, 10
SMALL_SEEDS = 5
GIT_ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}

TRAIN = """
import os, sys, time
stamp = os.environ.get("BENCH_STARTED")
if stamp:
    with open(stamp, "a") as fh:
        fh.write(f"{time.time()}\\n")
import json, random
seed = int(os.environ["TRIALWISE_SEED"])
effect = float(open("effect.txt").read())
print(json.dumps({"step": 1, "val_acc": 0.8 + effect + random.Random(seed).gauss(0, 0.01)}))
"""
NOOP = 'print(\'{"val_acc": 0.5}\')\n'

PER_RUN_SEEDS = 8
"""Seeds of the no-op run whose time per run is measured: the command's start-up (imports, config,
store) is paid once per command, each seed adds its worktree, claim, launch and record."""

TARGETS = {
    "trialwise --help": "ahead already: keep",
    "trialwise ls (1,000 runs)": "<= 0.4 s",
    "trialwise show (1,000-run store)": "<= 0.4 s",
    "trialwise compare": "<= 1 s",
    "compare --until-decided, to first seed": "<= 1 s",
    "trialwise run (no-op), over the bare script": "<= 0.3 s over",
    f"run --seeds {PER_RUN_SEEDS} --jobs 1 (no-op), per run, over the bare script": "<= 0.3 s over",
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def _repo(path: Path, config: str, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    _git(path, "init", "--quiet", "--initial-branch", "main")
    (path / "trialwise.toml").write_text(config)
    (path / ".gitignore").write_text(".trialwise/\n__pycache__/\n")
    for name, text in files.items():
        (path / name).write_text(text)
    _git(path, "add", "-A")
    _git(path, "commit", "--quiet", "-m", "initial")
    return path


def _branch(repo: Path, name: str, effect: float) -> None:
    _git(repo, "checkout", "--quiet", "-b", name, "main")
    (repo / "effect.txt").write_text(str(effect))
    _git(repo, "commit", "--quiet", "-am", f"effect {effect}")
    _git(repo, "checkout", "--quiet", "main")


class Bench:
    def __init__(self, src: Path, work: Path) -> None:
        self.cache = work / "cache"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [env.get("PYTHONPATH")])])
        env["TRIALWISE_CACHE_DIR"] = str(self.cache)
        env["COLUMNS"] = "200"
        self.env = env
        self.cpu = 0.0

    @staticmethod
    def tw(*args: str) -> list[str]:
        return [sys.executable, "-m", "trialwise", *args]

    def time(self, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
        """Wall seconds of ``argv``; its CPU seconds (user + system, children included) go to ``self.cpu``."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, env={**self.env, **(env or {})}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        took = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
        return took

    def per_run(self, argv: list[str], cwd: Path, runs: int) -> float:
        """:meth:`time` of ``argv``, which runs ``runs`` seeds one after another, per run (wall and CPU)."""
        took = self.time(argv, cwd) / runs
        self.cpu /= runs
        return took

    def first_seed(self, argv: list[str], cwd: Path, stamp: Path, env: dict[str, str] | None = None) -> float:
        """Seconds from launching ``argv`` to the first seed's script starting (it appends to ``stamp``)."""
        stamp.unlink(missing_ok=True)
        start = time.time()
        self.time(argv, cwd, {**(env or {}), "BENCH_STARTED": str(stamp)})
        return float(stamp.read_text().split()[0]) - start


def _populate(src: Path, repo: Path) -> str:
    """100 experiments x 10 seeds with ``POINTS`` points each, through the store API; returns one
    experiment's id."""
    sys.path.insert(0, str(src))
    from trialwise import open_store
    from trialwise.store._records import Experiment

    store = open_store(repo)
    first = None
    for e in range(BIG_EXPERIMENTS):
        exp = Experiment(id=f"big{e:05d}", name=f"exp-{e}", kind="run", commit_sha=f"{e:040x}", ref=None, branch=None,
                         command=["python", "train.py"], launch={}, profile=None, mode=None, metric_name="val_acc",
                         metric_direction="max", dirty=False, tag=None, created_at=1e9 + e)
        store.upsert_experiment(exp)
        first = first or exp.id
        for seed in range(BIG_SEEDS):
            run_id = store.create_run(experiment_id=exp.id, seed=seed, started_at=1e9 + e, env_hash="env",
                                      metric_version="mv", command=["python", "train.py"])
            store.add_metrics(run_id, [("val_acc", i, 0.5 + i * 1e-6, 1e9 + i, "tw.log") for i in range(POINTS)])
            store.set_summary(run_id, {"val_acc": 0.5 + seed * 1e-3})
            store.set_terminal_status(run_id, "completed", exit_code=0, ended_at=1e9 + e + 1)
    store.close()
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src",
                        help="The trialwise source tree to measure (default: this checkout's).")
    parser.add_argument("--out", type=Path, default=RESULTS, help="Where cli.json and cli.md go.")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--points", type=int, default=POINTS, help="Metric points per run of the 1,000-run store.")
    parser.add_argument("--before", type=Path, help="A cli.json of another tree (e.g. an older commit, measured with "
                        "--src): its medians are shown next to these.")
    parser.add_argument("--before-label", help="What --before measured, in words (default: its --src path).")
    parser.add_argument("--render", type=Path, help="Only write cli.md (and cli.json, with --before) from this cli.json.")
    opts = parser.parse_args()
    if opts.render:
        result = json.loads(opts.render.read_text())
        if opts.before:
            _attach_before(result, opts.before, opts.before_label)
        _write(result, opts.out)
        return
    globals()["POINTS"] = opts.points
    work = Path(tempfile.mkdtemp(prefix="tw-bench-cli-"))
    try:
        measure(opts, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the 1,000-run store is ~1 GB


def measure(opts: argparse.Namespace, work: Path) -> None:
    load_before = os.getloadavg()
    bench = Bench(opts.src.resolve(), work)
    py = sys.executable
    small = _repo(work / "small", f'command = "{py} train.py"\nseeds = {SMALL_SEEDS}\n[metric]\nname = "val_acc"\n',
                  {"train.py": TRAIN, "effect.txt": "0.0"})
    _branch(small, "feat", 0.3)
    seq = _repo(work / "seq", f'command = "{py} train.py"\nseeds = 3\n[metric]\nname = "val_acc"\n',
                {"train.py": TRAIN, "effect.txt": "0.0"})
    noop = _repo(work / "noop", f'command = "{py} noop.py"\nseeds = 1\n[metric]\nname = "val_acc"\n', {"noop.py": NOOP})
    big = _repo(work / "big", f'command = "{py} train.py"\n[metric]\nname = "val_acc"\n', {"train.py": TRAIN})
    t0 = time.perf_counter()
    big_id = _populate(opts.src.resolve(), big)
    populate_s = time.perf_counter() - t0
    tw = bench.tw
    for ref in ("main", "feat"):
        bench.time(tw("run", "--ref", ref), small)
    bench.time(tw("run"), seq)
    stamp = work / "started.txt"
    counter = iter(range(10_000))

    def until_decided(env: dict[str, str] | None = None) -> float:
        i = next(counter)  # a new candidate each time (its own repo: ls above stays 2 experiments)
        _branch(seq, f"cand-{i}", 0.3 + i * 1e-6)  # d = 30: stops at the second look
        return bench.first_seed(tw("compare", "main", f"cand-{i}", "--until-decided", "--json"), seq, stamp, env)

    rows: dict[str, tuple[Callable[[], float], str | None]] = {
        "python -c pass": (lambda: bench.time([py, "-c", "pass"], small), None),
        "trialwise --help": (lambda: bench.time(tw("--help"), small), "python -c pass"),
        "trialwise ls (small repo)": (lambda: bench.time(tw("ls"), small), "python -c pass"),
        "trialwise show (small repo)": (lambda: bench.time(tw("show", "main"), small), "python -c pass"),
        "trialwise ls (1,000 runs)": (lambda: bench.time(tw("ls"), big), "python -c pass"),
        "trialwise show (1,000-run store)": (lambda: bench.time(tw("show", big_id), big), "python -c pass"),
        "trialwise compare": (lambda: bench.time(tw("compare", "main", "feat"), small), "python -c pass"),
        "compare --until-decided, to first seed": (until_decided, "python -c pass"),
        "bare no-op script": (lambda: bench.time([py, "noop.py"], noop), None),
        "trialwise run (no-op), over the bare script": (
            lambda: bench.time(tw("run", "--rerun"), noop), "bare no-op script"),
        f"run --seeds {PER_RUN_SEEDS} --jobs 1 (no-op), per run, over the bare script": (
            lambda: bench.per_run(tw("run", "--rerun", "--seeds", str(PER_RUN_SEEDS), "--jobs", "1"), noop,
                                  PER_RUN_SEEDS), "bare no-op script"),
    }
    for fn, _ in rows.values():  # warm-up: bytecode, the design and fingerprint caches, the OS file cache
        fn()
    samples: dict[str, list[float]] = {name: [] for name in rows}
    cpu: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(opts.repeats):
        for name, (fn, _) in rows.items():
            samples[name].append(fn())
            cpu[name].append(bench.cpu)
    cold_cache = {"TRIALWISE_CACHE_DIR": str(work / "empty-cache")}
    cold = until_decided(cold_cache)
    load_after = os.getloadavg()

    med = {k: statistics.median(v) for k, v in samples.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    table = []
    for name, (_, ref) in rows.items():
        row = {"command": name, "median_s": med[name], "min_s": min(samples[name]), "samples_s": samples[name],
               "cpu_median_s": med_cpu[name], "reference": ref, "target": TARGETS.get(name)}
        if ref:
            row.update(reference_s=med[ref], over_reference_s=med[name] - med[ref], ratio=med[name] / med[ref],
                       cpu_over_reference_s=med_cpu[name] - med_cpu[ref])
        table.append(row)
    result = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "load_average_before": load_before, "load_average_after": load_after},
        "src": str(opts.src), "repeats": opts.repeats, "rows": table,
        "until_decided_first_seed_design_not_cached_s": cold,
        "big_store": {"experiments": BIG_EXPERIMENTS, "runs": BIG_EXPERIMENTS * BIG_SEEDS, "points_per_run": POINTS,
                      "populate_s": populate_s},
    }
    if opts.before:
        _attach_before(result, opts.before, opts.before_label)
    _write(result, opts.out)


def _attach_before(result: dict[str, Any], path: Path, label: str | None) -> None:
    """Put the rows of another tree's ``cli.json`` next to these (shown as the "before" columns)."""
    old = json.loads(path.read_text())
    result["before"] = {"src": label or old["src"], "load_average_before": old["machine"]["load_average_before"],
                        "rows": {r["command"]: {"median_s": r["median_s"], "cpu_median_s": r.get("cpu_median_s")}
                                 for r in old["rows"]},
                        "until_decided_first_seed_design_not_cached_s":
                            old["until_decided_first_seed_design_not_cached_s"]}


def _write(result: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "cli.json").write_text(json.dumps(result, indent=2) + "\n")
    text = render(result)
    (out / "cli.md").write_text(text)
    print(text)


def render(result: dict[str, Any]) -> str:
    """``cli.md`` from a ``cli.json``."""
    machine, before = result["machine"], result.get("before")
    lines = [
        "# Start-up of the commands users wait on", "",
        f"Wall clock from launch, median of {result['repeats']} interleaved runs after a warm-up (Python "
        f"{machine['python']}, {machine['cores']} cores, load average {machine['load_average_before'][0]:.1f} "
        f"before and {machine['load_average_after'][0]:.1f} after: a shared machine, so wall figures move with the "
        "load; the CPU columns (user + system seconds of the process and its children, from `getrusage`) move "
        "much less).", "",
        "| command | median s | reference | reference s | over reference s | ratio | CPU s | CPU over reference s "
        "| target |" + (" before: median s | before: CPU s |" if before else ""),
        "|---|---|---|---|---|---|---|---|---|" + ("---|---|" if before else ""),
    ]
    for row in result["rows"]:
        ref = row["reference"]
        line = (f"| {row['command']} | {row['median_s']:.3f} | {ref or '—'} | "
                + (f"{row['reference_s']:.3f} | {row['over_reference_s']:+.3f} | {row['ratio']:.1f}x"
                   if ref else "— | — | —") + f" | {row['cpu_median_s']:.3f} | "
                + (f"{row['cpu_over_reference_s']:+.3f}" if ref else "—") + f" | {row['target'] or '—'} |")
        if before:
            was = before["rows"].get(row["command"], {})
            line += "".join(f" {was[k]:.3f} |" if was.get(k) is not None else " — |" for k in ("median_s", "cpu_median_s"))
        lines.append(line)
    if before:
        lines += ["", f"**before**: the same rows measured on {before['src']} (load average "
                  f"{before['load_average_before'][0]:.1f}); there the first seed of `--until-decided` with an empty "
                  f"cache came after {before['until_decided_first_seed_design_not_cached_s']:.2f} s."]
    big = result["big_store"]
    lines += [
        "",
        "The CPU of `compare --until-decided` is the whole command's (its seeds included), not to the first seed.",
        "",
        "`compare --until-decided` with an empty cache (the sequential design simulated, as in the first such "
        f"command of an install or of new design parameters): first seed after "
        f"**{result['until_decided_first_seed_design_not_cached_s']:.2f} s**; with the design cached on disk: the "
        "row above.",
        "",
        f"The 1,000-run store: {big['experiments']} experiments x {big['runs'] // big['experiments']} seeds x "
        f"{big['points_per_run']:,} points per run, built through the store API in {big['populate_s']:.0f} s. "
        f"Small repo: 2 experiments x {SMALL_SEEDS} seeds.",
    ]
    return "\n".join(lines) + "\n"

if __name__ == "__main__":
    main()
