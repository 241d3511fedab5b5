"""A plain PyTorch loop on the digits, written the way many people write one.

It prints its own JSON lines: one per step (``{"step": 12, "loss": 2.1, "lr": 0.05}`` plus whatever
``--log-*`` asks for, under this script's own names: ``grad_norm``, ``grad_norm_first_layer``,
``grad_norm_last_layer``, ``grad/layer1`` ..., ``dead_relu_fraction``, ``batch_acc``), one per epoch
without a step (``{"epoch": 3, "train_loss": ..., "train_acc": ..., "val_loss": ..., "val_acc": ...}``)
and a final summary line without step or epoch (``{"best_val_acc": 0.97}``).  It does not import
trialwise unless ``--watch`` adds the probes.  The seed comes from ``TRIALWISE_SEED``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn


def args_() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--opt", default="sgd", choices=["sgd", "adam", "adamw"])
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--wd", type=float, default=0.0)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--bn", action="store_true")
    p.add_argument("--sched", default="none", choices=["none", "step", "cosine"])
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--augment", action="store_true", help="random 1-pixel shifts and pixel noise")
    p.add_argument("--patience", type=int, default=0, help="early stopping on val_loss (0: off)")
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--act", default="relu", choices=["relu", "sigmoid", "tanh"])
    p.add_argument("--init-gain", type=float, default=1.0, help="multiply every weight at init")
    p.add_argument("--bias-init", type=float, default=None, help="fill hidden biases with this")
    p.add_argument("--raw", action="store_true", help="feed 0-255 pixel values (no scaling)")
    p.add_argument("--sorted", action="store_true", help="train set sorted by class, never shuffled")
    p.add_argument("--val-from-train", action="store_true", help="validate on a slice of the train set")
    p.add_argument("--val-size", type=int, default=360)
    p.add_argument("--n-train", type=int, default=0, help="use only this many training examples")
    p.add_argument("--leak", action="store_true", help="append the one-hot label as 10 extra features")
    p.add_argument("--no-step", action="store_true", help="forget optimizer.step()")
    p.add_argument("--shuffle-labels", action="store_true", help="labels shuffled apart from inputs")
    p.add_argument("--log-grads", action="store_true")
    p.add_argument("--log-layers", action="store_true")
    p.add_argument("--log-dead", action="store_true")
    p.add_argument("--log-batch-acc", action="store_true")
    p.add_argument("--watch", action="store_true", help="add trialwise's probes (tw.watch)")
    p.add_argument("--save-data", action="store_true", help="write data/train.npz and data/val.npz")
    return p.parse_args()


def load(a: argparse.Namespace, seed: int):
    d = np.load(Path(__file__).resolve().parent.parent / "digits.npz")
    x, y = d["x"].astype(np.float32), d["y"].astype(np.int64)
    x = x * (255.0 / 16.0) if a.raw else x / 16.0
    order = np.random.default_rng(1234).permutation(len(y))
    val, train = order[: a.val_size], order[a.val_size:]
    if a.n_train:
        train = train[: a.n_train]
    if a.val_from_train:
        val = train[: a.val_size]
    xtr, ytr, xva, yva = x[train], y[train], x[val], y[val]
    if a.leak:
        xtr = np.concatenate([xtr, np.eye(10, dtype=np.float32)[ytr]], 1)
        xva = np.concatenate([xva, np.eye(10, dtype=np.float32)[yva]], 1)
    if a.shuffle_labels:
        ytr = np.random.default_rng(seed).permutation(ytr)
    if a.sorted:
        idx = np.argsort(ytr, kind="stable")
        xtr, ytr = xtr[idx], ytr[idx]
    if a.save_data:
        Path("data").mkdir(exist_ok=True)
        np.savez("data/train.npz", X=xtr, y=ytr)
        np.savez("data/val.npz", X=xva, y=yva)
    return torch.from_numpy(xtr), torch.from_numpy(ytr), torch.from_numpy(xva), torch.from_numpy(yva)


class MLP(nn.Module):
    def __init__(self, d_in: int, a: argparse.Namespace) -> None:
        super().__init__()
        act = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[a.act]
        blocks: list[nn.Module] = []
        self.hidden: list[nn.Linear] = []
        self.acts: list[nn.Module] = []
        for i in range(a.depth):
            lin = nn.Linear(d_in if i == 0 else a.width, a.width)
            self.hidden.append(lin)
            blocks.append(lin)
            if a.bn:
                blocks.append(nn.BatchNorm1d(a.width))
            f = act()
            self.acts.append(f)
            blocks.append(f)
            if a.dropout:
                blocks.append(nn.Dropout(a.dropout))
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(a.width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    img = x.view(-1, 8, 8)
    dx, dy = (int(v) for v in torch.randint(-1, 2, (2,), generator=gen))
    img = torch.roll(img, shifts=(dy, dx), dims=(1, 2))
    return (img + 0.05 * torch.randn(img.shape, generator=gen)).view(len(x), -1)


def grad_norm(params) -> float:
    sq = [float(p.grad.detach().pow(2).sum()) for p in params if p.grad is not None]
    return math.sqrt(sum(sq)) if sq else 0.0


def main() -> None:
    a = args_()
    seed = int(os.environ.get("TRIALWISE_SEED", "0"))
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    xtr, ytr, xva, yva = load(a, seed)
    model = MLP(xtr.shape[1], a)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.mul_(a.init_gain)
        if a.bias_init is not None:
            for lin in model.hidden:
                lin.bias.fill_(a.bias_init)
    watcher = None
    if a.watch:
        import trialwise as tw

        watcher = tw.watch(model, every=5)
    if a.opt == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.wd)
    elif a.opt == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=a.lr, weight_decay=a.wd)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd)
    steps_per_epoch = math.ceil(len(ytr) / a.batch_size)
    if a.sched == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, a.epochs // 3) * steps_per_epoch, gamma=0.3)
    elif a.sched == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs * steps_per_epoch)
    else:
        sched = None
    loss_fn = nn.CrossEntropyLoss(label_smoothing=a.label_smoothing)
    dead_counts: list[torch.Tensor] = []
    if a.log_dead:
        model.acts[0].register_forward_hook(lambda m, i, o: dead_counts.append((o <= 0).all(0).float().mean()))
    gen = torch.Generator().manual_seed(seed)
    step, best, since_best, best_val = 0, math.inf, 0, 0.0
    for epoch in range(a.epochs):
        model.train()
        perm = torch.arange(len(ytr)) if a.sorted else torch.randperm(len(ytr), generator=gen)
        tot_loss = tot_correct = 0.0
        for i in range(0, len(perm), a.batch_size):
            idx = perm[i: i + a.batch_size]
            xb = augment(xtr[idx], gen) if a.augment else xtr[idx]
            dead_counts.clear()
            out = model(xb)
            loss = loss_fn(out, ytr[idx])
            opt.zero_grad()
            loss.backward()
            rec = {"step": step, "loss": round(loss.item(), 6), "lr": opt.param_groups[0]["lr"]}
            if a.log_grads:
                rec["grad_norm"] = grad_norm(model.parameters())
                rec["grad_norm_first_layer"] = grad_norm(model.hidden[0].parameters())
                rec["grad_norm_last_layer"] = grad_norm(model.head.parameters())
            if a.log_layers:
                for k, lin in enumerate([*model.hidden, model.head], 1):
                    rec[f"grad/layer{k}"] = grad_norm(lin.parameters())
            if a.log_dead and dead_counts:
                rec["dead_relu_fraction"] = float(dead_counts[0])
            correct = float((out.argmax(1) == ytr[idx]).sum())
            if a.log_batch_acc:
                rec["batch_acc"] = correct / len(idx)
            if not a.no_step:
                opt.step()
            if sched is not None:
                sched.step()
            print(json.dumps(rec), flush=False)
            tot_loss += loss.item() * len(idx)
            tot_correct += correct
            step += 1
        model.eval()
        with torch.no_grad():
            logits = model(xva)
            val_loss = loss_fn(logits, yva).item()
            val_acc = float((logits.argmax(1) == yva).float().mean())
        best_val = max(best_val, val_acc)
        print(json.dumps({"epoch": epoch, "train_loss": tot_loss / len(ytr), "train_acc": tot_correct / len(ytr),
                          "val_loss": val_loss, "val_acc": val_acc}), flush=True)
        if a.patience:
            if val_loss < best - 1e-4:
                best, since_best = val_loss, 0
            else:
                since_best += 1
                if since_best >= a.patience:
                    print(f"early stopping at epoch {epoch}: val_loss has not improved for {a.patience} epochs")
                    break
    if watcher is not None:
        watcher.close()
    print(json.dumps({"best_val_acc": best_val}))


if __name__ == "__main__":
    main()
