"""The generalization suite of ``trialwise diagnose``: real digits trainings the detectors were not
tuned on, from three independent script styles, healthy ones and the faults of seeds 002-004.

Frozen (issue 15): the cases and what each must be diagnosed as were written before the detectors
were changed; a change of a detector that makes a case fail is a regression, never a reason to edit
the case.  ``tests/diagnose_general/test_general.py`` asserts every case;
``benchmarks/bench_diagnose.py`` runs the same cases and writes the score table
(``benchmarks/results/diagnose.md``).

Script styles (``scripts/``), each written independently, each logging under its own names:

- ``plain``: a plain PyTorch loop printing JSON lines: per step ``loss``, ``lr`` and, when asked,
  ``grad_norm``, ``grad_norm_first_layer``, ``grad_norm_last_layer``, ``grad/layer1``...,
  ``dead_relu_fraction``, ``batch_acc``; per epoch ``train_loss``/``train_acc``/``val_loss``/``val_acc``
  without a step; a final ``best_val_acc`` summary line;
- ``lightning``: a LightningModule-style module whose fit loop writes Lightning's ``CSVLogger`` file
  (``train_loss_step``, ``train_loss_epoch``, ``val_acc``, ``lr-SGD``, ``grad_2.0_norm/...``, ``frac_dead``);
- ``hf``: a Hugging Face ``Trainer``-style loop printing the Trainer's dicts (``loss``, ``grad_norm``,
  ``learning_rate``, fractional ``epoch``; ``eval_loss``/``eval_accuracy``; the final ``train_runtime``
  summary).

A case with ``probes`` adds ``tw.watch(model)``; it is diagnosed twice: with every series, and with the
``probe/`` series left out (``blind``: what the script's own series alone can tell).  Faults name the
code that must come first (``first``: the acceptable first codes), the first cause when the evidence
can tell it (``cause``), and the other codes that may be reported at warning level or above
(``others``: consequences or look-alikes the evidence cannot rule out); healthy cases (``first``
empty) must get no finding at warning level or above.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).with_name("scripts")
SEEDS = 2
SEVERE = ("critical", "high", "warning")
"""Severities that count as an alarm; ``info`` findings are allowed on healthy runs."""

STYLE_SCRIPT = {"plain": "scripts/plain_train.py", "lightning": "scripts/lit_train.py", "hf": "scripts/hf_train.py"}

WITH, BLIND = "with probes", "without probes"
"""The two ways a case is diagnosed: every series; the ``probe/`` series left out."""


@dataclass(frozen=True)
class Expect:
    """What a diagnosis must say: ``first`` (acceptable first codes; empty: healthy), ``cause`` (the
    first cause of the first finding, ``None``: not decidable from the evidence), ``others``."""

    first: tuple[str, ...] = ()
    cause: str | None = None
    others: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return not self.first


@dataclass(frozen=True)
class Case:
    name: str
    style: str
    args: tuple[str, ...]
    what: str
    expect: Expect = field(default_factory=Expect)
    probes: bool = False
    blind: Expect | None = None
    """Expectation without the ``probe/`` series (cases with ``probes`` only; default: ``expect``)."""

    @property
    def command(self) -> list[str]:
        return [sys.executable, STYLE_SCRIPT[self.style], *self.args, *(("--watch",) if self.probes else ())]

    def modes(self) -> dict[str, Expect]:
        if not self.probes:
            return {BLIND: self.expect}
        return {WITH: self.expect, BLIND: self.blind or self.expect}


_CHANCE_SYMPTOMS = ("chance-level", "plateau-low", "underfitting", "slow-start")
_BLOWUP = ("loss-divergence", "exploding-gradients", "loss-oscillation")

CASES: tuple[Case, ...] = (
    # -- healthy, with realistic variety -------------------------------------------------------------
    Case("plain_sgd_steplr", "plain", ("--sched", "step", "--log-grads", "--log-layers"),
         "SGD + momentum, step schedule; logs its own gradient norms"),
    Case("plain_adam_cosine_bn", "plain", ("--opt", "adam", "--lr", "0.003", "--sched", "cosine", "--bn"),
         "Adam, cosine schedule, BatchNorm", probes=True),
    Case("plain_dropout_wd", "plain", ("--dropout", "0.3", "--wd", "5e-4", "--epochs", "10", "--log-dead"),
         "dropout 0.3 + weight decay; logs its dead-ReLU fraction"),
    Case("plain_augment_earlystop", "plain", ("--augment", "--patience", "2", "--epochs", "12", "--log-batch-acc"),
         "shift + noise augmentation, early stopping on val_loss; logs its running batch accuracy"),
    Case("plain_adam_long", "plain", ("--opt", "adam", "--lr", "0.003", "--epochs", "20"),
         "Adam for 20 epochs: val_loss creeps up while val_acc stays flat (issue 15 item 5)"),
    Case("lit_warmup_cosine", "lightning", ("--warmup-steps", "60", "--cosine", "--grad-norms"),
         "linear warm-up then cosine; Lightning's grad_norm() series"),
    Case("lit_label_smoothing", "lightning", ("--opt", "adam", "--lr", "0.002", "--label-smoothing", "0.1",
                                              "--log-dead"),
         "Adam with label smoothing 0.1 (its loss floor is far above 0)", probes=True),
    Case("hf_adamw_large_batch", "hf", ("--per_device_train_batch_size", "256", "--learning_rate", "0.01",
                                        "--warmup_steps", "5", "--weight_decay", "0.01", "--logging_steps", "2",
                                        "--num_train_epochs", "15"),
         "AdamW with a large batch, warm-up, linear decay"),
    Case("hf_cosine_warmup", "hf", ("--lr_scheduler_type", "cosine", "--warmup_steps", "20"),
         "AdamW, warm-up + cosine, gradient clipping", probes=True),
    # -- seed 002: "Loss bounces over epochs" / seed 003: "check the gradient (exploding or vanishing)" ---
    Case("plain_lr_high_tanh", "plain", ("--lr", "2", "--act", "tanh", "--log-grads"),
         "SGD lr 2 on a tanh MLP: loss and gradients blow up together after the first steps, loss stays finite",
         Expect(("loss-divergence",), "lr-too-high", (*_BLOWUP, *_CHANCE_SYMPTOMS))),
    Case("plain_lr_high_relu", "plain", ("--lr", "1.5", "--log-dead"),
         "SGD lr 1.5: a loss spike, then the ReLUs die (its own dead_relu_fraction) and accuracy sits at chance",
         Expect(("dead-units",), "lr-too-high", (*_BLOWUP, *_CHANCE_SYMPTOMS, "vanishing-gradients"))),
    Case("lit_lr_high", "lightning", ("--lr", "1.0",),
         "SGD lr 1.0: a loss spike, then dead ReLUs and chance level",
         Expect(("dead-units",), "lr-too-high", (*_BLOWUP, *_CHANCE_SYMPTOMS, "vanishing-gradients")),
         probes=True, blind=Expect(("chance-level", "loss-divergence"), "lr-too-high",
                                   (*_BLOWUP, *_CHANCE_SYMPTOMS))),
    Case("lit_accumulate_grads", "lightning", ("--manual-no-zero-grad", "--grad-norms"),
         "manual optimization without zero_grad: the gradient norm grows steadily, the loss climbs to ~1e2",
         Expect(("exploding-gradients",), "accumulating-gradients", (*_BLOWUP, *_CHANCE_SYMPTOMS))),
    # -- seed 003: "Check the activations: how many neurons fire? ReLU can induce dead neurons" ----------
    Case("plain_dead_bias", "plain", ("--bias-init", "-5", "--log-dead"),
         "hidden biases at -5: every ReLU dead from the first step (its own dead_relu_fraction = 1)",
         Expect(("dead-units",), "bad-init", (*_CHANCE_SYMPTOMS, "vanishing-gradients"))),
    Case("lit_dead_bias", "lightning", ("--bias-init", "-5"),
         "hidden biases at -5: every ReLU dead from the first step",
         Expect(("dead-units",), "bad-init", (*_CHANCE_SYMPTOMS, "vanishing-gradients")),
         probes=True, blind=Expect(("chance-level",), None, _CHANCE_SYMPTOMS)),
    Case("plain_deep_sigmoid", "plain", ("--act", "sigmoid", "--depth", "8", "--log-grads"),
         "8 sigmoid layers: the first layer's gradient is 1e-7 of the last's (its own grad_norm_first_layer)",
         Expect(("vanishing-gradients",), "saturating-activations", (*_CHANCE_SYMPTOMS, "saturated-units"))),
    Case("hf_deep_sigmoid", "hf", ("--hidden_act", "sigmoid", "--num_hidden_layers", "8"),
         "8 sigmoid layers under AdamW: stuck near chance",
         Expect(("vanishing-gradients",), "saturating-activations", (*_CHANCE_SYMPTOMS, "saturated-units")),
         probes=True, blind=Expect(("chance-level", "plateau-low"), None, _CHANCE_SYMPTOMS)),
    # -- seed 002: "Poor initialization" / "Poor set of input features: should the data be normalized?" ---
    Case("plain_bad_init", "plain", ("--init-gain", "6", "--log-grads"),
         "weights x6 at init: first loss ~7 x ln C with huge gradients, then it learns",
         Expect(("initial-loss",), "bad-init", (*_BLOWUP, "slow-start"))),
    Case("hf_bad_init", "hf", ("--init_gain", "6",),
         "weights x6 at init under AdamW with clipping: the first logged loss ~7 x ln C",
         Expect(("initial-loss",), "bad-init", (*_BLOWUP, "slow-start")), probes=True),
    Case("plain_raw_pixels", "plain", ("--raw", "--log-layers", "--save-data"),
         "0-255 pixel values: the first loss is 8 x ln C, then the ReLUs die; the run leaves data/*.npz",
         Expect(("unnormalized-input",), "raw-values", (*_BLOWUP, *_CHANCE_SYMPTOMS, "dead-units", "initial-loss",
                                                        "vanishing-gradients"))),
    Case("lit_unnormalized", "lightning", ("--unnormalized",),
         "0-255 pixel values: the network collapses to chance in the first steps",
         Expect(("unnormalized-input",), "raw-values", (*_BLOWUP, *_CHANCE_SYMPTOMS, "dead-units", "initial-loss",
                                                        "vanishing-gradients")),
         probes=True, blind=Expect(("chance-level",), None, (*_BLOWUP, *_CHANCE_SYMPTOMS, "initial-loss"))),
    # -- seed 002: "Catastrophic forgetting: data is presented sequentially instead of intermixed" --------
    Case("plain_sorted", "plain", ("--sorted", "--log-batch-acc"),
         "class-sorted data, never shuffled; logs its running batch accuracy",
         Expect(("catastrophic-forgetting",), "sequential-data", (*_BLOWUP, *_CHANCE_SYMPTOMS, "random-labels"))),
    Case("lit_sorted", "lightning", ("--no-shuffle",),
         "class-sorted data with shuffle=False (the ReLUs die as it chases each class)",
         Expect(("catastrophic-forgetting",), "sequential-data", (*_BLOWUP, *_CHANCE_SYMPTOMS, "random-labels",
                                                                  "dead-units")),
         probes=True),
    # -- seed 002: "Suspiciously good performance: encoded an answer in the input / test set too small" ---
    Case("plain_leak_onehot", "plain", ("--leak", "--save-data"),
         "the one-hot label appended to the inputs; the run leaves data/*.npz",
         Expect(("data-leakage",), "answer-encoded", ("suspiciously-good",))),
    Case("lit_val_overlap", "lightning", ("--val-overlap", "--save-data"),
         "the validation split drawn from the training split; the run leaves data/*_x.npy, *_y.npy",
         Expect(("data-leakage",), "split-overlap", ("suspiciously-good",))),
    Case("plain_tiny_val", "plain", ("--val-size", "20"),
         "a 20-example validation set: val_acc moves in steps of 0.05 and differs between seeds",
         Expect(("small-eval-set",), None, ("suspiciously-good",))),
    # -- seed 002: "won't go above random" / "plateaus at a strangely low performance" ------------------
    Case("plain_noop_step", "plain", ("--no-step", "--log-grads"),
         "optimizer.step() forgotten: gradients are computed, the weights never change",
         Expect(("chance-level",), "implementation-bug", ())),
    Case("hf_warmup_bug", "hf", ("--warmup_steps", "100000",),
         "warmup_steps far beyond the run: the learning rate never leaves ~1e-6",
         Expect(("chance-level",), "lr-too-low", ("plateau-low", "slow-start", "underfitting")), probes=True),
    Case("lit_too_much_reg", "lightning", ("--dropout", "0.7", "--wd", "0.03"),
         "dropout 0.7 and weight decay 0.03: training plateaus far below what the model can do (validation, "
         "without dropout, beats training)",
         Expect(("plateau-low", "underfitting"), "too-much-regularization", ("suspiciously-good",))),
    Case("plain_narrow", "plain", ("--width", "2",),
         "two hidden units: a model too small for ten classes (in one seed both units die)",
         Expect(("underfitting", "plateau-low"), None, ("chance-level", "dead-units")), probes=True),
    # -- seed 002: "Minibatch size is too small" / seed 004: bias-variance, glob misalignment -------------
    Case("plain_tiny_batch", "plain", ("--batch-size", "2", "--lr", "0.02", "--epochs", "3"),
         "batch size 2 with SGD + momentum: the step loss jumps by orders of magnitude, val_acc swings low",
         Expect(("small-batch-noise",), "batch-too-small", ("loss-oscillation", "underfitting", "overfitting"))),
    Case("plain_small_data", "plain", ("--n-train", "80", "--epochs", "40", "--opt", "adam", "--lr", "0.003"),
         "80 training examples for 40 epochs: train 1.0, val 0.83 and its loss rising",
         Expect(("overfitting",), "too-little-data", ())),
    Case("hf_misaligned_labels", "hf", ("--misaligned_labels", "--num_train_epochs", "20"),
         "labels shuffled apart from the inputs (seed 004's glob): train loss falls, eval stays at chance",
         Expect(("random-labels",), "misaligned-labels", ("chance-level", "overfitting"))),
)

BY_NAME: dict[str, Case] = {c.name: c for c in CASES}


# -- running the suite -----------------------------------------------------------------------------

CONFIG = f"""
command = "{sys.executable} {STYLE_SCRIPT['plain']}"
seeds = {SEEDS}
jobs = 2

[metric]
name = "val_acc"
"""


def digits_npz(path: Path) -> Path:
    """The digits (sklearn's ``load_digits``) as ``x``/``y`` arrays, loaded once for every run."""
    import numpy as np
    from sklearn.datasets import load_digits

    d = load_digits()
    np.savez_compressed(path, x=d.data.astype(np.uint8), y=d.target.astype(np.uint8))
    return path


@dataclass
class Lab:
    """A real git repository whose runs are the suite's cases: ``experiments[case] = experiment id``."""

    repo: Any
    experiments: dict[str, str] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return Path(self.repo.path)


def make_lab(path: Path) -> Lab:
    from tests.conftest import make_repo

    files = {f"scripts/{p.name}": p.read_text(encoding="utf-8") for p in sorted(SCRIPTS.glob("*.py"))}
    repo = make_repo(path, CONFIG, files)
    digits_npz(repo.path / "digits.npz")
    repo.commit("digits data")
    return Lab(repo)


def run_case(lab: Lab, case: Case) -> str:
    """Run both seeds of ``case`` with ``trialwise run``; the experiment id."""
    out = lab.repo.tw_json("run", "--", *case.command)
    bad = [r for r in out["runs"] if r["status"] != "completed"]
    if bad:
        raise AssertionError(f"{case.name}: runs did not complete: {bad}")
    lab.experiments[case.name] = out["experiment"]["id"]
    return out["experiment"]["id"]


def diagnose_case(lab: Lab, case: Case, mode: str) -> dict[str, Any]:
    """``trialwise diagnose``'s result for ``case`` as JSON-ready data, in-process (the same function
    the CLI calls), with or without the ``probe/`` series."""
    from trialwise.diagnose import diagnose_stored
    from trialwise.settings import load_config

    store = lab.repo.store()
    try:
        sd = diagnose_stored(store, lab.root, lab.experiments[case.name], load_config(lab.root),
                             ignore=("probe/",) if mode == BLIND else ())
        return json.loads(json.dumps(sd.diagnosis.to_dict(), default=str))
    finally:
        store.close()


# -- judging -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """How one diagnosis of one case compares with its expectation."""

    case: str
    mode: str
    healthy: bool
    top: str | None
    top_cause: str | None
    severe: tuple[str, ...]
    right_code: bool
    right_cause: bool
    unexpected: tuple[str, ...]

    @property
    def ok(self) -> bool:
        if self.healthy:
            return not self.severe
        return self.right_code and self.right_cause and not self.unexpected


def judge(case: Case, mode: str, diagnosis: Mapping[str, Any]) -> Verdict:
    exp = case.modes()[mode]
    findings = list(diagnosis["findings"])
    severe = tuple(f["code"] for f in findings if f["severity"] in SEVERE)
    top = findings[0] if findings else None
    top_code = top["code"] if top else None
    top_cause = top["causes"][0]["id"] if top and top["causes"] else None
    if exp.healthy:
        return Verdict(case.name, mode, True, top_code, top_cause, severe, not severe, True, severe)
    right_code = top_code in exp.first
    right_cause = exp.cause is None or top_cause == exp.cause
    allowed = set(exp.first) | set(exp.others)
    unexpected = tuple(c for c in severe if c not in allowed)
    return Verdict(case.name, mode, False, top_code, top_cause, severe, right_code, right_cause, unexpected)


@dataclass(frozen=True)
class Score:
    """The score table: per mode, right first code (and cause) over the faults, alarms on healthy runs."""

    verdicts: tuple[Verdict, ...]

    def faults(self, mode: str) -> list[Verdict]:
        return [v for v in self.verdicts if v.mode == mode and not v.healthy]

    def healthy(self, mode: str) -> list[Verdict]:
        return [v for v in self.verdicts if v.mode == mode and v.healthy]

    def rate(self, mode: str) -> tuple[int, int]:
        f = self.faults(mode)
        return sum(v.right_code for v in f), len(f)

    def rate_cause(self, mode: str) -> tuple[int, int]:
        f = self.faults(mode)
        return sum(v.right_code and v.right_cause for v in f), len(f)

    def alarms(self, mode: str) -> tuple[int, int]:
        h = self.healthy(mode)
        return sum(bool(v.severe) for v in h), len(h)

    def markdown(self, title: str) -> str:
        def pct(k: int, n: int) -> str:
            return f"{k}/{n} ({100 * k / n:.0f}%)" if n else "—"

        lines = [f"### {title}", "", "| | with `tw.watch` probes | without probes |", "|---|---|---|"]
        lines.append(f"| right first code (faults) | {pct(*self.rate(WITH))} | {pct(*self.rate(BLIND))} |")
        lines.append(f"| right first code and cause | {pct(*self.rate_cause(WITH))} | {pct(*self.rate_cause(BLIND))} |")
        lines.append(f"| healthy cases with a warning-level finding | {pct(*self.alarms(WITH))} | "
                     f"{pct(*self.alarms(BLIND))} |")
        lines.append(f"| fault cases with an unexpected warning-level finding | "
                     f"{pct(sum(bool(v.unexpected) for v in self.faults(WITH)), len(self.faults(WITH)))} | "
                     f"{pct(sum(bool(v.unexpected) for v in self.faults(BLIND)), len(self.faults(BLIND)))} |")
        lines += ["", "| case | mode | expected first | got first (cause) | ok | unexpected |", "|---|---|---|---|---|---|"]
        for v in self.verdicts:
            case = BY_NAME[v.case]
            exp = case.modes()[v.mode]
            want = "healthy" if exp.healthy else " or ".join(exp.first) + (f" ({exp.cause})" if exp.cause else "")
            got = "—" if v.top is None else f"{v.top} ({v.top_cause})"
            if v.healthy and v.top is not None and not v.severe:
                got += " [info]"
            lines.append(f"| {v.case} | {v.mode} | {want} | {got} | {'yes' if v.ok else 'no'} | "
                         f"{', '.join(v.unexpected) or ''} |")
        return "\n".join(lines) + "\n"


def run_suite(lab: Lab, cases: tuple[Case, ...] = CASES) -> Score:
    """Run (unless already run in ``lab``) and judge every case in every mode."""
    verdicts = []
    for case in cases:
        if case.name not in lab.experiments:
            run_case(lab, case)
        for mode in case.modes():
            verdicts.append(judge(case, mode, diagnose_case(lab, case, mode)))
    return Score(tuple(verdicts))
