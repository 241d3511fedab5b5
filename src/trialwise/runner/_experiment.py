"""Run N seeds of an experiment from an exact commit (patterns #1, #4, #5, #10).

:func:`run_experiment` resolves the ref, refuses a dirty tree (unless allowed, then the patch is
recorded and applied), checks the commit out into a detached worktree, computes the metric version
and the environment fingerprint, reuses seeds already completed under the same conditions, runs
the rest through a :class:`~trialwise.runner.Backend`, and records everything in the store.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import shlex
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from trialwise._exceptions import GitError, UsageError
from trialwise.api import _files as F
from trialwise.settings import CONFIG_FILE, ArgsEnv, Config, config_text_at, parse_config
from trialwise.settings._checks import MAX_SEEDS, param_name_problem
from trialwise.settings._model import DEFAULT_LINK_EXCLUDES
from trialwise.provenance import (
    Worktree,
    dirty_patch,
    dirty_state,
    diff_fingerprints,
    environment_fingerprint,
    interpreter_of,
    git,
    ignored_top_level,
    metric_version,
    resolve_ref,
    check_tag_name,
    tag_commit,
)
from trialwise.runner._backend import Backend, Observer, Task, TaskResult
from trialwise.runner._capture import capture_hints
from trialwise.runner._live import LiveRun, live_interval
from trialwise.runner._outputs import keep_outputs, prune_stale_worktrees
from trialwise.runner._record import missing_ignored_path_hint, pid_alive, read_tail, record_run, recover_stale_runs
from trialwise.runner._vars import expand_vars
from trialwise.store import STORE_ENV
from trialwise.store._records import Experiment, Run
from trialwise.store._store import Store

RUNS_DIR = Path(".trialwise") / "runs"
PATCHES_DIR = Path(".trialwise") / "patches"


@dataclass(frozen=True)
class LaunchSpec:
    """What the user asked to run."""

    root: Path
    config: Config
    command: Sequence[str] = ()
    ref: str = "HEAD"
    profile: str | None = None
    mode: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    seeds: Sequence[int] | None = None
    n_seeds: int | None = None
    allow_dirty: bool = False
    rerun: bool = False
    tag: str | None = None
    timeout: float | None = None
    kind: str = "run"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    batch: str | None = None
    """Makes a separate experiment of an otherwise identical launch (each baseline re-run)."""
    label: str | None = None
    """Readable start of the experiment's name instead of the branch or ref (e.g. a sweep's
    ``study#trial``); not part of the experiment's identity."""


@dataclass(frozen=True)
class ExperimentResult:
    """The experiment and its runs after execution; ``reused`` lists run ids taken from the store."""

    experiment: Experiment
    runs: list[Run]
    reused: list[str]
    interrupted: bool
    hints: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What the capture found wrong: the metric not captured, seeds that produced identical runs."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment.to_dict(), "runs": [r.to_dict() for r in self.runs],
            "reused": self.reused, "interrupted": self.interrupted, "hints": self.hints,
            "warnings": self.warnings,
        }


def _section(config: Config, kind: str, name: str | None) -> ArgsEnv | None:
    if name is None:
        return None
    table = config.profiles if kind == "profile" else config.modes
    if name not in table:
        known = ", ".join(sorted(table)) or "none configured"
        raise UsageError(f"unknown {kind} '{name}' (known: {known}); define [{kind}s.{name}] in trialwise.toml")
    return table[name]


def param_args(config: Config, values: Mapping[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Arguments and environment that carry hyperparameter ``values`` to the script (``[params]``)."""
    args: list[str] = []
    env: dict[str, str] = {}
    for name, value in values.items():
        text = json.dumps(value) if isinstance(value, bool) else str(value)
        # quoted, so a value with spaces or quotes stays one argument after shlex.split
        if name in config.params.map:
            args += shlex.split(config.params.map[name].format(name=name, value=shlex.quote(text)))
        elif config.params.via == "env":
            env[f"{config.params.env_prefix}{name.upper()}"] = text
        else:
            args += shlex.split(config.params.template.format(name=name, value=shlex.quote(text)))
    return args, env


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["lr=1e-3", "opt=adam"]`` → ``{"lr": 0.001, "opt": "adam"}`` (numbers parsed)."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--set expects NAME=VALUE, got '{item}'")
        key, raw = item.split("=", 1)
        key = key.strip()
        why = param_name_problem(key)
        if why:
            raise UsageError(f"--set '{item}': the name '{key}' {why}; a name is one word such as lr or "
                             "model.lr (quote the whole NAME=VALUE for a value with spaces: --set 'msg=a b')")
        if "\x00" in raw:
            raise UsageError(f"--set {key}=...: the value contains a NUL character, which no argument can carry")
        value: Any = raw
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        out[key] = value
    return out


def parse_seed_list(text: str) -> list[int]:
    """``"0,3,7"`` → ``[0, 3, 7]``; anything else is a :class:`UsageError` saying what is wrong."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    try:
        seeds = [int(t) for t in items]
    except ValueError:
        raise UsageError(f"--seed-list expects comma-separated non-negative integers such as 0,3,7; got '{text}'") from None
    return _checked_seeds(seeds)


def _checked_seeds(seeds: Sequence[int]) -> list[int]:
    seeds = list(seeds)
    if not seeds:
        raise UsageError("no seeds to run: give --seeds N (N >= 1) or a non-empty --seed-list")
    if len(seeds) > MAX_SEEDS:
        raise UsageError(f"{len(seeds):,} seeds is more than the {MAX_SEEDS:,} one experiment may run")
    if any(s < 0 or s > F.MAX_STEP for s in seeds):
        raise UsageError(f"seeds must be non-negative integers below 2**63; got {', '.join(map(str, seeds))[:200]}")
    counts = Counter(seeds)
    duplicated = sorted(s for s, n in counts.items() if n > 1)
    if duplicated:
        raise UsageError(f"seed(s) {', '.join(map(str, duplicated))} given twice; each seed runs once "
                         "(use --rerun to run a completed seed again)")
    return seeds


@dataclass(frozen=True)
class Prepared:
    """A spec resolved against the repository: the experiment to run and how."""

    spec: LaunchSpec
    experiment: Experiment
    argv: list[str]
    env: dict[str, str]
    seeds: list[int]
    patch: str | None
    links: list[str]
    config: Config
    """The configuration that runs: the ref's own ``trialwise.toml`` (see :func:`config_for`)."""
    config_source: str
    """``commit`` (the ref's file), ``checkout`` (the commit has none) or ``working copy`` (dirty run)."""
    config_differs: bool
    """The configuration that runs differs from the checkout's ``trialwise.toml``."""


CONFIG_SOURCES = {
    "commit": "the trialwise.toml committed at the ref",
    "checkout": "the checkout's trialwise.toml (the ref has none committed)",
    "working copy": "the working copy's trialwise.toml (uncommitted changes run with --allow-dirty)",
}
"""What each value of :attr:`Prepared.config_source` means, in words for the user."""


def config_for(spec: LaunchSpec, sha: str, dirty: bool) -> tuple[Config, str]:
    """The configuration of the commit that runs, and where it came from.

    A branch whose change is in ``trialwise.toml`` (the command's flags, a profile, the metric) must
    run with that file, not the checkout's: otherwise the comparison tests nothing (issue 11 §1)."""
    if dirty:
        return spec.config, "working copy"
    text = config_text_at(spec.root, sha)
    if text is None:
        return spec.config, "checkout"
    return parse_config(text, f"{CONFIG_FILE} at commit {sha[:8]}"), "commit"


def _links(config: Config, root: Path) -> list[str]:
    link = config.worktree.link
    if link == "auto":
        return [p for p in ignored_top_level(root) if p not in DEFAULT_LINK_EXCLUDES and not p.endswith(".egg-info")]
    return [p.rstrip("/") for p in link]


def prepare(spec: LaunchSpec) -> Prepared:
    """Resolve ref, dirty state, configuration, command and identity of the experiment (no side effects)."""
    if spec.tag:
        check_tag_name(spec.root, spec.tag)
    commit = resolve_ref(spec.root, spec.ref)
    patch = None
    if spec.ref == "HEAD":
        state = dirty_state(spec.root)
        if not state.clean:
            if not spec.allow_dirty:
                raise GitError(
                    "the working tree is dirty; an experiment must run from a commit so it can be "
                    "repeated (pattern #4):\n" + state.describe() + "\nCommit (or stash) these changes, "
                    "add build outputs to .gitignore, or pass --allow-dirty to record the patch and "
                    "mark the runs dirty (dirty runs are excluded from decisions)."
                )
            patch = dirty_patch(spec.root)
    cfg, config_source = config_for(spec, commit.sha, patch is not None)
    command = list(spec.command) or (shlex.split(cfg.command) if cfg.command else [])
    if not command:
        raise UsageError(
            "no training command: pass one after '--' (trialwise run -- python train.py) "
            "or set `command` in trialwise.toml"
        )
    profile = _section(cfg, "profile", spec.profile)
    mode = _section(cfg, "mode", spec.mode)
    values: dict[str, Any] = {}
    extra_args: list[str] = []
    env: dict[str, str] = {}
    for section in (profile, mode):
        if section is not None:
            extra_args += list(section.args)
            env.update(section.env)
            values.update(section.set)
    values.update(spec.overrides)
    p_args, p_env = param_args(cfg, values)
    env.update(p_env)
    env.update(spec.extra_env)
    argv = command + extra_args + p_args
    launch = {
        "base_command": command, "workdir": cfg.workdir, "profile": spec.profile, "mode": spec.mode,
        "profile_def": profile.model_dump() if profile else None, "mode_def": mode.model_dump() if mode else None,
        "set": dict(values), "overrides": dict(spec.overrides), "extra_env": dict(spec.extra_env), "env": env, "patch": hashlib.sha256(patch.encode()).hexdigest()[:16] if patch else None,
        "seed_param": cfg.params.seed,
    }
    if spec.batch:
        launch["batch"] = spec.batch
    key = json.dumps({"commit": commit.sha, "argv": argv, "launch": launch}, sort_keys=True, default=str)
    exp_id = hashlib.sha256(key.encode()).hexdigest()[:12]
    # recorded with the launch, outside the identity: the same command from the same commit is the same experiment
    launch["config_source"] = config_source
    launch["metric"] = cfg.metric.model_dump()
    # a ref that is (a prefix of) the commit id itself names it by its short id
    names_sha = commit.ref == "HEAD" or commit.sha.startswith(commit.ref.lower())
    label = spec.label or commit.branch or (commit.sha[:8] if names_sha else commit.ref)
    name = f"{label}@{commit.sha[:8]}" + "".join(f"/{x}" for x in (spec.profile, spec.mode) if x)
    if spec.extra_env:
        name += "{" + ",".join(f"{k}={v}" for k, v in sorted(spec.extra_env.items())) + "}"
    if values:
        name += "[" + ",".join(f"{k}={v}" for k, v in sorted(values.items())) + "]"
    if patch:
        name += "+dirty"
    experiment = Experiment(
        id=exp_id, name=name, kind=spec.kind, commit_sha=commit.sha, ref=spec.ref, branch=commit.branch,
        command=argv, launch=launch, profile=spec.profile, mode=spec.mode, metric_name=cfg.metric.name,
        metric_direction=cfg.metric.direction, dirty=patch is not None, tag=spec.tag, created_at=time.time(),
    )
    if spec.seeds is None and spec.n_seeds is not None and spec.n_seeds < 1:
        raise UsageError(f"--seeds must be at least 1 (pattern #1: several seeds); got {spec.n_seeds}")
    if spec.seeds is None and spec.n_seeds is not None and spec.n_seeds > MAX_SEEDS:
        raise UsageError(f"--seeds {spec.n_seeds:,} is more than the {MAX_SEEDS:,} one experiment may run "
                         "(a decision needs a few to a few dozen)")
    seeds = _checked_seeds(spec.seeds) if spec.seeds else list(range(spec.n_seeds or cfg.seeds))
    return Prepared(spec, experiment, argv, env, seeds, patch, _links(cfg, spec.root), cfg, config_source,
                    cfg != spec.config)


def spec_for_experiment(exp: Experiment, root: Path, config: Config, **changes: Any) -> LaunchSpec:
    """A :class:`LaunchSpec` that runs more seeds of the stored experiment ``exp`` (same commit,
    command, profile, mode and overrides), so its id, and with it seed reuse, stays the same."""
    if exp.dirty:
        raise UsageError(
            f"experiment {exp.id} ran uncommitted changes (--allow-dirty) and cannot be repeated; "
            "commit the change and run it again"
        )
    launch = exp.launch
    base = dict(
        root=root, config=config, command=tuple(launch.get("base_command") or exp.command), ref=exp.commit_sha,
        profile=exp.profile, mode=exp.mode, overrides=launch.get("overrides", {}),
        kind=exp.kind, extra_env=launch.get("extra_env", {}), batch=launch.get("batch"),
    )
    base.update(changes)
    return LaunchSpec(**base)


def _seed_argv(prepared: Prepared, seed: int) -> list[str]:
    template = prepared.config.params.seed
    return prepared.argv + (shlex.split(template.format(name="seed", value=seed)) if template else [])


FRAMEWORK_SEED_ENV = ("PL_GLOBAL_SEED",)
"""Seed variables frameworks read themselves (Lightning's ``seed_everything()`` without an
argument), set to each run's seed so a script that seeds through them varies (issue 11 §4)."""


def _rerun_reason(store: Store, exp: Experiment, seed: int, mv: str, env_hash: str,
                  fingerprint: dict[str, Any]) -> str | None:
    """Why a seed completed before in this experiment is run again: what changed in the reuse key."""
    done = [r for r in store.runs(exp.id, status="completed") if r.seed == seed]
    if not done:
        return None
    old = max(done, key=lambda r: r.ended_at or 0)
    if old.dirty:
        return "the earlier run was dirty (uncommitted changes are never reused)"
    parts = []
    if old.metric_version != mv:
        parts.append(f"metric version {old.metric_version} → {mv} (validation data or evaluation code changed)")
    if old.env_hash != env_hash:
        before = store.environment(old.env_hash) if old.env_hash else None
        diffs = diff_fingerprints(before or {}, fingerprint) if before else []
        shown = [f"{item} {a or '—'} → {b or '—'}" for item, a, b in diffs if item not in ("host", "user", "cpu_count")]
        more = f" and {len(shown) - REASON_ITEMS_SHOWN} more" if len(shown) > REASON_ITEMS_SHOWN else ""
        parts.append("environment: " + (", ".join(shown[:REASON_ITEMS_SHOWN]) + more if shown else "changed"))
    return "; ".join(parts) or None


REASON_ITEMS_SHOWN = 3
"""Changed environment items named when a seed is not reused (the rest are counted)."""


def _task_env(prep: Prepared, store: Store, run_id: str, run_dir: Path, seed: int) -> dict[str, str]:
    spec = prep.spec
    env = {
        **os.environ, **prep.env, "PYTHONUNBUFFERED": "1",
        F.ENV_RUN_ID: run_id, F.ENV_RUN_DIR: str(run_dir), F.ENV_SEED: str(seed),
        F.ENV_PROFILE: spec.profile or "", F.ENV_MODE: spec.mode or "", STORE_ENV: store.url,
    }
    for name in FRAMEWORK_SEED_ENV:
        if name not in prep.env:
            env[name] = str(seed)
    return env


def _claim(store: Store, exp: Experiment, seed: int, mv: Any, env_hash: str, *, reuse: bool) -> Any:
    """The store's atomic find-or-create of ``seed``'s run; a ``running`` run whose process is gone
    (a runner killed earlier) is recovered first, then claimed again."""
    values = dict(host=socket.gethostname(), user=getpass.getuser(), metric_files=mv.files, dirty=exp.dirty,
                  started_at=time.time(), pid=os.getpid())
    claim = store.claim_run(exp.id, seed, metric_version=mv.hash, env_hash=env_hash, reuse=reuse, **values)
    if claim.outcome == "running" and claim.run is not None and claim.run.host == values["host"] and \
            (claim.run.pid is None or not pid_alive(claim.run.pid)):
        recover_stale_runs(store, exp_metric(exp))
        claim = store.claim_run(exp.id, seed, metric_version=mv.hash, env_hash=env_hash, reuse=reuse, **values)
    return claim


def exp_metric(exp: Experiment) -> Any:
    """The :class:`~trialwise.settings.MetricConfig` an experiment was launched with."""
    from trialwise.settings import MetricConfig

    stored = exp.launch.get("metric") if isinstance(exp.launch, dict) else None
    try:
        return MetricConfig.model_validate(stored) if stored else MetricConfig(name=exp.metric_name or "val_acc",
                                                                               direction=exp.metric_direction or "max")
    except ValueError:
        return MetricConfig()


def run_experiment(spec: LaunchSpec, store: Store, backend: Backend, observer: Observer | None = None,
                   prepared: Prepared | None = None) -> ExperimentResult:
    """Run (or reuse) every seed of the experiment ``spec`` describes and record it.

    Each run gets its own worktree of the commit; as each run ends, what it wrote there is kept
    under its run directory (``[worktree] keep``), its files are ingested and its worktree removed.
    ``prepared`` is :func:`prepare` of this ``spec`` when the caller has it already (the live
    display needs the seeds and name first): its git queries are not made twice."""
    observer = observer or Observer()
    if prepared is not None and prepared.spec is not spec:
        raise ValueError("run_experiment: 'prepared' must be prepare(spec) of the same spec")
    prep = prepared or prepare(spec)
    root = spec.root
    cfg = prep.config
    exp = store.upsert_experiment(replace(prep.experiment, tag=None))
    if prep.config_differs:
        observer.note(f"configuration: {CONFIG_SOURCES[prep.config_source]} (it differs from the checkout's)")
    if spec.tag:
        tag_commit(root, exp.commit_sha, spec.tag)
        if not exp.tag:  # stored only once git made the tag: a stored tag always names a real ref
            store.set_experiment_tag(exp.id, spec.tag)
            exp = replace(exp, tag=spec.tag)
    patch_file = None
    if prep.patch is not None:
        patch_file = root / PATCHES_DIR / f"{exp.id}.patch"
        patch_file.parent.mkdir(parents=True, exist_ok=True)
        patch_file.write_text(prep.patch, encoding="utf-8")
        store.add_artifact("dirty.patch", "patch", str(patch_file), experiment_id=exp.id)
    fingerprint = environment_fingerprint(interpreter_of(prep.argv, root / cfg.workdir))
    env_hash = store.put_environment(fingerprint)
    reused: list[str] = []
    worktrees: list[Worktree] = []

    def checkout() -> Worktree:
        wt = Worktree(root, exp.commit_sha, prep.links, keep=cfg.worktree.keep_worktree).__enter__()
        worktrees.append(wt)
        for warning in wt.warnings if len(worktrees) == 1 else ():
            observer.note(warning)
        if patch_file is not None:
            git(wt.path, "apply", "--whitespace=nowarn", str(patch_file))
        return wt

    prune_stale_worktrees(root)
    try:
        probe = checkout()
        mv = metric_version(cfg.metric, probe.path)
        tasks: list[Task] = []
        where: dict[str, Worktree] = {}
        for seed in prep.seeds:
            claim = _claim(store, exp, seed, mv, env_hash, reuse=not spec.rerun)
            if claim.outcome == "reused":
                reused.append(claim.run_id)
                observer.reused(seed, claim.run_id)
                continue
            if claim.outcome == "running":
                observer.note(f"seed {seed} is being run by another trialwise command (run {claim.run_id}, "
                              f"pid {claim.run.pid if claim.run else '?'}); it is not started twice")
                continue
            if not spec.rerun:
                reason = _rerun_reason(store, exp, seed, mv.hash, env_hash, fingerprint)
                if reason:
                    observer.note(f"seed {seed} runs again: {reason}")
            run_id = claim.run_id
            run_dir = (root / RUNS_DIR / run_id).resolve()
            wt = probe if not where else checkout()
            where[run_id] = wt
            wt.assign(run_dir=str(run_dir), keep=list(cfg.worktree.keep), discard=list(cfg.worktree.discard),
                      max_keep_mb=cfg.worktree.max_keep_mb, links=prep.links)
            env = _task_env(prep, store, run_id, run_dir, seed)
            argv = expand_vars(_seed_argv(prep, seed), env)
            store.update_run(run_id, run_dir=str(run_dir), command=argv)
            tasks.append(Task(run_id, seed, argv, wt.path / cfg.workdir, env, run_dir,
                              spec.timeout or cfg.timeout, cfg.gpus_per_run, cfg.resources.threads))
        finisher = _Finisher(store, cfg, prep, where, root)
        results = backend.run(tasks, _Recording(store, observer, finisher)) if tasks else []
        for task, res in zip(tasks, results):
            finisher.finish(task, res)  # a backend that did not report it as it ended
    finally:
        for wt in worktrees:
            wt.__exit__(None, None, None)
    counted = set(reused) | {t.run_id for t in tasks}
    runs = [r for r in store.runs(exp.id) if r.id in counted]
    warnings = [] if backend.interrupted else capture_hints(store, exp, runs)
    return ExperimentResult(exp, runs, reused, backend.interrupted, finisher.hints, warnings)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until a run is saved (its outputs kept, all its points stored,
    its status closed), then act: a stop in the middle would leave half a run (issue 17 item 6).

    Python runs signal handlers in the main thread, so the handlers are swapped for one that only
    notes the signal; the noted signal is re-delivered to the previous handler afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: noted.append(signum)) for sig in DEFERRED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if noted:
            handler = previous[noted[0]]
            if callable(handler):
                handler(noted[0], None)
            elif handler == signal.SIG_DFL:
                raise KeyboardInterrupt


DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Signals held back while a finished run is saved."""


class _Finisher:
    """Closes one run as soon as it ends: keeps its outputs, ingests it, removes its worktree."""

    def __init__(self, store: Store, cfg: Config, prep: Prepared, where: dict[str, Worktree], root: Path) -> None:
        self.store, self.cfg, self.prep, self.where, self.root = store, cfg, prep, where, root
        self.done: set[str] = set()
        self.hints: list[str] = []
        self.live: dict[str, LiveRun] = {}
        self._next_live = 0.0
        self.interval = live_interval()

    def started(self, task: Task, pid: int | None) -> None:
        wt = self.where[task.run_id]
        if pid is not None:
            wt.assign(child=pid)
        if self.interval:
            self.live[task.run_id] = LiveRun(task.run_id, task.run_dir, [wt.path])

    def ingest_live(self, observer: Observer) -> None:
        """Every :func:`live_interval` seconds, store what the running runs appended (issue 12 §1)."""
        if not self.interval or time.monotonic() < self._next_live:
            return
        self._next_live = time.monotonic() + self.interval
        for run_id, live in list(self.live.items()):
            try:
                if live.ingest(self.store):
                    observer.progress(run_id, dict(live.latest))
            except Exception as exc:  # noqa: BLE001 - live display must never stop the runs; the end re-reads all
                self.live.pop(run_id, None)
                observer.note(f"live ingestion of run {run_id} stopped ({type(exc).__name__}: {exc}); "
                              "its metrics are read when it ends")

    def finish(self, task: Task, res: TaskResult) -> None:
        if task.run_id in self.done:
            return
        self.done.add(task.run_id)
        with _signals_deferred():
            self._finish(task, res)

    def _finish(self, task: Task, res: TaskResult) -> None:
        wt = self.where[task.run_id]
        # the script is gone; while its files are saved the run is this process's, so a concurrent
        # `ls` does not take it for a run whose runner died
        self.store.update_run(task.run_id, pid=os.getpid())
        task.run_dir.mkdir(parents=True, exist_ok=True)
        keep_outputs(wt.path, task.run_dir, self.cfg.worktree.keep, self.cfg.worktree.discard,
                     self.cfg.worktree.max_keep_mb, skip=self.prep.links)
        record_run(self.store, task.run_id, task.run_dir, self.cfg.metric, status=res.status,
                   exit_code=res.exit_code, ended_at=res.ended_at, error=res.error, live=self.live.pop(task.run_id, None))
        if res.status == "failed":
            hint = missing_ignored_path_hint(read_tail(task.run_dir / F.STDERR_FILE), wt.path, self.cfg.workdir,
                                             self.root, self.prep.links)
            if hint and hint not in self.hints:
                self.hints.append(hint)
        wt.__exit__(None, None, None)


class _Recording(Observer):
    """Stores each run's pid as it starts and closes each run as it ends, then forwards to the
    user's observer."""

    def __init__(self, store: Store, inner: Observer, finisher: _Finisher) -> None:
        self.store = store
        self.inner = inner
        self.finisher = finisher

    def started(self, task: Task, pid: int | None) -> None:
        # a remote run (Ray) has no local pid: the run keeps the runner's, so a killed runner's runs are recovered
        self.store.update_run(task.run_id, started_at=time.time(), **({"pid": pid} if pid is not None else {}))
        self.finisher.started(task, pid)
        self.inner.started(task, pid)

    def finished(self, task: Task, result: TaskResult) -> None:
        self.finisher.finish(task, result)
        self.inner.finished(task, result)

    def tick(self) -> None:
        self.finisher.ingest_live(self.inner)
        self.inner.tick()

    def note(self, text: str) -> None:
        self.inner.note(text)


def python_executable() -> str:
    """The interpreter trialwise runs under (used by the demo)."""
    return sys.executable
