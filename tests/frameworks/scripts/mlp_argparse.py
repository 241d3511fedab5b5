"""A plain PyTorch script as its users write it: argparse with ``--seed`` default 1, and
``print({...})`` of a dict per epoch.  Nothing here knows trialwise."""
import argparse

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn


def main():
    parser = argparse.ArgumentParser(description="digits MLP")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    tr, va = perm[:1400], perm[1400:]
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        for idx in torch.randperm(len(tr)).split(64):
            batch = tr[idx]
            loss = F.cross_entropy(model(x[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            logits = model(x[va])
            val_loss = F.cross_entropy(logits, y[va]).item()
            val_acc = (logits.argmax(1) == y[va]).float().mean().item()
        print({"epoch": epoch, "train_loss": round(loss.item(), 4), "val_loss": round(val_loss, 4), "val_acc": round(val_acc, 4)})


if __name__ == "__main__":
    main()
