"""Recognize how a project trains, so ``trialwise init`` writes a configuration that works.

Scripts as their authors wrote them seed themselves and log under their framework's names; a
default configuration (``python train.py``, metric ``val_acc``, no seed mapping) then captures
nothing and runs N identical "seeds".  :func:`detect_project` reads the sources (no import, no
execution) and proposes the command, the seed mapping and the metric, from :data:`FRAMEWORKS`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Framework:
    """How one way of writing a training script is recognized and configured."""

    name: str
    marker: re.Pattern[str]
    subcommand: str
    seed_param: str | None
    metric_prefix: str = ""
    extra_args: str = ""


FRAMEWORKS = (
    Framework("LightningCLI", re.compile(r"\bLightningCLI\s*\("), " fit", "--seed_everything {value}"),
    Framework("Hugging Face Trainer (HfArgumentParser)", re.compile(r"\bHfArgumentParser\s*\("), "",
              "--seed {value}", metric_prefix="eval_", extra_args=" --output_dir $TRIALWISE_RUN_DIR/hf_output"),
    Framework("argparse", re.compile(r"""add_argument\(\s*["']--seed["']"""), "", "--seed {value}"),
    Framework("click/typer", re.compile(r"""(?:option|Option)\(\s*["']--seed["']"""), "", "--seed {value}"),
)
"""In order of precedence: a LightningCLI script also has no argparse of its own, an HF script's
``--seed`` is a ``TrainingArguments`` field."""

LOGGED_NAME = re.compile(r"""(?:self\.log|log_dict|tw\.log|\blog)\(\s*["']([A-Za-z0-9_/.\-]+)["']""")
"""Names logged with Lightning's ``self.log("val_acc", ...)`` or trialwise's ``tw.log``."""

LITERAL_KEY = re.compile(r"""["']([A-Za-z][A-Za-z0-9_/.\-]*)["']\s*:""")
"""Dict keys in the source (``{"val_acc": ...}`` printed as JSON, ``compute_metrics`` results)."""

METRIC_PREFERENCE = ("val_acc", "val_accuracy", "accuracy", "acc", "val_f1", "f1", "val_auc", "auc")
"""Decision-metric names, best first (seed 003: a single-number evaluation metric on held-out data)."""

EVAL_MARKS = ("val", "eval", "valid", "test")
MIN_MARKS = ("loss", "err", "error", "perplexity", "wer", "cer")
"""A metric whose name holds one of these is minimised."""

ENTRY_NAMES = ("train.py", "main.py", "run.py", "fit.py")
"""File names preferred as the training entry point."""


@dataclass(frozen=True)
class Detected:
    """What :func:`detect_project` proposes for ``trialwise.toml``, and why."""

    command: str
    seed_param: str | None = None
    metric: str = "val_acc"
    direction: str = "max"
    framework: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"command": self.command, "seed_param": self.seed_param, "metric": self.metric,
                "direction": self.direction, "framework": self.framework, "notes": self.notes}


def _entry(files: Mapping[str, str]) -> str | None:
    """The training script: a file with a ``__main__`` guard (one of :data:`ENTRY_NAMES` first,
    then the shallowest), else, as many training scripts run at top level without one, a file of
    one of :data:`ENTRY_NAMES`."""
    mains = [p for p, text in files.items() if "__main__" in text]
    candidates = mains or list(files)
    for name in ENTRY_NAMES:
        for path in sorted(candidates, key=lambda p: (p.count("/"), p)):
            if path.rsplit("/", 1)[-1] == name:
                return path
    return sorted(mains, key=lambda p: (p.count("/"), p))[0] if mains else None


FORMAT_LITERAL = re.compile(r"""(['"])((?:(?!\1)[^\n])*?\{[^{}\n]*\}(?:(?!\1)[^\n])*)\1""")
"""A one-line string literal with ``{}`` fields: a log line's format (``'Accuracy: {}/{}'``, f-strings)."""


def _printed_names(text: str) -> list[str]:
    """Metric names the script's log-line formats would give the text capture
    (``'Test set: Average loss: {:.4f}, Accuracy: {}/{}'`` → ``test_average_loss``, ``test_accuracy``)."""
    from trialwise.runner._text import text_pairs

    names: list[str] = []
    for m in FORMAT_LITERAL.finditer(text):
        names += list(text_pairs(re.sub(r"\{[^{}]*\}", "1", m.group(2).replace("\\n", " ").replace("\\t", " "))))
    return names


def _metric(text: str, prefix: str) -> tuple[str, str] | None:
    names = LOGGED_NAME.findall(text) + [prefix + k for k in LITERAL_KEY.findall(text)] + _printed_names(text)
    candidates = [n for n in names if any(m in n.lower() for m in EVAL_MARKS)] or (
        [n for n in names if n.startswith(prefix)] if prefix else [])
    for preferred in METRIC_PREFERENCE:
        for n in candidates:
            if n.lower().endswith(preferred):
                return n, "max"
    non_loss = [n for n in candidates if not any(m in n.lower() for m in MIN_MARKS)]
    if non_loss:
        return non_loss[0], "max"
    if candidates:
        return candidates[0], "min"
    return None


def detect_project(files: Mapping[str, str]) -> Detected:
    """Propose the training command, seed mapping and metric from ``{path: source}`` of the
    project's Python files."""
    entry = _entry(files)
    if entry is None:
        return Detected("python train.py", notes=[f"no script with `if __name__ == \"__main__\"` and none named "
                                                  f"{', '.join(ENTRY_NAMES)} found: set `command` to your training command"])
    text = files[entry]
    notes: list[str] = []
    for fw in FRAMEWORKS:
        if fw.marker.search(text):
            command = f"python {entry}{fw.subcommand}{fw.extra_args}"
            found = _metric(text, fw.metric_prefix)
            notes.append(f"{entry}: {fw.name}; the seed reaches it as `{fw.seed_param}`")
            metric, direction = found or ("val_acc", "max")
            if not found:
                notes.append("no evaluation metric name found in the source: set [metric] name")
            return Detected(command, fw.seed_param, metric, direction, fw.name, notes)
    found = _metric(text, "")
    notes.append(f"{entry}: no seed argument found; the script must seed itself from $TRIALWISE_SEED "
                 "(or add a --seed flag and set [params] seed)")
    metric, direction = found or ("val_acc", "max")
    return Detected(f"python {entry}", None, metric, direction, None, notes)
