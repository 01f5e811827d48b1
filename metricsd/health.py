"""``/livez``, ``/readyz``, ``/healthz``: the generic apiserver's health handlers and the checks
metrics-server registers, with the same names, order, bodies, status codes and log lines.

Kubelet probes and users read these bodies (``[-]metric-storage-ready failed: reason
withheld``) and the ``"Failed probe"`` lines, so the text is upstream's to the byte.  Handlers
are pure functions of (path, query) returning a :class:`HealthResponse`, so the HTTP server
only has to mount :func:`aiohttp_handler`; each check is a small callable so the server can
wire storage, informers and the scrape loop without this module knowing them.

Lists (upstream order):

* readyz: ping, log, poststarthook/max-in-flight-filter,
  poststarthook/storage-object-count-tracker-hook, metric-storage-ready, metric-informer-sync,
  metadata-informer-sync, shutdown
* livez: ping, log, the two hooks, metric-collection-timely, metadata-informer-sync
* healthz: ping, log, the two hooks, metadata-informer-sync
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from metricsd import klog
from metricsd.clock import Clock
from metricsd.durations import format_duration
from metricsd.klog import GoDuration

if TYPE_CHECKING:
    from aiohttp import web

__all__ = [
    "HealthCheck",
    "HealthEndpoints",
    "HealthResponse",
    "MetricsdHealth",
    "aiohttp_handler",
    "build_endpoints",
    "collection_timely_check",
    "informer_sync_check",
    "metadata_informer_sync_check",
    "shutdown_check",
    "storage_ready_check",
]

TEXT_PLAIN = "text/plain; charset=utf-8"

#: A check returns ``None`` when healthy, else the error text (logged, withheld from bodies).
CheckFn = Callable[[], "str | None"]


@dataclass(frozen=True)
class HealthCheck:
    """A named check (``healthz.NamedCheck``)."""

    name: str
    check: CheckFn


@dataclass(frozen=True)
class HealthResponse:
    """What to send: status, body and content type (plus ``X-Content-Type-Options``)."""

    status: int
    body: str
    content_type: str = TEXT_PLAIN
    #: ``X-Content-Type-Options: nosniff``: set by http.Error and the root handlers; a single
    #: check that passes only writes ``ok`` (net/http sniffs the type, no nosniff)
    nosniff: bool = True

    @property
    def headers(self) -> dict[str, str]:
        if not self.nosniff:
            return {"Content-Type": self.content_type}
        return {"Content-Type": self.content_type, "X-Content-Type-Options": "nosniff"}


def _ok() -> str | None:
    return None


PING = HealthCheck("ping", _ok)
LOG = HealthCheck("log", _ok)


def poststarthook(name: str, started: Callable[[], bool] | None = None) -> HealthCheck:
    """A post-start hook check: ``not finished`` until ``started()`` (always done if None)."""

    def check() -> str | None:
        return None if started is None or started() else "not finished"

    return HealthCheck(f"poststarthook/{name}", check)


def shutdown_check(shutting_down: Callable[[], bool]) -> HealthCheck:
    """``shutdown``: fails once the process has begun to shut down."""
    return HealthCheck(
        "shutdown", lambda: "process is shutting down" if shutting_down() else None
    )


def _failed_probe(log: klog.Logger, name: str, err: str, at: str, *extra: Any) -> None:
    log.info("Failed probe", "probe", name, "err", err, *extra, at=at)


def storage_ready_check(ready: Callable[[], bool], log: klog.Logger | None = None,
                        name: str = "metric-storage-ready") -> HealthCheck:
    """``metric-storage-ready``: ``no metrics to serve`` until storage is Ready (as upstream)."""

    def check() -> str | None:
        if ready():
            return None
        err = "no metrics to serve"
        _failed_probe(log or klog.logger, name, err, "server/server.go:191")
        return err

    return HealthCheck(name, check)


def informer_sync_check(nodes_synced: Callable[[], bool], pods_synced: Callable[[], bool],
                        log: klog.Logger | None = None,
                        name: str = "metric-informer-sync") -> HealthCheck:
    """``metric-informer-sync``: node informer first, then pod informer."""

    def check() -> str | None:
        logger = log or klog.logger
        if not nodes_synced():
            err = "cache for node informer has not synced"
            _failed_probe(logger, name, err, "server/server.go:203")
            return err
        if not pods_synced():
            err = "cache for pod informer has not synced"
            _failed_probe(logger, name, err, "server/server.go:208")
            return err
        return None

    return HealthCheck(name, check)


def metadata_informer_sync_check(not_started: Callable[[], Sequence[str]],
                                 name: str = "metadata-informer-sync") -> HealthCheck:
    """``metadata-informer-sync``: lists informers not started, e.g. ``/v1, Resource=pods``.

    Does not log (as upstream).
    """

    def check() -> str | None:
        missing = list(not_started())
        if missing:
            return f"{len(missing)} informers not started yet: [{' '.join(missing)}]"
        return None

    return HealthCheck(name, check)


def collection_timely_check(last_tick_start: Callable[[], float | None], resolution_ns: int,
                            clock: Clock, log: klog.Logger | None = None,
                            name: str = "metric-collection-timely") -> HealthCheck:
    """``metric-collection-timely``: a tick started before AND it started > 1.5×resolution ago.

    ``last_tick_start`` returns ``clock.monotonic()`` at the start of the latest tick, or None
    before the first tick (the check then passes).
    """
    max_wait_ns = int(1.5 * float(resolution_ns))  # Go: time.Duration(1.5*float64(res))

    def check() -> str | None:
        started = last_tick_start()
        if started is None:
            return None
        wait_ns = round((clock.monotonic() - started) * 1e9)
        if wait_ns > max_wait_ns:
            err = "metric collection didn't finish on time"
            _failed_probe(log or klog.logger, name, err, "server/server.go:179",
                          "duration", GoDuration(wait_ns), "maxDuration", GoDuration(max_wait_ns))
            return err
        return None

    return HealthCheck(name, check)


def _go_q(text: str) -> str:
    return klog.go_quote(text)


class HealthEndpoints:
    """The three root endpoints and their single-check sub-paths."""

    def __init__(self, endpoints: Mapping[str, Sequence[HealthCheck]],
                 log: klog.Logger | None = None) -> None:
        self.endpoints = {name: list(checks) for name, checks in endpoints.items()}
        self._log = log

    @property
    def log(self) -> klog.Logger:
        return self._log or klog.logger

    def names(self, endpoint: str) -> list[str]:
        return [check.name for check in self.endpoints[endpoint]]

    def handles(self, path: str) -> bool:
        return self.resolve(path) is not None

    def resolve(self, path: str) -> tuple[str, HealthCheck | None] | None:
        """``(endpoint, None)`` for a root path, ``(endpoint, check)`` for a sub-path."""
        for endpoint, checks in self.endpoints.items():
            root = "/" + endpoint
            if path == root:
                return endpoint, None
            if path.startswith(root + "/"):
                sub = path[len(root) + 1:]
                for check in checks:
                    if check.name == sub:
                        return endpoint, check
        return None

    def handle(self, path: str, query: str | Mapping[str, Sequence[str]] = "") -> HealthResponse:
        """Serve ``path`` (``/readyz``, ``/readyz/<check>`` …) with a raw or parsed query."""
        params = parse_qs(query, keep_blank_values=True) if isinstance(query, str) else query
        resolved = self.resolve(path)
        if resolved is None:
            return HealthResponse(404, "404 page not found\n")
        endpoint, single = resolved
        if single is not None:
            err = single.check()
            if err is not None:
                return HealthResponse(500, f"internal server error: {err}\n")
            return HealthResponse(200, "ok", nosniff=False)
        return self._root(endpoint, params)

    def _root(self, endpoint: str, params: Mapping[str, Sequence[str]]) -> HealthResponse:
        excluded = set(params.get("exclude", ()))
        lines: list[str] = []
        failed: list[str] = []
        failed_log: list[str] = []
        for check in self.endpoints[endpoint]:
            if check.name in excluded:
                excluded.discard(check.name)
                lines.append(f"[+]{check.name} excluded: ok\n")
                continue
            err = check.check()
            if err is not None:
                lines.append(f"[-]{check.name} failed: reason withheld\n")
                failed_log.append(f"[-]{check.name} failed: {err}\n")
                failed.append(check.name)
            else:
                lines.append(f"[+]{check.name} ok\n")
        if excluded:
            quoted = ",".join(_go_q(name) for name in sorted(excluded))
            lines.append(f"warn: some health checks cannot be excluded: no matches for {quoted}\n")
            self.log.infof(
                "cannot exclude some health checks, no health checks are installed matching "
                + quoted, v=6, at="healthz/healthz.go:256")
        if failed:
            if self.log.enabled(2, "healthz/healthz.go:261"):
                self.log.infof(f"{','.join(failed)} check failed: {endpoint}\n"
                               + "".join(failed_log), v=2, at="healthz/healthz.go:261")
            return HealthResponse(500, "".join(lines) + f"{endpoint} check failed\n")
        if "verbose" not in params:
            return HealthResponse(200, "ok")
        return HealthResponse(200, "".join(lines) + f"{endpoint} check passed\n")


HOOKS = ("max-in-flight-filter", "storage-object-count-tracker-hook")


@dataclass
class MetricsdHealth:
    """What the server plugs in; every field is a cheap callable read at probe time.

    ``last_tick_start`` is the clock's monotonic time when the latest scrape tick started
    (None before the first); ``metadata_not_started`` lists not-started metadata informers
    as GVR strings (``/v1, Resource=pods``).
    """

    storage_ready: Callable[[], bool]
    nodes_synced: Callable[[], bool]
    pods_synced: Callable[[], bool]
    last_tick_start: Callable[[], float | None]
    resolution_ns: int
    clock: Clock
    metadata_not_started: Callable[[], Sequence[str]] = tuple
    shutting_down: Callable[[], bool] = lambda: False
    hooks_started: Callable[[], bool] | None = None


def build_endpoints(wiring: MetricsdHealth, log: klog.Logger | None = None) -> HealthEndpoints:
    """The readyz/livez/healthz lists metrics-server v0.7.1 serves."""
    base = [PING, LOG, *(poststarthook(hook, wiring.hooks_started) for hook in HOOKS)]
    metadata = metadata_informer_sync_check(wiring.metadata_not_started)
    readyz = [
        *base,
        storage_ready_check(wiring.storage_ready, log),
        informer_sync_check(wiring.nodes_synced, wiring.pods_synced, log),
        metadata,
        shutdown_check(wiring.shutting_down),
    ]
    livez = [
        *base,
        collection_timely_check(wiring.last_tick_start, wiring.resolution_ns, wiring.clock, log),
        metadata,
    ]
    healthz = [*base, metadata]
    return HealthEndpoints({"readyz": readyz, "livez": livez, "healthz": healthz}, log)


def aiohttp_handler(endpoints: HealthEndpoints) -> Callable[[web.Request], Any]:
    """An aiohttp handler serving every health path (mount on ``/livez{tail:.*}`` etc.)."""
    from aiohttp import web

    async def handler(request: web.Request) -> web.Response:
        res = endpoints.handle(request.path, request.query_string)
        response = web.Response(status=res.status, body=res.body.encode())
        response.headers.update(res.headers)
        return response

    return handler


def describe_resolution(resolution_ns: int) -> str:
    """``1.5×resolution`` as Go prints it (``22.5s`` at 15s) — for docs and messages."""
    return format_duration(int(1.5 * float(resolution_ns)))
