"""``pytorch_lightning``: the same ``TrialwiseLogger`` and ``TrialwiseCallback`` as
:mod:`trialwise.integrations.lightning`, subclassing ``pytorch_lightning``'s base classes (a
``pytorch_lightning.Trainer`` accepts only those).  ``LightningCLI``:
``--trainer.logger=trialwise.integrations.pytorch_lightning.TrialwiseLogger``.
"""

from __future__ import annotations

try:
    import pytorch_lightning as _pl
except ImportError:  # pragma: no cover
    raise ImportError("trialwise.integrations.pytorch_lightning needs pytorch_lightning: "
                      "pip install pytorch_lightning (or use trialwise.integrations.lightning).") from None

from trialwise.integrations._lightning import DEFAULT_NAME, PREDICTIONS_HOOK, build, seed

__all__ = ["DEFAULT_NAME", "PREDICTIONS_HOOK", "TrialwiseCallback", "TrialwiseLogger"]

TrialwiseLogger, TrialwiseCallback = build(_pl, __name__)
seed(_pl, "lightning")  # one seeding per process for either package
