"""``trialwise import tensorboard LOGDIR``: every run directory of a TensorBoard logdir becomes a run.

A *run directory* is one that holds event files (``events.out.tfevents.*``), as TensorBoard itself
treats them. Its scalars are read with TensorBoard's ``EventAccumulator`` (every event, with its step
and wall time); its hyperparameters from the HParams plugin's session-start summary, and its status
from the session-end summary when present.

PyTorch's ``SummaryWriter.add_hparams`` writes the hparams (and the metrics given to it) into a new
sub-directory of the run directory, named by the time; such a directory, holding hparams, is read
as part of its parent run (its hparams are the parent's params, its series are added where the
parent has none of that name) rather than as a run of its own.

Every event file is checked first with TensorBoard's record reader: a record whose checksum fails or
that is not an event is a corrupt file, an error that stores nothing. A file whose *last* record is
cut short (the writer was stopped mid-write) is read up to it, as TensorBoard reads it, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trialwise._exceptions import DataError, UsageError
from trialwise.importers._model import ImportedRun, SourceRead, parse_value
from trialwise.runner._ingest import PLACEHOLDERS, TB_SIZE_GUIDANCE, Point, accumulator_points

SOURCE = "tensorboard"

EVENT_FILE_GLOB = "events.out.tfevents.*"
"""The name TensorBoard's writers give event files (``tf.summary``, ``torch.utils.tensorboard``)."""

HPARAMS_PLUGIN = "hparams"
"""The HParams plugin's name in the event files (``tensorboard.plugins.hparams.metadata.PLUGIN_NAME``)."""

TRUNCATED = "truncated record"
"""What TensorBoard's record reader says of a record cut short at the end of a file (its other data
loss is a failed checksum)."""

SESSION_STATUS = {"STATUS_SUCCESS": "completed", "STATUS_FAILURE": "failed", "STATUS_ABORTED": "killed"}
"""HParams session-end statuses (``tensorboard/plugins/hparams/api.proto``) → trialwise statuses; any
other (unknown, running) reads as completed: TensorBoard has no notion of a run's end."""


@dataclass
class _Dir:
    path: Path
    params: dict[str, Any]
    status: str | None
    points: list[Point]


def read_tensorboard(logdir: str | Path) -> SourceRead:
    """Every run directory under ``logdir`` (see the module docstring), read and checked whole.

    Raises
    ------
    UsageError
        ``logdir`` is missing or holds no event files.
    DataError
        A corrupt event file.
    """
    root = Path(logdir).expanduser()
    if not root.is_dir():
        raise UsageError(f"no TensorBoard logdir at {root}" + (" (it is a file: give its directory)"
                                                               if root.is_file() else ""))
    root = root.resolve()
    files = sorted(p for p in root.rglob(EVENT_FILE_GLOB) if p.is_file())
    if not files:
        raise UsageError(f"{root} holds no TensorBoard event files ({EVENT_FILE_GLOB}); give the directory "
                         "SummaryWriter / the TensorBoard logger wrote to")
    notes = [note for f in files if (note := _check_event_file(f))]
    dirs = {d: _read_dir(d) for d in sorted({f.parent for f in files})}
    for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):  # deepest first: a chain merges upwards
        child = dirs[d]
        parent = dirs.get(d.parent)
        if d != root and parent is not None and child.params and not parent.params:
            parent.params = child.params
            parent.status = parent.status or child.status
            have = {p[0] for p in parent.points}
            parent.points.extend(p for p in child.points if p[0] not in have)
            del dirs[d]
    runs = [_run(root, d) for d in dirs.values()]
    return SourceRead(SOURCE, str(root), root.name, tuple(runs), tuple(notes))


def _check_event_file(path: Path) -> str | None:
    """``None`` for a sound event file, a note for one cut short at its end; a :class:`DataError` else."""
    from google.protobuf.message import DecodeError
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.tensorflow_stub import errors
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New

    reader = PyRecordReader_New(str(path))
    n = 0
    try:
        while True:
            try:
                reader.GetNext()
            except errors.OutOfRangeError:
                return None
            except errors.DataLossError as exc:
                if TRUNCATED in str(exc) and n:
                    return (f"{path}: its last record is cut short (the writer stopped mid-write); the {n} "
                            "complete records before it were read, as TensorBoard reads them")
                raise DataError(f"{path}: corrupt TensorBoard event file after {n} good records "
                                f"({exc.message}); move it out of the logdir "
                                "or restore it, then import again") from None
            try:
                Event.FromString(reader.record())
            except DecodeError:
                raise DataError(f"{path}: corrupt TensorBoard event file: record {n + 1} is not an event; move it "
                                "out of the logdir or restore it, then import again") from None
            n += 1
    finally:
        reader.file_handle.close()


def _read_dir(path: Path) -> _Dir:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(path), size_guidance=TB_SIZE_GUIDANCE)
    acc.Reload()
    points = accumulator_points(acc, SOURCE)
    for key, placeholder in PLACEHOLDERS.items():  # Lightning's hp_metric = -1
        if any(p[0] == key for p in points) and all(p[2] == placeholder for p in points if p[0] == key):
            points = [p for p in points if p[0] != key]
    params, status = _hparams(acc)
    return _Dir(path, params, status, points)


def _hparams(acc: Any) -> tuple[dict[str, Any], str | None]:
    """The HParams plugin's hyperparameters and session status of one run directory."""
    from tensorboard.plugins.hparams import metadata

    try:
        content = acc.PluginTagToContent(HPARAMS_PLUGIN)
    except KeyError:  # no HParams summary in this directory
        return {}, None
    params: dict[str, Any] = {}
    status = None
    for tag, data in content.items():
        if tag == metadata.SESSION_START_INFO_TAG:
            info = metadata.parse_session_start_info_plugin_data(data)
            params = {name: _value(v) for name, v in info.hparams.items()}
        elif tag == metadata.SESSION_END_INFO_TAG:
            end = metadata.parse_session_end_info_plugin_data(data)
            from tensorboard.plugins.hparams import api_pb2

            status = SESSION_STATUS.get(api_pb2.Status.Name(end.status))
    return params, status


def _value(v: Any) -> Any:
    """A ``google.protobuf.Value`` of the HParams plugin as a Python value (whole numbers as ``int``)."""
    kind = v.WhichOneof("kind")
    if kind == "number_value":
        x = v.number_value
        return int(x) if x.is_integer() else x
    if kind == "bool_value":
        return v.bool_value
    if kind == "string_value":
        return parse_value(v.string_value)
    return None


def _run(root: Path, d: _Dir) -> ImportedRun:
    rel = d.path.relative_to(root).as_posix()
    name = root.name if rel == "." else rel
    times = [p[3] for p in d.points if p[3] is not None]
    return ImportedRun(SOURCE, str(d.path), name, d.params, tuple(d.points), status=d.status or "completed",
                       started_at=min(times) if times else None, ended_at=max(times) if times else None,
                       tags={"run": name})
