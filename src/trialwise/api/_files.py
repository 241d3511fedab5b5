"""The files a run writes into its run directory; the runner ingests them into the store.

Only the runner (or a standalone run at exit) writes to the database, so training processes never
contend for it, and whatever reached these files survives ``kill -9`` of the script.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.jsonl"
"""One JSON object per background flush: ``{"t": time, "s": [steps], "m": [{key: value}]}``."""
CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.json"
STDOUT_FILE = "stdout.log"
STDERR_FILE = "stderr.log"
PREDICTIONS_DIR = "predictions"
"""Sub-directory of a run directory holding one Parquet file per split (``trialwise.errors``)."""

MAX_STEP = 2**63 - 1
"""Largest step the store's integer column holds (SQLite INTEGER, PostgreSQL BIGINT)."""

ENV_RUN_ID = "TRIALWISE_RUN_ID"
ENV_RUN_DIR = "TRIALWISE_RUN_DIR"
ENV_SEED = "TRIALWISE_SEED"
ENV_PROFILE = "TRIALWISE_PROFILE"
ENV_MODE = "TRIALWISE_MODE"
ENV_DRY_RUN = "TRIALWISE_DRY_RUN"
ENV_BACKEND = "TRIALWISE_BACKEND"
"""``local`` or ``ray``: the backend every launching command uses (``trialwise --backend``)."""
ENV_RAY_ADDRESS = "TRIALWISE_RAY_ADDRESS"
"""The Ray cluster when ``--address`` and ``[ray] address`` are not given."""


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON so that readers never see a half-written file."""
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    try:
        text = json.dumps(data, indent=1, sort_keys=True, default=str)
    except TypeError:  # names of mixed types nested inside (``{1: .., "a": ..}``) cannot be sorted
        text = json.dumps(data, indent=1, default=str)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default
