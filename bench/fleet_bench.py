"""Fleet benchmark: start-up time, CPU per full scrape over kept-alive TLS, RSS. Prints figures.

Runs the real CLI (``python -m fakekubelet``) as a child process and scrapes every node from
this process, like metrics-server: one TLS connection per node, kept alive, client certificate
from the state dir, ``Accept-Encoding: gzip``. Fleet CPU is read from ``/proc/<pid>/stat``
around each pass, so client work is not counted.

    python bench/fleet_bench.py                       # 1,000 nodes x 30 pods, 5 passes
    python bench/fleet_bench.py --nodes 100 --pods-per-node 10 --passes 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from fakekubelet.addresses import free_loopback_base

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def scrape_all(
    session: aiohttp.ClientSession, urls: list[str], ctx: ssl.SSLContext, limit: int
) -> tuple[int, int]:
    sem = asyncio.Semaphore(limit)
    ok = 0
    size = 0

    async def one(url: str) -> None:
        nonlocal ok, size
        async with sem, session.get(url, ssl=ctx) as resp:
            body = await resp.read()
            if resp.status == 200:
                ok += 1
                size += len(body)

    await asyncio.gather(*(one(u) for u in urls))
    return ok, size


async def run(args: argparse.Namespace) -> int:
    base = free_loopback_base(args.nodes, 10250)
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        state = Path(tmp)
        argv = [
            sys.executable, "-m", "fakekubelet",
            "--nodes", str(args.nodes), "--pods-per-node", str(args.pods_per_node),
            "--cert-mode", "ca-signed", "--state-dir", str(state),
            "--address-base", base, "--seed", "1",
        ]  # fmt: skip
        began = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None and proc.stderr is not None
        line = await proc.stdout.readline()
        startup = time.perf_counter() - began
        if b"listening" not in line:
            err = await proc.stderr.read()
            print(f"fleet did not start: {line!r} {err.decode()[-2000:]}", file=sys.stderr)
            return 1
        print(f"fleet: {args.nodes} nodes x {args.pods_per_node} pods on {base}")
        print(f"start-up (process start to 'listening'): {startup:.2f} s")
        print(f"fleet CPU during start-up: {cpu_seconds(proc.pid):.2f} s")
        print(f"fleet RSS after start-up: {rss_mib(proc.pid):.0f} MiB")

        nodes = json.loads((state / "nodes.json").read_text())
        urls = [f"https://{n['address']}:{n['port']}/metrics/resource" for n in nodes]
        ctx = ssl.create_default_context(cafile=str(state / "ca.crt"))
        ctx.load_cert_chain(str(state / "client.crt"), str(state / "client.key"))
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=1, keepalive_timeout=300)
        async with aiohttp.ClientSession(connector=connector) as session:
            for i in range(args.passes + 1):
                cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
                ok, size = await scrape_all(session, urls, ctx, args.concurrency)
                cpu1, t1 = cpu_seconds(proc.pid), time.perf_counter()
                label = "pass 0 (TLS handshakes)" if i == 0 else f"pass {i} (kept alive)"
                print(
                    f"{label}: {ok}/{len(urls)} nodes OK, {size / 1e6:.1f} MB decoded, "
                    f"fleet CPU {cpu1 - cpu0:.2f} s, wall {t1 - t0:.2f} s"
                )
        print(f"fleet RSS after scraping: {rss_mib(proc.pid):.0f} MiB")
        proc.terminate()
        code = await proc.wait()
        print(f"fleet exit status after SIGTERM: {code}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods-per-node", type=int, default=30)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=1000)
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
