"""The fleet follows node churn (join, leave, address change) driven by the cluster's own events."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from fakekubelet.addresses import free_loopback_base
from fakekubelet.certs import client_ssl_context
from fakekubelet.clock import VirtualClock
from fakekubelet.cluster import Cluster
from fakekubelet.fleet import Fleet


async def test_listeners_and_nodes_json_follow_node_churn(tmp_path: Path) -> None:
    cluster = Cluster.generate(
        nodes=3,
        pods_per_node=1,
        address_base=free_loopback_base(64, 10250),
        seed=11,
        clock=VirtualClock(),
    )
    cluster.set_churn(
        node_join_per_minute=4.0,
        node_leave_per_minute=4.0,
        address_change_per_minute=4.0,
        min_nodes=1,
        max_nodes=6,
    )
    seen_names: set[str] = set(cluster.nodes)
    seen_addresses: set[str] = {n.internal_ip for n in cluster.nodes.values()}
    async with Fleet(cluster, tmp_path, clock_interval=None) as fleet:
        ctx = client_ssl_context(fleet.ca, fleet.client)
        async with aiohttp.ClientSession() as session:
            for _ in range(12):
                cluster.advance(10.0)
                await fleet.settled()
                seen_names |= set(cluster.nodes)
                seen_addresses |= {n.internal_ip for n in cluster.nodes.values()}
                listed = json.loads((tmp_path / "nodes.json").read_text())
                assert [(n["name"], n["address"]) for n in listed] == [
                    (name, cluster.nodes[name].internal_ip) for name in sorted(cluster.nodes)
                ]
                for name in cluster.nodes:
                    async with session.get(fleet.url(name), ssl=ctx) as resp:
                        assert resp.status == 200, name
    # the run really exercised joins, leaves and moves
    assert len(seen_names) > 3  # joins
    assert len(seen_names) > len(cluster.nodes)  # leaves
    assert len(seen_addresses) > len(seen_names)
