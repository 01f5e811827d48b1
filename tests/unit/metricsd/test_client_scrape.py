"""Kubelet client and scrape cycle: address/port/path tables, the kubelet_client.go matrix,
stagger, timeouts, failure log lines, self-metric calls and the Go-ticker loop, against small
aiohttp kubelets."""

from __future__ import annotations

import asyncio
import random
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme
from aiohttp import web

from metricsd.clock import RealClock, VirtualClock
from metricsd.kubeconfig import RestConfig
from metricsd.scraper.addresses import (
    NoAddressError,
    join_host_port,
    kubelet_port,
    metrics_path,
    node_address,
)
from metricsd.scraper.client import (
    KubeletClient,
    KubeletClientConfig,
    KubeletRequestError,
    kubelet_client_config,
)
from metricsd.scraper.scraper import ScrapeLoop, Scraper, go_duration, stagger_bound_ms

PAYLOAD = """\
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 45.25 1711467601200
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 1.048576e+08 1711467601200
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="app",namespace="default",pod="web"} 1.711460000123e+09
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 1200.5 1711467600000
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 1.932193792e+09 1711467600000
"""  # noqa: E501


@dataclass
class Node:
    name: str
    addresses: Sequence[tuple[str, str]] = ()
    daemon_port: int = 0
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Recorder:
    requests: list[tuple[str, bool]] = field(default_factory=list)
    ticks: list[float] = field(default_factory=list)

    def kubelet_request(self, node: str, duration_s: float, success: bool, now: float) -> None:
        assert now == int(now)
        self.requests.append((node, success))

    def tick(self, duration_s: float) -> None:
        self.ticks.append(duration_s)


class Logs:
    def __init__(self) -> None:
        self.lines: list[tuple[int, str, dict[str, Any]]] = []

    def __call__(self, level: int, msg: str, /, **kv: Any) -> None:
        self.lines.append((level, msg, kv))

    def messages(self, msg: str) -> list[dict[str, Any]]:
        return [kv for _, m, kv in self.lines if m == msg]


# ---------------------------------------------------------------- address / port / path tables

ADDRS = [("InternalIP", "10.0.0.1"), ("Hostname", "node-a"), ("InternalIP", "10.0.0.2"),
         ("ExternalIP", "1.2.3.4")]


@pytest.mark.parametrize(
    ("preferred", "expected"),
    [
        (["InternalIP", "ExternalIP", "Hostname"], "10.0.0.1"),
        (["Hostname", "InternalDNS", "InternalIP"], "node-a"),
        (["ExternalIP"], "1.2.3.4"),
        (["InternalDNS", "ExternalIP"], "1.2.3.4"),
    ],
)
def test_address_priority(preferred: list[str], expected: str) -> None:
    assert node_address(ADDRS, preferred) == expected


def test_no_address_matched_text() -> None:
    with pytest.raises(NoAddressError) as info:
        node_address([("Hostname", "x")], ["InternalIP", "ExternalIP", "Hostname"][:2])
    assert str(info.value) == "no address matched types [InternalIP ExternalIP]"
    with pytest.raises(NoAddressError) as info:
        node_address([], ["InternalIP", "ExternalIP", "Hostname"])
    assert str(info.value) == "no address matched types [InternalIP ExternalIP Hostname]"


@pytest.mark.parametrize(
    ("daemon", "default", "use", "expected"),
    [(0, 10250, True, 10250), (10255, 10250, True, 10255), (10255, 10250, False, 10250),
     (0, 1234, False, 1234)],
)
def test_port_rule(daemon: int, default: int, use: bool, expected: int) -> None:
    assert kubelet_port(daemon, default, use) == expected


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [({}, "/metrics/resource"),
     ({"metrics.k8s.io/resource-metrics-path": ""}, "/metrics/resource"),
     ({"metrics.k8s.io/resource-metrics-path": "/n1/metrics"}, "/n1/metrics")],
)
def test_path_rule(annotations: dict[str, str], expected: str) -> None:
    assert metrics_path(annotations) == expected


def test_ipv6_is_bracketed() -> None:
    assert join_host_port("fd00::1", 10250) == "[fd00::1]:10250"
    assert join_host_port("10.0.0.1", 10250) == "10.0.0.1:10250"


# ------------------------------------------------------- kubelet_client.go matrix

BASE = RestConfig(host="https://api", ca_file="/ca", cert_file="/c", key_file="/k",
                  bearer_token="tok")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({}, ("https", False, "/ca", "/c", "tok")),
        ({"insecure_tls": True}, ("https", True, "", "/c", "tok")),
        ({"certificate_authority": "/kca"}, ("https", False, "/kca", "/c", "tok")),
        ({"client_certificate": "/kc", "client_key": "/kk"},
         ("https", False, "/ca", "/kc", "tok")),
        ({"completely_insecure": True}, ("http", False, "", "", "")),
    ],
)
def test_tls_auth_matrix(flags: dict[str, Any], expected: tuple[Any, ...]) -> None:
    cfg = kubelet_client_config(BASE, **flags)
    assert (cfg.scheme, cfg.insecure, cfg.ca_file, cfg.cert_file, cfg.token()) == expected


# ---------------------------------------------------------------- stagger, durations

@pytest.mark.parametrize(("nodes", "bound"), [(0, 0), (1, 8), (100, 800), (500, 4000),
                                              (5000, 4000)])
def test_stagger_bound(nodes: int, bound: int) -> None:
    assert stagger_bound_ms(nodes) == bound


@pytest.mark.parametrize(("seconds", "text"), [
    (10, "10s"), (60, "1m0s"), (0.03183941, "31.83941ms"), (1.5, "1.5s"), (0.0007, "700µs"),
    (0, "0s")])
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


# ---------------------------------------------------------------- against aiohttp kubelets

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def kubelet() -> AsyncIterator[Callable[..., Awaitable[int]]]:
    runners: list[web.AppRunner] = []

    async def start(handler: Handler, ctx: ssl.SSLContext | None = None,
                    path: str = "/metrics/resource") -> int:
        app = web.Application()
        app.router.add_get(path, handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        runners.append(runner)
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    yield start
    for runner in runners:
        await runner.cleanup()


def _node(name: str, port: int, **kw: Any) -> Node:
    return Node(name, [("InternalIP", "127.0.0.1")], daemon_port=port, **kw)


def _scraper(config: KubeletClientConfig, nodes: list[Node], clock: Any,
             logs: Logs, recorder: Recorder | None = None, seed: int = 1) -> Scraper:
    client = KubeletClient(config, clock)
    return Scraper(client, lambda: nodes, clock=clock, rng=random.Random(seed),
                   recorder=recorder, log=logs)


HTTP = KubeletClientConfig(scheme="http", use_node_status_port=True,
                           preferred_address_types=("InternalIP",), user_agent="ua/1")


async def test_scrape_success_headers_and_metrics(kubelet) -> None:
    seen: list[Mapping[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(text=PAYLOAD)

    port = await kubelet(handler)
    logs, rec = Logs(), Recorder()
    scraper = _scraper(HTTP, [_node("n1", port)], RealClock(), logs, rec)
    try:
        batch = await scraper.scrape()
    finally:
        await scraper.client.close()
    assert list(batch.nodes) == ["n1"]
    assert list(batch.pods) == [("default", "web")]
    assert rec.requests == [("n1", True)]
    assert seen[0]["User-Agent"] == "ua/1"
    assert "Authorization" not in seen[0]
    assert seen[0]["Accept-Encoding"] == "gzip"
    assert logs.messages("Scraping metrics from nodes") == [
        {"nodes": ["n1"], "nodeCount": 1, "nodeSelector": ""}]
    assert logs.messages("Scraping node") == [{"node": "n1"}]
    finished = logs.messages("Scrape finished")[0]
    assert (finished["nodeCount"], finished["podCount"]) == (1, 1)


async def test_bearer_token_and_annotation_path(kubelet) -> None:
    auths: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        auths.append(request.headers.get("Authorization", ""))
        return web.Response(text=PAYLOAD)

    port = await kubelet(handler, path="/custom/n1")
    cfg = KubeletClientConfig(scheme="https", insecure=True, use_node_status_port=True,
                              preferred_address_types=("InternalIP",), bearer_token="sekret")
    ca = trustme.CA()
    sctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(sctx)
    port = await kubelet(handler, sctx, path="/custom/n1")
    node = _node("n1", port, annotations={"metrics.k8s.io/resource-metrics-path": "/custom/n1"})
    logs = Logs()
    scraper = _scraper(cfg, [node], RealClock(), logs)
    try:
        batch = await scraper.scrape()
    finally:
        await scraper.client.close()
    assert list(batch.nodes) == ["n1"]
    assert auths == ["Bearer sekret"]


async def test_token_file_is_reread_at_most_once_a_minute(kubelet, tmp_path) -> None:
    """client-go caches a token file for a minute: a rotated token is used after that."""
    auths: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        auths.append(request.headers.get("Authorization", ""))
        return web.Response(text=PAYLOAD)

    ca = trustme.CA()
    sctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(sctx)
    port = await kubelet(handler, sctx)
    token_file = tmp_path / "token"
    token_file.write_text("first\n")
    cfg = KubeletClientConfig(scheme="https", insecure=True, use_node_status_port=True,
                              preferred_address_types=("InternalIP",),
                              bearer_token_file=str(token_file))
    clock = VirtualClock()
    client = KubeletClient(cfg, clock)
    url = f"https://127.0.0.1:{port}/metrics/resource"
    try:
        await client.get(url, "127.0.0.1", port)
        token_file.write_text("second\n")
        await clock.advance(59.0)
        await client.get(url, "127.0.0.1", port)
        await clock.advance(1.0)
        await client.get(url, "127.0.0.1", port)
        assert client.idle_connections() == 1  # one kept-alive connection for all three
    finally:
        await client.close()
    assert auths == ["Bearer first", "Bearer first", "Bearer second"]


ANY_PATH = "/{tail:.*}"  # an aiohttp route that takes every path


async def test_redirects_are_followed_as_go_does(kubelet) -> None:
    """Go's client follows redirects (token kept for the same host); the tenth is refused."""
    seen: list[tuple[str, str]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append((request.path, request.headers.get("Authorization", "")))
        if request.path == "/metrics/resource":
            raise web.HTTPFound("/moved")
        if request.path == "/moved":
            raise web.HTTPTemporaryRedirect(f"http://localhost:{request.url.port}/final")
        if request.path.startswith("/loop"):
            raise web.HTTPFound(f"/loop{int(request.path[5:] or 0) + 1}")
        return web.Response(text=PAYLOAD)

    port = await kubelet(handler, path=ANY_PATH)
    cfg = KubeletClientConfig(scheme="http", bearer_token="tok")
    client = KubeletClient(cfg, VirtualClock())
    try:
        resp = await client.get(f"http://127.0.0.1:{port}/metrics/resource", "127.0.0.1", port)
        assert resp.body == PAYLOAD.encode()
        with pytest.raises(KubeletRequestError) as info:
            await client.get(f"http://127.0.0.1:{port}/loop", "127.0.0.1", port)
    finally:
        await client.close()
    # plain http carries no token at all (completely insecure); the hops are Go's
    assert [path for path, _ in seen[:3]] == ["/metrics/resource", "/moved", "/final"]
    assert [path for path, _ in seen[3:]] == ["/loop", *(f"/loop{i}" for i in range(1, 10))]
    assert info.value.text == 'Get "/loop10": stopped after 10 redirects'


async def test_a_failing_redirect_target_is_named_in_the_error(kubelet) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"http://127.0.0.1:{closed_port}/gone")

    from fakekubelet.addresses import free_port

    closed_port = free_port()
    port = await kubelet(handler)
    client = KubeletClient(KubeletClientConfig(scheme="http"), VirtualClock())
    try:
        with pytest.raises(KubeletRequestError) as info:
            await client.get(f"http://127.0.0.1:{port}/metrics/resource", "127.0.0.1", port)
    finally:
        await client.close()
    assert info.value.text == (f'Get "http://127.0.0.1:{closed_port}/gone": dial tcp '
                               f'127.0.0.1:{closed_port}: connect: connection refused')


async def test_redirect_keeps_the_token_only_for_the_same_host(kubelet) -> None:
    auths: dict[str, str] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        auths[f"{request.host}{request.path}"] = request.headers.get("Authorization", "")
        if request.path == "/metrics/resource":
            raise web.HTTPFound("/same")
        if request.path == "/same":
            raise web.HTTPFound(f"https://localhost:{request.url.port}/other")
        return web.Response(text=PAYLOAD)

    ca = trustme.CA()
    sctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(sctx)
    port = await kubelet(handler, sctx, path=ANY_PATH)
    cfg = KubeletClientConfig(scheme="https", insecure=True, bearer_token="tok")
    client = KubeletClient(cfg, VirtualClock())
    try:
        await client.get(f"https://127.0.0.1:{port}/metrics/resource", "127.0.0.1", port)
    finally:
        await client.close()
    assert auths == {f"127.0.0.1:{port}/metrics/resource": "Bearer tok",
                     f"127.0.0.1:{port}/same": "Bearer tok",
                     f"localhost:{port}/other": ""}


@pytest.mark.parametrize(
    ("status", "reason", "text"),
    [(403, "Forbidden", 'request failed, status: "403 Forbidden"'),
     (401, "Unauthorized", 'request failed, status: "401 Unauthorized"'),
     (404, "Not Found", 'request failed, status: "404 Not Found"')],
)
async def test_non_200_status(kubelet, status: int, reason: str, text: str) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, reason=reason, text="no")

    port = await kubelet(handler)
    logs, rec = Logs(), Recorder()
    scraper = _scraper(HTTP, [_node("n1", port)], RealClock(), logs, rec)
    try:
        batch = await scraper.scrape()
    finally:
        await scraper.client.close()
    assert not batch.nodes
    assert logs.messages("Failed to scrape node") == [{"err": text, "node": "n1"}]
    assert rec.requests == [("n1", False)]


async def test_parse_error_fails_only_that_node(kubelet) -> None:
    async def bad(request: web.Request) -> web.Response:
        return web.Response(text="node_cpu_usage_seconds_total{ 1\n")

    async def good(request: web.Request) -> web.Response:
        return web.Response(text=PAYLOAD)

    p1, p2 = await kubelet(bad), await kubelet(good)
    logs = Logs()
    scraper = _scraper(HTTP, [_node("bad", p1), _node("good", p2)], RealClock(), logs)
    try:
        batch = await scraper.scrape()
    finally:
        await scraper.client.close()
    assert list(batch.nodes) == ["good"]
    [failed] = logs.messages("Failed to scrape node")
    assert failed["node"] == "bad" and failed["err"].startswith("failed parsing metrics: ")


async def test_no_address_counts_as_failed_request() -> None:
    logs, rec = Logs(), Recorder()
    node = Node("n1", [("Hostname", "n1")])
    cfg = KubeletClientConfig(preferred_address_types=("InternalIP", "ExternalIP"))
    scraper = _scraper(cfg, [node], RealClock(), logs, rec)
    batch = await scraper.scrape()
    await scraper.client.close()
    assert not batch.nodes
    assert logs.messages("Failed to scrape node") == [
        {"err": "no address matched types [InternalIP ExternalIP]", "node": "n1"}]
    assert rec.requests == [("n1", False)]


async def test_timeout_waiting_for_headers_uses_timeout_line(kubelet) -> None:
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text=PAYLOAD)

    port = await kubelet(hang)
    clock = VirtualClock()
    logs = Logs()
    scraper = _scraper(HTTP, [_node("slow", port)], clock, logs)
    task = asyncio.create_task(scraper.scrape())
    await clock.wait_for_sleepers(1)  # stagger sleep
    await clock.advance(0.01)
    await clock.wait_for_sleepers(1)  # request deadline
    await clock.advance(10)
    batch = await task
    release.set()
    await scraper.client.close()
    assert not batch.nodes
    assert logs.messages("Failed to scrape node, timeout to access kubelet") == [{
        "err": f'Get "http://127.0.0.1:{port}/metrics/resource": context deadline exceeded',
        "node": "slow", "timeout": "10s"}]


async def test_timeout_while_reading_body_is_generic(kubelet) -> None:
    release = asyncio.Event()

    async def trickle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.content_length = 10_000
        await resp.prepare(request)
        await resp.write(b"# partial\n")
        await release.wait()
        return resp

    port = await kubelet(trickle)
    clock = VirtualClock()
    logs = Logs()
    scraper = _scraper(HTTP, [_node("slow", port)], clock, logs)
    task = asyncio.create_task(scraper.scrape())
    await clock.wait_for_sleepers(1)
    await clock.advance(0.01)
    await clock.wait_for_sleepers(1)
    # let the headers arrive before the deadline passes
    for _ in range(200):
        await asyncio.sleep(0)
    await clock.advance(10)
    batch = await task
    release.set()
    await scraper.client.close()
    assert not batch.nodes
    lines = logs.messages("Failed to scrape node")
    assert lines == [{"err": "failed to read response body - context deadline exceeded",
                      "node": "slow"}]
    assert not logs.messages("Failed to scrape node, timeout to access kubelet")


async def test_stagger_delays_are_within_bound(kubelet) -> None:
    starts: list[float] = []
    clock = VirtualClock()

    async def handler(request: web.Request) -> web.Response:
        starts.append(clock.monotonic())
        return web.Response(text=PAYLOAD)

    port = await kubelet(handler)
    nodes = [_node(f"n{i}", port) for i in range(50)]
    logs = Logs()
    scraper = _scraper(HTTP, nodes, clock, logs, seed=7)
    task = asyncio.create_task(scraper.scrape())
    await clock.wait_for_sleepers(50)
    sleeping_until = sorted(d for d, _, f in clock._sleepers if not f.done())
    assert all(0 <= d < 0.4 for d in sleeping_until)  # 8ms x 50 = 400ms, exclusive
    assert len(set(sleeping_until)) > 10  # actually spread
    while not task.done():
        deadline = clock.next_deadline()
        if deadline is None:
            await asyncio.sleep(0)
            continue
        await clock.advance_to(min(deadline, 0.4))
        if clock.monotonic() >= 0.4:
            break
    batch = await task
    await scraper.client.close()
    assert len(batch.nodes) == 50
    assert all(s < 0.4 for s in starts)


async def test_duplicate_pods_first_wins_and_logged(kubelet) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=PAYLOAD)

    port = await kubelet(handler)
    logs = Logs()
    scraper = _scraper(HTTP, [_node("a", port), _node("b", port)], RealClock(), logs)
    batch = await scraper.scrape()
    await scraper.client.close()
    assert set(batch.nodes) == {"a", "b"}
    assert logs.messages("Got duplicate pod point") == [{"pod": "default/web"}]


# ---------------------------------------------------------------- ticker


class FakeScraper:
    """Stands in for Scraper in loop tests: each scrape takes ``durations[i]`` virtual seconds."""

    def __init__(self, clock: VirtualClock, durations: list[float]) -> None:
        self.clock = clock
        self.durations = durations
        self.started: list[float] = []

    async def scrape(self, deadline: float | None = None) -> Any:
        from metricsd.scraper.batch import MetricsBatch

        self.started.append(self.clock.monotonic())
        d = self.durations[len(self.started) - 1] if len(self.started) <= len(
            self.durations) else 0.0
        if d:
            await self.clock.sleep(d)
        return MetricsBatch()


async def _run_loop(durations: list[float], until: float) -> tuple[list[float], Logs, Recorder]:
    clock = VirtualClock()
    fake = FakeScraper(clock, durations)
    logs, rec = Logs(), Recorder()
    stored: list[Any] = []
    loop = ScrapeLoop(fake, stored.append, 15.0, clock=clock, recorder=rec,  # type: ignore[arg-type]
                      log=logs)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    while clock.monotonic() < until:
        await clock.wait_for_sleepers(1)
        nxt = clock.next_deadline()
        assert nxt is not None
        if nxt > until:
            break
        await clock.advance_to(nxt)
    stop.set()
    await task
    assert len(stored) == len(fake.started)
    return fake.started, logs, rec


async def test_ticker_first_tick_immediately_then_every_resolution() -> None:
    started, logs, rec = await _run_loop([1, 1, 1, 1], 46)
    assert started == [0, 15, 30, 45]
    assert rec.ticks == [1, 1, 1, 1]
    assert [m for _, m, _ in logs.lines][:3] == ["Scraping metrics", "Storing metrics",
                                                  "Scraping cycle complete"]


async def test_ticker_overrun_leaves_one_pending_tick() -> None:
    # the first tick takes 40s: ticks at 15 and 30 fire while busy; one is kept (15), 30 dropped
    started, _, rec = await _run_loop([40, 1, 1], 61)
    assert started == [0, 40, 45, 60]
    # tick duration is measured from the tick's own time (15), not from when it ran
    assert rec.ticks[:2] == [40, 26]


async def test_a_failing_cycle_does_not_stop_the_loop() -> None:
    clock = VirtualClock()
    fake = FakeScraper(clock, [])
    logs = Logs()
    calls: list[int] = []

    def store(batch: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")

    loop = ScrapeLoop(fake, store, 15.0, clock=clock, log=logs)  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await clock.wait_for_sleepers(1)
    await clock.advance(15)
    await clock.wait_for_sleepers(1)
    stop.set()
    await task
    assert len(calls) == 2
    assert logs.messages("Scrape cycle failed") == [{"err": "RuntimeError: boom"}]


async def test_v6_round_tripper_trace(kubelet) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=403, reason="Forbidden", text="no")

    port = await kubelet(handler)
    traces: list[str] = []
    client = KubeletClient(HTTP, RealClock(), traces.append)
    url = f"http://127.0.0.1:{port}/metrics/resource"
    try:
        with pytest.raises(Exception, match="403 Forbidden"):
            await client.get(url, "127.0.0.1", port)
    finally:
        await client.close()
    assert len(traces) == 1
    assert re.fullmatch(rf"GET {re.escape(url)} 403 Forbidden in \d+ milliseconds", traces[0])


# ---------------------------------------------------------------- bounded response bodies


async def test_a_gzip_bomb_fails_only_that_node(kubelet) -> None:
    import gzip

    bomb = gzip.compress(b"\0" * (8 << 20), compresslevel=9, mtime=0)  # 8 MiB in 8 KiB

    async def bad(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    async def good(request: web.Request) -> web.Response:
        return web.Response(text=PAYLOAD)

    p1, p2 = await kubelet(bad), await kubelet(good)
    logs, rec = Logs(), Recorder()
    config = kubelet_client_config(RestConfig(), completely_insecure=True,
                                   use_node_status_port=True,
                                   preferred_address_types=("InternalIP",),
                                   max_body_bytes=1 << 20, max_body_text="1Mi")
    scraper = _scraper(config, [_node("bomb", p1), _node("good", p2)], RealClock(), logs, rec)
    try:
        batch = await scraper.scrape()
    finally:
        await scraper.client.close()
    assert list(batch.nodes) == ["good"]
    assert logs.messages("Failed to scrape node") == [{
        "err": "failed to read response body - gzip: decompressed response body too large "
               "(over --kubelet-max-body-size=1Mi)", "node": "bomb"}]
    assert sorted(rec.requests) == [("bomb", False), ("good", True)]


async def test_the_default_bound_is_64_mebibytes(kubelet) -> None:
    body = b"#" * ((64 << 20) + 1)

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=body)

    port = await kubelet(big)
    assert KubeletClientConfig().max_body_bytes == 64 << 20
    logs = Logs()
    scraper = _scraper(HTTP, [_node("big", port)], RealClock(), logs)
    try:
        await scraper.scrape()
    finally:
        await scraper.client.close()
    assert logs.messages("Failed to scrape node") == [{
        "err": "failed to read response body - http: response body too large "
               "(over --kubelet-max-body-size=64Mi)", "node": "big"}]


async def test_the_v6_request_line_of_a_failed_round_trip_has_no_status(kubelet) -> None:
    """client-go's debugging round tripper logs every request, a failed one with an empty
    status: ``GET <url>  in N milliseconds`` (two spaces), as the real one prints for a
    kubelet whose certificate does not verify, that hangs, or that refuses."""
    from fakekubelet.addresses import free_port

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="boom")

    port = await kubelet(handler)
    closed = free_port()
    lines: list[str] = []
    client = KubeletClient(KubeletClientConfig(scheme="http"), VirtualClock(), lines.append)
    try:
        for target in (closed, port):
            with pytest.raises(KubeletRequestError):
                await client.get(f"http://127.0.0.1:{target}/metrics/resource", "127.0.0.1",
                                 target)
    finally:
        await client.close()
    assert [re.sub(r"\d+ milliseconds", "N milliseconds", line) for line in lines] == [
        f"GET http://127.0.0.1:{closed}/metrics/resource  in N milliseconds",
        f"GET http://127.0.0.1:{port}/metrics/resource 500 Internal Server Error in N "
        "milliseconds"]
