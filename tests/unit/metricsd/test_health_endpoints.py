"""Health endpoints: check lists, bodies, status codes, single checks, exclude, log lines."""

import io
from dataclasses import dataclass, field

import pytest

from metricsd.clock import VirtualClock
from metricsd.health import HealthEndpoints, MetricsdHealth, build_endpoints
from metricsd.klog import Logger

READYZ = ["ping", "log", "poststarthook/max-in-flight-filter",
          "poststarthook/storage-object-count-tracker-hook", "metric-storage-ready",
          "metric-informer-sync", "metadata-informer-sync", "shutdown"]
LIVEZ = ["ping", "log", "poststarthook/max-in-flight-filter",
         "poststarthook/storage-object-count-tracker-hook", "metric-collection-timely",
         "metadata-informer-sync"]
HEALTHZ = ["ping", "log", "poststarthook/max-in-flight-filter",
           "poststarthook/storage-object-count-tracker-hook", "metadata-informer-sync"]


@dataclass
class State:
    ready: bool = True
    nodes_synced: bool = True
    pods_synced: bool = True
    last_tick: float | None = None
    not_started: list[str] = field(default_factory=list)
    shutting_down: bool = False


def setup(
    state: State, verbosity: int = 0, resolution_s: int = 15
) -> tuple[HealthEndpoints, VirtualClock, io.StringIO]:
    clock = VirtualClock()
    buf = io.StringIO()
    log = Logger(stream=buf, verbosity=verbosity, pid=1)
    endpoints = build_endpoints(MetricsdHealth(
        storage_ready=lambda: state.ready,
        nodes_synced=lambda: state.nodes_synced,
        pods_synced=lambda: state.pods_synced,
        last_tick_start=lambda: state.last_tick,
        resolution_ns=resolution_s * 1_000_000_000,
        clock=clock,
        metadata_not_started=lambda: state.not_started,
        shutting_down=lambda: state.shutting_down,
    ), log)
    return endpoints, clock, buf


def test_check_lists_in_upstream_order() -> None:
    endpoints, _, _ = setup(State())
    assert endpoints.names("readyz") == READYZ
    assert endpoints.names("livez") == LIVEZ
    assert endpoints.names("healthz") == HEALTHZ


@pytest.mark.parametrize("endpoint", ["readyz", "livez", "healthz"])
def test_passing_plain_and_verbose(endpoint: str) -> None:
    endpoints, _, _ = setup(State())
    res = endpoints.handle(f"/{endpoint}")
    assert (res.status, res.body) == (200, "ok")
    assert res.headers == {"Content-Type": "text/plain; charset=utf-8",
                           "X-Content-Type-Options": "nosniff"}
    names = {"readyz": READYZ, "livez": LIVEZ, "healthz": HEALTHZ}[endpoint]
    verbose = endpoints.handle(f"/{endpoint}", "verbose")
    assert verbose.status == 200
    assert verbose.body == "".join(f"[+]{n} ok\n" for n in names) + f"{endpoint} check passed\n"


def test_readyz_verbose_exact() -> None:
    endpoints, _, _ = setup(State())
    assert endpoints.handle("/readyz", "verbose=1").body == (
        "[+]ping ok\n[+]log ok\n[+]poststarthook/max-in-flight-filter ok\n"
        "[+]poststarthook/storage-object-count-tracker-hook ok\n[+]metric-storage-ready ok\n"
        "[+]metric-informer-sync ok\n[+]metadata-informer-sync ok\n[+]shutdown ok\n"
        "readyz check passed\n"
    )


def test_storage_not_ready_fails_readyz_and_logs() -> None:
    endpoints, _, buf = setup(State(ready=False))
    res = endpoints.handle("/readyz")
    assert res.status == 500
    assert res.body == (
        "[+]ping ok\n[+]log ok\n[+]poststarthook/max-in-flight-filter ok\n"
        "[+]poststarthook/storage-object-count-tracker-hook ok\n"
        "[-]metric-storage-ready failed: reason withheld\n"
        "[+]metric-informer-sync ok\n[+]metadata-informer-sync ok\n[+]shutdown ok\n"
        "readyz check failed\n"
    )
    assert buf.getvalue().endswith(
        ' server.go:191] "Failed probe" probe="metric-storage-ready" err="no metrics to serve"\n'
    )
    assert endpoints.handle("/livez").status == 200


def test_failure_detail_logged_at_v2() -> None:
    endpoints, _, buf = setup(State(ready=False), verbosity=2)
    endpoints.handle("/readyz")
    lines = buf.getvalue().splitlines()
    assert lines[-2].endswith("] metric-storage-ready check failed: readyz")
    assert lines[-1] == "[-]metric-storage-ready failed: no metrics to serve"


def test_single_check_paths() -> None:
    endpoints, _, _ = setup(State(ready=False))
    res = endpoints.handle("/readyz/metric-storage-ready")
    assert (res.status, res.body) == (500, "internal server error: no metrics to serve\n")
    ok = endpoints.handle("/readyz/poststarthook/max-in-flight-filter")
    assert (ok.status, ok.body) == (200, "ok")
    assert endpoints.handle("/readyz/nope").status == 404
    assert endpoints.handle("/livez/metric-storage-ready").status == 404


@pytest.mark.parametrize(
    ("state", "message", "at"),
    [
        (State(nodes_synced=False), "cache for node informer has not synced", "server.go:203"),
        (State(pods_synced=False), "cache for pod informer has not synced", "server.go:208"),
    ],
)
def test_informer_sync(state: State, message: str, at: str) -> None:
    endpoints, _, buf = setup(state)
    assert endpoints.handle("/readyz/metric-informer-sync").body == (
        f"internal server error: {message}\n"
    )
    assert buf.getvalue().endswith(
        f' {at}] "Failed probe" probe="metric-informer-sync" err="{message}"\n'
    )


def test_metadata_informer_sync_fails_all_three_without_logging() -> None:
    endpoints, _, buf = setup(State(not_started=["/v1, Resource=pods"]))
    for endpoint in ("readyz", "livez", "healthz"):
        res = endpoints.handle(f"/{endpoint}")
        assert res.status == 500
        assert "[-]metadata-informer-sync failed: reason withheld\n" in res.body
    assert endpoints.handle("/healthz/metadata-informer-sync").body == (
        "internal server error: 1 informers not started yet: [/v1, Resource=pods]\n"
    )
    assert buf.getvalue() == ""


async def test_collection_timely_threshold_on_virtual_clock() -> None:
    state = State()
    endpoints, clock, buf = setup(state, resolution_s=15)
    assert endpoints.handle("/livez").status == 200  # before the first tick
    state.last_tick = clock.monotonic()
    await clock.advance(22.5)
    assert endpoints.handle("/livez").status == 200  # not strictly greater than 22.5s
    await clock.advance(0.5)
    res = endpoints.handle("/livez")
    assert res.status == 500
    assert "[-]metric-collection-timely failed: reason withheld\n" in res.body
    assert res.body.endswith("livez check failed\n")
    assert buf.getvalue().endswith(
        ' server.go:179] "Failed probe" probe="metric-collection-timely" '
        'err="metric collection didn\'t finish on time" duration="23s" maxDuration="22.5s"\n'
    )
    state.last_tick = clock.monotonic()
    assert endpoints.handle("/livez").status == 200


def test_exclude() -> None:
    endpoints, _, _ = setup(State(ready=False))
    res = endpoints.handle("/readyz", "exclude=metric-storage-ready&exclude=bogus&verbose")
    assert res.status == 200
    assert "[+]metric-storage-ready excluded: ok\n" in res.body
    assert res.body.endswith(
        '[+]shutdown ok\nwarn: some health checks cannot be excluded: no matches for "bogus"\n'
        "readyz check passed\n"
    )
    plain = endpoints.handle("/readyz", "exclude=metric-storage-ready")
    assert (plain.status, plain.body) == (200, "ok")


def test_shutdown() -> None:
    endpoints, _, _ = setup(State(shutting_down=True))
    assert endpoints.handle("/readyz/shutdown").body == (
        "internal server error: process is shutting down\n"
    )
    assert endpoints.handle("/livez").status == 200


async def test_aiohttp_handler() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from metricsd.health import aiohttp_handler

    endpoints, _, _ = setup(State(ready=False))
    app = web.Application()
    handler = aiohttp_handler(endpoints)
    for root in ("/readyz", "/livez", "/healthz"):
        app.router.add_get(root, handler)
        app.router.add_get(root + "/{tail:.*}", handler)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        resp = await client.get("/readyz?verbose")
        assert resp.status == 500
        assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert (await resp.text()).endswith("readyz check failed\n")
        ok = await client.get("/livez")
        assert (ok.status, await ok.text()) == (200, "ok")


def test_an_empty_informer_is_synced_once_listed() -> None:
    """A cluster without a single pod: the pod informer holds nothing, yet has synced."""
    import asyncio

    from metricsd.informers import PodInformer
    from metricsd.server import informer_synced

    async def list_empty(**_: object) -> object:
        class Response:
            status = 200

            async def read(self) -> bytes:
                return b'{"metadata": {"resourceVersion": "7"}, "items": []}'

            def release(self) -> None:
                pass

        return Response()

    informer = PodInformer(list_empty)
    assert not informer_synced(informer) and not informer_synced(None)
    asyncio.run(informer.reflector.list_once())
    assert len(informer) == 0 and informer_synced(informer)
