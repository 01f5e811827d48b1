"""The HTTPS surface: authentication → authorization → route, and the ``"HTTP"`` request log.

One catch-all handler on aiohttp's low-level server, so the filter order is exactly the
generic apiserver's (authn, then authz, then the handler) for every path, including health and
``/metrics``; connections are read the way Go's net/http reads them (:mod:`metricsd.gohttp`:
header limits and timeouts, Go's answers to requests that do not parse). Bodies come from the
pure modules (``api``, ``health``, ``monitoring``); this module only routes, encodes JSON the
way Go's encoder does (compact, newline-terminated) and logs. An error escaping a handler is
answered and logged as the apiserver's panic filter does (``apiserver panic'd``).
"""

from __future__ import annotations

import json
import socket
import ssl
import uuid
from typing import Any

from aiohttp import web
from cryptography import x509

from metricsd import klog
from metricsd.api import MetricsAPI, api_group, api_resource_list, negotiate_apis
from metricsd.api import protobuf as pb
from metricsd.api.discovery import aggregated_etag
from metricsd.api.objects import GROUP, VERSION
from metricsd.api.status import status_body
from metricsd.api.types import APIResult
from metricsd.auth import (
    Authenticator,
    Authorizer,
    UserInfo,
    forbidden_body,
    request_attributes,
)
from metricsd.auth.authenticator import unauthorized_body
from metricsd.auth.authorizer import Attributes, internal_error_body, list_options_error
from metricsd.clock import Clock
from metricsd.gohttp import GoServer
from metricsd.goquote import quote as go_quote
from metricsd.goresponse import go_response
from metricsd.health import HealthEndpoints
from metricsd.klog import GoDuration, Raw
from metricsd.monitoring import SelfMetrics
from metricsd.negotiation import NOT_ACCEPTABLE, Media, is_pretty, negotiate, negotiate_error
from metricsd.version import UPSTREAM_BUILD_DATE, UPSTREAM_COMMIT, UPSTREAM_VERSION

__all__ = ["HTTPApp"]

API_PREFIX = f"/apis/{GROUP}/{VERSION}"
#: the go-restful web services, in the order the director tries them (after /apis itself)
_WEBSERVICES = ("/version", API_PREFIX, f"/apis/{GROUP}")
_NOBODY = UserInfo("")
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
JSON = "application/json"


CACHE_CONTROL = "no-cache, private"  # the apiserver's WithCacheControl filter


def _json_bytes(body: Any) -> bytes:
    """Go's json.Encoder: compact, newline-terminated."""
    return (json.dumps(body, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


_HTML_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                               "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _go_json(value: Any) -> str:
    """json.Marshal: compact, map keys sorted, HTML characters escaped (klog prints maps so)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                      sort_keys=True).translate(_HTML_ESCAPES)


def _pretty_bytes(body: Any) -> bytes:
    """json.MarshalIndent(obj, "", "  "): the pretty serializer and WriteRawJSON (no newline)."""
    return json.dumps(body, indent=2, ensure_ascii=False).encode()


def _not_found_status() -> dict[str, Any]:
    return status_body(404, "NotFound", "the server could not find the requested resource", {})


def _openapi_v2() -> dict[str, Any]:
    return {"swagger": "2.0",
            "info": {"title": "Kubernetes metrics-server", "version": UPSTREAM_VERSION},
            "paths": {}, "definitions": {}}


def _version_info() -> dict[str, Any]:
    """``/version`` as the release's ldflags fill ``k8s.io/client-go/pkg/version`` (the
    Makefile sets gitVersion, gitCommit and buildDate; gitTreeState stays empty)."""
    return {"major": "", "minor": "", "gitVersion": UPSTREAM_VERSION,
            "gitCommit": UPSTREAM_COMMIT, "gitTreeState": "",
            "buildDate": UPSTREAM_BUILD_DATE, "goVersion": "go1.21.8", "compiler": "gc",
            "platform": "linux/amd64"}


#: what the metrics routes produce (go-restful's 406 lists them); lists also stream watches
ROUTE_PRODUCES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
WATCH_PRODUCES = ("application/json;stream=watch",
                  "application/vnd.kubernetes.protobuf;stream=watch")


def _produces_any(produces: tuple[str, ...], accept: str) -> bool:
    """go-restful's Route.matchesAccept: a clause's media type (parameters dropped) that the
    route produces, or a wildcard."""
    for clause in accept.split(","):
        mime = clause.strip().split(";")[0].strip()
        if not mime or mime == "*/*":
            return True
        for each in produces:
            each = each.split(";")[0]
            if mime == each or (mime.endswith("/*") and each.startswith(mime[:-1])):
                return True
    return False


def _route_kind(parts: list[str]) -> str | None:
    """``list`` or ``get`` for the metrics routes, None for no route."""
    if parts in (["nodes"], ["pods"]) or (
            len(parts) == 3 and parts[0] == "namespaces" and parts[2] == "pods" and parts[1]):
        return "list"
    if (len(parts) == 2 and parts[0] == "nodes" and parts[1]) or (
            len(parts) == 4 and parts[0] == "namespaces" and parts[2] == "pods" and all(parts)):
        return "get"
    return None


def is_list_path(path: str) -> bool:
    """A resource path without a name (``…/nodes``, ``…/namespaces/x/pods``): a list."""
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts or parts[0] not in ("api", "apis"):
        return False
    rest = parts[3:] if parts[0] == "apis" else parts[2:]
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    return len(rest) == 1


def normalized_verb(method: str, attrs: Attributes, watch: list[str]) -> str:
    """The verb of the ``"HTTP"`` line (metrics.NormalizedVerb): LIST for a resource request
    without a name (a field-selected name counts), WATCH for ``?watch`` not false/0."""
    verb = method.upper()
    if verb in ("GET", "HEAD"):
        verb = "LIST" if attrs.resource_request and not attrs.name else "GET"
    if method.upper() == "GET" and watch and watch[0].lower() not in ("0", "false"):
        verb = "WATCH"
    return verb


class HTTPApp:
    """The aiohttp application metricsd serves on the secure port."""

    def __init__(self, *, api: MetricsAPI, health: HealthEndpoints, metrics: SelfMetrics,
                 authn: Authenticator, authz: Authorizer, clock: Clock,
                 log: klog.Logger) -> None:
        self.api = api
        self.health = health
        self.metrics = metrics
        self.authn = authn
        self.authz = authz
        self.clock = clock
        self.log = log
        #: ``serverAddressByClientCIDRs`` of /apis: the secure port, no host (set by serve)
        self.server_address = ":443"
        self._runner: web.ServerRunner | None = None

    # ------------------------------------------------------------------ lifecycle

    async def serve(self, sock: socket.socket, ssl_context: ssl.SSLContext) -> None:
        self.server_address = f":{sock.getsockname()[1]}"
        self._runner = web.ServerRunner(GoServer(self.handle, log=self.log),
                                        handle_signals=False, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.SockSite(self._runner, sock, ssl_context=ssl_context)
        await site.start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ request path

    @staticmethod
    def _peer_cert(request: web.BaseRequest) -> x509.Certificate | None:
        transport = request.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        if ssl_object is None:
            return None
        der = ssl_object.getpeercert(binary_form=True)
        return x509.load_der_x509_certificate(der) if der else None

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        start = self.clock.monotonic()
        # like the apiserver's audit filter: keep the caller's (the aggregator's) Audit-ID
        audit_id = request.headers.get("Audit-ID", "").strip() or str(uuid.uuid4())
        log_verb = request.method
        try:
            response, log_verb = await self._handle(request)
        except web.HTTPException as exc:
            response = exc
        except Exception as exc:  # the apiserver's panic filter
            response = self._panicked(request, audit_id, exc)
        response.headers["Audit-Id"] = audit_id
        response.headers.setdefault("Cache-Control", CACHE_CONTROL)
        if self.log.enabled(3, "httplog/httplog.go:132"):
            peer = request.transport.get_extra_info("peername") if request.transport else None
            src = f"{peer[0]}:{peer[1]}" if peer else ""
            latency = GoDuration(int((self.clock.monotonic() - start) * 1e9))
            self.log.info("HTTP", "verb", log_verb, "URI", request.raw_path, "latency", latency,
                          "userAgent", request.headers.get("User-Agent", ""), "audit-ID",
                          audit_id, "srcIP", src, "resp", response.status, v=3,
                          at="httplog/httplog.go:132")
        return response

    def _panicked(self, request: web.BaseRequest, audit_id: str,
                  exc: Exception) -> web.StreamResponse:
        """WithPanicRecovery: runtime's ``Observed a panic`` line, then the filter's own line
        and its plain-text 500 (one line each: no Python traceback reaches the log)."""
        self.log.errorf(f"Observed a panic: {exc!r} ({type(exc).__name__}: {exc})",
                        at="runtime/runtime.go:79")
        self.log.error("apiserver panic'd", "method", request.method, "URI", request.raw_path,
                       "auditID", audit_id, at="filters/wrap.go:57")
        return go_response(500, b"This request caused apiserver to panic. Look in the logs for "
                           b"details.\n", {"Content-Type": "text/plain; charset=utf-8",
                                           "X-Content-Type-Options": "nosniff"},
                           request=request)

    async def _handle(self, request: web.BaseRequest) -> tuple[web.StreamResponse, str]:
        query = {k: v for k, v in request.query.items()}
        self._log_request_info(request, query)
        # the request info (hence the logged verb) is known before anyone is authenticated
        log_verb = normalized_verb(
            request.method, request_attributes(_NOBODY, request.method, request.path, query),
            request.query.getall("watch", []))
        result = await self.authn.authenticate(request.headers, self._peer_cert(request))
        if result.user is None:
            if result.error:
                self.log.error("Unable to authenticate the request", err=result.error,
                               at="filters/authentication.go:73")
            return self._status(request, unauthorized_body()), log_verb
        attrs = request_attributes(result.user, request.method, request.path, query)
        decision = await self.authz.authorize(attrs)
        if decision.error:
            self.log.errorf(f"Authorization error: {decision.error}",
                            at="filters/authorization.go:77")
            return self._status(request, internal_error_body(decision.error)), log_verb
        if not decision.allowed:
            self.log.info("Forbidden", "URI", request.raw_path, "reason", decision.reason, v=4,
                          at="filters/authorization.go:87")
            # responsewriters.Forbidden sets nosniff before negotiating the Status
            response = self._status(request, forbidden_body(attrs, decision.reason))
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response, log_verb
        if request.method not in ("GET", "HEAD"):
            return self._status(request, status_body(
                405, "MethodNotAllowed",
                "the server does not allow this method on the requested resource", {})), log_verb
        self._log_routing(request)
        return self._route(request, query), log_verb

    def _log_request_info(self, request: web.BaseRequest, query: dict[str, str]) -> None:
        """WithRequestInfo: a list whose options do not parse is logged (and then served)."""
        if request.method not in ("GET", "HEAD") or not is_list_path(request.path):
            return
        err = list_options_error(query)
        if err is not None:
            values: dict[str, list[str]] = {}
            for key, value in request.query.items():
                values.setdefault(key, []).append(value)
            self.log.error("Couldn't parse request", "request", Raw(_go_json(values)),
                           err=err, at="request/requestinfo.go:214")

    def _log_routing(self, request: web.BaseRequest) -> None:
        """The V(5) lines of the apiserver's director and path mux for this path."""
        if not self.log.enabled(5, "server/handler.go:143"):
            return
        method, path = request.method, request.path
        if path in ("/apis", "/apis/"):
            self.log.infof(f"metrics-server: {method} {go_quote(path)} satisfied by gorestful "
                           "with webservice /apis", v=5, at="server/handler.go:133")
            return
        for root in _WEBSERVICES:
            if path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
                self.log.infof(f"metrics-server: {method} {go_quote(path)} satisfied by "
                               f"gorestful with webservice {root}", v=5,
                               at="server/handler.go:143")
                return
        self.log.infof(f"metrics-server: {method} {go_quote(path)} satisfied by nonGoRestful",
                       v=5, at="server/handler.go:153")
        if path in self._exact_paths():
            how = "exact match"
            at = "mux/pathrecorder.go:241"
        elif path.startswith("/openapi/v3/"):
            how, at = "prefix /openapi/v3/", "mux/pathrecorder.go:248"
        else:
            how, at = "NotFoundHandler", "mux/pathrecorder.go:254"
        self.log.infof(f"metrics-server: {go_quote(path)} satisfied by {how}", v=5, at=at)

    def _exact_paths(self) -> set[str]:
        return {"/", *(p for p in self._paths() if not p.startswith("/apis")
                       and p not in ("/version", "/openapi/v3/"))}

    # -- encoding (negotiation.py decides, goresponse.py frames) -----------------------

    @staticmethod
    def _pretty(request: web.BaseRequest) -> bool:
        return is_pretty(request.query, request.headers.get("User-Agent", ""))

    def _encoded(self, request: web.BaseRequest, status: int, body: Any, media: Media,
                 kind: str = "", content_type: str = "") -> web.StreamResponse:
        """An object answer in the negotiated encoding (gzip past 128 KiB, as the apiserver)."""
        if media.kind == "protobuf":
            raw = body if isinstance(body, bytes) else pb.envelope(
                body.get("apiVersion", ""), body.get("kind", kind), pb.status(body))
            data, ctype = raw, pb.CONTENT_TYPE
        else:
            data = _pretty_bytes(body) if media.pretty else _json_bytes(body)
            ctype = content_type or JSON
        return go_response(status, data, {"Content-Type": ctype}, request=request,
                           gzip="large")

    def _status(self, request: web.BaseRequest, body: dict[str, Any]) -> web.StreamResponse:
        """An error Status: negotiated without conversions; else indented plain JSON
        (responsewriters.WriteRawJSON)."""
        media = negotiate_error(request.headers.get("Accept"), self._pretty(request))
        if media is None:
            return self._raw_json(request, int(body["code"]), body)
        return self._encoded(request, int(body["code"]), body, media)

    def _raw_json(self, request: web.BaseRequest, status: int, body: Any) -> web.StreamResponse:
        return go_response(status, _pretty_bytes(body), {"Content-Type": JSON}, request=request)

    def _json(self, request: web.BaseRequest, status: int, body: Any,
              content_type: str = JSON) -> web.StreamResponse:
        """A discovery document or other plain object (JSON only, compact unless pretty)."""
        if status >= 400 and body.get("kind") == "Status":
            return self._status(request, body)
        media = Media("json", None, self._pretty(request))
        return self._encoded(request, status, body, media, content_type=content_type)

    def _route(self, request: web.BaseRequest, query: dict[str, str]) -> web.StreamResponse:
        path = request.path
        if self.health.handles(path):
            res = self.health.handle(path, request.query_string)
            return go_response(res.status, res.body.encode(), res.headers, request=request)
        if path == "/metrics":
            exposition, exposition_type = self.metrics.exposition()
            return go_response(200, exposition, {
                "Content-Type": exposition_type,
                "Process-Start-Time-Unix": str(self.metrics.process_start_time()),
            }, request=request, gzip="always")
        if path == "/":
            return self._raw_json(request, 200, {"paths": self._paths()})
        if path == "/version":
            return self._raw_json(request, 200, _version_info())
        if path == "/openapi/v2":
            return self._json(request, 200, _openapi_v2())
        if path in ("/apis", "/apis/"):
            content_type, body = negotiate_apis(request.headers.get("Accept"),
                                                self.server_address)
            if body.get("kind") != "APIGroupDiscoveryList":
                return self._json(request, 200, body, content_type)
            etag = aggregated_etag(body)
            headers = {"ETag": etag, "Vary": "Accept", "Cache-Control": "public"}
            if request.headers.get("If-None-Match") == etag:
                return go_response(304, b"", headers, request=request)
            answer = self._json(request, 200, body, content_type)
            answer.headers.update(headers)
            return answer
        if path == f"/apis/{GROUP}":
            return self._json(request, 200, api_group())
        if path == API_PREFIX:
            return self._json(request, 200, api_resource_list())
        if path.startswith(API_PREFIX + "/"):
            accept = request.headers.get("Accept")
            media = negotiate(accept, self._pretty(request))
            if media is None:
                route = _route_kind(path[len(API_PREFIX) + 1:].split("/"))
                if route is None:
                    return self._status(request, _not_found_status())
                offered = ROUTE_PRODUCES + (WATCH_PRODUCES if route == "list" else ())
                if not _produces_any(offered, accept or ""):
                    # go-restful refuses the route before the handler runs
                    return self._raw_json(request, 406, status_body(
                        406, "NotAcceptable", "406: Not Acceptable\n\nAvailable representations: "
                        + ", ".join(offered), {}))
                # the handler's negotiation: a media type it serves, with parameters it does not
                return self._raw_json(request, 406, status_body(406, "NotAcceptable",
                                                                NOT_ACCEPTABLE))
            result = self._metrics(path[len(API_PREFIX) + 1:].split("/"), request, query, media)
            if result is None:
                return self._status(request, _not_found_status())
            self._observe_freshness(result)
            if result.status >= 400:
                return self._status(request, result.body)
            return self._encoded(request, result.status, result.body, media)
        if path.startswith(("/apis/", "/api/")) or path == "/api":
            return self._status(request, _not_found_status())
        # the generic apiserver's NotFoundHandler: the path index, with 404
        return self._raw_json(request, 404, {"paths": self._paths()})

    def _metrics(self, parts: list[str], request: web.BaseRequest,
                 query: dict[str, str], media: Media) -> APIResult | None:
        now_ns = int(self.clock.now() * 1e9)
        include = query.get("includeObject")
        watch = query.get("watch", "") in _TRUE
        labels = query.get("labelSelector")
        fields = query.get("fieldSelector")
        table, pb_ = media.table, media.kind == "protobuf"
        if parts == ["nodes"]:
            return self.api.list_nodes(now_ns, label_selector=labels, field_selector=fields,
                                       watch=watch, include_object=include, table=table,
                                       as_protobuf=pb_)
        if len(parts) == 2 and parts[0] == "nodes" and parts[1]:
            return self.api.get_node(parts[1], now_ns, include_object=include, table=table,
                                     as_protobuf=pb_)
        if parts == ["pods"]:
            return self.api.list_pods(now_ns, None, label_selector=labels,
                                      field_selector=fields, watch=watch,
                                      include_object=include, table=table, as_protobuf=pb_)
        if len(parts) == 3 and parts[0] == "namespaces" and parts[2] == "pods" and parts[1]:
            return self.api.list_pods(now_ns, parts[1], label_selector=labels,
                                      field_selector=fields, watch=watch,
                                      include_object=include, table=table, as_protobuf=pb_)
        if len(parts) == 4 and parts[0] == "namespaces" and parts[2] == "pods" and all(parts):
            return self.api.get_pod(parts[1], parts[3], now_ns, include_object=include,
                                    table=table, as_protobuf=pb_)
        return None

    def _observe_freshness(self, result: APIResult) -> None:
        if not result.timestamps:
            return
        now = self.clock.now()
        for ts in result.timestamps:
            self.metrics.observe_freshness(now - ts / 1e9)

    def _paths(self) -> list[str]:
        """The index the generic apiserver serves at ``/`` (and with unknown paths)."""
        paths = ["/apis", f"/apis/{GROUP}", API_PREFIX, "/metrics", "/openapi/v2",
                 "/openapi/v3", "/openapi/v3/", "/version"]
        for endpoint in ("healthz", "livez", "readyz"):
            paths.append("/" + endpoint)
            paths.extend(f"/{endpoint}/{name}" for name in self.health.names(endpoint))
        return sorted(set(paths))
