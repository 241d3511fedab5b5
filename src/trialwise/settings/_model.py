"""The typed model of ``trialwise.toml``.

Every key a user can write is declared here; unknown keys are refused so a typo never silently
does nothing.  Validation errors are turned into :class:`~trialwise._exceptions.ConfigError` with the
key path and line by :func:`trialwise.settings.load_config`.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from trialwise.settings import _checks as C

ArgTemplate = Annotated[str, AfterValidator(C.arg_template)]
Glob = Annotated[str, AfterValidator(C.relative_glob)]
EnvName = Annotated[str, AfterValidator(C.env_name)]
ParamName = Annotated[str, AfterValidator(C.param_name)]

DEFAULT_STORE_URL = "sqlite:///.trialwise/store.db"
"""Embedded default: one SQLite file inside the repository's git-ignored ``.trialwise/``."""

DEFAULT_SEEDS = 3
"""Seeds per experiment when neither the config nor ``--seeds`` says (pattern #1: never one)."""

DEFAULT_LINK_EXCLUDES = (
    ".trialwise", ".git", ".venv", "venv", "env", ".env", "__pycache__", ".pytest_cache",
    ".mypy_cache", ".ruff_cache", ".tox", ".nox", "node_modules", ".ipynb_checkpoints",
    "build", "dist", ".eggs",
)
"""Git-ignored top-level paths never linked into a worktree by default: tool caches and virtual
environments, which are either machine-local or rebuilt by the tool itself."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricConfig(_Strict):
    """The one metric every decision is made on (seed 003: decide the metric first)."""

    name: str = "val_acc"
    direction: Literal["max", "min"] = "max"
    summary: Literal["last", "best", "summary"] = "last"
    version_files: tuple[Glob, ...] = ()
    goal: float | None = None


class ArgsEnv(_Strict):
    """Extra command-line arguments and environment for a profile or a mode."""

    args: tuple[str, ...] = ()
    env: dict[EnvName, str] = Field(default_factory=dict)
    set: dict[ParamName, str | int | float | bool] = Field(default_factory=dict)

    @field_validator("args", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(C.shell_words(value))
        return value


class ParamsConfig(_Strict):
    """How a hyperparameter override (``--set lr=1e-3``) reaches the training script.

    ``template`` is expanded once per parameter with ``{name}`` and ``{value}``; ``via = "env"``
    exports ``{env_prefix}{NAME}`` instead.  ``map`` overrides the template per parameter.
    """

    via: Literal["args", "env"] = "args"
    template: ArgTemplate = "--{name} {value}"
    env_prefix: str = "TW_PARAM_"
    map: dict[ParamName, ArgTemplate] = Field(default_factory=dict)
    seed: ArgTemplate | None = None


DEFAULT_KEEP = ("*",)
"""Outputs kept by default: everything a run writes into its worktree that is not in the commit."""

DEFAULT_DISCARD = ("__pycache__/**", "*.pyc", ".DS_Store")
"""Outputs never worth keeping: byte-code caches."""

DEFAULT_MAX_KEEP_MB = 2048.0
"""Per-run cap on kept outputs (a few checkpoints of a mid-sized model); smallest files first."""


class WorktreeConfig(_Strict):
    """Each run's worktree: which git-ignored paths of the main checkout (datasets, caches) are
    linked in, and which files a run writes there are kept under its run directory.

    ``link = "auto"`` links every ignored top-level path except :data:`DEFAULT_LINK_EXCLUDES`.
    ``keep``/``discard`` are ``fnmatch`` globs on the path relative to the worktree (``*`` crosses
    ``/``); ``keep_worktree = true`` leaves the worktrees in place (debugging).
    """

    link: Literal["auto"] | tuple[str, ...] = "auto"
    keep: tuple[str, ...] = DEFAULT_KEEP
    discard: tuple[str, ...] = DEFAULT_DISCARD
    max_keep_mb: float = Field(default=DEFAULT_MAX_KEEP_MB, ge=0)
    keep_worktree: bool = False

    @model_validator(mode="before")
    @classmethod
    def _legacy_keep(cls, data: object) -> object:
        # `keep = true/false` (before outputs were kept) meant "leave the worktree in place"
        if isinstance(data, dict) and isinstance(data.get("keep"), bool):
            data = dict(data)
            data.setdefault("keep_worktree", data.pop("keep"))
        return data

    @field_validator("link", "keep", "discard", mode="before")
    @classmethod
    def _one_glob(cls, value: object) -> object:
        return (value,) if isinstance(value, str) and value != "auto" else value

    @field_validator("link")
    @classmethod
    def _inside(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        # a link is made inside the worktree from the main checkout: '..' or an absolute path would
        # link (or, when removed, delete through) something outside the repository
        if value != "auto":
            for path in value:
                C.inside_path(path)
        return value


class ResourcesConfig(_Strict):
    """What each run may use.  ``threads``: CPU threads per run (``OMP_NUM_THREADS`` and
    friends); by default the cores are shared out among the runs going at once.  ``cpus``,
    ``gpus`` and ``custom`` are what a run asks the Ray backend for (``gpus`` defaults to 0 there;
    locally ``gpus_per_run`` applies)."""

    threads: int | None = Field(default=None, ge=1)
    cpus: float = Field(default=1.0, gt=0)
    gpus: float | None = Field(default=None, ge=0)
    custom: dict[str, float] = Field(default_factory=dict)


class RayConfig(_Strict):
    """The Ray cluster of ``backend = "ray"``: ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``."""

    address: str | None = None


class BaselineConfig(_Strict):
    """When a baseline result is too old to trust (pattern #9)."""

    ref: str = "main"
    max_age_days: float = 7.0


class Config(_Strict):
    """The whole ``trialwise.toml``."""

    command: Annotated[str, AfterValidator(C.shell_text)] | None = None
    workdir: str = "."
    seeds: Annotated[int, AfterValidator(C.seed_count)] = Field(default=DEFAULT_SEEDS, ge=1)
    jobs: int | None = Field(default=None, ge=1)
    gpus_per_run: int = Field(default=1, ge=0)
    timeout: float | None = Field(default=None, gt=0)
    store: Annotated[str, AfterValidator(C.store_url)] = DEFAULT_STORE_URL
    metric: MetricConfig = Field(default_factory=MetricConfig)
    profiles: dict[str, ArgsEnv] = Field(default_factory=dict)
    modes: dict[str, ArgsEnv] = Field(default_factory=dict)
    params: ParamsConfig = Field(default_factory=ParamsConfig)
    worktree: WorktreeConfig = Field(default_factory=WorktreeConfig)
    baseline: BaselineConfig = Field(default_factory=BaselineConfig)
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig)
    backend: Literal["local", "ray"] = "local"
    ray: RayConfig = Field(default_factory=RayConfig)
    diagnose: dict[str, dict[str, str | float | int]] = Field(default_factory=dict)

    @field_validator("workdir")
    @classmethod
    def _relative(cls, value: str) -> str:
        if os.path.isabs(value) or ".." in value.replace("\\", "/").split("/"):
            raise ValueError("must be a path inside the repository (relative, no '..')")
        return value
