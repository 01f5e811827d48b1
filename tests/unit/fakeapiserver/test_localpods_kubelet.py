"""Local-process pods: probes, readiness → Endpoints, crash back-off, logs (virtual clock)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from fakeapiserver.localpods import (
    BackOff,
    EndpointsController,
    LocalPods,
    ProbeResult,
    ProbeSpec,
    http_probe,
)
from fakeapiserver.store import Store
from metricsd.clock import VirtualClock

PY = sys.executable


def pod_spec(name: str = "ms", readiness: bool = True, liveness: bool = False) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "metrics-server", "image": "metricsd:dev",
        "ports": [{"name": "https", "containerPort": 4443, "protocol": "TCP"}]}
    if readiness:
        container["readinessProbe"] = {"httpGet": {"path": "/readyz", "port": "https",
                                                   "scheme": "HTTPS"},
                                       "initialDelaySeconds": 20, "periodSeconds": 10,
                                       "failureThreshold": 3}
    if liveness:
        container["livenessProbe"] = {"httpGet": {"path": "/livez", "port": "https",
                                                  "scheme": "HTTPS"},
                                      "periodSeconds": 10, "failureThreshold": 3}
    return {"metadata": {"name": name, "namespace": "kube-system",
                         "labels": {"k8s-app": "metrics-server"}},
            "spec": {"containers": [container]}}


def make_store() -> Store:
    store = Store()
    store.create("namespaces", {"metadata": {"name": "kube-system"}})
    store.create("services", {"metadata": {"name": "metrics-server", "namespace": "kube-system"},
                              "spec": {"selector": {"k8s-app": "metrics-server"},
                                       "ports": [{"name": "https", "port": 443,
                                                  "targetPort": "https"}]}})
    return store


async def until(local: Any, pred: Callable[[], bool]) -> None:
    """Wait for status writes until ``pred`` holds (bounded as a safety net only)."""
    async def loop() -> None:
        while not pred():
            await local.wait_changed()
    await asyncio.wait_for(loop(), 30)


def events(store: Store, reason: str) -> list[dict[str, Any]]:
    return [e for e in store.list("events", "kube-system") if e["reason"] == reason]


def test_probe_spec_from_manifest() -> None:
    spec = ProbeSpec.from_probe(pod_spec()["spec"]["containers"][0]["readinessProbe"],
                                pod_spec()["spec"]["containers"][0], "127.0.0.7")
    assert spec == ProbeSpec("https://127.0.0.7:4443/readyz", 20.0, 10.0, 1.0, 3, 1)
    assert ProbeSpec.from_probe({"exec": {"command": ["true"]}}, {}, "127.0.0.1") is None


def test_backoff_sequence_and_reset() -> None:
    b = BackOff()
    assert b.delay_after_exit(0.0) == 0.0  # first crash: restart at once
    assert b.delay_after_exit(1.0) == 10.0
    b.advance(11.0)
    assert b.delay_after_exit(12.0) == 20.0
    for _ in range(10):
        b.advance(13.0)
    assert b.delay_after_exit(14.0) == 300.0  # capped
    assert b.delay_after_exit(14.0 + 601) == 0.0  # 10 minutes without a crash: forgotten


async def test_readiness_failing_keeps_pod_unready_and_endpoints_not_ready() -> None:
    store = make_store()
    clock = VirtualClock()
    results = [ProbeResult(False, "HTTP probe failed with statuscode: 500")]
    urls: list[str] = []

    async def prober(url: str, timeout: float) -> ProbeResult:
        urls.append(url)
        return results[0]

    endpoints = EndpointsController(store)
    endpoints.start()
    pods = LocalPods(store, clock, prober)
    local = pods.add(pod_spec(), [PY, "-c", "import time; print('serving', flush=True); "
                                           "time.sleep(120)"], pod_ip="127.0.0.7")
    try:
        await until(local, lambda: local.state.running_since is not None)
        pod = store.get("pods", "ms", "kube-system")
        assert pod["status"]["phase"] == "Running"
        assert pod["status"]["podIP"] == "127.0.0.7"
        cs = pod["status"]["containerStatuses"][0]
        assert (cs["ready"], cs["started"], cs["restartCount"]) == (False, True, 0)
        assert "running" in cs["state"]
        ep = store.get("endpoints", "metrics-server", "kube-system")
        assert ep["subsets"][0]["notReadyAddresses"][0]["ip"] == "127.0.0.7"
        assert ep["subsets"][0]["ports"] == [{"name": "https", "port": 4443, "protocol": "TCP"}]
        await clock.advance(20)  # initialDelaySeconds
        await clock.advance(10)
        await clock.advance(10)
        assert urls[0] == "https://127.0.0.7:4443/readyz"
        unhealthy = events(store, "Unhealthy")
        assert len(unhealthy) == 1
        assert unhealthy[0]["message"] == (
            "Readiness probe failed: HTTP probe failed with statuscode: 500")
        assert unhealthy[0]["count"] == 3 and unhealthy[0]["type"] == "Warning"
        assert unhealthy[0]["source"] == {"component": "kubelet"}
        # the probe starts passing: Ready, and the endpoint address becomes ready
        results[0] = ProbeResult(True)
        await clock.advance(10)
        await until(local, lambda: local.state.ready)
        pod = store.get("pods", "ms", "kube-system")
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        assert ready["Ready"] == "True" and ready["ContainersReady"] == "True"
        ep = store.get("endpoints", "metrics-server", "kube-system")
        assert ep["subsets"][0]["addresses"][0]["ip"] == "127.0.0.7"
        assert "notReadyAddresses" not in ep["subsets"][0]
        sl = store.list("endpointslices.discovery.k8s.io", "kube-system")[0]
        assert sl["endpoints"][0]["conditions"]["ready"] is True
        # failureThreshold failures in a row: unready again
        results[0] = ProbeResult(False, "HTTP probe failed with statuscode: 500")
        for _ in range(3):
            await clock.advance(10)
        await until(local, lambda: not local.state.ready)
        ep = store.get("endpoints", "metrics-server", "kube-system")
        assert ep["subsets"][0]["notReadyAddresses"][0]["ip"] == "127.0.0.7"
    finally:
        await pods.stop()
        endpoints.stop()


async def test_crashing_process_backs_off_into_crashloop() -> None:
    store = make_store()
    clock = VirtualClock()
    pods = LocalPods(store, clock)
    script = "import sys; print('starting', flush=True); print('fatal: boom', flush=True); " \
             "sys.exit(3)"
    local = pods.add(pod_spec("crash", readiness=False), [PY, "-c", script])
    try:
        # first exit → restarted at once (restartCount 1); second exit → CrashLoopBackOff 10s
        await until(local, lambda: local.exits >= 2 and local.state.waiting_reason ==
                    "CrashLoopBackOff")
        pod = store.get("pods", "crash", "kube-system")
        cs = pod["status"]["containerStatuses"][0]
        assert cs["restartCount"] == 1
        assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        assert cs["state"]["waiting"]["message"] == (
            f"back-off 10s restarting failed container=metrics-server pod={local.pod_ref}")
        assert cs["lastState"]["terminated"]["exitCode"] == 3
        assert cs["lastState"]["terminated"]["reason"] == "Error"
        assert cs["ready"] is False
        backoff = events(store, "BackOff")
        assert backoff[0]["message"] == (f"Back-off restarting failed container metrics-server "
                                         f"in pod crash_kube-system({local.uid})")
        await clock.advance(10)
        await until(local, lambda: local.exits >= 3 and local.state.waiting_reason ==
                    "CrashLoopBackOff")
        cs = store.get("pods", "crash", "kube-system")["status"]["containerStatuses"][0]
        assert cs["restartCount"] == 2
        assert "back-off 20s" in cs["state"]["waiting"]["message"]
        assert events(store, "BackOff")[0]["count"] == 2
        assert local.previous_logs is not None
        assert local.previous_logs.render() == "starting\nfatal: boom\n"
        assert local.previous_logs.render(tail=1) == "fatal: boom\n"
    finally:
        await pods.stop()


async def test_liveness_failures_restart_the_container() -> None:
    store = make_store()
    clock = VirtualClock()

    async def prober(url: str, timeout: float) -> ProbeResult:
        if url.endswith("/livez"):
            return ProbeResult(False, "HTTP probe failed with statuscode: 500")
        return ProbeResult(True)

    pods = LocalPods(store, clock, prober)
    local = pods.add(pod_spec("live", readiness=False, liveness=True),
                     [PY, "-c", "import time; time.sleep(120)"], grace_seconds=5)
    try:
        await until(local, lambda: local.state.running_since is not None)
        for _ in range(3):
            await clock.advance(10)
        await until(local, lambda: local.exits >= 1 and local.state.running_since is not None)
        assert local.state.restart_count == 1
        assert events(store, "Killing")[0]["message"] == (
            "Container metrics-server failed liveness probe, will be restarted")
        assert events(store, "Unhealthy")[0]["message"].startswith("Liveness probe failed: ")
    finally:
        await pods.stop()


async def test_http_probe_texts() -> None:
    async def failing(request: web.Request) -> web.Response:
        return web.Response(status=500, text="not ready")

    async def ok(request: web.Request) -> web.Response:
        return web.Response(status=200)

    app = web.Application()
    app.router.add_get("/readyz", failing)
    app.router.add_get("/ok", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await http_probe(f"http://127.0.0.1:{port}/ok", 1) == ProbeResult(True)
        assert await http_probe(f"http://127.0.0.1:{port}/readyz", 1) == ProbeResult(
            False, "HTTP probe failed with statuscode: 500")
    finally:
        await runner.cleanup()
    url = f"http://127.0.0.1:{port}/readyz"
    assert await http_probe(url, 1) == ProbeResult(
        False, f'Get "{url}": dial tcp 127.0.0.1:{port}: connect: connection refused')


@pytest.mark.parametrize("tail", [None, 0, 1, 5])
def test_log_tail(tail: int | None) -> None:
    from fakeapiserver.localpods import LogBuffer

    buf = LogBuffer()
    for i in range(3):
        buf.append(1_700_000_000.0 + i, f"line {i}")
    lines = ["line 0\n", "line 1\n", "line 2\n"]
    want = lines if tail is None else (lines[-tail:] if tail else [])
    assert buf.render(tail) == "".join(want)
    assert buf.render(1, timestamps=True) == "2023-11-14T22:13:22.000000000Z line 2\n"
