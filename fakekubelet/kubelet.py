"""The kubelet's HTTPS endpoint, for every node of a fleet, in one event loop.

One aiohttp application and runner serve all nodes; each node gets its own listening socket
(a ``TCPSite`` on ``internal_ip:port`` with the node's own TLS context). A request finds its
node by the local address it arrived on, exactly as a real kubelet is "the thing at that
address". What a client sees, in order:

1. ``refuse_connections`` — the listener is closed (``Fleet`` does that on the fault event);
   a request racing the switch has its connection dropped without an answer;
2. ``hang`` — the connection is accepted (TLS handshake included) and never answered, until
   the fault is switched off or the client goes away;
3. ``latency_seconds`` — added before anything is answered (real seconds: it is transport);
4. ``http_status`` — that status with Go's status text as body, before authentication;
5. the kubelet's auth filter (``fakekubelet.auth``): 401 ``Unauthorized`` / 403 ``Forbidden (…)``
   — not on ``plain-http`` nodes, which stand for the kubelet's unauthenticated read-only port;
6. routing: ``GET <resource-metrics-path>`` (default ``/metrics/resource``) → the payload from
   the cluster with ``Content-Type: text/plain; version=0.0.4; charset=utf-8``, gzip-encoded
   when ``Accept-Encoding`` asks for it; ``/healthz`` → ``ok``; anything else → 404
   ``404 page not found`` (Go's ``http.NotFound``);
7. ``truncate_body`` — headers announce the full ``Content-Length``, half the body is sent,
   then the connection is closed (the client sees an incomplete read).

Payload-level faults (malformed text, missing or stale timestamps, ``scrape_error``, missing
pods) are rendered by the cluster model, not here. HTTP/1.1 with keep-alive only; gzip uses
compression level 1 (the level is invisible to clients and level 1 keeps a 1,000-node scrape
cheap).
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web

from fakekubelet.auth import KubeletAuth

__all__ = ["METRICS_CONTENT_TYPE", "KubeletServer", "Listener", "limit_tls_read_buffer"]

log = logging.getLogger(__name__)

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"
DEFAULT_RESOURCE_METRICS_PATH = "/metrics/resource"
_HANG_POLL_SECONDS = 0.05


def limit_tls_read_buffer(size: int = 32 * 1024) -> None:
    """Shrink asyncio's per-connection TLS read buffer (256 KiB by default) process-wide.

    With 1,000 kept-alive kubelet connections the default buffers alone cost ~190 MiB of RSS;
    32 KiB still holds two full TLS records, so only the number of read calls for large
    bodies changes. Process-wide, so only a process that is mostly a fleet (the CLI) calls it.
    """
    import asyncio.sslproto

    asyncio.sslproto.SSLProtocol.max_size = size


@dataclass
class Listener:
    """One node's listening socket."""

    name: str
    host: str
    port: int
    ssl_context: ssl.SSLContext | None
    site: web.TCPSite | None = None

    @property
    def scheme(self) -> str:
        return "http" if self.ssl_context is None else "https"


def _fault(faults: Any, name: str, default: Any = None) -> Any:
    return getattr(faults, name, default) if faults is not None else default


class KubeletServer:
    """All kubelet endpoints of a fleet.

    ``render(name) -> bytes`` produces a node's ``/metrics/resource`` body;
    ``faults(name)`` returns the node's live fault settings (attributes ``latency_seconds``,
    ``hang``, ``http_status``, ``refuse_connections``, ``truncate_body``);
    ``metrics_path(name)`` the node's resource-metrics path. ``auth=None`` serves anyone (as
    ``--authorization-mode=AlwaysAllow`` with anonymous auth).
    """

    def __init__(
        self,
        render: Callable[[str], bytes],
        faults: Callable[[str], Any],
        auth: KubeletAuth | None = None,
        metrics_path: Callable[[str], str] | None = None,
    ) -> None:
        self._render = render
        self._faults = faults
        self.auth = auth
        self._metrics_path = metrics_path or (lambda _name: DEFAULT_RESOURCE_METRICS_PATH)
        self._listeners: dict[str, Listener] = {}
        self._by_address: dict[tuple[str, int], str] = {}
        self._app = web.Application()
        self._app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a request whose client went away stops waiting (hang, latency);
        # a short shutdown timeout: closing the fleet never waits for held requests.
        self._runner = web.AppRunner(
            self._app,
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=0.5,
        )
        self._started = False
        self.requests_served = 0
        self.hanging = 0  # requests currently held by the ``hang`` fault

    async def start(self) -> None:
        if not self._started:
            await self._runner.setup()
            self._started = True

    async def close(self) -> None:
        """Stop every listener and drop every connection."""
        for name in list(self._listeners):
            await self.unlisten(name)
        if self._started:
            await self._runner.cleanup()
            self._started = False

    # ----------------------------------------------------------------- listeners

    def listener(self, name: str) -> Listener | None:
        return self._listeners.get(name)

    def is_listening(self, name: str) -> bool:
        entry = self._listeners.get(name)
        return entry is not None and entry.site is not None

    async def listen(
        self, name: str, host: str, port: int, ssl_context: ssl.SSLContext | None
    ) -> Listener:
        """Open (or reopen) node ``name``'s socket (port 0: any free port); returns it."""
        await self.start()
        old = self._listeners.get(name)
        if old is not None and old.site is not None:
            await self.unlisten(name)
        entry = Listener(name, host, port, ssl_context)
        site = web.TCPSite(
            self._runner, host, port, ssl_context=ssl_context, reuse_address=True, backlog=512
        )
        await site.start()
        server = site._server
        if port == 0 and server is not None:
            sockets = getattr(server, "sockets", None) or []
            entry.port = int(sockets[0].getsockname()[1])
        entry.site = site
        self._listeners[name] = entry
        self._by_address[(host, entry.port)] = name
        return entry

    async def unlisten(self, name: str, *, forget: bool = False) -> None:
        """Close node ``name``'s listener and its open connections (clients see refusal)."""
        entry = self._listeners.get(name)
        if entry is None:
            return
        if entry.site is not None:
            await entry.site.stop()
            entry.site = None
        self._drop_connections(entry.host, entry.port)
        self._by_address.pop((entry.host, entry.port), None)
        if forget:
            del self._listeners[name]

    def _drop_connections(self, host: str, port: int) -> None:
        server = self._runner.server
        if server is None:
            return
        for handler in list(server.connections):
            transport = handler.transport
            if transport is None:
                continue
            sockname = transport.get_extra_info("sockname")
            if sockname and (sockname[0], sockname[1]) == (host, port):
                transport.abort()

    # ------------------------------------------------------------------ requests

    def _node_for(self, request: web.Request) -> str | None:
        transport = request.transport
        if transport is None:
            return None
        sockname = transport.get_extra_info("sockname")
        if not sockname:
            return None
        return self._by_address.get((sockname[0], sockname[1]))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = self._node_for(request)
        if name is None:
            return _text(404, "404 page not found\n")
        faults = self._faults(name)
        if _fault(faults, "refuse_connections", False):
            return _drop(request)
        if _fault(faults, "hang", False):
            self.hanging += 1
            try:
                while _fault(self._faults(name), "hang", False):
                    transport = request.transport
                    if transport is None or transport.is_closing():
                        return _drop(request)
                    await asyncio.sleep(_HANG_POLL_SECONDS)
            finally:
                self.hanging -= 1
            faults = self._faults(name)
        latency = float(_fault(faults, "latency_seconds", 0.0) or 0.0)
        if latency > 0:
            await asyncio.sleep(latency)
        status = _fault(faults, "http_status", None)
        if status and int(status) != 200:
            return _text(int(status), _status_text(int(status)))
        # plain-http is the kubelet's read-only port (10255): no authentication at all
        if self.auth is not None and request.transport is not None and (
            request.transport.get_extra_info("sslcontext") is not None
        ):
            peercert = None
            if request.transport is not None:
                peercert = request.transport.get_extra_info("peercert")
            decision = await self.auth.check(
                request.method, request.path, name, peercert, request.headers.get("Authorization")
            )
            if decision.status != 200:
                return _text(decision.status, decision.body)
        # The kubelet mounts these as plain handlers: any method that passed authorization
        # (POST is authorized as verb "create") gets the same answer.
        path = request.path
        if path == self._metrics_path(name):
            return await self._metrics(request, name, faults)
        if path == "/healthz":
            return _text(200, "ok")
        return _text(404, "404 page not found\n")

    async def _metrics(self, request: web.Request, name: str, faults: Any) -> web.StreamResponse:
        try:
            body = self._render(name)
        except KeyError:
            return _text(404, "404 page not found\n")
        headers = {"Content-Type": METRICS_CONTENT_TYPE}
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, compresslevel=1, mtime=0)
            headers["Content-Encoding"] = "gzip"
        self.requests_served += 1
        if _fault(faults, "truncate_body", False):
            return await _truncated(request, body, headers)
        return web.Response(body=body, headers=headers)


def _status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"status {status}"


def _text(status: int, body: str) -> web.Response:
    return web.Response(
        status=status,
        body=body.encode(),
        headers={"Content-Type": _TEXT, "X-Content-Type-Options": "nosniff"},
    )


def _drop(request: web.Request) -> web.StreamResponse:
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError  # aiohttp ends the handler quietly on a dead connection


async def _truncated(
    request: web.Request, body: bytes, headers: dict[str, str]
) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers=headers)
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    transport = request.transport
    if transport is not None:
        transport.close()  # flushes what was written, then closes: the body stays short
    raise asyncio.CancelledError
