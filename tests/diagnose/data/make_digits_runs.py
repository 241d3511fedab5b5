"""Regenerate ``digits_runs.json.gz``: real training curves of the buggy digits trainer.

The trainer mirrors ``tests/diagnose_e2e/buggy_train.py`` (same data split, model, optimizer and
bugs) without trialwise, and logs approximations of the ``trialwise.watch`` probe series (gradient
norms per Linear layer, dead ReLU share, saturated sigmoid share, input statistics, update ratios,
first non-finite layer).  Needs torch and scikit-learn; about a minute on 2 cores::

    python tests/diagnose/data/make_digits_runs.py
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

CASES = {
    "healthy": {}, "lr_high": {"lr": 1.0}, "lr_low": {"lr": 1e-4}, "random_labels": {"random_labels": 1},
    "sorted": {"sorted": 1}, "leak": {"leak": 1}, "dead_relu": {"dead_relu": 1}, "deep_sigmoid": {"deep_sigmoid": 1},
    "explode": {"explode": 1}, "raw_pixels": {"raw_pixels": 1}, "healthy_long": {"epochs": 15},
    "accumulate_grads": {"accumulate_grads": 1},
}
SEEDS = (0, 1)


def build(a: dict) -> nn.Module:
    if a.get("deep_sigmoid"):
        layers: list[nn.Module] = [nn.Flatten()]
        d = 64
        for _ in range(12):
            layers += [nn.Linear(d, 32), nn.Sigmoid()]
            d = 32
        layers.append(nn.Linear(d, 10))
        return nn.Sequential(*layers)
    m = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    with torch.no_grad():
        for layer in m:
            if isinstance(layer, nn.Linear):
                if a.get("dead_relu") and layer.out_features == 64:
                    layer.bias.fill_(-8.0)
                if a.get("explode"):
                    layer.weight.mul_(6.0)
    return m


def run(a: dict, seed: int) -> dict[str, list[list[float]]]:
    torch.manual_seed(seed)
    lr, epochs, bs = a.get("lr", 0.05), a.get("epochs", 6), 32
    digits = load_digits()
    x = digits.data.astype(np.float32)
    if not a.get("raw_pixels"):
        x = x / 16.0
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    val, train = order[:400], order[400:]
    xtr, ytr, xv, yv = x[train], y[train].copy(), x[val], y[val]
    if a.get("random_labels"):
        ytr = np.random.default_rng(seed).permutation(ytr)
    if a.get("leak"):
        xtr, xv = xtr.copy(), xv.copy()
        xtr[:, :10], xv[:, :10] = 4.0 * np.eye(10, dtype=np.float32)[ytr], 4.0 * np.eye(10, dtype=np.float32)[yv]
    if a.get("sorted"):
        idx = np.argsort(ytr, kind="stable")
        xtr, ytr = xtr[idx], ytr[idx]
    xtr_t, ytr_t = torch.from_numpy(xtr).view(-1, 1, 8, 8), torch.from_numpy(ytr)
    xv_t, yv_t = torch.from_numpy(xv).view(-1, 1, 8, 8), torch.from_numpy(yv)
    model = build(a)
    lins = [m for m in model if isinstance(m, nn.Linear)]
    acts = [m for m in model if isinstance(m, (nn.ReLU, nn.Sigmoid))]
    outs: dict[int, torch.Tensor] = {}
    for i, m in enumerate(acts):
        m.register_forward_hook(lambda mod, inp, out, i=i: outs.__setitem__(i, out.detach()))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    series: dict[str, tuple[list[float], list[float]]] = {}

    def log(k: str, v: float, s: int) -> None:
        steps, values = series.setdefault(k, ([], []))
        steps.append(s)
        values.append(float(f"{float(v):.4g}"))

    step = 0
    for epoch in range(epochs):
        perm = torch.arange(len(ytr_t)) if a.get("sorted") else torch.randperm(len(ytr_t), generator=gen)
        correct = 0.0
        for i in range(0, len(perm), bs):
            idx = perm[i:i + bs]
            xb = xtr_t[idx]
            out = model(xb)
            loss = loss_fn(out, ytr_t[idx])
            if not a.get("accumulate_grads"):
                opt.zero_grad()
            loss.backward()
            probe = step % 5 == 0
            if probe:
                g = [layer.weight.grad.norm().item() for layer in lins]
                log("probe/grad_norm_first", g[0], step)
                log("probe/grad_norm_last", g[-1], step)
                log("probe/grad_norm_max", max(g), step)
                log("probe/grad_norm_ratio", g[0] / max(g[-1], 1e-30), step)
                dead, sat = [], []
                for j, m in enumerate(acts):
                    o = outs[j]
                    if isinstance(m, nn.ReLU):
                        dead.append((o <= 0).all(0).float().mean().item())
                        log(f"probe/dead_frac/{j}", dead[-1], step)
                    else:
                        sat.append(((o < 0.01) | (o > 0.99)).float().mean().item())
                        log(f"probe/saturated_frac/{j}", sat[-1], step)
                if dead:
                    log("probe/dead_frac_max", max(dead), step)
                if sat:
                    log("probe/saturated_frac_max", max(sat), step)
                log("probe/input_mean", xb.mean().item(), step)
                log("probe/input_std", xb.std().item(), step)
                bad = [j for j, layer in enumerate(lins) if not torch.isfinite(layer.weight.grad).all()]
                log("probe/nonfinite_layer", bad[0] if bad else -1, step)
                before = [layer.weight.detach().clone() for layer in lins]
            opt.step()
            if probe:
                for j, (layer, b) in enumerate(zip(lins, before, strict=True)):
                    log(f"probe/update_ratio/{j}", ((layer.weight.detach() - b).norm() / (b.norm() + 1e-12)).item(), step)
            batch_acc = (out.argmax(1) == ytr_t[idx]).float().mean().item()
            correct += batch_acc * len(idx)
            log("train_loss", loss.item(), step)
            log("train_acc_step", batch_acc, step)
            step += 1
        with torch.no_grad():
            logits = model(xv_t)
            log("val_loss", loss_fn(logits, yv_t).item(), step)
            log("val_acc", (logits.argmax(1) == yv_t).float().mean().item(), step)
        log("train_acc", correct / len(ytr_t), step)
        log("epoch", epoch, step)
    return {k: [s, v] for k, (s, v) in series.items()}


if __name__ == "__main__":
    torch.set_num_threads(1)
    data = {name: [run(a, s) for s in SEEDS] for name, a in CASES.items()}
    out = Path(__file__).with_name("digits_runs.json.gz")
    with gzip.open(out, "wt", encoding="utf-8") as fh:
        json.dump(data, fh, separators=(",", ":"))
    print(f"wrote {out} ({out.stat().st_size} bytes)")
