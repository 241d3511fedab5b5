"""The Ray backend on a real local Ray cluster of two nodes (Ray's own multi-node test cluster:
real GCS, raylets and workers): 4 seeds across both, the worker node killed mid-run, its runs
``crashed`` (node lost), the others completed, ``resume`` completes the experiment with no seed
twice, and ``compare`` works on the result."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.capture.test_crash import _wait_for
from tests.conftest import make_repo

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

SCRIPT = """
import json, os, time
from pathlib import Path
go = Path(os.environ["GO_FILE"])
for step in range(3):
    print(json.dumps({"step": step, "val_acc": 0.5 + int(os.environ["TRIALWISE_SEED"]) / 100 + step / 100}), flush=True)
deadline = time.time() + 120
while not go.exists() and time.time() < deadline:
    time.sleep(0.1)
"""

CONFIG = 'command = "{python} train.py"\nseeds = 4\nbackend = "ray"\n[resources]\ncpus = 1\n'


def _markers(run_dirs):
    out = {}
    for d in run_dirs:
        f = Path(d) / "ray_task.json"
        if f.exists():
            out[d] = json.loads(f.read_text())
    return out


def test_four_seeds_across_two_nodes_a_lost_node_then_resume(tmp_path, cluster):
    import subprocess
    import sys

    from tests.conftest import activated_env

    c, worker = cluster
    go = tmp_path / "go"
    import shlex

    repo = make_repo(tmp_path / "r", CONFIG.format(python=shlex.quote(sys.executable)), {"train.py": SCRIPT})
    env = {**activated_env(), "GO_FILE": str(go), "TRIALWISE_RAY_ADDRESS": c.address}
    driver = subprocess.Popen([sys.executable, "-m", "trialwise", "run", "--json"], cwd=repo.path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def all_started():
        runs = repo.store().runs() if (repo.path / ".trialwise" / "store.db").exists() else []
        m = _markers([r.run_dir for r in runs if r.run_dir])
        return len(m) == 4 and m

    markers = _wait_for(all_started, "4 seeds started on the cluster", 180)
    nodes = {m["node"] for m in markers.values()}
    assert len(nodes) == 2 and worker.node_id in nodes  # spread over both nodes
    on_worker = [d for d, m in markers.items() if m["node"] == worker.node_id]
    # the node is lost, as a machine that dies: its Ray worker processes, its raylet, and the scripts
    # (which on this one machine would otherwise outlive their node)
    for d in on_worker:
        os.kill(markers[d]["worker_pid"], signal.SIGKILL)
    c.remove_node(worker, allow_graceful=False)
    for d in on_worker:
        try:
            os.killpg(markers[d]["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
    go.write_text("go")
    out, err = driver.communicate(timeout=300)
    assert driver.returncode == 0, err
    assert out.lstrip().startswith("{"), out[:500]
    res, end = json.JSONDecoder().raw_decode(out.lstrip())
    assert not out.lstrip()[end:].strip(), out.lstrip()[end:][:800]
    status = {r["run_dir"]: r["status"] for r in res["runs"]}
    errors = {r["run_dir"]: r["error"] for r in res["runs"]}
    for d in on_worker:
        assert status[d] == "crashed", (status, errors)
    assert sorted(status.values()).count("completed") == 4 - len(on_worker)
    crashed = [r for r in res["runs"] if r["status"] == "crashed"]
    assert all("node lost" in (r["error"] or "") for r in crashed), [r["error"] for r in crashed]
    # resume on the node that is left: only the lost seeds, with their own seeds
    resumed = repo.tw_json("resume", res["experiment"]["id"], env={"GO_FILE": str(go), "TRIALWISE_RAY_ADDRESS": c.address})
    assert sorted(resumed["resumed"]) == sorted(r["seed"] for r in crashed)
    runs = repo.store().runs()
    completed = sorted(r.seed for r in runs if r.status == "completed")
    assert completed == [0, 1, 2, 3]  # every seed once
    # a second experiment on the cluster, and a decision between the two
    repo.git("checkout", "--quiet", "-b", "feat/b")
    repo.write("train.py", SCRIPT.replace("0.5 +", "0.6 +"))
    repo.commit("b")
    repo.git("checkout", "--quiet", "main")
    repo.tw("run", "--ref", "feat/b", env={"GO_FILE": str(go), "TRIALWISE_RAY_ADDRESS": c.address})
    decision = repo.tw_json("compare", "main", "feat/b")["decisions"][0]
    assert decision["verdict"] == "progression"
