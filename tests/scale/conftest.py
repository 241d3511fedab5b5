"""One real two-node local Ray cluster for the scale-out tests (Ray's own multi-node test cluster:
a real GCS, raylets and worker processes on this machine)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def cluster():
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_health_check_period_ms", "500")
    os.environ.setdefault("RAY_health_check_failure_threshold", "3")
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
    worker = c.add_node(num_cpus=2)
    c.wait_for_nodes()
    yield c, worker
    c.shutdown()


