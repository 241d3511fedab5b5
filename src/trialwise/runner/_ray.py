"""Ray backend: each seed is one Ray task on the cluster, with the resources a run asks for.

The contract with the cluster (README, "Scale out"): the repository's ``.trialwise/`` directory
(the per-run worktrees of the exact commit, with their linked data, and the run directories) is on
a filesystem every node mounts at the same path.  The runner prepares each run's worktree as it
does locally; the task runs the script there and writes the run directory, which the driver reads
live, exactly as for local runs (nothing twice, nothing lost).  A worker that cannot see the
worktree fails the run with that explanation.  This was chosen over shipping a ``git archive``
through ``runtime_env``: Ray sets ``working_dir`` once per job and caps it near 100 MiB, while an
ablation runs several commits in one driver and datasets are linked, not copied.

A task whose node dies (or whose worker process is killed) becomes ``crashed`` with the reason;
the other seeds go on; ``trialwise resume`` re-runs the seeds that did not complete.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from trialwise.api import _files as F
from trialwise.runner._backend import Backend, Observer, Task, TaskResult

POLL_INTERVAL_S = 0.2
"""How often the driver checks finished tasks and started markers."""

STARTED_FILE = "ray_task.json"
"""Written into the run directory by the task when its script starts: node, host, the script's pid
and the Ray worker's."""

RAY_ADDRESS_ENV = F.ENV_RAY_ADDRESS
BACKEND_ENV = F.ENV_BACKEND


def _execute(argv: list[str], cwd: str, env: dict[str, str], run_dir: str, timeout: float | None) -> dict[str, Any]:
    """Runs on a Ray worker: the script in its worktree, stdout/stderr into the run directory."""
    import json
    import signal
    import socket

    import ray

    rd = Path(run_dir)
    if not Path(cwd).is_dir():
        return {"status": "failed", "exit_code": None, "started": None, "ended": time.time(),
                "error": f"the run's worktree {cwd} does not exist on node {socket.gethostname()}: the ray backend "
                         "needs the repository's .trialwise/ on a filesystem every node mounts at the same path (README)"}
    rd.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **env}  # the worker's own environment, plus what the run sets
    gpus = ray.get_gpu_ids()
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in gpus)
    started = time.time()
    with open(rd / F.STDOUT_FILE, "ab") as out, open(rd / F.STDERR_FILE, "ab") as err:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        except OSError as exc:
            return {"status": "failed", "exit_code": None, "started": started, "ended": time.time(),
                    "error": f"could not start {argv[0]!r}: {exc.strerror or exc}"}
        # atomically (a temporary file renamed over it): the driver polls for the marker and reads it
        marker = rd / STARTED_FILE
        partial = marker.with_name(f".{STARTED_FILE}.{os.getpid()}.tmp")
        partial.write_text(json.dumps({"pid": proc.pid, "worker_pid": os.getpid(), "host": socket.gethostname(),
                                       "node": ray.get_runtime_context().get_node_id()}))
        os.replace(partial, marker)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return {"status": "timeout", "exit_code": None, "started": started, "ended": time.time(),
                    "error": f"exceeded the timeout of {timeout:g} s"}
    status = "completed" if code == 0 else ("crashed" if code < 0 else "failed")
    error = None if code == 0 else (f"killed by signal {-code}" if code < 0 else f"exited with code {code}")
    return {"status": status, "exit_code": code, "started": started, "ended": time.time(), "error": error}


class RayBackend(Backend):
    """Run tasks as Ray tasks on the cluster at ``address`` (``auto``, ``HOST:PORT``, ``ray://...``;
    ``None``: a local Ray), each with ``cpus``/``gpus``/``resources`` per run."""

    def __init__(self, address: str | None = None, *, cpus: float = 1.0, gpus: float = 0.0,
                 resources: Mapping[str, float] | None = None) -> None:
        self.address = address or os.environ.get(RAY_ADDRESS_ENV) or None
        self.cpus, self.gpus, self.resources = cpus, gpus, dict(resources or {})
        self._stop = threading.Event()
        self.interrupted = False

    def stop(self) -> None:
        self._stop.set()

    def _connect(self) -> Any:
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, ignore_reinit_error=True, log_to_driver=False,
                     include_dashboard=False, configure_logging=False)
        return ray

    def run(self, tasks: Sequence[Task], observer: Observer) -> list[TaskResult]:
        import contextlib
        import sys

        # Ray's driver threads print cluster events (a raylet that died...) to stdout: they go to
        # stderr, so `--json` output stays one JSON document; the connection closes with the run
        with contextlib.redirect_stdout(sys.stderr):
            try:
                return self._run(tasks, observer)
            finally:
                import ray

                if ray.is_initialized():
                    ray.shutdown()

    def _run(self, tasks: Sequence[Task], observer: Observer) -> list[TaskResult]:
        ray = self._connect()
        from ray import exceptions as rx

        remote = ray.remote(_execute).options(num_cpus=self.cpus, num_gpus=self.gpus, resources=self.resources,
                                              max_retries=0)
        refs = {remote.remote(t.argv, str(t.cwd), _run_env(t.env), str(t.run_dir), t.timeout): t for t in tasks}
        results: dict[str, TaskResult] = {}
        announced: set[str] = set()
        pending = list(refs)
        self._stop.clear()
        self.interrupted = False
        try:
            while pending:
                if self._stop.is_set():
                    raise KeyboardInterrupt
                done, pending = ray.wait(pending, num_returns=1, timeout=POLL_INTERVAL_S)
                for t in tasks:
                    if t.run_id not in announced and (t.run_dir / STARTED_FILE).exists():
                        announced.add(t.run_id)
                        observer.started(t, None)
                for ref in done:
                    t = refs[ref]
                    try:
                        r = ray.get(ref)
                        res = TaskResult(t.run_id, r["status"], r["exit_code"], r["started"], r["ended"], r["error"])
                    except (rx.NodeDiedError, rx.WorkerCrashedError, rx.LocalRayletDiedError, rx.ObjectLostError,
                            rx.RayTaskError, rx.RaySystemError) as exc:
                        res = TaskResult(t.run_id, "crashed", None, None, time.time(),
                                         f"node lost: the Ray task died with its worker or node ({type(exc).__name__})")
                    results[t.run_id] = res
                    observer.finished(t, res)
                observer.tick()
        except KeyboardInterrupt:
            self.interrupted = True
            for ref in pending:
                ray.cancel(ref, force=True)
            for ref, t in refs.items():
                if t.run_id not in results:
                    res = TaskResult(t.run_id, "killed", None, None, time.time(), "stopped by the user")
                    results[t.run_id] = res
                    observer.finished(t, res)
        return [results[t.run_id] for t in tasks]


MACHINE_ENV = ("PATH", "HOME", "PWD", "OLDPWD", "SHELL", "USER", "LOGNAME", "HOSTNAME", "TMPDIR", "TMP", "TEMP",
               "DISPLAY", "TERM", "SHLVL", "_", "LD_LIBRARY_PATH", "VIRTUAL_ENV", "PYTHONHOME", "CUDA_VISIBLE_DEVICES")
MACHINE_ENV_PREFIXES = ("SSH_", "XDG_", "CONDA_", "RAY_", "LC_")
"""Variables that describe the driver's machine or session, not the run: a worker keeps its own."""


def _run_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment a task carries to its worker: the run's (``TRIALWISE_*``, profile env,
    thread shares) and the user's own variables, without the driver's machine-specific ones."""
    return {k: v for k, v in env.items() if k not in MACHINE_ENV and not k.startswith(MACHINE_ENV_PREFIXES)}


def make_backend(config: Any, jobs: int | None = None, backend: str | None = None, address: str | None = None) -> Backend:
    """The backend ``trialwise.toml`` (``backend``, ``[ray]``) or the command line asks for."""
    from trialwise.runner._local import LocalBackend

    name = backend or os.environ.get(BACKEND_ENV) or getattr(config, "backend", "local")
    if name == "ray":
        ray_cfg = getattr(config, "ray", None)
        res = config.resources
        return RayBackend(address or getattr(ray_cfg, "address", None), cpus=res.cpus,
                          gpus=float(res.gpus if res.gpus is not None else 0), resources=res.custom)
    return LocalBackend(jobs or config.jobs)

