"""What the framework integrations share: the run's seed, flat configurations, numeric metrics and
the map from a watcher's step count to the framework's global step.

Framework-free (no framework is imported here), so it is tested on its own.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import os
from argparse import Namespace
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

from trialwise._exceptions import UsageError
from trialwise.api import _files as F

__all__ = ["CONFIG_SEPARATOR", "StepMap", "flat_config", "numeric_metrics", "env_seed", "seed_once"]

CONFIG_SEPARATOR = "."
"""Nested hyperparameters become ``outer.inner`` keys (``optimizer.learning_rate``), so ``show`` and
``compare`` list them one per line."""

STEP_MAP_SIZE = 256
"""How many watcher-step -> global-step pairs a :class:`StepMap` keeps: a probe is logged one step
after it was taken, so only the latest few are ever looked up."""

_SEEDED: set[str] = set()


def env_seed() -> int | None:
    """``TRIALWISE_SEED`` as an integer (set by ``trialwise run`` for every run), ``None`` when unset."""
    raw = os.environ.get(F.ENV_SEED)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise UsageError(f"{F.ENV_SEED}={raw!r} is not a whole number. trialwise run sets it to the run's "
                         f"seed; unset it or give an integer (e.g. {F.ENV_SEED}=0).") from None


def seed_once(framework: str, seeder: Callable[[int], Any]) -> int | None:
    """Seed the process with ``TRIALWISE_SEED`` through ``seeder`` (the framework's helper), once per
    framework and process; returns the seed, or ``None`` when no seed was given (nothing is seeded:
    a standalone script keeps its own seeding)."""
    seed = env_seed()
    if seed is not None and framework not in _SEEDED:
        seeder(seed)
        _SEEDED.add(framework)
    return seed


def _plain(value: Any) -> Any:
    """A JSON value for one hyperparameter: numbers, strings, booleans, ``None``, lists and mappings of
    them as they are; enums by value; paths, classes and other objects by ``str``."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):  # inside a list (Keras's layer configs): kept nested
        return {str(k): _plain(v) for k, v in value.items()}
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:  # NumPy and torch scalars
        try:
            return _plain(item())
        except (TypeError, ValueError, RuntimeError):
            pass
    return str(value)


def flat_config(values: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested hyperparameters into ``outer.inner`` keys with JSON values.

    Accepts a mapping, an ``argparse.Namespace`` or a dataclass; nested mappings, namespaces and
    dataclasses are flattened with :data:`CONFIG_SEPARATOR`.

    >>> flat_config({"lr": 0.1, "optimizer": {"name": "adam", "betas": (0.9, 0.99)}})
    {'lr': 0.1, 'optimizer.name': 'adam', 'optimizer.betas': [0.9, 0.99]}
    """
    if isinstance(values, Namespace):
        values = vars(values)
    elif dataclasses.is_dataclass(values) and not isinstance(values, type):
        values = {f.name: getattr(values, f.name) for f in dataclasses.fields(values)}
    if not isinstance(values, Mapping):
        raise UsageError(f"Hyperparameters must be a mapping (dict, Namespace or dataclass). Got "
                         f"{type(values).__name__} instead.")
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{CONFIG_SEPARATOR}{key}" if prefix else str(key)
        if isinstance(value, (Mapping, Namespace)) or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            nested = flat_config(value, name)
            out.update(nested if nested else {name: {}})
        else:
            out[name] = _plain(value)
    return out


def _is_number(value: Any) -> bool:
    """Numbers, NumPy scalars and one-element tensors; tensors stay tensors (``tw.log`` turns them into
    floats when it flushes, in its background thread, so a GPU value costs no synchronisation here)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    dtype, shape = getattr(value, "dtype", None), getattr(value, "shape", None)
    if dtype is None or shape is None:
        return False
    try:
        if math.prod(tuple(shape)) != 1:
            return False
    except TypeError:
        return False
    kind = getattr(dtype, "kind", None)  # NumPy
    if isinstance(kind, str):
        return kind in "iuf"
    return bool(getattr(dtype, "is_floating_point", False)) or str(dtype).startswith(("torch.int", "torch.uint"))


def numeric_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The entries of ``metrics`` that are numbers (floats, ints, NumPy scalars, one-element tensors),
    with ``prefix`` in front of their names; strings, ``None``, booleans and arrays are left out.

    >>> numeric_metrics({"loss": 0.5, "epoch": 1, "note": "x", "done": True}, prefix="batch/")
    {'batch/loss': 0.5, 'batch/epoch': 1}
    """
    return {f"{prefix}{k}": v for k, v in metrics.items() if _is_number(v)}


class StepMap:
    """Which global step (optimizer steps, as the framework counts them) a watcher's step was taken at.

    ``trialwise.watch`` counts training forward passes; frameworks log at their global step.  The
    integration records the pair when a step starts and translates the watcher's step when its probe
    is logged (one step later).  A watcher step between two recorded ones (gradient accumulation)
    takes the global step of the latest recorded one before it.
    """

    def __init__(self, size: int = STEP_MAP_SIZE) -> None:
        self._pairs: OrderedDict[int, int] = OrderedDict()
        self._size = size

    def record(self, local: int, global_step: int) -> None:
        self._pairs[local] = global_step
        self._pairs.move_to_end(local)
        while len(self._pairs) > self._size:
            self._pairs.popitem(last=False)

    def lookup(self, local: int) -> int:
        if local in self._pairs:
            return self._pairs[local]
        before = [k for k in self._pairs if k <= local]
        return self._pairs[max(before)] if before else local
