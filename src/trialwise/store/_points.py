"""Metric points as columns: each stored chunk is one run's points of one key from one source, as
three packed little-endian arrays (steps ``int64``, values and times ``float64``).

A row per point costs a key string, a run id and an index entry per point (≈ 93 bytes on SQLite) and
a Python tuple per point to read; a chunk costs 16–24 bytes a point and is read as a buffer, so one
experiment's curves (16 seeds × 100k points) load in milliseconds (issue 16). The stdlib
:mod:`array` packs and unpacks them, so writing points does not import numpy; frames view the same
bytes with :func:`numpy.frombuffer`.

Encoding (what :func:`pack` writes and :func:`unpack` reads):

- a missing step (a point logged without one) is :data:`STEP_NONE`, the smallest ``int64``, which
  also sorts such points first as the store always has ("NULL steps first");
- a NaN value is NaN; ±inf are themselves;
- a missing time is NaN; a chunk whose points have no time at all stores an empty ``times`` blob.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Point = tuple[str, "int | None", float, "float | None", str]
"""``(key, step, value, time, source)``: what the capture and the importers hand the store."""

STEP_NONE = -(2**63)
"""The stored step of a point logged without one (``None``): the smallest 64-bit integer, below any
step a run logs (:func:`trialwise.runner._capture.storable_points` drops steps outside 64 bits)."""

MAX_CHUNK_POINTS = 1_000_000
"""Points per stored chunk at most (8 MB a column): a longer series is stored as several chunks, so no
single value approaches SQLite's 1 GB blob limit or PostgreSQL's ``bytea`` limit."""

_BIG_ENDIAN = sys.byteorder == "big"


@dataclass(frozen=True)
class Chunk:
    """One key's points from one source, packed (see the module docstring)."""

    key: str
    source: str
    n: int
    steps: bytes
    values: bytes
    times: bytes


def _to_bytes(arr: array) -> bytes:
    if _BIG_ENDIAN:
        arr = array(arr.typecode, arr)
        arr.byteswap()
    return arr.tobytes()


def _from_bytes(typecode: str, blob: bytes | memoryview) -> array:
    arr = array(typecode)
    arr.frombytes(bytes(blob))
    if _BIG_ENDIAN:
        arr.byteswap()
    return arr


def pack(points: Iterable[Point]) -> list[Chunk]:
    """The chunks of ``points``: one per (key, source) in the order each first appears (split every
    :data:`MAX_CHUNK_POINTS`), each keeping its points' order."""
    groups: dict[tuple[str, str], tuple[list[int], list[float], list[float], list[bool]]] = {}
    nan = math.nan
    for key, step, value, t, source in points:
        group = groups.get((key, source))
        if group is None:
            group = groups[(key, source)] = ([], [], [], [False])
        group[0].append(STEP_NONE if step is None else step)
        group[1].append(nan if value is None else value)
        if t is None:
            group[2].append(nan)
        else:
            group[2].append(t)
            group[3][0] = True
    chunks = []
    for (key, source), (steps, values, times, timed) in groups.items():
        for start in range(0, len(steps), MAX_CHUNK_POINTS):
            stop = start + MAX_CHUNK_POINTS
            chunks.append(Chunk(key, source, len(steps[start:stop]), _to_bytes(array("q", steps[start:stop])),
                                _to_bytes(array("d", values[start:stop])),
                                _to_bytes(array("d", times[start:stop])) if timed[0] else b""))
    return chunks


@dataclass(frozen=True)
class Series:
    """One run's points of one key, in step order (missing steps first, then insertion order)."""

    steps: array
    values: array
    times: array

    def __len__(self) -> int:
        return len(self.steps)

    def step_list(self) -> list[int | None]:
        """The steps, ``None`` where a point had none."""
        out = self.steps.tolist()
        if out and out[0] == STEP_NONE:  # in step order: missing steps come first
            return [None if s == STEP_NONE else s for s in out]
        return out

    def time_list(self) -> list[float | None]:
        """The times, ``None`` where a point had none."""
        return [None if t != t else t for t in self.times.tolist()]


def unpack(parts: Sequence[tuple[int, bytes | memoryview, bytes | memoryview, bytes | memoryview]]) -> Series:
    """One series from its stored chunks ``(n, steps, values, times)`` in the order they were stored,
    stably sorted by step."""
    steps, values, times = array("q"), array("d"), array("d")
    for n, s, v, t in parts:
        steps.extend(_from_bytes("q", s))
        values.extend(_from_bytes("d", v))
        times.extend(_from_bytes("d", t) if len(t) else array("d", [math.nan]) * n)
    if any(a > b for a, b in zip(steps, steps[1:])):
        order = sorted(range(len(steps)), key=steps.__getitem__)  # stable: insertion order within a step
        steps = array("q", [steps[i] for i in order])
        values = array("d", [values[i] for i in order])
        times = array("d", [times[i] for i in order])
    return Series(steps, values, times)


_NAN_BYTES = _to_bytes(array("d", [math.nan]))

StoredChunk = tuple[str, str, int, "bytes | memoryview", "bytes | memoryview", "bytes | memoryview"]
"""``(key, source, n, steps, values, times)`` as read back from the store."""


def merge_chunks(rows: Sequence[StoredChunk]) -> list[Chunk]:
    """``rows`` (in storage order) as one chunk per (key, source), each split every
    :data:`MAX_CHUNK_POINTS`: their bytes joined in order, a missing ``times`` filled with NaN."""
    groups: dict[tuple[str, str], list[StoredChunk]] = {}
    for row in rows:
        groups.setdefault((row[0], row[1]), []).append(row)
    out = []
    for (key, source), parts in groups.items():
        timed = any(len(p[5]) for p in parts)
        steps = b"".join(bytes(p[3]) for p in parts)
        values = b"".join(bytes(p[4]) for p in parts)
        times = b"".join(bytes(p[5]) if len(p[5]) else _NAN_BYTES * p[2] for p in parts) if timed else b""
        n = sum(p[2] for p in parts)
        step = 8 * MAX_CHUNK_POINTS
        for start in range(0, n, MAX_CHUNK_POINTS):
            lo, hi = 8 * start, 8 * start + step
            out.append(Chunk(key, source, min(MAX_CHUNK_POINTS, n - start), steps[lo:hi], values[lo:hi],
                             times[lo:hi] if timed else b""))
    return out
