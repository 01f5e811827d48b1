"""The fleet registered in the control plane: Node objects, and kubelets that authenticate and
authorize callers through the control plane's TokenReview/RBAC logic."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fakeapiserver.cli import ControlPlane
from fakekubelet.addresses import free_loopback_base
from fakekubelet.model import Node


class StubCluster:
    """Nodes from fakekubelet.model, a fixed payload, and change notifications."""

    def __init__(self, base: str, count: int) -> None:
        prefix, last = base.rsplit(".", 1)
        self.nodes: dict[str, Node] = {
            f"node-{i}": Node(name=f"node-{i}", internal_ip=f"{prefix}.{int(last) + i}")
            for i in range(count)}
        self.listeners: list[Any] = []

    def render_metrics(self, name: str) -> bytes:
        return b"# HELP scrape_error 1 if there was an error\n# TYPE scrape_error gauge\n" \
               b"scrape_error 0\n"

    def subscribe(self, callback: Any) -> Any:
        self.listeners.append(callback)
        return lambda: self.listeners.remove(callback)


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    cluster = StubCluster(free_loopback_base(2, 10250), 2)
    # no kubelet-side review caching, so RBAC changes show at once
    cp = ControlPlane(tmp_path / "cp", cluster=cluster, fleet_auth_ttls=(0.0, 0.0, 0.0))
    await cp.start()
    yield cp
    await cp.stop()


async def get(url: str, ctx: ssl.SSLContext, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(url, ssl=ctx, headers=headers) as r:
        return r.status, await r.text()


async def test_fleet_nodes_registered_and_kubelet_auth_through_rbac(plane: ControlPlane) -> None:
    state = plane.state_dir
    node = plane.store.get("nodes", "node-0")
    address = node["status"]["addresses"][0]["address"]
    port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
    assert node["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi", "pods": "110"}
    url = f"https://{address}:{port}/metrics/resource"
    # the kubelet's serving certificate is signed by the control plane's cluster CA
    plain = ssl.create_default_context(cafile=str(state / "ca.crt"))
    with_cert = ssl.create_default_context(cafile=str(state / "ca.crt"))
    with_cert.load_cert_chain(str(state / "client.crt"), str(state / "client.key"))
    status, _ = await get(url, with_cert)
    assert status == 200
    status, body = await get(url, plain)
    assert (status, body) == (401, "Unauthorized")
    # a service account without RBAC: authenticated by the control plane, then forbidden
    assert plane.auth is not None
    token = plane.auth.issue_token("kube-system", "metrics-server")
    status, body = await get(url, plain, token)
    assert status == 403
    assert body == ("Forbidden (user=system:serviceaccount:kube-system:metrics-server, "
                    "verb=get, resource=nodes, subresource=metrics)")
    # metrics-server's manifests grant nodes/metrics: the same token now passes
    plane.register_metrics_server("127.0.0.1", 4443)
    status, _ = await get(url, plain, token)
    assert status == 200
