"""The in-script API: ``tw.init``, ``tw.log``, ``tw.config``, ``tw.summary``, ``tw.seed_everything``.

``tw.log`` is on the training hot path: it appends ``(step, metrics)`` to a deque and returns;
a daemon thread writes the buffer to ``metrics.jsonl`` every :data:`FLUSH_INTERVAL_S` and at exit.
Values are converted to ``float`` at flush time (tensors included), so logging a tensor costs no
device synchronisation on the training thread.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from trialwise.api import _files as F

FLUSH_INTERVAL_S = 0.5
"""Background flush period: at most this much logging is lost when the process is killed."""


def _to_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        item = getattr(value, "item", None)
        if item is not None:
            try:
                return float(item())
            except (TypeError, ValueError, RuntimeError):
                return None
        return None


class ActiveRun:
    """The current process's run: where its files go and what the runner told it."""

    def __init__(self, run_id: str, run_dir: Path, seed: int, profile: str | None, mode: str | None,
                 standalone: Any = None) -> None:
        self.id = run_id
        self.dir = run_dir
        self.seed = seed
        self.profile = profile
        self.mode = mode
        self.config: dict[str, Any] = {}
        self.summary: dict[str, float | None] = {}
        self._buffer: deque[tuple[int | None, dict[str, Any]]] = deque()
        self._auto_step = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._standalone = standalone
        self.dir.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.dir / F.METRICS_FILE, "a", encoding="utf-8")  # noqa: SIM115
        self._thread = threading.Thread(target=self._loop, name="trialwise-flush", daemon=True)
        self._thread.start()
        atexit.register(self.finish)

    # -- background -----------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL_S):
            self.flush()

    def flush(self) -> None:
        """Append everything logged so far to ``metrics.jsonl`` (thread-safe).

        One JSON line per flush: ``{"t": flush time, "s": [steps], "m": [{key: value}]}``.  Points
        carry the flush time (within :data:`FLUSH_INTERVAL_S` of logging) rather than a clock read
        per call, which keeps ``tw.log`` cheap.  Tensors and NumPy scalars become floats here.
        """
        with self._lock:
            if self._fh.closed:
                return
            popleft = self._buffer.popleft
            steps: list[int] = []
            rows: list[dict[str, Any]] = []
            for _ in range(len(self._buffer)):
                given, metrics = popleft()
                step = self._auto_step if given is None else given
                self._auto_step = step + 1
                steps.append(step)
                rows.append(metrics)
            if rows:
                self._fh.write(json.dumps({"t": round(time.time(), 3), "s": steps, "m": rows}, default=_to_float) + "\n")
                self._fh.flush()

    def set_config(self, values: dict[str, Any]) -> None:
        self.config.update(values)
        F.write_json_atomic(self.dir / F.CONFIG_FILE, self.config)

    def set_summary(self, values: dict[str, Any]) -> None:
        self.summary.update({k: _to_float(v) for k, v in values.items()})
        F.write_json_atomic(self.dir / F.SUMMARY_FILE, self.summary)

    def finish(self, status: str = "completed") -> None:
        """Flush and close; a standalone run is ingested into the store here."""
        if self._fh.closed:
            return
        self._stop.set()
        self.flush()
        with self._lock:
            self._fh.close()
        if self._standalone is not None:
            failed = getattr(sys, "last_value", None) is not None or _EXC_SEEN
            self._standalone(self, "failed" if failed else status)


_ACTIVE: ActiveRun | None = None
_EXC_SEEN = False


def _excepthook(exc_type: Any, exc: BaseException, tb: Any) -> None:
    global _EXC_SEEN
    _EXC_SEEN = True
    _PREV_HOOK(exc_type, exc, tb)


_PREV_HOOK = sys.excepthook


def init() -> ActiveRun:
    """Attach to the run the trialwise runner started, or create a standalone run.

    Under ``trialwise run`` the run id, directory, seed, profile and mode come from the
    environment.  Run directly (``python train.py``), a run is recorded in the repository's store
    and ingested when the script exits.
    """
    global _ACTIVE
    if _ACTIVE is not None:
        return _ACTIVE
    env = os.environ
    if env.get(F.ENV_RUN_DIR):
        _ACTIVE = ActiveRun(
            env.get(F.ENV_RUN_ID, "local"), Path(env[F.ENV_RUN_DIR]), int(env.get(F.ENV_SEED, "0")),
            env.get(F.ENV_PROFILE) or None, env.get(F.ENV_MODE) or None,
        )
    else:
        from trialwise.api._standalone import start_standalone

        sys.excepthook = _excepthook
        _ACTIVE = start_standalone(ActiveRun)
    return _ACTIVE


def log(metrics: dict[str, Any], step: int | None = None) -> None:
    """Record metric values at ``step`` (auto-incremented when omitted). Cheap: call it every step."""
    run = _ACTIVE
    if run is None:
        run = init()
    run._buffer.append((step, dict(metrics)))


def config(values: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Record the resolved configuration (hyperparameters) of this run and return it all.

    Under ``TRIALWISE_DRY_RUN=1`` (used by ``trialwise check-invasive``) the script exits right
    after recording, so comparing the resolved configuration of every mode takes seconds.
    """
    run = init()
    run.set_config({**(values or {}), **kwargs})
    if os.environ.get(F.ENV_DRY_RUN) == "1":
        run.finish()
        raise SystemExit(0)
    return dict(run.config)


def summary(values: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """Record final metrics (used when ``metric.summary = "summary"``)."""
    init().set_summary({**(values or {}), **kwargs})


def finish() -> None:
    """End the run explicitly (otherwise it ends when the process exits)."""
    global _ACTIVE
    if _ACTIVE is not None:
        _ACTIVE.finish()
        _ACTIVE = None


def seed_everything(seed: int | None = None, deterministic: bool = False) -> int:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) from ``seed`` or ``TRIALWISE_SEED``.

    ``deterministic=True`` also asks PyTorch for deterministic algorithms (slower; some ops then
    raise).  Returns the seed used.
    """
    if seed is None:
        seed = int(os.environ.get(F.ENV_SEED, "0"))
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:
        pass
    if "torch" in sys.modules or _torch_installed():
        import torch

        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
        if deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
    return seed


def _torch_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("torch") is not None

