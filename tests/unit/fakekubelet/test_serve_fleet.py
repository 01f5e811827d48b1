"""The fleet follows its cluster: join, leave, address change, refuse; state dir contents.

Uses a minimal stand-in cluster (nodes, render, subscribe) so that only the fleet is tested.
"""

from __future__ import annotations

import errno
import json
import os
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fakekubelet.addresses import free_loopback_base
from fakekubelet.certs import KeyPair, client_ssl_context
from fakekubelet.fleet import Fleet

from .test_serve_support import no_faults


class StubCluster:
    def __init__(self, base: str, count: int) -> None:
        prefix, last = base.rsplit(".", 1)
        self.addresses = [f"{prefix}.{int(last) + i}" for i in range(8)]
        self.nodes: dict[str, Any] = {}
        self.callbacks: list[Callable[..., None]] = []
        for i in range(count):
            self.add(f"node-{i}", self.addresses[i])

    def add(self, name: str, address: str, cert_mode: str = "ca-signed") -> None:
        self.nodes[name] = types.SimpleNamespace(
            name=name, internal_ip=address, port=0, cert_mode=cert_mode, faults=no_faults()
        )
        self.emit()

    def emit(self) -> None:
        for cb in self.callbacks:
            cb("changed")

    def render_metrics(self, name: str) -> bytes:
        return f"node_cpu_usage_seconds_total 1 1\n# {name}\n".encode()

    def subscribe(self, callback: Callable[..., None]) -> Callable[[], None]:
        self.callbacks.append(callback)
        return lambda: self.callbacks.remove(callback)


async def _scrape(fleet: Fleet, name: str) -> tuple[int, str]:
    ctx = client_ssl_context(fleet.ca, fleet.client)
    async with aiohttp.ClientSession() as session, session.get(fleet.url(name), ssl=ctx) as r:
        return r.status, await r.text()


@pytest.fixture
def cluster() -> StubCluster:
    return StubCluster(free_loopback_base(8, 0), 2)


async def test_state_dir_is_complete_when_started(cluster: StubCluster, tmp_path: Path) -> None:
    async with Fleet(cluster, tmp_path, clock_interval=None) as fleet:
        files = set(os.listdir(tmp_path))
        assert {"ca.crt", "client.crt", "client.key", "nodes.json", "control.json"} <= files
        nodes = json.loads((tmp_path / "nodes.json").read_text())
        assert [(n["name"], n["address"], n["certMode"]) for n in nodes] == [
            ("node-0", cluster.addresses[0], "ca-signed"),
            ("node-1", cluster.addresses[1], "ca-signed"),
        ]
        assert all(n["port"] > 0 for n in nodes)
        assert json.loads((tmp_path / "control.json").read_text())["url"] == fleet.control_url
        # the written identity is accepted
        client = KeyPair(
            (tmp_path / "client.crt").read_bytes(), (tmp_path / "client.key").read_bytes()
        )
        ctx = client_ssl_context((tmp_path / "ca.crt").read_bytes(), client)
        async with aiohttp.ClientSession() as session:
            async with session.get(fleet.url("node-1"), ssl=ctx) as resp:
                assert resp.status == 200
                assert "# node-1" in await resp.text()
            token = (tmp_path / "token").read_text()
            headers = {"Authorization": f"Bearer {token}"}
            async with session.get(
                fleet.url("node-0"), ssl=client_ssl_context(fleet.ca), headers=headers
            ) as resp:
                assert resp.status == 200


async def test_join_leave_and_address_change(cluster: StubCluster, tmp_path: Path) -> None:
    async with Fleet(cluster, tmp_path, clock_interval=None) as fleet:
        cluster.add("node-2", cluster.addresses[2])
        await fleet.settled()
        assert await _scrape(fleet, "node-2") == (
            200,
            "node_cpu_usage_seconds_total 1 1\n# node-2\n",
        )
        names = [n["name"] for n in json.loads((tmp_path / "nodes.json").read_text())]
        assert names == ["node-0", "node-1", "node-2"]

        old_url = fleet.url("node-0")
        cluster.nodes["node-0"].internal_ip = cluster.addresses[5]
        cluster.emit()
        await fleet.settled()
        assert fleet.url("node-0") != old_url
        assert (await _scrape(fleet, "node-0"))[0] == 200  # new cert carries the new IP SAN
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectorError):
                await session.get(old_url, ssl=client_ssl_context(fleet.ca, fleet.client))

        url = fleet.url("node-1")
        del cluster.nodes["node-1"]
        cluster.emit()
        await fleet.settled()
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectorError) as err:
                await session.get(url, ssl=client_ssl_context(fleet.ca, fleet.client))
        assert err.value.os_error.errno == errno.ECONNREFUSED
        names = [n["name"] for n in json.loads((tmp_path / "nodes.json").read_text())]
        assert names == ["node-0", "node-2"]


async def test_refuse_connections_closes_and_reopens_the_listener(
    cluster: StubCluster, tmp_path: Path
) -> None:
    async with Fleet(cluster, tmp_path, clock_interval=None) as fleet:
        url = fleet.url("node-0")
        cluster.nodes["node-0"].faults.refuse_connections = True
        cluster.emit()
        await fleet.settled()
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectorError) as err:
                await session.get(url, ssl=client_ssl_context(fleet.ca, fleet.client))
        assert err.value.os_error.errno == errno.ECONNREFUSED
        cluster.nodes["node-0"].faults.refuse_connections = False
        cluster.emit()
        await fleet.settled()
        assert fleet.url("node-0") == url
        assert (await _scrape(fleet, "node-0"))[0] == 200


async def test_cert_mode_change_reissues_the_certificate(
    cluster: StubCluster, tmp_path: Path
) -> None:
    async with Fleet(cluster, tmp_path, clock_interval=None) as fleet:
        cluster.nodes["node-0"].cert_mode = "no-ip-san"
        cluster.emit()
        await fleet.settled()
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectorCertificateError) as err:
                await session.get(fleet.url("node-0"), ssl=client_ssl_context(fleet.ca))
        assert "IP address mismatch" in str(err.value.certificate_error)
        assert json.loads((tmp_path / "nodes.json").read_text())[0]["certMode"] == "no-ip-san"


async def test_given_cluster_ca_client_ca_and_reviewer(
    cluster: StubCluster, tmp_path: Path
) -> None:
    from fakekubelet.auth import StaticReviewer, User
    from fakekubelet.certs import ClusterCA

    given = ClusterCA()
    cluster_ca = ClusterCA.load(given.cert_pem, given.key_pem)
    client_ca = ClusterCA("client-ca")
    reviewer = StaticReviewer({"t": User("ops")}, allowed_users={"metricsd-client"})
    async with Fleet(
        cluster, tmp_path, ca=cluster_ca, client_ca=client_ca, reviewer=reviewer,
        clock_interval=None,
    ) as fleet:  # fmt: skip
        assert (tmp_path / "ca.crt").read_bytes() == given.cert_pem
        assert (tmp_path / "client-ca.crt").read_bytes() == client_ca.cert_pem
        ok = client_ssl_context(given, fleet.client)  # client.crt is signed by the client CA
        async with aiohttp.ClientSession() as session:
            async with session.get(fleet.url("node-0"), ssl=ok) as resp:
                assert resp.status == 200
            async with session.get(
                fleet.url("node-0"),
                ssl=client_ssl_context(given),
                headers={"Authorization": "Bearer t"},
            ) as resp:
                assert (resp.status, await resp.text()) == (
                    403,
                    "Forbidden (user=ops, verb=get, resource=nodes, subresource=metrics)",
                )
            wrong = given.issue_client_cert("metricsd-client")  # right name, wrong CA
            with pytest.raises(aiohttp.ClientError):
                async with session.get(
                    fleet.url("node-0"), ssl=client_ssl_context(given, wrong)
                ) as resp:
                    await resp.read()


async def test_auth_cache_ttls_follow_the_given_auth_clock(tmp_path: Path) -> None:
    """``Fleet(auth_clock=)``: cached TokenReviews expire on that clock (a virtual one in
    accelerated experiments), not on the process's monotonic clock."""
    from fakekubelet.auth import StaticReviewer, User
    from fakekubelet.cluster import Cluster

    reviews: list[str] = []

    class Counting(StaticReviewer):
        async def authenticate_token(self, token: str) -> User | None:
            reviews.append(token)
            return await super().authenticate_token(token)

    now = [1000.0]
    fleet = Fleet(Cluster.generate(nodes=1, pods_per_node=0), tmp_path,
                  reviewer=Counting({"tok": User("alice")}, allowed_users={"alice"}),
                  auth_clock=lambda: now[0])
    assert fleet.auth is not None
    for _ in range(3):
        assert (await fleet.auth.authenticate(None, "Bearer tok")) == User("alice")
    assert reviews == ["tok"]  # cached
    now[0] += 119.0
    await fleet.auth.authenticate(None, "Bearer tok")
    assert reviews == ["tok"]  # still inside the 120 s TTL
    now[0] += 2.0
    await fleet.auth.authenticate(None, "Bearer tok")
    assert reviews == ["tok", "tok"]  # expired on the given clock
