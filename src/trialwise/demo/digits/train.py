"""A small CNN on scikit-learn's bundled digits (8x8 images, 10 classes): the trialwise demo.

Runs standalone (``python train.py``) or under ``trialwise run``; logs with ``tw.log`` and reports
the final validation accuracy with ``tw.summary``.  The validation split is fixed (it defines the
metric); the seed changes initialisation and shuffling.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

import trialwise as tw

MOMENTUM = 0.9
LEARNING_RATE = 0.03  # the demo's "change" commit raises it to 0.1 (--lr 0.1 in its trialwise.toml)
VAL_FRACTION = 0.25
SPLIT_SEED = 0  # fixed: the validation set is part of the metric's definition


class SmallCNN(nn.Module):
    def __init__(self, width: int = 16, n_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
        )
        self.head = nn.Linear(8 * width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def load_data() -> tuple[torch.Tensor, ...]:
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    n_val = int(len(y) * VAL_FRACTION)
    val, train = order[:n_val], order[n_val:]
    return (torch.from_numpy(x[train]), torch.from_numpy(y[train]),
            torch.from_numpy(x[val]), torch.from_numpy(y[val]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=LEARNING_RATE)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    torch.set_num_threads(1)
    tw.init()
    seed = tw.seed_everything()
    tw.config(vars(args) | {"momentum": MOMENTUM, "seed": seed})
    x_tr, y_tr, x_val, y_val = load_data()
    model = SmallCNN(args.width)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    step = 0
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(y_tr), generator=gen)
        for i in range(0, len(perm), args.batch_size):
            idx = perm[i : i + args.batch_size]
            loss = loss_fn(model(x_tr[idx]), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tw.log({"train_loss": loss.item(), "lr": args.lr}, step=step)
            step += 1
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = loss_fn(logits, y_val).item()
            val_acc = (logits.argmax(1) == y_val).float().mean().item()
        tw.log({"val_loss": val_loss, "val_acc": val_acc, "epoch": epoch}, step=step)
    tw.summary(val_acc=val_acc, val_loss=val_loss)


if __name__ == "__main__":
    main()
