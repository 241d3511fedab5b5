"""A LightningModule-style training of the digits, logging the way Lightning logs.

The module has ``training_step`` / ``validation_step`` / ``configure_optimizers`` and calls
``self.log(name, value, on_step=..., on_epoch=...)``; a small fit loop stands in for
``lightning.Trainer`` (importing Lightning costs seconds per run) and writes what Lightning's
``CSVLogger`` writes: ``lightning_logs/version_0/metrics.csv`` with an ``epoch`` and a ``step`` column,
``train_loss_step`` / ``train_acc_step`` every ``log_every_n_steps`` steps, ``*_epoch`` and ``val_*`` at
the last step of each epoch, ``lr-SGD`` / ``lr-Adam`` from a LearningRateMonitor, and, with
``--grad-norms``, the ``grad_2.0_norm/<param>`` and ``grad_2.0_norm_total`` of Lightning's
``grad_norm(module, norm_type=2)`` utility; ``hparams.yaml`` holds ``save_hyperparameters()``.
Nothing goes to stdout but Lightning-like chatter.  The seed comes from ``TRIALWISE_SEED``.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class DigitsModule(nn.Module):
    """What would be a ``LightningModule``: the model, its steps and its optimizer."""

    def __init__(self, hp: argparse.Namespace) -> None:
        super().__init__()
        self.hparams = dict(vars(hp))
        act = {"relu": nn.ReLU, "tanh": nn.Tanh}[hp.act]
        self.net = nn.Sequential(nn.Linear(64, hp.hidden), act(), nn.Dropout(hp.dropout),
                                 nn.Linear(hp.hidden, hp.hidden), act(), nn.Dropout(hp.dropout),
                                 nn.Linear(hp.hidden, hp.num_classes))
        if hp.act == "tanh":
            for m in self.net:
                if isinstance(m, nn.Linear):
                    nn.init.xavier_normal_(m.weight)
                    nn.init.zeros_(m.bias)
        if hp.bias_init is not None:
            with torch.no_grad():
                self.net[0].bias.fill_(hp.bias_init)
                self.net[3].bias.fill_(hp.bias_init)
        self._logged: dict[str, tuple[float, bool, bool]] = {}
        self._epoch_acc: dict[str, list[float]] = {}
        self._dead: list[float] = []
        self.net[1].register_forward_hook(self._count_dead)

    def _count_dead(self, module: nn.Module, inp: object, out: torch.Tensor) -> None:
        if self.training:
            self._dead.append(float((out <= 0).all(0).float().mean()))

    def log(self, name: str, value: torch.Tensor | float, on_step: bool = False, on_epoch: bool = True,
            prog_bar: bool = False) -> None:
        v = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
        self._logged[name] = (v, on_step, on_epoch)
        if on_epoch:
            self._epoch_acc.setdefault(name, []).append(v)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y, label_smoothing=self.hparams["label_smoothing"])
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True)
        self.log("train_acc", (logits.argmax(1) == y).float().mean(), on_step=True, on_epoch=True)
        if self.hparams["log_dead"] and self._dead:
            self.log("frac_dead", self._dead[-1], on_step=True, on_epoch=False)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y), prog_bar=True)
        self.log("val_acc", (logits.argmax(1) == y).float().mean(), prog_bar=True)

    def configure_optimizers(self):
        hp = self.hparams
        if hp["opt"] == "adam":
            opt = torch.optim.Adam(self.parameters(), lr=hp["lr"], weight_decay=hp["wd"])
        else:
            opt = torch.optim.SGD(self.parameters(), lr=hp["lr"], momentum=0.9, weight_decay=hp["wd"])
        total = hp["max_epochs"] * hp["steps_per_epoch"]
        warm = hp["warmup_steps"]

        def factor(step: int) -> float:
            if warm and step < warm:
                return (step + 1) / warm
            if hp["cosine"]:
                return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
            return 1.0

        return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def grad_norm(module: nn.Module, norm_type: float = 2.0) -> dict[str, float]:
    """Lightning's ``lightning.pytorch.utilities.grad_norm``: per-parameter and total p-norms."""
    norms = {f"grad_{norm_type}_norm/{n}": float(p.grad.norm(norm_type))
             for n, p in module.named_parameters() if p.grad is not None}
    if norms:
        norms[f"grad_{norm_type}_norm_total"] = float(torch.tensor(list(norms.values())).norm(norm_type))
    return norms


class CSVLogger:
    """Lightning's ``CSVLogger``: one row per ``log_metrics`` call, header the sorted union of keys."""

    def __init__(self, save_dir: str = "lightning_logs") -> None:
        self.dir = Path(save_dir) / "version_0"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict[str, float]] = []

    def log_hyperparams(self, hp: dict[str, object]) -> None:
        (self.dir / "hparams.yaml").write_text("".join(f"{k}: {v}\n" for k, v in sorted(hp.items())))

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.rows.append({**metrics, "step": step})

    def save(self) -> None:
        keys = sorted(set().union(*self.rows)) if self.rows else []
        with (self.dir / "metrics.csv").open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            w.writerows(self.rows)


def fit(module: DigitsModule, train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor],
        hp: argparse.Namespace, seed: int) -> None:
    logger = CSVLogger()
    logger.log_hyperparams(module.hparams)
    opt, sched = module.configure_optimizers()
    name = f"lr-{type(opt).__name__}"
    watcher = None
    if hp.watch:
        import trialwise as tw

        watcher = tw.watch(module, every=5)
    gen = torch.Generator().manual_seed(seed)
    x, y = train
    global_step = 0
    print(f"  | Name | Type       | Params\n0 | net  | Sequential | {sum(p.numel() for p in module.parameters())}")
    for epoch in range(hp.max_epochs):
        module.train()
        module._epoch_acc.clear()
        order = torch.arange(len(y)) if hp.no_shuffle else torch.randperm(len(y), generator=gen)
        for batch_idx, i in enumerate(range(0, len(y), hp.batch_size)):
            idx = order[i: i + hp.batch_size]
            module._dead.clear()
            loss = module.training_step((x[idx], y[idx]), batch_idx)
            if not hp.manual_no_zero_grad:
                opt.zero_grad()
            loss.backward()
            norms = grad_norm(module) if hp.grad_norms else {}
            opt.step()
            sched.step()
            if (global_step + 1) % hp.log_every_n_steps == 0:
                row = {f"{k}_step" if on_epoch else k: v for k, (v, on_step, on_epoch) in module._logged.items()
                       if on_step}
                row.update(norms)
                row[name] = sched.get_last_lr()[0]
                logger.log_metrics({**row, "epoch": epoch}, global_step)
            global_step += 1
        module.eval()
        train_means = {k: float(np.mean(v)) for k, v in module._epoch_acc.items()}
        module._epoch_acc.clear()
        with torch.no_grad():
            xv, yv = val
            for j in range(0, len(yv), 128):
                module.validation_step((xv[j: j + 128], yv[j: j + 128]), j // 128)
        val_means = {k: float(np.mean(v)) for k, v in module._epoch_acc.items()}
        steps = {f"{k}_epoch": v for k, v in train_means.items() if module._logged.get(k, (0, False))[1]}
        logger.log_metrics({**val_means, **steps, "epoch": epoch}, global_step - 1)
    if watcher is not None:
        watcher.close()
    logger.save()
    print(f"`Trainer.fit` stopped: `max_epochs={hp.max_epochs}` reached.")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--max-epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--opt", default="sgd", choices=["sgd", "adam"])
    p.add_argument("--wd", type=float, default=0.0)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--act", default="relu", choices=["relu", "tanh"])
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--cosine", action="store_true")
    p.add_argument("--log-every-n-steps", type=int, default=5)
    p.add_argument("--bias-init", type=float, default=None)
    p.add_argument("--unnormalized", action="store_true", help="raw 0-16 pixel values times 16")
    p.add_argument("--no-shuffle", action="store_true", help="DataLoader(shuffle=False) over class-sorted data")
    p.add_argument("--manual-no-zero-grad", action="store_true", help="manual optimization without zero_grad")
    p.add_argument("--val-overlap", action="store_true", help="val split drawn from the train split")
    p.add_argument("--grad-norms", action="store_true")
    p.add_argument("--log-dead", action="store_true")
    p.add_argument("--watch", action="store_true")
    p.add_argument("--save-data", action="store_true", help="data/*.npy as a LightningDataModule would cache them")
    hp = p.parse_args()
    seed = int(os.environ.get("TRIALWISE_SEED", "0"))
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    d = np.load(Path(__file__).resolve().parent.parent / "digits.npz")
    x = d["x"].astype(np.float32) * (16.0 if hp.unnormalized else 1.0 / 16.0)
    y = d["y"].astype(np.int64)
    rng = np.random.default_rng(99)
    order = rng.permutation(len(y))
    tr, va = order[300:], order[:300]
    if hp.val_overlap:
        va = rng.choice(tr, 300, replace=False)
    if hp.no_shuffle:
        tr = tr[np.argsort(y[tr], kind="stable")]
    if hp.save_data:
        Path("data").mkdir(exist_ok=True)
        for split, idx in (("train", tr), ("val", va)):
            np.save(f"data/{split}_x.npy", x[idx])
            np.save(f"data/{split}_y.npy", y[idx])
    hp.steps_per_epoch = math.ceil(len(tr) / hp.batch_size)
    module = DigitsModule(hp)
    fit(module, (torch.from_numpy(x[tr]), torch.from_numpy(y[tr])),
        (torch.from_numpy(x[va]), torch.from_numpy(y[va])), hp, seed)


if __name__ == "__main__":
    main()
