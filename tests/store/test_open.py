"""Opening a store: the schema check costs a query when the store is current, and migrates otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

import trialwise
from trialwise.store import connect
from trialwise.store._store import MIGRATIONS, SCHEMA_HEAD

OPEN_AND_REPORT = ("import sys; from trialwise.store import connect; s = connect(sys.argv[1]); "
                   "print(len(s.experiments()), 'alembic' in sys.modules)")


def _open_in_a_new_process(url: str) -> tuple[int, bool]:
    src = str(Path(trialwise.__file__).parents[1])
    out = subprocess.run([sys.executable, "-c", OPEN_AND_REPORT, url], check=True, capture_output=True, text=True,
                         env={"PYTHONPATH": src, "PATH": ""}).stdout.split()
    return int(out[0]), out[1] == "True"


def _revision(url: str) -> str:
    store = connect(url)
    with store.engine.connect() as conn:
        rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    store.close()
    return rev


def test_schema_head_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_HEAD


def test_a_current_store_opens_without_alembic_a_fresh_or_old_one_migrates(store_url: str) -> None:
    assert _open_in_a_new_process(store_url) == (0, True)  # fresh: created by the migrations
    assert _revision(store_url) == SCHEMA_HEAD
    assert _open_in_a_new_process(store_url) == (0, False)  # current: one SELECT, no Alembic
    store = connect(store_url)  # a store whose recorded revision differs is handed to Alembic again
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
    store.close()
    try:
        _open_in_a_new_process(store_url)
    except subprocess.CalledProcessError as exc:  # no revision over existing tables: Alembic re-runs 0001
        assert "already exists" in exc.stderr
    else:
        raise AssertionError("a store without a revision was not handed to Alembic")
