"""One lab per session: a real git repository whose runs are the generalization suite's cases.

Each case is run (both seeds, ``trialwise run``) the first time a test asks for it, and diagnosed once
per mode; every test of the session shares those runs.  ``TRIALWISE_GENERAL_LAB=DIR`` reuses the runs
``benchmarks/bench_diagnose.py --lab DIR`` left there (diagnosis only: for working on the detectors).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.diagnose_general.cases import BY_NAME, Lab, diagnose_case, make_lab, run_case


LAB_ENV = "TRIALWISE_GENERAL_LAB"


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    cached = os.environ.get(LAB_ENV)
    if cached and (Path(cached) / "lab.json").is_file():
        from tests.conftest import Repo

        return Lab(Repo(Path(cached) / "repo"), json.loads((Path(cached) / "lab.json").read_text(encoding="utf-8")))
    return make_lab(tmp_path_factory.mktemp("general") / "repo")


@pytest.fixture(scope="session")
def diagnosed(lab: Lab) -> Callable[[str, str], dict[str, Any]]:
    """``diagnosed(case, mode)``: the case's diagnosis (runs the case on first use)."""
    cache: dict[tuple[str, str], dict[str, Any]] = {}

    def get(name: str, mode: str) -> dict[str, Any]:
        if (name, mode) not in cache:
            if name not in lab.experiments:
                run_case(lab, BY_NAME[name])
            cache[(name, mode)] = diagnose_case(lab, BY_NAME[name], mode)
        return cache[(name, mode)]

    return get
