"""The store: experiments, runs, metric points, summaries, environments, artifacts.

SQLite (WAL) by default, PostgreSQL by URL.  Writers take the SQLite write lock up front
(``BEGIN IMMEDIATE``) and wait on a busy timeout, so parallel runs never fail with
"database is locked"; reads are deferred transactions on a WAL snapshot, so an ``export`` or ``ls``
never holds the write lock and never waits for a writer.  A store file (or its directory) without
write permission is opened read-only: everything can be read, a write is a :class:`StoreError`.
Records come back as frozen dataclasses; SQLAlchemy stays inside.

Concurrency guarantees (several ``trialwise`` processes on one store):

- :meth:`Store.replace_metrics` deletes and re-inserts a run's points of one source in **one**
  transaction, holding the run's row lock (``SELECT ... FOR UPDATE`` on PostgreSQL, the database
  write lock on SQLite): concurrent replacements of the same run leave exactly one copy.
- :meth:`Store.claim_run` finds a reusable or running run of an experiment's seed and otherwise
  creates one, in one transaction serialised per experiment: two identical launches at once never
  both create a run for the same seed.
- :meth:`Store.set_terminal_status` never overwrites a terminal status (:data:`TERMINAL_STATUSES`):
  the first process to close a run wins, and says so by its return value.
- Records keyed by their content (an experiment, an environment, a summary or param key) are
  inserted with ``ON CONFLICT``: processes recording the same one at once store it once, with no
  unique-key error (on PostgreSQL two transactions can both see it missing).
- The schema migration of an empty or old store runs once: other processes opening it at the same
  time wait (SQLite's write lock, PostgreSQL's :data:`MIGRATION_LOCK`) and find it current.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import groupby
from operator import itemgetter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from sqlalchemy import Engine, and_, create_engine, delete, event, insert, or_, select, text, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from trialwise._exceptions import StoreError, UsageError
from trialwise.store import _points
from trialwise.store import _schema as S
from trialwise.store._points import Chunk, Point, Series, merge_chunks, pack, unpack
from trialwise.store._records import TERMINAL_STATUSES, Experiment, Run, loads

if TYPE_CHECKING:
    from trialwise.store._columns import PointColumns

SQLITE_BUSY_TIMEOUT_MS = 120_000
"""How long a SQLite writer waits for another writer before giving up (parallel seeds, sweeps)."""

INSERT_CHUNK = 5_000
"""Rows per bulk INSERT statement (store copies)."""

MIGRATIONS = Path(__file__).parent / "migrations"

RUNNING = "running"
FINISHED_OK = "completed"


def new_id() -> str:
    """A short random id for runs."""
    return uuid.uuid4().hex[:12]


def _float_or_none(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


MIGRATION_LOCK = 0x7472_6961_6C77_6973
"""PostgreSQL advisory lock key (``pg_advisory_xact_lock``, "trialwis" in ASCII) held while the schema
is migrated, so processes opening a new database at once migrate it once
(https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS)."""

WRITE_OPTION = "trialwise_write"
"""Connection execution option: ``True`` opens the transaction with ``BEGIN IMMEDIATE`` (SQLite)."""


def display_url(url: str) -> str:
    """``url`` with its password masked, for messages and output (``self.url`` stays whole for children)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy parses: shown as given
        return url


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite ``url`` (``None`` for in-memory or other databases)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def _read_only(db: Path) -> bool:
    """An existing store trialwise may not write: the file, or the directory that must hold its
    ``-wal`` and ``-shm`` files, lacks write permission."""
    return db.exists() and not (_writable(db) and _writable(db.parent))


def _writable(path: Path) -> bool:
    if os.access in os.supports_effective_ids:
        return os.access(path, os.W_OK, effective_ids=True)
    return os.access(path, os.W_OK)


def _read_only_url(db: Path) -> str:
    """A SQLite URI that opens ``db`` without writing anything.

    ``mode=ro`` reads a WAL database whose ``-shm``/``-wal`` files exist (a writer may be active);
    without them nobody can be writing (a writer creates them in the directory), so ``immutable=1``
    reads the file as it is (https://www.sqlite.org/wal.html#readonly, SQLite >= 3.22)."""
    shared = all(Path(f"{db}{suffix}").exists() for suffix in ("-wal", "-shm"))
    option = "mode=ro" if shared else "immutable=1"
    return f"sqlite:///file:{quote(str(db.resolve()))}?{option}&uri=true"


def _make_engine(url: str) -> tuple[Engine, bool]:
    """The engine for ``url`` and whether it is read-only."""
    db = _sqlite_file(url)
    if url.startswith("sqlite"):
        read_only = db is not None and _read_only(db)
        if db is not None and not read_only:
            try:
                db.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the store's directory {db.parent}: {exc.strerror or exc}. Set `store` in "
                    "trialwise.toml to a writable path (e.g. sqlite:///.trialwise/store.db)"
                ) from exc
            if not db.exists() and not _writable(db.parent):
                raise StoreError(f"cannot create the store {db}: its directory is not writable. Set `store` in "
                                 "trialwise.toml to a writable path (e.g. sqlite:///.trialwise/store.db)")
        engine = create_engine(_read_only_url(db) if read_only and db else url,
                               connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if not read_only:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # a read is a deferred transaction: a WAL snapshot that neither takes nor waits for the
            # write lock; a write takes the lock up front, so it never fails half-way on SQLITE_BUSY
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")

        return engine, read_only
    try:
        return create_engine(url, pool_pre_ping=True), False
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"the store {display_url(url)} needs the '{exc.name}' driver, which is not installed: "
            "pip install 'trialwise[postgres]' (or use the default SQLite store)"
        ) from None


SCHEMA_HEAD = "0004"
"""The newest Alembic revision under ``migrations/versions`` (a test checks it is Alembic's head):
a store already at it is opened without importing Alembic (≈ 0.2 s of every command)."""


def _stored_revision(engine: Engine) -> str | None:
    """The store's single Alembic revision, or ``None`` (a fresh store, several heads, unreadable)."""
    try:
        with engine.connect() as conn:  # a read: takes no write lock
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    except SQLAlchemyError:  # no alembic_version table yet
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


def _upgrade(engine: Engine, read_only: bool, url: str) -> None:
    """Bring the schema to the newest Alembic revision (no-op when current)."""
    if _stored_revision(engine) == SCHEMA_HEAD:
        return
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    head = script.get_current_head()
    with engine.connect() as conn:  # a read: a current schema takes no write lock
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return
    if current is not None and current not in {r.revision for r in script.walk_revisions()}:
        raise StoreError(f"the store {display_url(url)} has schema revision {current}, newer than this trialwise knows "
                         f"({head}): a newer trialwise wrote it; upgrade this one (pip install -U trialwise) "
                         "on every machine that shares the store")
    if read_only:
        raise StoreError(f"the store {display_url(url)} is read-only and needs a schema upgrade; open it once with write "
                         "permission (file and directory) or copy it somewhere writable")
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            if MigrationContext.configure(conn).get_current_revision() == head:
                return
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")


ClaimOutcome = Literal["created", "reused", "running"]


@dataclass(frozen=True)
class Claim:
    """What :meth:`Store.claim_run` did for one seed.

    ``outcome``: ``created`` (a new ``running`` run ``run_id`` that the caller must run and close),
    ``reused`` (``run`` is a completed run under the same conditions; nothing to run) or ``running``
    (``run`` is a run of this seed under the same conditions that another process is running or
    left behind; nothing was created: wait for it, or recover it if its process is gone, then
    claim again).
    """

    outcome: ClaimOutcome
    run_id: str
    run: Run | None = None

    @property
    def created(self) -> bool:
        return self.outcome == "created"


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
            self.engine, self.read_only = _make_engine(url)
            _upgrade(self.engine, self.read_only, url)
        except SQLAlchemyError as exc:
            where = "" if url.startswith("sqlite") else " (is the server up? check `store` in trialwise.toml and ~/.pgpass)"
            raise StoreError(f"cannot open the store at {display_url(url)}{where}: {exc}") from exc

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[Connection]:
        """One transaction: a write (``BEGIN IMMEDIATE`` on SQLite) unless ``write=False``."""
        if write and self.read_only:
            raise StoreError(f"the store {display_url(self.url)} is read-only (no write permission on the file or its "
                             "directory): it can be read, not written")
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{WRITE_OPTION: write})
                with conn.begin():
                    yield conn
        except OperationalError as exc:
            raise StoreError(f"store {display_url(self.url)}: {exc.orig}") from exc

    def _read(self) -> Any:
        """A read transaction: a consistent snapshot that takes no write lock."""
        return self._tx(write=False)

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
        values = _experiment_values(exp)
        ex = S.experiments.c
        with self._tx() as conn:
            conn.execute(_insert_new(conn, S.experiments).values(**values))
            if exp.tag:
                conn.execute(update(S.experiments).where(ex.id == exp.id, or_(ex.tag.is_(None), ex.tag == ""))
                             .values(tag=exp.tag))
        return self.experiment(exp.id)

    def set_experiment_tag(self, exp_id: str, tag: str) -> None:
        """Record ``tag`` on an experiment (after ``git tag`` succeeded: a stored tag names a real ref)."""
        with self._tx() as conn:
            conn.execute(update(S.experiments).where(S.experiments.c.id == exp_id).values(tag=tag))

    def experiment(self, exp_id: str) -> Experiment:
        with self._read() as conn:
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
        with self._read() as conn:
            return [_experiment(r) for r in conn.execute(query)]

    def find_experiments(self, token: str) -> list[Experiment]:
        """Experiments whose id starts with ``token`` or whose name or tag equals it (``%`` and ``_``
        in ``token`` are literal characters, not LIKE wildcards)."""
        ex = S.experiments.c
        with self._read() as conn:
            rows = conn.execute(
                select(S.experiments)
                .where(ex.id.startswith(token, autoescape=True) | (ex.name == token) | (ex.tag == token))
                .order_by(ex.created_at)
            ).all()
        return [_experiment(r) for r in rows]

    # -- runs -----------------------------------------------------------------------------
    def create_run(self, **values: Any) -> str:
        """Insert a run (``status`` defaults to ``running``) and return its id.

        Unguarded: a launcher that may race another one for the same seed uses :meth:`claim_run`."""
        row = _new_run_values(values)
        with self._tx() as conn:
            conn.execute(insert(S.runs).values(**row))
        return row["id"]

    def update_run(self, run_id: str, **values: Any) -> None:
        """Set fields of a run unconditionally; close a run with :meth:`set_terminal_status`."""
        with self._tx() as conn:
            conn.execute(update(S.runs).where(S.runs.c.id == run_id).values(**_run_values(values)))

    def set_terminal_status(self, run_id: str, status: str, **values: Any) -> bool:
        """Close ``run_id`` with the terminal ``status`` (and ``values``: ``exit_code``, ``ended_at``,
        ``error``, ...) unless it already has a terminal status; one conditional UPDATE, so of two
        processes closing a run at once exactly one wins. Returns whether this call closed it."""
        if status not in TERMINAL_STATUSES:
            raise ValueError(f"{status!r} is not a terminal status ({', '.join(TERMINAL_STATUSES)})")
        c = S.runs.c
        with self._tx() as conn:
            result = conn.execute(update(S.runs).where(c.id == run_id, c.status.not_in(TERMINAL_STATUSES))
                                  .values(status=status, **_run_values(values)))
        return bool(result.rowcount)

    def claim_run(self, experiment_id: str, seed: int, *, metric_version: str | None, env_hash: str | None,
                  reuse: bool = True, **values: Any) -> Claim:
        """Atomically find or create the run of ``seed`` in ``experiment_id`` under these conditions.

        In one write transaction, serialised per experiment (its row is locked: ``FOR UPDATE`` on
        PostgreSQL, the write lock on SQLite): with ``reuse``, a completed clean run with the same
        metric version and environment is returned (``reused``, what :meth:`find_reusable` finds);
        else a ``running`` run with the same conditions is returned (``running``: another process has
        it); else a run is created from ``values`` like :meth:`create_run` (``created``). Two identical
        launches at once therefore never both create a run for one seed.
        """
        c = S.runs.c
        same = and_(c.experiment_id == experiment_id, c.seed == seed,
                    c.metric_version == metric_version, c.env_hash == env_hash)
        with self._tx() as conn:
            conn.execute(select(S.experiments.c.id).where(S.experiments.c.id == experiment_id).with_for_update())
            if reuse:
                found = self._runs_in(conn, and_(same, c.status == FINISHED_OK, c.dirty.is_(False)))
                if found:
                    return Claim("reused", found[-1].id, found[-1])
            found = self._runs_in(conn, and_(same, c.status == RUNNING))
            if found:
                return Claim("running", found[-1].id, found[-1])
            row = _new_run_values(dict(values, experiment_id=experiment_id, seed=seed,
                                       metric_version=metric_version, env_hash=env_hash, status=RUNNING))
            conn.execute(insert(S.runs).values(**row))
        return Claim("created", row["id"])

    def add_finished_runs(self, experiments: Sequence[Experiment], runs: Sequence[FinishedRun]) -> list[str]:
        """Store whole runs that already ended elsewhere (``trialwise import``), in **one** transaction.

        The ``experiments`` are inserted unless their id exists; each run whose id is not stored yet
        is inserted with its params, summary and metric points; a run whose id exists is left as it
        is, whole (``ON CONFLICT DO NOTHING``, so two imports at once store it once). Either all of
        it is stored or, on any error, nothing. Returns the ids of the runs inserted."""
        added: list[str] = []
        with self._tx() as conn:
            for exp in experiments:
                conn.execute(_insert_new(conn, S.experiments).values(**_experiment_values(exp)))
            for run in runs:
                row = _new_run_values(run.values)
                # RETURNING says whether the row went in on both databases (rowcount did not on PostgreSQL)
                if conn.execute(_insert_new(conn, S.runs).values(**row).returning(S.runs.c.id)).first() is None:
                    continue  # stored before (or by a concurrent import): its parts are there too
                rid = row["id"]
                for table, kv in ((S.params, {k: json.dumps(v, default=str) for k, v in run.params.items()}),
                                  (S.summaries, {k: _float_or_none(v) for k, v in run.summary.items()})):
                    if kv:
                        conn.execute(_insert_new(conn, table), [{"run_id": rid, "key": k, "value": v}
                                                                for k, v in kv.items()])
                _insert_points(conn, rid, run.points)
                added.append(rid)
        return added

    def run(self, run_id: str) -> Run:
        runs = self._runs(S.runs.c.id.startswith(run_id, autoescape=True))
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

    def runs_by_id(self, run_ids: Sequence[str]) -> list[Run]:
        """The stored runs among ``run_ids`` (exact ids; the others are not stored)."""
        out: list[Run] = []
        for chunk in _chunks(list(run_ids), 500):
            out.extend(self._runs(S.runs.c.id.in_(chunk)))
        return out

    def _runs(self, where: Any) -> list[Run]:
        with self._read() as conn:
            return self._runs_in(conn, where)

    @staticmethod
    def _runs_in(conn: Connection, where: Any) -> list[Run]:
        """Runs matching ``where`` with their summaries, oldest start first, within ``conn``'s transaction."""
        query = select(S.runs).order_by(S.runs.c.experiment_id, S.runs.c.seed, S.runs.c.started_at)
        if where is not None:
            query = query.where(where)
        rows = conn.execute(query).all()
        summ: dict[str, dict[str, float]] = {r.id: {} for r in rows}
        # two statements however many runs or experiments: the summaries of the same selection
        summaries = select(S.summaries)
        if where is not None:
            summaries = summaries.where(S.summaries.c.run_id.in_(select(S.runs.c.id).where(where)))
        for s in conn.execute(summaries):
            if s.run_id in summ:
                summ[s.run_id][s.key] = math.nan if s.value is None else s.value
        return [_run(r, summ[r.id]) for r in rows]

    def find_reusable(self, experiment_id: str, seed: int, metric_version: str, env_hash: str) -> Run | None:
        """A completed run of the same experiment, seed, metric version and environment."""
        c = S.runs.c
        found = self._runs(
            and_(
                c.experiment_id == experiment_id, c.seed == seed, c.status == FINISHED_OK,
                c.metric_version == metric_version, c.env_hash == env_hash, c.dirty.is_(False),
            )
        )
        return found[-1] if found else None

    # -- values ---------------------------------------------------------------------------
    def add_metrics(self, run_id: str, points: Iterable[Point]) -> int:
        """Store ``(key, step, value, time, source)`` points in one transaction (a chunk per key and source)."""
        with self._tx() as conn:
            return _insert_points(conn, run_id, points)

    def replace_metrics(self, run_id: str, source: str, points: Sequence[Point]) -> int:
        """Replace every point of ``run_id`` from ``source`` (recovery and live ingestion re-read a file).

        Delete and insert are one transaction holding the run's row lock, so a reader sees the old
        points or the new ones, and concurrent replacements of one run leave exactly one copy."""
        m = S.metric_chunks.c
        with self._tx() as conn:
            conn.execute(select(S.runs.c.id).where(S.runs.c.id == run_id).with_for_update())
            conn.execute(delete(S.metric_chunks).where(and_(m.run_id == run_id, m.source == source)))
            return _insert_points(conn, run_id, points)

    def compact_metrics(self, run_id: str) -> int:
        """Rewrite the chunks of ``run_id`` as one chunk per key and source (live ingestion stores a
        chunk per key every poll, so a long run leaves thousands); returns how many chunks it removed.

        One transaction holding the run's row lock; every point is kept, each series (key and
        source) in its order (points of one key and step from two sources may swap places)."""
        from sqlalchemy import func

        m = S.metric_chunks.c
        with self._tx() as conn:
            conn.execute(select(S.runs.c.id).where(S.runs.c.id == run_id).with_for_update())
            # the bytes are read only when some series has more chunks than its points need (this
            # runs at every run's end)
            per_chunk = _points.MAX_CHUNK_POINTS
            several = conn.execute(select(m.key).where(m.run_id == run_id).group_by(m.key, m.source)
                                   .having(func.count() > (func.sum(m.n) + per_chunk - 1) // per_chunk)
                                   .limit(1)).first()
            if several is None:
                return 0
            rows = conn.execute(select(m.id, m.key, m.source, m.n, m.steps, m.vals, m.times)
                                .where(m.run_id == run_id).order_by(m.id)).all()
            merged = merge_chunks([(r.key, r.source or "", r.n, r.steps, r.vals, r.times) for r in rows])
            if len(merged) == len(rows):
                return 0
            conn.execute(delete(S.metric_chunks).where(m.run_id == run_id))
            _insert_chunks(conn, run_id, merged)
        return len(rows) - len(merged)

    def metrics(self, run_ids: Sequence[str], keys: Sequence[str] | None = None) -> list[tuple[str, str, int | None, float, float | None]]:
        """Points ``(run_id, key, step, value, time)`` ordered by run, key, step (a point without a
        step first, then in the order stored); NaN values are NaN, a missing step or time ``None``."""
        out: list[tuple[str, str, int | None, float, float | None]] = []
        for (run_id, key), series in self._series_of(run_ids, keys):
            n = len(series)
            out.extend(zip([run_id] * n, [key] * n, series.step_list(), series.values.tolist(), series.time_list()))
        return out

    def metric_columns(self, run_ids: Sequence[str], keys: Sequence[str] | None = None) -> PointColumns:
        """The points of :meth:`metrics` as numpy columns, without a Python object per point (pandas
        frames and exports: 1.6M points in tens of milliseconds)."""
        from trialwise.store._columns import columns_of

        with self._read() as conn:
            return columns_of(list(run_ids), _chunk_rows(conn, run_ids, keys))

    def _series_of(self, run_ids: Sequence[str], keys: Sequence[str] | None) -> list[tuple[tuple[str, str], Series]]:
        """Each ``(run_id, key)`` series of ``run_ids`` (among ``keys``), ordered by run and key."""
        with self._read() as conn:
            rows = list(_chunk_rows(conn, run_ids, keys))
        return [(k, unpack([(r[3], r[4], r[5], r[6]) for r in group]))
                for k, group in groupby(rows, key=itemgetter(0, 1))]

    def series_counts(self, run_ids: Sequence[str]) -> dict[str, dict[str, tuple[str, int]]]:
        """``{run_id: {key: (source, points)}}``: what was captured of each run, and from where."""
        from sqlalchemy import func

        m = S.metric_chunks.c
        out: dict[str, dict[str, tuple[str, int]]] = {r: {} for r in run_ids}
        with self._read() as conn:
            for chunk in _chunks(list(run_ids), 500):
                q = (select(m.run_id, m.key, m.source, func.sum(m.n)).where(m.run_id.in_(chunk))
                     .group_by(m.run_id, m.key, m.source))
                for run_id, key, source, n in conn.execute(q):
                    out[run_id][key] = (source or "", int(n))
        return out

    def series(self, run_id: str) -> dict[str, tuple[list[int | None], list[float]]]:
        """Every metric series of a run: ``{key: (steps, values)}`` in step order (NaN kept)."""
        return self.series_by_run([run_id]).get(run_id, {})

    def series_by_run(self, run_ids: Sequence[str], keys: Sequence[str] | None = None,
                      ) -> dict[str, dict[str, tuple[list[int | None], list[float]]]]:
        """:meth:`series` of each of ``run_ids`` (among ``keys``) in one read: ``{run_id: {key:
        (steps, values)}}``; a run without points is absent."""
        out: dict[str, dict[str, tuple[list[int | None], list[float]]]] = {}
        for (run_id, key), series in self._series_of(run_ids, keys):
            out.setdefault(run_id, {})[key] = (series.step_list(), series.values.tolist())
        return out

    def set_summary(self, run_id: str, values: dict[str, float]) -> None:
        self._replace_kv(S.summaries, run_id, {k: _float_or_none(v) for k, v in values.items()})

    def set_params(self, run_id: str, values: dict[str, Any]) -> None:
        self._replace_kv(S.params, run_id, {k: json.dumps(v, default=str) for k, v in values.items()})

    def params(self, run_id: str) -> dict[str, Any]:
        with self._read() as conn:
            return {r.key: json.loads(r.value) for r in conn.execute(select(S.params).where(S.params.c.run_id == run_id))}

    def _replace_kv(self, table: Any, run_id: str, values: dict[str, Any]) -> None:
        if not values:
            return
        with self._tx() as conn:
            upsert = _insert_new(conn, table, update=("value",))
            conn.execute(upsert, [{"run_id": run_id, "key": k, "value": v} for k, v in values.items()])

    def put_environment(self, fingerprint: dict[str, Any]) -> str:
        h = fingerprint["hash"]
        with self._tx() as conn:
            conn.execute(_insert_new(conn, S.environments).values(hash=h, data=json.dumps(fingerprint, default=str)))
        return h

    def environment(self, env_hash: str) -> dict[str, Any] | None:
        with self._read() as conn:
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
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]


@dataclass(frozen=True)
class FinishedRun:
    """A run that ended elsewhere, with everything of it, for :meth:`Store.add_finished_runs`.

    ``values`` are the run's columns (``id``, ``experiment_id``, ``seed``, ``status``, ...)."""

    values: dict[str, Any]
    params: dict[str, Any]
    summary: dict[str, float]
    points: Sequence[Point]


def _experiment_values(exp: Experiment) -> dict[str, Any]:
    """An experiment's column values with its JSON columns encoded."""
    values = exp.to_dict()
    values["command"] = json.dumps(exp.command)
    values["launch"] = json.dumps(exp.launch, sort_keys=True)
    return values


def _run_values(values: dict[str, Any]) -> dict[str, Any]:
    """Run column values with the JSON columns encoded."""
    out = dict(values)
    for key in ("command", "metric_files"):
        if key in out and not isinstance(out[key], str):
            out[key] = json.dumps(out[key])
    return out


def _new_run_values(values: dict[str, Any]) -> dict[str, Any]:
    out = _run_values(values)
    out.setdefault("id", new_id())
    out.setdefault("status", RUNNING)
    out.setdefault("dirty", False)
    return out


def _insert_new(conn: Connection, table: Any, update: Sequence[str] = ()) -> Any:
    """``INSERT`` that leaves a row whose primary key exists as it is (or sets its ``update`` columns
    to the new values): ``ON CONFLICT`` on PostgreSQL and SQLite (>= 3.24), atomic under concurrency."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(table)
    if not update:
        return stmt.on_conflict_do_nothing()
    keys = [c.name for c in table.primary_key.columns]
    return stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in update})


def _insert_points(conn: Connection, run_id: str, points: Iterable[Point]) -> int:
    """Store ``points`` of ``run_id`` as chunks (one per key and source); returns how many points."""
    return _insert_chunks(conn, run_id, pack(points))


def _insert_chunks(conn: Connection, run_id: str, chunks: Sequence[Chunk]) -> int:
    if chunks:
        conn.execute(insert(S.metric_chunks), [
            {"run_id": run_id, "key": c.key, "source": c.source or None, "n": c.n, "steps": c.steps,
             "vals": c.values, "times": c.times} for c in chunks])
    return sum(c.n for c in chunks)


ChunkRow = tuple[str, str, str, int, bytes, bytes, bytes]
"""``(run_id, key, source, n, steps, values, times)``: a stored chunk as read."""


def _chunk_rows(conn: Connection, run_ids: Sequence[str], keys: Sequence[str] | None) -> Iterator[ChunkRow]:
    """The chunks of ``run_ids`` (among ``keys``), ordered by run, key and storage order."""
    m = S.metric_chunks.c
    for part in _chunks(list(run_ids), 500):
        q = select(m.run_id, m.key, m.source, m.n, m.steps, m.vals, m.times).where(m.run_id.in_(part))
        if keys:
            q = q.where(m.key.in_(list(keys)))
        for row in conn.execute(q.order_by(m.run_id, m.key, m.id)):
            yield tuple(row)  # type: ignore[misc]


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

