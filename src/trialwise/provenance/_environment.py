"""Environment fingerprints: what pattern #9 calls external factors (machine, CUDA, packages, user).

The fingerprint is computed without importing torch (package metadata and ``nvidia-smi`` only), so
it is cheap enough to take before every experiment.  The hash that decides whether a stored seed
can be reused covers what changes results (interpreter, platform, packages, CUDA, GPUs) and leaves
out who launched it and on which host; those are recorded and shown in diffs.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from functools import lru_cache
from typing import Any

HASH_EXCLUDED = ("host", "user", "cpu_count")
"""Fingerprint items recorded but left out of the reuse hash: they identify who/where, not what."""

NVIDIA_SMI_TIMEOUT_S = 10.0
"""How long ``nvidia-smi`` may take before GPUs are reported as unknown."""


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


@lru_cache(maxsize=1)
def environment_fingerprint() -> dict[str, Any]:
    """A JSON-able description of this interpreter's environment, with its ``hash``."""
    packages = _packages()
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
        if k not in HASH_EXCLUDED and k not in ("hash", "executable_prefix", "cuda_visible_devices")
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
