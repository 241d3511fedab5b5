"""Predictions in the store: artifacts of finished runs, loading them back, importing CSVs as runs.

A run's predictions live in its directory (``<run_dir>/predictions/<split>.parquet``); when the run
ends, :func:`register_predictions` references each file from the store as an artifact of kind
``"predictions"`` named after its split, so a store query finds them without walking directories.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trialwise._exceptions import DataError, GitError, UsageError
from trialwise.errors._predictions import PREDICTIONS_DIR, Predictions, predictions_path, read_predictions

if TYPE_CHECKING:
    from trialwise.store._records import Experiment, Run
    from trialwise.store._store import Store

__all__ = ["IMPORT_COMMIT", "IMPORT_KIND", "PREDICTIONS_KIND", "SOURCE_KIND", "ImportResult",
           "import_run_predictions", "load_run_predictions", "register_predictions", "run_splits"]

PREDICTIONS_KIND = "predictions"
"""Artifact kind of a per-example predictions file; the artifact's name is the split."""

IMPORT_KIND = "import"
"""Experiment kind of predictions imported from a CSV (``trialwise errors import``) without a run."""

SOURCE_KIND = "predictions-source"
"""Artifact kind recording an imported CSV (path; name ``<split>@sha256:<first 16 hex digits>``)."""

IMPORT_COMMIT = "imported"
"""``commit_sha`` of an imported experiment: no commit produced these predictions. The repository's HEAD
at import time is kept in ``launch["head"]``; storing it as the commit would make the import shadow the
real experiments of that commit when a git ref is resolved (the newest experiment of the commit wins)."""


def register_predictions(store: Store, run_id: str, run_dir: str | Path) -> list[Path]:
    """Reference every ``<run_dir>/predictions/*.parquet`` from the store (idempotent).

    Called when a run ends (:func:`trialwise.runner._record.record_run`); a file already
    referenced with the same split and path is not added twice.

    Returns
    -------
    list of Path
        The files newly referenced.
    """
    folder = Path(run_dir) / PREDICTIONS_DIR
    try:
        files = sorted(p.resolve() for p in folder.glob("*.parquet") if p.is_file())
    except OSError:
        return []
    if not files:
        return []
    known = {(a["name"], a["path"]) for a in store.artifacts(run_id=run_id) if a["kind"] == PREDICTIONS_KIND}
    added = []
    for f in files:
        if (f.stem, str(f)) not in known:
            store.add_artifact(f.stem, PREDICTIONS_KIND, str(f), run_id=run_id)
            added.append(f)
    return added


def _candidates(store: Store, run: Run, split: str) -> list[Path]:
    paths = [Path(a["path"]) for a in store.artifacts(run_id=run.id)
             if a["kind"] == PREDICTIONS_KIND and a["name"] == split]
    if run.run_dir:
        paths.append(predictions_path(run.run_dir, split))
    return paths


def run_splits(store: Store, run: Run) -> list[str]:
    """Splits with predictions for ``run`` (referenced from the store or present in its directory)."""
    names = {a["name"] for a in store.artifacts(run_id=run.id) if a["kind"] == PREDICTIONS_KIND
             and Path(a["path"]).is_file()}
    if run.run_dir:
        names |= {p.stem for p in (Path(run.run_dir) / PREDICTIONS_DIR).glob("*.parquet")}
    return sorted(names)


def load_run_predictions(store: Store, run: Run, split: str = "val") -> Predictions:
    """The predictions ``run`` logged on ``split``: via its artifacts, else its run directory.

    Raises
    ------
    DataError
        When the run has none for that split; the message lists the splits it has and how to log
        or import predictions.
    """
    for path in _candidates(store, run, split):
        if path.is_file():
            return read_predictions(path)
    have = run_splits(store, run)
    where = f"run {run.id} (seed {run.seed}, {run.status})"
    if have:
        raise DataError(f"{where} has no predictions on split {split!r}; it has {have}. Pass --split "
                        f"{have[0]}.")
    raise DataError(f"{where} has no per-example predictions. Log them in the training script with "
                    f"tw.log_predictions(ids, y_true, scores=..., loss=..., split={split!r}), or attach a CSV "
                    f"with `trialwise errors import preds.csv --run {run.id}`.")


@dataclass(frozen=True)
class ImportResult:
    """Where imported predictions went: the run (new or existing) and the file written."""

    experiment: Experiment
    run: Run
    path: Path
    created: bool
    predictions: Predictions

    def to_dict(self) -> dict[str, Any]:
        p = self.predictions
        return {"experiment": {"id": self.experiment.id, "name": self.experiment.name, "kind": self.experiment.kind},
                "run": {"id": self.run.id, "seed": self.run.seed}, "path": str(self.path), "created": self.created,
                "split": p.split, "n": p.n, "n_errors": p.n_errors, "error_rate": p.error_rate,
                "classes": list(p.classes) if p.classes is not None else None,
                "scores": None if p.scores is None else list(p.scores.shape), "loss": p.loss is not None}


def _import_experiment(store: Store, root: Path, name: str, csv_path: Path) -> Experiment:
    from trialwise.provenance import resolve_ref
    from trialwise.store._records import Experiment

    try:
        commit = resolve_ref(root, "HEAD")
        sha, branch = commit.sha, commit.branch
    except GitError:  # a repository without commits yet
        sha, branch = "unknown", None
    key = json.dumps({"kind": IMPORT_KIND, "name": name})
    return store.upsert_experiment(Experiment(
        id=hashlib.sha256(key.encode()).hexdigest()[:12], name=name, kind=IMPORT_KIND, commit_sha=IMPORT_COMMIT,
        ref=None, branch=None, command=["trialwise", "errors", "import", str(csv_path)],
        launch={"import": str(csv_path), "head": sha, "head_branch": branch}, profile=None, mode=None,
        metric_name=None, metric_direction=None, dirty=False, tag=None, created_at=time.time(),
    ))


def import_run_predictions(store: Store, root: str | Path, csv_path: str | Path, *, run: Run | None = None,
                           name: str | None = None, seed: int = 0, split: str = "val",
                           classes: Sequence[Any] | None = None, overwrite: bool = False) -> ImportResult:
    """Import a predictions CSV into the store so every ``trialwise errors``/``metrics`` command works on it.

    With ``run``, the predictions are attached to that existing run. Without, they become seed
    ``seed`` of an experiment of kind ``"import"`` named ``name`` (default: the CSV's file stem; the
    repository's HEAD is recorded as context, see :data:`IMPORT_COMMIT`); importing several CSVs under
    one name with different seeds builds a multi-seed experiment (stable errors, ``errors compare``).
    The CSV format is the one of :func:`~trialwise.errors.import_predictions_csv`.

    Parameters
    ----------
    store : Store
    root : path
        Repository root (runs are stored under ``.trialwise/runs``).
    csv_path : path
    run : Run, optional
        Attach to this run instead of creating one.
    name : str, optional
        Experiment name of a new import (also how to name it on the command line).
    seed : int
        Seed of the imported run within its experiment.
    split, classes
        As :func:`~trialwise.errors.import_predictions_csv`.
    overwrite : bool
        Replace predictions already stored for this run and split.

    Returns
    -------
    ImportResult
    """
    from trialwise.errors._predictions import import_predictions_csv
    from trialwise.runner._experiment import RUNS_DIR

    csv_file = Path(csv_path).resolve()
    preds = import_predictions_csv(csv_file, classes=classes, split=split)  # validate before touching the store
    created = False
    if run is not None:
        if name is not None:
            raise UsageError("--name names a new imported experiment; it cannot be combined with --run.")
        if not run.run_dir:
            raise UsageError(f"run {run.id} has no run directory to hold predictions; import without --run "
                             f"to create an imported run instead.")
        exp = store.experiment(run.experiment_id)
    else:
        exp_name = name or csv_file.stem
        clash = [e for e in store.find_experiments(exp_name) if e.kind != IMPORT_KIND and e.name == exp_name]
        if clash:
            raise UsageError(f"an experiment named {exp_name!r} already exists ({clash[0].id}, kind {clash[0].kind}); "
                             f"choose another --name, or attach to one of its runs with --run RUN.")
        exp = _import_experiment(store, Path(root), exp_name, csv_file)
        same_seed = [r for r in store.runs(exp.id) if r.seed == seed]
        if same_seed:
            run = same_seed[-1]
        else:
            now = time.time()
            run_id = store.create_run(experiment_id=exp.id, seed=seed, status="completed", started_at=now,
                                      ended_at=now, host=socket.gethostname(), user=getpass.getuser(),
                                      command=["trialwise", "errors", "import", str(csv_file)], exit_code=0)
            run_dir = (Path(root) / RUNS_DIR / run_id).resolve()
            store.update_run(run_id, run_dir=str(run_dir))
            run = store.run(run_id)
            created = True
    assert run is not None and run.run_dir
    target = predictions_path(run.run_dir, split)
    if target.exists() and not overwrite and not created:
        raise UsageError(f"run {run.id} (seed {run.seed}) already has predictions on split {split!r} ({target}); "
                         f"pass --overwrite to replace them, or --split NAME to store these as another split.")
    from trialwise.errors._predictions import _write

    path = _write(preds, run.run_dir)
    register_predictions(store, run.id, run.run_dir)
    digest = hashlib.sha256(csv_file.read_bytes()).hexdigest()[:16]
    store.add_artifact(f"{split}@sha256:{digest}", SOURCE_KIND, str(csv_file), run_id=run.id)
    return ImportResult(experiment=exp, run=run, path=path, created=created, predictions=preds)
