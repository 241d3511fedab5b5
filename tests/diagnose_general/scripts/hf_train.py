"""A Hugging Face ``Trainer``-style loop on the digits, printing what the Trainer prints.

``TrainingArguments``-like options (``--learning_rate``, ``--per_device_train_batch_size``,
``--num_train_epochs``, ``--warmup_steps``, ``--weight_decay``, ``--lr_scheduler_type``,
``--logging_steps``, ``--max_grad_norm``); AdamW; every ``logging_steps`` a Python dict
``{'loss': 0.61, 'grad_norm': 1.9, 'learning_rate': 0.0004, 'epoch': 0.43}`` (loss averaged since the
last log, gradient norm before clipping, fractional epoch), after each epoch
``{'eval_loss': ..., 'eval_accuracy': ..., 'eval_runtime': ..., 'epoch': 1.0}`` and at the end the
``{'train_runtime': ..., 'train_loss': ..., 'epoch': 8.0}`` summary.  ``save_pretrained`` writes
``output/config.json`` with ``num_labels`` and ``id2label``.  The seed comes from ``TRIALWISE_SEED``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn


class DigitsClassifier(nn.Module):
    def __init__(self, num_labels: int, hidden: int, depth: int, act: str, init_gain: float) -> None:
        super().__init__()
        f = {"gelu": nn.GELU, "sigmoid": nn.Sigmoid, "relu": nn.ReLU}[act]
        layers: list[nn.Module] = []
        d = 64
        for _ in range(depth):
            layers += [nn.Linear(d, hidden), f()]
            d = hidden
        self.encoder = nn.Sequential(*layers)
        self.classifier = nn.Linear(d, num_labels)
        self.config = {"num_labels": num_labels, "id2label": {str(i): f"digit_{i}" for i in range(num_labels)},
                       "hidden_size": hidden, "num_hidden_layers": depth, "hidden_act": act,
                       "architectures": ["DigitsClassifier"]}
        if init_gain != 1.0:
            with torch.no_grad():
                for m in self.modules():
                    if isinstance(m, nn.Linear):
                        m.weight.mul_(init_gain)

    def forward(self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        logits = self.classifier(self.encoder(pixel_values))
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = nn.functional.cross_entropy(logits, labels)
        return out

    def save_pretrained(self, path: str) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "config.json").write_text(json.dumps(self.config, indent=2))


def schedule(kind: str, warmup: int, total: int):
    def f(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        if kind == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        return max(0.0, 1 - progress) if kind == "linear" else 0.5 * (1 + math.cos(math.pi * progress))
    return f


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--learning_rate", type=float, default=5e-3)
    p.add_argument("--per_device_train_batch_size", type=int, default=32)
    p.add_argument("--num_train_epochs", type=int, default=8)
    p.add_argument("--warmup_steps", type=int, default=0)
    p.add_argument("--weight_decay", type=float, default=0.0)
    p.add_argument("--lr_scheduler_type", default="linear", choices=["linear", "cosine", "constant"])
    p.add_argument("--logging_steps", type=int, default=10)
    p.add_argument("--max_grad_norm", type=float, default=1.0)
    p.add_argument("--hidden_size", type=int, default=64)
    p.add_argument("--num_hidden_layers", type=int, default=2)
    p.add_argument("--hidden_act", default="gelu")
    p.add_argument("--init_gain", type=float, default=1.0)
    p.add_argument("--misaligned_labels", action="store_true", help="labels loaded in a different order")
    p.add_argument("--eval_subset", type=int, default=0, help="evaluate on only this many examples")
    p.add_argument("--watch", action="store_true")
    a = p.parse_args()
    seed = int(os.environ.get("TRIALWISE_SEED", "0"))
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    d = np.load(Path(__file__).resolve().parent.parent / "digits.npz")
    x = torch.from_numpy((d["x"].astype(np.float32) - 4.88) / 6.02)
    y = torch.from_numpy(d["y"].astype(np.int64))
    order = torch.from_numpy(np.random.default_rng(7).permutation(len(y)))
    ev, tr = order[:360], order[360:]
    if a.eval_subset:
        ev = ev[: a.eval_subset]
    xtr, ytr = x[tr], y[tr]
    if a.misaligned_labels:
        ytr = ytr[torch.from_numpy(np.random.default_rng(seed).permutation(len(ytr)))]
    model = DigitsClassifier(10, a.hidden_size, a.num_hidden_layers, a.hidden_act, a.init_gain)
    watcher = None
    if a.watch:
        import trialwise as tw

        watcher = tw.watch(model, every=5)
    decay = [p_ for n, p_ in model.named_parameters() if not n.endswith("bias")]
    no_decay = [p_ for n, p_ in model.named_parameters() if n.endswith("bias")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.learning_rate)
    steps_per_epoch = math.ceil(len(ytr) / a.per_device_train_batch_size)
    total = steps_per_epoch * a.num_train_epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule(a.lr_scheduler_type, a.warmup_steps, total))
    gen = torch.Generator().manual_seed(seed)
    start = time.time()
    global_step, window, all_losses = 0, [], []
    for epoch in range(a.num_train_epochs):
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)
        for i in range(0, len(perm), a.per_device_train_batch_size):
            idx = perm[i: i + a.per_device_train_batch_size]
            loss = model(xtr[idx], labels=ytr[idx])["loss"]
            loss.backward()
            norm = float(nn.utils.clip_grad_norm_(model.parameters(), a.max_grad_norm))
            opt.step()
            sched.step()
            opt.zero_grad()
            global_step += 1
            window.append(loss.item())
            all_losses.append(loss.item())
            if global_step % a.logging_steps == 0:
                print({"loss": round(float(np.mean(window)), 4), "grad_norm": norm,
                       "learning_rate": sched.get_last_lr()[0], "epoch": round(global_step / steps_per_epoch, 2)})
                window = []
        model.eval()
        t0 = time.time()
        with torch.no_grad():
            out = model(x[ev], labels=y[ev])
        runtime = time.time() - t0
        print({"eval_loss": float(out["loss"]), "eval_accuracy": float((out["logits"].argmax(1) == y[ev]).float().mean()),
               "eval_runtime": round(runtime, 4), "eval_samples_per_second": round(len(ev) / max(runtime, 1e-6), 3),
               "eval_steps_per_second": round(1 / max(runtime, 1e-6), 3), "epoch": float(epoch + 1)})
    if watcher is not None:
        watcher.close()
    runtime = time.time() - start
    print({"train_runtime": round(runtime, 4), "train_samples_per_second": round(total * a.per_device_train_batch_size
                                                                                  / runtime, 3),
           "train_steps_per_second": round(total / runtime, 3), "train_loss": float(np.mean(all_losses)),
           "epoch": float(a.num_train_epochs)})
    model.save_pretrained("output")


if __name__ == "__main__":
    main()
