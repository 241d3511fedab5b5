"""Opening a store: the schema check costs a query when the store is current, and migrates otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

import trialwise
from trialwise.store._store import MIGRATIONS, SCHEMA_HEAD

OPEN_AND_REPORT = ("import sys; from trialwise.store import connect; s = connect(sys.argv[1]); "
                   "print(len(s.experiments()), 'alembic' in sys.modules)")


def _open_in_a_new_process(url: str) -> tuple[int, bool]:
    src = str(Path(trialwise.__file__).parents[1])
    out = subprocess.run([sys.executable, "-c", OPEN_AND_REPORT, url], check=True, capture_output=True, text=True,
                         env={"PYTHONPATH": src, "PATH": ""}).stdout.split()
    return int(out[0]), out[1] == "True"


def _revision(url: str) -> str:
    engine = create_engine(url)  # not connect(): opening a store would upgrade it
    with engine.connect() as conn:
        rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    return rev


def test_schema_head_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_HEAD


def _downgrade(url: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    engine = create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    engine.dispose()


def _indexes(url: str) -> set[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        names = {ix["name"] for ix in inspect(conn).get_indexes("runs")}
    engine.dispose()
    return names


def test_a_current_store_opens_without_alembic_a_fresh_or_old_one_migrates(store_url: str) -> None:
    assert _open_in_a_new_process(store_url) == (0, True)  # fresh: created by the migrations
    assert _revision(store_url) == SCHEMA_HEAD and "ix_runs_status" in _indexes(store_url)
    assert _open_in_a_new_process(store_url) == (0, False)  # current: one SELECT, no Alembic
    _downgrade(store_url, "0001")  # a store written before the status index
    assert _revision(store_url) == "0001" and "ix_runs_status" not in _indexes(store_url)
    assert _open_in_a_new_process(store_url) == (0, True)  # upgraded on open
    assert _revision(store_url) == SCHEMA_HEAD and "ix_runs_status" in _indexes(store_url)
    assert _open_in_a_new_process(store_url) == (0, False)
