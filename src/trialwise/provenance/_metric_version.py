"""Metric versioning (pattern #10): a hash of the metric definition and of the files that define it.

Changing the validation data or the evaluation code changes the hash; comparisons across hashes are
refused, naming the files whose content changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from trialwise.settings import MetricConfig

HASH_CHUNK_BYTES = 1 << 20
"""Read size when hashing large validation files."""


@dataclass(frozen=True)
class MetricVersion:
    """The metric's version: ``hash`` plus the per-file hashes it was made from."""

    hash: str
    definition: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"hash": self.hash, "definition": self.definition, "files": self.files}


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(HASH_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def metric_version(metric: MetricConfig, tree: str | Path) -> MetricVersion:
    """Hash ``metric``'s definition and the files matched by its ``version_files`` under ``tree``."""
    tree = Path(tree)
    definition = {"name": metric.name, "direction": metric.direction, "summary": metric.summary}
    files: dict[str, str] = {}
    for pattern in metric.version_files:
        for path in sorted(tree.glob(pattern)):
            if path.is_file():
                files[path.relative_to(tree).as_posix()] = _file_hash(path)
            elif path.is_dir():
                for sub in sorted(p for p in path.rglob("*") if p.is_file()):
                    files[sub.relative_to(tree).as_posix()] = _file_hash(sub)
    payload = json.dumps({"definition": definition, "files": files}, sort_keys=True)
    return MetricVersion(hashlib.sha256(payload.encode()).hexdigest()[:16], definition, files)


def changed_metric_files(a: dict[str, str], b: dict[str, str]) -> list[str]:
    """Files whose content differs between two metric versions' file maps (added/removed included)."""
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
