"""APIService availability: kube-aggregator's checks, reasons, messages and re-check cadence.

Why: ``kubectl get apiservices`` showing ``False (MissingEndpoints)`` or
``False (FailedDiscoveryCheck)``, and the proxy's 503 that follows, are what users debug; the
checks must run in upstream's order with upstream's texts (kube-aggregator's
remote_available_controller.go):

1. the Service exists (``ServiceNotFound``);
2. ClusterIP Services: a port equals the APIService port (``ServicePortError``);
3. ClusterIP Services: Endpoints (emulated ≤1.32) or EndpointSlices (emulated ≥1.33, after
   kubernetes PR #129837) exist (``EndpointsNotFound``) and have a ready address with a port
   named like the Service port (``MissingEndpoints``);
4. a discovery GET ``https://<endpoint>/apis/<group>/<version>`` answered 2xx within 5 s,
   sent with the front-proxy client certificate, ``X-Remote-User: system:kube-aggregator``,
   ``X-Remote-Group: system:masters`` and TLS verification off (``FailedDiscoveryCheck``);
5. otherwise ``Passed`` / ``all checks passed``.

Local APIServices (no ``spec.service``) are ``Local`` / ``Local APIServices are always
available``. Routing is always aggregator routing (``--enable-aggregator-routing=true``): the
simulated Service ClusterIPs are not routable, so the probe and the proxy dial a ready endpoint
address and its port. Only loopback endpoint addresses are dialled; any other address fails
with a ``connect: network is unreachable`` dial error, so nothing leaves the machine.

Re-checks: on every APIService/Service/Endpoints/EndpointSlice change, every 30 s (the
informer resync), and after a failure with a back-off from 5 ms doubling to 30 s. The status
is written only when (status, reason, message) changes; ``lastTransitionTime`` moves only
when the status value changes. Time is injectable for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

log = logging.getLogger(__name__)

Obj = dict[str, Any]

LOCAL_MESSAGE = "Local APIServices are always available"
PROBE_TIMEOUT_SECONDS = 5.0
IDLE_CONN_TIMEOUT_SECONDS = 90.0  # client-go's transport default (IdleConnTimeout)
PROBE_PARALLELISM = 5
RESYNC_SECONDS = 30.0
BACKOFF_START = 0.005
BACKOFF_MAX = 30.0
AGGREGATOR_USER = "system:kube-aggregator"
AGGREGATOR_GROUP = "system:masters"


@dataclass(frozen=True)
class Availability:
    """The ``Available`` condition's status, reason and message."""

    status: str
    reason: str
    message: str

    @property
    def available(self) -> bool:
        return self.status == "True"


class EndpointError(Exception):
    """Endpoint resolution failed (the proxy answers 503 ``service unavailable``)."""


class Prober(Protocol):
    async def __call__(self, url: str) -> str | None:
        """GET ``url``; None when it answered 2xx, else the error text (without prefix)."""
        ...


# ------------------------------------------------------------------------------ object reads


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def apiservice_service(apiservice: Obj) -> tuple[str, str, int] | None:
    """(namespace, name, port) of a non-local APIService; None for a Local one."""
    svc = (apiservice.get("spec") or {}).get("service")
    if not isinstance(svc, dict):
        return None
    return str(svc.get("namespace", "")), str(svc.get("name", "")), int(svc.get("port") or 443)


def discovery_path(apiservice: Obj) -> str:
    spec = apiservice.get("spec") or {}
    group, version = spec.get("group", ""), spec.get("version", "")
    return f"/api/{version}" if not group else f"/apis/{group}/{version}"


def available_condition(apiservice: Obj) -> Obj | None:
    for cond in (apiservice.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Available":
            return dict(cond)
    return None


def is_available(apiservice: Obj) -> bool:
    cond = available_condition(apiservice)
    return cond is not None and cond.get("status") == "True"


def _service_port(service: Obj, port: int) -> Obj | None:
    for p in (service.get("spec") or {}).get("ports") or []:
        if int(p.get("port") or 0) == port:
            return dict(p)
    return None


def _is_cluster_ip(service: Obj) -> bool:
    return (service.get("spec") or {}).get("type", "ClusterIP") == "ClusterIP"


def _ready_from_endpoints(endpoints: Obj, port_name: str) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for subset in endpoints.get("subsets") or []:
        ports = [p for p in subset.get("ports") or [] if (p.get("name") or "") == port_name]
        if not ports:
            continue
        for addr in subset.get("addresses") or []:
            found.append((str(addr.get("ip", "")), int(ports[0].get("port") or 0)))
    return found


def _ready_from_slices(slices: list[Obj], port_name: str) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for sl in slices:
        ports = [p for p in sl.get("ports") or [] if (p.get("name") or "") == port_name]
        if not ports:
            continue
        for ep in sl.get("endpoints") or []:
            ready = (ep.get("conditions") or {}).get("ready")
            if ready is None or ready is True:
                for ip in ep.get("addresses") or []:
                    found.append((str(ip), int(ports[0].get("port") or 0)))
    return found


class ObjectReader:
    """The few reads the checks need, over the control plane's store."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def service(self, namespace: str, name: str) -> Obj | None:
        return self._try("services", name, namespace)

    def endpoints(self, namespace: str, name: str) -> Obj | None:
        return self._try("endpoints", name, namespace)

    def endpoint_slices(self, namespace: str, service: str) -> list[Obj]:
        from fakeapiserver.selectors import parse_label_selector

        sel = parse_label_selector(f"kubernetes.io/service-name={service}")
        result = self._store.list_stored("endpointslices.discovery.k8s.io", namespace, sel)
        return [s.obj for s in result.items]

    def _try(self, kind: str, name: str, namespace: str) -> Obj | None:
        try:
            return dict(self._store.get_stored(kind, name, namespace).obj)
        except Exception:
            return None


# ---------------------------------------------------------------------------- the checks


def check_local_and_endpoints(
    apiservice: Obj, reader: ObjectReader, use_endpointslices: bool
) -> Availability | None:
    """Checks 1–3 (and Local); None means "go on to the discovery probe"."""
    ref = apiservice_service(apiservice)
    if ref is None:
        return Availability("True", "Local", LOCAL_MESSAGE)
    ns, name, port = ref
    service = reader.service(ns, name)
    if service is None:
        return Availability("False", "ServiceNotFound", f'service/{name} in "{ns}" is not present')
    if not _is_cluster_ip(service):
        return None
    svc_port = _service_port(service, port)
    if svc_port is None:
        return Availability(
            "False", "ServicePortError", f'service/{name} in "{ns}" is not listening on port {port}'
        )
    port_name = str(svc_port.get("name") or "")
    if use_endpointslices:
        slices = reader.endpoint_slices(ns, name)
        if not slices:
            return Availability(
                "False",
                "EndpointsNotFound",
                f'cannot find endpointslices for service/{name} in "{ns}"',
            )
        if not _ready_from_slices(slices, port_name):
            return Availability(
                "False",
                "MissingEndpoints",
                f'endpointslices for service/{name} in "{ns}" have no addresses with port name '
                f'"{port_name}"',
            )
        return None
    endpoints = reader.endpoints(ns, name)
    if endpoints is None:
        return Availability(
            "False", "EndpointsNotFound", f'cannot find endpoints for service/{name} in "{ns}"'
        )
    if not _ready_from_endpoints(endpoints, port_name):
        return Availability(
            "False",
            "MissingEndpoints",
            f'endpoints for service/{name} in "{ns}" have no addresses with port name '
            f'"{port_name}"',
        )
    return None


def resolve_endpoint(
    apiservice: Obj, reader: ObjectReader, use_endpointslices: bool
) -> tuple[str, int]:
    """A ready endpoint (ip, port) for the APIService's Service (aggregator routing)."""
    ref = apiservice_service(apiservice)
    if ref is None:
        raise EndpointError("local APIService has no endpoint")
    ns, name, port = ref
    service = reader.service(ns, name)
    if service is None:
        raise EndpointError(f'service "{name}" not found')
    svc_port = _service_port(service, port)
    if svc_port is None:
        raise EndpointError(f'no service port {port} found for service "{name}"')
    port_name = str(svc_port.get("name") or "")
    if use_endpointslices:
        ready = _ready_from_slices(reader.endpoint_slices(ns, name), port_name)
    else:
        endpoints = reader.endpoints(ns, name)
        ready = _ready_from_endpoints(endpoints, port_name) if endpoints else []
    if not ready:
        raise EndpointError(f'no endpoints available for service "{name}"')
    return random.choice(ready)


def host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


async def check_apiservice(
    apiservice: Obj, reader: ObjectReader, prober: Prober, use_endpointslices: bool
) -> Availability:
    """The full availability decision for one APIService."""
    early = check_local_and_endpoints(apiservice, reader, use_endpointslices)
    if early is not None:
        return early
    try:
        ip, port = resolve_endpoint(apiservice, reader, use_endpointslices)
    except EndpointError as exc:
        return Availability("False", "FailedDiscoveryCheck", str(exc))
    url = f"https://{host_port(ip, port)}{discovery_path(apiservice)}"

    results = await asyncio.gather(*(prober(url) for _ in range(PROBE_PARALLELISM)))
    if any(r is None for r in results):
        return Availability("True", "Passed", "all checks passed")
    last = next(r for r in reversed(results) if r is not None)
    return Availability(
        "False", "FailedDiscoveryCheck", f"failing or missing response from {url}: {last}"
    )


# ------------------------------------------------------------------------------- the prober


def go_error_text(url: str, exc: BaseException) -> str:
    """Go net/http's error text for a failed ``GET url`` (best match for the Python error)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    addr = parts.netloc
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return (
            f'Get "{url}": context deadline exceeded '
            "(Client.Timeout exceeded while awaiting headers)"
        )
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        inner = getattr(exc, "os_error", None) or exc
        return f'Get "{url}": tls: {_ssl_reason(inner)}'
    if isinstance(exc, aiohttp.ClientConnectorError):
        err = exc.os_error
        errno_text = {
            111: "connect: connection refused",
            101: "connect: network is unreachable",
            113: "connect: no route to host",
        }.get(getattr(err, "errno", 0) or 0, f"connect: {getattr(err, 'strerror', None) or err}")
        return f'Get "{url}": dial tcp {addr}: {errno_text}'
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f'Get "{url}": EOF'
    if isinstance(exc, ssl.SSLError):
        return f'Get "{url}": tls: {_ssl_reason(exc)}'
    return f'Get "{url}": {exc}'


def _ssl_reason(exc: BaseException) -> str:
    """Go's crypto/tls + x509 wording for the common verification failures."""
    code = getattr(exc, "verify_code", None)
    if code in (2, 18, 19, 20, 21):
        return "failed to verify certificate: x509: certificate signed by unknown authority"
    if code in (9, 10):
        return "failed to verify certificate: x509: certificate has expired or is not yet valid"
    if code == 62:
        message = str(getattr(exc, "verify_message", ""))
        wanted = message.rsplit("valid for ", 1)[-1].strip("'. ")
        return f"failed to verify certificate: x509: certificate is not valid for {wanted}"
    reason = getattr(exc, "reason", None)
    if reason:
        return str(reason).lower().replace("_", " ")
    return str(exc)


class DiscoveryProber:
    """Probes with the front-proxy client certificate, TLS verification off, 5 s timeout.

    Connections are kept alive between checks and reused, as kube-aggregator's discovery
    client does (one client-go transport: idle connections reused, closed after 90 s idle);
    a new check therefore costs a TLS handshake only when the backend closed the connection
    (restarted, stopped) — which is also when a dial error can first show. :meth:`close`
    drops them.
    """

    def __init__(
        self,
        client_ssl: ssl.SSLContext | None,
        timeout: float = PROBE_TIMEOUT_SECONDS,
    ) -> None:
        if client_ssl is None:
            client_ssl = ssl.create_default_context()
        client_ssl.check_hostname = False
        client_ssl.verify_mode = ssl.CERT_NONE
        self._ssl = client_ssl
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONN_TIMEOUT_SECONDS),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __call__(self, url: str) -> str | None:
        from urllib.parse import urlsplit

        host = urlsplit(url).hostname or ""
        if not is_loopback(host):
            port = urlsplit(url).port
            dial = host_port(host, port or 443)
            return f'Get "{url}": dial tcp {dial}: connect: network is unreachable'
        headers = {"X-Remote-User": AGGREGATOR_USER, "X-Remote-Group": AGGREGATOR_GROUP}
        try:
            async with self._client().get(
                url, headers=headers, ssl=self._ssl, allow_redirects=False
            ) as resp:
                await resp.read()
                if 200 <= resp.status < 300:
                    return None
                return f"bad status from {url}: {resp.status}"
        except Exception as exc:
            return go_error_text(url, exc)


# --------------------------------------------------------------------------- the controller


def now_rfc3339(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AvailabilityController:
    """Keeps every APIService's ``Available`` condition current.

    ``sleep`` and ``now`` come from the caller's clock (virtual in tests).
    """

    def __init__(
        self,
        store: Any,
        prober: Prober,
        *,
        use_endpointslices: bool = False,
        resync_seconds: float = RESYNC_SECONDS,
        now: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        import time

        self._store = store
        self._reader = ObjectReader(store)
        self._prober = prober
        self.use_endpointslices = use_endpointslices
        self._resync = resync_seconds
        self._now = now or time.time
        self._sleep = sleep
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._failures: dict[str, int] = {}
        self._retries: dict[str, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._idle = asyncio.Event()
        self.checks = 0  # how many checks ran (tests and logs)

    # -- event intake ---------------------------------------------------------------------
    def enqueue(self, name: str) -> None:
        if name not in self._queued:
            self._queued.add(name)
            self._idle.clear()
            self._queue.put_nowait(name)

    def enqueue_all(self) -> None:
        for stored in self._store.list_stored("apiservices.apiregistration.k8s.io").items:
            self.enqueue(stored.name)

    def _on_change(self, change: Any) -> None:
        kind = change.kind.plural
        if kind == "apiservices":
            if change.type != "DELETED":
                old = change.old.obj if change.old is not None else None
                new = change.new.obj
                # our own status writes must not trigger another check
                if old is None or old.get("spec") != new.get("spec"):
                    self.enqueue(change.new.name)
            return
        ns = change.new.namespace
        name = change.new.name
        if kind == "endpointslices":
            name = (
                (change.new.obj.get("metadata") or {})
                .get("labels", {})
                .get("kubernetes.io/service-name", "")
            )
        for stored in self._store.list_stored("apiservices.apiregistration.k8s.io").items:
            ref = apiservice_service(stored.obj)
            if ref is not None and ref[0] == ns and ref[1] == name:
                self.enqueue(stored.name)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._unsubscribe = self._store.subscribe(
            self._on_change,
            [
                "apiservices.apiregistration.k8s.io",
                "services",
                "endpoints",
                "endpointslices.discovery.k8s.io",
            ],
        )
        self.enqueue_all()
        self._tasks = [
            asyncio.create_task(self._worker(), name="apiservice-availability"),
            asyncio.create_task(self._resync_loop(), name="apiservice-resync"),
        ]

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        tasks = [*self._tasks, *self._retries.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._retries.clear()
        close = getattr(self._prober, "close", None)
        if close is not None:
            await close()

    async def wait_idle(self) -> None:
        """Wait until the queue is drained and no check is running."""
        while not (self._queue.empty() and not self._queued):
            await self._idle.wait()

    async def _resync_loop(self) -> None:
        while True:
            await self._sleep(self._resync)
            self.enqueue_all()

    async def _worker(self) -> None:
        while True:
            name = await self._queue.get()
            try:
                await self.sync(name)
            except Exception:
                log.exception("APIService availability check failed for %s", name)
            finally:
                self._queued.discard(name)
                if self._queue.empty() and not self._queued:
                    self._idle.set()

    async def sync(self, name: str) -> Availability | None:
        """Check one APIService now and write its condition if it changed."""
        try:
            stored = self._store.get_stored("apiservices.apiregistration.k8s.io", name)
        except Exception:
            self._failures.pop(name, None)
            return None
        result = await check_apiservice(
            stored.obj, self._reader, self._prober, self.use_endpointslices
        )
        self.checks += 1
        self._write(name, result)
        if result.available:
            self._failures.pop(name, None)
            retry = self._retries.pop(name, None)
            if retry is not None:
                retry.cancel()
        else:
            n = self._failures.get(name, 0)
            self._failures[name] = n + 1
            delay = min(BACKOFF_MAX, BACKOFF_START * (2**n))
            # one pending retry per APIService (a newer failure replaces the older timer)
            previous = self._retries.pop(name, None)
            if previous is not None and previous is not asyncio.current_task():
                previous.cancel()
            self._retries[name] = asyncio.get_running_loop().create_task(
                self._requeue_later(name, delay)
            )
        return result

    async def _requeue_later(self, name: str, delay: float) -> None:
        await self._sleep(delay)
        self.enqueue(name)

    def _write(self, name: str, result: Availability) -> None:
        try:
            current = self._store.get_stored("apiservices.apiregistration.k8s.io", name).obj
        except Exception:
            return
        old = available_condition(current)
        if old is not None and (old.get("status"), old.get("reason"), old.get("message")) == (
            result.status,
            result.reason,
            result.message,
        ):
            return
        transition = now_rfc3339(self._now())
        if old is not None and old.get("status") == result.status:
            transition = old.get("lastTransitionTime") or transition
        cond = {
            "type": "Available",
            "status": result.status,
            "lastTransitionTime": transition,
            "reason": result.reason,
            "message": result.message,
        }
        log.info(
            '"changing APIService availability" name="%s" oldStatus="%s" newStatus="%s" '
            'message="%s" reason="%s"',
            name,
            old.get("status") if old else "",
            result.status,
            result.message,
            result.reason,
        )

        def apply(obj: Obj) -> None:
            status = obj.setdefault("status", {})
            conds = [c for c in status.get("conditions") or [] if c.get("type") != "Available"]
            conds.append(cond)
            status["conditions"] = conds

        self._store.mutate("apiservices.apiregistration.k8s.io", name, None, apply)
