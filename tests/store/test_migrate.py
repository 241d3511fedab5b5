"""``trialwise store migrate``: a real repository's SQLite history copied into a real PostgreSQL server.

The history comes from real ``trialwise run``s (experiments, runs, metric points, summaries, params,
environments, a dirty-tree patch artifact) plus a predictions artifact; after the copy every table
holds the same rows in both stores, a second copy adds nothing, and the repository pointed at the
PostgreSQL store lists and shows what it recorded in SQLite.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Repo, make_repo
from trialwise._exceptions import StoreError
from trialwise.store import _schema as S
from trialwise.store import connect
from trialwise.store._copy import COPY_ORDER
from trialwise.store._store import Store

PY = sys.executable

TRAIN = """
import trialwise as tw
run = tw.init()
tw.config(lr=0.1, layers=[64, 64])
for step in range(1500):
    tw.log({"train_loss": 1.0 / (step + 1)}, step=step)
tw.log({"val_acc": 0.5 + run.seed / 100}, step=1500)
tw.summary(best_acc=0.5 + run.seed / 100)
"""

LOCAL_IDS = {"metric_chunks": "id", "artifacts": "id"}
"""Integer ids a store assigns itself: compared without them."""


def _dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, without local ids, in a canonical order."""
    out = {}
    with store.engine.connect() as conn:
        for name in COPY_ORDER:
            table = S.metadata.tables[name]
            cols = [c for c in table.columns if c.name != LOCAL_IDS.get(name)]
            out[name] = sorted((tuple(r) for r in conn.execute(select(*cols))), key=repr)
    return out


def _history(tmp_path: Path) -> Repo:
    repo = make_repo(tmp_path / "r", f'command = "{PY} train.py"\n', {"train.py": TRAIN})
    repo.tw("run", "--seeds", "2")
    repo.write("train.py", TRAIN.replace("lr=0.1", "lr=0.2"))  # uncommitted: a dirty run with its patch
    repo.tw("run", "--seeds", "1", "--allow-dirty", check=False)
    store = repo.store()
    run = store.runs()[0]
    store.add_artifact("val", "predictions", str(repo.path / "preds.csv"), run_id=run.id)
    return repo


def test_every_table_of_the_schema_is_copied() -> None:
    assert sorted(COPY_ORDER) == sorted(S.metadata.tables)


@pytest.mark.postgres
def test_a_sqlite_history_moves_into_postgresql_once(tmp_path: Path, postgres_url: str) -> None:
    repo = _history(tmp_path)
    sqlite_db = repo.path / ".trialwise" / "store.db"
    before = _dump(connect(f"sqlite:///{sqlite_db}"))
    assert all(before[name] for name in COPY_ORDER), {n: len(r) for n, r in before.items()}  # a full history

    first = repo.tw_json("store", "migrate", str(sqlite_db), postgres_url)
    assert first["tables"] == {n: {"source": len(r), "copied": len(r), "present": 0} for n, r in before.items()}
    assert first["differing_runs"] == [] and first["artifact_paths"] == len(before["artifacts"])
    assert _dump(connect(postgres_url)) == before

    again = repo.tw_json("store", "migrate", str(sqlite_db), postgres_url)
    assert again["copied"] == 0
    assert again["tables"] == {n: {"source": len(r), "copied": 0, "present": len(r)} for n, r in before.items()}
    assert _dump(connect(postgres_url)) == before

    repo.git("checkout", "train.py")  # a new experiment recorded locally after the first copy
    repo.write("train.py", TRAIN.replace("1500", "700"))
    repo.commit("shorter")
    repo.tw("run", "--seeds", "1")
    later = repo.tw_json("store", "migrate", ".trialwise/store.db", postgres_url)
    assert (later["tables"]["experiments"]["copied"], later["tables"]["runs"]["copied"]) == (1, 1)
    chunks = later["tables"]["metric_chunks"]
    assert chunks["copied"] == chunks["source"] - first["tables"]["metric_chunks"]["source"] > 0
    newest = max(connect(postgres_url).runs(), key=lambda r: r.started_at or 0)
    assert sum(n for _src, n in connect(postgres_url).series_counts([newest.id])[newest.id].values()) == 701
    assert _dump(connect(postgres_url)) == _dump(connect(f"sqlite:///{sqlite_db}"))

    repo.write("trialwise.toml", f'command = "{PY} train.py"\nstore = "{postgres_url}"\n')
    listed = repo.tw_json("ls")
    local = connect(f"sqlite:///{sqlite_db}")
    assert sorted((e["experiment"]["id"], e["runs"]) for e in listed) == sorted(
        (e.id, len(local.runs(e.id))) for e in local.experiments())


def test_the_rich_summary_and_refusals(tmp_path: Path, store_url: str) -> None:
    repo = make_repo(tmp_path / "r", f'command = "{PY} train.py"\n', {"train.py": TRAIN.replace("1500", "50")})
    repo.tw("run", "--seeds", "1")
    out = repo.tw("store", "migrate", ".trialwise/store.db", store_url).stdout
    assert "already there" in out and "rows copied" in out and "store = " in out
    assert "nothing to copy" in repo.tw("store", "migrate", ".trialwise/store.db", store_url).stdout

    missing = repo.tw("store", "migrate", "nope.db", store_url, check=False)
    assert missing.returncode == 2 and "no store at" in missing.stderr and "nope.db" in missing.stderr
    same = repo.tw_json("store", "migrate", ".trialwise/store.db", f"sqlite:///{repo.path}/.trialwise/store.db",
                        check=False)
    assert same["error"] == "StoreError" and "the same store" in same["message"]


def test_a_password_is_never_printed(tmp_path: Path) -> None:
    from trialwise.store._copy import display_url

    assert display_url("postgresql+psycopg://me:s3cret@db.example/team") == "postgresql+psycopg://me:***@db.example/team"
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError) as error:  # no server behind this socket
        connect(f"postgresql+psycopg://me:s3cret@/team?host={tmp_path}")
    assert "s3cret" not in str(error.value) and "me:***@" in str(error.value) and "is the server up?" in str(error.value)
