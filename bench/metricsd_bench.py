"""metricsd scrape-cycle cost: CPU seconds per cycle and RSS for N nodes × P pods (prints figures).

Kubelets run in ANOTHER process so only metricsd's side is measured here:

* ``--fleet fakekubelet`` (default when it works): ``python -m fakekubelet`` on loopback
  addresses, mTLS with its ``client.crt``; nodes from its ``nodes.json``.
* ``--fleet builtin``: one HTTPS server (trustme cert) serving a kubelet-shaped payload per
  node under ``/n<i>/metrics/resource``; the node annotation selects the path (the upstream
  ``metrics.k8s.io/resource-metrics-path`` trick), so one listener stands in for N kubelets;
  ``--gzip`` makes it answer gzip (level 6) when asked, as a kubelet does.

For each cycle it measures process CPU (user+sys, ``getrusage``) of (a) the transport floor —
every payload fetched over the kept-alive pool, not parsed — and (b) a full metricsd cycle —
fetch, decode, merge, store — and reports the mean, plus RSS before/after. Not a test: no
assertions, just figures. Example::

    python bench/metricsd_bench.py --nodes 1000 --pods 30 --cycles 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metricsd.clock import RealClock
from metricsd.informers import NodeInfo
from metricsd.scraper.addresses import METRICS_PATH_ANNOTATION
from metricsd.scraper.client import KubeletClient, KubeletClientConfig, host_port_of
from metricsd.scraper.scraper import Scraper
from metricsd.storage import Storage

BUILTIN_SERVER = r'''
import asyncio, gzip, ssl, sys, time, trustme
from aiohttp import web
nodes, pods, certdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
use_gzip = sys.argv[4:] == ["gzip"]
ca = trustme.CA(); cert = ca.issue_cert("127.0.0.1")
ca.cert_pem.write_to_path(certdir + "/ca.crt")
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH); cert.configure_cert(ctx)
start = time.time()
def payload(i):
    now = time.time(); ms = int(now * 1000); el = now - start; out = []
    fam = [("container_cpu_usage_seconds_total", "counter"),
           ("container_memory_working_set_bytes", "gauge"),
           ("container_start_time_seconds", "gauge")]
    for name, kind in fam:
        out.append(f"# HELP {name} [STABLE] x\n# TYPE {name} {kind}\n")
        for p in range(pods):
            lab = f'container="app",namespace="ns{(i * pods + p) % 100}",pod="pod-{i}-{p}"'
            v = {"container_cpu_usage_seconds_total": f"{10 + 0.1 * el:.6f} {ms}",
                 "container_memory_working_set_bytes": f"{1e8 + p:.6e} {ms}",
                 "container_start_time_seconds": f"{start - 100:.9e}"}[name]
            out.append(f"{name}{{{lab}}} {v}\n")
    out.append(f"# TYPE node_cpu_usage_seconds_total counter\n"
               f"node_cpu_usage_seconds_total {100 + el:.6f} {ms}\n"
               f"# TYPE node_memory_working_set_bytes gauge\n"
               f"node_memory_working_set_bytes 2e+09 {ms}\n")
    return "".join(out)
async def handle(request):
    text = payload(int(request.match_info["i"]))
    if use_gzip and "gzip" in request.headers.get("Accept-Encoding", ""):
        # as a kubelet's promhttp handler: gzip at the default level
        return web.Response(body=gzip.compress(text.encode(), 6, mtime=0),
                            headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"})
    return web.Response(text=text)
async def main():
    app = web.Application(); app.router.add_get("/n{i}/metrics/resource", handle)
    runner = web.AppRunner(app, access_log=None); await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx); await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
'''


@dataclass
class Fleet:
    nodes: list[NodeInfo]
    config: KubeletClientConfig
    proc: subprocess.Popen[bytes]
    extra: dict[str, Any] = field(default_factory=dict)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def start_builtin(nodes: int, pods: int, workdir: str, use_gzip: bool = False) -> Fleet:
    extra = ["gzip"] if use_gzip else []
    proc = subprocess.Popen([sys.executable, "-c", BUILTIN_SERVER, str(nodes), str(pods),
                             workdir, *extra], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    infos = [NodeInfo(f"node-{i}", {}, (("InternalIP", "127.0.0.1"),), port,
                      {METRICS_PATH_ANNOTATION: f"/n{i}/metrics/resource"}) for i in range(nodes)]
    config = KubeletClientConfig(ca_file=f"{workdir}/ca.crt", use_node_status_port=True,
                                 preferred_address_types=("InternalIP",), timeout_s=10)
    return Fleet(infos, config, proc)


def start_fakekubelet(nodes: int, pods: int, workdir: str) -> Fleet:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakekubelet", "--nodes", str(nodes), "--pods-per-node",
         str(pods), "--state-dir", workdir, "--seed", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    state = Path(workdir)
    while not (state / "nodes.json").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise RuntimeError(f"fakekubelet did not start: {out[-2000:]}")
        time.sleep(0.2)
    entries = json.loads((state / "nodes.json").read_text())
    entries = entries.get("nodes", entries) if isinstance(entries, dict) else entries
    infos = [NodeInfo(e["name"], {}, (("InternalIP", e["address"]),), int(e.get("port", 10250)),
                      {}) for e in entries]
    config = KubeletClientConfig(ca_file=str(state / "ca.crt"),
                                 cert_file=str(state / "client.crt"),
                                 key_file=str(state / "client.key"), use_node_status_port=True,
                                 preferred_address_types=("InternalIP",), timeout_s=10)
    return Fleet(infos, config, proc)


async def transport_floor(client: KubeletClient, nodes: list[NodeInfo]) -> int:
    async def one(node: NodeInfo) -> int:
        url = client.url_for(node)
        host, port = host_port_of(url)
        return len((await client.get(url, host, port)).body)

    sizes = await asyncio.gather(*(one(n) for n in nodes))
    return sum(sizes)


async def bench(args: argparse.Namespace) -> None:
    workdir = tempfile.mkdtemp(prefix="metricsd-bench-")
    if args.fleet == "builtin":
        fleet = start_builtin(args.nodes, args.pods, workdir, args.gzip)
    else:
        fleet = start_fakekubelet(args.nodes, args.pods, workdir)
    try:
        rss_idle = _rss_mb()
        clock = RealClock()
        client = KubeletClient(fleet.config, clock)
        storage = Storage(15 * 10**9)
        scraper = Scraper(client, lambda: fleet.nodes, clock=clock, rng=random.Random(1))
        # warm the connection pool (first handshakes are not steady state)
        await transport_floor(client, fleet.nodes)
        floors, cycles, walls, tails = [], [], [], []
        for _ in range(args.cycles):
            c0 = _cpu()
            size = await transport_floor(client, fleet.nodes)
            floors.append(_cpu() - c0)
            c0, w0 = _cpu(), time.monotonic()
            batch = await scraper.scrape()
            storage.store(batch)
            cycles.append(_cpu() - c0)
            walls.append(time.monotonic() - w0)
            tails.append(walls[-1] - scraper.last_stagger_s)
        rss = _rss_mb()
        api = await api_latency(storage, batch, scraper, args)
        await client.close()
        mean = sum(cycles) / len(cycles)
        floor = sum(floors) / len(floors)
        print(f"fleet={args.fleet} nodes={args.nodes} pods/node={args.pods} "
              f"cycles={args.cycles} payload={size / args.nodes / 1024:.1f} KiB/node")
        print(f"metricsd cycle CPU: {mean:.3f} s   (min {min(cycles):.3f}, max {max(cycles):.3f})")
        print(f"transport floor CPU: {floor:.3f} s   ratio {mean / floor if floor else 0:.2f}x")
        print(f"cycle wall time: {sum(walls) / len(walls):.3f} s (includes the stagger, "
              f"max {min(8 * args.nodes, 4000)} ms)")
        print(f"cycle done after the last staggered start: mean {sum(tails) / len(tails):.3f} s, "
              f"max {max(tails):.3f} s")
        print(f"pods stored: {len(batch.pods)}   nodes stored: {len(batch.nodes)}")
        for line in api:
            print(line)
        if args.prometheus:
            for line in await prometheus_cycle_cost(fleet, workdir, args.cycles):
                if line.startswith("__cpu__="):
                    prom = float(line.split("=", 1)[1])
                    print(f"metricsd / prometheus CPU per cycle: {mean / prom:.2f}x")
                else:
                    print(line)
        print(f"RSS: idle {rss_idle:.0f} MB, after {rss:.0f} MB, delta {rss - rss_idle:.0f} MB")
    finally:
        fleet.proc.terminate()
        fleet.proc.wait(10)


async def api_latency(storage: Storage, batch: Any, scraper: Scraper,
                      args: argparse.Namespace) -> list[str]:
    """Server-side cost of ``kubectl top pods -A`` and of one namespace's pods (API + JSON),
    measured while a scrape cycle runs on the same event loop."""
    from metricsd.api import MetricsAPI
    from metricsd.informers import NodeInformer, PodInformer
    from metricsd.serve_http import _json_bytes

    async def unused(**_: Any) -> Any:
        raise RuntimeError("not used")

    pods = PodInformer(unused)
    pods._replace([{"metadata": {"namespace": ns, "name": name, "labels": {"app": "x"}}}
                   for ns, name in batch.pods])
    nodes = NodeInformer(unused)
    nodes._replace([{"metadata": {"name": n}} for n in batch.nodes])
    api = MetricsAPI(storage, nodes, pods)
    now_ns = int(time.time() * 1e9)

    def timed(namespace: str | None) -> float:
        t0 = time.perf_counter()
        result = api.list_pods(now_ns, namespace)
        _json_bytes(result.body)
        return time.perf_counter() - t0

    all_pods = [timed(None) for _ in range(3)]
    namespaces = sorted({ns for ns, _ in batch.pods})
    samples: list[float] = []
    scrape = asyncio.create_task(scraper.scrape())
    while not scrape.done() and len(samples) < 2000:
        samples.append(timed(namespaces[len(samples) % len(namespaces)]))
        await asyncio.sleep(0)
    storage.store(await scrape)
    samples.sort()
    p99 = samples[int(len(samples) * 0.99) - 1] if samples else 0.0
    per_ns = len(batch.pods) // max(1, len(namespaces))
    return [
        f"API list all pods ({len(batch.pods)}) + JSON: {min(all_pods):.3f} s",
        f"API one namespace (~{per_ns} pods) during a scrape: p50 "
        f"{samples[len(samples) // 2] * 1000 if samples else 0:.1f} ms, p99 {p99 * 1000:.1f} ms "
        f"({len(samples)} requests)",
    ]


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def _proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def prometheus_cycle_cost(fleet: Fleet, workdir: str, cycles: int) -> list[str]:
    """Debian's Prometheus scraping the same kubelets every 15 s: CPU per cycle and RSS."""
    import shutil

    binary = shutil.which("prometheus")
    if binary is None:
        return ["prometheus: not installed"]
    cfg = fleet.config
    tls = {"ca_file": cfg.ca_file}
    if cfg.cert_file:
        tls.update(cert_file=cfg.cert_file, key_file=cfg.key_file)
    targets = []
    for node in fleet.nodes:
        host = node.addresses[0][1]
        port = node.daemon_port or 10250
        path = node.annotations.get(METRICS_PATH_ANNOTATION, "/metrics/resource")
        targets.append({"targets": [f"{host}:{port}"],
                        "labels": {"__metrics_path__": path, "node": node.name}})
    config = {"global": {"scrape_interval": "15s", "scrape_timeout": "10s"},
              "scrape_configs": [{"job_name": "kubelets", "scheme": "https",
                                  "tls_config": tls, "static_configs": targets}]}
    cfg_path = Path(workdir) / "prometheus.yml"
    cfg_path.write_text(json.dumps(config))  # JSON is YAML
    proc = await asyncio.create_subprocess_exec(
        binary, f"--config.file={cfg_path}", f"--storage.tsdb.path={workdir}/tsdb",
        "--web.listen-address=127.0.0.1:0", "--log.level=warn",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await asyncio.sleep(20)  # start-up and the first (spread) scrapes
        c0 = _proc_cpu(proc.pid)
        await asyncio.sleep(15 * cycles)
        cpu = (_proc_cpu(proc.pid) - c0) / cycles
        return [f"prometheus: {cpu:.3f} CPU-s per 15 s cycle, RSS {_proc_rss_mb(proc.pid):.0f} MB",
                f"__cpu__={cpu}"]
    finally:
        proc.terminate()
        await proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--fleet", choices=("fakekubelet", "builtin"), default="builtin")
    parser.add_argument("--gzip", action="store_true",
                        help="builtin fleet: answer gzip when asked, as kubelets do "
                             "(the fakekubelet fleet always does)")
    parser.add_argument("--prometheus", action="store_true",
                        help="also measure Debian's prometheus scraping the same kubelets "
                             "(adds 20 s + 15 s per cycle)")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
