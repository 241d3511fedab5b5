"""Metrics from plain log lines, as many public scripts print them (PyTorch's MNIST example:
``Test set: Average loss: 0.0479, Accuracy: 9845/10000 (98%)``).

The lowest-priority capture source (``text``): a series found anywhere else is taken from there.
A line gives ``name: number`` (or ``name = number``) pairs; ``9845/10000`` is read as the fraction
0.9845, and a leading label without a number (``Test set:``) prefixes the names
(``test_average_loss``, ``test_accuracy``).  Records are stepped by their order in the output, so
train and test lines stay in the order they happened.  Lines that are JSON or dicts are not text
records; long lines, and names that are progress or timing (:data:`IGNORED_NAMES`), are skipped.
"""

from __future__ import annotations

import re

from trialwise.runner._ingest import Point

PAIR_RE = re.compile(
    r"(?P<name>[A-Za-z][A-Za-z0-9_ ./-]{0,60}?)\s*[:=]\s*"
    r"(?P<num>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)(?:\s*/\s*(?P<den>\d+(?:\.\d+)?))?(?![\w.])"
)
"""``name: 0.123``, ``name = 1e-3``, ``Accuracy: 9845/10000``."""

LABEL_RE = re.compile(r"^\s*(?P<label>[A-Za-z][A-Za-z ]{0,30}?)\s*:\s*(?=[A-Za-z])")
"""A leading ``Test set:`` (a label followed by more words, not by a number)."""

LABEL_DROP = ("set", "data", "split", "results", "result", "metrics")
"""Words a label ends with that say nothing of the split (``Test set`` → ``test``)."""

IGNORED_NAMES = {"time", "eta", "elapsed", "it/s", "s/it", "seed", "pid", "port", "memory", "mem", "gpu", "cpu",
                 "date", "version", "step", "iter", "iteration", "batch", "batch_idx", "global_step"}
"""Names never read as metrics: timing, ids and counters (a step counter is not a measurement)."""

MAX_TEXT_LINE_CHARS = 500
"""Longer lines are dumps (configs, tensors), not log records."""

MAX_PAIRS_PER_LINE = 8


METRIC_WORDS = ("loss", "acc", "accuracy", "error", "err", "f1", "auc", "precision", "recall", "perplexity",
                "ppl", "bleu", "rouge", "iou", "map", "mse", "mae", "rmse", "score", "nll", "kl")
"""Words that name a measurement, to tell it from the words around a number in a phrase."""

SPLIT_WORDS = ("train", "training", "val", "valid", "validation", "dev", "test", "eval", "evaluation")
"""Words that name the data a measurement is on."""


def _words_around_a_number(words: list[str]) -> list[str]:
    """The name in a phrase with a count or an index in it: ``epoch 3 loss`` is the loss (at epoch
    3), ``top 5 accuracy`` is ``top5_accuracy``, and the PyTorch tutorial's ``Accuracy of the network
    on the 10000 test images`` is ``test_accuracy`` (the measurement before the number, its data after)."""
    numbers = [i for i, w in enumerate(words) if w.isdigit()]
    last = numbers[-1]
    if last > 0 and words[last - 1] == "top":
        return words[: last - 1] + ["top" + words[last]] + words[last + 1:]
    after = words[last + 1:]
    before = words[: numbers[0]]
    if any(w in METRIC_WORDS for w in after) or not any(w in METRIC_WORDS for w in before):
        return after
    split = [w for w in words if w in SPLIT_WORDS][:1]
    return split + [w for w in before if w in METRIC_WORDS]


def _key(label: str, name: str) -> str:
    words = re.sub(r"[^a-z0-9]+", " ", name.lower()).split()
    if any(w.isdigit() for w in words):
        words = _words_around_a_number(words)
    key = "_".join(words)
    if label:
        lw = re.sub(r"[^a-z0-9]+", " ", label.lower()).split()
        while lw and lw[-1] in LABEL_DROP:
            lw.pop()
        if lw:
            key = "_".join(lw) + "_" + key
    return key


def text_pairs(line: str) -> dict[str, float]:
    """The ``name: number`` pairs of one log line (empty for prose or over-long lines)."""
    if len(line) > MAX_TEXT_LINE_CHARS or ":" not in line and "=" not in line:
        return {}
    label_match = LABEL_RE.match(line)
    label = label_match.group("label") if label_match else ""
    rest = line[label_match.end():] if label_match else line
    out: dict[str, float] = {}
    for m in PAIR_RE.finditer(rest):
        name = m.group("name").strip(" ./-")
        key = _key(label, name) if name else ""
        if not key or name.lower() in IGNORED_NAMES or key.rsplit("_", 1)[-1] in IGNORED_NAMES:
            continue
        value = float(m.group("num"))
        if m.group("den"):
            den = float(m.group("den"))
            if den == 0:
                continue
            value /= den
        out[key] = value
        if len(out) >= MAX_PAIRS_PER_LINE:
            break
    return out


class TextRecords:
    """Points of text records, one line at a time, stepped by their order (shared by the final
    read and live ingestion, so both give the same steps)."""

    def __init__(self) -> None:
        self.position = 0

    def add(self, line: str, points: list[Point]) -> None:
        pairs = text_pairs(line)
        if not pairs:
            return
        for key, value in pairs.items():
            points.append((key, self.position, value, None, "text"))
        self.position += 1
