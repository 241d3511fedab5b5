"""A script run directly (``python train.py``, no ``trialwise run``) still records a run.

It is registered in the repository's store under the current commit (``dirty`` when the tree is
dirty, since such a run cannot be repeated) and ingested when the process exits.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from trialwise.api import _files as F


def start_standalone(run_cls: Any) -> Any:
    from trialwise._exceptions import GitError
    from trialwise.settings import load_config
    from trialwise.provenance import dirty_state, environment_fingerprint, metric_version, repo_root, resolve_ref
    from trialwise.runner._experiment import RUNS_DIR
    from trialwise.runner._record import record_run
    from trialwise.store import connect, resolve_store_url
    from trialwise.store._records import Experiment

    try:
        root = repo_root(".")
        commit = resolve_ref(root, "HEAD")
        sha, branch, dirty = commit.sha, commit.branch, not dirty_state(root).clean
    except GitError:
        root, sha, branch, dirty = Path.cwd(), "unknown", None, True
    cfg = load_config(root)
    store = connect(os.environ.get("TRIALWISE_STORE") or resolve_store_url(root, cfg.store))
    argv = [Path(sys.executable).name, *sys.argv]
    key = json.dumps({"commit": sha, "argv": argv, "standalone": True, "dirty": dirty})
    exp = store.upsert_experiment(Experiment(
        id=hashlib.sha256(key.encode()).hexdigest()[:12], name=f"{branch or sha[:8]}@{sha[:8]}:standalone",
        kind="standalone", commit_sha=sha, ref="HEAD", branch=branch, command=argv, launch={"standalone": True},
        profile=None, mode=None, metric_name=cfg.metric.name, metric_direction=cfg.metric.direction,
        dirty=dirty, tag=None, created_at=time.time(),
    ))
    fp = environment_fingerprint()
    seed = int(os.environ.get(F.ENV_SEED, "0"))
    run_id = store.create_run(
        experiment_id=exp.id, seed=seed, host=socket.gethostname(), user=getpass.getuser(), pid=os.getpid(),
        env_hash=store.put_environment(fp), metric_version=metric_version(cfg.metric, root).hash,
        dirty=dirty, started_at=time.time(), command=argv,
    )
    run_dir = (root / RUNS_DIR / run_id).resolve()
    store.update_run(run_id, run_dir=str(run_dir))

    def finish(run: Any, status: str) -> None:
        record_run(store, run.id, run.dir, cfg.metric, status=status, exit_code=0 if status == "completed" else 1)

    return run_cls(run_id, run_dir, seed, None, None, standalone=finish)
