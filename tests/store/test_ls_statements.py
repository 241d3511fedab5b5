"""``trialwise ls`` reads the store in a constant number of SQL statements, however many experiments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.conftest import make_repo
from tests.robust._store_helpers import experiment
from trialwise import open_store


def _fill(root: Path, n_experiments: int, seeds: int = 3) -> None:
    store = open_store(root)
    for e in range(n_experiments):
        exp_id = f"exp{e:04d}"
        store.upsert_experiment(experiment(exp_id, metric_name="val_acc", metric_direction="max", created_at=float(e)))
        for seed in range(seeds):
            run_id = store.create_run(experiment_id=exp_id, seed=seed, env_hash="env", started_at=float(e))
            store.set_summary(run_id, {"val_acc": 0.5 + seed / 100})
            store.set_terminal_status(run_id, "completed", exit_code=0, ended_at=float(e) + 1)
        if e % 2:  # a re-run of seed 0: history, not counted
            again = store.create_run(experiment_id=exp_id, seed=0, env_hash="env", started_at=float(e) + 0.5)
            store.set_summary(again, {"val_acc": 0.9})
            store.set_terminal_status(again, "failed", exit_code=1, ended_at=float(e) + 2)
    store.close()


def _ls_counting_statements(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[dict], int]:
    from trialwise.cli.app import app

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        statements.append(statement)

    monkeypatch.chdir(root)
    event.listen(Engine, "before_cursor_execute", count)
    try:
        result = CliRunner().invoke(app, ["ls", "--json"])
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), len(statements)


def test_ls_statements_do_not_grow_with_the_experiments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counts = {}
    for n in (3, 40):
        repo = make_repo(tmp_path / f"r{n}", '[metric]\nname = "val_acc"\n', {"train.py": "pass\n"})
        _fill(repo.path, n)
        rows, counts[n] = _ls_counting_statements(repo.path, monkeypatch)
        assert [r["experiment"]["id"] for r in rows] == [f"exp{e:04d}" for e in range(n)]
        assert all(r["runs"] == 3 and r["status"] == {"completed": 3} for r in rows)
        assert [r["history"] for r in rows] == [e % 2 for e in range(n)]
        assert rows[1]["mean"] == pytest.approx(0.51)  # the counted runs, not the re-run
    assert counts[3] == counts[40] and counts[3] > 0, counts
