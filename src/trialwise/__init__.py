"""trialwise: rigorous deep-learning experimentation and diagnosable training.

In a training script::

    import trialwise as tw
    tw.init()
    tw.seed_everything()
    tw.config({"lr": 3e-4})
    tw.log({"train_loss": 0.3}, step=120)
    tw.summary(val_acc=0.97)

``import trialwise`` stays light (no torch, scipy, pandas or SQLAlchemy); heavier parts load on use.
"""

from __future__ import annotations

from typing import Any

from trialwise._exceptions import (
    ConfigError,
    DataError,
    GitError,
    RefusedComparison,
    StoreError,
    TrialwiseError,
    UsageError,
)
from trialwise._version import __version__
from trialwise.api import config, finish, init, log, seed_everything, summary

__all__ = [
    "ConfigError", "DataError", "GitError", "RefusedComparison", "StoreError", "TrialwiseError",
    "UsageError", "__version__", "config", "finish", "init", "log", "log_predictions", "open_store",
    "seed_everything", "summary", "watch",
]


def open_store(path: str = ".", url: str | None = None) -> Any:
    """Open the repository's store; ``experiments_df()``, ``runs_df()``, ``metrics_df()`` give DataFrames."""
    from trialwise.store import open_store as _open

    return _open(path, url)


def watch(model: Any, every: int = 50, **kwargs: Any) -> Any:
    """Record gradient, activation and input statistics of a PyTorch ``model`` every ``every`` steps."""
    from trialwise.probes import watch as _watch

    return _watch(model, every=every, **kwargs)


def log_predictions(ids: Any, y_true: Any, y_pred: Any = None, scores: Any = None, loss: Any = None,
                    split: str = "val", inputs: Any = None, classes: Any = None) -> Any:
    """Store this run's per-example predictions (Parquet in the run directory) for error analysis."""
    from trialwise.errors import write_predictions

    return write_predictions(init().dir, ids, y_true, y_pred=y_pred, scores=scores, loss=loss,
                             split=split, inputs=inputs, classes=classes)
