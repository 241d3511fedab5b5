"""pandas views of the store for notebooks (``trialwise.open_store()``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from trialwise.store._store import Store


def experiments_frame(store: Store) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([e.to_dict() for e in store.experiments()])


def runs_frame(store: Store, experiment_id: str | None = None) -> pd.DataFrame:
    """One row per run; summary metrics become ``summary.<key>`` columns."""
    import pandas as pd

    rows = []
    for run in store.runs(experiment_id):
        row = run.to_dict()
        summary = row.pop("summary")
        row.update({f"summary.{k}": v for k, v in summary.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def metrics_frame(store: Store, experiment_id: str | None = None, keys: list[str] | None = None) -> pd.DataFrame:
    """Long format: run_id, seed, key, step, value, time."""
    runs = store.runs(experiment_id)
    return store.metric_columns([r.id for r in runs], keys).frame({"seed": [r.seed for r in runs]})
