"""The `sim_cluster` fixture (scenarios.pytest_plugin) gives a cluster whose metricsd serves."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scenarios.kubectl import kubectl_versions

pytestmark = pytest.mark.skipif(not kubectl_versions(), reason="no kubectl.1.NN installed")


async def test_fixture_cluster_serves_metrics(sim_cluster: Any) -> None:
    condition = await sim_cluster.apiservice_condition()
    assert condition["status"] == "True" and condition["reason"] == "Passed"
    nodes = await sim_cluster.metrics_api("/apis/metrics.k8s.io/v1beta1/nodes", "aggregator")
    assert nodes.status == 200
    items = json.loads(nodes.body)["items"]
    assert len(items) == 2
    top = await sim_cluster.kubectl(["top", "nodes"], kubectl_versions()[-1], None)
    assert top.exit_code == 0, top.stderr
    assert len(top.stdout.strip().splitlines()) == 3  # header + 2 nodes
