"""Logging cost through each framework integration against that framework's own loggers.

The same tiny training runs with each logger, every step logged (Lightning ``log_every_n_steps=1``,
Hugging Face ``logging_steps=1``, Keras batch logs every batch):

- Lightning: an MLP on scikit-learn's digits (batch 32, 440 steps) with no logger, ``CSVLogger``,
  ``TensorBoardLogger`` and ``trialwise.integrations.lightning.TrialwiseLogger``;
- Hugging Face: a 2-layer BERT built from a config (no download) on digits rows read as tokens
  (batch 32, 80 steps) with no reporting, ``report_to="tensorboard"`` and
  ``trialwise.integrations.transformers.TrialwiseCallback``;
- Keras 3 (PyTorch backend, when Keras is installed): the digits MLP with no callback,
  ``keras.callbacks.CSVLogger`` (epoch rows only: Keras has no per-batch CSV logger) and
  ``trialwise.integrations.keras.TrialwiseCallback``.

Two costs per variant and repeat: the *step time* (training time from the framework's train-begin
to train-end hook, divided by the steps) and the *logging time* per step (the time spent inside the
logger's or callback's own methods, timed around each call: ``log_metrics``/``save``/... for
Lightning's loggers, the ``on_*`` hooks of the Hugging Face and Keras callbacks).  The variants run
interleaved, in a rotating order, over :data:`REPEATS` repeats in this one process; the medians over
repeats are compared as ratios (absolute times depend on the machine).  Step-time ratios resolve
only what exceeds the run-to-run spread, which the results state; the logging time isolates the
logger itself.  ``tw.log`` writes from a background thread, whose work is in the step time only.  Probes are off: their cost is in
``results/probes.md``.  Writes ``results/integrations.json`` and ``results/integrations.md``.

Run: ``python benchmarks/bench_integrations.py``
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPEATS = 11
THREADS = 1
RESULTS = Path(__file__).parent / "results"
TMP = Path(tempfile.mkdtemp(prefix="tw-bench-integrations-"))
os.environ["TRIALWISE_RUN_DIR"] = str(TMP / "run")
os.environ["TRIALWISE_RUN_ID"] = "bench"
os.environ.pop("TRIALWISE_SEED", None)  # no import-time seeding: every variant seeds itself the same way
os.environ.setdefault("KERAS_BACKEND", "torch")

import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

X, Y = load_digits(return_X_y=True)


class Clock:
    """Training time between the framework's begin and end hooks, the steps it ran, and the time
    spent in the methods :meth:`time_methods` wrapped."""

    def __init__(self) -> None:
        self.start = self.seconds = self.logging = 0.0
        self.steps = 0

    def time_methods(self, obj: Any, names: list[str]) -> Any:
        """Wrap ``obj``'s methods ``names`` (on the instance) so that their time adds to ``logging``."""
        for name in names:
            method = getattr(obj, name)

            def timed(*args: Any, _method: Any = method, **kwargs: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return _method(*args, **kwargs)
                finally:
                    self.logging += time.perf_counter() - t0

            setattr(obj, name, timed)
        return obj

    def begin(self) -> None:
        self.start = time.perf_counter()

    def end(self, steps: int) -> None:
        self.seconds = time.perf_counter() - self.start
        self.steps = steps

    @property
    def per_step(self) -> tuple[float, float]:
        """(step seconds, logging seconds per step)."""
        n = max(self.steps, 1)
        return self.seconds / n, self.logging / n


def overridden(obj: Any, base: type, prefix: str = "on_") -> list[str]:
    """The hooks ``obj``'s class defines itself (not inherited from the framework's ``base``)."""
    own = set()
    for cls in type(obj).__mro__:
        if cls is base or cls is object:
            break
        own.update(k for k in vars(cls) if k.startswith(prefix) and callable(vars(cls)[k]))
    return sorted(own)


LIGHTNING_LOGGER_METHODS = ["log_metrics", "log_hyperparams", "save", "finalize", "after_save_checkpoint"]
"""What a Lightning ``Trainer`` calls on its logger while training."""


# -- Lightning ------------------------------------------------------------------------------------

def lightning_variants() -> dict[str, Callable[[], tuple[float, float]]]:
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    from trialwise.integrations.lightning import TrialwiseLogger

    x = torch.tensor(X / 16.0, dtype=torch.float32)
    y = torch.tensor(Y)

    class Digits(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.save_hyperparameters({"hidden": 32, "lr": 0.1})
            self.net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            xb, yb = batch
            logits = self.net(xb)
            loss = nn.functional.cross_entropy(logits, yb)
            self.log("train_loss", loss)
            self.log("train_acc", (logits.argmax(1) == yb).float().mean())
            return loss

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    class Timing(L.Callback):
        def __init__(self, clock: Clock) -> None:
            self.clock = clock

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            self.clock.begin()

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            self.clock.end(trainer.global_step)

    def fit(make_logger: Callable[[], Any]) -> tuple[float, float]:
        torch.manual_seed(0)
        clock = Clock()
        logger = make_logger()
        if logger:
            clock.time_methods(logger, LIGHTNING_LOGGER_METHODS)
        trainer = L.Trainer(max_epochs=10, logger=logger, callbacks=[Timing(clock)], log_every_n_steps=1,
                            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                            accelerator="cpu", default_root_dir=str(TMP / "lightning"))
        loader = DataLoader(TensorDataset(x[:1400], y[:1400]), batch_size=32, shuffle=True)
        trainer.fit(Digits(), loader)
        return clock.per_step

    return {
        "no logger": lambda: fit(lambda: False),
        "CSVLogger": lambda: fit(lambda: CSVLogger(str(TMP / "csv"))),
        "TensorBoardLogger": lambda: fit(lambda: TensorBoardLogger(str(TMP / "tb"))),
        "TrialwiseLogger": lambda: fit(TrialwiseLogger),
    }


# -- Hugging Face ---------------------------------------------------------------------------------

def transformers_variants() -> dict[str, Callable[[], tuple[float, float]]]:
    from transformers import (BertConfig, BertForSequenceClassification, PrinterCallback, Trainer,
                              TrainerCallback, TrainingArguments)
    from transformers.integrations import TensorBoardCallback
    from transformers.utils import logging as hf_logging

    from trialwise.integrations.transformers import TrialwiseCallback

    hf_logging.set_verbosity_error()
    ids = torch.tensor(X.astype(np.int64) + 1)
    labels = torch.tensor(Y)

    class Rows(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 1280

        def __getitem__(self, i: int) -> dict[str, Any]:
            return {"input_ids": ids[i], "labels": labels[i]}

    class Timing(TrainerCallback):
        def __init__(self, clock: Clock) -> None:
            self.clock = clock

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.clock.begin()

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.clock.end(state.global_step)

    def fit(report_to: str, callbacks: list[Any]) -> tuple[float, float]:
        torch.manual_seed(0)
        config = BertConfig(vocab_size=18, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=64, max_position_embeddings=64, num_labels=10)
        clock = Clock()
        args = TrainingArguments(output_dir=str(TMP / "hf"), max_steps=80, per_device_train_batch_size=32,
                                 logging_steps=1, save_strategy="no", report_to=report_to, disable_tqdm=True,
                                 use_cpu=True)
        trainer = Trainer(model=BertForSequenceClassification(config), args=args, train_dataset=Rows(),
                          callbacks=[Timing(clock), *callbacks])
        trainer.remove_callback(PrinterCallback)  # printing every log would cost the same in each variant
        for cb in trainer.callback_handler.callbacks:
            if isinstance(cb, (TensorBoardCallback, TrialwiseCallback)):
                clock.time_methods(cb, overridden(cb, TrainerCallback))
        trainer.train()
        return clock.per_step

    return {
        "no reporting": lambda: fit("none", []),
        "report_to=tensorboard": lambda: fit("tensorboard", []),
        "TrialwiseCallback": lambda: fit("none", [TrialwiseCallback()]),
    }


# -- Keras ----------------------------------------------------------------------------------------

def keras_variants() -> dict[str, Callable[[], tuple[float, float]]] | None:
    try:
        import keras
    except ImportError:
        return None
    from trialwise.integrations.keras import TrialwiseCallback

    x = (X / 16.0).astype("float32")

    class Timing(keras.callbacks.Callback):
        def __init__(self, clock: Clock) -> None:
            super().__init__()
            self.clock = clock
            self.batches = 0

        def on_train_begin(self, logs: Any = None) -> None:
            self.clock.begin()

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.batches += 1

        def on_train_end(self, logs: Any = None) -> None:
            self.clock.end(self.batches)

    def fit(callbacks: list[Any]) -> tuple[float, float]:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        clock = Clock()
        for cb in callbacks:
            clock.time_methods(cb, overridden(cb, keras.callbacks.Callback))
        model.fit(x[:1400], Y[:1400], epochs=3, batch_size=32, verbose=0, callbacks=[Timing(clock), *callbacks])
        return clock.per_step

    return {
        "no callback": lambda: fit([]),
        "CSVLogger": lambda: fit([keras.callbacks.CSVLogger(str(TMP / "keras.csv"))]),
        "TrialwiseCallback": lambda: fit([TrialwiseCallback()]),
    }


# -- measuring ------------------------------------------------------------------------------------

def measure(variants: dict[str, Callable[[], tuple[float, float]]]) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """(step seconds, logging seconds per step) of each variant in each repeat, in a rotating order
    (one warm-up fit each first)."""
    names = list(variants)
    for name in names:
        variants[name]()
    steps: dict[str, list[float]] = {n: [] for n in names}
    logging: dict[str, list[float]] = {n: [] for n in names}
    for r in range(REPEATS):
        for name in names[r % len(names):] + names[:r % len(names)]:
            step, log = variants[name]()
            steps[name].append(step)
            logging[name].append(log)
    return steps, logging


def main() -> None:
    torch.set_num_threads(THREADS)
    import trialwise as tw

    tw.init()
    frameworks: dict[str, Any] = {"Lightning": lightning_variants, "Hugging Face Transformers": transformers_variants,
                                  "Keras 3": keras_variants}
    ours = {"Lightning": "TrialwiseLogger", "Hugging Face Transformers": "TrialwiseCallback",
            "Keras 3": "TrialwiseCallback"}
    results: dict[str, Any] = {}
    versions = {"torch": torch.__version__}
    for framework, make in frameworks.items():
        variants = make()
        if variants is None:
            results[framework] = None
            continue
        samples, logging = measure(variants)
        med = {k: statistics.median(v) for k, v in samples.items()}
        log_med = {k: statistics.median(v) for k, v in logging.items()}
        base = next(iter(med.values()))
        first = next(iter(samples.values()))
        mine = ours[framework]
        results[framework] = {
            "seconds_per_step": samples, "logging_seconds_per_step": logging,
            "median_seconds_per_step": med, "median_logging_seconds_per_step": log_med,
            "ratio_to_no_logger": {k: v / base for k, v in med.items()},
            "step_time_trialwise_over": {k: med[mine] / v for k, v in med.items() if k != mine},
            "logging_time_trialwise_over": {k: log_med[mine] / v for k, v in log_med.items() if k != mine and v > 0},
            "step_time_spread_of_first_row": (max(first) - min(first)) / statistics.median(first),
        }
    tw.finish()
    for module in ("lightning", "transformers", "keras"):
        try:
            versions[module] = __import__(module).__version__
        except ImportError:
            versions[module] = None
    out = {"repeats": REPEATS, "threads": THREADS, "python": platform.python_version(), "versions": versions,
           "results": results}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "integrations.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = ["# Logging cost through the framework integrations", "",
             f"Same tiny training per framework, every step logged; {REPEATS} interleaved repeats in one process, "
             f"{THREADS} torch thread, CPU (Python {out['python']}, "
             + ", ".join(f"{k} {v}" for k, v in versions.items() if v) + "). Step time: training time per step; "
             "logging time: time inside the logger's or callback's own methods per step (see the benchmark's "
             "docstring). Medians over repeats; ratios are of those medians.", ""]
    for framework, res in results.items():
        lines += [f"## {framework}", ""]
        if res is None:
            lines += ["Not measured: the framework is not installed here.", ""]
            continue
        mine = ours[framework]
        lines += ["| logger | step (ms) | step ratio to the first row | logging per step (µs) |", "|---|---|---|---|"]
        for name, value in res["median_seconds_per_step"].items():
            lines.append(f"| {name} | {value * 1e3:.2f} | {res['ratio_to_no_logger'][name]:.3f}x | "
                         f"{res['median_logging_seconds_per_step'][name] * 1e6:.1f} |")
        lines += ["", f"{mine}'s logging time over: " + ", ".join(
            f"{k} {v:.2f}x" for k, v in res["logging_time_trialwise_over"].items()) + f"; its step time over: "
            + ", ".join(f"{k} {v:.3f}x" for k, v in res["step_time_trialwise_over"].items())
            + f". The step time of the first row varied by {res['step_time_spread_of_first_row']:.0%} "
            "(max - min over median) between repeats: step-time differences below that are noise.", ""]
    (RESULTS / "integrations.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
