"""The control endpoint over HTTP: every route, and 400s that change nothing."""

from __future__ import annotations

import errno
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fakekubelet.addresses import free_loopback_base
from fakekubelet.certs import client_ssl_context
from fakekubelet.clock import VirtualClock
from fakekubelet.cluster import Cluster
from fakekubelet.fleet import Fleet

START = 1_711_467_600.0


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[Fleet]:
    cluster = Cluster.generate(
        nodes=2,
        pods_per_node=3,
        address_base=free_loopback_base(12, 10250),
        seed=5,
        clock=VirtualClock(START),
    )
    async with Fleet(cluster, tmp_path, clock_interval=None) as f:
        yield f


async def call(fleet: Fleet, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, fleet.control_url + path, json=body) as resp,
    ):
        text = await resp.text()
        try:
            return resp.status, json.loads(text)
        except json.JSONDecodeError:
            return resp.status, text


async def scrape(fleet: Fleet, node: str) -> int:
    ctx = client_ssl_context(fleet.ca, fleet.client)
    async with aiohttp.ClientSession() as session, session.get(fleet.url(node), ssl=ctx) as resp:
        await resp.read()
        return resp.status


async def test_nodes_listing_matches_the_cluster(fleet: Fleet) -> None:
    status, nodes = await call(fleet, "GET", "/nodes")
    assert status == 200
    assert [n["name"] for n in nodes] == sorted(fleet.cluster.nodes)
    first = nodes[0]
    assert first["listening"] is True and first["certMode"] == "ca-signed"
    assert first["faults"]["hang"] is False and "latencySeconds" in first["faults"]
    assert (await call(fleet, "GET", "/nodes/nope"))[0] == 404
    assert await call(fleet, "GET", "/healthz") == (200, "ok")


async def test_faults_merge_and_bad_input_changes_nothing(fleet: Fleet) -> None:
    node = sorted(fleet.cluster.nodes)[0]
    status, shown = await call(fleet, "PUT", f"/nodes/{node}/faults", {"httpStatus": 503})
    assert status == 200 and shown["faults"]["httpStatus"] == 503
    assert await scrape(fleet, node) == 503
    before = fleet.cluster.nodes[node].faults
    for body, field in [
        ({"hang": True, "bogus": 1}, "faults.bogus"),
        ({"latencySeconds": -1}, "faults.latencySeconds"),
        ({"hang": "yes"}, "faults.hang"),
        ({"httpStatus": 42}, "faults.httpStatus"),
        ([1, 2], "body"),
    ]:
        status, err = await call(fleet, "PUT", f"/nodes/{node}/faults", body)
        assert status == 400 and err["error"].startswith(field), err
        assert fleet.cluster.nodes[node].faults == before
    status, shown = await call(
        fleet, "PUT", f"/nodes/{node}/faults", {"http_status": None, "missingPods": 1.0}
    )
    assert status == 200 and shown["faults"]["httpStatus"] is None
    assert await scrape(fleet, node) == 200


async def test_refuse_connections_through_the_control_endpoint(fleet: Fleet) -> None:
    node = sorted(fleet.cluster.nodes)[1]
    url = fleet.url(node)
    await call(fleet, "PUT", f"/nodes/{node}/faults", {"refuseConnections": True})
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorError) as err:
            await session.get(url, ssl=client_ssl_context(fleet.ca, fleet.client))
    assert err.value.os_error.errno == errno.ECONNREFUSED
    status, shown = await call(fleet, "PUT", f"/nodes/{node}/faults", {"refuseConnections": False})
    assert status == 200 and shown["listening"] is True
    assert await scrape(fleet, node) == 200


async def test_address_change_rebinds(fleet: Fleet, tmp_path: Path) -> None:
    node = sorted(fleet.cluster.nodes)[0]
    prefix = fleet.node_address(node).rsplit(".", 1)[0]
    target = f"{prefix}.9"
    status, shown = await call(fleet, "PUT", f"/nodes/{node}/address", {"address": target})
    assert status == 200 and shown["address"] == target
    assert await scrape(fleet, node) == 200
    listed = json.loads((tmp_path / "nodes.json").read_text())
    assert {n["name"]: n["address"] for n in listed}[node] == target
    for body in ({"address": "10.0.0.1"}, {"address": "nope"}, {}):
        status, err = await call(fleet, "PUT", f"/nodes/{node}/address", body)
        assert status == 400 and err["error"].startswith("address:")
    assert fleet.node_address(node) == target


async def test_add_and_remove_nodes(fleet: Fleet, tmp_path: Path) -> None:
    count = len(fleet.cluster.nodes)
    status, err = await call(fleet, "POST", "/nodes", {"certMode": "bogus"})
    assert status == 400 and "bogus" in err["error"]
    status, err = await call(fleet, "POST", "/nodes", {"colour": "red"})
    assert status == 400 and err["error"].startswith("colour:")
    assert len(fleet.cluster.nodes) == count
    status, added = await call(
        fleet, "POST", "/nodes", {"certMode": "no-ip-san", "withPods": False}
    )
    assert status == 201 and added["certMode"] == "no-ip-san" and added["listening"]
    names = [n["name"] for n in json.loads((tmp_path / "nodes.json").read_text())]
    assert added["name"] in names
    status, _ = await call(fleet, "DELETE", f"/nodes/{added['name']}")
    assert status == 200
    assert (await call(fleet, "DELETE", f"/nodes/{added['name']}"))[0] == 404
    assert len(fleet.cluster.nodes) == count


async def test_pods_workloads_restarts_and_truth(fleet: Fleet) -> None:
    node = sorted(fleet.cluster.nodes)[0]
    status, pod = await call(fleet, "POST", "/pods", {"node": node, "name": "extra"})
    assert status == 201 and pod["name"] == "extra" and pod["node"] == node
    ns, container = pod["namespace"], pod["containers"][0]["name"]
    base = f"/pods/{ns}/extra/containers/{container}"

    status, err = await call(fleet, "PUT", base + "/workload", {"cpu": "lots"})
    assert status == 400 and "cpu" in err["error"]
    status, _ = await call(fleet, "PUT", base + "/workload", {"cpu": "500m", "memory": "64Mi"})
    assert status == 200
    assert (await call(fleet, "PUT", f"/pods/{ns}/extra/containers/nope/workload", {}))[0] == 404

    status, moved = await call(fleet, "POST", "/clock/advance", {"seconds": "20s"})
    assert status == 200 and moved["time"] == START + 20
    now = fleet.cluster.clock.now()
    status, window = await call(
        fleet,
        "POST",
        "/truth/window",
        {"kind": "pod", "namespace": ns, "name": "extra", "timestamp": now, "window": "10s"},
    )
    assert status == 200
    assert window["cpuCores"] == pytest.approx(0.5)
    assert window["memoryBytes"] == 64 * 1024 * 1024

    status, restarted = await call(fleet, "POST", base + "/restart")
    assert status == 200 and restarted["restartCount"] == 1

    status, truth = await call(fleet, "GET", f"/truth?at={now}")
    assert status == 200 and truth["time"] == now
    assert {(p["namespace"], p["name"]) for p in truth["pods"]} >= {(ns, "extra")}
    assert (await call(fleet, "GET", "/truth?at=yesterday"))[0] == 400
    assert (await call(fleet, "GET", f"/truth?at={now + 3600}"))[0] == 400

    assert (await call(fleet, "DELETE", f"/pods/{ns}/extra"))[0] == 200
    assert (await call(fleet, "DELETE", f"/pods/{ns}/extra"))[0] == 404


async def test_churn_and_clock_validation(fleet: Fleet) -> None:
    status, churn = await call(fleet, "PUT", "/churn", {"podCreatePerMinute": 2})
    assert status == 200
    assert all(spec["podCreatePerMinute"] == 2 for spec in churn.values())
    status, err = await call(fleet, "PUT", "/churn", {"podExplodePerMinute": 1})
    assert status == 400 and err["error"].startswith("churn.podExplodePerMinute")
    for body in ({}, {"seconds": -5}, {"seconds": "soon"}):
        assert (await call(fleet, "POST", "/clock/advance", body))[0] == 400
    status, err = await call(fleet, "POST", "/truth/window", {"kind": "cow"})
    assert status == 400 and err["error"].startswith("kind:")


async def test_usage_drives_containers_and_bad_input_changes_nothing(fleet: Fleet) -> None:
    cluster = fleet.cluster
    first, second = sorted(cluster.pods)[:2]
    ns, name = first.split("/")
    app = cluster.pods[first].containers[0].name
    status, shown = await call(fleet, "PUT", f"/pods/{ns}/{name}/containers/{app}/usage",
                               {"cpu": "250m", "memory": "64Mi"})
    assert status == 200 and shown == {"namespace": ns, "pod": name, "container": app,
                                       "cpu": 0.25, "memory": 64 * 1048576}
    await call(fleet, "POST", "/clock/advance", {"seconds": 10})
    t = cluster.clock.now()
    assert cluster.truth.cpu_cores(f"{first}/{app}", t) == 0.25
    assert cluster.truth.memory_bytes(f"{first}/{app}", t) == 64 * 1048576
    ns2, name2 = second.split("/")
    before = cluster.truth.cpu_cores(second, t)
    for body, field, code in [
        ({"items": [{"namespace": ns2, "pod": name2, "cpu": 1},
                    {"namespace": ns, "pod": name, "cpu": "lots"}]}, "items[1].cpu", 400),
        ({"items": [{"namespace": ns2, "pod": name2, "cpu": -1}]}, "items[0].cpu", 400),
        ({"items": [{"namespace": ns2, "pod": name2, "speed": 1}]}, "items[0].speed", 400),
        ({"items": [{"namespace": ns2, "cpu": 1}]}, "items[0].pod", 400),
        ({"pods": []}, "body", 400),
        ({"items": [{"namespace": ns2, "pod": "nope", "cpu": 1}]}, 'pod "', 404),
        ({"items": [{"namespace": ns2, "pod": name2, "container": "x", "cpu": 1}]},
         'container "x"', 404),
    ]:
        status, err = await call(fleet, "PUT", "/usage", body)
        assert status == code and err["error"].startswith(field), err
    assert cluster.truth.cpu_cores(second, cluster.clock.now()) == before  # nothing applied
    status, shown = await call(fleet, "PUT", "/usage", {"items": [
        {"namespace": ns2, "pod": name2, "cpu": 0.5}]})
    assert status == 200 and shown["items"][0]["memory"] is None
    await call(fleet, "POST", "/clock/advance", {"seconds": 1})
    c2 = cluster.pods[second].containers[0].name
    assert cluster.truth.cpu_cores(f"{second}/{c2}", cluster.clock.now()) == 0.5
