"""A small on-disk cache for values that are deterministic functions of their inputs.

Entries are JSON files (never pickle: a cache file is data, not code) under
``$TRIALWISE_CACHE_DIR``, else ``$XDG_CACHE_HOME/trialwise``, else ``~/.cache/trialwise`` (the XDG
Base Directory Specification's default). Each file stores its full key next to its value; a file
that is unreadable, not JSON, or whose key differs is a miss, so a corrupt or colliding entry is
recomputed and overwritten, never trusted. Writes are atomic (temporary file + ``os.replace``),
so concurrent commands never read half a file, and a cache that cannot be written is skipped:
caching makes commands faster, never makes them fail.

Imports only the standard library and nothing of trialwise at import time: it is on the path of
every command's start-up, and the environment fingerprint loads it by file path in the training
command's interpreter, where trialwise need not be installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["CACHE_ENV", "cache_dir", "cache_get", "cache_put", "source_digest"]

CACHE_ENV = "TRIALWISE_CACHE_DIR"
"""Environment variable naming the cache directory (overrides the XDG default)."""

CACHE_FORMAT = 1
"""Version of the entry layout ``{"format", "key", "value"}``; another version is a miss."""


def cache_dir() -> Path:
    """``$TRIALWISE_CACHE_DIR``, else ``$XDG_CACHE_HOME/trialwise``, else ``~/.cache/trialwise``.

    An empty or relative ``XDG_CACHE_HOME`` is ignored, as the XDG Base Directory Specification says.
    """
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "trialwise"


def _canonical(key: Mapping[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


def _entry_path(namespace: str, key: Mapping[str, Any]) -> Path:
    digest = hashlib.sha256(_canonical(key).encode("utf-8")).hexdigest()[:32]
    return cache_dir() / namespace / f"{digest}.json"


def cache_get(namespace: str, key: Mapping[str, Any]) -> Any | None:
    """The value stored under ``key`` in ``namespace``, or ``None`` (missing, unreadable, corrupt,
    another format, or another key in the same file)."""
    try:
        raw = _entry_path(namespace, key).read_text(encoding="utf-8")
        entry = json.loads(raw)
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT:
        return None
    # compare through the canonical text: a JSON round trip turns tuples into lists
    if _canonical(entry.get("key", None) or {}) != _canonical(key):
        return None
    return entry.get("value")


def cache_put(namespace: str, key: Mapping[str, Any], value: Any) -> Path | None:
    """Store ``value`` (JSON-able; NaN and infinities allowed) under ``key``; returns the file, or
    ``None`` when the cache directory cannot be written (the value is then simply not cached)."""
    path = _entry_path(namespace, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"format": CACHE_FORMAT, "key": key, "value": value}, sort_keys=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except (OSError, TypeError, ValueError):
        return None
    return path


def source_digest(*modules: Any) -> str:
    """SHA-256 (16 hex digits) of the source files of ``modules``: part of a cache key, so that
    editing the code that computes a cached value invalidates it."""
    h = hashlib.sha256()
    for module in modules:
        origin = getattr(module, "__file__", None)
        try:
            h.update(Path(origin).read_bytes() if origin else module.__name__.encode())
        except OSError:  # no source on disk (a frozen build): the release stands for it
            from trialwise._version import __version__

            h.update(f"{module.__name__}=={__version__}".encode())
    return h.hexdigest()[:16]
