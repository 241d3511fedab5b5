"""A report of an experiment whose seeds are still running: counted runs only by default, the points so
far of the running seeds with ``--include-running`` (live ingestion puts them in the store)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import activated_env, make_repo, wait_for
from tests.report.conftest import parse

SLOW = """
import json, os, time
from pathlib import Path
stop = Path(os.environ["STOP_FILE"])
for step in range(100_000):
    print(json.dumps({"step": step, "val_acc": step / 1000}), flush=True)
    if stop.exists() or step > 3000:
        break
    time.sleep(0.01)
"""


def test_running_seeds_are_drawn_only_when_asked(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", f'command = "{sys.executable} slow.py"\nseeds = 1\n[metric]\nname = "val_acc"\n',
                     {"slow.py": SLOW})
    stop = tmp_path / "stop"
    run = subprocess.Popen([sys.executable, "-m", "trialwise", "run", "--seeds", "1"], cwd=repo.path,
                           env={**activated_env(), "STOP_FILE": str(stop), "TRIALWISE_LIVE_INTERVAL": "0.5"},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        store = repo.store()
        running = wait_for(lambda: [r for r in store.runs(status="running") if store.metrics([r.id])], "live points")
        plain = tmp_path / "plain.html"
        repo.tw("report", "main", "-o", str(plain))
        page = parse(plain)
        assert not page.figures() or all(not f["data"] for f in page.figures().values()
                                         if f["layout"]["meta"]["kind"] == "curve")
        assert f"seed 0 ({running[0].id})" in page.body_text  # said to be running, not drawn
        live = tmp_path / "live.html"
        repo.tw("report", "main", "--include-running", "-o", str(live))
        curve = next(f for f in parse(live).figures().values() if f["layout"]["meta"]["kind"] == "curve")
        seeds = [t for t in curve["data"] if t["meta"]["role"] == "seed"]
        assert [t["meta"]["run"] for t in seeds] == [running[0].id] and len(seeds[0]["x"]) >= 1
    finally:
        stop.write_text("stop")
        run.wait(timeout=120)
