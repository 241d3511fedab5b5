"""A tiny Lightning module on scikit-learn's digits, logged with trialwise's Lightning integration.

``--pkg pytorch_lightning`` uses that package instead of ``lightning``; ``--fail-at N`` raises in
``training_step`` at global step N and ``--catch`` swallows the error (the run must still end as
failed).  The first stdout line is the torch seed the process was seeded with before the model
was built (``trialwise.integrations.lightning`` seeds it at import under ``trialwise run``).
"""
import argparse
import importlib
import json

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--pkg", default="lightning")
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--fail-at", type=int, default=-1)
parser.add_argument("--catch", action="store_true")
args = parser.parse_args()

if args.pkg == "lightning":
    import lightning as L
    from trialwise.integrations.lightning import TrialwiseCallback, TrialwiseLogger
else:
    import pytorch_lightning as L
    from trialwise.integrations.pytorch_lightning import TrialwiseCallback, TrialwiseLogger
print(json.dumps({"init_seed": torch.initial_seed()}))

x, y = load_digits(return_X_y=True)
x = torch.tensor(x / 16.0, dtype=torch.float32)
y = torch.tensor(y)
perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
train, val = perm[:1400], perm[1400:]


class Digits(L.LightningModule):
    def __init__(self, hidden: int = 32, lr: float = 0.1, optimizer: dict | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))

    def training_step(self, batch, batch_idx):
        if self.global_step == args.fail_at:
            raise RuntimeError("planned failure")
        xb, yb = batch
        loss = F.cross_entropy(self.net(xb), yb)
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        xb, yb = batch
        logits = self.net(xb)
        self.log("val/loss", F.cross_entropy(logits, yb))
        self.log("val/acc", (logits.argmax(1) == yb).float().mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    def trialwise_predictions(self):
        with torch.no_grad():
            scores = torch.softmax(self.net(x[val]), 1)
        return {"ids": val.tolist(), "y_true": y[val].numpy(), "scores": scores.numpy(), "split": "val"}


model = Digits(lr=args.lr, optimizer={"name": "sgd", "momentum": 0.0})
trainer = L.Trainer(max_epochs=args.epochs, logger=TrialwiseLogger(), callbacks=[TrialwiseCallback(every=5)],
                    log_every_n_steps=5, enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
try:
    trainer.fit(model, DataLoader(TensorDataset(x[train], y[train]), batch_size=64, shuffle=True),
                DataLoader(TensorDataset(x[val], y[val]), batch_size=256))
except RuntimeError:
    if not args.catch:
        raise
print(json.dumps({"logger_status": 1.0 if trainer.logger.status == "success" else 0.0}))
