"""metricsd vs Debian's Prometheus vs the transport floor, on one simulated fleet (prints figures).

One run starts the control plane with its fleet (``python -m fakeapiserver``, N nodes × P pods
in 100 namespaces, ca-signed kubelet certificates on a free loopback block) as a separate
process, then measures, one after another against the same kubelets:

1. metricsd (``python -m metricsd``, ``--metric-resolution`` as given, ``--v=1``) with the
   metrics-server ServiceAccount kubeconfig: CPU seconds per scrape cycle (``/proc/<pid>/stat``
   utime+stime between cycle ends; a cycle end is the ``"Scrape finished"`` log line, confirmed by
   ``metrics_server_manager_tick_duration_seconds_count`` on ``/metrics``, whose own cost is
   excluded), RSS idle (when it first serves, i.e. informers synced, before its first scrape
   completes) and after the cycles, and each tick's duration minus the stagger window.
2. a second metricsd at ``--v=3`` for the API: ``GET /apis/metrics.k8s.io/v1beta1/pods``
   (``kubectl top pods -A``) and one namespace's pods, ≥200 requests while scrapes run; latency
   taken from metricsd's ``"HTTP"`` log line (matched by Audit-ID), client-side as well.
3. ``/usr/bin/prometheus`` scraping the same kubelets (``/metrics/resource``, HTTPS, CA-verified,
   the same ServiceAccount token): CPU per interval and RSS.
4. the transport floor: a Python process fetching every payload over kept-alive TLS with a
   bare ``asyncio.Protocol`` (no HTTP library; one connection per node, all nodes at once with
   metricsd's stagger, gzip inflated), not parsing. The CPU targets are checked against it.
5. the aiohttp floor: the same fetches through aiohttp's client (metricsd's kubelet client
   before it got its own lean HTTP/1.1 client), for comparison.

With ``--with-peer`` the real metrics-server v0.7.1 (the test peer, ``docs/peers.md``) is
measured the same way beside metricsd — the same argv but its own binary (no metricsd-only
flag: the resolution must then be ≥ 12 s), the same kubeconfigs, port and kubelets — in
interleaved rounds (metricsd, metrics-server, metricsd, metrics-server: ``--rounds 2``) so
both share the machine's noise, and the report adds the ratios metricsd / metrics-server.
The API phase then asks as ``kubectl top`` does (``Accept: application/vnd.kubernetes.protobuf,
*/*``, gzip), both servers in turn, and reads each one's own ``"HTTP"`` lines.

Not a test: it prints figures and PASS/MISS against the targets of issue 4. Every process is
started in its own session and its process group is killed on exit. Examples::

    python bench/metricsd_vs_prometheus.py                      # 1,000 nodes x 30 pods
    python bench/metricsd_vs_prometheus.py --nodes 100 --pods-per-node 30 --cycles 3
    python bench/metricsd_vs_prometheus.py --with-peer --json out.json   # and metrics-server
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import math
import os
import random
import re
import signal
import ssl
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from fakeapiserver.pki import kubeconfig_identity, unverified_client_context
from fakekubelet.addresses import free_loopback_base, free_port

CLK_TCK = os.sysconf("SC_CLK_TCK")
PROMETHEUS = "/usr/bin/prometheus"
NAMESPACE_GROUPS = 10  # node groups; each holds 1/10 of the nodes and of the namespaces


# --------------------------------------------------------------------------- process sampling


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (its threads included), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def session_cpu_seconds(sid: int) -> float:
    """CPU of every live process in session ``sid`` (a child and whatever it started)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def status_mib(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Child:
    """A child process in its own session; its output lines are kept with their arrival time."""

    name: str
    proc: asyncio.subprocess.Process
    lines: list[tuple[float, str]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    keep: Callable[[str], bool] = lambda line: True

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while True:
            raw = await stream.readline()
            if not raw:
                return
            line = raw.decode(errors="replace").rstrip("\n")
            if self.keep(line):
                self.lines.append((time.monotonic(), line))
                self.changed.set()

    async def wait_line(self, pattern: str, after: int = 0, timeout: float = 600) -> int:
        """Index of the first kept line at or after ``after`` containing ``pattern``."""
        deadline = time.monotonic() + timeout
        index = after
        while True:
            while index < len(self.lines):
                if pattern in self.lines[index][1]:
                    return index
                index += 1
            if self.proc.returncode is not None:
                tail = "\n".join(line for _, line in self.lines[-15:])
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{tail}")
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no line with {pattern!r} in time")
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
            except TimeoutError:
                pass

    async def stop(self) -> None:
        if self.proc.returncode is None:
            for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    await asyncio.wait_for(self.proc.wait(), wait)
                    break
                except TimeoutError:
                    continue
        else:  # the leader is gone; children of its group may not be
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for task in self.readers:
            task.cancel()


async def spawn(name: str, argv: list[str], keep: Callable[[str], bool] | None = None) -> Child:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    child = Child(name, proc)
    if keep is not None:
        child.keep = keep
    assert proc.stdout is not None and proc.stderr is not None
    child.readers = [
        asyncio.create_task(child._read(proc.stdout)),
        asyncio.create_task(child._read(proc.stderr)),
    ]
    return child


# --------------------------------------------------------------------------- helpers


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


_GO_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9}
_GO_PART = re.compile(r"([0-9.]+)(h|ms|m|µs|us|ns|s)")


def parse_go_duration(text: str) -> float:
    """Seconds from a Go duration string such as ``700.49µs``, ``1.2s`` or ``1m2.5s``."""
    return sum(float(num) * _GO_UNITS[unit] for num, unit in _GO_PART.findall(text))


_HTTP_LINE = re.compile(r'"HTTP" .*latency="([^"]+)".*audit-ID="([^"]*)"')


_KLOG_TIME = re.compile(r"^[IWEF](\d{4}) (\d\d:\d\d:\d\d\.\d{6})")


def klog_time(line: str) -> float | None:
    """Wall-clock time of a klog text line (``I1125 12:34:56.123456 ...``; local time)."""
    match = _KLOG_TIME.match(line)
    if match is None:
        return None
    year = time.localtime().tm_year
    stamp = f"{year}{match.group(1)} {match.group(2)}"
    return datetime.datetime.strptime(stamp, "%Y%m%d %H:%M:%S.%f").timestamp()


def scrape_windows(lines: list[tuple[float, str]]) -> list[tuple[float, float]]:
    """Active scrape windows in wall-clock time, from metricsd's own log timestamps.

    A window runs from the first ``"Scraping node"`` after a ``"Scrape finished"`` to the next
    ``"Scrape finished"`` plus 1 s (the store follows the log line); an open one runs on.
    """
    windows: list[tuple[float, float]] = []
    start: float | None = None
    for _, line in list(lines):
        if '"Scraping node"' in line and start is None:
            start = klog_time(line)
        elif '"Scrape finished"' in line and start is not None:
            end = klog_time(line)
            windows.append((start, (end if end is not None else math.inf) + 1.0))
            start = None
    if start is not None:
        windows.append((start, math.inf))
    return windows


def fleet_spec(nodes: int, pods_per_node: int, namespaces: int) -> dict[str, Any]:
    """A fleet whose pods spread evenly over ``namespaces`` namespaces (ns-000, ns-001, ...).

    The nodes form ``NAMESPACE_GROUPS`` groups; group g runs the namespaces g, g+G, g+2G, ...,
    each template holding an equal share of the node's pods, so 1,000 × 30 pods in 100
    namespaces give 300 pods per namespace. One container per pod, as the CLI's demo fleet.
    """
    groups = min(NAMESPACE_GROUPS, nodes)
    spec_groups = []
    for g in range(groups):
        count = nodes // groups + (1 if g < nodes % groups else 0)
        mine = list(range(g, namespaces, groups))
        pods = []
        for k, ns in enumerate(mine):
            share = pods_per_node // len(mine) + (1 if k < pods_per_node % len(mine) else 0)
            if share == 0:
                continue
            pods.append({
                "name": f"app{ns:03d}",
                "count": share,
                "namespace": f"ns-{ns:03d}",
                "labels": {"app": f"app{ns:03d}"},
                "spread": 0.3,
                "staggerSeconds": 60,
                "containers": [{
                    "name": "app",
                    "requests": {"cpu": "100m", "memory": "128Mi"},
                    "cpu": {"type": "sine", "base": "100m", "amplitude": "50m",
                            "periodSeconds": 300},
                    "memory": {"type": "ramp", "from": "100Mi", "to": "150Mi",
                               "durationSeconds": 600},
                }],
            })  # fmt: skip
        spec_groups.append({
            "name": f"g{g}",
            "count": count,
            "namePrefix": f"node-g{g}",
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": 110},
            "pods": pods,
        })  # fmt: skip
    return {"seed": 1, "certMode": "ca-signed", "nodeGroups": spec_groups}




def parse_self_metrics(text: str) -> dict[str, float]:
    wanted = (
        "metrics_server_manager_tick_duration_seconds_sum",
        "metrics_server_manager_tick_duration_seconds_count",
    )
    found: dict[str, float] = {}
    for line in text.splitlines():
        for name in wanted:
            if line.startswith(name + " ") or line.startswith(name + "{"):
                found[name] = found.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return found


# --------------------------------------------------------------------------- results


@dataclass
class Measured:
    cpu_per_cycle: list[float] = field(default_factory=list)
    rss_idle: float = math.nan
    rss_steady: float = math.nan
    rss_peak: float = math.nan
    notes: list[str] = field(default_factory=list)

    @property
    def cpu(self) -> float:
        return median(self.cpu_per_cycle)


@dataclass
class Context:
    args: argparse.Namespace
    state: Path
    work: Path
    base: str
    metricsd_port: int
    nodes: list[dict[str, Any]]
    admin_ctx: ssl.SSLContext
    stagger_s: float
    #: the real metrics-server's binary (``--with-peer``), else None
    peer: Path | None = None


# --------------------------------------------------------------------------- metricsd


METRICSD = "metricsd"
PEER = "metrics-server"  # the real one, built by peers/build.py


def server_command(cx: Context, server: str) -> list[str]:
    if server == PEER:
        return [str(cx.peer)]
    return [sys.executable, "-m", "metricsd"]


def metricsd_argv(cx: Context, verbosity: int, cert_dir: Path,
                  server: str = METRICSD) -> list[str]:
    """The command line of either server: the same flags, only the program differs."""
    res = cx.args.resolution
    kubeconfig = str(cx.state / "metrics-server.kubeconfig")
    argv = [
        *server_command(cx, server),
        "--kubeconfig", kubeconfig,
        "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
        "--bind-address", "127.0.0.1", "--secure-port", str(cx.metricsd_port),
        "--cert-dir", str(cert_dir),
        "--kubelet-certificate-authority", str(cx.state / "ca.crt"),
        "--kubelet-preferred-address-types", "InternalIP",
        "--metric-resolution", f"{res:g}s", f"--v={verbosity}",
    ]  # fmt: skip
    if res < 10:  # metricsd only: upstream's validation refuses such a resolution
        argv += ["--simulation-min-metric-resolution", f"{res:g}s"]
        argv += ["--kubelet-request-timeout", f"{res * 0.9:g}s"]
    return argv


async def wait_serving(cx: Context, child: Child, timeout: float) -> None:
    """Poll /livez (always allowed) until metricsd serves: its informers have synced."""
    url = f"https://127.0.0.1:{cx.metricsd_port}/livez"
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if child.proc.returncode is not None:
                break
            try:
                async with session.get(url, ssl=cx.admin_ctx, timeout=aiohttp.ClientTimeout(
                        total=0.5)) as resp:  # fmt: skip
                    if resp.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.05)
    tail = "\n".join(line for _, line in child.lines[-15:])
    raise RuntimeError(f"metricsd did not serve /livez in time:\n{tail}")


async def fetch_self_metrics(cx: Context, session: aiohttp.ClientSession) -> dict[str, float]:
    url = f"https://127.0.0.1:{cx.metricsd_port}/metrics"
    async with session.get(url, ssl=cx.admin_ctx) as resp:
        text = await resp.text()
        if resp.status != 200:
            raise RuntimeError(f"GET /metrics: {resp.status} {text[:200]}")
    return parse_self_metrics(text)


async def measure_metricsd(cx: Context, server: str = METRICSD,
                           round_: int = 0) -> tuple[Measured, list[float]]:
    """CPU per cycle, RSS and tick durations of one server at --v=1."""
    out = Measured()
    ticks: list[float] = []
    cert_dir = cx.work / f"{server}-certs-a{round_}"
    child = await spawn(server, metricsd_argv(cx, 1, cert_dir, server))
    try:
        started = time.monotonic()
        await wait_serving(cx, child, 600)
        out.rss_idle = status_mib(child.pid)
        out.notes.append(
            f"{server} (round {round_ + 1}) served after {time.monotonic() - started:.1f} s "
            f"(informers synced); idle RSS taken then, before its first scrape completed"
        )
        async with aiohttp.ClientSession() as session:
            index = 0
            previous: tuple[float, dict[str, float]] | None = None
            warm = cx.args.warmup_cycles
            for cycle in range(warm + cx.args.cycles + 1):
                index = await child.wait_line('"Scrape finished"', index, 4 * cx.args.resolution
                                              + 600) + 1  # fmt: skip
                await asyncio.sleep(min(1.5, cx.args.resolution / 5))  # the store follows the log
                cpu_before = cpu_seconds(child.pid)
                metrics = await fetch_self_metrics(cx, session)
                cpu_after = cpu_seconds(child.pid)
                if previous is not None and cycle > warm:
                    cpu0, m0 = previous
                    count = metrics["metrics_server_manager_tick_duration_seconds_count"] - m0[
                        "metrics_server_manager_tick_duration_seconds_count"]  # fmt: skip
                    total = metrics["metrics_server_manager_tick_duration_seconds_sum"] - m0[
                        "metrics_server_manager_tick_duration_seconds_sum"]  # fmt: skip
                    if count != 1:
                        out.notes.append(f"window {cycle}: {count:g} ticks (expected 1)")
                    if count >= 1:
                        out.cpu_per_cycle.append((cpu_before - cpu0) / count)
                        ticks.append(total / count)
                previous = (cpu_after, metrics)
                if cycle == warm and round_ == 0:
                    out.notes.append(f"{server}: {warm} warm-up cycle(s) not counted")
        out.rss_steady = status_mib(child.pid)
        out.rss_peak = status_mib(child.pid, "VmHWM")
        failed = [line for _, line in child.lines if "Failed to scrape node" in line]
        if failed:
            out.notes.append(f"{server}: {len(failed)} failed node scrapes, e.g. {failed[0]}")
        finished = [line for _, line in child.lines if '"Scrape finished"' in line]
        if finished:
            out.notes.append(f"{server} last: {finished[-1].split('] ', 1)[-1]}")
    finally:
        await child.stop()
    return out, ticks


@dataclass
class ApiFigures:
    top_all_server: list[float] = field(default_factory=list)
    top_all_client: list[float] = field(default_factory=list)
    top_all_items: int = 0
    ns_server: list[float] = field(default_factory=list)
    ns_client: list[float] = field(default_factory=list)
    ns_server_during_scrape: list[float] = field(default_factory=list)
    ns_items: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def protobuf_items(body: bytes) -> int:
    """How many items a protobuf NodeMetricsList/PodMetricsList holds (field 2 of the raw
    object inside the ``k8s\\x00`` envelope)."""

    def fields(data: bytes) -> list[tuple[int, int, int]]:
        out, i = [], 0
        while i < len(data):
            key, i = varint(data, i)
            if key & 7 == 2:
                size, i = varint(data, i)
                out.append((key >> 3, i, i + size))
                i += size
            else:
                _, i = varint(data, i)
                out.append((key >> 3, i, i))
        return out

    def varint(data: bytes, i: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, i

    envelope = body[4:]
    raw = next((envelope[a:b] for n, a, b in fields(envelope) if n == 2), b"")
    return sum(1 for n, _, _ in fields(raw) if n == 2)


async def measure_api(cx: Context, server: str = METRICSD, round_: int = 0) -> ApiFigures:
    """`kubectl top pods -A` and one namespace's pods, directly at a --v=3 server, asked as
    kubectl asks (protobuf first, gzip accepted)."""
    figures = ApiFigures()

    def keep(line: str) -> bool:
        return '"HTTP"' in line or '"Scrape finished"' in line or '"Scraping node"' in line

    child = await spawn(f"{server}-v3", metricsd_argv(
        cx, 3, cx.work / f"{server}-certs-b{round_}", server), keep)
    try:
        await wait_serving(cx, child, 600)
        index = await child.wait_line('"Scrape finished"', 0, 4 * cx.args.resolution + 600)
        index = await child.wait_line('"Scrape finished"', index + 1, 4 * cx.args.resolution + 60)
        await asyncio.sleep(1.5)
        base = f"https://127.0.0.1:{cx.metricsd_port}/apis/metrics.k8s.io/v1beta1"
        client_times: dict[str, tuple[str, float, float]] = {}
        async with aiohttp.ClientSession(headers={"Accept": cx.args.api_accept}) as session:

            async def get(url: str, kind: str) -> int:
                audit = str(uuid.uuid4())
                began = time.time()  # wall clock, comparable with klog's line times
                async with session.get(url, ssl=cx.admin_ctx, headers={"Audit-ID": audit}) as r:
                    raw = await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"GET {url}: {r.status} {raw[:300]!r}")
                client_times[audit] = (kind, began, time.time() - began)
                if raw.startswith(b"k8s\x00"):
                    return protobuf_items(raw)
                return len(json.loads(raw).get("items", []))

            for _ in range(cx.args.top_requests):
                figures.top_all_items = await get(f"{base}/pods", "all")
                await asyncio.sleep(0.2)
            namespaces = sorted({f"ns-{i:03d}" for i in range(cx.args.namespaces)})
            rng = random.Random(7)
            began = time.monotonic()
            done = 0
            # keep asking until enough requests fell inside scrape windows (or a time cap)
            in_scrape = 0
            cap = began + cx.args.resolution * 12
            while time.monotonic() < cap and (
                done < cx.args.ns_requests or in_scrape < cx.args.ns_requests_in_scrape
            ):
                ns = rng.choice(namespaces)
                figures.ns_items.append(await get(f"{base}/namespaces/{ns}/pods", "ns"))
                done += 1
                if done % 20 == 0:
                    windows = scrape_windows(child.lines)
                    in_scrape = sum(
                        1
                        for kind, at, _ in client_times.values()
                        if kind == "ns" and any(lo <= at <= hi for lo, hi in windows)
                    )
                await asyncio.sleep(cx.args.ns_pace)
            await asyncio.sleep(0.5)  # let the last log lines arrive
        windows = scrape_windows(child.lines)
        server: dict[str, float] = {}
        for _, line in child.lines:
            match = _HTTP_LINE.search(line)
            if match:
                server[match.group(2)] = parse_go_duration(match.group(1))
        for audit, (kind, at, took) in client_times.items():
            server_s = server.get(audit)
            if kind == "all":
                figures.top_all_client.append(took)
                if server_s is not None:
                    figures.top_all_server.append(server_s)
            else:
                figures.ns_client.append(took)
                if server_s is not None:
                    figures.ns_server.append(server_s)
                    if any(lo <= at <= hi for lo, hi in windows):
                        figures.ns_server_during_scrape.append(server_s)
        if len(server) < len(client_times):
            figures.notes.append(
                f"API: {len(client_times) - len(server)} requests without a matching HTTP log line"
            )
    finally:
        await child.stop()
    return figures


def merged(rounds: list[Measured]) -> Measured:
    """One server's rounds as one figure set: every measured cycle; RSS medians of rounds."""
    out = Measured()
    for m in rounds:
        out.cpu_per_cycle += m.cpu_per_cycle
        out.notes += m.notes
    out.rss_idle = median([m.rss_idle for m in rounds])
    out.rss_steady = median([m.rss_steady for m in rounds])
    out.rss_peak = max(m.rss_peak for m in rounds)
    return out


def merged_api(rounds: list[ApiFigures]) -> ApiFigures:
    out = ApiFigures()
    for f in rounds:
        out.top_all_server += f.top_all_server
        out.top_all_client += f.top_all_client
        out.ns_server += f.ns_server
        out.ns_client += f.ns_client
        out.ns_server_during_scrape += f.ns_server_during_scrape
        out.ns_items += f.ns_items
        out.top_all_items = f.top_all_items
        out.notes += f.notes
    return out


# --------------------------------------------------------------------------- prometheus


async def measure_prometheus(cx: Context) -> Measured:
    out = Measured()
    port = free_port()
    tsdb = cx.work / "prometheus-data"
    config = {
        "global": {"scrape_interval": f"{round(cx.args.resolution * 1000)}ms",
                   "scrape_timeout": f"{round(min(10.0, cx.args.resolution * 0.9) * 1000)}ms"},
        "scrape_configs": [{
            "job_name": "kubelet-resource",
            "scheme": "https",
            "metrics_path": "/metrics/resource",
            "tls_config": {"ca_file": str(cx.state / "ca.crt")},
            "authorization": {"type": "Bearer",
                              "credentials_file": str(cx.state / "metrics-server.token")},
            "static_configs": [{"targets": [f"{n['address']}:{n['port']}" for n in cx.nodes]}],
        }],
    }  # fmt: skip
    config_path = cx.work / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    argv = [
        PROMETHEUS, f"--config.file={config_path}", f"--storage.tsdb.path={tsdb}",
        f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
    ]  # fmt: skip
    child = await spawn("prometheus", argv)
    try:
        api = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 120
            while True:
                try:
                    async with session.get(f"{api}/-/ready") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline or child.proc.returncode is not None:
                    tail = "\n".join(line for _, line in child.lines[-15:])
                    raise RuntimeError(f"prometheus not ready:\n{tail}")
                await asyncio.sleep(0.1)
            out.rss_idle = status_mib(child.pid)
            res = cx.args.resolution
            await asyncio.sleep(res * (cx.args.warmup_cycles + 1))
            cpu = cpu_seconds(child.pid)
            for _ in range(cx.args.cycles):
                await asyncio.sleep(res)
                now = cpu_seconds(child.pid)
                out.cpu_per_cycle.append(now - cpu)
                cpu = now
            out.rss_steady = status_mib(child.pid)
            out.rss_peak = status_mib(child.pid, "VmHWM")
            for query in ("count(up == 1)", "count(up)", "sum(scrape_samples_scraped)",
                          "avg(scrape_duration_seconds)"):  # fmt: skip
                async with session.get(f"{api}/api/v1/query", params={"query": query}) as resp:
                    data = await resp.json()
                result = data.get("data", {}).get("result", [])
                value = result[0]["value"][1] if result else "none"
                out.notes.append(f"prometheus {query} = {value}")
    finally:
        await child.stop()
    return out


# --------------------------------------------------------------------------- transport floor

# Both floor processes share the argument handling and the cycle driver; each supplies only
# ``setup()``, which returns ``fetch(url) -> body | None``.
FLOOR_HEAD = r"""
import asyncio, random, ssl, sys, time, zlib
urls_file, ca, token, resolution, stagger = sys.argv[1:6]
urls = open(urls_file).read().split()
resolution, stagger = float(resolution), float(stagger)
token = open(token).read().strip()
"""

FLOOR_DRIVER = r"""
async def main():
    fetch = await setup()
    print("ready", flush=True)
    await asyncio.sleep(1)
    rng = random.Random(1)
    while True:
        began = time.monotonic()
        ok = size = 0
        async def one(url):
            nonlocal ok, size
            await asyncio.sleep(rng.random() * stagger)
            try:
                body = await fetch(url)
            except Exception:
                return
            if body is not None:
                ok += 1
                size += len(body)
        await asyncio.gather(*(one(u) for u in urls))
        took = time.monotonic() - began
        print(f"cycle ok={ok} bytes={size} wall={took:.3f}", flush=True)
        await asyncio.sleep(max(0.0, resolution - took))
asyncio.run(main())
"""

FLOOR_SCRIPT = FLOOR_HEAD + r"""
import aiohttp
async def setup():
    ctx = ssl.create_default_context(cafile=ca)
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=1, keepalive_timeout=300)
    session = aiohttp.ClientSession(connector=connector, headers={
        "Authorization": "Bearer " + token, "Accept-Encoding": "gzip"})
    async def fetch(url):
        async with session.get(url, ssl=ctx) as resp:
            body = await resp.read()
            return body if resp.status == 200 else None
    return fetch
""" + FLOOR_DRIVER

RAW_FLOOR_SCRIPT = FLOOR_HEAD + r"""
class Fetch(asyncio.Protocol):
    # Content-Length framing only (what the kubelets send); no HTTP library
    def connection_made(self, transport):
        self.transport = transport
    def begin(self):
        self.buf = bytearray(); self.need = -1; self.start = 0
        self.done = asyncio.get_running_loop().create_future()
        return self.done
    def data_received(self, data):
        buf = self.buf
        buf += data
        if self.need < 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            at = head.find(b"content-length:")
            self.need = int(head[at + 15:head.find(b"\r\n", at) % (len(head) + 1)])
            self.start = end + 4
            self.gzip = b"content-encoding: gzip" in head
        if len(buf) >= self.start + self.need and not self.done.done():
            body = bytes(buf[self.start:self.start + self.need])
            if self.gzip:
                body = zlib.decompress(body, 31)
            self.done.set_result(body)
    def connection_lost(self, exc):
        if hasattr(self, "done") and not self.done.done():
            self.done.set_exception(ConnectionError("closed"))

async def setup():
    loop = asyncio.get_running_loop()
    ctx = ssl.create_default_context(cafile=ca)
    conns = {}
    async def fetch(url):
        hostport = url.split("/")[2]
        proto = conns.get(hostport)
        try:
            if proto is None or proto.transport.is_closing():
                host, port = hostport.rsplit(":", 1)
                _, proto = await loop.create_connection(Fetch, host, int(port), ssl=ctx)
                conns[hostport] = proto
            done = proto.begin()
            proto.transport.write((f"GET /metrics/resource HTTP/1.1\r\nHost: {hostport}\r\n"
                                   f"Authorization: Bearer {token}\r\n"
                                   "Accept-Encoding: gzip\r\n\r\n").encode())
            return await done
        except Exception:
            conns.pop(hostport, None)
            raise
    return fetch
""" + FLOOR_DRIVER


async def measure_floor(cx: Context, script: str = RAW_FLOOR_SCRIPT) -> Measured:
    out = Measured()
    urls = cx.work / "urls.txt"
    urls.write_text("\n".join(f"https://{n['address']}:{n['port']}/metrics/resource"
                              for n in cx.nodes))  # fmt: skip
    argv = [sys.executable, "-c", script, str(urls), str(cx.state / "ca.crt"),
            str(cx.state / "metrics-server.token"), f"{cx.args.resolution}",
            f"{cx.stagger_s}"]  # fmt: skip
    child = await spawn("floor", argv)
    try:
        await child.wait_line("ready", 0, 60)
        out.rss_idle = status_mib(child.pid)
        index = 0
        cpu: float | None = None
        for cycle in range(cx.args.warmup_cycles + cx.args.cycles):
            index = await child.wait_line("cycle ok=", index, 4 * cx.args.resolution + 60) + 1
            now = cpu_seconds(child.pid)
            if cpu is not None and cycle >= cx.args.warmup_cycles:
                out.cpu_per_cycle.append(now - cpu)
            cpu = now
        out.rss_steady = status_mib(child.pid)
        out.rss_peak = status_mib(child.pid, "VmHWM")
        out.notes.append(f"floor last: {child.lines[index - 1][1]}")
    finally:
        await child.stop()
    return out


# --------------------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}"


def report(
    cx: Context,
    md: Measured,
    ticks: list[float],
    prom: Measured | None,
    floor: Measured | None,
    aio_floor: Measured | None,
    api: ApiFigures | None,
) -> None:
    a = cx.args
    print()
    print(f"machine: {machine()}")
    print(
        f"fleet: {a.nodes} nodes x {a.pods_per_node} pods in {a.namespaces} namespaces, "
        f"resolution {a.resolution:g}s, {a.cycles} measured cycles (+{a.warmup_cycles} warm-up)"
    )
    print()
    print(
        f"{'':28}{'CPU-s/cycle':>12}{'min':>8}{'max':>8}{'RSS idle':>10}{'RSS steady':>12}"
        f"{'RSS peak':>10}{'delta':>8}"
    )
    rows = (("metricsd", md), ("prometheus", prom), ("transport floor", floor),
            ("aiohttp floor", aio_floor))
    for name, m in rows:
        if m is None:
            print(f"{name:28}{'not measured':>12}")
            continue
        lo = min(m.cpu_per_cycle) if m.cpu_per_cycle else math.nan
        hi = max(m.cpu_per_cycle) if m.cpu_per_cycle else math.nan
        print(
            f"{name:28}{m.cpu:>12.3f}{lo:>8.3f}{hi:>8.3f}{m.rss_idle:>9.0f}M{m.rss_steady:>11.0f}M"
            f"{m.rss_peak:>9.0f}M{m.rss_steady - m.rss_idle:>7.0f}M"
        )
    print()
    targets: list[tuple[str, str, bool]] = []
    if prom is not None and prom.cpu > 0:
        ratio = md.cpu / prom.cpu
        print(
            f"metricsd / prometheus CPU per cycle: {ratio:.2f}x   "
            f"RSS (steady): {md.rss_steady / prom.rss_steady:.2f}x"
        )
        targets.append(("CPU/cycle <= 0.75x prometheus", f"{ratio:.2f}x", ratio <= 0.75))
    if floor is not None and floor.cpu > 0:
        ratio = md.cpu / floor.cpu
        print(f"metricsd / floor CPU per cycle: {ratio:.2f}x")
        if aio_floor is not None and aio_floor.cpu > 0:
            print(f"metricsd / aiohttp floor CPU per cycle: {md.cpu / aio_floor.cpu:.2f}x")
        targets.append(("CPU/cycle <= 3x floor", f"{ratio:.2f}x", ratio <= 3))
    tails = [t - cx.stagger_s for t in ticks]
    print(
        f"tick duration: median {median(ticks):.3f} s, max {max(ticks, default=math.nan):.3f} s;"
        f" stagger window {cx.stagger_s:.3f} s; tick - stagger: median {median(tails):.3f} s, "
        f"max {max(tails, default=math.nan):.3f} s"
    )
    worst = max(tails, default=math.inf)
    targets.append(("cycle done <= 1 s after last staggered start (max tick - stagger)",
                    f"{worst:.3f} s", worst <= 1.0))  # fmt: skip
    delta = md.rss_steady - md.rss_idle
    targets.append(("steady RSS <= 150 MB above idle", f"{delta:.0f} MiB", delta * 1.048576 <= 150))
    if api is not None:
        top = api.top_all_server or api.top_all_client
        where = "server" if api.top_all_server else "client"
        print(
            f"top pods -A: {api.top_all_items} pods; server {fmt_ms(api.top_all_server)}; "
            f"client {fmt_ms(api.top_all_client)}"
        )
        print(
            f"one namespace (~{median([float(n) for n in api.ns_items]):.0f} pods), "
            f"{len(api.ns_client)} requests: server {fmt_ms(api.ns_server)}; "
            f"client {fmt_ms(api.ns_client)}; server during scrapes "
            f"({len(api.ns_server_during_scrape)} requests) "
            f"{fmt_ms(api.ns_server_during_scrape)}"
        )
        targets.append((f"top pods -A <= 1 s ({where}, max)", f"{max(top) * 1000:.0f} ms",
                        max(top) <= 1.0))  # fmt: skip
        ns = api.ns_server or api.ns_client
        where = "server" if api.ns_server else "client"
        p99 = percentile(ns, 99)
        targets.append((f"one namespace p99 <= 20 ms ({where}, all {len(ns)} requests)",
                        f"{p99 * 1000:.1f} ms", p99 <= 0.020))  # fmt: skip
        inside = api.ns_server_during_scrape
        if inside:
            p99 = percentile(inside, 99)
            targets.append((f"one namespace p99 <= 20 ms (server, {len(inside)} requests inside "
                            "scrape windows)", f"{p99 * 1000:.1f} ms", p99 <= 0.020))  # fmt: skip
    print()
    for name, value, ok in targets:
        print(f"  {verdict(ok)}  {name}: {value}")
    notes = md.notes + (prom.notes if prom else []) + (floor.notes if floor else [])
    notes += aio_floor.notes if aio_floor else []
    notes += api.notes if api else []
    if notes:
        print()
        for note in notes:
            print(f"  note: {note}")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b and not math.isnan(a) and not math.isnan(b) else "n/a"


def report_peer(figures: dict[str, Measured], ticks: dict[str, list[float]],
                apis: dict[str, ApiFigures]) -> None:
    """metricsd beside the real metrics-server, and metricsd / metrics-server."""
    md, ms = figures[METRICSD], figures[PEER]
    print()
    print("metricsd beside the real metrics-server v0.7.1 (interleaved rounds, medians):")
    print(f"{'':34}{'metricsd':>12}{'metrics-server':>16}{'ratio':>9}")
    rows = [
        ("CPU-s per cycle", md.cpu, ms.cpu, "{:.3f}"),
        ("RSS idle (MiB)", md.rss_idle, ms.rss_idle, "{:.0f}"),
        ("RSS steady (MiB)", md.rss_steady, ms.rss_steady, "{:.0f}"),
        ("cycle duration (s, median tick)", median(ticks[METRICSD]), median(ticks[PEER]),
         "{:.3f}"),
    ]
    if apis:
        a, b = apis[METRICSD], apis[PEER]
        rows += [
            ("top pods -A, server p50 (ms)", percentile(a.top_all_server, 50) * 1000,
             percentile(b.top_all_server, 50) * 1000, "{:.1f}"),
            ("top pods -A, server max (ms)", max(a.top_all_server, default=math.nan) * 1000,
             max(b.top_all_server, default=math.nan) * 1000, "{:.1f}"),
            ("one namespace in scrapes, p50 (ms)", percentile(a.ns_server_during_scrape, 50)
             * 1000, percentile(b.ns_server_during_scrape, 50) * 1000, "{:.2f}"),
            ("one namespace in scrapes, p99 (ms)", percentile(a.ns_server_during_scrape, 99)
             * 1000, percentile(b.ns_server_during_scrape, 99) * 1000, "{:.2f}"),
        ]
    for name, a_value, b_value, fmt in rows:
        print(f"{name:34}{fmt.format(a_value):>12}{fmt.format(b_value):>16}"
              f"{_ratio(a_value, b_value):>9}")
    print(f"  cycles measured: metricsd {len(md.cpu_per_cycle)}, metrics-server "
          f"{len(ms.cpu_per_cycle)}; CPU per cycle min/max: metricsd "
          f"{min(md.cpu_per_cycle, default=math.nan):.3f}/"
          f"{max(md.cpu_per_cycle, default=math.nan):.3f}, metrics-server "
          f"{min(ms.cpu_per_cycle, default=math.nan):.3f}/"
          f"{max(ms.cpu_per_cycle, default=math.nan):.3f}")
    for note in ms.notes:
        print(f"  note: {note}")


def dump_json(path: Path, cx: Context, figures: dict[str, Measured],
              ticks: dict[str, list[float]], apis: dict[str, ApiFigures],
              prom: Measured | None, floor: Measured | None,
              aio_floor: Measured | None) -> None:
    def measured(m: Measured | None) -> dict[str, Any] | None:
        if m is None:
            return None
        return {"cpu_per_cycle": m.cpu_per_cycle, "cpu": m.cpu, "rss_idle": m.rss_idle,
                "rss_steady": m.rss_steady, "rss_peak": m.rss_peak}

    out: dict[str, Any] = {
        "machine": machine(), "load": os.getloadavg(),
        "args": {k: v for k, v in vars(cx.args).items()},
        "servers": {name: {**(measured(m) or {}), "ticks": ticks[name]}
                    for name, m in figures.items()},
        "api": {name: {"top_all_server": a.top_all_server, "ns_server": a.ns_server,
                       "ns_server_during_scrape": a.ns_server_during_scrape,
                       "top_all_items": a.top_all_items} for name, a in apis.items()},
        "prometheus": measured(prom), "floor": measured(floor),
        "aiohttp_floor": measured(aio_floor),
    }
    path.write_text(json.dumps(out, indent=1))


def fmt_ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (
        f"p50 {percentile(values, 50) * 1000:.1f} ms, p99 {percentile(values, 99) * 1000:.1f} "
        f"ms, max {max(values) * 1000:.1f} ms"
    )


# --------------------------------------------------------------------------- main


async def run(args: argparse.Namespace) -> int:
    if not os.access(PROMETHEUS, os.X_OK) and not args.skip_prometheus:
        print(f"{PROMETHEUS} not found; use --skip-prometheus", file=sys.stderr)
        return 2
    peer: Path | None = None
    if args.with_peer:
        from scenarios.peers import PeerMissing, metrics_server_binary

        try:
            peer = metrics_server_binary()
        except PeerMissing as err:
            print(f"--with-peer: {err}", file=sys.stderr)
            return 2
        if args.resolution < 12:
            print("--with-peer: the real metrics-server refuses a --metric-resolution below "
                  "11.2 s with the default --kubelet-request-timeout; use --resolution >= 12",
                  file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="md-vs-prom-") as tmp:
        work = Path(tmp)
        state = work / "cp"
        spec = work / "fleet.yaml"
        spec.write_text(yaml.safe_dump(fleet_spec(args.nodes, args.pods_per_node,
                                                  args.namespaces)))  # fmt: skip
        base = free_loopback_base(args.nodes, 10250)
        metricsd_port = free_port()
        argv = [
            sys.executable, "-m", "fakeapiserver", "--state-dir", str(state),
            "--fleet-config", str(spec), "--cert-mode", "ca-signed", "--address-base", base,
            "--apiservice-backend", f"127.0.0.1:{metricsd_port}",
        ]  # fmt: skip
        print(f"starting control plane + fleet ({args.nodes} x {args.pods_per_node}) on {base}...",
              flush=True)  # fmt: skip
        began = time.monotonic()
        plane = await spawn("fakeapiserver", argv)
        try:
            await plane.wait_line("fakeapiserver: ready", 0, 900)
            print(f"control plane ready in {time.monotonic() - began:.1f} s "
                  f"(RSS {status_mib(plane.pid):.0f} MiB)", flush=True)  # fmt: skip
            nodes = json.loads((state / "nodes.json").read_text())
            nodes = nodes.get("nodes", nodes) if isinstance(nodes, dict) else nodes
            admin = unverified_client_context(kubeconfig_identity(state / "kubeconfig"))
            cx = Context(args, state, work, base, metricsd_port, nodes, admin,
                         min(0.008 * len(nodes), 4.0), peer)  # fmt: skip
            servers = [METRICSD] + ([PEER] if peer is not None else [])
            rounds: dict[str, list[Measured]] = {name: [] for name in servers}
            ticks: dict[str, list[float]] = {name: [] for name in servers}
            for round_ in range(args.rounds):  # interleaved: A B A B
                for name in servers:
                    print(f"{name} (--v=1, round {round_ + 1}/{args.rounds}): CPU, RSS, "
                          "ticks...", flush=True)
                    plane_cpu = session_cpu_seconds(plane.pid)
                    measured, round_ticks = await measure_metricsd(cx, name, round_)
                    rounds[name].append(measured)
                    ticks[name] += round_ticks
                    print(f"  median {measured.cpu:.3f} CPU-s/cycle; fleet+control plane used "
                          f"{session_cpu_seconds(plane.pid) - plane_cpu:.1f} CPU-s meanwhile",
                          flush=True)
            figures = {name: merged(rounds[name]) for name in servers}
            figures[METRICSD].notes.append(
                "kubeconfig: metrics-server.kubeconfig (ServiceAccount token), for the API "
                "server and both delegations")
            apis: dict[str, ApiFigures] = {}
            if not args.skip_api:
                api_rounds: dict[str, list[ApiFigures]] = {name: [] for name in servers}
                for round_ in range(args.api_rounds):
                    for name in servers:
                        print(f"{name} (--v=3, round {round_ + 1}/{args.api_rounds}): API "
                              "latency while scraping...", flush=True)
                        api_rounds[name].append(await measure_api(cx, name, round_))
                apis = {name: merged_api(api_rounds[name]) for name in servers}
            prom = None
            if not args.skip_prometheus:
                print("prometheus...", flush=True)
                prom = await measure_prometheus(cx)
                print(f"  median {prom.cpu:.3f} CPU-s/cycle", flush=True)
            print("transport floor (asyncio + ssl, no HTTP library)...", flush=True)
            floor = await measure_floor(cx)
            print(f"  median {floor.cpu:.3f} CPU-s/cycle", flush=True)
            print("aiohttp floor (the same fetches through aiohttp's client)...", flush=True)
            aio_floor = await measure_floor(cx, FLOOR_SCRIPT)
            print(f"  median {aio_floor.cpu:.3f} CPU-s/cycle", flush=True)
            report(cx, figures[METRICSD], ticks[METRICSD], prom, floor, aio_floor,
                   apis.get(METRICSD))
            if peer is not None:
                report_peer(figures, ticks, apis)
            if args.json:
                dump_json(Path(args.json), cx, figures, ticks, apis, prom, floor, aio_floor)
        finally:
            await plane.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods-per-node", type=int, default=30)
    parser.add_argument("--namespaces", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=5, help="measured cycles per component")
    parser.add_argument("--warmup-cycles", type=int, default=2)
    parser.add_argument("--resolution", type=float, default=15.0, help="seconds (default 15)")
    parser.add_argument("--top-requests", type=int, default=10)
    parser.add_argument("--ns-requests", type=int, default=300)
    parser.add_argument(
        "--ns-requests-in-scrape",
        type=int,
        default=200,
        help="one-namespace requests wanted inside active scrape windows (default 200)",
    )
    parser.add_argument("--ns-pace", type=float, default=0.03, help="seconds between requests")
    parser.add_argument("--skip-prometheus", action="store_true")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--with-peer", action="store_true",
                        help="measure the real metrics-server beside metricsd (peers/build.py)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved CPU/RSS rounds per server (default 2 with the peer)")
    parser.add_argument("--api-rounds", type=int, default=1,
                        help="interleaved API rounds per server (default 1)")
    parser.add_argument("--api-accept", default="application/vnd.kubernetes.protobuf, */*",
                        help="Accept of the API requests (default: kubectl top's)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 2 if args.with_peer else 1
    try:
        return asyncio.run(run(args))
    except (RuntimeError, TimeoutError) as err:
        print(f"metricsd_vs_prometheus: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
