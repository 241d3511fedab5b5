"""The in-script API: ``tw.init``, ``tw.log``, ``tw.config``, ``tw.summary``, ``tw.seed_everything``.

``tw.log`` is on the training hot path: it appends the step and a copy of the metrics to a deque
(no per-call tuple kept alive for the garbage collector to walk) and returns;
a daemon thread writes the buffer to ``metrics.jsonl`` every :data:`FLUSH_INTERVAL_S` and at exit.
Values are converted to ``float`` at flush time (tensors included), so logging a tensor costs no
device synchronisation on the training thread.

The call checks what it can check cheaply (``metrics`` is a mapping, ``step`` an integer within 64
bits) and raises a ``TypeError``/``ValueError`` in the script; whatever else a batch holds (names
that are not text, values whose ``float()`` raises, circular lists), the flush thread writes what it
can, counts the rest, and never dies, so every point flushed survives ``kill -9``.
"""

from __future__ import annotations

import atexit
import json
import operator
import os
import random
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trialwise.api import _files as F

FLUSH_INTERVAL_S = 0.5
"""Background flush period: at most this much logging is lost when the process is killed."""


def _to_float(value: Any) -> float | None:
    """``float(value)`` (tensors and NumPy scalars through ``.item()``); ``None`` (stored as NaN)
    when that fails, whatever the object raises."""
    try:
        return float(value)
    except Exception:  # noqa: BLE001 - a user object's __float__ may raise anything
        item = getattr(value, "item", None)
        if item is not None:
            try:
                return float(item())
            except Exception:  # noqa: BLE001
                return None
        return None


def _checked_step(step: Any) -> int | None:
    """``step`` as an int (NumPy/PyTorch integers and whole floats accepted), or a clear error."""
    if step is None or (type(step) is int and -F.MAX_STEP <= step <= F.MAX_STEP):
        return step
    if isinstance(step, float) and step.is_integer():
        value = int(step)
    elif isinstance(step, bool):
        value = None
    else:
        try:
            value = operator.index(step)
        except TypeError:
            value = None
    if value is None:
        raise TypeError(f"tw.log(..., step=...) expects an integer step, or None to count steps; got "
                        f"{step!r:.80} ({type(step).__name__})")
    if not -F.MAX_STEP <= value <= F.MAX_STEP:
        raise ValueError(f"tw.log(..., step={value}) is outside the 64-bit integer range the store holds")
    return value


def _key(key: Any) -> str | None:
    """A metric name for JSON: text as is, anything else through ``str()`` (``None`` if that fails)."""
    if isinstance(key, str):
        return key
    try:
        return str(key)
    except Exception:  # noqa: BLE001
        return None


def _encode_row(row: Mapping[Any, Any]) -> str | None:
    """One ``{name: value}`` row as JSON, names made text and values made floats where plain JSON
    fails; ``None`` when even that fails (the row is dropped and counted)."""
    clean: dict[str, Any] = {}
    for key, value in row.items():
        name = _key(key)
        if name is None:
            continue
        ok = value is None or isinstance(value, (bool, int, float, str))
        clean[name] = value if ok else _to_float(value)
    try:
        return json.dumps(clean)
    except Exception:  # noqa: BLE001
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
        self._buffer: deque[Any] = deque()
        """Flat ``step, metrics, step, metrics, ...``: see :func:`log` (no per-call tuple kept alive)."""
        self._auto_step = 0
        self.dropped_rows = 0
        """Rows of ``tw.log`` that could not be written at all (counted; reported once on stderr)."""
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
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - the flush thread must outlive any batch (disk full, ...)
                self._warn(f"could not write metrics.jsonl ({type(exc).__name__}: {exc}); retrying")

    def _warn(self, message: str) -> None:
        try:
            sys.stderr.write(f"trialwise: {message}\n")
        except Exception:  # noqa: BLE001 - stderr may be closed
            pass

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
            for _ in range(len(self._buffer) // 2):  # whole pairs: each log() adds two items at once
                given = popleft()
                metrics = popleft()
                step = self._auto_step if given is None else given
                self._auto_step = min(step + 1, F.MAX_STEP)
                steps.append(step)
                rows.append(metrics)
            if not rows:
                return
            t = round(time.time(), 3)
            try:
                line = json.dumps({"t": t, "s": steps, "m": rows}, default=_to_float)
            except Exception:  # noqa: BLE001 - a row JSON cannot write: encode row by row
                line = self._encode_rows(t, steps, rows)
            self._fh.write(line + "\n")
            self._fh.flush()

    def _encode_rows(self, t: float, steps: list[int], rows: list[dict[str, Any]]) -> str:
        kept = [(s, text) for s, text in zip(steps, map(_encode_row, rows)) if text is not None]
        dropped = len(rows) - len(kept)
        if dropped:
            if not self.dropped_rows:
                self._warn("a tw.log(...) call held values that cannot be written; those rows are skipped")
            self.dropped_rows += dropped
        return (f'{{"t": {json.dumps(t)}, "s": {json.dumps([s for s, _ in kept])}, '
                f'"m": [{", ".join(text for _, text in kept)}]}}')

    def set_config(self, values: Mapping[Any, Any]) -> None:
        self.config = _write_merged(self.dir / F.CONFIG_FILE, self.config, _named(values, "tw.config"), "tw.config")

    def set_summary(self, values: Mapping[Any, Any]) -> None:
        named = {k: _to_float(v) for k, v in _named(values, "tw.summary").items()}
        self.summary = _write_merged(self.dir / F.SUMMARY_FILE, self.summary, named, "tw.summary")

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


def _named(values: Any, call: str) -> dict[str, Any]:
    """``values`` as a dict with text names (``str()`` of any other name), or a clear error."""
    if not isinstance(values, Mapping):
        raise TypeError(f"{call} expects a dict of names to values, e.g. {call}({{'lr': 0.1}}); got {type(values).__name__}")
    return {k if isinstance(k, str) else str(k): v for k, v in values.items()}


def _write_merged(path: Path, current: dict[str, Any], new: dict[str, Any], call: str) -> dict[str, Any]:
    """Write ``current`` updated with ``new`` and return it; on failure nothing changes and the
    script gets a clear error (a circular list, a value nested beyond Python's recursion limit)."""
    merged = {**current, **new}
    try:
        F.write_json_atomic(path, merged)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{call}(...) cannot record these values as JSON ({exc}); pass numbers, "
                         "strings, lists and dicts") from None
    return merged


def log(metrics: dict[str, Any], step: int | None = None) -> None:
    """Record metric values at ``step`` (auto-incremented when omitted). Cheap: call it every step.

    Raises ``TypeError`` when ``metrics`` is not a dict or ``step`` not an integer, ``ValueError``
    when ``step`` is beyond 64 bits; values are converted when written (see the module docstring)."""
    run = _ACTIVE
    if run is None:
        run = init()
    if type(metrics) is not dict and not isinstance(metrics, Mapping):
        raise TypeError(f"tw.log expects a dict of metric values, e.g. tw.log({{'loss': 0.3}}, step=10); "
                        f"got {type(metrics).__name__}")
    # One atomic extend of the step and a copy of the metrics (C code, no Python frame: pairs never
    # interleave across threads). No container of the call outlives it: the 2-tuple is freed at once
    # and a dict of numbers is not tracked by the cyclic GC, whereas a (step, dict) tuple kept until
    # the flush is tracked, survives into the older generations and makes the collector walk the
    # whole heap (a model's, torch's) again and again: 14x list.append there, instead of ~1-2x.
    run._buffer.extend((_checked_step(step), dict(metrics)))


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

