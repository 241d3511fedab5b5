"""``trialwise import wandb DIR``: W&B offline run directories, or a CSV export of W&B's runs table.

**Run directories** (``wandb/offline-run-<time>-<id>``, and the ``run-*`` directories of online
runs): everything a run logged is in its ``run-<id>.wandb`` file, the transaction log ``wandb sync``
replays. Since wandb 0.19 the Python package has no reader of its own for that file (``wandb sync``
is done by the ``wandb-core`` binary), so :func:`wandb_records` reads its framing, LevelDB's log
format (https://github.com/google/leveldb/blob/main/doc/log_format.md: 32 KiB blocks of records with
a CRC-32 of type and data, a record split over blocks as FIRST, MIDDLE, LAST pieces) behind W&B's
7-byte header (``:W&B``, magic 0xBEE1, version 0), and decodes each record with W&B's own protobuf
message, ``wandb.proto.wandb_internal_pb2.Record``. From them: the run (id, project, name, group,
tags, host, start, git commit), its config, every ``history`` row (step and wall time), the final
summary, and the exit code. A run's ``files/config.yaml``, ``files/wandb-summary.json`` and
``files/wandb-metadata.json``, when present (older clients, synced runs), fill in what the log lacks.

A record whose checksum fails, a bad header, or a record that is no W&B record is a corrupt file:
an error that stores nothing. A log that ends in a record cut short (the process was killed, or is
still writing) is read up to it, with a note; a run without an exit record did not finish and is
imported as ``crashed``.

**CSV export** of the runs table (one row per run): ``Name`` (and ``ID``), ``State``, ``Created``,
``Runtime``, ``Tags``, ... and one column per config or summary key. Which columns are config
(params) is told by the caller: the ``--group-by`` and ``--seed-param`` columns, columns prefixed
``config.``, and every column that is not a number; the other numeric columns are the summary.
"""

from __future__ import annotations

import csv
import json
import math
import struct
import zlib
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from trialwise._csvfields import allow_large_fields
from trialwise._exceptions import DataError, UsageError
from trialwise.importers._model import ImportedRun, SourceRead, number, parse_value
from trialwise.runner._ingest import Point

SOURCE = "wandb"

HEADER = struct.Struct("<4sHB")
HEADER_IDENT, HEADER_MAGIC, HEADER_VERSION = b":W&B", 0xBEE1, 0
"""A ``.wandb`` file's header: ident, magic (``zlib.crc32(b"Weights & Biases") & 0xffff``) and version."""

BLOCK = 32_768
RECORD_HEADER = struct.Struct("<IHB")
"""LevelDB log format: 32 KiB blocks; each record starts with its CRC-32 (of the type byte, then the
data), the data's length and the type (:data:`FULL`, :data:`FIRST`, :data:`MIDDLE`, :data:`LAST`)."""
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4

RUN_DIR_GLOBS = ("offline-run-*", "run-*")
"""Run directories of a ``wandb`` directory: offline runs, and online runs' local copies."""

STATES = {"finished": "completed", "failed": "failed", "crashed": "crashed", "killed": "killed"}
"""W&B run states (``wandb.apis.public.Run.state``) that end a run → trialwise statuses; a
``running`` run is not imported."""

EXPORT_COLUMNS = {"name", "id", "state", "notes", "user", "tags", "created", "runtime", "end time", "updated",
                  "hostname", "sweep", "group", "job type", "gpu type", "gpu count", "commit", "github"}
"""Columns of W&B's runs-table export that describe the run rather than its config or summary (lower case)."""

NO_EXIT = "no exit record: the W&B process stopped before the run finished (killed, crashed, or still running)"


def read_wandb(path: str | Path, *, params: Sequence[str] = ()) -> SourceRead:
    """The runs under ``path``: a run directory, a ``wandb`` directory (or one holding ``wandb/``), or
    a CSV export of the runs table (``params``: its columns that are config, see the module docstring).

    Raises
    ------
    UsageError
        Nothing at ``path``, no run directory under it, wandb not installed.
    DataError
        A corrupt ``.wandb`` file, a malformed CSV line.
    """
    where = Path(path).expanduser()
    if where.is_file() and where.suffix.lower() == ".csv":
        return read_wandb_csv(where, params=params)
    if not where.is_dir():
        raise UsageError(f"no W&B run directory or CSV export at {where}")
    where = where.resolve()
    dirs = run_dirs(where)
    if not dirs:
        raise UsageError(f"no W&B run directories under {where}: give a wandb/ directory (its offline-run-* "
                         "directories), one run directory, or a CSV export of the runs table")
    try:
        from wandb.proto import wandb_internal_pb2 as pb
    except ModuleNotFoundError:
        raise UsageError("reading W&B run directories needs the wandb package: pip install wandb") from None
    runs = []
    notes: list[str] = []
    for d in dirs:
        run = _read_run_dir(d, pb, notes)
        if run is not None:
            runs.append(run)
    projects = {r.tags.get("project") for r in runs}
    prefix = projects.pop() if len(projects) == 1 and None not in projects else where.name
    return SourceRead(SOURCE, str(where), prefix or where.name, tuple(runs), tuple(notes))


def run_dirs(where: Path) -> list[Path]:
    """The run directories at ``where`` (itself, its run directories, or those of its ``wandb/``)."""
    if any(where.glob("*.wandb")):
        return [where]
    for base in (where, where / "wandb"):
        found = sorted({p.resolve() for g in RUN_DIR_GLOBS for p in base.glob(g)
                        if p.is_dir() and not p.is_symlink() and any(p.glob("*.wandb"))})
        if found:
            return found
    return []


def wandb_records(path: Path) -> Iterator[tuple[int, bytes] | str]:
    """The records of a ``.wandb`` file as ``(offset, data)``; a final ``str`` says the log ends in a
    record cut short. A bad header or checksum is a :class:`DataError`."""
    with path.open("rb") as fh:
        data = fh.read()
    if len(data) < HEADER.size:
        raise DataError(f"{path}: not a W&B run log ({len(data)} bytes, shorter than its header)")
    ident, magic, version = HEADER.unpack_from(data)
    if ident != HEADER_IDENT or magic != HEADER_MAGIC:
        raise DataError(f"{path}: not a W&B run log (its header is {data[:HEADER.size]!r})")
    if version != HEADER_VERSION:
        raise DataError(f"{path}: W&B log format version {version}, which this trialwise does not read "
                        f"(it reads version {HEADER_VERSION}); upgrade trialwise")
    crc = {t: zlib.crc32(bytes([t])) for t in (FULL, FIRST, MIDDLE, LAST)}
    at = HEADER.size
    pending: bytes | None = None
    start = at
    while at < len(data):
        left = BLOCK - at % BLOCK
        if left < RECORD_HEADER.size:  # the block's trailer: zeros up to the next block
            if any(data[at:at + left]):
                raise DataError(f"{path}: corrupt W&B run log: non-zero block trailer at byte {at}")
            at += left
            continue
        if at + RECORD_HEADER.size > len(data):
            yield f"{path}: ends in a record cut short at byte {at}"
            return
        checksum, length, kind = RECORD_HEADER.unpack_from(data, at)
        if kind == 0 and length == 0 and checksum == 0 and not any(data[at:]):
            return  # a preallocated, never written tail
        body = data[at + RECORD_HEADER.size:at + RECORD_HEADER.size + length]
        if len(body) < length:
            yield f"{path}: ends in a record cut short at byte {at}"
            return
        if kind not in crc or zlib.crc32(body, crc[kind]) != checksum:
            raise DataError(f"{path}: corrupt W&B run log: the record at byte {at} fails its checksum; move the run "
                            "directory away or restore it, then import again")
        if kind in (FULL, FIRST):
            start = at
        at += RECORD_HEADER.size + length
        if kind == FULL:
            yield start, body
        elif kind == FIRST:
            pending = body
        elif pending is None:
            raise DataError(f"{path}: corrupt W&B run log: a record continued at byte {start} without its start")
        elif kind == MIDDLE:
            pending += body
        else:
            yield start, pending + body
            pending = None
    if pending is not None:
        yield f"{path}: ends in a record cut short at byte {start}"


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _key(item: Any) -> str:
    return ".".join(item.nested_key) if len(item.nested_key) else item.key


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    """Nested config dicts as ``a.b`` keys (W&B's own display)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}", v, out)
    else:
        out[prefix] = value


def _read_run_dir(d: Path, pb: Any, notes: list[str]) -> ImportedRun | None:
    from google.protobuf.message import DecodeError

    config: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    points: list[Point] = []
    info: dict[str, Any] = {}
    exit_code: int | None = None
    for log in sorted(d.glob("*.wandb")):
        for item in wandb_records(log):
            if isinstance(item, str):
                notes.append(item + "; the records before it were read")
                continue
            offset, body = item
            record = pb.Record()
            try:
                record.ParseFromString(body)
            except DecodeError:
                raise DataError(f"{log}: corrupt W&B run log: the record at byte {offset} is not a W&B record") from None
            kind = record.WhichOneof("record_type")
            if kind == "run":
                _run_info(record.run, info)
                _config(record.run.config, config)
            elif kind == "config":
                _config(record.config, config)
            elif kind == "history":
                _history(record.history, points)
            elif kind == "summary":
                for u in record.summary.update:
                    summary[_key(u)] = _json(u.value_json)
                for r in record.summary.remove:
                    summary.pop(_key(r), None)
            elif kind == "exit":
                exit_code = int(record.exit.exit_code)
    _files(d, config, summary, info)
    if "run_id" not in info:
        notes.append(f"{d}: no run record in its log (the run never started); not imported")
        return None
    params: dict[str, Any] = {}
    for k, v in config.items():
        if not k.startswith("_"):
            _flat(k, v, params)
    final = {k: x for k, v in summary.items() if not k.startswith("_") and (x := _summary_number(v)) is not None}
    times = [p[3] for p in points if p[3] is not None]
    started = info.get("start") or (min(times) if times else None)
    if exit_code is None:
        status, error = "crashed", NO_EXIT
    else:
        status, error = ("completed", None) if exit_code == 0 else ("failed", f"exit code {exit_code}")
    tags = {k: v for k, v in (("project", info.get("project")), ("group", info.get("group")),
                              ("job_type", info.get("job_type")), ("name", info.get("name")),
                              ("tags", ",".join(sorted(info.get("tags", []))))) if v}
    return ImportedRun(SOURCE, f"{info.get('project') or ''}/{info['run_id']}", info.get("name") or info["run_id"],
                       params, tuple(points), status=status, started_at=started,
                       ended_at=max(times) if times else None, tags=tags, summary=final, commit=info.get("commit"),
                       host=info.get("host"), exit_code=exit_code, error=error)


def _summary_number(value: Any) -> float | None:
    return None if isinstance(value, (dict, list)) else number(value)


def _run_info(run: Any, info: dict[str, Any]) -> None:
    info.update(run_id=run.run_id, project=run.project or None, name=run.display_name or None,
                group=run.run_group or None, job_type=run.job_type or None, tags=list(run.tags),
                host=run.host or None, commit=run.git.commit or None)
    if run.HasField("start_time"):
        info["start"] = run.start_time.seconds + run.start_time.nanos / 1e9


def _config(record: Any, config: dict[str, Any]) -> None:
    for u in record.update:
        config[_key(u)] = _json(u.value_json)
    for r in record.remove:
        config.pop(_key(r), None)


def _history(record: Any, points: list[Point]) -> None:
    row = {_key(item): _json(item.value_json) for item in record.item}
    step = row.get("_step", record.step.num if record.HasField("step") else None)
    t = number(row.get("_timestamp"))
    for key, value in row.items():
        if key.startswith("_"):
            continue
        v = None if isinstance(value, (dict, list)) else number(value)
        if v is not None:
            points.append((key, int(step) if isinstance(step, (int, float)) else None, v, t, SOURCE))


def _files(d: Path, config: dict[str, Any], summary: dict[str, Any], info: dict[str, Any]) -> None:
    """What the run's ``files/`` hold and its log did not: config, summary, commit, host."""
    files = d / "files"
    yaml_file = files / "config.yaml"
    if yaml_file.is_file():
        import yaml

        try:
            loaded = yaml.safe_load(yaml_file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise DataError(f"{yaml_file}: not YAML ({exc})") from None
        for k, v in loaded.items() if isinstance(loaded, dict) else ():
            if isinstance(v, dict) and "value" in v:
                config.setdefault(str(k), v["value"])
    for name, into in (("wandb-summary.json", summary), ("wandb-metadata.json", None)):
        path = files / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise DataError(f"{path}: not JSON ({exc})") from None
        if not isinstance(data, dict):
            continue
        if into is not None:
            for k, v in data.items():
                into.setdefault(k, v)
        else:
            info.setdefault("host", data.get("host"))
            git = data.get("git") if isinstance(data.get("git"), dict) else {}
            if not info.get("commit") and git.get("commit"):
                info["commit"] = git["commit"]


def read_wandb_csv(path: Path, *, params: Sequence[str] = ()) -> SourceRead:
    """The runs of a CSV export of W&B's runs table (see the module docstring)."""
    file = path.resolve()
    try:
        with file.open(encoding="utf-8-sig", newline="") as fh:
            allow_large_fields()
            rows = list(csv.reader(fh))
    except UnicodeDecodeError as exc:
        raise DataError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise DataError(f"{file}: {exc}") from None
    if not rows:
        raise DataError(f"{file}:1: the file is empty")
    header = [c.strip() for c in rows[0]]
    lower = [c.lower() for c in header]
    if "name" not in lower and "id" not in lower:
        raise DataError(f"{file}:1: no 'Name' or 'ID' column: not an export of W&B's runs table (it has "
                        f"{', '.join(header)})")
    runs = []
    skipped = []
    for line, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise DataError(f"{file}:{line}: {len(cells)} fields, but the header has {len(header)}")
        row = dict(zip(lower, (c.strip() for c in cells)))
        state = row.get("state", "finished").lower() or "finished"
        name = row.get("name") or row.get("id") or ""
        if not name:
            raise DataError(f"{file}:{line}: the run has neither a name nor an id")
        status = STATES.get(state)
        if status is None:
            skipped.append(name)
            continue
        run_params: dict[str, Any] = {}
        final: dict[str, float] = {}
        for col, raw in zip(header, (c.strip() for c in cells)):
            low = col.lower()
            if low in EXPORT_COLUMNS or raw == "":
                continue
            key, kind = _export_column(col, params)
            value = number(raw)
            if kind == "config" or value is None:
                run_params[key] = parse_value(raw)
            else:
                final[key] = value
        started = _time(row.get("created"), file, line)
        runtime = number(row.get("runtime", "")) if row.get("runtime") else None
        runs.append(ImportedRun(
            SOURCE, f"{file}::{row.get('id') or name}", name, run_params, (), status=status, started_at=started,
            ended_at=started + runtime if started is not None and runtime is not None else None,
            tags={k: row[c] for k, c in (("group", "group"), ("job_type", "job type"), ("name", "name"),
                                          ("tags", "tags")) if row.get(c)},
            summary=final, commit=row.get("commit") or None, host=row.get("hostname") or None,
            user=row.get("user") or None))
    if not runs:
        raise DataError(f"{file}: no finished runs in the export")
    notes = [f"{len(skipped)} run(s) still running were not imported: {', '.join(skipped)}"] if skipped else []
    return SourceRead(SOURCE, str(file), file.stem, tuple(runs), tuple(notes))


def _export_column(col: str, params: Sequence[str]) -> tuple[str, str]:
    """``(key, "config" | "summary" | "")`` of an export column: a ``config.``/``summary.`` prefix
    says; a column the caller names is config; else the cell's type decides (``""``)."""
    for prefix, kind in (("config.", "config"), ("summary.", "summary")):
        if col.startswith(prefix):
            return col[len(prefix):], kind
    return col, "config" if col in params else ""


def _time(text: str | None, file: Path, line: int) -> float | None:
    """The export's ``Created`` time (ISO 8601, UTC unless it says otherwise) as Unix seconds."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DataError(f"{file}:{line}: Created {text!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    t = when.timestamp()
    return t if math.isfinite(t) else None
