"""HTTP layer: request parsing (RequestInfo), authn → authz → routing, resource verbs, watch.

One catch-all aiohttp handler dispatches every request, so extension points (mounted path
prefixes, virtual create handlers, subresource handlers) can be added while serving. Every
failure is answered with a ``metav1.Status`` JSON body (never a stack trace); watch streams
report errors as an ``ERROR`` event.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .discovery import (
    aggregated_content_type,
    negotiate_aggregated,
    openapi_v2_protobuf,
    openapi_v3_document,
    openapi_v3_root,
)
from .kinds import Kind
from .rbac import Attributes, Decision, UserInfo, forbidden_status
from .requestbody import decode_object_body, object_media_type, read_body, read_object, read_patch
from .scale import scale_object, update_scale
from .selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
    selector_from_match_labels,
)
from .store import ApiError, Obj
from .tables import row_bytes, table_bytes
from .validation import BODY, Rejected, check_types
from .watch import (
    StoredObject,
    Watcher,
    bookmark_line,
    dumps,
    encode_full,
    encode_metadata,
    error_line,
)

if TYPE_CHECKING:
    from .app import APIServer

log = logging.getLogger(__name__)

JSON = "application/json"
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_NAMESPACE_SUBRESOURCES = {"status", "finalize"}
#: How often an idle watch checks that its client is still connected (seconds).
_DISCONNECT_CHECK = 5.0


def parse_bool(value: str | None) -> bool:
    """Go's strconv.ParseBool truthy spellings (kubernetes_asyncio sends ``True``)."""
    return value is not None and value in _TRUE


# ---------------------------------------------------------------------------- request info


@dataclass(frozen=True)
class RequestInfo:
    """What a request is about, parsed from method + path like kube-apiserver's RequestInfo."""

    path: str
    verb: str
    resource_request: bool = False
    api_prefix: str = ""
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple[str, ...] = ()
    #: the name a list/watch is narrowed to by its field selector (authorization only: the
    #: request is still a list, routed by :attr:`name` from the path)
    selector_name: str = ""

    def attributes(self, user: UserInfo) -> Attributes:
        return Attributes(
            user=user.name, groups=tuple(user.groups), verb=self.verb,
            resource_request=self.resource_request, namespace=self.namespace,
            api_group=self.group, api_version=self.version, resource=self.resource,
            subresource=self.subresource, name=self.name or self.selector_name,
            path=self.path, uid=user.uid, extra=user.extra)


_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "GET": "get",
                 "HEAD": "get", "DELETE": "delete"}


def name_from_field_selector(text: str | None) -> str:
    """The name a list or watch is narrowed to by ``fieldSelector=metadata.name=X``.

    kube-apiserver's RequestInfoFactory puts it in the request's name for authorization (the
    request stays a list), so RBAC rules with
    ``resourceNames`` allow such a list/watch: client-go's informer for one object (the
    ``extension-apiserver-authentication`` ConfigMap every aggregated server watches) depends
    on it. An unparsable selector or a name that is not a valid path segment leaves it empty.
    """
    try:
        name = parse_field_selector(text).exact("metadata.name")
    except SelectorError:
        return ""
    if not name or name in (".", "..") or "/" in name or "%" in name:
        return ""
    return name


def parse_request_info(method: str, path: str, query: dict[str, str] | Any) -> RequestInfo:
    parts = tuple(p for p in path.strip("/").split("/") if p)
    non_resource = RequestInfo(path=path, verb=method.lower())
    if not parts or parts[0] not in ("api", "apis"):
        return non_resource
    prefix = parts[0]
    rest = list(parts[1:])
    group = ""
    if prefix == "apis":
        if not rest:
            return non_resource
        group = rest.pop(0)
    if not rest:
        return non_resource
    version = rest.pop(0)
    if not rest:
        return non_resource
    verb = _METHOD_VERBS.get(method, method.lower())
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if len(rest) > 3:
        subresource = "/".join(rest[2:])
    selector_name = ""
    if not name:
        if verb == "get":
            verb = "watch" if parse_bool(query.get("watch")) else "list"
            selector_name = name_from_field_selector(query.get("fieldSelector"))
        elif verb == "delete":
            verb = "deletecollection"
    return RequestInfo(path=path, verb=verb, resource_request=True, api_prefix=prefix,
                       group=group, version=version, namespace=namespace, resource=resource,
                       subresource=subresource, name=name, parts=parts,
                       selector_name=selector_name)


@dataclass
class RequestContext:
    """Everything a handler (built-in or an extension) needs about one request."""

    request: web.Request
    user: UserInfo
    info: RequestInfo
    attrs: Attributes
    server: APIServer
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[RequestContext], Awaitable[web.StreamResponse]]
#: A virtual create handler: (request body, context) → response object (sent with 201).
CreateHandler = Callable[[Obj, RequestContext], Awaitable[Obj]]
AuthorizerFn = Callable[[Attributes], "Decision | Awaitable[Decision]"]


# ---------------------------------------------------------------------------- responses


def page_not_found() -> web.Response:
    """Go's ``http.NotFound``: ``404 page not found`` as text/plain, nosniff."""
    resp = web.Response(status=404, body=b"404 page not found\n")
    resp.headers["Content-Type"] = "text/plain; charset=utf-8"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def json_response(body: Obj | bytes, status: int = 200,
                  content_type: str = JSON) -> web.Response:
    data = body if isinstance(body, bytes) else dumps(body)
    resp = web.Response(body=data, status=status)
    resp.headers["Content-Type"] = content_type
    return resp


def status_response(err: ApiError) -> web.Response:
    return json_response(err.status(), err.code)


def success_status(kind: Kind, stored: StoredObject) -> Obj:
    details: Obj = {"name": stored.name}
    if kind.group:
        details["group"] = kind.group
    details["kind"] = kind.plural
    details["uid"] = stored.obj.get("metadata", {}).get("uid", "")
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}


@dataclass(frozen=True)
class Negotiated:
    """The representation a GET asked for."""

    table: str | None = None  # Table apiVersion (meta.k8s.io/v1 or v1beta1)
    metadata_only: bool = False


def negotiate(accept: str) -> Negotiated:
    for media in accept.split(","):
        pieces = [p.strip() for p in media.split(";")]
        params = dict(p.partition("=")[::2] for p in pieces[1:])
        kind = params.get("as")
        if kind == "Table" and params.get("g") == "meta.k8s.io":
            return Negotiated(table=f"meta.k8s.io/{params.get('v', 'v1')}")
        if kind in ("PartialObjectMetadataList", "PartialObjectMetadata") and params.get(
                "g") == "meta.k8s.io":
            return Negotiated(metadata_only=True)
        if pieces[0] in ("application/json", "*/*", "application/vnd.kubernetes.protobuf",
                         "application/yaml") and not kind:
            return Negotiated()
    return Negotiated()


# ---------------------------------------------------------------------------- dispatcher


class RestHandler:
    """The catch-all request handler bound to one APIServer."""

    def __init__(self, server: APIServer) -> None:
        self.server = server

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._handle(request)
        except ApiError as err:
            return status_response(err)
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except web.HTTPException:
            raise
        except Exception as exc:  # never a stack trace to the client
            log.exception("internal error serving %s %s", request.method, request.path)
            return status_response(ApiError(500, "InternalError",
                                            f"Internal error occurred: {exc}"))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        server = self.server
        user = await server.authenticator.authenticate(request)
        info = parse_request_info(request.method, request.path, request.query)
        attrs = info.attributes(user)
        ctx = RequestContext(request, user, info, attrs, server)
        mount = server.find_mount(request.path)
        if mount is None or mount.authorize:
            decision = server.authorizer(attrs)
            if inspect.isawaitable(decision):
                decision = await decision
            assert isinstance(decision, Decision)
            if not decision.allowed:
                return json_response(forbidden_status(attrs, decision.reason), 403)
        if mount is not None:
            return await mount.handler(ctx)
        if not info.resource_request:
            return await self._non_resource(ctx)
        return await self._resource(ctx)

    # ------------------------------------------------------------------ non-resource
    async def _non_resource(self, ctx: RequestContext) -> web.StreamResponse:
        server = self.server
        request = ctx.request
        path = request.path.rstrip("/") or "/"
        if request.method not in ("GET", "HEAD"):
            raise ApiError.method_not_allowed()
        if path == "/version":
            return json_response(server.version_info())
        if path in ("/healthz", "/livez", "/readyz"):
            return self._health(path, request)
        if path in ("/api", "/apis"):
            return self._discovery_root(path == "/api", request)
        parts = path.strip("/").split("/")
        if parts[0] == "apis" and len(parts) == 2:
            body = server.discovery.api_group(parts[1])
            if body is None:
                raise ApiError.not_found_path()
            return json_response(body)
        if parts[0] in ("api", "apis") and len(parts) in (2, 3):
            group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
            body = server.discovery.resource_list(group, version)
            if body is None:
                raise ApiError.not_found_path()
            return json_response(body)
        if path == "/openapi/v2":
            resp = web.Response(body=openapi_v2_protobuf(server.registry,
                                                         server.discovery.kube_version))
            resp.headers["Content-Type"] = OPENAPI_V2_PROTOBUF
            return resp
        if path == "/openapi/v3":
            return json_response(openapi_v3_root(server.registry))
        if path.startswith("/openapi/v3/"):
            doc = openapi_v3_document(server.registry, path[len("/openapi/v3/"):],
                                      server.discovery.kube_version)
            if doc is None:
                raise ApiError.not_found_path()
            return json_response(doc)
        if path == "/":
            paths = sorted({"/api", "/apis", "/healthz", "/livez", "/readyz", "/version",
                            "/openapi/v2", "/openapi/v3"})
            return json_response({"paths": paths})
        raise ApiError.not_found_path()

    def _health(self, path: str, request: web.Request) -> web.Response:
        name = path.strip("/")
        text = "ok"
        if "verbose" in request.query:
            checks = ["ping", "log", "etcd", "poststarthook/start-apiextensions-informers"]
            text = "".join(f"[+]{c} ok\n" for c in checks) + f"{name} check passed\n"
        resp = web.Response(text=text)
        resp.headers["Content-Type"] = "text/plain; charset=utf-8"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp

    def _discovery_root(self, core: bool, request: web.Request) -> web.Response:
        discovery = self.server.discovery
        version = negotiate_aggregated(request.headers.get("Accept", ""),
                                       discovery.kube_version)
        if version is not None:
            body = discovery.aggregated(core, version)
            resp = json_response(body, content_type=aggregated_content_type(version))
            resp.headers["Vary"] = "Accept"
            return resp
        if core:
            return json_response(discovery.api_versions(self.server.address))
        return json_response(discovery.api_group_list())

    # ------------------------------------------------------------------ resources
    def _kind_for(self, info: RequestInfo) -> Kind:
        kind = self.server.registry.by_resource(info.group, info.version, info.resource)
        if kind is None:
            raise ApiError.not_found_path()
        if info.namespace and not kind.namespaced and kind.plural != "namespaces":
            raise ApiError.not_found_path()
        return kind

    async def _resource(self, ctx: RequestContext) -> web.StreamResponse:
        info = ctx.info
        if info.api_prefix == "api" and info.version != "v1":
            raise ApiError.not_found_path()
        if info.api_prefix == "apis" and not any(
                k.group == info.group for k in self.server.registry.all()):
            # no local group and no APIService: the request falls through the aggregator
            # and the apiextensions server to the end of the chain (``http.NotFound``), so
            # clients get text, not a Status: "... could not find the requested resource
            # (get pods.metrics.k8s.io)"
            return page_not_found()
        kind = self._kind_for(info)
        namespace = info.namespace if kind.namespaced else ""
        if kind.plural == "namespaces" and not kind.group and info.name == "" and info.namespace:
            # /api/v1/namespaces/<name> parsed as namespace-only: it is a namespace object
            info = RequestInfo(**{**info.__dict__, "name": info.namespace,
                                  "verb": _METHOD_VERBS.get(ctx.request.method, "get")})
            ctx.info = info
        if kind.plural == "namespaces" and not kind.group:
            namespace = ""
        if info.subresource:
            return await self._subresource(ctx, kind, namespace)
        method = ctx.request.method
        if kind.virtual:
            if method != "POST" or info.name:
                raise ApiError.method_not_allowed()
            return await self._virtual_create(ctx, kind)
        if info.name:
            if method in ("GET", "HEAD"):
                return self._get(ctx, kind, namespace)
            if method == "PUT":
                return await self._update(ctx, kind, namespace)
            if method == "PATCH":
                return await self._patch(ctx, kind, namespace)
            if method == "DELETE":
                return await self._delete(ctx, kind, namespace)
            raise ApiError.method_not_allowed()
        if method in ("GET", "HEAD"):
            if info.verb == "watch":
                return await self._watch(ctx, kind, namespace)
            return self._list(ctx, kind, namespace)
        if method == "POST":
            return await self._create(ctx, kind, namespace)
        if method == "DELETE":
            return await self._delete_collection(ctx, kind, namespace)
        raise ApiError.method_not_allowed()

    def _selectors(self, ctx: RequestContext, kind: Kind) -> tuple[LabelSelector, FieldSelector]:
        query = ctx.request.query
        try:
            labels = parse_label_selector(query.get("labelSelector"))
            fields = parse_field_selector(query.get("fieldSelector"), kind)
        except SelectorError as exc:
            raise ApiError.bad_request(str(exc)) from None
        return labels, fields

    @staticmethod
    def _object_bytes(stored: StoredObject, neg: Negotiated) -> bytes:
        return stored.metadata_raw if neg.metadata_only else stored.raw

    def _get(self, ctx: RequestContext, kind: Kind, namespace: str) -> web.Response:
        store = self.server.store
        stored = store.get_stored(kind, ctx.info.name, namespace or None)
        neg = negotiate(ctx.request.headers.get("Accept", ""))
        if neg.table:  # printers read the storage version
            body = table_bytes(kind, [stored], self.server.clock(), stored.rv,
                               include=ctx_include(ctx), api_version=neg.table,
                               kube_version=self.server.kube_version)
            return json_response(body)
        return json_response(self._object_bytes(store.view(kind, stored), neg))

    def _list(self, ctx: RequestContext, kind: Kind, namespace: str) -> web.Response:
        query = ctx.request.query
        labels, fields = self._selectors(ctx, kind)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            raise ApiError.bad_request(
                f'limit: Invalid value: "{query.get("limit")}": must be an integer') from None
        store = self.server.store
        if query.get("resourceVersion") == "0" and not query.get("continue"):
            # served from the watch cache in kube-apiserver, which ignores limit
            limit = 0
        result = store.list_stored(kind, namespace or None, labels, fields,
                                   max(limit, 0), query.get("continue") or None)
        neg = negotiate(ctx.request.headers.get("Accept", ""))
        if not kind.is_storage and not neg.table:  # printers read the storage version
            result.items = [store.view(kind, s) for s in result.items]
        if neg.table:
            body = table_bytes(kind, result.items, self.server.clock(), result.resource_version,
                               result.continue_token, ctx_include(ctx), neg.table,
                               kube_version=self.server.kube_version)
            return json_response(body)
        meta: Obj = {"resourceVersion": str(result.resource_version)}
        if result.continue_token:
            meta["continue"] = result.continue_token
        if neg.metadata_only:
            head = {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                    "metadata": meta}
            items = b",".join(s.metadata_raw for s in result.items)
        else:
            head = {"kind": kind.list_kind, "apiVersion": kind.api_version, "metadata": meta}
            items = b",".join(s.raw for s in result.items)
        return json_response(dumps(head)[:-1] + b',"items":[' + items + b"]}")

    async def _read_object(self, ctx: RequestContext, kind: Kind) -> Obj:
        return await read_object(ctx.request, kind.kind, kind.version)

    async def _create(self, ctx: RequestContext, kind: Kind, namespace: str) -> web.Response:
        body = await self._read_object(ctx, kind)
        if kind.namespaced and not namespace:
            raise ApiError.not_found_path()
        with self.server.store.api_request(_dry_run(ctx)):
            stored = self.server.store.create_stored(kind, body, namespace or None)
        return json_response(self.server.store.view(kind, stored).raw, 201)

    async def _update(self, ctx: RequestContext, kind: Kind, namespace: str) -> web.Response:
        body = await self._read_object(ctx, kind)
        meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else None
        if meta is not None and meta.get("name") not in (None, ctx.info.name):
            raise ApiError.bad_request("the name of the object "
                                       f"({meta.get('name')}) does not match the name on the "
                                       f"URL ({ctx.info.name})")
        body.setdefault("metadata", {})["name"] = ctx.info.name
        with self.server.store.api_request(_dry_run(ctx)):
            stored = self.server.store.update_stored(kind, body, None, namespace or None)
        return json_response(self.server.store.view(kind, stored).raw)

    async def _patch(self, ctx: RequestContext, kind: Kind, namespace: str,
                     subresource: str | None = None) -> web.Response:
        content_type, patch = await read_patch(ctx.request)
        with self.server.store.api_request(_dry_run(ctx)):
            stored = self.server.store.patch_stored(kind, ctx.info.name, patch, content_type,
                                                    namespace or None, subresource)
        return json_response(self.server.store.view(kind, stored).raw)

    async def _delete(self, ctx: RequestContext, kind: Kind, namespace: str) -> web.Response:
        options = await self._delete_options(ctx)
        propagation = ctx.request.query.get("propagationPolicy") or options.get(
            "propagationPolicy")
        grace = _grace_seconds(ctx.request.query.get("gracePeriodSeconds"),
                               options.get("gracePeriodSeconds"))
        with self.server.store.api_request(_dry_run(ctx) or bool(options.get("dryRun"))):
            stored = self.server.store.delete_stored(kind, ctx.info.name, namespace or None,
                                                     options.get("preconditions"), propagation,
                                                     grace)
        if kind.key in ("/pods", "/namespaces"):
            return json_response(self.server.store.view(kind, stored).raw)
        return json_response(success_status(kind, stored))

    async def _delete_options(self, ctx: RequestContext) -> Obj:
        raw = await read_body(ctx.request)
        if not raw.strip():
            return {}
        media = object_media_type(ctx.request.headers.get("Content-Type"))
        return decode_object_body(raw, media, "DeleteOptions", "v1")

    async def _delete_collection(self, ctx: RequestContext, kind: Kind, namespace: str
                                 ) -> web.Response:
        labels, fields = self._selectors(ctx, kind)
        store = self.server.store
        result = store.list_stored(kind, namespace or None, labels, fields)
        deleted = []
        for item in result.items:
            try:
                deleted.append(store.delete_stored(kind, item.name, item.namespace or None))
            except ApiError:
                continue
        head = {"kind": kind.list_kind, "apiVersion": kind.api_version,
                "metadata": {"resourceVersion": str(store.resource_version)}}
        return json_response(dumps(head)[:-1] + b',"items":['
                             + b",".join(store.view(kind, s).raw for s in deleted) + b"]}")

    async def _virtual_create(self, ctx: RequestContext, kind: Kind) -> web.Response:
        handler = self.server.create_handler(kind)
        if handler is None:
            raise ApiError.not_found_path()
        body = await self._read_object(ctx, kind)
        try:
            check_types(kind.group, kind.version, kind.kind, body)
        except Rejected as rejected:
            raise ApiError.rejected(rejected) from None
        result = await handler(body, ctx)
        result.setdefault("kind", kind.kind)
        result.setdefault("apiVersion", kind.api_version)
        return json_response(result, 201)

    async def _subresource(self, ctx: RequestContext, kind: Kind, namespace: str
                           ) -> web.StreamResponse:
        sub = ctx.info.subresource
        if kind.subresource(sub) is None:
            raise ApiError.not_found_path()
        handler = self.server.subresource_handler(kind, sub)
        if handler is not None:
            return await handler(ctx)
        method = ctx.request.method
        store = self.server.store
        if sub == "status":
            if method in ("GET", "HEAD"):
                return json_response(store.view(kind, store.get_stored(
                    kind, ctx.info.name, namespace)).raw)
            if method == "PUT":
                body = await self._read_object(ctx, kind)
                body.setdefault("metadata", {})["name"] = ctx.info.name
                with store.api_request(_dry_run(ctx)):
                    stored = store.update_stored(kind, body, "status", namespace or None)
                return json_response(store.view(kind, stored).raw)
            if method == "PATCH":
                return await self._patch(ctx, kind, namespace, "status")
            raise ApiError.method_not_allowed()
        if sub == "scale":
            return await self._scale(ctx, kind, namespace)
        if sub == "eviction" and method == "POST":
            return await self._evict(ctx, kind, namespace)
        if sub == "log" and method == "GET":
            store.get_stored(kind, ctx.info.name, namespace)
            resp = web.Response(text="")
            resp.headers["Content-Type"] = "text/plain"
            return resp
        raise ApiError.method_not_allowed()

    async def _evict(self, ctx: RequestContext, kind: Kind, namespace: str) -> web.Response:
        """policy/v1 Eviction: refused (429) by a matching PDB with no disruptions allowed."""
        store = self.server.store
        await self._read_object(ctx, kind)
        pod = store.get_stored(kind, ctx.info.name, namespace)
        for pdb in store.list_stored("poddisruptionbudgets", namespace).items:
            selector = (pdb.obj.get("spec") or {}).get("selector")
            try:
                matches = selector is not None and selector_from_match_labels(
                    selector).matches(pod.labels)
            except SelectorError:
                matches = False
            status = pdb.obj.get("status") or {}
            allowed = status.get("disruptionsAllowed")
            if matches and allowed is not None and int(allowed) <= 0:
                raise ApiError(429, "TooManyRequests", "Cannot evict pod as it would violate "
                               "the pod's disruption budget.", {"causes": [{
                                   "reason": "DisruptionBudget",
                                   "message": f"The disruption budget {pdb.name} needs "
                                   f"{status.get('desiredHealthy', 0)} healthy pods and has "
                                   f"{status.get('currentHealthy', 0)} currently"}]})
        with store.api_request(_dry_run(ctx)):
            store.delete_stored(kind, ctx.info.name, namespace or None)
        return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                              "status": "Success", "code": 201}, 201)

    async def _scale(self, ctx: RequestContext, kind: Kind, namespace: str) -> web.Response:
        store = self.server.store
        stored = store.get_stored(kind, ctx.info.name, namespace)
        method = ctx.request.method
        if method in ("GET", "HEAD"):
            return json_response(scale_object(stored.obj))
        if method not in ("PUT", "PATCH"):
            raise ApiError.method_not_allowed()
        if method == "PATCH":
            from .patch import PatchError, apply_patch

            how, body = await read_patch(ctx.request)
            try:
                scale = apply_patch(scale_object(stored.obj), body, how)
            except PatchError as exc:
                raise ApiError.bad_request(str(exc)) from None
        else:
            how, body = BODY, None
            scale = await read_object(ctx.request, "Scale", "v1")
        try:
            check_types("autoscaling", "v1", "Scale", scale, how, body)
        except Rejected as rejected:
            raise ApiError.rejected(rejected) from None
        return json_response(update_scale(store, kind, ctx.info.name, namespace, scale))

    # ------------------------------------------------------------------ watch
    async def _watch(self, ctx: RequestContext, kind: Kind, namespace: str
                     ) -> web.StreamResponse:
        request = ctx.request
        query = request.query
        labels, fields = self._selectors(ctx, kind)
        neg = negotiate(request.headers.get("Accept", ""))
        server = self.server
        try:
            timeout = float(query.get("timeoutSeconds") or server.watch_timeout)
        except ValueError:
            raise ApiError.bad_request("timeoutSeconds must be a number") from None
        bookmarks = parse_bool(query.get("allowWatchBookmarks"))
        initial_events = parse_bool(query.get("sendInitialEvents"))
        rv = query.get("resourceVersion")
        if initial_events:
            rv = "0"
        encoder: Callable[[str, StoredObject], bytes] = encode_full
        if neg.table:
            encoder = _table_encoder(kind, server, ctx_include(ctx), neg.table)
        elif neg.metadata_only:
            encoder = encode_metadata

        response = web.StreamResponse(status=200)
        response.headers["Content-Type"] = JSON
        response.enable_chunked_encoding()
        try:
            # Table rows are printed from the storage version (no conversion on the way)
            watch_kind = server.store.storage_kind(kind) if neg.table else kind
            watcher = server.store.watch(watch_kind, namespace or None, labels, fields, rv,
                                         encoder)
        except ApiError as err:
            if err.code != 410:
                raise
            await response.prepare(request)
            await response.write(error_line(err.status()))
            await response.write_eof()
            return response
        await response.prepare(request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        interval = server.bookmark_interval
        next_bookmark = loop.time() + interval
        try:
            if initial_events:
                line = bookmark_line(kind, server.store.resource_version, neg.metadata_only)
                marked = json.loads(line)
                marked["object"]["metadata"]["annotations"] = {
                    "k8s.io/initial-events-end": "true"}
                watcher.push_line(dumps(marked) + b"\n")
            await self._pump(request, response, watcher, deadline,
                             next_bookmark if bookmarks else None, interval, kind,
                             neg.metadata_only)
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            watcher.close()
        try:
            await response.write_eof()
        except (ConnectionResetError, ConnectionError, RuntimeError):
            pass
        return response

    async def _pump(self, request: web.Request, response: web.StreamResponse,
                    watcher: Watcher, deadline: float,
                    next_bookmark: float | None, interval: float, kind: Kind,
                    metadata_only: bool) -> None:
        loop = asyncio.get_running_loop()
        queue = watcher.queue
        while True:
            now = loop.time()
            if now >= deadline:
                return
            wait_until = min(deadline, now + _DISCONNECT_CHECK)
            if next_bookmark is not None:
                wait_until = min(wait_until, next_bookmark)
            try:
                # Queued events are taken directly: a wait with a timeout already due would be
                # cancelled before it could take anything (wait_for with a zero timeout).
                item = queue.get_nowait() if not queue.empty() else await asyncio.wait_for(
                    queue.get(), max(0.0, wait_until - now))
            except TimeoutError:
                transport = request.transport
                if transport is None or transport.is_closing():
                    return  # the client went away while nothing was happening
                if next_bookmark is not None and loop.time() >= next_bookmark:
                    # Events may have been queued while the timed-out get was being cancelled;
                    # a bookmark at the store's RV must not overtake them (the client would
                    # believe it has seen everything up to that RV), so they go first.
                    if not queue.empty():
                        continue
                    await response.write(bookmark_line(
                        kind, self.server.store.resource_version, metadata_only))
                    next_bookmark = loop.time() + interval
                continue
            if item is None:
                return
            chunk = [item]
            while not queue.empty():
                more = queue.get_nowait()
                if more is None:
                    await response.write(b"".join(chunk))
                    return
                chunk.append(more)
                if len(chunk) >= 512:
                    break
            await response.write(b"".join(chunk))


def _dry_run(ctx: RequestContext) -> bool:
    """``?dryRun=All`` (the only value kube-apiserver accepts)."""
    return "All" in ctx.request.query.getall("dryRun", [])


def ctx_include(ctx: RequestContext) -> str:
    value = ctx.request.query.get("includeObject") or "Metadata"
    return value if value in ("None", "Object", "Metadata") else "Metadata"


def _table_encoder(kind: Kind, server: APIServer, include: str, api_version: str
                   ) -> Callable[[str, StoredObject], bytes]:
    first = [True]

    def encode(event_type: str, stored: StoredObject) -> bytes:
        body = table_bytes(kind, [stored], server.clock(), stored.rv, include=include,
                           api_version=api_version, with_columns=first[0],
                           kube_version=server.kube_version)
        first[0] = False
        return b'{"type":"' + event_type.encode() + b'","object":' + body + b"}\n"

    return encode


__all__ = [
    "AuthorizerFn",
    "CreateHandler",
    "Handler",
    "RequestContext",
    "RequestInfo",
    "RestHandler",
    "json_response",
    "parse_bool",
    "parse_request_info",
    "row_bytes",
    "status_response",
]


def _grace_seconds(query: str | None, body: Any) -> int | None:
    """``gracePeriodSeconds`` of a delete (query parameter, else DeleteOptions); None: the
    object's own. Negative values mean "the default" here (kubectl sends -1 for it)."""
    value: Any = query if query is not None else body
    if value is None:
        return None
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise ApiError.bad_request(
            f'gracePeriodSeconds: Invalid value: "{value}": must be an integer') from None
    return None if seconds < 0 else seconds
