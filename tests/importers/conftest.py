"""The repository every import test imports into: a fresh git repo whose decision metric is val_acc."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo, make_repo

CONFIG = """
command = "python -c pass"
seeds = 3
[metric]
name = "val_acc"
direction = "max"
"""

EFFECT = 0.05
"""How much better the second group is than the first in every generated source (noise ≈ 0.005)."""

GROUPS = {0.1: 0.80, 0.01: 0.80 + EFFECT}
"""Learning rate → final validation accuracy of the runs every test source holds (2 groups × 3 seeds)."""

SEEDS = (0, 1, 2)


def accuracy(lr: float, seed: int, step: int, steps: int) -> float:
    """The validation accuracy a generated run logs at ``step``: rising to its group's level plus a
    seed's own offset (±0.008), so seeds differ and the groups' difference is :data:`EFFECT`."""
    return (GROUPS[lr] + 0.004 * ((seed * 7 + 3) % 5 - 2)) * (step + 1) / steps


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "repo", CONFIG, {"README.md": "imports\n"})


def counts(repo: Repo) -> dict[str, int]:
    """Rows per table of the repository's store (what an import added); ``metrics``: metric points."""
    from sqlalchemy import func, select

    from trialwise.store import _schema as S

    store = repo.store()
    try:
        with store._read() as conn:
            rows = {name: int(conn.execute(select(func.count()).select_from(S.metadata.tables[name])).scalar_one())
                    for name in ("experiments", "runs", "params", "summaries")}
            points = conn.execute(select(func.coalesce(func.sum(S.metric_chunks.c.n), 0))).scalar_one()
            return rows | {"metrics": int(points)}
    finally:
        store.close()


def import_json(repo: Repo, *args: str) -> dict[str, Any]:
    out = repo.tw_json("import", *args)
    assert isinstance(out, dict)
    return out


def compare_groups(repo: Repo, report: dict[str, Any]) -> dict[str, Any]:
    """``trialwise compare`` (the real CLI) of the lr=0.1 group against the lr=0.01 group of ``report``."""
    names = [g["name"] for g in report["experiments"]]
    base = next(n for n in names if "lr=0.1" in n and "lr=0.01" not in n)
    cand = next(n for n in names if "lr=0.01" in n)
    proc = repo.tw("compare", base, cand, "--json", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def assert_progression(decision: dict[str, Any], *, provenance_known: bool) -> None:
    """The lr=0.01 group beats the lr=0.1 group by :data:`EFFECT`, and compare said whether it knows the code."""
    d = decision["decisions"][0]
    assert d["verdict"] == "progression", d
    assert d["comparison"]["diff"] == pytest.approx(EFFECT, abs=0.01)
    warned = [w for w in d["checks"]["warnings"] if w.startswith("provenance is unknown")]
    assert bool(warned) != provenance_known, d["checks"]["warnings"]
