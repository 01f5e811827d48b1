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
from metricsd.api.objects import GROUP, VERSION
from metricsd.api.status import status_body
from metricsd.api.types import APIResult
from metricsd.auth import Authenticator, Authorizer, forbidden_body, request_attributes
from metricsd.auth.authenticator import unauthorized_body
from metricsd.auth.authorizer import internal_error_body
from metricsd.clock import Clock
from metricsd.gohttp import GoServer
from metricsd.health import HealthEndpoints
from metricsd.klog import GoDuration
from metricsd.monitoring import SelfMetrics
from metricsd.version import UPSTREAM_COMMIT, UPSTREAM_VERSION

__all__ = ["HTTPApp"]

API_PREFIX = f"/apis/{GROUP}/{VERSION}"
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
JSON = "application/json"


def _json_bytes(body: Any) -> bytes:
    return (json.dumps(body, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def _not_found_status() -> dict[str, Any]:
    return status_body(404, "NotFound", "the server could not find the requested resource", {})


def _openapi_v2() -> dict[str, Any]:
    return {"swagger": "2.0",
            "info": {"title": "Kubernetes metrics-server", "version": UPSTREAM_VERSION},
            "paths": {}, "definitions": {}}


def _version_info() -> dict[str, Any]:
    return {"major": "", "minor": "", "gitVersion": UPSTREAM_VERSION,
            "gitCommit": UPSTREAM_COMMIT, "gitTreeState": "clean",
            "buildDate": "2024-03-26T00:00:00Z", "goVersion": "go1.21.8", "compiler": "gc",
            "platform": "linux/amd64"}


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
        self._runner: web.ServerRunner | None = None

    # ------------------------------------------------------------------ lifecycle

    async def serve(self, sock: socket.socket, ssl_context: ssl.SSLContext) -> None:
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
                  exc: Exception) -> web.Response:
        """WithPanicRecovery: runtime's ``Observed a panic`` line, then the filter's own line
        and its plain-text 500 (one line each: no Python traceback reaches the log)."""
        self.log.errorf(f"Observed a panic: {exc!r} ({type(exc).__name__}: {exc})",
                        at="runtime/runtime.go:79")
        self.log.error("apiserver panic'd", "method", request.method, "URI", request.raw_path,
                       "auditID", audit_id, at="filters/wrap.go:57")
        response = web.Response(status=500, text="This request caused apiserver to panic. "
                                "Look in the logs for details.\n")
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def _handle(self, request: web.BaseRequest) -> tuple[web.StreamResponse, str]:
        result = await self.authn.authenticate(request.headers, self._peer_cert(request))
        if result.user is None:
            if result.error:
                self.log.error("Unable to authenticate the request", err=result.error,
                               at="filters/authentication.go:73")
            return self._json(401, unauthorized_body()), request.method
        query = {k: v for k, v in request.query.items()}
        attrs = request_attributes(result.user, request.method, request.path, query)
        log_verb = attrs.verb.upper() if attrs.resource_request else request.method
        decision = await self.authz.authorize(attrs)
        if decision.error:
            self.log.errorf(f"Authorization error: {decision.error}",
                            at="filters/authorization.go:77")
            return self._json(500, internal_error_body(decision.error)), log_verb
        if not decision.allowed:
            self.log.info("Forbidden", "URI", request.raw_path, "reason", decision.reason, v=4,
                          at="filters/authorization.go:94")
            return self._json(403, forbidden_body(attrs, decision.reason)), log_verb
        if request.method not in ("GET", "HEAD"):
            return self._json(405, status_body(
                405, "MethodNotAllowed",
                "the server does not allow this method on the requested resource", {})), log_verb
        return self._route(request, query), log_verb

    def _json(self, status: int, body: Any, content_type: str = JSON) -> web.Response:
        response = web.Response(status=status, body=_json_bytes(body))
        response.headers["Content-Type"] = content_type
        response.headers["Cache-Control"] = "no-cache, private"
        return response

    def _route(self, request: web.BaseRequest, query: dict[str, str]) -> web.StreamResponse:
        path = request.path
        if self.health.handles(path):
            res = self.health.handle(path, request.query_string)
            response = web.Response(status=res.status, body=res.body.encode())
            response.headers.update(res.headers)
            return response
        if path == "/metrics":
            exposition, exposition_type = self.metrics.exposition()
            response = web.Response(status=200, body=exposition)
            response.headers["Content-Type"] = exposition_type
            return response
        if path == "/":
            return self._json(200, {"paths": self._paths()})
        if path == "/version":
            return self._json(200, _version_info())
        if path == "/openapi/v2":
            return self._json(200, _openapi_v2())
        if path in ("/apis", "/apis/"):
            content_type, body = negotiate_apis(request.headers.get("Accept"))
            return self._json(200, body, content_type)
        if path in (f"/apis/{GROUP}", f"/apis/{GROUP}/"):
            return self._json(200, api_group())
        if path in (API_PREFIX, API_PREFIX + "/"):
            return self._json(200, api_resource_list())
        if path.startswith(API_PREFIX + "/"):
            result = self._metrics(path[len(API_PREFIX) + 1:].split("/"), request, query)
            if result is not None:
                self._observe_freshness(result)
                return self._json(result.status, result.body, result.content_type)
            return self._json(404, _not_found_status())
        if path.startswith("/apis/") or path.startswith("/api/") or path == "/api":
            return self._json(404, _not_found_status())
        response = web.Response(status=404, text="404 page not found\n")
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def _metrics(self, parts: list[str], request: web.BaseRequest,
                 query: dict[str, str]) -> APIResult | None:
        now_ns = int(self.clock.now() * 1e9)
        accept = request.headers.get("Accept")
        include = query.get("includeObject")
        watch = query.get("watch", "") in _TRUE
        labels = query.get("labelSelector")
        fields = query.get("fieldSelector")
        if parts == ["nodes"]:
            return self.api.list_nodes(now_ns, label_selector=labels, field_selector=fields,
                                       watch=watch, accept=accept, include_object=include)
        if len(parts) == 2 and parts[0] == "nodes" and parts[1]:
            return self.api.get_node(parts[1], now_ns, accept=accept, include_object=include)
        if parts == ["pods"]:
            return self.api.list_pods(now_ns, None, label_selector=labels,
                                      field_selector=fields, watch=watch, accept=accept,
                                      include_object=include)
        if len(parts) == 3 and parts[0] == "namespaces" and parts[2] == "pods" and parts[1]:
            return self.api.list_pods(now_ns, parts[1], label_selector=labels,
                                      field_selector=fields, watch=watch, accept=accept,
                                      include_object=include)
        if len(parts) == 4 and parts[0] == "namespaces" and parts[2] == "pods" and all(parts):
            return self.api.get_pod(parts[1], parts[3], now_ns, accept=accept,
                                    include_object=include)
        return None

    def _observe_freshness(self, result: APIResult) -> None:
        if not result.timestamps:
            return
        now = self.clock.now()
        for ts in result.timestamps:
            self.metrics.observe_freshness(now - ts / 1e9)

    def _paths(self) -> list[str]:
        paths = ["/apis", "/apis/", f"/apis/{GROUP}", API_PREFIX, "/metrics", "/openapi/v2",
                 "/version"]
        for endpoint in ("healthz", "livez", "readyz"):
            paths.append("/" + endpoint)
            paths.extend(f"/{endpoint}/{name}" for name in self.health.names(endpoint))
        return sorted(set(paths))
