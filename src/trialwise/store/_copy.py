"""Copy one store into another (``trialwise store migrate``): a SQLite history into a team's PostgreSQL.

Every table of :mod:`trialwise.store._schema` is copied; rows the destination already holds are
left as they are, so copying twice adds nothing:

- experiments and environments by their id (hash), before the runs that refer to them;
- each run with its params, summaries and metric chunks in **one** destination transaction: a
  run is in the destination completely or not at all, so an interrupted copy resumes where it
  stopped, and a run already there is skipped whole (its points are not stored twice). A run
  whose row differs from the destination's (it went on in the source after an earlier copy) is
  reported, not overwritten;
- artifacts by their content (experiment, run, name, kind, path), since their ids are local:
  only as many copies as the destination lacks. Artifacts are paths to files (patches,
  predictions) on the machine that recorded them; the files themselves are not copied.

Metric chunks get new ids in the destination (its own chunks keep theirs) and keep their order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from trialwise._exceptions import StoreError
from trialwise.store import _schema as S
from trialwise.store._store import INSERT_CHUNK, Store, _sqlite_file, display_url

COPY_ORDER = ("environments", "experiments", "runs", "params", "summaries", "metric_chunks", "artifacts")
"""Every table, in an order that respects the foreign keys (a test checks it covers the schema)."""

RUN_PARTS = ("params", "summaries", "metric_chunks")
"""Tables copied with their run, in its transaction."""

ARTIFACT_IDENTITY = ("experiment_id", "run_id", "name", "kind", "path")
"""What makes two artifact rows the same artifact (their integer ids are local to a store)."""


@dataclass(frozen=True)
class TableCopy:
    """One table: rows in the source, copied now, and already in the destination (skipped)."""

    table: str
    source: int
    copied: int

    @property
    def present(self) -> int:
        return self.source - self.copied


@dataclass(frozen=True)
class CopyReport:
    """What :func:`copy_store` did; URLs are shown without their passwords."""

    source: str
    destination: str
    tables: tuple[TableCopy, ...]
    differing_runs: tuple[str, ...]
    """Runs in both stores whose rows differ (status, end, ...): left as the destination has them."""
    artifact_paths: int
    """Artifact rows copied: paths to files on the source machine, which were not copied."""

    @property
    def copied(self) -> int:
        return sum(t.copied for t in self.tables)

    def table(self, name: str) -> TableCopy:
        return next(t for t in self.tables if t.table == name)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["tables"] = {t.table: {"source": t.source, "copied": t.copied, "present": t.present} for t in self.tables}
        out["copied"] = self.copied
        return out


def copy_store(src: Store, dst: Store) -> CopyReport:
    """Copy everything of ``src`` that ``dst`` lacks into ``dst`` (both open, at the newest schema)."""
    if _same_store(src.url, dst.url):
        raise StoreError(f"the source and the destination are the same store ({display_url(src.url)})")
    tables = {name: S.metadata.tables[name] for name in COPY_ORDER}
    unknown = set(S.metadata.tables) - set(tables)
    if unknown:  # a table added to the schema must be added to the copy, never silently dropped
        raise StoreError(f"copying a store does not know the tables {sorted(unknown)} yet")
    counts = {name: _count(src, table) for name, table in tables.items()}
    copied = Counter({name: 0 for name in COPY_ORDER})
    for name, key in (("environments", "hash"), ("experiments", "id")):
        copied[name] = _copy_missing_by_key(src, dst, tables[name], key)
    differing: list[str] = []
    dst_runs = _rows_by_id(dst, S.runs)
    for run in _rows(src, select(S.runs).order_by(S.runs.c.started_at, S.runs.c.id)):
        there = dst_runs.get(run["id"])
        if there is not None:
            if there != run:
                differing.append(run["id"])
            continue
        for name, n in _copy_run(src, dst, run).items():
            copied[name] += n
    copied["artifacts"] = _copy_artifacts(src, dst)
    return CopyReport(
        source=display_url(src.url), destination=display_url(dst.url),
        tables=tuple(TableCopy(name, counts[name], copied[name]) for name in COPY_ORDER),
        differing_runs=tuple(differing), artifact_paths=copied["artifacts"],
    )


def _same_store(a: str, b: str) -> bool:
    files = [_sqlite_file(u) for u in (a, b)]
    if all(files):
        return files[0].resolve() == files[1].resolve()  # type: ignore[union-attr]
    return make_url(a) == make_url(b)


def _count(store: Store, table: Any) -> int:
    with store._read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _rows(store: Store, query: Any) -> list[dict[str, Any]]:
    with store._read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def _rows_by_id(store: Store, table: Any) -> dict[Any, dict[str, Any]]:
    return {r["id"]: r for r in _rows(store, select(table))}


def _copy_missing_by_key(src: Store, dst: Store, table: Any, key: str) -> int:
    with dst._read() as conn:
        present = set(conn.execute(select(table.c[key])).scalars())
    missing = [r for r in _rows(src, select(table)) if r[key] not in present]
    for chunk in _chunks(missing):
        with dst._tx() as conn:
            conn.execute(insert(table), chunk)
    return len(missing)


def _copy_run(src: Store, dst: Store, run: dict[str, Any]) -> dict[str, int]:
    """The run and everything of it, in one destination transaction."""
    copied = {"runs": 1}
    with dst._tx() as conn:
        conn.execute(insert(S.runs).values(**run))
        for name in RUN_PARTS:
            table = S.metadata.tables[name]
            n = 0
            for chunk in _run_rows(src, table, run["id"]):
                conn.execute(insert(table), chunk)
                n += len(chunk)
            copied[name] = n
    return copied


def _run_rows(src: Store, table: Any, run_id: str) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``run_id`` in ``table``, in batches; metric chunks without their local ids, in order."""
    query = select(table).where(table.c.run_id == run_id)
    if "id" in table.c:
        query = query.order_by(table.c.id)
    with src._read() as conn:
        result = conn.execution_options(yield_per=INSERT_CHUNK).execute(query)
        for part in result.partitions():
            rows = [dict(r._mapping) for r in part]
            if "id" in table.c:
                for r in rows:
                    del r["id"]
            yield rows


def _copy_artifacts(src: Store, dst: Store) -> int:
    def identities(store: Store) -> list[tuple[Any, ...]]:
        cols = [S.artifacts.c[c] for c in ARTIFACT_IDENTITY]
        with store._read() as conn:
            return [tuple(r) for r in conn.execute(select(*cols).order_by(S.artifacts.c.id))]

    ours = identities(src)
    lacking = Counter(ours) - Counter(identities(dst))
    rows = []
    for ident in ours:
        if lacking[ident] > 0:
            lacking[ident] -= 1
            rows.append(dict(zip(ARTIFACT_IDENTITY, ident)))
    for chunk in _chunks(rows):
        with dst._tx() as conn:
            conn.execute(insert(S.artifacts), chunk)
    return len(rows)


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), INSERT_CHUNK):
        yield rows[start : start + INSERT_CHUNK]
