"""List+watch caches of nodes and Running pods (upstream's node informer and pod metadata informer).

Protocol and behaviour are split the kopf way: :class:`Reflector` owns the watch protocol
(list → watch from the list's resourceVersion, bookmarks, reconnect on EOF or timeout, relist
on 410 ``Expired``/``Gone``, backoff on errors) over any two coroutines that return raw
``aiohttp`` responses; :class:`NodeInformer` and :class:`PodInformer` own what is kept.

Only the fields metricsd reads are kept ("slim" objects): for pods the namespace, name and
labels (label dicts interned, since replicas share them), for nodes the name, labels, addresses,
kubelet daemon port and the resource-metrics-path annotation. 30,000 pods then cost a few MB.

:class:`metricsd.apiclient.APIClient` sends the requests (:func:`api_call`); lists and
watches are read raw and parsed with ``json`` (a typed client's ``Watch`` helper would
deserialise every event into full models — slow for 30,000 pods — and retry 410 only once).

Upstream lists ALL nodes and applies ``--node-selector`` in the scraper and in the API's List;
we do the same (:meth:`NodeInformer.scrape_targets`), so a Get of an excluded node reaches
the metrics layer exactly as upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from metricsd.api.types import NodeMeta, PodMeta
from metricsd.apiserverlog import LibraryLog
from metricsd.clock import Clock, RealClock
from metricsd.durations import SECOND, format_duration
from metricsd.kubeconfig import api_status_message
from metricsd.scraper.addresses import METRICS_PATH_ANNOTATION
from metricsd.scraper.batch import LogFn, no_log
from metricsd.selectors import LabelSelector

__all__ = [
    "NodeInfo",
    "NodeInformer",
    "PodInformer",
    "Reflector",
    "WatchExpired",
    "slim_node",
]

ERROR = -1
RawCall = Callable[..., Awaitable[Any]]  # api_call(...), or a kubernetes_asyncio list_* method


class WatchExpired(Exception):
    """The server no longer has our resourceVersion (410): relist."""


class ListError(Exception):
    """A list or watch request failed (non-2xx or transport error)."""


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A node as metricsd needs it (satisfies the scraper's ``NodeEndpoint``)."""

    name: str
    labels: Mapping[str, str]
    addresses: tuple[tuple[str, str], ...]
    daemon_port: int
    annotations: Mapping[str, str]

    def meta(self) -> NodeMeta:
        return NodeMeta(self.name, self.labels)


def _labels(meta: Mapping[str, Any]) -> dict[str, str]:
    labels = meta.get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def slim_node(obj: Mapping[str, Any]) -> NodeInfo:
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    addresses = tuple(
        (str(a.get("type", "")), str(a.get("address", "")))
        for a in status.get("addresses") or []
        if isinstance(a, dict)
    )
    endpoint = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {})
    try:
        port = int(endpoint.get("Port", 0) or 0)
    except (TypeError, ValueError):
        port = 0
    annotations = meta.get("annotations") or {}
    kept = {}
    if isinstance(annotations, dict) and METRICS_PATH_ANNOTATION in annotations:
        kept[METRICS_PATH_ANNOTATION] = str(annotations[METRICS_PATH_ANNOTATION])
    return NodeInfo(str(meta.get("name", "")), _labels(meta), addresses, port, kept)


class _Interner:
    """Shares identical label dicts between pods (replicas of one template)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}

    def __call__(self, labels: dict[str, str]) -> dict[str, str]:
        key = tuple(sorted(labels.items()))
        shared = self._seen.get(key)
        if shared is None:
            self._seen[key] = shared = labels
        return shared

    def prune(self, live: Iterable[Mapping[str, str]]) -> None:
        keep = {id(x) for x in live}
        self._seen = {k: v for k, v in self._seen.items() if id(v) in keep}




class Reflector:
    """List+watch one resource into ``handler`` callbacks; tracks ``synced``."""

    def __init__(
        self,
        resource: str,
        call: RawCall,
        *,
        on_replace: Callable[[list[dict[str, Any]]], None],
        on_upsert: Callable[[dict[str, Any]], None],
        on_delete: Callable[[dict[str, Any]], None],
        clock: Clock | None = None,
        log: LogFn = no_log,
        rng: random.Random | None = None,
        watch_timeout: tuple[int, int] = (300, 600),
        call_kwargs: Mapping[str, Any] | None = None,
        describe_error: Callable[[BaseException], Awaitable[str]] | None = None,
        lib: LibraryLog | None = None,
        resync: str = "0s",
        client_go_params: bool = False,
    ) -> None:
        self.describe_error = describe_error
        #: where the reflector's own lines go (Starting reflector, Listing and watching, …)
        self.lib = lib
        self.resync = resync
        #: ask as client-go's reflector asks: a first list from the watch cache
        #: (``limit=500&resourceVersion=0``), ``timeout=`` beside ``timeoutSeconds=``
        self.client_go_params = client_go_params
        self.resource = resource
        self.call = call
        self.on_replace = on_replace
        self.on_upsert = on_upsert
        self.on_delete = on_delete
        self.clock = clock or RealClock()
        self.log = log
        self.rng = rng or random.Random()
        self.watch_timeout = watch_timeout
        self.call_kwargs = dict(call_kwargs or {})
        self.resource_version = ""
        self.synced = asyncio.Event()
        self.relists = 0
        self.watches = 0

    @property
    def has_synced(self) -> bool:
        return self.synced.is_set()

    async def list_once(self) -> None:
        """One (re)list, page by page when the server pages it (``continue``)."""
        if self.lib is not None:
            self.lib.reflector_listing(self.resource)
        params: dict[str, Any] = {}
        if self.client_go_params:
            params["limit"] = LIST_PAGE_SIZE
            if not self.resource_version and self.relists == 0:
                params["resource_version"] = "0"
        items: list[dict[str, Any]] = []
        while True:
            response = await self.call(_preload_content=False, **params, **self.call_kwargs)
            try:
                body = await response.read()
                if response.status != 200:
                    raise ListError(f"failed to list {self.resource}: "
                                    f"{api_status_message(body, response.status)}")
            finally:
                response.release()
            doc = json.loads(body)
            meta = doc.get("metadata") or {}
            items += [i for i in doc.get("items") or [] if isinstance(i, dict)]
            token = meta.get("continue")
            if not token:
                break
            params = {"limit": LIST_PAGE_SIZE, "_continue": str(token)}
        self.resource_version = str(meta.get("resourceVersion", ""))
        self.on_replace(items)
        self.relists += 1
        if self.lib is not None:
            self.lib.reflector_populated(self.resource)
        self.synced.set()

    async def watch_once(self) -> None:
        """One watch request until the server ends it; raises WatchExpired on 410."""
        timeout = self.rng.randint(*self.watch_timeout)
        extra: dict[str, Any] = {}
        if self.client_go_params:
            extra["timeout"] = format_duration(timeout * SECOND)
        response = await self.call(
            _preload_content=False,
            watch=True,
            allow_watch_bookmarks=True,
            resource_version=self.resource_version,
            timeout_seconds=timeout,
            _request_timeout=_watch_timeout(),
            **extra,
            **self.call_kwargs,
        )
        self.watches += 1
        try:
            if response.status == 410:
                raise WatchExpired(api_status_message(await response.read(), 410))
            if response.status != 200:
                raise ListError(f"failed to watch {self.resource}: "
                                f"{api_status_message(await response.read(), response.status)}")
            while True:
                line = await response.content.readline()
                if not line:
                    return  # EOF: server ended the watch; resume from the last RV
                if not line.strip():
                    continue
                self._event(line)
        finally:
            response.release()

    def _event(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            self.log(ERROR, "Ignoring malformed watch line", resource=self.resource)
            return
        if not isinstance(event, dict):
            return
        kind = str(event.get("type", ""))
        obj = event.get("object")
        if not isinstance(obj, dict):
            if "code" in event:  # a bare Status line
                obj, kind = event, "ERROR"
            else:
                return
        if kind == "ERROR":
            code = obj.get("code")
            message = str(obj.get("message", ""))
            if code == 410 or obj.get("reason") in ("Expired", "Gone"):
                raise WatchExpired(message)
            raise ListError(f"watch of {self.resource} failed: {message}")
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv:
            self.resource_version = str(rv)
        if kind in ("ADDED", "MODIFIED"):
            self.on_upsert(obj)
        elif kind == "DELETED":
            self.on_delete(obj)

    async def run(self) -> None:
        """List, then watch forever; relist on 410; back off on errors."""
        if self.lib is not None:
            self.lib.reflector_starting(self.resource, self.resync)
        try:
            await self._run()
        finally:
            if self.lib is not None:
                self.lib.reflector_stopping(self.resource, self.resync)

    async def _run(self) -> None:
        backoff = 0.8
        need_list = True
        while True:
            try:
                if need_list:
                    await self.list_once()
                    need_list = False
                await self.watch_once()
                backoff = 0.8
            except asyncio.CancelledError:
                raise
            except WatchExpired as err:
                self.log(4, "Watch expired, relisting", resource=self.resource, err=str(err))
                self.resource_version = ""
                need_list = True
            except Exception as err:
                what = "list" if need_list else "watch"
                text = _err_text(err)
                if self.describe_error is not None and not isinstance(err, ListError):
                    text = await self.describe_error(err)
                self.log(ERROR, f"Failed to {what} {self.resource}", err=text)
                await self.clock.sleep(backoff)
                backoff = min(backoff * 2, 30.0)


def _err_text(err: BaseException) -> str:
    text = str(err)
    return text if text else type(err).__name__


def _watch_timeout() -> Any:
    import aiohttp

    return aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=None)


METADATA_ACCEPT = ("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
                   "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,"
                   "application/json")
JSON_ACCEPT = "application/json"
#: client-go's reflector pages lists by this many items (when the server pages at all)
LIST_PAGE_SIZE = 500
_QUERY_NAMES = {
    "field_selector": "fieldSelector",
    "label_selector": "labelSelector",
    "watch": "watch",
    "allow_watch_bookmarks": "allowWatchBookmarks",
    "resource_version": "resourceVersion",
    "timeout_seconds": "timeoutSeconds",
    "timeout": "timeout",
    "limit": "limit",
    "_continue": "continue",
}


def api_call(api_client: Any, path: str, accept: str = JSON_ACCEPT,
             lib: LibraryLog | None = None) -> RawCall:
    """A raw list/watch call of ``path`` through an :class:`~metricsd.apiclient.APIClient`,
    with the query sorted by name as client-go's ``url.Values.Encode`` writes it, and — at
    ``--v=6`` — client-go's ``GET <url> <status> in N milliseconds`` line once the response
    headers are in."""

    async def call(*, _preload_content: bool = False, _request_timeout: Any = None,
                   **params: Any) -> Any:
        query = []
        for key, value in params.items():
            if value is None or value == "":
                continue
            name = _QUERY_NAMES.get(key)
            if name is None:
                raise TypeError(f"unexpected list parameter {key!r}")
            query.append((name, ("true" if value else "false") if isinstance(value, bool)
                          else str(value)))
        query.sort()
        started = time.monotonic()
        response = await api_client.get(path, query, {"Accept": accept}, _request_timeout)
        if lib is not None and lib.request_enabled():
            lib.request("GET", api_client.url(path, query), response.status,
                        response.reason or "", time.monotonic() - started)
        return response

    return call


def metadata_call(api_client: Any, path: str, lib: LibraryLog | None = None) -> RawCall:
    """A raw list/watch call asking for ``PartialObjectMetadata`` (upstream's metadata
    informer): ~0.4 KB per pod on the wire instead of the whole object. Servers that do not
    know the media type answer plain JSON, which the slim cache reads just the same."""
    return api_call(api_client, path, METADATA_ACCEPT, lib)


class NodeInformer:
    """All nodes, slim; the API's ``NodeLister`` and the scraper's node source."""

    def __init__(self, list_nodes: RawCall, node_selector: LabelSelector | None = None,
                 **reflector_kw: Any) -> None:
        self.node_selector = node_selector or LabelSelector()
        self._nodes: dict[str, NodeInfo] = {}
        self.reflector = Reflector("*v1.Node", list_nodes, on_replace=self._replace,
                                   on_upsert=self._upsert, on_delete=self._delete, **reflector_kw)

    def _replace(self, items: list[dict[str, Any]]) -> None:
        nodes = (slim_node(i) for i in items)
        self._nodes = {n.name: n for n in nodes}

    def _upsert(self, obj: dict[str, Any]) -> None:
        node = slim_node(obj)
        self._nodes[node.name] = node

    def _delete(self, obj: dict[str, Any]) -> None:
        self._nodes.pop(str((obj.get("metadata") or {}).get("name", "")), None)

    @property
    def has_synced(self) -> bool:
        return self.reflector.has_synced

    def scrape_targets(self) -> list[NodeInfo]:
        """Nodes matching ``--node-selector`` (what each tick scrapes)."""
        sel = self.node_selector
        return [n for n in self._nodes.values() if sel.matches(n.labels)]

    # NodeLister (metricsd.api.types)
    def list_nodes(self, selector: LabelSelector) -> list[NodeMeta]:
        return [n.meta() for n in self._nodes.values() if selector.matches(n.labels)]

    def get_node(self, name: str) -> NodeMeta | None:
        node = self._nodes.get(name)
        return node.meta() if node is not None else None

    def __len__(self) -> int:
        return len(self._nodes)


class PodInformer:
    """Running pods' namespace, name and labels; the API's ``PodLister``."""

    def __init__(self, list_pods: RawCall, **reflector_kw: Any) -> None:
        self._by_ns: dict[str, dict[str, PodMeta]] = {}
        self._count = 0
        self._intern = _Interner()
        kw = dict(reflector_kw)
        call_kwargs = dict(kw.pop("call_kwargs", {}) or {})
        call_kwargs.setdefault("field_selector", "status.phase=Running")
        self.reflector = Reflector("*v1.PartialObjectMetadata", list_pods,
                                   on_replace=self._replace, on_upsert=self._upsert,
                                   on_delete=self._delete, call_kwargs=call_kwargs, **kw)

    def _slim(self, obj: Mapping[str, Any]) -> PodMeta:
        meta = obj.get("metadata") or {}
        return PodMeta(str(meta.get("namespace", "")), str(meta.get("name", "")),
                       self._intern(_labels(meta)))

    def _replace(self, items: list[dict[str, Any]]) -> None:
        by_ns: dict[str, dict[str, PodMeta]] = {}
        for item in items:
            pod = self._slim(item)
            by_ns.setdefault(pod.namespace, {})[pod.name] = pod
        self._by_ns = by_ns
        self._count = sum(len(v) for v in by_ns.values())
        self._intern.prune(p.labels for ns in by_ns.values() for p in ns.values())

    def _upsert(self, obj: dict[str, Any]) -> None:
        pod = self._slim(obj)
        ns = self._by_ns.setdefault(pod.namespace, {})
        if pod.name not in ns:
            self._count += 1
        ns[pod.name] = pod

    def _delete(self, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        ns = self._by_ns.get(str(meta.get("namespace", "")))
        if ns is not None and ns.pop(str(meta.get("name", "")), None) is not None:
            self._count -= 1
            if not ns:
                self._by_ns.pop(str(meta.get("namespace", "")), None)

    @property
    def has_synced(self) -> bool:
        return self.reflector.has_synced

    # PodLister (metricsd.api.types)
    def list_pods(self, namespace: str | None, selector: LabelSelector) -> list[PodMeta]:
        if namespace is not None:
            pods: Iterable[PodMeta] = self._by_ns.get(namespace, {}).values()
        else:
            pods = (p for ns in self._by_ns.values() for p in ns.values())
        if selector.empty():
            return list(pods)
        return [p for p in pods if selector.matches(p.labels)]

    def get_pod(self, namespace: str, name: str) -> PodMeta | None:
        return self._by_ns.get(namespace, {}).get(name)

    def __len__(self) -> int:
        return self._count


async def run_until_cancelled(*reflectors: Reflector) -> None:
    """Run reflectors together; cancelling this cancels them all."""
    tasks = [asyncio.create_task(r.run()) for r in reflectors]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
