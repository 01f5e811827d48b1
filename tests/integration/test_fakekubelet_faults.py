"""Payload-level faults switched through the control endpoint, as an HTTPS client sees them."""

from __future__ import annotations

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


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[Fleet]:
    cluster = Cluster.generate(
        nodes=1,
        pods_per_node=4,
        address_base=free_loopback_base(1, 10250),
        seed=9,
        clock=VirtualClock(),
        kubelet_version="1.30.0",
    )
    cluster.advance(30.0)
    async with Fleet(cluster, tmp_path, clock_interval=None) as f:
        yield f


async def set_faults(fleet: Fleet, node: str, **changes: object) -> None:
    url = f"{fleet.control_url}/nodes/{node}/faults"
    async with aiohttp.ClientSession() as session, session.put(url, json=changes) as resp:
        assert resp.status == 200, await resp.text()


async def scrape(fleet: Fleet, node: str) -> str:
    ctx = client_ssl_context(fleet.ca, fleet.client)
    async with aiohttp.ClientSession() as session, session.get(fleet.url(node), ssl=ctx) as resp:
        assert resp.status == 200
        return await resp.text()


def samples(text: str) -> list[tuple[str, dict[str, str], float, float | None]]:
    return [
        (s.name, s.labels, s.value, None if s.timestamp is None else float(s.timestamp))
        for f in text_string_to_metric_families(text)
        for s in f.samples
    ]


async def test_scrape_error_serves_only_the_error_gauge(fleet: Fleet) -> None:
    node = next(iter(fleet.cluster.nodes))
    await set_faults(fleet, node, scrapeError=True)
    got = samples(await scrape(fleet, node))
    assert [(name, value) for name, _, value, _ in got] == [("resource_scrape_error", 1.0)]


async def test_malformed_body_breaks_the_text_parser(fleet: Fleet) -> None:
    node = next(iter(fleet.cluster.nodes))
    await set_faults(fleet, node, malformed=True)
    text = await scrape(fleet, node)
    with pytest.raises(ValueError):
        samples(text)


async def test_missing_timestamps_and_missing_pods(fleet: Fleet) -> None:
    node = next(iter(fleet.cluster.nodes))
    await set_faults(fleet, node, missingTimestamps=True)
    got = samples(await scrape(fleet, node))
    assert got and all(ts is None for _, _, _, ts in got)
    await set_faults(fleet, node, missingTimestamps=False, missingPods=1.0)
    names = {name for name, _, _, _ in samples(await scrape(fleet, node))}
    assert "node_cpu_usage_seconds_total" in names
    assert "container_cpu_usage_seconds_total" not in names


async def test_stale_timestamps_freeze_the_payload(fleet: Fleet) -> None:
    node = next(iter(fleet.cluster.nodes))
    await set_faults(fleet, node, staleTimestamps=True)
    first = await scrape(fleet, node)
    fleet.cluster.advance(60.0)
    assert await scrape(fleet, node) == first
    await set_faults(fleet, node, staleTimestamps=False)
    assert await scrape(fleet, node) != first


async def test_zero_memory_reports_zero_working_set(fleet: Fleet) -> None:
    node = next(iter(fleet.cluster.nodes))
    await set_faults(fleet, node, zeroMemory=True)
    got = samples(await scrape(fleet, node))
    memory = [v for name, _, v, _ in got if name == "container_memory_working_set_bytes"]
    assert memory and all(v == 0 for v in memory)
