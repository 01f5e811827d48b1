"""metricsd as a real process against the simulated control plane and kubelet fleet (processes).

* every kubelet certificate mode, with and without ``--kubelet-insecure-tls`` /
  ``--kubelet-certificate-authority``, gives upstream's scrape outcome and log line;
* ``/readyz`` goes from 500 (``metric-storage-ready``) to 200;
* served values match the fleet's ground truth (CPU: mean true usage over the window, memory:
  true value at the later sample), also through the aggregation proxy with real kubectl;
* SIGTERM stops the process with status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fakeapiserver.pki import kubeconfig_identity, unverified_client_context
from fakekubelet.addresses import free_loopback_base, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PY = sys.executable
KUBECTL_VERSIONS = ("1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33")
READY_TIMEOUT = 60.0  # generous: the suite shares the machine with other heavy tests


class Proc:
    """A child process whose combined output is collected line by line."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.lines: list[str] = []
        self._new = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                self._new.set()
                return
            self.lines.append(line.decode(errors="replace").rstrip("\n"))
            self._new.set()

    async def wait_for(self, pattern: str, timeout: float = READY_TIMEOUT) -> str:
        try:
            return await self._wait_for(re.compile(pattern), timeout)
        except TimeoutError:
            raise AssertionError(f"{self.name}: no line matching {pattern!r} within {timeout}s:\n"
                                 + "\n".join(self.lines[-30:])) from None

    async def _wait_for(self, regex: re.Pattern[str], timeout: float) -> str:
        seen = 0
        async with asyncio.timeout(timeout):
            while True:
                for line in self.lines[seen:]:
                    if regex.search(line):
                        return line
                seen = len(self.lines)
                if self.proc.returncode is not None and self._reader.done():
                    raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n"
                                         + "\n".join(self.lines[-40:]))
                self._new.clear()
                await self._new.wait()

    def tail(self, count: int = 30) -> str:
        return "\n".join(self.lines[-count:])

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(15):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        return int(self.proc.returncode or 0)


async def _spawn(name: str, *args: str) -> Proc:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = await asyncio.create_subprocess_exec(
        PY, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env)
    return Proc(proc, name)


class ControlPlane:
    def __init__(self, state: Path, proc: Proc, backend_port: int) -> None:
        self.state = state
        self.proc = proc
        self.backend_port = backend_port

    @property
    def control_url(self) -> str:
        return str(json.loads((self.state / "control.json").read_text())["url"])

    def nodes(self) -> list[dict[str, Any]]:
        return list(json.loads((self.state / "nodes.json").read_text()))


@contextlib.asynccontextmanager
async def control_plane(tmp: Path, mode: str, nodes: int = 2,
                        pods: int = 3) -> AsyncIterator[ControlPlane]:
    state = tmp / f"cp-{mode}"
    backend = free_port()
    proc = await _spawn("fakeapiserver", "-m", "fakeapiserver", "--state-dir", str(state),
                        "--nodes", str(nodes), "--pods-per-node", str(pods), "--cert-mode", mode,
                        "--address-base", free_loopback_base(nodes), "--seed", "3",
                        "--apiservice-backend", f"127.0.0.1:{backend}")
    try:
        await proc.wait_for(r"fakeapiserver: ready", 120)
        yield ControlPlane(state, proc, backend)
    finally:
        await proc.stop()


async def start_metricsd(cp: ControlPlane, tmp: Path, *extra: str, port: int | None = None,
                         kubeconfig: str = "kubeconfig") -> tuple[Proc, int]:
    port = port or free_port()
    proc = await _spawn(
        "metricsd", "-m", "metricsd", "--kubeconfig", str(cp.state / kubeconfig),
        "--bind-address", "127.0.0.1", "--secure-port", str(port),
        "--cert-dir", str(tmp / f"certs-{port}"),
        "--metric-resolution", "3s", "--kubelet-request-timeout", "2s",
        "--simulation-min-metric-resolution", "1s",
        "--kubelet-preferred-address-types", "InternalIP", "-v", "2", *extra)
    return proc, port


def _insecure() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _admin(cp: ControlPlane) -> ssl.SSLContext:
    """A client context presenting the admin identity from the control plane's kubeconfig."""
    return unverified_client_context(kubeconfig_identity(cp.state / "kubeconfig"))


async def _get(url: str, ctx: ssl.SSLContext) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url, ssl=ctx) as resp:
        return resp.status, await resp.text()


SCRAPE_OK = r'"Scrape finished" duration="[^"]+" nodeCount=2 podCount=6'
FAILED = (r'"Failed to scrape node" err="Get \\"https://(?P<addr>[0-9.]+):10250'
          r'/metrics/resource\\": ')


def _failed(cause: str) -> str:
    return FAILED + cause


CASES = [
    ("ca-signed", (), SCRAPE_OK),
    ("ca-signed", ("--kubelet-insecure-tls",), SCRAPE_OK),
    ("ca-signed", ("--kubelet-certificate-authority", "{state}/front-proxy-ca.crt"),
     _failed(r"tls: failed to verify certificate: x509: certificate signed by unknown "
             r"authority\" node=")),
    ("ca-signed", ("--kubelet-certificate-authority", "{state}/ca.crt"), SCRAPE_OK),
    ("no-ip-san", (),
     _failed(r"tls: failed to verify certificate: x509: cannot validate certificate for "
             r"(?P=addr) because it doesn't contain any IP SANs\" node=")),
    ("no-ip-san", ("--kubelet-insecure-tls",), SCRAPE_OK),
    ("self-signed", (),
     _failed(r"tls: failed to verify certificate: x509: certificate signed by unknown "
             r"authority\" node=")),
    ("wrong-ca", (),
     _failed(r"tls: failed to verify certificate: x509: certificate signed by unknown "
             r"authority\" node=")),
    ("wrong-ca", ("--kubelet-insecure-tls",), SCRAPE_OK),
    ("expired", (),
     _failed(r"tls: failed to verify certificate: x509: certificate has expired or is not yet "
             r"valid: current time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ is after "
             r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\" node=")),
    ("not-yet-valid", (),
     _failed(r"tls: failed to verify certificate: x509: certificate has expired or is not yet "
             r"valid: current time \S+Z is before \S+Z\" node=")),
    ("expired", ("--kubelet-insecure-tls",), SCRAPE_OK),
    ("plain-http", (), _failed(r"http: server gave HTTP response to HTTPS client\" node=")),
]


@pytest.mark.parametrize(("mode", "flags", "expected"), CASES,
                         ids=[f"{m}{'+' + f[0].lstrip('-') if f else ''}" for m, f, _ in CASES])
async def test_cert_modes(tmp_path: Path, mode: str, flags: tuple[str, ...],
                          expected: str) -> None:
    async with control_plane(tmp_path, mode) as cp:
        args = [f.format(state=cp.state) for f in flags]
        proc, _ = await start_metricsd(cp, tmp_path, *args)
        try:
            await proc.wait_for(re.escape("Serving securely on 127.0.0.1:"))
            line = await proc.wait_for(expected)
            if expected is not SCRAPE_OK:
                assert line.startswith("E") and " scraper.go:149] " in line
        finally:
            assert await proc.stop() == 0, proc.tail()


def _cores(quantity: str) -> float:
    units = {"n": 1e-9, "u": 1e-6, "m": 1e-3}
    if quantity[-1] in units:
        return int(quantity[:-1]) * units[quantity[-1]]
    return float(quantity)


def _bytes(quantity: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity)


async def _truth(cp: ControlPlane, kind: str, name: str, namespace: str, timestamp: str,
                 window: str) -> dict[str, Any]:
    body = {"kind": kind, "name": name, "namespace": namespace, "timestamp": timestamp,
            "window": window}
    async with aiohttp.ClientSession() as session, session.post(
        f"{cp.control_url}/truth/window", json=body
    ) as resp:
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())


async def test_readiness_values_and_kubectl(tmp_path: Path) -> None:
    async with control_plane(tmp_path, "ca-signed") as cp:
        proc, port = await start_metricsd(cp, tmp_path, "-v", "3", port=cp.backend_port)
        base = f"https://127.0.0.1:{port}"
        try:
            await proc.wait_for(re.escape("Serving securely on 127.0.0.1:"))
            status, body = await _get(f"{base}/readyz?verbose", _insecure())
            # before two scrapes: not ready, reason withheld in the body, logged
            if status == 500:
                assert "[-]metric-storage-ready failed: reason withheld" in body
                assert body.endswith("readyz check failed\n")
            async with asyncio.timeout(20):
                while (await _get(f"{base}/readyz", _insecure()))[0] != 200:
                    await asyncio.sleep(0.2)
            ctx = _admin(cp)
            status, body = await _get(f"{base}/apis/metrics.k8s.io/v1beta1/nodes", ctx)
            assert status == 200, body
            items = json.loads(body)["items"]
            assert [i["metadata"]["name"] for i in items] == sorted(n["name"]
                                                                    for n in cp.nodes())
            for item in items:
                truth = await _truth(cp, "node", item["metadata"]["name"], "",
                                     item["timestamp"], item["window"])
                cpu = _cores(item["usage"]["cpu"])
                assert abs(cpu - truth["cpuCores"]) <= max(0.05 * truth["cpuCores"], 0.002), (
                    item, truth)
                mem = _bytes(item["usage"]["memory"])
                assert abs(mem - truth["memoryBytes"]) <= 0.05 * truth["memoryBytes"], (
                    item, truth)
            status, body = await _get(f"{base}/apis/metrics.k8s.io/v1beta1/pods", ctx)
            pods = json.loads(body)["items"]
            assert len(pods) == 6
            for pod in pods[:3]:
                truth = await _truth(cp, "pod", pod["metadata"]["name"],
                                     pod["metadata"]["namespace"], pod["timestamp"],
                                     pod["window"])
                cpu = sum(_cores(c["usage"]["cpu"]) for c in pod["containers"])
                assert abs(cpu - truth["cpuCores"]) <= max(0.05 * truth["cpuCores"], 0.002), (
                    pod, truth)

            # through the aggregation proxy with a real kubectl
            kubectl = _kubectl("1.30")
            if not kubectl.exists():
                pytest.skip("kubectl.1.30 not installed")
            env = dict(os.environ, HOME=str(tmp_path), KUBECONFIG=str(cp.state / "kubeconfig"))
            # the aggregator marks the APIService Available after its own probe: retry until
            async with asyncio.timeout(60):
                while True:
                    out = await asyncio.create_subprocess_exec(
                        str(kubectl), "top", "nodes", stdout=asyncio.subprocess.PIPE,
                        stderr=asyncio.subprocess.PIPE, env=env)
                    stdout, stderr = await out.communicate()
                    if out.returncode == 0:
                        break
                    assert b"Metrics API not available" in stderr, stderr.decode()
                    await asyncio.sleep(1)
            lines = stdout.decode().splitlines()
            assert lines[0].split()[:2] == ["NAME", "CPU(cores)"]
            assert len(lines) == 3
            # every installed kubectl prints the served values (same rounding as kubectl)
            for version in KUBECTL_VERSIONS:
                binary = _kubectl(version)
                if not binary.exists():
                    continue
                _, body = await _get(f"{base}/apis/metrics.k8s.io/v1beta1/nodes", ctx)
                served = {i["metadata"]["name"]: i["usage"] for i in json.loads(body)["items"]}
                out = await asyncio.create_subprocess_exec(
                    str(binary), "top", "nodes", "--no-headers",
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
                stdout, stderr = await out.communicate()
                assert out.returncode == 0, (version, stderr.decode())
                rows = [line.split() for line in stdout.decode().splitlines()]
                assert sorted(r[0] for r in rows) == sorted(served), version
                for name, cpu, _cpu_pct, mem, *_ in rows:
                    want_cpu = _cores(served[name]["cpu"]) * 1000
                    want_mem = _bytes(served[name]["memory"]) / 2**20
                    # a scrape may land between the two reads: allow one window's drift
                    assert abs(int(cpu.rstrip("m")) - want_cpu) <= max(0.2 * want_cpu, 5), (
                        version, name, cpu, served[name])
                    assert abs(int(mem.rstrip("Mi")) - want_mem) <= max(0.2 * want_mem, 5), (
                        version, name, mem, served[name])
                out = await asyncio.create_subprocess_exec(
                    str(binary), "top", "pods", "-A", "--no-headers",
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
                stdout, stderr = await out.communicate()
                assert out.returncode == 0, (version, stderr.decode())
                listed = sorted((r.split()[0], r.split()[1]) for r in stdout.decode().splitlines())
                assert listed == sorted((p["metadata"]["namespace"], p["metadata"]["name"])
                                        for p in pods), version
            assert await proc.wait_for(r'"HTTP" verb="LIST" URI="/apis/metrics.k8s.io/v1beta1/'
                                       r'nodes" latency="[^"]+" userAgent="kubectl')
        finally:
            assert await proc.stop() == 0, proc.tail()


def _kubectl(version: str) -> Path:
    """The versioned kubectl next to the dispatcher on PATH."""
    return Path(os.path.realpath(_which("kubectl"))).parent / f"kubectl.{version}"


def _which(name: str) -> str:
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    pytest.skip(f"{name} not on PATH")
    raise AssertionError  # unreachable


async def _put_faults(cp: ControlPlane, node: str, faults: dict[str, Any]) -> None:
    async with aiohttp.ClientSession() as session, session.put(
        f"{cp.control_url}/nodes/{node}/faults", json=faults
    ) as resp:
        assert resp.status == 200, await resp.text()


async def test_faults_on_some_nodes_leave_the_others_intact(tmp_path: Path) -> None:
    async with control_plane(tmp_path, "ca-signed", nodes=5, pods=2) as cp:
        addr = {n["name"]: n["address"] for n in cp.nodes()}
        await _put_faults(cp, "node-1", {"hang": True})
        await _put_faults(cp, "node-2", {"httpStatus": 403})
        await _put_faults(cp, "node-3", {"refuseConnections": True})
        await _put_faults(cp, "node-4", {"truncateBody": True})
        proc, port = await start_metricsd(cp, tmp_path)
        try:
            url = r'Get \\"https://{}:10250/metrics/resource\\": '
            await proc.wait_for(
                r'"Failed to scrape node, timeout to access kubelet" err="'
                + url.format(re.escape(addr["node-1"]))
                + r'context deadline exceeded" node="node-1" timeout="2s"')
            await proc.wait_for(r'"Failed to scrape node" err="request failed, status: '
                                r'\\"403 Forbidden\\"" node="node-2"')
            await proc.wait_for(r'"Failed to scrape node" err="' + url.format(
                re.escape(addr["node-3"])) + "dial tcp " + re.escape(addr["node-3"])
                + r':10250: connect: connection refused" node="node-3"')
            await proc.wait_for(r'"Failed to scrape node" err="failed to read response body - '
                                r'unexpected EOF" node="node-4"')
            await proc.wait_for(r'"Scrape finished" duration="[^"]+" nodeCount=1 podCount=2')
            base = f"https://127.0.0.1:{port}"
            async with asyncio.timeout(20):
                while (await _get(f"{base}/readyz", _insecure()))[0] != 200:
                    await asyncio.sleep(0.2)
            status, body = await _get(f"{base}/apis/metrics.k8s.io/v1beta1/nodes", _admin(cp))
            assert status == 200
            assert [i["metadata"]["name"] for i in json.loads(body)["items"]] == ["node-5"]
            # a Get of a failing node: known to the informer, no metrics → metrics NotFound
            status, body = await _get(f"{base}/apis/metrics.k8s.io/v1beta1/nodes/node-2",
                                      _admin(cp))
            assert status == 404
            assert json.loads(body)["message"] == 'nodemetrics.metrics.k8s.io "node-2" not found'
        finally:
            assert await proc.stop() == 0, proc.tail()


async def test_missing_nodes_metrics_rbac_gives_the_kubelets_403(tmp_path: Path) -> None:
    async with control_plane(tmp_path, "ca-signed") as cp:
        # the manifests' ClusterRole without its nodes/metrics rule (kubelets cache an allow
        # for 5 minutes, so the rule goes before metricsd's first scrape)
        role = tmp_path / "role.yaml"
        role.write_text(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
            "metadata:\n  name: system:metrics-server\n"
            "rules:\n- apiGroups: ['']\n  resources: [pods, nodes]\n"
            "  verbs: [get, list, watch]\n")
        env = dict(os.environ, HOME=str(tmp_path), KUBECONFIG=str(cp.state / "kubeconfig"))
        out = await asyncio.create_subprocess_exec(
            str(_kubectl("1.30")), "replace", "--validate=false", "-f", str(role),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
        _, stderr = await out.communicate()
        assert out.returncode == 0, stderr.decode()
        # the ServiceAccount identity of the manifests (token from the kubeconfig)
        proc, _ = await start_metricsd(cp, tmp_path, kubeconfig="metrics-server.kubeconfig")
        try:
            line = await proc.wait_for(r'"Failed to scrape node" err="request failed, status: '
                                       r'\\"403 Forbidden\\"" node="node-\d"')
            assert line.startswith("E") and " scraper.go:149] " in line
            await proc.wait_for(r'"Scrape finished" duration="[^"]+" nodeCount=0 podCount=0')
        finally:
            assert await proc.stop() == 0, proc.tail()
