"""The temp repository every decision test starts from: a committed synthetic script whose metric is
a known effect (``effect.txt``) plus seeded noise, ``val.txt`` as the metric's version file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Repo, make_repo
from tests.decide.test_decide_real_runs import TRAIN, config


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = make_repo(tmp_path / "repo", config(), {"train.py": TRAIN, "effect.txt": "0.0", "val.txt": "v1"})
    r.write(".gitignore", ".trialwise/\n__pycache__/\ndata/\n")
    r.commit("ignore data")
    return r
