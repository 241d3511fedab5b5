"""Lightning: ``Trainer(logger=TrialwiseLogger(), callbacks=[TrialwiseCallback()])``.

Built on the ``lightning`` package (``lightning.pytorch``), or on ``pytorch_lightning`` when only that
one is installed; :mod:`trialwise.integrations.pytorch_lightning` always uses ``pytorch_lightning``.
From ``LightningCLI``: ``--trainer.logger=trialwise.integrations.lightning.TrialwiseLogger``.

Under ``trialwise run`` importing this module seeds the process with ``TRIALWISE_SEED`` through
``lightning.seed_everything(seed, workers=True)`` (a ``LightningCLI`` ``--seed_everything`` given
later wins; ``trialwise init`` maps the seed to it).
"""

from __future__ import annotations

try:
    import lightning.pytorch as _pl
except ImportError:  # pragma: no cover - exercised where only pytorch_lightning is installed
    try:
        import pytorch_lightning as _pl
    except ImportError:
        raise ImportError("trialwise.integrations.lightning needs Lightning: pip install lightning "
                          "(or pytorch_lightning).") from None

from trialwise.integrations._lightning import DEFAULT_NAME, PREDICTIONS_HOOK, build, seed

__all__ = ["DEFAULT_NAME", "PREDICTIONS_HOOK", "TrialwiseCallback", "TrialwiseLogger"]

TrialwiseLogger, TrialwiseCallback = build(_pl, __name__)
seed(_pl, "lightning")
