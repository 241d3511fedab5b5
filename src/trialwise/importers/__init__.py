"""Import runs other tools recorded (TensorBoard, MLflow, W&B, CSV) so trialwise decides on them.

Each source module only reads: the whole source into a :class:`SourceRead` of
:class:`ImportedRun` records, checked before anything is stored (a malformed input is an error that
stores nothing). :func:`plan_import` groups the runs into experiments (``--group-by``, the seed from
``--seed-param``); :func:`write_import` stores what is not stored yet, in one transaction. The
source modules import their tool (``mlflow``, ``wandb``, ``tensorboard``) only when called.
"""

from __future__ import annotations

from trialwise.importers._csv import read_csv
from trialwise.importers._group import IMPORTED_KIND, ImportOptions, ImportPlan, plan_import
from trialwise.importers._mlflow import read_mlflow
from trialwise.importers._model import SOURCES, ImportedRun, SourceRead
from trialwise.importers._tensorboard import read_tensorboard
from trialwise.importers._wandb import read_wandb
from trialwise.importers._write import ImportReport, write_import

__all__ = ["IMPORTED_KIND", "SOURCES", "ImportOptions", "ImportPlan", "ImportReport", "ImportedRun", "SourceRead",
           "plan_import", "read_csv", "read_mlflow", "read_tensorboard", "read_wandb",
           "write_import"]
