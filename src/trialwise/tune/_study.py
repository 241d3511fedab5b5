"""The Optuna side of a sweep: where studies live, how they are named, samplers, pruners, trials.

Studies live in Optuna's own RDB storage next to the trialwise store: for the default SQLite store
``.trialwise/store.db`` that is ``.trialwise/store-optuna.db``.  It cannot be the same database: both
Optuna and trialwise version their schema with Alembic in the same ``alembic_version`` table, and
each refuses the other's revision.  A PostgreSQL store needs ``--storage`` (another database or
schema).  Optuna's heartbeat marks trials of a killed worker failed after a grace period and
re-queues their parameters, so a sweep resumes after ``kill -9`` too; several ``trialwise sweep``
processes on the same study are parallel workers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialwise._exceptions import UsageError
from trialwise.metrics._common import Record
from trialwise.tune._objective import Objective
from trialwise.tune._space import DEFAULT_GRID_POINTS, Space, parse_space

__all__ = [
    "COUNTED_OUTCOMES", "PRUNERS", "SAMPLERS", "StudyMeta", "TrialRecord", "make_pruner", "make_sampler",
    "open_storage", "optuna_storage_url", "study_name", "trial_records",
]

META_ATTR = "trialwise"
"""Study user attribute holding the :class:`StudyMeta` (what the study searches and how)."""

SAMPLERS = ("tpe", "random", "grid", "qmc", "gp", "cmaes")
"""Optuna samplers by name: TPE (Bergstra et al., NeurIPS 2011; the default), random (Bergstra &
Bengio, JMLR 2012), grid, quasi-Monte Carlo (Sobol), Gaussian process (Bayesian optimisation) and
CMA-ES (needs the ``cmaes`` package)."""

PRUNERS = ("median", "halving", "hyperband", "none")
"""Optuna pruners by name: median stopping rule (Golovin et al., "Google Vizier", KDD 2017),
asynchronous successive halving (Li et al., MLSys 2020), Hyperband (Li et al., JMLR 2018), none."""

PRUNER_STARTUP_TRIALS = 5
"""Trials that finish unpruned before the median rule prunes (Optuna's ``MedianPruner`` default)."""

HEARTBEAT_INTERVAL_S = 60
"""A running trial writes a heartbeat this often (Optuna's ``RDBStorage`` documentation example)."""

HEARTBEAT_GRACE_S = 120
"""A trial without heartbeat for this long belongs to a dead worker: it is failed and re-queued."""

MAX_RETRIES = 3
"""Times the parameters of a dead worker's trial are re-queued (Optuna's ``RetryHeartbeatStaleTrialCallback``)."""

SQLITE_TIMEOUT_S = 120
"""How long a worker waits for another's write lock on the SQLite study database."""

COUNTED_OUTCOMES = ("completed", "pruned", "failed")
"""Trial outcomes that count against ``--trials``; interrupted trials (Ctrl-C, dead worker) do not:
their parameters are queued again and run by the next invocation."""


def optuna_storage_url(store_url: str) -> str | None:
    """Optuna's storage URL next to the trialwise store; ``None`` (in memory) for an in-memory store.

    Raises
    ------
    UsageError
        For a non-SQLite store: pass ``--storage`` with a database of its own.
    """
    if store_url.startswith("sqlite:///"):
        path = store_url[len("sqlite:///"):]
        if path in ("", ":memory:"):
            return None
        p = Path(path)
        return "sqlite:///" + str(p.with_name(f"{p.stem}-optuna{p.suffix or '.db'}"))
    raise UsageError(
        f"the store is at {store_url}; Optuna's study tables cannot share that database (both version their "
        "schema in the same Alembic table). Pass --storage with a database of its own, e.g. "
        "postgresql+psycopg://host/trialwise_optuna"
    )


def open_storage(url: str | None) -> Any:
    """Optuna storage at ``url`` with heartbeats (``None``: in memory, not resumable)."""
    import optuna

    if url is None:
        return optuna.storages.InMemoryStorage()
    kwargs: dict[str, Any] = {}
    lock = contextlib.nullcontext()
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
        lock = _file_lock(path.with_name(path.name + ".lock"))
    # Optuna creates its tables and stamps its Alembic revision without a lock: workers that start
    # together would race ("table alembic_version already exists"), so creation is serialised.
    with lock, warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url, engine_kwargs=kwargs, heartbeat_interval=HEARTBEAT_INTERVAL_S, grace_period=HEARTBEAT_GRACE_S,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES),
        )


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (POSIX ``flock``), held for the ``with`` block."""
    import fcntl

    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass(frozen=True)
class StudyMeta(Record):
    """What a study searches and how; stored with the study, so a resumed sweep must match it."""

    commit: str
    space: tuple[str, ...]
    fixed: dict[str, Any]
    objective: Objective
    seeds: int
    profile: str | None = None
    mode: str | None = None
    command: tuple[str, ...] = ()
    stage: str = "search"
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def parsed_space(self) -> Space:
        return parse_space(self.space, self.fixed)

    def identity(self) -> dict[str, Any]:
        """Everything that makes two sweeps the same study (not the budget, sampler or notes)."""
        d = self.to_dict()
        d.pop("notes")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StudyMeta:
        return cls(commit=d["commit"], space=tuple(d["space"]), fixed=dict(d.get("fixed") or {}),
                   objective=Objective(**d["objective"]), seeds=int(d["seeds"]), profile=d.get("profile"),
                   mode=d.get("mode"), command=tuple(d.get("command") or ()), stage=d.get("stage", "search"),
                   notes=dict(d.get("notes") or {}))

    def mismatch(self, other: StudyMeta) -> list[str]:
        """Human-readable differences of identity."""
        a, b = self.identity(), other.identity()
        return [f"{k}: study has {a[k]!r}, this command {b[k]!r}" for k in a if a[k] != b[k]]


def study_name(meta: StudyMeta) -> str:
    """Default study name: commit and a hash of everything else that defines the search."""
    digest = hashlib.sha256(json.dumps(meta.identity(), sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"sweep-{meta.commit[:8]}-{digest}" + ("-lr" if meta.stage == "lr-on-train" else "")


def make_sampler(name: str, space: Space, *, seed: int | None = None, startup_trials: int | None = None,
                 grid_points: int = DEFAULT_GRID_POINTS) -> Any:
    """The Optuna sampler ``name`` (one of :data:`SAMPLERS`)."""
    import optuna

    s = optuna.samplers
    startup = {} if startup_trials is None else {"n_startup_trials": startup_trials}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if name == "tpe":
            return s.TPESampler(seed=seed, **startup)
        if name == "random":
            return s.RandomSampler(seed=seed)
        if name == "grid":
            return s.GridSampler(space.grid(grid_points), seed=seed)
        if name == "qmc":
            return s.QMCSampler(seed=seed, warn_independent_sampling=False)
        if name == "gp":
            return s.GPSampler(seed=seed, **startup)
        if name == "cmaes":
            try:
                import cmaes  # noqa: F401
            except ImportError:
                raise UsageError("--sampler cmaes needs the 'cmaes' package: pip install cmaes") from None
            return s.CmaEsSampler(seed=seed, **startup)
    raise UsageError(f"--sampler must be one of {', '.join(SAMPLERS)}, got '{name}'")


def make_pruner(name: str, startup_trials: int = PRUNER_STARTUP_TRIALS) -> Any:
    """The Optuna pruner ``name`` (one of :data:`PRUNERS`)."""
    import optuna

    p = optuna.pruners
    if name == "median":
        return p.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=0)
    if name == "halving":
        return p.SuccessiveHalvingPruner()
    if name == "hyperband":
        return p.HyperbandPruner()
    if name == "none":
        return p.NopPruner()
    raise UsageError(f"--pruner must be one of {', '.join(PRUNERS)}, got '{name}'")


@dataclass(frozen=True)
class TrialRecord(Record):
    """One trial as trialwise sees it: parameters, seed mean (the objective) and seed std."""

    number: int
    state: str
    outcome: str
    params: dict[str, Any]
    value: float | None
    seed_values: tuple[float, ...]
    seed_std: float
    n_seeds: int
    n_completed: int
    experiment_id: str | None
    pruned_step: int | None = None
    reused: int = 0
    note: str = ""
    clipped: tuple[str, ...] = ()
    """Parameters of the first trial whose seed-004 default lay outside the range and was clipped."""

    @property
    def n_failed(self) -> int:
        """Seeds of the trial that gave no value (failed, crashed, timed out); its mean rests on the rest."""
        return max(0, self.n_seeds - self.n_completed)

    @property
    def counted(self) -> bool:
        return self.outcome in COUNTED_OUTCOMES and self.state in ("complete", "pruned", "fail")


def _float(v: Any) -> float:
    return math.nan if v is None else float(v)


def trial_records(trials: Sequence[Any]) -> list[TrialRecord]:
    """:class:`TrialRecord` of each Optuna ``FrozenTrial``."""
    out = []
    for t in trials:
        a = t.user_attrs
        out.append(TrialRecord(
            number=t.number, state=t.state.name.lower(), outcome=a.get("outcome", ""), params=dict(t.params),
            value=t.value if t.values else None, seed_values=tuple(_float(v) for v in a.get("seed_values", ())),
            seed_std=_float(a.get("seed_std")), n_seeds=int(a.get("n_seeds", 0)), n_completed=int(a.get("n_completed", 0)),
            experiment_id=a.get("experiment_id"), pruned_step=a.get("pruned_step"), reused=int(a.get("reused", 0)),
            note=a.get("note", ""), clipped=tuple(a.get("clipped") or ()),
        ))
    return out
