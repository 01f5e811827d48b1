"""A pod the control plane runs as a local process is reported by its node's kubelet (real
TLS, the fleet's client certificate) with the process's own CPU and memory from /proc, and
the fleet's ground truth (control endpoint) reads the same samples; on a virtual fleet
clock it is absent."""

from __future__ import annotations

import asyncio
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fakeapiserver.cli import ControlPlane
from fakeapiserver.localpods import LocalPod
from fakekubelet.addresses import free_loopback_base
from fakekubelet.clock import RealClock, VirtualClock
from fakekubelet.cluster import Cluster

PY = sys.executable
NAME = "metrics-server-6d94bc8694-x2x7k"
KEY = (("container", "metrics-server"), ("namespace", "kube-system"), ("pod", NAME))
BURN = ("b = b'x' * (24 << 20)\nprint('ready', flush=True)\n"
        "while True: sum(range(10000))\n")


def pod() -> dict[str, Any]:
    return {"metadata": {"name": NAME, "namespace": "kube-system",
                         "labels": {"k8s-app": "metrics-server"}},
            "spec": {"containers": [{"name": "metrics-server", "image": "metricsd:dev"}]}}


async def plane_with(tmp_path: Path, clock: Any) -> ControlPlane:
    cluster = Cluster.generate(nodes=2, pods_per_node=1, seed=2, clock=clock,
                               address_base=free_loopback_base(2, 10250))
    plane = ControlPlane(tmp_path / "cp", cluster=cluster, with_controllers=False)
    await plane.start()
    return plane


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    cp = await plane_with(tmp_path, RealClock())
    yield cp
    await cp.stop()


async def until(local: LocalPod, pred: Callable[[], bool]) -> None:
    async def loop() -> None:
        while not pred():
            await local.wait_changed()
    await asyncio.wait_for(loop(), 30)


async def ready_line(local: LocalPod) -> None:
    async def loop() -> None:
        while not local.logs.lines:
            await local.logs.wait()
    await asyncio.wait_for(loop(), 30)


async def scrape(plane: ControlPlane, node: str) -> dict[Any, tuple[float, float | None]]:
    state = plane.state_dir
    ctx = ssl.create_default_context(cafile=str(state / "ca.crt"))
    ctx.load_cert_chain(str(state / "client.crt"), str(state / "client.key"))
    async with aiohttp.ClientSession() as http, http.get(plane.fleet.url(node), ssl=ctx) as r:
        assert r.status == 200
        body = await r.text()
    out: dict[Any, tuple[float, float | None]] = {}
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = (
                s.value, float(s.timestamp) if s.timestamp is not None else None)
    return out


async def test_local_pod_served_by_its_node_with_real_figures(plane: ControlPlane) -> None:
    local = plane.local_pods.add(pod(), [PY, "-c", BURN], node_name="node-1",
                                 pod_ip="127.0.0.1")
    await until(local, lambda: local.state.running_since is not None)
    await ready_line(local)
    await asyncio.sleep(0.3)  # real CPU time must accumulate between the two payloads
    first = await scrape(plane, "node-1")
    await asyncio.sleep(0.5)
    second = await scrape(plane, "node-1")
    (c1, t1), (c2, t2) = first[("container_cpu_usage_seconds_total", KEY)], second[
        ("container_cpu_usage_seconds_total", KEY)]
    assert t1 is not None and t2 is not None and t2 > t1
    rate = (c2 - c1) / (t2 - t1)
    assert rate > 0.05  # the process burns CPU: its real usage is reported
    mem = second[("container_memory_working_set_bytes", KEY)][0]
    assert mem >= 24 << 20 and mem % 4096 == 0
    assert second[("container_start_time_seconds", KEY)][0] == pytest.approx(
        local.state.running_since)
    # the API shows the same start instant
    obj = plane.store.get("pods", NAME, "kube-system")
    started = obj["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
    assert started == datetime.fromtimestamp(
        int(local.state.running_since or 0), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    # the ground truth through the control endpoint: the same samples, the same rate
    assert plane.fleet is not None
    query = {"kind": "pod", "namespace": "kube-system", "name": NAME,
             "timestamp": datetime.fromtimestamp(int(t2), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "window": f"{t2 - t1:.3f}s"}
    async with aiohttp.ClientSession() as http, http.post(
            plane.fleet.control_url + "/truth/window", json=query) as r:
        assert r.status == 200, await r.text()
        truth = await r.json()
    assert (truth["start"], truth["end"]) == (t1, t2)
    assert truth["cpuCores"] == pytest.approx(rate, abs=2e-9 / (t2 - t1))
    assert truth["memoryBytes"] == mem
    assert "metrics-server" not in str(await scrape(plane, "node-2"))
    # the pod goes: it leaves the payload
    await local.stop()
    third = await scrape(plane, "node-1")
    assert ("container_cpu_usage_seconds_total", KEY) not in third


async def test_absent_on_a_virtual_fleet_clock(tmp_path: Path) -> None:
    plane = await plane_with(tmp_path, VirtualClock(1_711_467_600))
    try:
        local = plane.local_pods.add(pod(), [PY, "-c", BURN], node_name="node-1",
                                     pod_ip="127.0.0.1")
        await until(local, lambda: local.state.running_since is not None)
        assert ("container_cpu_usage_seconds_total", KEY) not in await scrape(plane, "node-1")
    finally:
        await plane.stop()
