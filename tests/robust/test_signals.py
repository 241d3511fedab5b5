"""SIGTERM is reported as what it was (issue 17, item 10): a real runner, a real training process,
a real signal once the script is running."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import make_repo

PY = sys.executable

SLOW = """
import time
import trialwise as tw
run = tw.init()
(run.dir / "started").write_text("1")
while True:  # a training that runs until it is stopped
    time.sleep(0.05)
"""


def test_sigterm_stops_the_runs_and_says_sigterm_not_ctrl_c(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", f'command = "{PY} train.py"\nseeds = 2\n', {"train.py": SLOW})
    proc = subprocess.Popen([PY, "-m", "trialwise", "run", "--jobs", "1", "--json"], cwd=repo.path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    runs_dir = repo.path / ".trialwise" / "runs"
    while not list(runs_dir.glob("*/started")):  # the first seed's script is running
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    runs = sorted(repo.store().runs(), key=lambda r: r.seed)
    assert [r.status for r in runs] == ["killed", "killed"]
    assert runs[0].error.startswith("terminated (SIGTERM)")
    assert runs[1].error.startswith("terminated (SIGTERM), before it started")
    assert "Ctrl-C" not in out + err + "".join(r.error for r in runs)
