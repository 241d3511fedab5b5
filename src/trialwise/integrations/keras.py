"""Keras 3: ``model.fit(..., callbacks=[TrialwiseCallback()])``.

``TrialwiseCallback`` records the epoch logs under Keras's own names (``loss``, ``accuracy``,
``val_loss``, ``val_accuracy`` ...; ``History``'s keys) and, every ``batch_every`` batches, the batch
logs as ``batch/<name>`` (Keras's running means within the epoch), all at the global batch count;
the configuration is ``model.get_config()`` (``model.*``), the optimizer's ``get_config()``
(``optimizer.*``) and ``fit``'s parameters (``fit.epochs``, ``fit.steps``).

Under ``trialwise run`` importing this module seeds the process with ``TRIALWISE_SEED`` through
``keras.utils.set_random_seed`` (Python, NumPy and the backend), so a model built after the import
differs per seed and is repeatable.  Keras picks its backend from ``KERAS_BACKEND`` (``torch``,
``jax``, ``tensorflow``) when it is first imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

try:
    import keras as _keras
except ImportError:  # pragma: no cover
    raise ImportError("trialwise.integrations.keras needs Keras 3: pip install 'keras>=3' and a backend "
                      "(KERAS_BACKEND=torch with PyTorch installed).") from None

from trialwise._exceptions import UsageError
from trialwise.integrations._common import flat_config, numeric_metrics, seed_once

__all__ = ["BATCH_PREFIX", "TrialwiseCallback"]

BATCH_PREFIX = "batch/"
"""Prefix of the per-batch series, after Keras's own TensorBoard callback (``batch_loss``); diagnose
reads ``batch/loss`` as the training loss when it is there (it has more points than the epoch's)."""

seed_once("keras", _keras.utils.set_random_seed)


def _get_config(obj: Any) -> dict[str, Any]:
    """``obj.get_config()``, or ``{}`` for what cannot say (subclassed models without a config)."""
    getter = getattr(obj, "get_config", None)
    if getter is None:
        return {}
    try:
        config = getter()
    except (NotImplementedError, TypeError, ValueError, AttributeError):
        return {}
    return dict(config) if isinstance(config, Mapping) else {}


class TrialwiseCallback(_keras.callbacks.Callback):  # type: ignore[misc]
    """Record a Keras ``fit``'s logs and configuration in the trialwise run.

    Args:
        batch_every: record the batch logs every this many batches (``0``: epoch logs only).
        config: more hyperparameters to record (nested ones become ``outer.inner``).
    """

    def __init__(self, batch_every: int = 1, config: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        if isinstance(batch_every, bool) or not isinstance(batch_every, int) or batch_every < 0:
            raise UsageError(f"TrialwiseCallback(batch_every=...) must be a whole number >= 0 (0 records epoch "
                             f"logs only). Got {batch_every!r} instead.")
        self.batch_every = batch_every
        self.extra_config = dict(config or {})
        self.global_step = 0
        """Training batches done in this ``fit`` (the step every point is logged at)."""
        self._epoch_start = 0

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        import trialwise

        self.global_step = self._epoch_start = 0
        model = self.model
        values: dict[str, Any] = {}
        if model is not None:
            values.update(flat_config({"model": _get_config(model)}))
            optimizer = getattr(model, "optimizer", None)
            if optimizer is not None:
                values.update(flat_config({"optimizer": _get_config(optimizer)}))
        values.update(flat_config({"fit": {k: v for k, v in (self.params or {}).items() if k != "verbose"}}))
        values.update(flat_config(self.extra_config))
        trialwise.config(values)

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._epoch_start = self.global_step

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        # ``batch`` is the index of the last batch run (with ``steps_per_execution`` > 1 this hook
        # runs once per execution), so the step is counted from it, not from the calls.
        self.global_step = self._epoch_start + int(batch) + 1
        if self.batch_every and logs and self.global_step % self.batch_every == 0:
            values = numeric_metrics(logs, prefix=BATCH_PREFIX)
            if values:
                import trialwise

                trialwise.log(values, step=self.global_step)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        import trialwise

        values = numeric_metrics(logs or {})
        values["epoch"] = int(epoch)
        trialwise.log(values, step=self.global_step)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        import trialwise

        trialwise.init().flush()
