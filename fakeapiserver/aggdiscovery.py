"""Aggregated discovery for APIService groups (kube-aggregator's handler_discovery.go).

Why: kubectl ≥1.27 against a server with aggregated discovery decides "Metrics API not
available" from this document alone: a group version published ``Stale`` (no resources) is
dropped by client-go. kube-aggregator publishes a version ``Current`` with the backend's
resources after a successful fetch of the backend's discovery through the proxy, and
``Stale`` with no resources when that fetch fails (including while the APIService is not
Available, because the proxy then answers 503).

The fetch: ``GET /apis`` with the aggregated Accept header as ``system:kube-aggregator`` in
``system:masters`` over the front-proxy certificate with a 5 s timeout; when the backend does
not answer an aggregated document for the group version, fall back to ``GET
/apis/<group>/<version>`` and convert its APIResourceList. Refreshed every minute and whenever
an APIService (spec or availability) changes. Legacy ``/apis`` is not affected: it lists every
APIService group regardless (``Discovery`` does that from the stored objects).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from fakeapiserver.aggregation import (
    AGGREGATOR_GROUP,
    AGGREGATOR_USER,
    EndpointError,
    ObjectReader,
    apiservice_service,
    host_port,
    is_available,
    is_loopback,
    resolve_endpoint,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]

REFRESH_SECONDS = 60.0
FETCH_TIMEOUT_SECONDS = 5.0
AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)

#: Fetches ``url`` as the aggregator: (status, content type, body) or raises.
Fetcher = Callable[[str, str, Any], Awaitable[tuple[int, str, bytes]]]


def resources_from_resource_list(body: Obj) -> list[Obj]:
    """APIResourceDiscovery entries from a legacy APIResourceList (subresources folded in)."""
    top: dict[str, Obj] = {}
    subs: list[Obj] = []
    for res in body.get("resources") or []:
        name = str(res.get("name", ""))
        if "/" in name:
            subs.append(res)
            continue
        entry: Obj = {
            "resource": name,
            "responseKind": {
                "group": res.get("group", ""),
                "version": res.get("version", ""),
                "kind": res.get("kind", ""),
            },
            "scope": "Namespaced" if res.get("namespaced") else "Cluster",
            "singularResource": res.get("singularName", ""),
            "verbs": list(res.get("verbs") or []),
        }
        if res.get("shortNames"):
            entry["shortNames"] = list(res["shortNames"])
        if res.get("categories"):
            entry["categories"] = list(res["categories"])
        top[name] = entry
    for res in subs:
        parent, _, sub = str(res.get("name", "")).partition("/")
        if parent in top:
            top[parent].setdefault("subresources", []).append(
                {
                    "subresource": sub,
                    "responseKind": {
                        "group": res.get("group", ""),
                        "version": res.get("version", ""),
                        "kind": res.get("kind", ""),
                    },
                    "verbs": list(res.get("verbs") or []),
                }
            )
    return list(top.values())


def resources_from_aggregated(body: Obj, group: str, version: str) -> list[Obj] | None:
    """The resources of ``group/version`` in an APIGroupDiscoveryList (None if absent/stale)."""
    for item in body.get("items") or []:
        if (item.get("metadata") or {}).get("name", "") != group:
            continue
        for v in item.get("versions") or []:
            if v.get("version") == version and v.get("freshness", "Current") != "Stale":
                return list(v.get("resources") or [])
    return None


class AggregatedDiscoveryManager:
    """Publishes every non-local APIService group version into :class:`Discovery`."""

    def __init__(
        self,
        store: Any,
        discovery: Any,
        client_ssl: ssl.SSLContext | None,
        *,
        use_endpointslices: bool = False,
        refresh_seconds: float = REFRESH_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        fetcher: Fetcher | None = None,
    ) -> None:
        self._store = store
        self._reader = ObjectReader(store)
        self._discovery = discovery
        if client_ssl is None:
            client_ssl = ssl.create_default_context()
        client_ssl.check_hostname = False
        client_ssl.verify_mode = ssl.CERT_NONE
        self._ssl = client_ssl
        self.use_endpointslices = use_endpointslices
        self._refresh = refresh_seconds
        self._sleep = sleep
        self._fetch = fetcher or self._http_fetch
        self._pending: set[str] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._published: dict[str, tuple[str, str]] = {}

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._unsubscribe = self._store.subscribe(
            self._on_change, ["apiservices.apiregistration.k8s.io"]
        )
        self.enqueue_all()
        self._tasks = [
            asyncio.create_task(self._worker(), name="aggregated-discovery"),
            asyncio.create_task(self._refresh_loop(), name="aggregated-discovery-refresh"),
        ]

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def enqueue(self, name: str) -> None:
        self._pending.add(name)
        self._idle.clear()
        self._wake.set()

    def enqueue_all(self) -> None:
        for stored in self._store.list_stored("apiservices.apiregistration.k8s.io").items:
            self.enqueue(stored.name)
        for name in list(self._published):
            self.enqueue(name)

    async def wait_idle(self) -> None:
        await self._idle.wait()

    def _on_change(self, change: Any) -> None:
        self.enqueue(change.new.name)

    async def _refresh_loop(self) -> None:
        while True:
            await self._sleep(self._refresh)
            self.enqueue_all()

    async def _worker(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                name = self._pending.pop()
                try:
                    await self.sync(name)
                except Exception:
                    log.exception("aggregated discovery refresh failed for %s", name)
            if not self._pending:
                self._idle.set()

    # -- one APIService -------------------------------------------------------------------
    async def sync(self, name: str) -> None:
        try:
            obj: Obj = self._store.get_stored("apiservices.apiregistration.k8s.io", name).obj
        except Exception:
            gv = self._published.pop(name, None)
            if gv is not None:
                self._discovery.remove_aggregated(*gv)
            return
        if apiservice_service(obj) is None:
            return
        spec = obj.get("spec") or {}
        group, version = str(spec.get("group", "")), str(spec.get("version", ""))
        old = self._published.get(name)
        if old is not None and old != (group, version):
            self._discovery.remove_aggregated(*old)
        self._published[name] = (group, version)
        prio = int(spec.get("groupPriorityMinimum") or 100)
        vprio = int(spec.get("versionPriority") or 100)
        resources = await self.fetch_resources(obj) if is_available(obj) else None
        if resources is None:
            self._discovery.set_aggregated(group, version, [], "Stale", prio, vprio)
        else:
            self._discovery.set_aggregated(group, version, resources, "Current", prio, vprio)

    async def fetch_resources(self, apiservice: Obj) -> list[Obj] | None:
        """The backend's resources for the APIService's group version; None on any failure."""
        spec = apiservice.get("spec") or {}
        group, version = str(spec.get("group", "")), str(spec.get("version", ""))
        try:
            ip, port = resolve_endpoint(apiservice, self._reader, self.use_endpointslices)
        except EndpointError:
            return None
        if not is_loopback(ip):
            return None
        base = f"https://{host_port(ip, port)}"
        try:
            status, ctype, body = await self._fetch(base + "/apis", AGGREGATED_ACCEPT, self._ssl)
            if 200 <= status < 300 and "apidiscovery.k8s.io" in ctype:
                found = resources_from_aggregated(json.loads(body), group, version)
                if found is not None:
                    return found
            status, ctype, body = await self._fetch(
                f"{base}/apis/{group}/{version}", "application/json", self._ssl
            )
            if 200 <= status < 300:
                return resources_from_resource_list(json.loads(body))
        except Exception as exc:
            log.info("discovery fetch for %s/%s failed: %s", group, version, exc)
        return None

    @staticmethod
    async def _http_fetch(url: str, accept: str, ctx: Any) -> tuple[int, str, bytes]:
        headers = {
            "Accept": accept,
            "X-Remote-User": AGGREGATOR_USER,
            "X-Remote-Group": AGGREGATOR_GROUP,
        }
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers=headers, ssl=ctx, allow_redirects=False) as resp,
        ):
            return resp.status, resp.headers.get("Content-Type", ""), await resp.read()
