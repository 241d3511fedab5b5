"""Synthetic training curves: a family of healthy runs, and one signature per failure mode.

Healthy runs vary everything a real run varies: per-step or per-epoch logging, length, number of
classes, decay shape, noise level, occasional loss spikes, accuracy rising to 0.9-0.99 with the
validation slightly below, naming conventions (Keras, Lightning, HF, TensorBoard), optional
learning-rate schedules, test sets and probe series.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trialwise.diagnose import RunSeries

NAMES = {
    "train_loss": ("loss", "train_loss", "train/loss", "training_loss", "Loss/train"),
    "val_loss": ("val_loss", "valid_loss", "validation_loss", "eval_loss", "val/loss"),
    "test_loss": ("test_loss", "Loss/test"),
    "train_acc": ("acc", "accuracy", "train_acc", "train/accuracy"),
    "train_acc_step": ("train_acc_step", "batch_acc"),
    "val_acc": ("val_acc", "val_accuracy", "val/accuracy", "eval_accuracy", "valid_acc"),
    "test_acc": ("test_acc", "Accuracy/test"),
    "lr": ("lr", "learning_rate", "lr-Adam"),
}


def _name(rng: np.random.Generator, role: str) -> str:
    options = NAMES[role]
    return options[int(rng.integers(len(options)))]


def shape(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Decay from 1 to 0 over t in [0, 1]: one or two exponentials (fast + slow component)."""
    tau1 = rng.uniform(0.04, 0.3)
    if rng.random() < 0.5:
        return np.exp(-t / tau1)
    tau2 = rng.uniform(0.3, 1.5)
    w = rng.uniform(0.5, 0.9)
    return w * np.exp(-t / tau1) + (1 - w) * np.exp(-t / tau2)


def _lognoise(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    return np.exp(rng.normal(0, sigma, n) - sigma**2 / 2)


def healthy(seed: int, *, mode: str | None = None, regression: bool = False, hard: bool = False) -> RunSeries:
    """One healthy run; ``mode`` 'step' or 'epoch' (random when ``None``).

    ``hard``: harsher but still healthy conditions - tiny validation sets (100 examples), noisier
    steps (up to 35%), more loss spikes (1%), fine-tuning starts (loss already below ln C).
    """
    rng = np.random.default_rng(seed)
    mode = mode or ("step" if rng.random() < 0.6 else "epoch")
    n_classes = int(rng.choice([2, 5, 10, 100]))
    l0 = (math.log(n_classes) if not regression else rng.uniform(0.5, 50)) * rng.uniform(0.95, 1.1)
    floor = l0 * (rng.uniform(0.01, 0.25) if not regression else rng.uniform(0.05, 0.45))
    epochs = int(rng.integers(5, 60)) if mode == "step" else int(rng.integers(5, 100))
    spe = int(rng.integers(20, 120)) if mode == "step" else 1
    n = epochs * spe
    steps = np.arange(n, dtype=float)
    t = steps / max(n - 1, 1)
    lr_kind = int(rng.integers(5))  # 4: no lr logged
    warm = rng.uniform(0.05, 0.3)
    if lr_kind == 3:  # warm-up: nothing happens until the learning rate has grown
        g = np.where(t < warm, 1.0, shape(np.clip(t - warm, 0, None) / (1 - warm), rng))
    elif lr_kind == 2:  # step decay (ResNet-style): the loss drops again at each decay
        base = shape(t, rng)
        g = base * np.where(t < 0.5, 1.0, np.where(t < 0.75, 0.5, 0.3))
    else:
        g = shape(t, rng)
    end = rng.uniform(0.0, 0.05)  # converged by the end: accuracy reaches 0.9-0.99
    g = (g - g[-1]) / (g[0] - g[-1]) * (1 - end) + end
    trend = floor + (l0 - floor) * g
    series: dict[str, tuple[np.ndarray, Any]] = {}
    sigma = rng.uniform(0.02, 0.35 if hard else 0.25) if mode == "step" else rng.uniform(0.005, 0.03)
    head_start = 0.0
    if hard and not regression and rng.random() < 0.3:  # fine-tuning a pre-trained model
        head_start = rng.uniform(0.3, 0.7)
        l0 *= 1 - head_start
    loss = trend * _lognoise(rng, n, sigma)
    if mode == "step":
        spikes = rng.random(n) < (0.01 if hard else 0.002)
        loss[spikes] *= rng.uniform(1.5, 3.0, spikes.sum())
    series[_name(rng, "train_loss")] = (steps, loss)
    ends = np.arange(spe - 1, n, spe)
    te = t[ends]
    ge = g[ends]
    # validation loss: same shape, slightly above training, a little noise
    vfloor = floor + l0 * rng.uniform(0.01, 0.1)
    regularized = rng.random() < 0.15
    vtrend = vfloor + (l0 - vfloor) * ge
    if regularized:  # dropout: training curves measured in train mode look worse than validation
        vtrend = vtrend * rng.uniform(0.75, 0.95)
    series[_name(rng, "val_loss")] = (steps[ends], vtrend * _lognoise(rng, len(ends), rng.uniform(0.005, 0.04)))
    config: dict[str, Any] = {"batch_size": int(rng.choice([16, 32, 64, 128]))}
    if regularized:
        config["dropout"] = 0.5
    if not regression:
        top = rng.uniform(0.9, 0.99)
        chance = 1.0 / n_classes + (top - 1.0 / n_classes) * head_start
        p = top - (top - chance) * g
        gap_end = rng.uniform(0.0, 0.03)
        pv = np.clip(p[ends] - gap_end * te + (0.02 if regularized else 0.0), 0, 1)
        n_val = 100 if hard else int(rng.choice([200, 500, 1000, 5000, 10000]))
        val_acc = np.clip(rng.binomial(n_val, pv) / n_val + rng.normal(0, 0.004, len(ends)), 0, 1)
        series[_name(rng, "val_acc")] = (steps[ends], val_acc)
        if mode == "step":
            batch = config["batch_size"]
            per_step = rng.binomial(batch, np.clip(p, 0, 1)) / batch
            if rng.random() < 0.5:
                series[_name(rng, "train_acc_step")] = (steps, per_step)
            epoch_acc = per_step.reshape(epochs, spe).mean(axis=1)
        else:  # an epoch's training accuracy is averaged while the model improves: it lags half an epoch
            lagged = np.interp(np.maximum(t - 0.5 / n, 0), t, p)
            epoch_acc = np.clip(lagged + rng.normal(0, 0.003, n), 0, 1)
        series[_name(rng, "train_acc")] = (steps[ends], epoch_acc)
        if rng.random() < 0.5:
            shift = rng.uniform(0, 0.01)
            test_acc = np.clip(val_acc - shift + rng.normal(0, 0.003, len(ends)), 0, 1)
            series[_name(rng, "test_acc")] = (steps[ends], test_acc)
    if lr_kind < 4:
        lr0 = 10 ** rng.uniform(-4, -1)
        if lr_kind == 0:
            lr = np.full(n, lr0)
        elif lr_kind == 1:
            lr = lr0 * 0.5 * (1 + np.cos(np.pi * t))
        elif lr_kind == 2:
            lr = lr0 * np.where(t < 0.5, 1.0, np.where(t < 0.75, 0.1, 0.01))
        else:
            lr = lr0 * np.minimum(1.0, np.maximum(t, 1e-3) / warm) * 0.5 * (1 + np.cos(np.pi * t))
        series[_name(rng, "lr")] = (steps, lr)
    if rng.random() < 0.5:
        series.update(probes(rng, steps[:: max(1, n // 60)]))
    return RunSeries(series, seed=seed, n_classes=None if regression else n_classes, config=config)


def probes(rng: np.random.Generator, at: np.ndarray, *, ratio: float | None = None, dead: float | None = None,
           saturated: float | None = None, first: float | None = None, input_mean: float | None = None,
           input_std: float | None = None, nonfinite_from: int | None = None) -> dict[str, tuple[np.ndarray, Any]]:
    """Probe series as ``trialwise.watch`` logs them; healthy values unless given."""
    k = len(at)
    ratio = ratio if ratio is not None else rng.uniform(0.3, 5)
    dead = dead if dead is not None else rng.uniform(0.0, 0.4)
    saturated = saturated if saturated is not None else rng.uniform(0.0, 0.3)
    first = first if first is not None else rng.uniform(0.05, 1.0)
    last = first / ratio if ratio > 0 else rng.uniform(0.05, 1.0)
    if input_mean is None:
        input_mean, input_std = (0.0, 1.0) if rng.random() < 0.5 else (0.3, 0.37)
    out = {
        "probe/grad_norm_ratio": (at, ratio * _lognoise(rng, k, 0.3)),
        "probe/grad_norm_first": (at, first * _lognoise(rng, k, 0.3)),
        "probe/grad_norm_last": (at, last * _lognoise(rng, k, 0.3)),
        "probe/grad_norm_max": (at, max(first, last) * _lognoise(rng, k, 0.3)),
        "probe/dead_frac_max": (at, np.clip(dead + rng.normal(0, 0.03, k), 0, 1)),
        "probe/dead_frac/fc1": (at, np.clip(dead + rng.normal(0, 0.03, k), 0, 1)),
        "probe/dead_frac/fc2": (at, np.clip(dead * 0.5 + rng.normal(0, 0.03, k), 0, 1)),
        "probe/saturated_frac_max": (at, np.clip(saturated + rng.normal(0, 0.03, k), 0, 1)),
        "probe/input_mean": (at, input_mean + rng.normal(0, 0.02 * max(1.0, abs(input_mean)), k)),
        "probe/input_std": (at, input_std * _lognoise(rng, k, 0.02)),
        "probe/update_ratio/fc1": (at, 1e-3 * _lognoise(rng, k, 0.3)),
        "probe/nonfinite_layer": (at, np.full(k, -1.0)),
    }
    if nonfinite_from is not None:
        nf = np.full(k, -1.0)
        nf[nonfinite_from:] = 1.0
        out["probe/nonfinite_layer"] = (at, nf)
    return out


# -- one signature per failure mode ------------------------------------------------------------------

def _base(seed: int, n: int = 1200, spe: int = 60) -> tuple[np.random.Generator, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    steps = np.arange(n, dtype=float)
    return rng, steps, np.arange(spe - 1, n, spe)


def _acc_from(rng: np.random.Generator, p: np.ndarray, n_val: int = 2000) -> np.ndarray:
    return rng.binomial(n_val, np.clip(p, 0, 1)) / n_val


def _flat_chance(seed: int, n_classes: int = 10, extra: dict | None = None) -> RunSeries:
    rng, steps, ends = _base(seed)
    ln_c = math.log(n_classes)
    loss = ln_c * _lognoise(rng, len(steps), 0.03)
    c = 1.0 / n_classes
    series = {"train_loss": (steps, loss), "val_loss": (steps[ends], ln_c * _lognoise(rng, len(ends), 0.01)),
              "val_acc": (steps[ends], _acc_from(rng, np.full(len(ends), c))),
              "train_acc": (steps[ends], _acc_from(rng, np.full(len(ends), c), 5000))}
    series.update(extra or {})
    return RunSeries(series, seed=seed, n_classes=n_classes)


def _good(seed: int, *, n_classes: int = 10, extra: dict | None = None, loss0: float | None = None) -> RunSeries:
    """A healthy 10-class per-step run with fixed, clean parameters (the base of several signatures)."""
    rng, steps, ends = _base(seed)
    t = steps / steps[-1]
    g = np.exp(-t / 0.15)
    ln_c = math.log(n_classes)
    loss = (0.1 + (ln_c - 0.1) * g) * _lognoise(rng, len(steps), 0.1)
    if loss0 is not None:
        loss = loss + (loss0 - ln_c) * np.exp(-steps / 5)
    p = 0.95 - (0.95 - 1 / n_classes) * g
    series = {"train_loss": (steps, loss),
              "val_loss": (steps[ends], (0.15 + (ln_c - 0.15) * g[ends]) * _lognoise(rng, len(ends), 0.02)),
              "val_acc": (steps[ends], _acc_from(rng, p[ends] - 0.02)),
              "train_acc": (steps[ends], _acc_from(rng, p[ends], 5000))}
    series.update(extra or {})
    return RunSeries(series, seed=seed, n_classes=n_classes)


def loss_divergence(seed: int) -> RunSeries:
    rng, steps, ends = _base(seed)
    loss = (0.3 + 2.0 * np.exp(-steps / 150)) * _lognoise(rng, len(steps), 0.1)
    k = int(rng.integers(500, 800))
    loss[k:] = np.nan
    vl = (0.4 + 2.0 * np.exp(-steps[ends] / 150))
    vl[steps[ends] >= k] = np.inf
    acc = np.where(steps[ends] < k, 0.8, 0.1)
    return RunSeries({"train_loss": (steps, loss), "val_loss": (steps[ends], vl), "val_acc": (steps[ends], acc)},
                     seed=seed, n_classes=10, status="failed")


def loss_divergence_climb(seed: int) -> RunSeries:
    rng, steps, ends = _base(seed)
    t = steps / steps[-1]
    trend = np.where(t < 0.3, 2.3 * np.exp(-t / 0.08), 2.3 * np.exp(-0.3 / 0.08) * np.exp((t - 0.3) * 7))
    return RunSeries({"train_loss": (steps, trend * _lognoise(rng, len(steps), 0.1))}, seed=seed)


def exploding_gradients(seed: int) -> RunSeries:
    rng, steps, _ = _base(seed)
    return _flat_chance(seed, extra=probes(rng, steps[::20], ratio=400.0))


def vanishing_gradients(seed: int) -> RunSeries:
    rng, steps, _ = _base(seed)
    return _flat_chance(seed, extra=probes(rng, steps[::20], ratio=1e-7, first=1e-8))


def dead_units(seed: int) -> RunSeries:
    rng, steps, _ = _base(seed)
    return _flat_chance(seed, extra=probes(rng, steps[::20], dead=0.97, ratio=0.0, first=0.0))


def saturated_units(seed: int) -> RunSeries:
    rng, steps, _ = _base(seed)
    return _flat_chance(seed, extra=probes(rng, steps[::20], saturated=0.92))


def unnormalized_input(seed: int) -> RunSeries:
    rng, steps, _ = _base(seed)
    return _good(seed, extra=probes(rng, steps[::20], input_mean=120.0, input_std=70.0))


def initial_loss(seed: int) -> RunSeries:
    return _good(seed, loss0=25.0)


def chance_level(seed: int) -> RunSeries:
    return _flat_chance(seed)


def random_labels(seed: int) -> RunSeries:
    rng, steps, ends = _base(seed)
    t = steps / steps[-1]
    loss = (2.3 - 1.2 * t**1.5) * _lognoise(rng, len(steps), 0.05)
    train = 0.1 + 0.6 * t[ends] ** 1.5
    series = {"train_loss": (steps, loss), "val_loss": (steps[ends], 2.3 + 0.8 * t[ends]),
              "val_acc": (steps[ends], _acc_from(rng, np.full(len(ends), 0.1))),
              "train_acc": (steps[ends], _acc_from(rng, train, 5000))}
    return RunSeries(series, seed=seed, n_classes=10)


def catastrophic_forgetting(seed: int) -> RunSeries:
    """Accuracy reaches 0.9 and then falls to 0.35 for good while the training loss stays low."""
    rng, steps, ends = _base(seed)
    t = steps / steps[-1]
    loss = (0.2 + 2.1 * np.exp(-t / 0.1)) * _lognoise(rng, len(steps), 0.1)
    te = t[ends]
    val = np.where(te < 0.5, 0.1 + 0.8 * (1 - np.exp(-te / 0.1)), 0.35)
    series = {"train_loss": (steps, loss), "val_acc": (steps[ends], _acc_from(rng, val))}
    return RunSeries(series, seed=seed, n_classes=10)


def class_sorted(seed: int) -> RunSeries:
    """Class-sorted data: per-step accuracy is 0 at each class block's start, high inside it."""
    rng, steps, ends = _base(seed, n=600, spe=60)
    block = 6
    pos = steps.astype(int) % block
    p = np.where(pos == 0, 0.0, np.where(pos == 1, 0.5, 0.97))
    per_step = rng.binomial(32, p) / 32
    loss = np.where(pos == 0, 6.0, np.where(pos == 1, 1.5, 0.1)) * _lognoise(rng, len(steps), 0.2)
    series = {"train_loss": (steps, loss), "train_acc_step": (steps, per_step),
              "train_acc": (steps[ends], per_step.reshape(-1, 60).mean(axis=1)),
              "val_acc": (steps[ends], _acc_from(rng, np.full(len(ends), 0.1)))}
    return RunSeries(series, seed=seed, n_classes=10)


def data_leakage(seed: int) -> RunSeries:
    rng, steps, ends = _base(seed)
    loss = (0.001 + 2.3 * np.exp(-steps / 15)) * _lognoise(rng, len(steps), 0.1)
    val_acc = np.clip(0.999 + rng.normal(0, 5e-4, len(ends)), 0, 1)
    series = {"train_loss": (steps, loss), "val_acc": (steps[ends], val_acc),
              "val_loss": (steps[ends], 0.003 * _lognoise(rng, len(ends), 0.1))}
    return RunSeries(series, seed=seed, n_classes=10)


def suspiciously_good(seed: int) -> RunSeries:
    rng, steps, ends = _base(seed)
    t = steps / steps[-1]
    g = np.exp(-t / 0.15)
    p = 0.75 - 0.65 * g
    series = {"train_loss": (steps, (0.8 + 1.5 * g) * _lognoise(rng, len(steps), 0.1)),
              "train_acc": (steps[ends], _acc_from(rng, p[ends], 5000)),
              "val_acc": (steps[ends], _acc_from(rng, p[ends] + 0.12))}
    return RunSeries(series, seed=seed, n_classes=10)


def overfitting(seed: int) -> RunSeries:
    rng, steps, ends = _base(seed)
    t = steps / steps[-1]
    train = (0.02 + 2.3 * np.exp(-t / 0.15)) * _lognoise(rng, len(steps), 0.1)
    te = t[ends]
    val = (0.5 + 1.8 * np.exp(-te / 0.12) + 0.9 * np.clip(te - 0.35, 0, None) ** 1.2) * _lognoise(rng, len(ends), 0.02)
    p = 0.99 - 0.89 * np.exp(-t / 0.15)
    series = {"train_loss": (steps, train), "val_loss": (steps[ends], val),
              "train_acc": (steps[ends], _acc_from(rng, p[ends], 5000)),
              "val_acc": (steps[ends], _acc_from(rng, p[ends] - 0.05 - 0.05 * te))}
    return RunSeries(series, seed=seed, n_classes=10)


def underfitting(seed: int) -> RunSeries:
    rng, steps, ends = _base(seed)
    t = steps / steps[-1]
    g = np.exp(-t / 0.15)
    p = 0.8 - 0.7 * g
    series = {"train_loss": (steps, (0.55 + 1.75 * g) * _lognoise(rng, len(steps), 0.1)),
              "train_acc": (steps[ends], _acc_from(rng, p[ends], 5000)),
              "val_acc": (steps[ends], _acc_from(rng, p[ends] - 0.02))}
    return RunSeries(series, seed=seed, n_classes=10)


def plateau_low(seed: int) -> RunSeries:
    rng, steps, ends = _base(seed)
    t = steps / steps[-1]
    g = np.exp(-t / 0.08)
    p = 0.45 - 0.35 * g
    series = {"train_loss": (steps, (1.6 + 0.7 * g) * _lognoise(rng, len(steps), 0.05)),
              "train_acc": (steps[ends], _acc_from(rng, p[ends], 5000)),
              "val_acc": (steps[ends], _acc_from(rng, p[ends] - 0.01)),
              "lr": (steps, np.full(len(steps), 1e-5))}
    return RunSeries(series, seed=seed, n_classes=10)


def slow_start(seed: int) -> RunSeries:
    rng, steps, ends = _base(seed)
    t = steps / steps[-1]
    g = np.where(t < 0.45, 1.0, np.exp(-(t - 0.45) / 0.1))
    p = 0.95 - 0.85 * g
    series = {"train_loss": (steps, (0.1 + 2.2 * g) * _lognoise(rng, len(steps), 0.05)),
              "train_acc": (steps[ends], _acc_from(rng, p[ends], 5000)),
              "val_acc": (steps[ends], _acc_from(rng, p[ends] - 0.02))}
    return RunSeries(series, seed=seed, n_classes=10)


def loss_oscillation(seed: int) -> RunSeries:
    rng, steps, ends = _base(seed)
    t = steps / steps[-1]
    first = 2.3 * np.exp(-t / 0.05)
    period = 120
    bounce = 1.0 + 0.6 * np.sign(np.sin(2 * np.pi * (steps + rng.integers(period)) / period))
    trend = np.where(t < 0.15, np.maximum(first, bounce), bounce)
    series = {"train_loss": (steps, trend * _lognoise(rng, len(steps), 0.1)),
              "val_acc": (steps[ends], _acc_from(rng, 0.75 + 0.1 * np.sign(np.sin(np.arange(len(ends))))))}
    return RunSeries(series, seed=seed, n_classes=10, config={"lr": 0.5})


def small_batch_noise(seed: int) -> RunSeries:
    rng, steps, ends = _base(seed, n=3000, spe=150)
    t = steps / steps[-1]
    g = np.exp(-t / 0.25)
    p = 0.95 - 0.85 * g
    series = {"train_loss": (steps, (0.1 + 2.2 * g) * _lognoise(rng, len(steps), 0.9)),
              "train_acc": (steps[ends], _acc_from(rng, p[ends], 5000)),
              "val_acc": (steps[ends], _acc_from(rng, p[ends] - 0.02))}
    return RunSeries(series, seed=seed, n_classes=10, config={"batch_size": 2})


def val_overfitting(seed: int) -> RunSeries:
    run = _good(seed)
    s = dict(run.series)
    steps, val = s["val_acc"]
    rng = np.random.default_rng(seed + 1)
    s["test_acc"] = (steps, np.clip(val - 0.035 + rng.normal(0, 0.002, len(val)), 0, 1))
    return RunSeries(s, seed=seed, n_classes=10)


def distribution_shift(seed: int) -> RunSeries:
    run = _good(seed)
    s = dict(run.series)
    steps, val = s["val_acc"]
    rng = np.random.default_rng(seed + 1)
    s["test_acc"] = (steps, np.clip(val - 0.2 + rng.normal(0, 0.003, len(val)), 0, 1))
    return RunSeries(s, seed=seed, n_classes=10)


def small_eval_set(seed: int) -> RunSeries:
    """A healthy run evaluated on 20 examples: accuracies are multiples of 0.05."""
    run = _good(seed)
    s = dict(run.series)
    steps, _ = s["val_acc"]
    rng = np.random.default_rng(seed)
    t = steps / steps[-1]
    s["val_acc"] = (steps, rng.binomial(20, np.clip(0.95 - 0.85 * np.exp(-t / 0.15), 0, 1)) / 20)
    return RunSeries(s, seed=seed, n_classes=10)


SIGNATURES = {
    "loss-divergence": (loss_divergence, loss_divergence_climb),
    "exploding-gradients": (exploding_gradients,),
    "vanishing-gradients": (vanishing_gradients,),
    "dead-units": (dead_units,),
    "saturated-units": (saturated_units,),
    "unnormalized-input": (unnormalized_input,),
    "initial-loss": (initial_loss,),
    "chance-level": (chance_level,),
    "random-labels": (random_labels,),
    "catastrophic-forgetting": (catastrophic_forgetting, class_sorted),
    "data-leakage": (data_leakage,),
    "suspiciously-good": (suspiciously_good,),
    "overfitting": (overfitting,),
    "underfitting": (underfitting,),
    "plateau-low": (plateau_low,),
    "slow-start": (slow_start,),
    "loss-oscillation": (loss_oscillation,),
    "small-batch-noise": (small_batch_noise,),
    "small-eval-set": (small_eval_set,),
    "val-overfitting": (val_overfitting,),
    "distribution-shift": (distribution_shift,),
}
"""code -> generators of a run showing that failure (each takes a seed)."""

GOALS = {"underfitting": 0.95}
"""Codes whose signature is judged against a goal (seed 004: bias = train error - goal)."""
