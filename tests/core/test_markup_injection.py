"""User text is printed as written, never parsed as Rich markup or matplotlib mathtext.

One real repository whose metric name, ``--set`` value, ``tw.config`` value, series name, class labels,
inputs, tag names, CSV headers and error text all hold the same hostile string; every command that
prints user text runs on it in a real subprocess. Rich raised a MarkupError on ``[/]``, ate
``[diagnose.series]`` and ``[note=...]`` as style tags and turned ``:thumbs_up:`` into an emoji;
matplotlib failed to draw ``$\\foo$`` as mathtext.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo, make_repo

PY = sys.executable

HOSTILE = r"[/]x[diagnose.series]:thumbs_up:$\foo$"
"""Each part broke something: a closing tag with nothing open, a style-like tag, an emoji code, mathtext."""

METRIC = "acc " + HOSTILE

TRAIN = f"""
import argparse, glob, os, random
import trialwise as tw

H = {HOSTILE!r}
parser = argparse.ArgumentParser()
parser.add_argument("--note", default="")
parser.add_argument("--crash", default="0")
args = parser.parse_args()
tw.init()
seed = int(os.environ["TRIALWISE_SEED"])
tw.config({{"label": H, "note": args.note}})
if args.crash == "1":
    raise ValueError(H)
shift = sum(float(open(p).read()) for p in sorted(glob.glob("changes/*.txt")))
rng = random.Random(seed * 7919 + 1)
tw.log({{{METRIC!r}: 0.8 + shift + rng.gauss(0, 0.01), H: 1.0 + seed}}, step=1)
classes = [H, "[bold]b", "plain"]
ids = list(range(60))
y_true = [classes[i % 3] for i in ids]
pred = [(i + (rng.random() < 0.3)) % 3 for i in ids]
scores = [[0.5 + 0.3 * rng.random() if k == p else 0.1 for k in range(3)] for p in pred]
scores = [[x / sum(row) for x in row] for row in scores]
tw.log_predictions(ids, y_true, scores=scores, inputs=["in " + H] * len(ids), classes=classes)
"""

CONFIG = f"""
command = "{PY} train.py"
seeds = 2
[metric]
name = '{METRIC}'
[baseline]
ref = "main"
"""

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def tw(repo: Repo, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    """The real CLI, output piped (so not cut: no COLUMNS), with its exit code and no traceback checked."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    proc = subprocess.run([PY, "-m", "trialwise", *args], cwd=repo.path, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)
    both = proc.stdout + proc.stderr
    assert proc.returncode == code, f"trialwise {' '.join(args)} exited {proc.returncode}\n{both}"
    assert "Traceback" not in both and "MarkupError" not in both, both
    return proc


def on_terminal(repo: Repo, *args: str) -> str:
    """The real CLI on a pseudo-terminal (Rich's live display), 200 columns; its output without ANSI codes."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "TERM")} | {"TERM": "xterm"}
    proc = subprocess.Popen([PY, "-m", "trialwise", *args], cwd=repo.path, env=env, stdin=slave, stdout=slave,
                            stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=600) == 0, b"".join(chunks).decode(errors="replace")
    text = ANSI.sub("", b"".join(chunks).decode(errors="replace"))
    assert "Traceback" not in text and "MarkupError" not in text, text
    return text


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = make_repo(tmp_path / "repo", CONFIG, {"train.py": TRAIN})
    for name, shift in (("a", "0.05"), ("b", "0.0")):
        r.git("checkout", "--quiet", "-b", f"feat/{name}", "main")
        r.write(f"changes/{name}.txt", shift)
        r.commit(f"change {name}")
        r.git("checkout", "--quiet", "main")
    return r


def test_user_text_is_printed_literally_by_every_command(repo: Repo, tmp_path: Path) -> None:
    # run: the live display on a terminal, plain lines off one; the experiment's name holds [note=...]
    shown = on_terminal(repo, "run", "--set", f"note={HOSTILE}")
    assert f"[note={HOSTILE}]" in shown
    note = repo.tw_json("run", "--set", f"note={HOSTILE}")["experiment"]
    assert note["name"].endswith(f"[note={HOSTILE}]")
    base = repo.tw_json("run")["experiment"]
    piped = tw(repo, "run", "--ref", "feat/a")
    assert "feat/a@" in piped.stdout and METRIC in piped.stdout
    crash = tw(repo, "run", "--set", "crash=1", "--seeds", "1")
    assert f"ValueError: {HOSTILE}" in crash.stdout  # the error text in the note column
    crashed = next(e["experiment"]["id"] for e in repo.tw_json("ls") if e["experiment"]["name"].endswith("[crash=1]"))

    ls = tw(repo, "ls").stdout
    assert note["name"] in ls and METRIC in ls
    show = tw(repo, "show", note["id"]).stdout
    assert note["name"] in show and f"label={HOSTILE}" in show and f"note={HOSTILE}" in show and METRIC in show
    assert HOSTILE in show.split("captured series")[1]  # the series named like it
    assert f"ValueError: {HOSTILE}" in tw(repo, "show", crashed).stdout

    compare = tw(repo, "compare", "main", note["id"]).stdout
    assert METRIC in compare and note["name"] in compare
    assert "progression" in tw(repo, "compare", "main", "feat/a").stdout
    ablate = tw(repo, "ablate", "feat/a", "feat/b").stdout
    assert METRIC in ablate and "feat/a+feat/b" in ablate

    # error analysis: class labels, inputs, tags and plots
    plots = tmp_path / "plots"
    errors = tw(repo, "errors", base["id"], "--plots", str(plots)).stdout
    assert HOSTILE in errors and "[bold]b" in errors and f"in {HOSTILE}" in errors
    assert (plots / "confusion_matrix.png").read_bytes().startswith(b"\x89PNG")
    assert HOSTILE in tw(repo, "errors", "compare", "main", "feat/a").stdout
    metrics = tw(repo, "metrics", base["id"], "--plots", str(plots)).stdout
    assert HOSTILE in metrics and "[bold]b" in metrics
    pngs = list(plots.iterdir())
    assert len(pngs) > 1 and all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)  # and the PR curve
    sheet = tmp_path / "sheet.csv"
    tw(repo, "errors", "sample", base["id"], "--out", str(sheet), "--tags", f"{HOSTILE},blurry")
    with open(sheet, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index(HOSTILE)
    for row in rows[1:3]:
        row[col] = "x"
    with open(sheet, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    tags = tw(repo, "errors", "tags", str(sheet), "--run", base["id"]).stdout
    assert HOSTILE in tags.split("co-occurrence")[0] and HOSTILE in tags.split("co-occurrence")[1]

    # an imported CSV: its name and cells
    imported = tmp_path / "preds.csv"
    imported.write_text(f"id,y_true,y_pred\n1,{HOSTILE},ok\n2,ok,ok\n3,ok,{HOSTILE}\n", encoding="utf-8")
    assert f"imp {HOSTILE}" in tw(repo, "errors", "import", str(imported), "--name", f"imp {HOSTILE}").stdout
    assert HOSTILE in tw(repo, "errors", f"imp {HOSTILE}").stdout

    # a data check on CSV files whose column is named like it
    train, val = tmp_path / "train.csv", tmp_path / "val.csv"
    for path, offset in ((train, 0.0), (val, 0.00005)):
        path.write_text("label," + HOSTILE + "\n" + "".join(f"{i % 2},{(i % 2) * 10 + i / 1e4 + offset}\n"
                                                            for i in range(40)), encoding="utf-8")
    leak = tw(repo, "checks", "leakage", str(train), str(val), "--label", "label", code=1).stdout
    assert HOSTILE in leak

    assert note["name"] in tw(repo, "export", note["id"]).stdout
    assert note["name"] in tw(repo, "diagnose", note["id"]).stdout

    # the error path: the message holds the user's text, printed as written
    missing = tw(repo, "show", HOSTILE, code=2)
    assert HOSTILE in missing.stderr
    repo.write("trialwise.toml", CONFIG + '[diagnose.series]\nnot_a_role = "x"\n')
    bad = tw(repo, "diagnose", note["id"], code=2)
    assert "[diagnose.series]" in bad.stderr and "not_a_role" in bad.stderr
