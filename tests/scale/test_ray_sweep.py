"""A sweep on the Ray cluster with the store and Optuna's study in a real PostgreSQL server: every
trial runs once, its seeds on the cluster, its runs in the team store."""

from __future__ import annotations

import shlex
import sys

import pytest

from tests.conftest import make_repo

pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SCRIPT = """
import argparse, json
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
for step in range(3):
    print(json.dumps({"step": step, "val_acc": 1 - (a.lr - 0.2) ** 2 + a.seed / 1000}))
"""


def test_a_sweep_runs_each_trial_once_on_the_cluster_with_a_postgresql_store(tmp_path, cluster, postgres_server):
    c, _worker = cluster
    store_db, study_db = postgres_server.create_database(), postgres_server.create_database()
    store_url, study_url = postgres_server.url(store_db), postgres_server.url(study_db)
    config = (f'command = "{shlex.quote(sys.executable)} train.py"\nseeds = 2\nbackend = "ray"\n'
              f'store = "{store_url}"\n[params]\nseed = "--seed {{value}}"\n[ray]\naddress = "{c.address}"\n')
    repo = make_repo(tmp_path / "r", config, {"train.py": SCRIPT})
    out = repo.tw_json("sweep", "--param", "lr=float:0.05..0.5", "--trials", "4", "--seeds", "2", "--top-k", "0",
                       "--storage", study_url, "--sampler", "random", "--sampler-seed", "0")
    assert isinstance(out, dict)
    from trialwise.store import connect

    store = connect(store_url)
    runs = store.runs()
    trials = [e for e in store.experiments() if e.kind != "run"]
    assert len(trials) == 4
    per_trial = {e.id: sorted(r.seed for r in runs if r.experiment_id == e.id) for e in trials}
    assert all(seeds == [0, 1] for seeds in per_trial.values())  # each trial's seeds once, none twice
    assert all(r.status == "completed" for r in runs)
    import optuna

    study_names = optuna.study.get_all_study_names(study_url)
    study = optuna.load_study(study_name=study_names[0], storage=study_url)
    assert len([t for t in study.trials if t.state.name == "COMPLETE"]) == 4
    assert len({t.number for t in study.trials}) == len(study.trials)
    postgres_server.drop_database(store_db)
    postgres_server.drop_database(study_db)
