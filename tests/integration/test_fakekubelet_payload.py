"""Payloads served over HTTPS by a real fleet: parse with prometheus_client, pass promtool."""

from __future__ import annotations

import asyncio
import gzip
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fakekubelet.addresses import free_loopback_base
from fakekubelet.certs import client_ssl_context
from fakekubelet.clock import VirtualClock
from fakekubelet.cluster import Cluster
from fakekubelet.fleet import Fleet

CORE_FAMILIES = {
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
    "container_start_time_seconds",
    "node_cpu_usage_seconds_total",
    "node_memory_working_set_bytes",
}


@pytest.fixture(params=["1.27.3", "1.30.2"])
async def fleet(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Fleet]:
    cluster = Cluster.generate(
        nodes=2,
        pods_per_node=5,
        address_base=free_loopback_base(2, 10250),
        seed=3,
        clock=VirtualClock(),
        kubelet_version=request.param,
    )
    cluster.advance(45.0)
    async with Fleet(cluster, tmp_path, clock_interval=None) as f:
        yield f


async def _scrape(fleet: Fleet, node: str, gzip_ok: bool = True) -> tuple[bytes, bytes]:
    ctx = client_ssl_context(fleet.ca, fleet.client)
    headers = {"Accept-Encoding": "gzip" if gzip_ok else "identity"}
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.get(fleet.url(node), ssl=ctx, headers=headers) as resp,
    ):
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        raw = await resp.read()
    body = gzip.decompress(raw) if resp.headers.get("Content-Encoding") == "gzip" else raw
    return raw, body


async def test_payload_parses_with_prometheus_client(fleet: Fleet) -> None:
    node = sorted(fleet.cluster.nodes)[0]
    raw, body = await _scrape(fleet, node)
    assert raw != body  # gzip was used because it was asked for
    assert body == fleet.cluster.render_metrics(node)  # nothing changes on the way
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    names = {s.name for f in families.values() for s in f.samples}
    assert names >= CORE_FAMILIES
    pods = {p.name for p in fleet.cluster.pods_on(node) if p.phase == "Running"}
    seen = {
        s.labels["pod"]
        for f in families.values()
        for s in f.samples
        if s.name == "container_cpu_usage_seconds_total"
    }
    assert seen == pods
    now = fleet.cluster.clock.now()
    for f in families.values():
        for s in f.samples:
            if s.name.endswith("_cpu_usage_seconds_total"):
                assert s.timestamp is not None and float(s.timestamp) <= now
                assert s.value >= 0


async def test_payload_passes_promtool(fleet: Fleet, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus; .ci/run installs it)")
    for node in sorted(fleet.cluster.nodes):
        _, body = await _scrape(fleet, node, gzip_ok=False)
        proc = await asyncio.create_subprocess_exec(
            promtool, "check", "metrics",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await proc.communicate(body)
        assert proc.returncode == 0, out.decode()
