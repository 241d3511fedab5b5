"""A fast synthetic objective for sweep tests: a known optimum plus seeded noise (pure Python).

val_acc peaks at lr = 10**LR_OPT (a U-shape on the log axis: the inverted parabola of seed 003);
width and opt move it far less than the seed noise; train_loss is lowest at a higher learning rate
(10**TRAIN_LR_OPT), as a training loss tuned alone would prefer.
"""

import argparse
import hashlib
import math
import os
import random
import time

import trialwise as tw

LR_OPT = -2.5
TRAIN_LR_OPT = -1.8
NOISE = 0.01
STEPS = 8

p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--width", type=int, default=64)
p.add_argument("--opt", default="adam")
p.add_argument("--sleep", type=float, default=0.0)
a = p.parse_args()

run = tw.init()
seed = int(os.environ.get("TRIALWISE_SEED", "0"))
key = f"{seed}|{a.lr!r}|{a.width}|{a.opt}".encode()
rng = random.Random(int(hashlib.sha256(key).hexdigest()[:12], 16))
d = math.log10(a.lr) - LR_OPT
final = 0.9 - 0.1 * d * d - 0.002 * ((a.width - 256) / 256) ** 2 - (0.001 if a.opt == "sgd" else 0.0)
final += rng.gauss(0.0, NOISE)
dt = math.log10(a.lr) - TRAIN_LR_OPT
train_final = 0.1 + 0.2 * dt * dt
tw.config({"lr": a.lr, "width": a.width, "opt": a.opt})
for step in range(STEPS):
    w = 1.0 - math.exp(-(step + 1) / 2.0)
    tw.log({"val_acc": final * w, "train_loss": train_final + (1 - w) + rng.gauss(0.0, 0.01)}, step=step)
    if a.sleep:
        time.sleep(a.sleep)
