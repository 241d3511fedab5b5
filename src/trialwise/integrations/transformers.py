"""Hugging Face Transformers: ``Trainer(..., callbacks=[TrialwiseCallback()])``.

``TrialwiseCallback`` records what the ``Trainer`` logs (``loss``, ``grad_norm``, ``learning_rate``,
``eval_*``) at ``state.global_step``, the ``TrainingArguments`` as the run's config, the end-of-
training figures (``train_runtime``, ``train_loss`` ...) as its summary, and optionally probes on
the model (``watch=True``).

Under ``trialwise run`` importing this module seeds the process with ``TRIALWISE_SEED`` through
``transformers.set_seed`` (so a model built after the import differs per seed and is repeatable),
and the callback makes the ``Trainer`` use that seed too: ``TrainingArguments.seed`` (default 42,
which ``Trainer`` seeds with when it is built) is replaced by it, and the process is seeded again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

try:
    import transformers as _hf
    from transformers import TrainerCallback as _TrainerCallback
except ImportError:  # pragma: no cover
    raise ImportError("trialwise.integrations.transformers needs Hugging Face Transformers: "
                      "pip install 'transformers[torch]'.") from None

from trialwise.integrations._common import StepMap, env_seed, flat_config, numeric_metrics, seed_once
from trialwise.probes._watch import DEFAULT_EVERY

__all__ = ["END_OF_TRAINING_KEY", "TrialwiseCallback"]

END_OF_TRAINING_KEY = "train_runtime"
"""The ``Trainer`` logs once, when ``train()`` ends, a dict with this key (``train_runtime``,
``train_samples_per_second``, ``total_flos``, ``train_loss`` = the mean loss of the whole run ...):
those figures describe the run, so they become its summary, not one-point series."""


def _seed(seed: int, args: Any = None) -> None:
    if args is not None and getattr(args, "full_determinism", False):
        from transformers.trainer_utils import enable_full_determinism

        enable_full_determinism(seed)
    else:
        _hf.set_seed(seed)


seed_once("transformers", _seed)


class TrialwiseCallback(_TrainerCallback):  # type: ignore[misc]
    """Record a ``Trainer``'s logs, arguments and (optionally) probes in the trialwise run.

    Args:
        watch: attach ``tw.watch`` probes to the model (gradient norms per layer, dead and saturated
            units, update ratios); logged at the global step.
        every: probe every this many training forward passes (micro-batches).
        config: more hyperparameters to record beside the ``TrainingArguments`` (e.g. the model's
            ``config.to_dict()``); nested ones become ``outer.inner``.
    """

    def __init__(self, watch: bool = False, every: int = DEFAULT_EVERY, config: Mapping[str, Any] | None = None) -> None:
        self.watch = watch
        self.every = every
        self.extra_config = dict(config or {})
        self.watcher: Any = None
        self._steps = StepMap()
        self._seeded = False
        self._last: tuple[int, frozenset[str]] = (-1, frozenset())

    # -- seed ---------------------------------------------------------------------------------------
    def _use_run_seed(self, args: Any) -> None:
        """Make ``args.seed`` the run's seed and seed the process again (``Trainer.__init__`` seeded
        it with ``args.seed``, after this module's import-time seeding)."""
        self._seeded = True
        seed = env_seed()
        if seed is None or getattr(args, "seed", seed) == seed:
            return
        try:
            args.seed = seed
        except (AttributeError, dataclasses.FrozenInstanceError):  # pragma: no cover - frozen arguments
            pass
        _seed(seed, args)

    def on_init_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._use_run_seed(args)

    # -- life cycle ---------------------------------------------------------------------------------
    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if not self._seeded:  # added with trainer.add_callback, after the Trainer was built
            self._use_run_seed(args)
        if not state.is_world_process_zero:
            return
        import trialwise

        trialwise.config({**flat_config(args.to_dict()), **flat_config(self.extra_config)})
        if self.watch and model is not None and self.watcher is None:
            self.watcher = trialwise.watch(model, every=self.every, log=self._log_probe)

    def _log_probe(self, metrics: dict[str, Any], step: int) -> None:
        import trialwise

        trialwise.log(metrics, step=self._steps.lookup(step))

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.watcher is not None:
            self._steps.record(self.watcher.steps, int(state.global_step))

    def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        if not logs or not state.is_world_process_zero:
            return
        import trialwise

        values = numeric_metrics(logs)
        if END_OF_TRAINING_KEY in values:
            values.pop("epoch", None)
            trialwise.summary(values)
            return
        if values:
            trialwise.log(values, step=int(state.global_step))
            self._last = (int(state.global_step), frozenset(values))

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Mapping[str, Any] | None = None,
                    **kwargs: Any) -> None:
        """``Trainer.evaluate`` logs its metrics first (``on_log``); a trainer that does not still has them
        recorded here, once."""
        if not metrics or not state.is_world_process_zero:
            return
        step, seen = self._last
        values = {k: v for k, v in numeric_metrics(metrics).items() if not (step == state.global_step and k in seen)}
        if values:
            import trialwise

            trialwise.log(values, step=int(state.global_step))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.watcher is not None:
            self.watcher.close()
            self.watcher = None
        if state.is_world_process_zero:
            import trialwise

            trialwise.init().flush()
