"""A digits trainer with switchable, realistic bugs: the failure modes the diagnosis must name.

Bugs (each one flag): --lr (too high / too low), --random-labels, --sorted (class-sorted, never
shuffled), --leak (the label encoded in an input pixel), --dead-relu (large negative biases),
--deep-sigmoid (a deep sigmoid MLP: vanishing gradients), --explode (weights x6 at init),
--accumulate-grads (``optimizer.zero_grad()`` forgotten: the gradients pile up and explode),
--raw-pixels (unnormalized 0..16 inputs).  Healthy by default.

The knobs ``trialwise doctor`` and ``trialwise datasize`` turn through ``[params]`` (catalog
``confirm`` params): --shuffle (1 reshuffles every epoch even with --sorted), --init default (undoes
the initialisation bugs), --normalize-input (undoes --raw-pixels), --grad-clip, --data-fraction.
Every flag accepts dashes or underscores (``--random_labels 1``), so the default ``[params]``
template ``--{name} {value}`` reaches it.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

import trialwise as tw

EXPLODE_GAIN = 6.0
"""--explode multiplies every weight by this at initialisation."""

LEAK_PIXELS = 10
"""--leak writes the one-hot label into the first this many pixels (the top row of a digit is mostly
blank): an answer encoded in the input, as a label column left in a feature table."""

LEAK_SCALE = 4.0
"""... at this value (a leaked column is rarely scaled like the pixels around it)."""


def _flag(text: str) -> int:
    """``1``/``true``/``yes`` -> 1, ``0``/``false``/``no`` -> 0 (``[params]`` writes booleans as JSON)."""
    return int(str(text).strip().lower() in ("1", "true", "yes", "on"))


def build(args: argparse.Namespace) -> nn.Module:
    buggy_init = args.init != "default"
    if args.deep_sigmoid:
        layers: list[nn.Module] = [nn.Flatten()]
        width, d_in = 32, 64
        for _ in range(12):
            layers += [nn.Linear(d_in, width), nn.Sigmoid()]
            d_in = width
        layers.append(nn.Linear(d_in, 10))
        return nn.Sequential(*layers)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.Linear) and buggy_init:
                if args.dead_relu and m.out_features == 64:
                    m.bias.fill_(-8.0)
                if args.explode:
                    m.weight.mul_(EXPLODE_GAIN)
    return model


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser()

    def add(name: str, **kw: object) -> None:
        p.add_argument(f"--{name}", f"--{name.replace('-', '_')}", **kw)  # type: ignore[arg-type]

    add("lr", type=float, default=0.05)
    add("opt", default="sgd", help="sgd (momentum 0.9) | adam")
    add("epochs", type=int, default=6)
    add("batch-size", type=int, default=32)
    add("data-fraction", type=float, default=1.0)
    add("grad-clip", type=float, default=0.0)
    add("init", default="buggy", help="'default' undoes --dead-relu/--explode initialisation")
    add("shuffle", type=_flag, default=None, help="1: reshuffle every epoch (undoes --sorted's order)")
    add("normalize-input", type=_flag, default=0)
    for flag in ("random-labels", "sorted", "leak", "dead-relu", "deep-sigmoid", "explode", "raw-pixels",
                 "accumulate-grads"):
        add(flag, type=_flag, default=0)
    return p.parse_args()


def main() -> None:
    args = parse()
    torch.set_num_threads(1)
    tw.init()
    seed = tw.seed_everything()
    digits = load_digits()
    x = digits.data.astype(np.float32)
    if args.normalize_input:
        x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    elif not args.raw_pixels:
        x = x / 16.0
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    val, train = order[:400], order[400:]
    train = train[: max(10, int(round(args.data_fraction * len(train))))]
    x_tr, y_tr, x_val, y_val = x[train], y[train].copy(), x[val], y[val]
    tw.config(vars(args) | {"n_classes": 10, "n_train": len(y_tr)})
    if args.random_labels:
        y_tr = np.random.default_rng(seed).permutation(y_tr)
    if args.leak:
        x_tr = x_tr.copy()
        x_val = x_val.copy()
        x_tr[:, :LEAK_PIXELS] = LEAK_SCALE * np.eye(LEAK_PIXELS, dtype=np.float32)[y_tr]
        x_val[:, :LEAK_PIXELS] = LEAK_SCALE * np.eye(LEAK_PIXELS, dtype=np.float32)[y_val]
    if args.sorted:
        idx = np.argsort(y_tr, kind="stable")
        x_tr, y_tr = x_tr[idx], y_tr[idx]
    shuffle = not args.sorted if args.shuffle is None else bool(args.shuffle)
    x_tr, y_tr = torch.from_numpy(x_tr).view(-1, 1, 8, 8), torch.from_numpy(y_tr)
    x_val, y_val = torch.from_numpy(x_val).view(-1, 1, 8, 8), torch.from_numpy(y_val)
    model = build(args)
    watcher = tw.watch(model, every=5)
    opt = (torch.optim.Adam(model.parameters(), lr=args.lr) if args.opt == "adam"
           else torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9))
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    step = 0
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(y_tr), generator=gen) if shuffle else torch.arange(len(y_tr))
        correct = 0.0
        for i in range(0, len(perm), args.batch_size):
            idx = perm[i : i + args.batch_size]
            out = model(x_tr[idx])
            loss = loss_fn(out, y_tr[idx])
            if not args.accumulate_grads:
                opt.zero_grad()
            loss.backward()
            if args.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
            opt.step()
            batch_acc = (out.argmax(1) == y_tr[idx]).float().mean().item()
            correct += batch_acc * len(idx)
            tw.log({"train_loss": loss.item(), "train_acc_step": batch_acc}, step=step)
            step += 1
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = loss_fn(logits, y_val).item()
            val_acc = (logits.argmax(1) == y_val).float().mean().item()
        tw.log({"val_loss": val_loss, "val_acc": val_acc, "train_acc": correct / len(y_tr), "epoch": epoch}, step=step)
    watcher.close()


if __name__ == "__main__":
    main()
