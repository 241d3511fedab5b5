"""Local backend: seeds in parallel processes, each in its own process group.

Ctrl-C (``KeyboardInterrupt`` in the main thread) stops every child: SIGTERM to the process group,
SIGKILL after :data:`KILL_GRACE_S`; the runs become ``killed`` and keep what they logged.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from trialwise.api import _files as F
from trialwise.runner._backend import Backend, Observer, Task, TaskResult

POLL_INTERVAL_S = 0.2
"""How often running processes are checked (timeouts, stop requests, live display)."""

KILL_GRACE_S = 5.0
"""Seconds between SIGTERM and SIGKILL when stopping a run."""

CTRL_C = "stopped by the user (Ctrl-C)"
"""The note of a run stopped because the user pressed Ctrl-C."""


class Terminated(KeyboardInterrupt):
    """A termination signal (SIGTERM: CI cancelling a job, ``timeout``, ``kill``) while runs are
    going: it stops them as Ctrl-C does (a ``KeyboardInterrupt``), and is reported as what it was."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signal_name = signal.Signals(signum).name

    @property
    def note(self) -> str:
        return f"terminated ({self.signal_name})"


def stop_note(exc: BaseException) -> str:
    """How a run stopped by ``exc`` is described: ``terminated (SIGTERM)`` or the Ctrl-C note."""
    return exc.note if isinstance(exc, Terminated) else CTRL_C


def detect_gpus() -> list[str]:
    """GPU ids visible to this process (``CUDA_VISIBLE_DEVICES`` or ``nvidia-smi -L``)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def default_jobs() -> int:
    """Parallel runs by default: one per GPU if there are GPUs, else one per CPU core."""
    return len(detect_gpus()) or os.cpu_count() or 1


THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS")
"""Thread-pool sizes of OpenMP (PyTorch's intra-op pool reads it), MKL, OpenBLAS, numexpr and
Accelerate.  Unset, every parallel run starts one thread per core, and N runs on N cores
oversubscribe the CPU until they are no faster than one after the other (issue 11 §6)."""


def thread_share(concurrent: int, cores: int | None = None) -> int:
    """CPU threads each of ``concurrent`` runs gets of ``cores`` (at least one)."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, concurrent))


def thread_env(env: dict[str, str], threads: int | None, concurrent: int) -> dict[str, str]:
    """``env`` with the thread variables set to the run's share, unless the user set one of them
    (in the environment or a profile): then theirs stand.  ``threads`` (``[resources] threads``)
    overrides the share; with one run at a time and no setting, nothing is set."""
    if any(name in env for name in THREAD_ENV):
        return env
    if threads is None and concurrent <= 1:
        return env
    n = str(threads or thread_share(concurrent))
    return {**env, **{name: n for name in THREAD_ENV}}


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


class LocalBackend(Backend):
    """Run tasks as local processes, ``jobs`` at a time, handing out GPUs through
    ``CUDA_VISIBLE_DEVICES`` (``gpus`` per task) when the machine has them."""

    def __init__(self, jobs: int | None = None, gpus: list[str] | None = None) -> None:
        self.jobs = max(1, jobs or default_jobs())
        self._gpus: queue.Queue[str] = queue.Queue()
        for gpu in detect_gpus() if gpus is None else gpus:
            self._gpus.put(gpu)
        self._has_gpus = not self._gpus.empty()
        self._n_gpus = self._gpus.qsize()
        self._stop = threading.Event()
        self.interrupted = False
        self.stop_reason = CTRL_C
        """Why the runs were stopped (each stopped run's note): the Ctrl-C note or ``terminated (SIGTERM)``."""

    def stop(self, reason: str | None = None) -> None:
        if reason:
            self.stop_reason = reason
        self._stop.set()

    def _take_gpus(self, n: int) -> list[str]:
        if not self._has_gpus or n <= 0:
            return []
        return [self._gpus.get() for _ in range(n)]

    def _run_one(self, task: Task, observer: Observer, concurrent: int) -> TaskResult:
        if self._has_gpus and task.gpus > self._n_gpus:  # it would wait forever for GPUs that do not exist
            return TaskResult(task.run_id, "failed", None, None, time.time(),
                              f"the run asks for {task.gpus} GPUs (gpus_per_run) and this machine has {self._n_gpus}: "
                              "lower gpus_per_run in trialwise.toml")
        if self._stop.is_set():
            return TaskResult(task.run_id, "killed", None, None, time.time(), f"{self.stop_reason}, before it started")
        devices = self._take_gpus(task.gpus)
        env = thread_env(dict(task.env), task.threads, concurrent)
        if self._has_gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(devices)
        task.run_dir.mkdir(parents=True, exist_ok=True)
        started = time.time()
        try:
            with open(task.run_dir / F.STDOUT_FILE, "ab") as out, open(task.run_dir / F.STDERR_FILE, "ab") as err:
                try:
                    proc = subprocess.Popen(
                        task.argv, cwd=task.cwd, env=env, stdout=out, stderr=err,
                        stdin=subprocess.DEVNULL, start_new_session=True,
                    )
                except OSError as exc:
                    message = f"could not start {task.argv[0]!r}: {exc.strerror or exc}"
                    err.write((message + "\n").encode())
                    return TaskResult(task.run_id, "failed", None, started, time.time(), message)
                observer.started(task, proc.pid)
                status, error = self._supervise(proc, task)
                return TaskResult(task.run_id, status, proc.returncode, started, time.time(), error, proc.pid, devices)
        finally:
            for d in devices:
                self._gpus.put(d)

    def _supervise(self, proc: subprocess.Popen[bytes], task: Task) -> tuple[str, str | None]:
        deadline = None if task.timeout is None else time.monotonic() + task.timeout
        while True:
            try:
                code = proc.wait(POLL_INTERVAL_S)
                break
            except subprocess.TimeoutExpired:
                pass
            if self._stop.is_set():
                _kill_group(proc)
                return "killed", self.stop_reason
            if deadline is not None and time.monotonic() > deadline:
                _kill_group(proc)
                return "timeout", f"exceeded the timeout of {task.timeout:g} s"
        # the script is gone; stop anything it left behind in its process group
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if code == 0:
            return "completed", None
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            return "crashed", f"killed by signal {name}"
        return "failed", f"exited with code {code}"

    def run(self, tasks: Sequence[Task], observer: Observer) -> list[TaskResult]:
        self._stop.clear()
        self.interrupted = False
        self.stop_reason = CTRL_C
        results: dict[str, TaskResult] = {}
        previous_term = _stop_on_sigterm()
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="trialwise-run")
        concurrent = min(self.jobs, len(tasks))
        futures: dict[Future[TaskResult], Task] = {pool.submit(self._run_one, t, observer, concurrent): t for t in tasks}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=POLL_INTERVAL_S, return_when=FIRST_COMPLETED)
                for fut in done:
                    res = fut.result()
                    results[res.run_id] = res
                    observer.finished(futures[fut], res)
                observer.tick()
        except KeyboardInterrupt as exc:
            self.stop(stop_note(exc))
            for fut in futures:
                res = fut.result()
                if res.run_id not in results:
                    results[res.run_id] = res
                    observer.finished(futures[fut], res)
            self.interrupted = True
        finally:
            pool.shutdown(wait=True)
            if previous_term is not None:
                signal.signal(signal.SIGTERM, previous_term)
        return [results[t.run_id] for t in tasks]


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def _stop_on_sigterm() -> object | None:
    """Treat SIGTERM (CI cancelling a job, ``timeout``, ``kill``) like Ctrl-C while runs are going:
    the children live in their own sessions, so without this they would outlive the runner, their runs
    would stay ``running`` and the worktree would be left behind. Returns the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)
