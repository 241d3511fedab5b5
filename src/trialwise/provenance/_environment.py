"""Environment fingerprints: what pattern #9 calls external factors (machine, CUDA, packages, user).

The fingerprint is computed without importing torch (package metadata and ``nvidia-smi`` only), so
it is cheap enough to take before every experiment.  It describes the interpreter the training
command runs under (``python``, a path to one, or a console script such as ``torchrun`` through its
shebang), which need not be trialwise's own: this module is stdlib-only and runs there as a script.  The hash that decides whether a stored seed
can be reused covers what changes results (interpreter, platform, packages, CUDA, GPUs) and leaves
out who launched it and on which host; those are recorded and shown in diffs.  The package list
(the slow part: every distribution's metadata) is cached on disk per interpreter and ``sys.path``
and re-read when the state of those directories changes (:func:`path_state`).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

HASH_EXCLUDED = ("host", "user", "cpu_count")
"""Fingerprint items recorded but left out of the reuse hash: they identify who/where, not what."""

NVIDIA_SMI_TIMEOUT_S = 10.0
"""How long ``nvidia-smi`` may take before GPUs are reported as unknown."""

FOREIGN_TIMEOUT_S = 60.0
"""How long fingerprinting another interpreter (the training command's) may take."""

PYTHON_NAME = re.compile(r"^python(\d+(\.\d+)*)?(\.exe)?$")
"""Executable names that are a Python interpreter (``python``, ``python3``, ``python3.11``)."""

SHEBANG_BYTES = 512
"""How much of a console script is read to find its ``#!`` interpreter line."""


PACKAGES_CACHE = "environment-packages"
"""Namespace of :mod:`trialwise._cache` holding each interpreter's installed packages: reading the
metadata of every distribution costs ≈ 0.3 s (hundreds of files parsed as e-mail headers), on
every command that fingerprints; the cached list is reused while :func:`path_state` is unchanged."""

METADATA_SUFFIXES = (".dist-info", ".egg-info")
"""Directory entries ``importlib.metadata.distributions()`` reads a distribution from."""

METADATA_FILES = ("METADATA", "PKG-INFO")
"""The file inside a ``*.dist-info`` / ``*.egg-info`` directory holding the name and version."""


SITE_DIRS = ("site-packages", "dist-packages")
"""Names of the directories installers write into: their own mtime moves with every install."""


def _stat_token(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_ino, 0 if stat.S_ISDIR(st.st_mode) else st.st_size]


def path_state() -> str:
    """A digest of everything :func:`_packages` reads: the interpreter's ``site-packages``
    directories' mtime and inode (an install, upgrade or uninstall adds, removes or renames entries
    there, which moves it) and any file entry's (a zip), then for every ``sys.path`` directory the
    name, mtime and inode of each ``*.dist-info`` / ``*.egg-info`` entry and of its ``METADATA`` /
    ``PKG-INFO`` (a renamed, added, removed or edited distribution). Costs a directory listing per
    entry and two ``stat`` calls per distribution (milliseconds).
    """
    h = hashlib.sha256()
    for entry in sys.path:
        where = entry or "."
        # other directories (the working directory, the script's, PYTHONPATH's) change all the
        # time; what is read from them is their metadata entries, listed below
        own = _stat_token(where) if os.path.basename(where.rstrip(os.sep)) in SITE_DIRS or not os.path.isdir(where) else []
        h.update(json.dumps([entry, own]).encode())
        try:
            children = sorted(e.name for e in os.scandir(where) if e.name.lower().endswith(METADATA_SUFFIXES))
        except OSError:  # a file (zip, egg) or a missing entry: its own stat above stands for it
            continue
        for name in children:
            info = os.path.join(where, name)
            meta = [_stat_token(os.path.join(info, f)) for f in METADATA_FILES]
            h.update(json.dumps([name, _stat_token(info), meta]).encode())
    return h.hexdigest()[:32]


def _cache_module() -> Any:
    """:mod:`trialwise._cache`; loaded by file path when this module runs as a script in the
    training command's interpreter, where trialwise need not be importable (and must not be put on
    ``sys.path``: the fingerprint describes that interpreter's path)."""
    if __name__ != "__main__":
        from trialwise import _cache

        return _cache
    import importlib.util

    spec = importlib.util.spec_from_file_location("_trialwise_cache", Path(__file__).resolve().parent.parent / "_cache.py")
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except (OSError, ImportError, SyntaxError):
        return None
    return module


def _cached_packages() -> dict[str, str]:
    """:func:`_packages` through the on-disk cache, keyed by interpreter and ``sys.path``, valid
    while :func:`path_state` is unchanged (taken *before* the scan, so that a package installed
    during it invalidates the entry)."""
    cache = _cache_module()
    if cache is None:
        return _packages()
    key = {"executable": sys.executable, "prefix": sys.prefix, "version": sys.version, "path": list(sys.path)}
    state = path_state()
    hit = cache.cache_get(PACKAGES_CACHE, key)
    if (isinstance(hit, dict) and hit.get("state") == state and isinstance(packages := hit.get("packages"), dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in packages.items())):
        return dict(sorted(packages.items()))
    packages = _packages()
    cache.cache_put(PACKAGES_CACHE, key, {"state": state, "packages": packages})
    return packages


def _packages() -> dict[str, str]:
    from importlib import metadata

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            found[name.lower().replace("_", "-")] = dist.version
    return dict(sorted(found.items()))


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpus() -> dict[str, Any]:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return {"gpus": [], "driver": None}
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S, check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"gpus": [], "driver": None}
    rows = [r.split(",") for r in out.strip().splitlines() if r.strip()]
    return {"gpus": [r[0].strip() for r in rows], "driver": rows[0][1].strip() if rows else None}


def interpreter_of(argv: Sequence[str], cwd: str | Path = ".") -> str | None:
    """The Python interpreter that runs the command ``argv``, or ``None`` when it is not Python.

    ``python train.py`` and ``/env/bin/python3 train.py`` name it; a console script
    (``torchrun``, ``accelerate``, ``lightning``) names it in its ``#!`` line (``#!/usr/bin/env
    python3`` is looked up on ``PATH``). Paths with a slash are relative to ``cwd``.
    """
    if not argv:
        return None
    exe = _resolve(argv[0], cwd)
    if exe is None:
        return None
    if PYTHON_NAME.match(os.path.basename(exe)):
        return exe
    try:
        with open(exe, "rb") as fh:
            first = fh.read(SHEBANG_BYTES).split(b"\n", 1)[0].decode("utf-8", "replace")
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    parts = first[2:].split()
    if parts and os.path.basename(parts[0]) == "env":
        parts = [p for p in parts[1:] if not p.startswith("-")]
    if parts and PYTHON_NAME.match(os.path.basename(parts[0])):
        return _resolve(parts[0], cwd)
    return None


def _resolve(token: str, cwd: str | Path) -> str | None:
    if os.sep in token or (os.altsep and os.altsep in token):
        path = Path(cwd) / token
        return os.path.abspath(path) if path.is_file() else None
    found = shutil.which(token)
    return os.path.abspath(found) if found else None


def environment_fingerprint(interpreter: str | None = None) -> dict[str, Any]:
    """A JSON-able description of the environment of ``interpreter`` (default: this one), with its ``hash``.

    Another interpreter is fingerprinted by running this stdlib-only module in it; when that fails
    the fingerprint is this interpreter's, with ``fingerprint_note`` saying why.
    """
    if interpreter is None or same_interpreter(interpreter, sys.executable):
        return _own_fingerprint()
    return _foreign_fingerprint(os.path.abspath(interpreter))


def same_interpreter(a: str, b: str) -> bool:
    """Whether the executables ``a`` and ``b`` are one interpreter with one environment: the same
    path, or names in the same directory for the same file (a virtual environment's ``python`` and
    ``python3`` links: its ``pyvenv.cfg`` is found beside the name, so one directory is one
    environment; https://docs.python.org/3/library/venv.html#how-venvs-work). The same file under
    two directories may be two environments (two venvs of one base interpreter)."""
    a, b = os.path.abspath(a), os.path.abspath(b)
    return a == b or (os.path.dirname(a) == os.path.dirname(b) and os.path.realpath(a) == os.path.realpath(b))


@lru_cache(maxsize=8)
def _foreign_fingerprint(interpreter: str) -> dict[str, Any]:
    try:
        proc = subprocess.run([interpreter, os.path.abspath(__file__)], capture_output=True, text=True,
                              timeout=FOREIGN_TIMEOUT_S, check=False)
        fp = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        fp = None
    if not isinstance(fp, dict) or "hash" not in fp:
        own = dict(_own_fingerprint())
        own["fingerprint_note"] = (f"the training command's interpreter {interpreter} could not be fingerprinted; "
                                   "this is trialwise's own environment")
        own["hash"] = fingerprint_hash(own)
        return own
    return fp


@lru_cache(maxsize=1)
def _own_fingerprint() -> dict[str, Any]:
    packages = _cached_packages()
    gpu = _gpus()
    fp: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu(),
        "cpu_count": os.cpu_count(),
        "host": socket.gethostname(),
        "user": getpass.getuser(),
        "executable": sys.executable,
        "executable_prefix": sys.prefix,
        "torch": packages.get("torch"),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "gpus": gpu["gpus"],
        "nvidia_driver": gpu["driver"],
        "packages": packages,
        "packages_hash": hashlib.sha256(json.dumps(packages, sort_keys=True).encode()).hexdigest()[:16],
    }
    fp["hash"] = fingerprint_hash(fp)
    return fp


def fingerprint_hash(fp: dict[str, Any]) -> str:
    """The reuse hash of a fingerprint: everything but :data:`HASH_EXCLUDED` and volatile paths."""
    keep = {
        k: v for k, v in fp.items()
        if k not in HASH_EXCLUDED and k not in ("hash", "executable", "executable_prefix", "cuda_visible_devices",
                                              "fingerprint_note")
    }
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]


def diff_fingerprints(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Items that differ between two fingerprints, package by package: ``(item, a, b)``."""
    diffs: list[tuple[str, Any, Any]] = []
    for key in sorted(set(a) | set(b)):
        if key in ("hash", "packages_hash", "packages"):
            continue
        if a.get(key) != b.get(key):
            diffs.append((key, a.get(key), b.get(key)))
    pa, pb = a.get("packages") or {}, b.get("packages") or {}
    for name in sorted(set(pa) | set(pb)):
        if pa.get(name) != pb.get(name):
            diffs.append((f"package {name}", pa.get(name), pb.get(name)))
    return diffs


if __name__ == "__main__":  # run in the training command's interpreter by environment_fingerprint()
    sys.stdout.write(json.dumps(_own_fingerprint(), default=str))
