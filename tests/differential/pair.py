"""Two metrics servers on one simulated cluster: metricsd and the real metrics-server v0.7.1.

Why this shape (and not replay files): a replayed kubelet serves the *next* file to every
request, so two servers scraping it would each get different files. Instead the fleet runs on a
**virtual clock that moves only between cycles**: every kubelet renders its payload from the
model at the clock's current instant, so while the clock stands still both servers get the
same bytes however often, and in whatever order, they ask. The harness advances the clock by
one resolution, then waits until each server has *started and finished* a scrape cycle after
the advance (their ``--v=6`` lines ``"Scraping metrics"`` … ``"Scraping cycle complete"``),
then compares. A server that scrapes twice in one epoch stores the same timestamps again,
which storage keeps as they were (upstream's ``pkg/storage/pod.go``), so both servers hold
the same two points per node and container: values, ``timestamp`` and ``window`` must be
equal to the byte.

Both run as plain processes beside an in-process :class:`fakeapiserver.cli.ControlPlane`
(this test's event loop serves the API, the aggregator and the kubelets), with the same
arguments — the manifest's, with ``--v=6`` — each on its own loopback address at port 10250
as a pod would be; the APIService ``v1beta1.metrics.k8s.io`` points at one of them at a time
(:meth:`Pair.route`), so kubectl's view of each is compared through the aggregation layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import ssl
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from fakeapiserver.cli import ControlPlane, write_backend_endpoints
from fakeapiserver.pki import kubeconfig_identity, unverified_client_context
from fakekubelet.addresses import free_loopback_base
from fakekubelet.cluster import Cluster
from fakekubelet.spec import load_spec_text

#: The two servers, in the order every comparison prints them.
METRICSD = "metricsd"
UPSTREAM = "metrics-server"
SERVERS = (METRICSD, UPSTREAM)

RESOLUTION_S = 15
#: How long the held first cycle can stay open (the phase "before" must fit in it): the most
#: validation allows at 15 s (resolution × 0.9 = 13.5 s), rather than the default 10 s.
REQUEST_TIMEOUT_S = 13
#: The manifest's arguments (kind/manifests/base) with this machine's paths; both servers
#: get exactly these. InternalIP only: the simulated nodes' host names do not resolve.
COMMON_ARGS = (
    "--secure-port=10250",
    "--kubelet-preferred-address-types=InternalIP",
    "--kubelet-use-node-status-port",
    f"--metric-resolution={RESOLUTION_S}s",
    f"--kubelet-request-timeout={REQUEST_TIMEOUT_S}s",
    "--v=6",
)
START = 1711467600  # 2024-03-26T15:40:00Z, the virtual clock's start

FLEET = """\
seed: 12
startTime: {start}
addressBase: {base}
warmupSeconds: 1800
kubeletVersion: "1.30.0"
nodeGroups:
- name: worker
  count: 3
  labels: {{pool: general}}
  capacity: {{cpu: "4", memory: 8Gi, pods: 110}}
  pods:
  - name: web
    namespace: shop
    labels: {{app: web, tier: frontend}}
    spread: 0.3
    containers:
    - {{name: app, cpu: {{type: sine, base: 300m, amplitude: 200m, periodSeconds: 120}},
       memory: {{type: ramp, from: 100Mi, to: 180Mi, durationSeconds: 600}}}}
    - {{name: envoy, cpu: 20m, memory: 40Mi}}
  - name: api
    labels: {{app: api}}
    spread: 0.2
    containers:
    - {{name: api, cpu: {{type: spike, base: 50m, peak: 900m, everySeconds: 40,
       widthSeconds: 10}}, memory: 64Mi}}
  - name: fresh
    labels: {{app: fresh}}
    ageSeconds: 12
    containers:
    - {{name: main, cpu: 125m, memory: 16Mi}}
- name: edge
  count: 8
  labels: {{pool: edge}}
  pods:
  - name: job
    namespace: batch
    labels: {{app: job}}
    containers:
    - {{name: job, cpu: 7m, memory: 12Mi}}
"""

#: Fleet nodes, one per failure class a kubelet scrape meets: what is switched on.
FAILURES: Mapping[str, tuple[str, dict[str, Any]]] = {
    "no-ip-san": ("edge-1", {"cert_mode": "no-ip-san"}),
    "unknown-authority": ("edge-2", {"cert_mode": "wrong-ca"}),
    "expired": ("edge-3", {"cert_mode": "expired"}),
    "hung": ("edge-4", {"faults": {"hang": True}}),
    "500": ("edge-5", {"faults": {"http_status": 500}}),
    "403": ("edge-6", {"faults": {"http_status": 403}}),
    "malformed": ("edge-7", {"faults": {"malformed": True}}),
    "no-address": ("edge-8", {"address": None}),
}

CYCLE_START = re.compile(r'server\.go:136\] "Scraping metrics"$', re.M)
CYCLE_DONE = re.compile(r'server\.go:144\] "Scraping cycle complete"$', re.M)
SERVING = re.compile(r"Serving securely on ")
CYCLE_TIMEOUT_S = 3 * RESOLUTION_S + 30  # generous: the machine is shared


@dataclass
class Server:
    """One metrics server process, its log file and its address."""

    name: str
    argv: list[str]
    address: str
    cert_dir: str
    log_path: Path
    proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"https://{self.address}:10250"

    def log(self, since: int = 0) -> str:
        with self.log_path.open("rb") as f:
            f.seek(since)
            return f.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    async def start(self) -> None:
        out = self.log_path.open("wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdout=out, stderr=asyncio.subprocess.STDOUT, env=env,
            start_new_session=True)
        out.close()

    async def wait_log(self, regex: re.Pattern[str], since: int = 0,
                       timeout: float = CYCLE_TIMEOUT_S) -> int:
        """Wait for a line matching ``regex`` after byte ``since``; its end's byte offset."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log(since)
            found = regex.search(text)
            if found:
                return since + len(text[: found.end()].encode())
            if self.proc is not None and self.proc.returncode is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n"
                                     + self.log()[-3000:])
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {regex.pattern!r} within {timeout}s;"
                                     f" its log ends:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.05)

    async def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode


@dataclass
class Pair:
    """The control plane, its fleet and both servers."""

    directory: Path
    plane: ControlPlane
    cluster: Cluster
    servers: dict[str, Server] = field(default_factory=dict)
    routed: str = ""
    cycles: int = 0
    _session: aiohttp.ClientSession | None = None
    _admin: ssl.SSLContext | None = None

    # -- time -------------------------------------------------------------------------------
    async def cycle(self, advance: float = RESOLUTION_S) -> None:
        """Advance the fleet's clock, then wait for a full scrape cycle of each server."""
        if advance:
            self.cluster.advance(advance)
        # offsets after the advance: a cycle that logs its start from here on scrapes only
        # the new instant (a cycle's requests follow its "Scraping metrics" line)
        since = {name: s.log_size() for name, s in self.servers.items()}
        await asyncio.gather(*(self._one_cycle(s, since[n]) for n, s in self.servers.items()))
        self.cycles += 1

    async def _one_cycle(self, server: Server, since: int) -> None:
        await server.wait_log(CYCLE_DONE, await server.wait_log(CYCLE_START, since))

    async def idle(self, rounds: int = 10) -> None:
        """Wait until neither server is inside a scrape cycle, so that a phase boundary (and
        the state switch after it) never cuts one: each server's ticker runs on its own, and a
        cycle begun under one phase's faults must end in that phase's log. Returns after one
        pass that found both idle without waiting (no await between it and the caller's cut)."""
        for _ in range(rounds):
            busy = False
            for server in self.servers.values():
                text = server.log()
                starts = list(CYCLE_START.finditer(text))
                dones = list(CYCLE_DONE.finditer(text))
                if starts and (not dones or starts[-1].end() > dones[-1].end()):
                    busy = True
                    await server.wait_log(CYCLE_DONE, len(text[: starts[-1].end()].encode()))
            if not busy:
                return
        raise RuntimeError(f"the servers were never both between scrape cycles in {rounds} "
                           "tries: the machine is too loaded for this recording")

    # -- faults -----------------------------------------------------------------------------
    def set_all_faults(self, **faults: Any) -> None:
        for name in self.cluster.nodes:
            self.cluster.set_faults(name, **faults)

    def apply_failures(self) -> None:
        """Switch on every failure class of :data:`FAILURES`, each on its own node."""
        for node, change in FAILURES.values():
            if "cert_mode" in change:
                self.cluster.set_node(node, cert_mode=change["cert_mode"])
            if "faults" in change:
                self.cluster.set_faults(node, **change["faults"])
            if "address" in change:
                # the Node object keeps only its Hostname address: no InternalIP to match
                # (the model's address stays; registration rewrites a node only on its events)
                obj = self.plane.store.get("nodes", node)
                obj["status"]["addresses"] = [
                    a for a in obj["status"]["addresses"] if a["type"] != "InternalIP"]
                self.plane.store.replace("nodes", obj)

    # -- the aggregation layer --------------------------------------------------------------
    def route(self, name: str) -> None:
        """Point Service kube-system/metrics-server (hence the APIService) at ``name``."""
        server = self.servers[name]
        write_backend_endpoints(self.plane.store, server.address, 10250, True)
        self.routed = name

    # -- direct requests with the admin's client certificate --------------------------------
    def admin_ssl(self) -> ssl.SSLContext:
        if self._admin is None:
            identity = kubeconfig_identity(self.plane.state_dir / "kubeconfig")
            self._admin = unverified_client_context(identity)
        return self._admin

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def get(self, name: str, path: str, headers: Mapping[str, str] | None = None,
                  admin: bool = True) -> Response:
        server = self.servers[name]
        ctx: ssl.SSLContext
        if admin:
            ctx = self.admin_ssl()
        else:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        async with self.session().get(server.url + path, ssl=ctx,
                                      headers=dict(headers or {})) as resp:
            return Response(resp.status, await resp.read(),
                            [(k, v) for k, v in resp.headers.items()])

    async def both(self, path: str, headers: Mapping[str, str] | None = None,
                   admin: bool = True) -> dict[str, Response]:
        got = await asyncio.gather(*(self.get(n, path, headers, admin) for n in SERVERS))
        return dict(zip(SERVERS, got, strict=True))

    async def kubectl(self, version: str, *args: str) -> tuple[int, str, str]:
        from scenarios.kubectl import kubectl_binary

        proc = await asyncio.create_subprocess_exec(
            kubectl_binary(version), f"--kubeconfig={self.plane.state_dir / 'kubeconfig'}",
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=dict(os.environ, HOME=str(self.directory / "home")))
        out, err = await proc.communicate()
        return int(proc.returncode or 0), out.decode(), err.decode()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


@dataclass(frozen=True)
class Response:
    status: int
    raw: bytes
    headers: list[tuple[str, str]]

    @property
    def body(self) -> str:
        return self.raw.decode(errors="replace")

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers if k.lower() == "content-type"), "")


def server_argv(name: str, binary: Path, address: str, state: Path, cert_dir: Path) -> list[str]:
    kubeconfig = state / "metrics-server.kubeconfig"
    args = [
        f"--cert-dir={cert_dir}",
        f"--bind-address={address}",
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        *COMMON_ARGS,
    ]
    if name == METRICSD:
        return [sys.executable, "-m", "metricsd", *args]
    return [str(binary), *args]


@contextlib.asynccontextmanager
async def started_pair(directory: Path, binary: Path,
                       hold_first_scrape: bool = True) -> AsyncIterator[Pair]:
    """Control plane + fleet + both servers; with ``hold_first_scrape`` every kubelet hangs
    until the caller lets the first cycle through (``pair.set_all_faults(hang=False)``), so
    "before the first scrape" can be looked at."""
    spec_nodes = 11
    base = free_loopback_base(spec_nodes + 2, 10250)
    spec = load_spec_text(FLEET.format(start=START, base=base), "differential fleet")
    cluster = Cluster.from_spec(spec)
    prefix, last = base.rsplit(".", 1)
    addresses = {METRICSD: f"{prefix}.{int(last) + spec_nodes}",
                 UPSTREAM: f"{prefix}.{int(last) + spec_nodes + 1}"}
    state = directory / "cp"
    plane = ControlPlane(state, cluster=cluster)
    await plane.start()
    pair = Pair(directory, plane, cluster)
    try:
        plane.register_metrics_server(addresses[METRICSD], 10250, ready=True)
        if hold_first_scrape:
            pair.set_all_faults(hang=True)
        for name in SERVERS:
            cert_dir = directory / f"{name}-certs"
            argv = server_argv(name, binary, addresses[name], state, cert_dir)
            server = Server(name, argv, addresses[name], str(cert_dir),
                            directory / f"{name}.log")
            pair.servers[name] = server
            await server.start()
        for server in pair.servers.values():
            await server.wait_log(SERVING, timeout=60)
        pair.route(METRICSD)
        yield pair
    finally:
        for server in pair.servers.values():
            await server.stop()
        await pair.close()
        await plane.stop()
