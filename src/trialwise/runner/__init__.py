"""The runner: experiments from exact commits, seeds in parallel, behind a backend interface."""

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
