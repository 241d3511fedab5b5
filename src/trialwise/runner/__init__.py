"""The runner: experiments from exact commits, seeds in parallel, behind a backend interface.

Each name loads its sub-module on first use (PEP 562): ``trialwise ls`` needs only
:func:`recover_stale_runs` and ``show`` only the capture helpers, not the launch machinery
(``_experiment``, ``_ingest``, the backends), which would cost every such command its import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trialwise._lazy import lazy_exports

if TYPE_CHECKING:
    from trialwise.runner._backend import Backend, Observer, Task, TaskResult
    from trialwise.runner._experiment import (
        ExperimentResult,
        LaunchSpec,
        param_args,
        parse_overrides,
        prepare,
        run_experiment,
        spec_for_experiment,
    )
    from trialwise.runner._local import LocalBackend, default_jobs, detect_gpus
    from trialwise.runner._ray import RayBackend, make_backend
    from trialwise.runner._record import recover_stale_runs

__all__ = [
    "Backend", "ExperimentResult", "LaunchSpec", "LocalBackend", "Observer", "RayBackend", "make_backend", "Task", "TaskResult",
    "default_jobs", "detect_gpus", "param_args", "parse_overrides", "prepare", "recover_stale_runs",
    "run_experiment", "spec_for_experiment",
]

_HOMES = {
    "_backend": ("Backend", "Observer", "Task", "TaskResult"),
    "_experiment": ("ExperimentResult", "LaunchSpec", "param_args", "parse_overrides", "prepare", "run_experiment",
                    "spec_for_experiment"),
    "_local": ("LocalBackend", "default_jobs", "detect_gpus"),
    "_ray": ("RayBackend", "make_backend"),
    "_record": ("recover_stale_runs",),
}
"""The sub-module of each public name, imported on first use."""

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
