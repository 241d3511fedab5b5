"""Training probes for PyTorch models: ``watch(model)`` logs ``probe/*`` series every N steps.

The series (gradient norms per layer and the first/last ratio, dead ReLU and saturated
sigmoid/tanh shares, update-to-weight ratios, input statistics, the first non-finite layer) feed the
diagnose layer (:mod:`trialwise.diagnose`).  ``import trialwise.probes`` does not import torch: the
implementation loads on first use of :func:`watch` or :class:`Watcher`.

Examples
--------
>>> import trialwise as tw                                    # doctest: +SKIP
>>> with tw.watch(model, every=50):                           # doctest: +SKIP
...     for x, y in loader:
...         loss = loss_fn(model(x), y); opt.zero_grad(); loss.backward(); opt.step()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trialwise._lazy import lazy_exports
from trialwise.probes._activations import (
    ACTIVATIONS,
    SIGMOID_SATURATION,
    TANH_SATURATION,
    Activation,
)

if TYPE_CHECKING:
    from trialwise.probes._watch import DEFAULT_EVERY, NonfiniteEvent, Watcher, watch

__all__ = [
    "ACTIVATIONS", "Activation", "DEFAULT_EVERY", "NonfiniteEvent", "SIGMOID_SATURATION", "TANH_SATURATION",
    "Watcher", "watch",
]

__getattr__, __dir__ = lazy_exports(__name__, {"_watch": ("DEFAULT_EVERY", "NonfiniteEvent", "Watcher", "watch")},
                                     globals())
