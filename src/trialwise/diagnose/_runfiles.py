"""Read what a run left in its run directory that speaks to its diagnosis (issue 15 items 7 and 9).

- Its train/validation arrays (``.npz`` with ``X``/``y``, ``.npy`` pairs such as ``train_x.npy`` and
  ``train_y.npy`` or ``X_train.npy`` and ``y_train.npy``, ``.csv``/``.tsv``/``.parquet`` tables with a
  ``label``/``target``/``y`` column), found by the split words in their names, checked by
  :func:`trialwise.diagnose._evidence.data_evidence`.
- The framework's model configuration: Lightning's ``hparams.yaml`` (``save_hyperparameters()``), a
  Hugging Face ``config.json`` (``save_pretrained``: ``num_labels``, ``id2label``).

Only the run's kept outputs are searched (``<run dir>/outputs``, the files it wrote into its worktree,
and the run directory itself); trialwise's own files (``config.json`` = ``tw.config``, ``metrics.jsonl``,
``predictions/``) are not the run's data.  Files larger than :data:`MAX_DATA_BYTES` are skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialwise.diagnose._evidence import DataEvidence, data_evidence
from trialwise.diagnose._params import _cast

__all__ = ["MAX_DATA_BYTES", "RunFiles", "read_run_files"]

MAX_DATA_BYTES = 256 * 1024 * 1024
"""A data file larger than this is not loaded for the diagnosis (``trialwise check leakage`` reads it)."""

MAX_DEPTH = 4
"""Directories below the outputs searched for data and configuration files."""

DATA_SUFFIXES = (".npz", ".npy", ".csv", ".tsv", ".parquet", ".pq")
_SPLIT_WORDS = {"train": ("train", "training", "trn"), "val": ("val", "valid", "validation", "dev", "eval")}
_FEATURE_WORDS = ("x", "features", "feature", "inputs", "input", "data", "images", "image")
_LABEL_WORDS = ("y", "labels", "label", "targets", "target")
LABEL_COLUMNS = ("label", "labels", "target", "targets", "y", "class")
"""Column names read as the label of a table file."""

_SKIP_DIRS = {"predictions", ".git", "__pycache__", ".trialwise"}
_OWN_FILES = {"config.json", "summary.json", "metrics.jsonl", "outputs.json"}
_TOKENS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class RunFiles:
    """The evidence files of one run: its data, and its framework configuration with each value's file."""

    data: DataEvidence | None = None
    config: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _walk(root: Path, depth: int = 0) -> list[Path]:
    out: list[Path] = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return out
    for p in entries:
        if p.is_symlink():
            continue
        if p.is_dir():
            if depth < MAX_DEPTH and p.name not in _SKIP_DIRS:
                out += _walk(p, depth + 1)
        elif p.is_file():
            out.append(p)
    return out


def _files(run_dir: Path) -> list[Path]:
    own = [p for p in sorted(run_dir.iterdir()) if p.is_file() and p.name not in _OWN_FILES] if run_dir.is_dir() \
        else []
    return own + _walk(run_dir / "outputs")


def _roles_of(path: Path) -> tuple[str | None, str | None]:
    """``(split, part)`` from the file name: split ``train``/``val``, part ``x``/``y``/``None`` (both)."""
    tokens = [t for t in _TOKENS.split(path.stem.lower()) if t]
    split = next((s for s, words in _SPLIT_WORDS.items() if any(t in words for t in tokens)), None)
    part = "y" if any(t in _LABEL_WORDS for t in tokens) else "x" if any(t in _FEATURE_WORDS for t in tokens) else None
    return split, part


@dataclass
class _Split:
    x: Any = None
    y: Any = None
    names: list[str] = field(default_factory=list)
    columns: list[str] | None = None


def _load_table(path: Path) -> tuple[Any, Any, list[str]]:
    import pandas as pd

    suffix = path.suffix.lower()
    df = pd.read_parquet(path) if suffix in (".parquet", ".pq") else pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    label = next((c for c in df.columns if str(c).lower() in LABEL_COLUMNS), None)
    y = df.pop(label).to_numpy() if label is not None else None
    numeric = df.select_dtypes(include="number")
    return numeric.to_numpy(dtype=float), y, [str(c) for c in numeric.columns]


def _load(path: Path, part: str | None, split: _Split) -> None:
    import numpy as np

    from trialwise.checks._files import NPZ_FEATURES, NPZ_LABELS

    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as arrays:
            x = next((arrays[k] for k in NPZ_FEATURES if k in arrays.files), None)
            y = next((arrays[k] for k in NPZ_LABELS if k in arrays.files), None)
        split.x = x if x is not None else split.x
        split.y = y if y is not None else split.y
    elif suffix == ".npy":
        arr = np.load(path, allow_pickle=False)
        if part == "y" or (part is None and arr.ndim == 1):
            split.y = arr
        else:
            split.x = arr
    else:
        x, y, columns = _load_table(path)
        if part == "y":
            split.y = x[:, 0] if x.shape[1] == 1 else y
        else:
            split.x, split.y, split.columns = x, y if y is not None else split.y, columns
    split.names.append(str(path))


def _data(run_dir: Path, files: list[Path]) -> tuple[DataEvidence | None, list[str]]:
    splits: dict[str, _Split] = {}
    notes: list[str] = []
    for p in files:
        if p.suffix.lower() not in DATA_SUFFIXES or p.name == "metrics.csv":
            continue
        split, part = _roles_of(p)
        if split is None:
            continue
        try:
            if p.stat().st_size > MAX_DATA_BYTES:
                notes.append(f"{p.relative_to(run_dir)} is larger than {MAX_DATA_BYTES >> 20} MB: not checked "
                             f"(run `trialwise check leakage` on it)")
                continue
            _load(p, part, splits.setdefault(split, _Split()))
        except Exception as exc:  # noqa: BLE001 - an unreadable file is a note, never a failed diagnosis
            notes.append(f"{p.relative_to(run_dir)} could not be read as data ({type(exc).__name__}: {exc})")
    tr, va = splits.get("train"), splits.get("val")
    if tr is None or tr.x is None:
        return None, notes

    def rel(s: _Split) -> str:
        return " + ".join(str(Path(n).relative_to(run_dir)) for n in s.names)

    try:
        ev = data_evidence(tr.x, tr.y, va.x if va is not None else None, va.y if va is not None else None,
                           train=rel(tr), val=rel(va) if va is not None and va.x is not None else None,
                           feature_names=tr.columns)
    except Exception as exc:  # noqa: BLE001
        notes.append(f"the data files {rel(tr)} could not be checked ({type(exc).__name__}: {exc})")
        return None, notes
    return ev, notes


_YAML_LINE = re.compile(r"^([A-Za-z_][\w.\-]*):\s*(.*?)\s*$")


def _hparams(path: Path) -> dict[str, Any]:
    """Top-level scalars of a Lightning ``hparams.yaml`` (``key: value`` lines; nested blocks skipped)."""
    out: dict[str, Any] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = _YAML_LINE.match(line)
        if m and m.group(2) and not m.group(2).startswith(("#", "!", "|", ">")):
            raw = m.group(2).strip("'\"")
            out[m.group(1)] = None if raw in ("null", "~") else _cast(raw)
    return out


def _model_config(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not ({"num_labels", "id2label", "architectures", "model_type"} & set(data)):
        return {}  # not a Hugging Face model configuration
    out = {k: v for k, v in data.items() if isinstance(v, (int, float, str, bool))}
    if isinstance(data.get("id2label"), dict):
        out["id2label"] = data["id2label"]
    return out


def read_run_files(run_dir: str | Path | None) -> RunFiles:
    """The evidence in ``run_dir`` (a missing or empty directory gives an empty :class:`RunFiles`)."""
    if not run_dir:
        return RunFiles()
    root = Path(run_dir)
    if not root.is_dir():
        return RunFiles()
    files = _files(root)
    config: dict[str, Any] = {}
    sources: dict[str, str] = {}
    notes: list[str] = []
    for p in files:
        if p.parent == root:
            continue
        try:
            values = _hparams(p) if p.name == "hparams.yaml" else _model_config(p) if p.name == "config.json" else None
        except (OSError, ValueError) as exc:
            notes.append(f"{p.relative_to(root)} could not be read ({exc})")
            continue
        for k, v in (values or {}).items():
            if k not in config:
                config[k] = v
                sources[k] = str(p.relative_to(root))
    data, data_notes = _data(root, files)
    return RunFiles(data, config, sources, tuple(notes + data_notes))
