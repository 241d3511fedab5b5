"""Package surface: light import, --version, every command has --json, the demo end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PY = sys.executable
HEAVY = ("torch", "scipy", "sqlalchemy", "pandas", "matplotlib", "optuna", "sklearn", "tensorboard")


def test_import_is_light() -> None:
    code = f"import sys, trialwise; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_version() -> None:
    out = subprocess.run([PY, "-m", "trialwise", "--version"], capture_output=True, text=True, check=True).stdout
    import trialwise

    assert out.strip() == f"trialwise {trialwise.__version__}"


def test_every_command_offers_json() -> None:
    from typer.main import get_command

    from trialwise.cli.app import app

    root = get_command(app)
    missing = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        for sub_name, sub in (subs or {name: cmd}).items():
            if not any("--json" in p.opts for p in sub.params):
                missing.append(f"{name} {sub_name}")
    assert missing == []


@pytest.mark.slow
def test_demo_end_to_end(tmp_path) -> None:  # noqa: ANN001
    pytest.importorskip("torch")
    proc = subprocess.run([PY, "-m", "trialwise", "demo", "--seeds", "3", "--json", "--keep", str(tmp_path / "demo")],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    report = tmp_path / "trialwise-demo-report.html"  # written by default, where the command ran
    assert out["report"]["path"] == str(report) and report.stat().st_size == out["report"]["bytes"]
    assert all(out["experiments"][ref]["id"] in report.read_text(encoding="utf-8") for ref in out["experiments"])
    base, change = out["experiments"]["main"]["values"], out["experiments"]["feat/higher-lr"]["values"]
    assert len(base) == len(change) == 3
    assert all(0.1 < v <= 1 for v in base + change)
    assert sum(change) / 3 > sum(base) / 3  # the learning-rate change helps on the fast profile
