"""MetricsServer in-process on a virtual clock: the simulated API server (in-process) for nodes,
pods, the auth ConfigMap and reviews; small aiohttp kubelets; real HTTPS to metricsd.

Covers start-up order (nothing served before informer sync), readiness going from
``no metrics to serve`` to ready after two scrapes, served values, discovery, 401/403 and
always-allowed paths, front-proxy identity, the ``HTTP`` log line and graceful stop."""

from __future__ import annotations

import asyncio
import io
import json
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from fakeapiserver.app import APIServer
from fakekubelet.addresses import free_port
from metricsd import klog
from metricsd.clock import VirtualClock
from metricsd.options import Options
from metricsd.server import MetricsServer, bind_text

RES = 15


class Kubelet:
    """A kubelet double whose counters follow the virtual clock: node at 0.5 cores, one pod
    container at 0.25 cores, constant memory."""

    def __init__(self, clock: VirtualClock, pod: tuple[str, str]) -> None:
        self.clock = clock
        self.pod = pod
        self.start = clock.now()
        self.requests = 0

    def payload(self) -> str:
        now = self.clock.now()
        ms = int(now * 1000)
        elapsed = now - self.start
        ns, name = self.pod
        labels = f'container="app",namespace="{ns}",pod="{name}"'
        return (
            f"container_cpu_usage_seconds_total{{{labels}}} {100 + 0.25 * elapsed} {ms}\n"
            f"container_memory_working_set_bytes{{{labels}}} 104857600 {ms}\n"
            f"container_start_time_seconds{{{labels}}} {self.start - 3600}\n"
            f"node_cpu_usage_seconds_total {1000 + 0.5 * elapsed} {ms}\n"
            f"node_memory_working_set_bytes 1073741824 {ms}\n"
        )

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        return web.Response(text=self.payload())


@pytest.fixture
async def apiserver(tmp_path: Path) -> AsyncIterator[APIServer]:
    server = APIServer(tmp_path / "api", bookmark_interval=0.05)
    await server.start()
    server.store.create("configmaps", {
        "metadata": {"name": "extension-apiserver-authentication", "namespace": "kube-system"},
        "data": {
            "client-ca-file": server.pki.client_ca_pem.decode(),
            "requestheader-client-ca-file": server.pki.front_proxy_ca_pem.decode(),
            "requestheader-allowed-names": '["front-proxy-client"]',
            "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
            "requestheader-group-headers": '["X-Remote-Group"]',
            "requestheader-username-headers": '["X-Remote-User"]',
        }})
    yield server
    await server.stop()


async def _start_kubelets(server: APIServer, clock: VirtualClock, count: int
                          ) -> tuple[list[Kubelet], list[web.AppRunner]]:
    kubelets, runners = [], []
    for i in range(count):
        k = Kubelet(clock, ("default", f"web-{i}"))
        app = web.Application()
        app.router.add_get("/metrics/resource", k.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        server.store.create("nodes", {
            "metadata": {"name": f"node-{i}", "labels": {"pool": "a"}},
            "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}})
        server.store.create("pods", {
            "metadata": {"name": f"web-{i}", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"nodeName": f"node-{i}", "containers": [{"name": "app", "image": "x"}]},
            "status": {"phase": "Running"}})
        kubelets.append(k)
        runners.append(runner)
    return kubelets, runners


def _cores(quantity: str) -> float:
    units = {"n": 1e-9, "u": 1e-6, "m": 1e-3}
    if quantity[-1] in units:
        return int(quantity[:-1]) * units[quantity[-1]]
    return float(quantity)


def _options(server: APIServer, tmp_path: Path, **kw: Any) -> Options:
    base = Options(
        kubeconfig=str(server.kubeconfig_path), bind_address="127.0.0.1",
        secure_port=free_port(), cert_dir=str(tmp_path / "certs"),
        deprecated_kubelet_completely_insecure=True, kubelet_use_node_status_port=True,
        kubelet_preferred_address_types=("InternalIP",), metric_resolution=RES * 10**9,
        v=3)
    return replace(base, **kw)


async def _advance_tick(clock: VirtualClock, server: MetricsServer) -> None:
    """Run one scrape tick: wake the stagger sleepers until the tick completes."""
    assert server.loop is not None
    done = server.loop.tick_done
    while not done.is_set():
        deadline = clock.next_deadline()
        if deadline is None:
            await asyncio.sleep(0.001)
            continue
        await clock.advance_to(max(deadline, clock.monotonic()))
        await asyncio.sleep(0.001)


async def _tick_to_next(clock: VirtualClock, server: MetricsServer) -> None:
    assert server.loop is not None
    done = server.loop.tick_done
    target = (server.loop.tick_last_start_mono or 0) + RES
    await clock.advance_to(target)
    while not done.is_set():
        deadline = clock.next_deadline()
        if deadline is not None and deadline <= target + 1:
            await clock.advance_to(max(deadline, clock.monotonic()))
        await asyncio.sleep(0.001)


def _client_ctx(server: APIServer, user: str | None = None,
                groups: tuple[str, ...] = ()) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if user is not None:
        pair = server.pki.client_cert(user, groups)
        d = Path(server.state_dir)
        (d / f"{user}.crt").write_bytes(pair.cert_pem)
        (d / f"{user}.key").write_bytes(pair.key_pem)
        ctx.load_cert_chain(d / f"{user}.crt", d / f"{user}.key")
    return ctx


async def _get(port: int, path: str, ctx: ssl.SSLContext,
               headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(
        f"https://127.0.0.1:{port}{path}", ssl=ctx, headers=headers or {}
    ) as resp:
        return resp.status, await resp.text()


@pytest.mark.timeout(60)
async def test_server_lifecycle(apiserver: APIServer, tmp_path: Path) -> None:
    clock = VirtualClock(start=1_711_467_600.0)
    kubelets, runners = await _start_kubelets(apiserver, clock, 2)
    stream = io.StringIO()
    log = klog.Logger(verbosity=3, stream=stream)
    options = _options(apiserver, tmp_path)
    server = MetricsServer(options, clock=clock, log=log, process_metrics=False)
    admin = _client_ctx(apiserver, "admin", ("system:masters",))
    anon = _client_ctx(apiserver)
    try:
        await server.start()
        assert server.port == options.secure_port
        logs = stream.getvalue()
        assert f"Serving securely on 127.0.0.1:{options.secure_port}" in logs
        assert "Generated self-signed cert (" in logs

        status, body = await _get(server.port, "/readyz?verbose", anon)
        assert status == 500
        assert "[-]metric-storage-ready failed: reason withheld" in body
        assert "[+]metric-informer-sync ok" in body

        await _advance_tick(clock, server)  # first scrape: one point, no rate yet
        assert all(k.requests == 1 for k in kubelets)
        status, _ = await _get(server.port, "/readyz", anon)
        assert status == 500

        await _tick_to_next(clock, server)  # second scrape: rates
        status, body = await _get(server.port, "/readyz", anon)
        assert (status, body) == (200, "ok")

        status, body = await _get(server.port, "/apis/metrics.k8s.io/v1beta1/nodes", admin)
        assert status == 200
        doc = json.loads(body)
        assert doc["kind"] == "NodeMetricsList"
        assert [i["metadata"]["name"] for i in doc["items"]] == ["node-0", "node-1"]
        usage = doc["items"][0]["usage"]
        assert usage["memory"] == "1Gi"
        assert abs(_cores(usage["cpu"]) - 0.5) < 1e-6  # float counters: 500m or 499999999n
        # window = resolution ± the two ticks' stagger delays (0…15ms with 2 nodes)
        window = doc["items"][0]["window"]
        assert window.endswith("s") and 14.984 <= float(window[:-1]) <= 15.016

        status, body = await _get(
            server.port, "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web-1", admin)
        assert status == 200
        pod = json.loads(body)
        [container] = pod["containers"]
        assert container["name"] == "app" and container["usage"]["memory"] == "100Mi"
        assert abs(_cores(container["usage"]["cpu"]) - 0.25) < 1e-6

        # anonymous: 403 with upstream's message, but probes are always allowed
        status, body = await _get(server.port, "/apis/metrics.k8s.io/v1beta1/nodes", anon)
        assert status == 403
        assert json.loads(body)["message"] == (
            'nodes.metrics.k8s.io is forbidden: User "system:anonymous" cannot list resource '
            '"nodes" in API group "metrics.k8s.io" at the cluster scope')
        status, body = await _get(server.port, "/metrics", anon)
        assert status == 403
        assert json.loads(body)["message"] == (
            'forbidden: User "system:anonymous" cannot get path "/metrics"')
        status, body = await _get(server.port, "/metrics", admin)
        assert status == 200 and "metrics_server_kubelet_request_total" in body

        # forged identity headers without the front-proxy certificate are ignored
        status, _ = await _get(server.port, "/apis/metrics.k8s.io/v1beta1/nodes", anon,
                               {"X-Remote-User": "admin", "X-Remote-Group": "system:masters"})
        assert status == 403

        # the front proxy may assert identities
        proxy = _client_ctx(apiserver)
        d = Path(apiserver.state_dir)
        proxy.load_cert_chain(d / "front-proxy-client.crt", d / "front-proxy-client.key")
        status, _ = await _get(server.port, "/apis/metrics.k8s.io/v1beta1/nodes", proxy,
                               {"X-Remote-User": "root", "X-Remote-Group": "system:masters"})
        assert status == 200
        status, body = await _get(server.port, "/apis/metrics.k8s.io/v1beta1/nodes", proxy,
                                  {"X-Remote-User": "alice"})
        assert status == 403 and 'User \\"alice\\" cannot list' in body

        # bearer tokens: TokenReview at the core API server, then SubjectAccessReview
        from fakeapiserver.rbac import UserInfo as CoreUser

        apiserver.authenticator.add_token("root-token", CoreUser("root", groups=(
            "system:masters",)))
        apiserver.authenticator.add_token("bob-token", CoreUser("bob"))
        status, _ = await _get(server.port, "/apis/metrics.k8s.io/v1beta1/nodes", anon,
                               {"Authorization": "Bearer root-token"})
        assert status == 200
        status, body = await _get(server.port, "/apis/metrics.k8s.io/v1beta1/nodes", anon,
                                  {"Authorization": "Bearer bob-token"})
        assert status == 403 and 'User \\"bob\\" cannot list' in body
        status, body = await _get(server.port, "/apis/metrics.k8s.io/v1beta1/nodes", anon,
                                  {"Authorization": "Bearer wrong"})
        assert status == 401 and json.loads(body) == {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
        # klog.ErrorS(err, ...) in k8s.io/apiserver's authentication filter
        assert re.search(r'^E\d{4} [\d:.]+ +\d+ authentication\.go:73\] "Unable to '
                         r'authenticate the request" err="invalid bearer token"$',
                         stream.getvalue(), re.M)
        # a bad token is refused even on always-allowed paths (authentication comes first)
        status, _ = await _get(server.port, "/livez", anon, {"Authorization": "Bearer wrong"})
        assert status == 401

        # the caller's Audit-ID is kept (the aggregator forwards one)
        async with aiohttp.ClientSession() as session, session.get(
            f"https://127.0.0.1:{server.port}/livez", ssl=anon,
            headers={"Audit-ID": "caller-audit-id"}) as resp:
            assert resp.headers["Audit-Id"] == "caller-audit-id"
        assert 'audit-ID="caller-audit-id"' in stream.getvalue()

        # discovery and watch refusal
        status, body = await _get(server.port, "/apis/metrics.k8s.io/v1beta1", admin)
        assert status == 200 and json.loads(body)["kind"] == "APIResourceList"
        status, body = await _get(server.port, "/apis/metrics.k8s.io/v1beta1/pods?watch=true",
                                  admin)
        assert status == 405

        logs = stream.getvalue()
        assert '"HTTP" verb="LIST" URI="/apis/metrics.k8s.io/v1beta1/nodes" latency=' in logs
        assert ' audit-ID="' in logs and ' srcIP="127.0.0.1:' in logs and " resp=200" in logs
        assert '"HTTP" verb="GET" URI="/readyz' in logs
    finally:
        await server.stop()
        for runner in runners:
            await runner.cleanup()
    assert server.stopped.is_set()


async def test_bind_text() -> None:
    assert bind_text("0.0.0.0", 10250) == "[::]:10250"
    assert bind_text("", 443) == "[::]:443"
    assert bind_text("127.0.0.1", 4443) == "127.0.0.1:4443"
    assert bind_text("::1", 4443) == "[::1]:4443"


async def test_bind_failure_is_a_startup_error(apiserver: APIServer, tmp_path: Path) -> None:
    from metricsd.options import StartupError

    port = free_port()
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
    try:
        server = MetricsServer(_options(apiserver, tmp_path, secure_port=port),
                               clock=VirtualClock(), log=klog.Logger(stream=io.StringIO()),
                               process_metrics=False)
        with pytest.raises(StartupError) as info:
            await server.start()
        assert str(info.value) == (
            f"failed to create listener: failed to listen on 127.0.0.1:{port}: "
            f"listen tcp 127.0.0.1:{port}: bind: address already in use")
        await server.stop()
    finally:
        blocker.close()
        await blocker.wait_closed()
