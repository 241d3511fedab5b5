"""A self-contained HTML report of experiments: curves with seed bands, verdicts, provenance, diagnosis.

- :func:`collect` (``_collect.py``): read what the report shows from the store (the I/O edge).
- :mod:`trialwise.stats._bands`: per-step mean and t band over seeds, M4 downsampling (pure; shared
  with the dashboard).
- :mod:`trialwise.report._charts`: Plotly figure dicts from those records (pure; the dashboard
  draws the same figures).
- :func:`render_html` (``_html.py``): the page, Jinja2 with autoescaping, plotly.js inlined.
- :func:`write_report`: all of it into one file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trialwise.report._collect import ReportModel, collect
from trialwise.report._html import render_html

__all__ = ["ReportFile", "ReportModel", "collect", "render_html", "write_html", "write_report"]


@dataclass(frozen=True)
class ReportFile:
    """A written report: where, of which experiments, how large."""

    path: str
    experiments: list[str]
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "experiments": self.experiments, "bytes": self.bytes}


def write_html(model: ReportModel, path: str | Path) -> ReportFile:
    """Render ``model`` and write it to ``path`` (parent directories created; written whole, then
    moved into place, so a reader never sees half a report)."""
    import os
    import tempfile

    from trialwise._exceptions import UsageError

    target = Path(path).expanduser().resolve()
    page = render_html(model).encode("utf-8")
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(page)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would make a report only its writer can read
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise UsageError(f"cannot write the report to {target}: {exc.strerror or exc}; pass -o with a writable path") from None
    return ReportFile(str(target), [v.experiment.name for v in model.experiments], len(page))


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_report(store: Any, root: Path, config: Any, experiments: Sequence[Any], path: str | Path,
                 **kwargs: Any) -> ReportFile:
    """:func:`collect` then :func:`write_html`; ``kwargs`` go to :func:`collect`."""
    return write_html(collect(store, root, config, experiments, **kwargs), path)
