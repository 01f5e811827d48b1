"""APIService availability: every reason and message, the controller's cadence, proxy headers."""

from __future__ import annotations

import asyncio
import ssl

import pytest
import trustme
from aiohttp import web

from fakeapiserver.aggregation import (
    PROBE_PARALLELISM,
    AvailabilityController,
    DiscoveryProber,
    ObjectReader,
    available_condition,
    check_apiservice,
)
from fakeapiserver.proxy import (
    canonical_header_key,
    forward_headers,
    header_key_escape,
    identity_headers,
)
from fakeapiserver.rbac import UserInfo
from fakeapiserver.store import Store

APISERVICE = "v1beta1.metrics.k8s.io"
API = "apiservices.apiregistration.k8s.io"


def make_store(port: int = 4443, address: str = "127.0.0.1", ready: bool = True) -> Store:
    store = Store()
    store.create("namespaces", {"metadata": {"name": "kube-system"}})
    store.create(API, {"metadata": {"name": APISERVICE}, "spec": {
        "group": "metrics.k8s.io", "version": "v1beta1", "insecureSkipTLSVerify": True,
        "groupPriorityMinimum": 100, "versionPriority": 100,
        "service": {"namespace": "kube-system", "name": "metrics-server"}}})
    return store


def add_service(store: Store, port: int = 443, name: str = "https") -> None:
    store.create("services", {"metadata": {"name": "metrics-server", "namespace": "kube-system"},
                              "spec": {"ports": [{"name": name, "port": port,
                                                  "targetPort": "https"}]}})


def add_endpoints(store: Store, address: str, port: int, ready: bool = True,
                  port_name: str = "https") -> None:
    key = "addresses" if ready else "notReadyAddresses"
    store.create("endpoints", {"metadata": {"name": "metrics-server", "namespace": "kube-system"},
                               "subsets": [{key: [{"ip": address}],
                                            "ports": [{"name": port_name, "port": port}]}]})


def add_slice(store: Store, address: str, port: int, ready: bool = True) -> None:
    store.create("endpointslices.discovery.k8s.io", {
        "metadata": {"name": "metrics-server-abcde", "namespace": "kube-system",
                     "labels": {"kubernetes.io/service-name": "metrics-server"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": ready}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}]})


async def ok_prober(url: str) -> str | None:
    return None


async def check(store: Store, slices: bool = False, prober=ok_prober) -> tuple[str, str, str]:
    obj = store.get(API, APISERVICE)
    r = await check_apiservice(obj, ObjectReader(store), prober, slices)
    return r.status, r.reason, r.message


async def test_reasons_in_order_endpoints() -> None:
    store = make_store()
    assert await check(store) == ("False", "ServiceNotFound",
                                  'service/metrics-server in "kube-system" is not present')
    add_service(store, port=444)
    assert await check(store) == ("False", "ServicePortError",
                                  'service/metrics-server in "kube-system" is not listening on '
                                  "port 443")
    store.delete("services", "metrics-server", "kube-system")
    add_service(store)
    assert await check(store) == ("False", "EndpointsNotFound",
                                  'cannot find endpoints for service/metrics-server in '
                                  '"kube-system"')
    add_endpoints(store, "127.0.0.1", 4443, ready=False)
    assert await check(store) == ("False", "MissingEndpoints",
                                  'endpoints for service/metrics-server in "kube-system" have no '
                                  'addresses with port name "https"')
    store.delete("endpoints", "metrics-server", "kube-system")
    add_endpoints(store, "127.0.0.1", 4443)
    assert await check(store) == ("True", "Passed", "all checks passed")
    seen: list[str] = []

    async def refusing(url: str) -> str | None:
        seen.append(url)
        return "boom"

    status, reason, message = await check(store, prober=refusing)
    assert (status, reason) == ("False", "FailedDiscoveryCheck")
    assert message == ("failing or missing response from "
                       "https://127.0.0.1:4443/apis/metrics.k8s.io/v1beta1: boom")
    assert len(seen) == 5  # five parallel probes, as upstream


async def test_reasons_endpointslices_variant() -> None:
    store = make_store()
    add_service(store)
    assert await check(store, slices=True) == (
        "False", "EndpointsNotFound",
        'cannot find endpointslices for service/metrics-server in "kube-system"')
    add_slice(store, "127.0.0.1", 4443, ready=False)
    assert await check(store, slices=True) == (
        "False", "MissingEndpoints",
        'endpointslices for service/metrics-server in "kube-system" have no addresses with '
        'port name "https"')


async def test_local_apiservice() -> None:
    store = Store()
    store.create(API, {"metadata": {"name": "v1.apps"}, "spec": {"group": "apps",
                                                                 "version": "v1"}})
    obj = store.get(API, "v1.apps")
    r = await check_apiservice(obj, ObjectReader(store), ok_prober, False)
    assert (r.status, r.reason, r.message) == ("True", "Local",
                                               "Local APIServices are always available")


# ------------------------------------------------------------------------- the real prober


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


async def serve(ca: trustme.CA, handler) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = runner.addresses[0][1]
    return runner, port


async def test_prober_messages(ca: trustme.CA) -> None:
    seen: list[dict] = []

    async def forbidden(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(status=403)

    runner, port = await serve(ca, forbidden)
    try:
        prober = DiscoveryProber(None)
        url = f"https://127.0.0.1:{port}/apis/metrics.k8s.io/v1beta1"
        assert await prober(url) == f"bad status from {url}: 403"
        assert seen[0]["X-Remote-User"] == "system:kube-aggregator"
        assert seen[0]["X-Remote-Group"] == "system:masters"
    finally:
        await runner.cleanup()
    # the port is closed now
    assert await prober(url) == (f'Get "{url}": dial tcp 127.0.0.1:{port}: connect: '
                                 "connection refused")
    # never dial outside loopback
    far = "https://10.1.2.3:443/apis/metrics.k8s.io/v1beta1"
    assert await prober(far) == (f'Get "{far}": dial tcp 10.1.2.3:443: connect: network is '
                                 "unreachable")
    await prober.close()


async def test_prober_keeps_connections_alive_like_the_aggregators_transport(
    ca: trustme.CA,
) -> None:
    """Five parallel probes per check, check after check, over the same connections: a TLS
    handshake only when the backend closed them (upstream: one client-go transport)."""
    peers: set[tuple[str, int]] = set()

    async def ok(request: web.Request) -> web.Response:
        peers.add(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        return web.Response(text="{}")

    runner, port = await serve(ca, ok)
    prober = DiscoveryProber(None)
    url = f"https://127.0.0.1:{port}/apis/metrics.k8s.io/v1beta1"
    try:
        for _ in range(3):
            results = await asyncio.gather(*(prober(url) for _ in range(PROBE_PARALLELISM)))
            assert results == [None] * PROBE_PARALLELISM
        assert 1 <= len(peers) <= PROBE_PARALLELISM  # 15 probes, at most 5 connections
    finally:
        await runner.cleanup()
    # the backend went away: its connections are gone with it, the next probe dials again
    assert await prober(url) == (f'Get "{url}": dial tcp 127.0.0.1:{port}: connect: '
                                 "connection refused")
    await prober.close()


async def test_prober_timeout(ca: trustme.CA) -> None:
    gate = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await gate.wait()
        return web.Response()

    runner, port = await serve(ca, hang)
    try:
        prober = DiscoveryProber(None, timeout=0.2)
        url = f"https://127.0.0.1:{port}/apis/metrics.k8s.io/v1beta1"
        assert await prober(url) == (f'Get "{url}": context deadline exceeded '
                                     "(Client.Timeout exceeded while awaiting headers)")
    finally:
        gate.set()
        await prober.close()
        await runner.cleanup()


# --------------------------------------------------------------------------- the controller


class FakeSleep:
    """Sleeps that only end when the test releases them (no real waiting)."""

    def __init__(self) -> None:
        self.waiting: list[tuple[float, asyncio.Future[None]]] = []

    async def __call__(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((seconds, fut))
        await fut

    def release(self, seconds: float) -> None:
        for s, fut in list(self.waiting):
            if s == seconds and not fut.done():
                fut.set_result(None)
                self.waiting.remove((s, fut))


async def test_controller_writes_only_on_change_and_follows_endpoints() -> None:
    store = make_store()
    add_service(store)
    sleep = FakeSleep()
    results: list[str | None] = ["no"]

    async def prober(url: str) -> str | None:
        return results[0]

    ctl = AvailabilityController(store, prober, sleep=sleep, now=lambda: 1_700_000_000.0)
    ctl.start()
    try:
        await ctl.wait_idle()
        cond = available_condition(store.get(API, APISERVICE))
        assert cond is not None and cond["reason"] == "EndpointsNotFound"
        rv = store.get(API, APISERVICE)["metadata"]["resourceVersion"]
        await ctl.sync(APISERVICE)  # same result: no write
        assert store.get(API, APISERVICE)["metadata"]["resourceVersion"] == rv
        add_endpoints(store, "127.0.0.1", 4443)  # an Endpoints event re-checks
        await ctl.wait_idle()
        cond = available_condition(store.get(API, APISERVICE))
        assert cond is not None and cond["reason"] == "FailedDiscoveryCheck"
        assert cond["message"].endswith(": no")
        results[0] = None
        sleep.release(30.0)  # the periodic resync
        await asyncio.sleep(0)
        await ctl.wait_idle()
        cond = available_condition(store.get(API, APISERVICE))
        assert cond is not None and (cond["status"], cond["reason"]) == ("True", "Passed")
    finally:
        await ctl.stop()


# ---------------------------------------------------------------------------- proxy headers


def test_header_escaping_like_client_go() -> None:
    assert header_key_escape("authentication.kubernetes.io/pod-name") == (
        "authentication.kubernetes.io%2Fpod-name")
    assert header_key_escape("a%b") == "a%25b"
    assert canonical_header_key("X-Remote-Extra-authentication.kubernetes.io%2Fpod-name") == (
        "X-Remote-Extra-Authentication.kubernetes.io%2fpod-Name")


def test_forward_headers_strip_and_set_identity() -> None:
    user = UserInfo("alice", uid="u-1", groups=("devs", "system:authenticated"),
                    extra={"scopes": ["a", "b"]})
    incoming = [("Authorization", "Bearer secret"), ("X-Remote-User", "admin"),
                ("X-Remote-Group", "system:masters"), ("x-remote-extra-forged", "1"),
                ("Impersonate-User", "root"), ("Accept", "application/json"),
                ("Host", "127.0.0.1:6443"), ("Connection", "keep-alive")]
    out = forward_headers(incoming, user, "127.0.0.9")
    assert "Authorization" not in out
    assert out.getall("X-Remote-User") == ["alice"]
    assert out.getall("X-Remote-Group") == ["devs", "system:authenticated"]
    assert out.getall("X-Remote-Extra-Scopes") == ["a", "b"]
    assert "X-Remote-Extra-Forged" not in out and "Impersonate-User" not in out
    assert "X-Remote-Uid" not in out
    assert out["Accept"] == "application/json"
    assert out["X-Forwarded-For"] == "127.0.0.9"
    assert "Host" not in out and "Connection" not in out
    assert ("X-Remote-Uid", "u-1") in identity_headers(user, with_uid=True)
