"""The store: experiments, runs, metric points, summaries, environments, artifacts.

SQLite (WAL) by default, PostgreSQL by URL.  Writers take the SQLite write lock up front
(``BEGIN IMMEDIATE``) and wait on a busy timeout, so parallel runs never fail with
"database is locked".  Records come back as frozen dataclasses; SQLAlchemy stays inside.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, create_engine, delete, event, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from trialwise._exceptions import StoreError, UsageError
from trialwise.store import _schema as S
from trialwise.store._records import Experiment, Run, loads

SQLITE_BUSY_TIMEOUT_MS = 120_000
"""How long a SQLite writer waits for another writer before giving up (parallel seeds, sweeps)."""

INSERT_CHUNK = 5_000
"""Metric points per bulk INSERT statement."""

MIGRATIONS = Path(__file__).parent / "migrations"


def new_id() -> str:
    """A short random id for runs."""
    return uuid.uuid4().hex[:12]


def _float_or_none(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def _upgrade(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (no-op when current)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.begin() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        if current == head:
            return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Store:
    """Everything trialwise records, behind one small interface.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///path/store.db`` or ``postgresql+psycopg://...``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = _make_engine(url)
            _upgrade(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the store at {url}: {exc}") from exc

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(f"store {self.url}: {exc.orig}") from exc

    def close(self) -> None:
        self.engine.dispose()

    # -- pandas views (notebooks) ---------------------------------------------------------
    def experiments_df(self) -> Any:
        """Experiments as a pandas DataFrame."""
        from trialwise.store._frames import experiments_frame

        return experiments_frame(self)

    def runs_df(self, experiment_id: str | None = None) -> Any:
        """Runs (with ``summary.<key>`` columns) as a pandas DataFrame."""
        from trialwise.store._frames import runs_frame

        return runs_frame(self, experiment_id)

    def metrics_df(self, experiment_id: str | None = None, keys: list[str] | None = None) -> Any:
        """Metric points in long format as a pandas DataFrame."""
        from trialwise.store._frames import metrics_frame

        return metrics_frame(self, experiment_id, keys)

    # -- experiments ----------------------------------------------------------------------
    def upsert_experiment(self, exp: Experiment) -> Experiment:
        """Insert ``exp`` unless an experiment with its id exists; return the stored one."""
        with self._tx() as conn:
            row = conn.execute(select(S.experiments).where(S.experiments.c.id == exp.id)).first()
            if row is None:
                values = exp.to_dict()
                values["command"] = json.dumps(exp.command)
                values["launch"] = json.dumps(exp.launch, sort_keys=True)
                conn.execute(insert(S.experiments).values(**values))
                return exp
            if exp.tag and not row.tag:
                conn.execute(update(S.experiments).where(S.experiments.c.id == exp.id).values(tag=exp.tag))
        return self.experiment(exp.id)

    def experiment(self, exp_id: str) -> Experiment:
        with self._tx() as conn:
            row = conn.execute(select(S.experiments).where(S.experiments.c.id == exp_id)).first()
        if row is None:
            raise UsageError(f"no experiment with id '{exp_id}'; `trialwise ls` lists them")
        return _experiment(row)

    def experiments(self, *, commit: str | None = None, kind: str | None = None) -> list[Experiment]:
        query = select(S.experiments).order_by(S.experiments.c.created_at)
        if commit:
            query = query.where(S.experiments.c.commit_sha == commit)
        if kind:
            query = query.where(S.experiments.c.kind == kind)
        with self._tx() as conn:
            return [_experiment(r) for r in conn.execute(query)]

    def find_experiments(self, token: str) -> list[Experiment]:
        """Experiments whose id starts with ``token`` or whose name or tag equals it."""
        ex = S.experiments.c
        with self._tx() as conn:
            rows = conn.execute(
                select(S.experiments)
                .where((ex.id.like(f"{token}%")) | (ex.name == token) | (ex.tag == token))
                .order_by(ex.created_at)
            ).all()
        return [_experiment(r) for r in rows]

    # -- runs -----------------------------------------------------------------------------
    def create_run(self, **values: Any) -> str:
        """Insert a run (``status`` defaults to ``running``) and return its id."""
        values.setdefault("id", new_id())
        values.setdefault("status", "running")
        values.setdefault("dirty", False)
        for key in ("command", "metric_files"):
            if key in values and not isinstance(values[key], str):
                values[key] = json.dumps(values[key])
        with self._tx() as conn:
            conn.execute(insert(S.runs).values(**values))
        return values["id"]

    def update_run(self, run_id: str, **values: Any) -> None:
        for key in ("command", "metric_files"):
            if key in values and not isinstance(values[key], str):
                values[key] = json.dumps(values[key])
        with self._tx() as conn:
            conn.execute(update(S.runs).where(S.runs.c.id == run_id).values(**values))

    def run(self, run_id: str) -> Run:
        runs = self._runs(S.runs.c.id.like(f"{run_id}%"))
        if len(runs) != 1:
            what = "no run" if not runs else f"{len(runs)} runs"
            raise UsageError(f"{what} with id '{run_id}'; `trialwise show EXP` lists run ids")
        return runs[0]

    def runs(self, experiment_id: str | None = None, *, status: str | None = None) -> list[Run]:
        cond = []
        if experiment_id:
            cond.append(S.runs.c.experiment_id == experiment_id)
        if status:
            cond.append(S.runs.c.status == status)
        return self._runs(and_(*cond) if cond else None)

    def _runs(self, where: Any) -> list[Run]:
        query = select(S.runs).order_by(S.runs.c.experiment_id, S.runs.c.seed, S.runs.c.started_at)
        if where is not None:
            query = query.where(where)
        with self._tx() as conn:
            rows = conn.execute(query).all()
            ids = [r.id for r in rows]
            summ: dict[str, dict[str, float]] = {i: {} for i in ids}
            for chunk in _chunks(ids, 500):
                for s in conn.execute(select(S.summaries).where(S.summaries.c.run_id.in_(chunk))):
                    summ[s.run_id][s.key] = math.nan if s.value is None else s.value
        return [_run(r, summ[r.id]) for r in rows]

    def find_reusable(self, experiment_id: str, seed: int, metric_version: str, env_hash: str) -> Run | None:
        """A completed run of the same experiment, seed, metric version and environment."""
        c = S.runs.c
        found = self._runs(
            and_(
                c.experiment_id == experiment_id, c.seed == seed, c.status == "completed",
                c.metric_version == metric_version, c.env_hash == env_hash, c.dirty.is_(False),
            )
        )
        return found[-1] if found else None

    # -- values ---------------------------------------------------------------------------
    def add_metrics(self, run_id: str, points: Iterable[tuple[str, int | None, float, float | None, str]]) -> int:
        """Bulk-insert ``(key, step, value, time, source)`` points; NaN is stored as NULL."""
        rows = [
            {"run_id": run_id, "key": k, "step": s, "value": _float_or_none(v), "time": t, "source": src}
            for k, s, v, t, src in points
        ]
        for chunk in _chunks(rows, INSERT_CHUNK):
            with self._tx() as conn:
                conn.execute(insert(S.metrics), chunk)
        return len(rows)

    def replace_metrics(self, run_id: str, source: str, points: Sequence[tuple[str, int | None, float, float | None, str]]) -> int:
        """Replace every point of ``run_id`` from ``source`` (live ingestion re-reads a file)."""
        with self._tx() as conn:
            conn.execute(delete(S.metrics).where(and_(S.metrics.c.run_id == run_id, S.metrics.c.source == source)))
        return self.add_metrics(run_id, points)

    def metrics(self, run_ids: Sequence[str], keys: Sequence[str] | None = None) -> list[tuple[str, str, int | None, float, float | None]]:
        """Points ``(run_id, key, step, value, time)`` ordered by run, key, step; NULL -> NaN."""
        out = []
        with self._tx() as conn:
            for chunk in _chunks(list(run_ids), 500):
                q = select(S.metrics.c.run_id, S.metrics.c.key, S.metrics.c.step, S.metrics.c.value, S.metrics.c.time).where(
                    S.metrics.c.run_id.in_(chunk)
                )
                if keys:
                    q = q.where(S.metrics.c.key.in_(list(keys)))
                q = q.order_by(S.metrics.c.run_id, S.metrics.c.key, S.metrics.c.step, S.metrics.c.id)
                out.extend(
                    (r.run_id, r.key, r.step, math.nan if r.value is None else r.value, r.time) for r in conn.execute(q)
                )
        return out

    def series_counts(self, run_ids: Sequence[str]) -> dict[str, dict[str, tuple[str, int]]]:
        """``{run_id: {key: (source, points)}}``: what was captured of each run, and from where."""
        from sqlalchemy import func

        m = S.metrics.c
        out: dict[str, dict[str, tuple[str, int]]] = {r: {} for r in run_ids}
        with self._tx() as conn:
            for chunk in _chunks(list(run_ids), 500):
                q = (select(m.run_id, m.key, m.source, func.count()).where(m.run_id.in_(chunk))
                     .group_by(m.run_id, m.key, m.source))
                for run_id, key, source, n in conn.execute(q):
                    out[run_id][key] = (source or "", int(n))
        return out

    def series(self, run_id: str) -> dict[str, tuple[list[int | None], list[float]]]:
        """Every metric series of a run: ``{key: (steps, values)}`` in step order (NaN kept)."""
        out: dict[str, tuple[list[int | None], list[float]]] = {}
        for _rid, key, step, value, _t in self.metrics([run_id]):
            steps, values = out.setdefault(key, ([], []))
            steps.append(step)
            values.append(value)
        return out

    def set_summary(self, run_id: str, values: dict[str, float]) -> None:
        self._replace_kv(S.summaries, run_id, {k: _float_or_none(v) for k, v in values.items()})

    def set_params(self, run_id: str, values: dict[str, Any]) -> None:
        self._replace_kv(S.params, run_id, {k: json.dumps(v, default=str) for k, v in values.items()})

    def params(self, run_id: str) -> dict[str, Any]:
        with self._tx() as conn:
            return {r.key: json.loads(r.value) for r in conn.execute(select(S.params).where(S.params.c.run_id == run_id))}

    def _replace_kv(self, table: Any, run_id: str, values: dict[str, Any]) -> None:
        if not values:
            return
        with self._tx() as conn:
            conn.execute(delete(table).where(and_(table.c.run_id == run_id, table.c.key.in_(list(values)))))
            conn.execute(insert(table), [{"run_id": run_id, "key": k, "value": v} for k, v in values.items()])

    def put_environment(self, fingerprint: dict[str, Any]) -> str:
        with self._tx() as conn:
            h = fingerprint["hash"]
            if conn.execute(select(S.environments.c.hash).where(S.environments.c.hash == h)).first() is None:
                conn.execute(insert(S.environments).values(hash=h, data=json.dumps(fingerprint, default=str)))
        return h

    def environment(self, env_hash: str) -> dict[str, Any] | None:
        with self._tx() as conn:
            row = conn.execute(select(S.environments).where(S.environments.c.hash == env_hash)).first()
        return json.loads(row.data) if row else None

    def add_artifact(self, name: str, kind: str, path: str, *, run_id: str | None = None, experiment_id: str | None = None) -> None:
        with self._tx() as conn:
            conn.execute(insert(S.artifacts).values(name=name, kind=kind, path=path, run_id=run_id, experiment_id=experiment_id))

    def artifacts(self, *, run_id: str | None = None, experiment_id: str | None = None) -> list[dict[str, Any]]:
        q = select(S.artifacts)
        if run_id:
            q = q.where(S.artifacts.c.run_id == run_id)
        if experiment_id:
            q = q.where(S.artifacts.c.experiment_id == experiment_id)
        with self._tx() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _experiment(row: Any) -> Experiment:
    m = dict(row._mapping)
    m["command"] = loads(m["command"], [])
    m["launch"] = loads(m["launch"], {})
    m["dirty"] = bool(m["dirty"])
    return Experiment(**m)


def _run(row: Any, summary: dict[str, float]) -> Run:
    m = dict(row._mapping)
    m["command"] = loads(m["command"], [])
    m["metric_files"] = loads(m["metric_files"], {})
    m["dirty"] = bool(m["dirty"])
    return Run(**m, summary=summary)


def now() -> float:
    return time.time()

