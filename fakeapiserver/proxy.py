"""The aggregation proxy: ``/apis/<group>/<version>/…`` of a non-local APIService.

Upstream: kube-aggregator's ``handler_proxy.go``.

Why: ``kubectl top`` and the HPA reach metricsd only through this proxy, so its refusals and
its identity headers decide what users see: when the APIService is not Available it answers
``503`` with the body ``service unavailable\\n`` (Go's ``http.Error``: ``text/plain;
charset=utf-8`` plus ``X-Content-Type-Options: nosniff``), which client-go turns into
``the server is currently unable to handle the request (get pods.metrics.k8s.io)``.

Otherwise it forwards method, path, query, body and headers to a ready endpoint
(aggregator routing) over TLS with the front-proxy client certificate, TLS verified per
``spec.caBundle`` / ``spec.insecureSkipTLSVerify`` with ServerName ``<svc>.<ns>.svc``. The
caller's ``Authorization`` and any ``X-Remote-*`` / ``Impersonate-*`` headers are dropped; the
authenticated user travels as ``X-Remote-User``, one ``X-Remote-Group`` per group,
``X-Remote-Extra-<key>`` per extra value (key escaped as client-go's ``headerKeyEscape`` and
canonicalised as Go's ``textproto``), and ``X-Remote-Uid`` on emulated 1.33+. Errors while
proxying become ``503`` with the Go error text (``dial tcp 127.0.0.1:4443: connect:
connection refused``). Responses are streamed.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from fakeapiserver.aggregation import (
    EndpointError,
    ObjectReader,
    apiservice_service,
    go_error_text,
    host_port,
    is_available,
    is_loopback,
    resolve_endpoint,
)
from fakeapiserver.rbac import UserInfo

Obj = dict[str, Any]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
_TCHARS = set("!#$&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def unavailable_response() -> web.Response:
    """kube-aggregator's 503 for an unavailable APIService or failed endpoint resolution."""
    return go_http_error("service unavailable", 503)


def go_http_error(text: str, status: int) -> web.Response:
    """Go's ``http.Error``: text + newline, text/plain; charset=utf-8, nosniff."""
    resp = web.Response(status=status, body=(text + "\n").encode())
    resp.headers["Content-Type"] = "text/plain; charset=utf-8"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def header_key_escape(key: str) -> str:
    """client-go's headerKeyEscape: %-encode bytes illegal in header names, and ``%`` itself."""
    out = []
    for b in key.encode():
        ch = chr(b)
        if ch in _TCHARS:
            out.append(ch)
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def canonical_header_key(key: str) -> str:
    """Go ``textproto.CanonicalMIMEHeaderKey`` for a key of token characters."""
    if any(ch not in _TCHARS and ch != "%" for ch in key):
        return key
    out = []
    upper = True
    for ch in key:
        out.append(ch.upper() if upper else ch.lower())
        upper = ch == "-"
    return "".join(out)


def identity_headers(user: UserInfo, with_uid: bool = False) -> list[tuple[str, str]]:
    """The ``X-Remote-*`` headers client-go's SetAuthProxyHeaders adds, in order."""
    headers = [("X-Remote-User", user.name)]
    if with_uid and user.uid:
        headers.append(("X-Remote-Uid", user.uid))
    headers.extend(("X-Remote-Group", g) for g in user.groups)
    for key, values in user.extra.items():
        name = canonical_header_key("X-Remote-Extra-" + header_key_escape(key))
        headers.extend((name, v) for v in values)
    return headers


def _is_identity_header(name: str) -> bool:
    low = name.lower()
    return low.startswith("x-remote-") or low.startswith("impersonate-") or low == "authorization"


def forward_headers(
    incoming: Mapping[str, str] | Iterable[tuple[str, str]],
    user: UserInfo,
    client_ip: str = "",
    with_uid: bool = False,
) -> CIMultiDict[str]:
    """Headers sent to the backend: the caller's minus credentials/identity, plus ours."""
    items = incoming.items() if isinstance(incoming, Mapping) else incoming
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in items:
        if name.lower() in _HOP_BY_HOP or _is_identity_header(name):
            continue
        out.add(name, value)
    for name, value in identity_headers(user, with_uid):
        out.add(name, value)
    if client_ip:
        prior = out.getall("X-Forwarded-For", [])
        if "X-Forwarded-For" in out:
            del out["X-Forwarded-For"]
        out["X-Forwarded-For"] = ", ".join([*prior, client_ip])
    return out


class FrontProxyTLS:
    """Client TLS contexts presenting the front-proxy client certificate.

    ``load_cert`` configures a context with the certificate and key (e.g.
    ``lambda ctx: ctx.load_cert_chain(crt_path, key_path)``).
    """

    def __init__(self, load_cert: Callable[[ssl.SSLContext], None] | None) -> None:
        self._load_cert = load_cert
        self._cache: dict[tuple[bool, str], ssl.SSLContext] = {}

    def context(self, insecure: bool, ca_bundle_b64: str = "") -> ssl.SSLContext:
        key = (insecure, ca_bundle_b64)
        ctx = self._cache.get(key)
        if ctx is not None:
            return ctx
        if insecure:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif ca_bundle_b64:
            ctx = ssl.create_default_context(
                cadata=base64.b64decode(ca_bundle_b64).decode("ascii", "replace")
            )
        else:
            ctx = ssl.create_default_context()
        if self._load_cert is not None:
            self._load_cert(ctx)
        self._cache[key] = ctx
        return ctx

    def insecure_context(self) -> ssl.SSLContext:
        return self.context(True)


class AggregationProxy:
    """Forwards requests for non-local APIServices to their backends."""

    def __init__(
        self,
        store: Any,
        tls: FrontProxyTLS,
        *,
        use_endpointslices: bool = False,
        send_uid: bool = False,
    ) -> None:
        self._reader = ObjectReader(store)
        self._store = store
        self._tls = tls
        self.use_endpointslices = use_endpointslices
        self.send_uid = send_uid
        self._session: aiohttp.ClientSession | None = None

    def apiservice_for(self, group: str, version: str) -> Obj | None:
        """The stored non-local APIService serving ``group/version``, if any."""
        name = f"{version}.{group}"
        try:
            obj: Obj = self._store.get_stored("apiservices.apiregistration.k8s.io", name).obj
        except Exception:
            return None
        return obj if apiservice_service(obj) is not None else None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
                auto_decompress=False,
            )
        return self._session

    async def handle(
        self, request: web.Request, user: UserInfo, apiservice: Obj
    ) -> web.StreamResponse:
        """Proxy ``request`` (already authenticated as ``user``) to ``apiservice``'s backend."""
        if not is_available(apiservice):
            return unavailable_response()
        try:
            ip, port = resolve_endpoint(apiservice, self._reader, self.use_endpointslices)
        except EndpointError:
            return unavailable_response()
        if not is_loopback(ip):
            return go_http_error(
                f"dial tcp {host_port(ip, port)}: connect: network is unreachable", 503
            )
        spec = apiservice.get("spec") or {}
        ref = apiservice_service(apiservice)
        assert ref is not None
        ssl_ctx = self._tls.context(
            bool(spec.get("insecureSkipTLSVerify")), str(spec.get("caBundle") or "")
        )
        url = f"https://{host_port(ip, port)}{request.rel_url.raw_path}"
        if request.rel_url.raw_query_string:
            url += "?" + request.rel_url.raw_query_string
        peer = request.remote or ""
        headers = forward_headers(request.headers.items(), user, peer, self.send_uid)
        body = await request.read() if request.body_exists else None
        try:
            upstream = await self._client().request(
                request.method,
                aiohttp.client.URL(url, encoded=True),
                headers=headers,
                data=body,
                ssl=ssl_ctx,
                server_hostname=f"{ref[1]}.{ref[0]}.svc",
                allow_redirects=False,
            )
        except Exception as exc:
            text = go_error_text(url, exc)
            # the reverse proxy reports the transport error without Go's `Get "url": ` wrapper
            prefix = f'Get "{url}": '
            if text.startswith(prefix):
                text = text[len(prefix) :]
            return go_http_error(text, 503)
        async with upstream:
            resp = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in upstream.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    resp.headers.add(name, value)
            if upstream.headers.get("Content-Length") and "Content-Encoding" not in resp.headers:
                resp.content_length = int(upstream.headers["Content-Length"])
            await resp.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await resp.write(chunk)
            except (aiohttp.ClientError, ConnectionError):
                pass
            await resp.write_eof()
            return resp


# ------------------------------------------------------------------------------ wiring


class AggregationWiring:
    """The aggregation layer on an APIServer: proxy mounts, availability, discovery."""

    def __init__(self, server: Any, *, use_endpointslices: bool | None = None) -> None:
        from fakeapiserver.aggdiscovery import AggregatedDiscoveryManager
        from fakeapiserver.aggregation import AvailabilityController, DiscoveryProber

        self.server = server
        version = tuple(server.kube_version)
        if use_endpointslices is None:
            use_endpointslices = version >= (1, 33)
        self.use_endpointslices = use_endpointslices
        crt = str(server.state_dir / "front-proxy-client.crt")
        key = str(server.state_dir / "front-proxy-client.key")

        def load(ctx: ssl.SSLContext) -> None:
            ctx.load_cert_chain(crt, key)

        self.tls = FrontProxyTLS(load)
        self.proxy = AggregationProxy(
            server.store,
            self.tls,
            use_endpointslices=use_endpointslices,
            send_uid=version >= (1, 33),
        )
        probe_ctx = ssl.create_default_context()
        probe_ctx.check_hostname = False
        probe_ctx.verify_mode = ssl.CERT_NONE
        load(probe_ctx)
        self.availability = AvailabilityController(
            server.store,
            DiscoveryProber(probe_ctx),
            use_endpointslices=use_endpointslices,
            now=server.clock,
        )
        disc_ctx = ssl.create_default_context()
        disc_ctx.check_hostname = False
        disc_ctx.verify_mode = ssl.CERT_NONE
        load(disc_ctx)
        self.discovery = AggregatedDiscoveryManager(
            server.store, server.discovery, disc_ctx, use_endpointslices=use_endpointslices
        )
        self._mounted: dict[str, str] = {}
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        self._unsubscribe = self.server.store.subscribe(
            self._on_apiservice, ["apiservices.apiregistration.k8s.io"]
        )
        for stored in self.server.store.list_stored("apiservices.apiregistration.k8s.io").items:
            self._mount_for(stored.name, stored.obj)
        self.availability.start()
        self.discovery.start()

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self.availability.stop()
        await self.discovery.stop()
        await self.proxy.close()
        for prefix in list(self._mounted.values()):
            self.server.unmount(prefix)
        self._mounted.clear()

    async def settle(self) -> None:
        """Wait until availability checks and discovery refreshes queued so far are done."""
        await self.availability.wait_idle()
        await self.discovery.wait_idle()

    def _on_apiservice(self, change: Any) -> None:
        if change.type == "DELETED":
            prefix = self._mounted.pop(change.new.name, None)
            if prefix is not None:
                self.server.unmount(prefix)
            return
        self._mount_for(change.new.name, change.new.obj)

    def _mount_for(self, name: str, obj: Obj) -> None:
        if apiservice_service(obj) is None:
            return
        spec = obj.get("spec") or {}
        prefix = f"/apis/{spec.get('group', '')}/{spec.get('version', '')}"
        old = self._mounted.get(name)
        if old == prefix:
            return
        if old is not None:
            self.server.unmount(old)
        self._mounted[name] = prefix
        self.server.mount(prefix, self._handler(name))

    def _handler(self, name: str) -> Callable[[Any], Any]:
        async def handle(ctx: Any) -> web.StreamResponse:
            try:
                obj = self.server.store.get_stored("apiservices.apiregistration.k8s.io", name).obj
            except Exception:
                return unavailable_response()
            return await self.proxy.handle(ctx.request, ctx.user, obj)

        return handle


def wire_aggregation(server: Any, **kwargs: Any) -> AggregationWiring:
    """Create and start the aggregation layer on a started APIServer."""
    wiring = AggregationWiring(server, **kwargs)
    wiring.start()
    return wiring
