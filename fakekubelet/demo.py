"""``python -m fakekubelet.demo``: a small fleet, one node scraped twice, beside the ground truth.

What it shows: a kubelet endpoint that a metrics server cannot tell from a real one (HTTPS with
a CA-signed serving certificate, client-certificate auth, the kubelet's text format), and the
rule every check in this project uses — the CPU rate computed from two samples
(Δ counter / Δ timestamp, as metrics-server does) equals the true mean usage over the same
interval, and memory equals the true working set at the later sample.

The fleet runs on a virtual clock, so the 15 s between the two scrapes take no real time and
the figures are the same on every run with the same seed.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from fakekubelet.addresses import free_loopback_base
from fakekubelet.clock import VirtualClock
from fakekubelet.cluster import Cluster
from fakekubelet.fleet import Fleet

NODES = 3
PODS_PER_NODE = 4
INTERVAL = 15.0
SHOWN_LINES = 18


@dataclass
class Sample:
    value: float
    timestamp: float  # seconds


def parse(payload: str) -> dict[tuple[str, str, str, str], Sample]:
    """(family, namespace, pod, container) → sample, via prometheus_client's text parser."""
    out: dict[tuple[str, str, str, str], Sample] = {}
    for family in text_string_to_metric_families(payload):
        for s in family.samples:
            key = (s.name, s.labels.get("namespace", ""), s.labels.get("pod", ""),
                   s.labels.get("container", ""))  # fmt: skip
            out[key] = Sample(s.value, float(s.timestamp) if s.timestamp is not None else 0.0)
    return out


async def scrape(session: aiohttp.ClientSession, url: str, ctx: ssl.SSLContext) -> str:
    async with session.get(url, ssl=ctx) as resp:
        if resp.status != 200:
            raise RuntimeError(f"{url}: HTTP {resp.status}: {await resp.text()}")
        return await resp.text()


def _cpu(cores: float) -> str:
    return f"{cores * 1000:.1f}m"


def _mem(n: float) -> str:
    return f"{n / (1 << 20):.1f}Mi"


async def run(seed: int, node_index: int) -> int:
    base = free_loopback_base(NODES)
    clock = VirtualClock()
    cluster = Cluster.generate(
        nodes=NODES,
        pods_per_node=PODS_PER_NODE,
        cert_mode="ca-signed",
        address_base=base,
        seed=seed,
        clock=clock,
    )
    with tempfile.TemporaryDirectory(prefix="fakekubelet-demo-") as tmp:
        state = Path(tmp)
        async with Fleet(cluster, state, clock_interval=None) as fleet:
            names = sorted(cluster.nodes)
            node = names[min(node_index, len(names) - 1)]
            url = fleet.url(node)
            print(f"fleet: {len(names)} nodes x {PODS_PER_NODE} pods on {base}..., "
                  f"state dir {state}, control {fleet.control_url}")  # fmt: skip
            print(f"scraping {node} at {url}")
            print("  TLS verified by IP against ca.crt; client certificate client.crt "
                  "(CN metricsd-client)\n")  # fmt: skip

            ctx = ssl.create_default_context(cafile=str(state / "ca.crt"))
            ctx.load_cert_chain(str(state / "client.crt"), str(state / "client.key"))
            async with aiohttp.ClientSession() as session:
                first = await scrape(session, url, ctx)
                cluster.advance(INTERVAL)
                second = await scrape(session, url, ctx)

        lines = second.splitlines()
        print(f"--- second payload ({len(lines)} lines, {len(second)} bytes), trimmed ---")
        for line in lines[:SHOWN_LINES]:
            print(line if len(line) <= 160 else line[:157] + "...")
        if len(lines) > SHOWN_LINES:
            print(f"... {len(lines) - SHOWN_LINES} more lines")
        print()

        a, b = parse(first), parse(second)
        rows = []
        worst = 0.0
        cpu_families = ("node_cpu_usage_seconds_total", "container_cpu_usage_seconds_total")
        for key, s2 in sorted(b.items(), key=lambda kv: (kv[0][0] != cpu_families[0], kv[0])):
            family, ns, pod, container = key
            if family not in cpu_families or key not in a:
                continue
            s1 = a[key]
            window = s2.timestamp - s1.timestamp
            if window <= 0:
                continue
            rate = (s2.value - s1.value) / window
            is_node = family == cpu_families[0]
            entity = node if is_node else f"{ns}/{pod}/{container}"
            true_cpu = cluster.truth.mean_cpu_cores(entity, s1.timestamp, s2.timestamp)
            mem_family = (
                "node_memory_working_set_bytes"
                if is_node
                else ("container_memory_working_set_bytes")
            )
            mem = b.get((mem_family, ns, pod, container))
            mem_value = mem.value if mem else float("nan")
            mem_at = mem.timestamp if mem else s2.timestamp
            true_mem = cluster.truth.memory_bytes(entity, mem_at)
            worst = max(worst, abs(rate - true_cpu))
            who = f"node {node}" if is_node else f"{ns}/{pod}"
            rows.append((who, container or "-", _cpu(rate), _cpu(true_cpu), _mem(mem_value),
                         _mem(true_mem), f"{window:g}s"))  # fmt: skip
        header = ("NODE / POD", "CONTAINER", "CPU(scraped)", "CPU(truth)", "MEM(scraped)",
                  "MEM(truth)", "WINDOW")  # fmt: skip
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            print("   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        print()
        print(f"CPU(scraped) = Δ *_cpu_usage_seconds_total / Δ sample timestamp over the "
              f"two scrapes ({INTERVAL:g}s apart on the fleet's virtual clock);")  # fmt: skip
        print("CPU(truth) = the exact mean usage of the container's workload over the same "
              "interval; MEM(truth) = working set at the second sample's timestamp.")  # fmt: skip
        print(f"largest CPU difference: {worst * 1e9:.0f} nanocores — what a metrics server "
              "computes from this kubelet is the ground truth.")  # fmt: skip
    return 0 if rows else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fakekubelet.demo",
        description="Start a 3-node fleet, scrape one node twice over TLS and compare with the "
        "ground truth.",
    )
    parser.add_argument("--seed", type=int, default=1, help="fleet seed (default 1)")
    parser.add_argument("--node", type=int, default=0, help="which node to scrape (0-based)")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.seed, args.node))


if __name__ == "__main__":
    sys.exit(main())
