"""What the CLI writes and prints: exports outside the tree, whole lines off a terminal, the exit codes.

Every test runs the real ``trialwise`` in a subprocess on a real git repository in a temp dir.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import Repo, make_repo

PY = sys.executable

TRAIN = """
import os, random
import trialwise as tw
tw.init()
seed = int(os.environ["TRIALWISE_SEED"])  # not tw.seed_everything(): importing torch costs seconds per run
tw.log({"val_acc": 0.8 + random.Random(seed).gauss(0, 0.01)}, step=1)
"""

CONFIG = f"""
command = "{PY} train.py"
seeds = 2
[metric]
name = "val_acc"
"""


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "repo", CONFIG, {"train.py": TRAIN})


def test_export_writes_outside_the_tree_by_default_and_says_where(repo: Repo) -> None:
    exp = repo.tw_json("run")["experiment"]["id"]
    res = repo.tw_json("export", exp)
    path = Path(res["path"])
    assert path == (repo.path / ".trialwise" / "exports" / f"{exp}.csv").resolve()
    assert len(pd.read_csv(path)) == res["rows"] == 2
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""
    text = repo.tw("export", exp, "--format", "json")
    assert str(repo.path / ".trialwise" / "exports" / f"{exp}.json") in text.stdout
    assert text.stderr == ""  # the default place needs no hint
    # the next run is not refused for a dirty tree (it reuses both seeds)
    again = repo.tw_json("run")
    assert sorted(again["reused"]) == sorted(r["id"] for r in again["runs"])


def test_export_to_stdout_and_the_hint_for_a_file_in_the_tree(repo: Repo) -> None:
    exp = repo.tw_json("run")["experiment"]["id"]
    csv = repo.tw("export", exp, "--out", "-")
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert len(frame) == 2 and set(frame.seed) == {0, 1}
    assert "wrote 2 metric points" in csv.stderr and "stdout" in csv.stderr
    assert json.loads(repo.tw("export", exp, "--out", "-", "--format", "json").stdout)[0]["key"] == "val_acc"
    parquet = subprocess.run([PY, "-m", "trialwise", "export", exp, "--out", "-", "--format", "parquet"],
                             cwd=repo.path, capture_output=True, check=True)
    assert len(pd.read_parquet(io.BytesIO(parquet.stdout))) == 2
    refused = repo.tw("export", exp, "--out", "-", "--json", check=False)
    assert refused.returncode == 2 and "drop --json" in refused.stdout
    # an explicit file in the tree is written where asked, with a hint that it dirties the tree
    inside = repo.tw("export", exp, "--out", "points.csv")
    assert (repo.path / "points.csv").exists()
    assert "not git-ignored" in inside.stderr and "points.csv" in inside.stderr
    assert repo.git("status", "--porcelain") == "?? points.csv\n"


LONG_BRANCH = "feat/" + "-".join(["a-rather-long-and-descriptive-branch-name"] * 3)
"""A branch name of 131 characters: longer than any table cell fits in 80 columns."""


def _piped(repo: Repo, *args: str, columns: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI with stdout and stderr piped, stdin not a terminal either, COLUMNS as given."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    return subprocess.run([PY, "-m", "trialwise", *args], cwd=repo.path, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)


def test_output_off_a_terminal_keeps_ids_names_and_verdicts_whole(repo: Repo) -> None:
    repo.git("checkout", "--quiet", "-b", LONG_BRANCH)
    repo.write("train.py", TRAIN.replace("0.8 +", "0.9 +"))
    repo.commit("better")
    repo.git("checkout", "--quiet", "main")
    base = repo.tw_json("run", "--seeds", "3")["experiment"]
    cand = repo.tw_json("run", "--seeds", "3", "--ref", LONG_BRANCH)["experiment"]
    ls = _piped(repo, "ls")
    assert ls.returncode == 0, ls.stderr
    lines = ls.stdout.splitlines()
    assert any(cand["name"] in line and cand["id"] in line for line in lines), ls.stdout
    assert any(base["name"] in line and base["id"] in line for line in lines)
    show = _piped(repo, "show", cand["id"])
    assert any(cand["name"] in line and cand["id"] in line for line in show.stdout.splitlines()), show.stdout
    compare = _piped(repo, "compare", "main", LONG_BRANCH)
    assert compare.returncode == 0, compare.stderr
    verdict = [line for line in compare.stdout.splitlines() if line.startswith("progression:")]
    assert len(verdict) == 1 and LONG_BRANCH in verdict[0], compare.stdout
    assert any(LONG_BRANCH in line and "3" in line for line in compare.stdout.splitlines() if line.startswith("│"))
    missing = _piped(repo, "show", LONG_BRANCH + "-gone")
    assert missing.returncode == 2
    assert any(LONG_BRANCH + "-gone" in line for line in missing.stderr.splitlines()), missing.stderr
    # COLUMNS, when set, is the width
    narrow = _piped(repo, "ls", columns="60")
    assert narrow.returncode == 0 and max(len(line) for line in narrow.stdout.splitlines()) <= 60


EXACT_TRAIN = """
import os
import trialwise as tw
tw.init()
seed = int(os.environ["TRIALWISE_SEED"])
effect = float(open("effect.txt").read())
tw.log({"val_acc": 0.25 * seed + effect, "other": (seed + 1) ** (1 + effect)}, step=1)  # val_acc: exact differences
"""


def test_compare_exits_2_on_insufficient_data_as_gate_does(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", CONFIG, {"train.py": EXACT_TRAIN, "effect.txt": "0.0"})
    repo.git("checkout", "--quiet", "-b", "feat/shift")
    repo.write("effect.txt", "0.5")
    repo.commit("shift every seed by exactly 0.5")
    repo.git("checkout", "--quiet", "main")
    for ref in ("main", "feat/shift"):
        repo.tw("run", "--ref", ref, "--seeds", "3")
    # paired: every difference is exactly 0.5, so the noise of the differences cannot be estimated
    res = repo.tw("compare", "main", "feat/shift", "--paired", "--json", check=False)
    assert res.returncode == 2, res.stdout + res.stderr
    assert json.loads(res.stdout)["verdict"] == "insufficient data"
    text = repo.tw("compare", "main", "feat/shift", "--paired", check=False)
    assert text.returncode == 2 and "insufficient data" in text.stdout
    # one insufficient metric among decided ones: still no verdict, exit 2
    both = repo.tw("compare", "main", "feat/shift", "--paired", "--metric", "val_acc", "--metric", "other",
                   "--json", check=False)
    assert both.returncode == 2, both.stdout
    assert [d["verdict"] for d in json.loads(both.stdout)["decisions"]][0] == "insufficient data"
    # unpaired, the same runs decide: exit 0
    decided = repo.tw("compare", "main", "feat/shift", "--json", check=False)
    assert decided.returncode == 0 and json.loads(decided.stdout)["verdict"] == "no detectable difference"


def test_ctrl_c_outside_a_run_exits_130_not_the_negative_verdict_code(repo: Repo, tmp_path: Path) -> None:
    import errno
    import signal
    import time

    if not Path("/proc/self/wchan").exists():
        pytest.skip("needs Linux's /proc/PID/wchan to see trialwise waiting in read()")
    fifo = tmp_path / "predictions.csv"
    os.mkfifo(fifo)
    proc = subprocess.Popen([PY, "-m", "trialwise", "errors", "import", str(fifo)], cwd=repo.path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    writer = None
    try:
        while writer is None and proc.poll() is None:  # opens once trialwise has opened the file to read it
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                assert exc.errno == errno.ENXIO
                time.sleep(0.01)
        assert writer is not None, proc.communicate()
        wchan = Path(f"/proc/{proc.pid}/wchan")
        while proc.poll() is None and "pipe" not in wchan.read_text():  # asleep in read() (pipe_read, pipe_wait)
            time.sleep(0.01)  # a signal just before read() would set Python's flag and leave read() blocked
        proc.send_signal(signal.SIGINT)  # a Ctrl-C while trialwise waits in read()
        out, err = proc.communicate(timeout=60)
    finally:
        if writer is not None:
            os.close(writer)
        proc.kill()
    assert proc.returncode == 130, out + err
    assert "interrupted" in err and "Traceback" not in err


def test_the_readme_table_lists_every_exit_code_with_its_constant() -> None:
    import re

    from trialwise import _exit_codes

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\d+) \| `(EXIT_[A-Z]+)` \|", readme, flags=re.M))
    constants = {name: getattr(_exit_codes, name) for name in _exit_codes.__all__}
    assert {name: int(code) for code, name in rows.items()} == constants
