"""Real experiments for the report tests: a committed script that logs learning curves per step with
seeded noise (``effect.txt`` shifts them), run by the real ``trialwise`` CLI from a temp git repo."""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo, make_repo

PY = sys.executable

TRAIN = """
import math, os, random
import trialwise as tw
tw.init()
seed = int(os.environ["TRIALWISE_SEED"])
effect = float(open("effect.txt").read())
rng = random.Random(seed * 7919 + 1)
tw.config({"lr": 0.01 + effect, "note": open("note.txt").read().strip()})
diverge = os.path.exists("diverge.txt") and seed != 2  # seeds 0 and 1 blow up from step 18
STEPS = 30
for step in range(STEPS):
    loss = 2.3 * math.exp(-step / 8) + 0.1 + rng.gauss(0, 0.03) - effect
    if diverge and step >= 18:
        loss = float("nan") if step >= 24 else loss * 10 ** (step - 17)
    val_acc = 0.5 + 0.4 * (1 - math.exp(-step / 6)) + effect + rng.gauss(0, 0.01)
    row = {"train_loss": loss, "val_acc": val_acc, "train_acc": min(1.0, val_acc + 0.06)}
    if (step % 3 == 0 and seed != 2) or (seed == 1 and step == 1):  # steps only some seeds have
        row["sparse"] = float(step + seed)
    tw.log(row, step=step)
tw.log({"train_loss": 0.05 + rng.gauss(0, 0.001)}, step=STEPS - 1)  # a second point at one step: the last counts
extra = open("extra_key.txt").read().strip()
if extra:
    tw.log({extra: 1.0 + seed}, step=0)
"""


def config(seeds: int = 3, goal: float | None = None) -> str:
    return f"""
command = "{PY} train.py"
seeds = {seeds}
[metric]
name = "val_acc"
""" + (f"goal = {goal}\n" if goal is not None else "")


def branch(repo: Repo, name: str, effect: float, *, note: str = "plain", extra_key: str = "",
           diverge: bool = False) -> None:
    repo.git("checkout", "--quiet", "-b", name, "main")
    if diverge:
        repo.write("diverge.txt", "seeds 0 and 1 diverge")
    repo.write("effect.txt", str(effect))
    repo.write("note.txt", note)
    repo.write("extra_key.txt", extra_key)
    repo.commit(f"effect {effect}")
    repo.git("checkout", "--quiet", "main")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "repo", config(), {"train.py": TRAIN, "effect.txt": "0.0", "note.txt": "plain",
                                                   "extra_key.txt": ""})


class Page(HTMLParser):
    """What a test needs of a report page: every tag with its attributes, text, and script bodies."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self._script: dict[str, str | None] | None = None
        self._buf: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script, self._buf = dict(attrs), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._buf)))
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._buf.append(data)
        else:
            self.text.append(data)

    @property
    def body_text(self) -> str:
        return " ".join(self.text)

    def figures(self) -> dict[str, Any]:
        import json

        return {a["data-figure"]: json.loads(body) for a, body in self.scripts if a.get("data-figure")}


def parse(path: str | Path) -> Page:
    return Page(Path(path).read_text(encoding="utf-8"))
