"""The Lightning integration, built once for each Lightning package (``lightning`` and
``pytorch_lightning`` have separate ``Logger`` and ``Callback`` base classes, and ``Trainer`` and
``LightningCLI`` accept only their own package's).  The public modules
:mod:`trialwise.integrations.lightning` and :mod:`trialwise.integrations.pytorch_lightning` call
:func:`build` with their package.
"""

from __future__ import annotations

import atexit
import operator
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

from trialwise._exceptions import UsageError
from trialwise.integrations._common import StepMap, flat_config, numeric_metrics, seed_once
from trialwise.probes._watch import DEFAULT_EVERY

PREDICTIONS_HOOK = "trialwise_predictions"
"""Name of the optional ``LightningModule`` method ``TrialwiseCallback`` calls at the end of ``fit``;
it returns the keyword arguments of ``tw.log_predictions`` (or a list of them, one per split)."""

DEFAULT_NAME = "trialwise"
"""``TrialwiseLogger.name``; Lightning puts checkpoints in ``<save_dir>/<name>/<version>/checkpoints``."""

FAILED_STATUS = "failed"
"""The status Lightning passes to ``Logger.finalize`` when ``fit``/``validate``/``test`` raised."""

def seed(pl: ModuleType, framework: str) -> int | None:
    """Seed through Lightning's own ``seed_everything`` (Python, NumPy, torch, and the dataloader
    workers via ``PL_SEED_WORKERS``) when ``TRIALWISE_SEED`` is set."""

    def seeder(value: int) -> None:
        try:
            pl.seed_everything(value, workers=True, verbose=False)
        except TypeError:  # Lightning before 2.4 has no ``verbose``
            pl.seed_everything(value, workers=True)

    return seed_once(framework, seeder)


def _batch_inputs(batch: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A batch as the arguments of a forward call (the probes read the first floating tensor)."""
    if isinstance(batch, Mapping):
        return (), dict(batch)
    if isinstance(batch, (tuple, list)):
        return tuple(batch), {}
    return (batch,), {}


def _prediction_calls(result: Any) -> list[Mapping[str, Any]]:
    if result is None:
        return []
    calls = [result] if isinstance(result, Mapping) else list(result) if isinstance(result, Iterable) else None
    if calls is None or not all(isinstance(c, Mapping) for c in calls):
        raise UsageError(f"{PREDICTIONS_HOOK}() must return the keyword arguments of tw.log_predictions as a dict "
                         f"(ids=..., y_true=..., scores=... or y_pred=..., split=...) or a list of such dicts. "
                         f"Got {type(result).__name__} instead.")
    return calls


def build(pl: ModuleType, module_name: str) -> tuple[type, type]:
    """``(TrialwiseLogger, TrialwiseCallback)`` subclassing ``pl``'s ``Logger`` and ``Callback``;
    ``module_name`` is the public module they are importable from (``LightningCLI`` resolves
    ``--trainer.logger=<module_name>.TrialwiseLogger`` there)."""
    from importlib import import_module

    Logger = import_module(f"{pl.__name__}.loggers").Logger  # noqa: N806 - a class
    Callback = import_module(f"{pl.__name__}.callbacks").Callback  # noqa: N806
    rank_zero_only = import_module(f"{pl.__name__}.utilities").rank_zero_only

    def is_rank_zero() -> bool:
        return getattr(rank_zero_only, "rank", 0) == 0

    class TrialwiseLogger(Logger):  # type: ignore[misc, valid-type]
        """A Lightning logger that records every ``self.log`` value in trialwise.

        ``Trainer(logger=TrialwiseLogger())`` records each logged metric at the trainer's global
        step (``tw.log``), the module's and datamodule's hyperparameters as the run's config
        (``tw.config``; nested ones as ``outer.inner``) and the status ``fit`` ended with.  Under
        ``trialwise run`` it writes into the run the runner started; run directly, into a standalone
        run recorded in the repository's store when the script exits.  From ``LightningCLI``:
        ``--trainer.logger=trialwise.integrations.lightning.TrialwiseLogger``.

        Args:
            save_dir: where Lightning puts what it saves beside the logs (``LightningCLI``'s
                ``config.yaml``; checkpoints in ``<save_dir>/<name>/<version>/checkpoints``).
                Default: the run directory, so they stay with the run.
            name: the logger's name (default ``"trialwise"``); the version is the run id.
        """

        def __init__(self, save_dir: str | None = None, name: str = DEFAULT_NAME) -> None:
            super().__init__()
            self._save_dir = None if save_dir is None else str(save_dir)
            self._name = name
            self._run: Any = None
            self.status: str | None = None
            """The status Lightning finalized with (``"success"``, ``"failed"``), ``None`` before."""

        def _active(self) -> Any:
            """The trialwise run (created on first use), ``None`` on other ranks than zero."""
            if self._run is None and is_rank_zero():
                import trialwise

                self._run = trialwise.init()
            return self._run

        @property
        def name(self) -> str:
            return self._name

        @property
        def version(self) -> str | None:
            run = self._active()
            return None if run is None else run.id

        @property
        def log_dir(self) -> str | None:
            """The run directory (``metrics.jsonl``, ``config.json``; predictions)."""
            run = self._active()
            return None if run is None else str(run.dir)

        @property
        def save_dir(self) -> str | None:
            return self._save_dir if self._save_dir is not None else self.log_dir

        @property
        def root_dir(self) -> str | None:
            return self.save_dir

        @property
        def experiment(self) -> Any:
            """The trialwise run (``.id``, ``.dir``, ``.seed``) on rank zero."""
            return self._active()

        def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
            if not is_rank_zero():
                return
            import trialwise

            values = numeric_metrics(metrics)
            if values:
                trialwise.log(values, step=None if step is None else int(step))

        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            if not is_rank_zero() or params is None:
                return
            import trialwise

            values = flat_config(params)
            if values:
                trialwise.config(values)

        def save(self) -> None:
            """Nothing to do: ``tw.log`` is flushed by its background thread (Lightning calls this
            after every ``log_metrics``)."""

        def finalize(self, status: str) -> None:
            """Flush what was logged; a ``"failed"`` status makes the run end as failed when the
            process exits, even if the script catches the exception."""
            self.status = status
            run = self._run
            if run is None:
                return
            run.flush()
            if status == FAILED_STATUS:
                atexit.register(run.finish, "failed")  # runs before tw's own exit hook (LIFO)

    class TrialwiseCallback(Callback):  # type: ignore[misc, valid-type]
        """Probes (``tw.watch``) during ``fit`` and, at its end, the module's predictions.

        ``Trainer(logger=TrialwiseLogger(), callbacks=[TrialwiseCallback()])``.  The probes count one
        step per training batch (``training_step`` need not call the module's ``forward``) and are
        logged at the trainer's global step.  If the ``LightningModule`` defines
        ``trialwise_predictions(self)``, its result (the keyword arguments of
        ``tw.log_predictions``: ``ids``, ``y_true``, ``scores`` or ``y_pred``, ``split`` ...; or a
        list of them) is stored at the end of ``fit``, for ``trialwise errors``.

        Args:
            watch: attach the probes (default ``True``).
            every: probe every this many training batches.
            module: dotted attribute of the ``LightningModule`` to watch (``"net"``); default the
                module itself.
            input: record the mean and standard deviation of the batch's first floating tensor.
            predictions: call ``trialwise_predictions`` at the end of ``fit`` when it is defined.
        """

        def __init__(self, watch: bool = True, every: int = DEFAULT_EVERY, module: str | None = None,
                     input: bool = True, predictions: bool = True) -> None:  # noqa: A002
            super().__init__()
            self.watch = watch
            self.every = every
            self.module = module
            self.input = input
            self.predictions = predictions
            self.watcher: Any = None
            self._steps = StepMap()

        def _log_probe(self, metrics: dict[str, Any], step: int) -> None:
            import trialwise

            trialwise.log(metrics, step=self._steps.lookup(step))

        def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
            if not self.watch or not trainer.is_global_zero:
                return
            import trialwise

            target = pl_module
            if self.module:
                try:
                    target = operator.attrgetter(self.module)(pl_module)
                except AttributeError:
                    raise UsageError(f"TrialwiseCallback(module={self.module!r}): {type(pl_module).__name__} has "
                                     f"no attribute {self.module!r}. Give the dotted name of the submodule to "
                                     f"watch, e.g. module=\"net\", or leave it out to watch the whole module.") from None
            self.watcher = trialwise.watch(target, every=self.every, log=self._log_probe, input=self.input,
                                           hook_forward=False)

        def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
            w = self.watcher
            if w is None:
                return
            if w.steps % w.every == 0:
                self._steps.record(w.steps, int(trainer.global_step))
            args, kwargs = _batch_inputs(batch)
            w.step(*args, **kwargs)

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            if self.watcher is not None:
                self.watcher.end_step()

        def _close(self) -> None:
            if self.watcher is not None:
                self.watcher.close()
                self.watcher = None

        def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
            self._close()
            if not self.predictions or not trainer.is_global_zero:
                return
            hook = getattr(pl_module, PREDICTIONS_HOOK, None)
            if not callable(hook):
                return
            import trialwise

            for kwargs in _prediction_calls(hook()):
                trialwise.log_predictions(**kwargs)

        def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
            self._close()

    for cls in (TrialwiseLogger, TrialwiseCallback):
        cls.__module__ = module_name
        cls.__qualname__ = cls.__name__
    return TrialwiseLogger, TrialwiseCallback
