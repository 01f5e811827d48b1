"""The real metrics-server v0.7.1 (the test peer) on the simulated cluster.

Proof that fakeapiserver is real enough for upstream's own client code where the scenarios do
not reach: delegated authentication of a bearer token (TokenReview), delegated authorization
(SubjectAccessReview) and its 403 text, answered by the simulated control plane to the Go
binary exactly as to metricsd. Each check runs against both servers, so where they part, the
failure names which one.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from scenarios.kubectl import kubectl_versions
from scenarios.pytest_plugin import started_sim_cluster
from tests.peers import METRICS_SERVER_VERSION, metrics_server_binary

pytestmark = pytest.mark.skipif(not kubectl_versions(), reason="no kubectl.1.NN installed")

NODES = "/apis/metrics.k8s.io/v1beta1/nodes"
READER = "system:serviceaccount:default:reader"


def test_the_peer_is_upstream_v0_7_1() -> None:
    binary = metrics_server_binary()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    assert (version.returncode, version.stdout) == (0, METRICS_SERVER_VERSION + "\n")
    usage = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    assert usage.returncode == 0
    assert usage.stdout.startswith("Launch metrics-server\n")
    assert "--kubelet-insecure-tls" in usage.stdout


@pytest.fixture(params=["metricsd", "upstream"])
async def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "upstream":
        metrics_server_binary()  # skip, or fail under METRICSD_REQUIRE_PEERS=1
    # serving is enough: no scrape has to be stored for these requests
    async with started_sim_cluster(tmp_path, server=request.param,
                                   wait="{probe: {path: /livez, status: 200}}") as backend:
        yield backend


async def kubectl(cluster: Any, *args: str) -> str:
    res = await cluster.kubectl(list(args), kubectl_versions()[-1], None)
    assert res.exit_code == 0, res.stderr
    return str(res.stdout)


async def get_as(cluster: Any, token: str, path: str) -> tuple[int, dict[str, Any]]:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    url = f"https://{await cluster.pod_address()}:10250{path}"
    async with aiohttp.ClientSession() as session, session.get(
            url, ssl=ctx, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, json.loads(await resp.text())


async def eventually(cluster: Any, token: str, path: str, status: int,
                     timeout: float = 45.0) -> dict[str, Any]:
    """Both servers cache review answers (10 s by default): poll until the new answer shows."""
    deadline = time.monotonic() + timeout
    while True:
        got, body = await get_as(cluster, token, path)
        if got == status or time.monotonic() > deadline:
            assert (got, body) == (status, body)
            return body
        await asyncio.sleep(0.5)


async def test_bearer_tokens_are_reviewed_and_access_is_reviewed(cluster: Any) -> None:
    await kubectl(cluster, "create", "serviceaccount", "reader", "-n", "default")
    token = (await kubectl(cluster, "create", "token", "reader", "-n", "default")).strip()

    # TokenReview: the token is the reader's; SubjectAccessReview: it may not list node metrics
    status, body = await get_as(cluster, token, NODES)
    assert (status, body) == (403, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'nodes.metrics.k8s.io is forbidden: User "{READER}" cannot list resource '
                   '"nodes" in API group "metrics.k8s.io" at the cluster scope',
        "reason": "Forbidden", "details": {"group": "metrics.k8s.io", "kind": "nodes"},
        "code": 403})
    # a token the control plane never issued: the review says no, the request is 401
    assert await get_as(cluster, token[:-4] + "AAAA", NODES) == (401, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Unauthorized", "reason": "Unauthorized", "code": 401})

    # granted through the aggregated view role: allowed once the cached denial expires
    await kubectl(cluster, "create", "clusterrolebinding", "reader-metrics",
                  "--clusterrole=system:aggregated-metrics-reader",
                  "--serviceaccount=default:reader")
    listed = await eventually(cluster, token, NODES, 200)
    assert listed["kind"] == "NodeMetricsList"
