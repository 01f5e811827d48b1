"""Go's net/http in front of aiohttp: limits, timeouts and the answers to requests that do not
parse, as the generic apiserver's ``http.Server`` has them (Go 1.21.8, k8s.io/apiserver v0.29.2).

aiohttp's defaults differ from Go's where clients notice: a header line over 8190 bytes or more
than 128 headers is a 400 (Go allows 1 MiB of headers in all), a malformed request gets a
Python-worded 400 body and an ``Error handling request`` traceback on stderr (Go answers with a
fixed text and logs nothing), and a connection that never finishes its headers is kept open
forever (Go closes it after ``ReadHeaderTimeout``). :class:`GoServer` is aiohttp's low-level
``web.Server`` with a request handler that behaves like Go's instead:

* request headers up to ``MaxHeaderBytes`` (1 MiB) plus net/http's 4096 bytes of bufio slop,
  counted over the whole head; more is ``431 Request Header Fields Too Large`` and the
  connection is closed;
* a request that cannot be parsed gets net/http's bytes exactly — ``400 Bad Request``, the
  ``400 Bad Request: <reason>`` forms for a missing or malformed Host header and for invalid
  header names, ``505 HTTP Version Not Supported: unsupported protocol version`` for HTTP/x
  with x ≠ 1, ``501 Not Implemented`` for an unknown transfer coding — and nothing is logged
  (aiohttp's reason goes to ``-v=5``, as the apiserver logs TLS handshake errors);
* headers not complete within ``ReadHeaderTimeout`` (32 s) from the connection's start or the
  first byte of a request: the connection is closed without an answer, as Go does;
* idle kept-alive connections are closed after ``IdleTimeout`` (90 s).

Not reproduced: Go's tolerance of a request carrying both ``Transfer-Encoding: chunked`` and
``Content-Length`` (aiohttp refuses it as request smuggling, 400), and of bare-LF line ends
where aiohttp's parser is strict; HTTP/2 (aiohttp serves HTTP/1.1 only).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import http_exceptions, web
from aiohttp.web_protocol import RequestHandler

from metricsd import klog

__all__ = [
    "IDLE_TIMEOUT_S",
    "MAX_HEADER_BYTES",
    "READ_HEADER_TIMEOUT_S",
    "READ_LIMIT",
    "GoServer",
    "go_error_response",
]

MAX_HEADER_BYTES = 1 << 20  # secure_serving.go: MaxHeaderBytes
READ_LIMIT = MAX_HEADER_BYTES + 4096  # net/http initialReadLimitSize: "bufio slop"
READ_HEADER_TIMEOUT_S = 32.0  # secure_serving.go: ReadHeaderTimeout
IDLE_TIMEOUT_S = 90.0  # secure_serving.go: IdleTimeout

_ERROR_HEADERS = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
_STATUS_TEXT = {400: "Bad Request", 431: "Request Header Fields Too Large",
                501: "Not Implemented", 505: "HTTP Version Not Supported"}


def go_error_response(code: int, reason: str = "") -> bytes:
    """The bytes net/http's ``conn.serve`` writes for a request it could not read."""
    status = f"{code} {_STATUS_TEXT[code]}"
    if code == 501:
        return f"HTTP/1.1 {status}{_ERROR_HEADERS}Unsupported transfer encoding".encode()
    if reason:  # a statusError: the reason in the status line and the body
        status = f"{status}: {reason}"
    return f"HTTP/1.1 {status}{_ERROR_HEADERS}{status}".encode()


TOO_LARGE = go_error_response(431)


#: net/http's closeWriteAndWait: after a 431 the client gets this long to read it before the
#: connection is closed (closing while it still sends would reset the connection first)
RST_AVOIDANCE_DELAY_S = 0.5
#: httpguts.validHostByte: the bytes a Host header may contain
_VALID_HOST = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        b"!$%&()*+,-.:;=[]'_~")
_QUOTED_LINE = re.compile(r"b'(.*)'")


def _go_answer(exc: BaseException | None) -> bytes:
    """What net/http answers for the parse error aiohttp raised."""
    if isinstance(exc, http_exceptions.LineTooLong):
        return TOO_LARGE  # one line past the whole head's limit
    text = str(exc)
    if isinstance(exc, http_exceptions.BadStatusLine) and "Invalid HTTP version" in text:
        version = text.rsplit("HTTP/", 1)[-1][:3]
        if len(version) == 3 and version[0].isdigit() and version[1] == "." and (
                version[2].isdigit() and version[0] != "1"):
            return go_error_response(505, "unsupported protocol version")
    if "Missing 'Host' header" in text:
        return go_error_response(400, "missing required Host header")
    if "Transfer-Encoding" in text and "Content-Length" not in text:
        return go_error_response(501)
    if "Invalid header token" in text:
        # "Bad Name: v" is parsed by textproto and refused by the server's name check;
        # a line without a colon is already a textproto error (plain 400)
        line = _QUOTED_LINE.search(text)
        if line is not None and ":" in line.group(1):
            return go_error_response(400, "invalid header name")
    return go_error_response(400)


def _go_checks(handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
               ) -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]:
    """net/http's checks of a parsed request, before the handler sees it."""

    async def checked(request: web.BaseRequest) -> web.StreamResponse:
        protocol = request.protocol
        if request.version.major != 1:
            return _refused(protocol, go_error_response(505, "unsupported protocol version"),
                            f"HTTP/{request.version.major}.{request.version.minor}")
        hosts = request.headers.getall("Host", [])
        if len(hosts) == 1 and not _VALID_HOST.issuperset(hosts[0].encode("utf-8", "replace")):
            return _refused(protocol, go_error_response(400, "malformed Host header"),
                            "malformed Host header")
        expect = request.headers.get("Expect", "")
        if expect and expect.lower() != "100-continue":
            response = web.Response(status=417)  # w.sendExpectationFailed()
            response.headers["Connection"] = "close"
            response.force_close()
            return response
        if request.method == "OPTIONS" and request.raw_path == "*":
            return web.Response(status=200)  # globalOptionsHandler: empty 200
        return await handler(request)

    return checked


def _refused(protocol: Any, answer: bytes, reason: str) -> web.StreamResponse:
    if isinstance(protocol, _GoRequestHandler):
        protocol._go_refuse(answer, reason)
    return web.Response(status=400)  # not written: the connection is closed


class _GoRequestHandler(RequestHandler):
    """aiohttp's request handler with net/http's limits, timeout and error answers."""

    read_header_timeout_s = READ_HEADER_TIMEOUT_S
    log: klog.Logger = klog.logger

    def __init__(self, manager: web.Server, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._go_head = 0  # bytes of the request head being read
        self._go_payload: Any = None  # the body of the request read last
        self._go_timer: asyncio.TimerHandle | None = None
        self._go_discard = False  # a refusal is on its way: the rest is not read
        self._go_after_post = False  # net/http skips blank lines only after a POST

    # -- the head: size and time

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._go_arm()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._go_disarm()
        super().connection_lost(exc)

    def eof_received(self) -> bool:  # type: ignore[override]  # asyncio's contract
        # A client that half-closes after its request still gets Go's answer, then the close;
        # aiohttp would let the transport close at once and drop the answer. (Over TLS the
        # transport closes on close_notify whatever this returns: asyncio and uvloop warn
        # when it returns True there.)
        self.close()
        payload = self._go_payload
        if payload is not None and not payload.is_eof():
            # the body will never be complete: a handler reading it, and aiohttp's lingering
            # read after the answer, must not wait for it
            payload.set_exception(ConnectionResetError("the client closed its side"))
        transport = self.transport
        return transport is not None and transport.get_extra_info("sslcontext") is None

    def _go_arm(self) -> None:
        if self._go_timer is None:
            loop = asyncio.get_running_loop()
            self._go_timer = loop.call_later(self.read_header_timeout_s, self._go_timed_out)

    def _go_disarm(self) -> None:
        if self._go_timer is not None:
            self._go_timer.cancel()
            self._go_timer = None

    def _go_timed_out(self) -> None:
        self._go_timer = None
        self.log.info("Request headers not complete in time: closing the connection", v=5,
                      timeout=klog.GoDuration(int(self.read_header_timeout_s * 1e9)))
        self.force_close()  # net/http: a read timeout is answered with nothing

    def _in_head(self) -> bool:
        payload = self._go_payload
        return payload is None or payload.is_eof()

    def data_received(self, data: bytes) -> None:
        if self._go_discard:
            return
        if self._in_head():
            if self._go_head == 0 and data:
                self._go_arm()
                if data[:1] in (b"\r", b"\n") and not self._go_after_post:
                    # an empty request line: `malformed HTTP request ""` (RFC 7230's leading
                    # CRLF tolerance is only applied after a POST)
                    self._go_refuse(go_error_response(400), "empty request line")
                    return
            self._go_head += len(data)
            if self._go_head > READ_LIMIT:
                self._go_refuse(TOO_LARGE, "request headers over 1 MiB")
                return
        queued = len(self._messages)
        super().data_received(data)
        if len(self._messages) > queued:  # a head was completed
            self._go_head = 0
            message, self._go_payload = self._messages[-1]
            self._go_after_post = getattr(message, "method", "") == "POST"
            self._go_disarm()

    # -- answers

    def _go_refuse(self, answer: bytes, reason: str) -> None:
        """Write net/http's answer and close, reading (and dropping) what still arrives for
        :data:`RST_AVOIDANCE_DELAY_S` so that the client can read the answer."""
        self._go_disarm()
        if self._go_discard:
            return
        self._go_discard = True
        self.log.info("Refused a malformed request", v=5, answer=answer.split(b"\r\n", 1)[0]
                      .decode(), reason=reason[:200])
        transport = self.transport
        if transport is None:
            return
        transport.write(answer)
        # aiohttp must not write anything after this (its own error response, a handler's):
        # without a transport its writes fail as a vanished client, which it ignores
        self.transport = None
        self.close()  # no further request on this connection
        if answer is TOO_LARGE:  # closeWriteAndWait: the client is likely still sending
            asyncio.get_running_loop().call_later(RST_AVOIDANCE_DELAY_S, transport.close)
        else:
            transport.close()

    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """aiohttp's last resort: a parse error (status 400) or an error escaping the handler."""
        if status == 400:
            self._go_refuse(_go_answer(exc), " ".join(str(exc or message).split()))
            return web.Response(status=400)  # never written: the connection is closed
        # the handler catches its own errors (serve_http); anything else is one klog line
        self.log.error("Unhandled error serving a request", err=f"{type(exc).__name__}: {exc}"
                       if exc is not None else message, status=status)
        self.force_close()
        return web.Response(status=status)

    def log_exception(self, *args: Any, **kw: Any) -> None:
        exc = kw.get("exc_info")
        self.log.error(str(args[0] % args[1:]) if args else "aiohttp error",
                       err=f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException)
                       else None)


class GoServer(web.Server):
    """``web.Server`` whose connections are handled the way Go's net/http handles them."""

    def __init__(self, handler: Any, *, log: klog.Logger | None = None,
                 read_header_timeout_s: float = READ_HEADER_TIMEOUT_S, **kwargs: Any) -> None:
        kwargs.setdefault("max_line_size", READ_LIMIT)
        kwargs.setdefault("max_field_size", READ_LIMIT)
        kwargs.setdefault("max_headers", READ_LIMIT // 4)  # bytes bound the count, as in Go
        kwargs.setdefault("keepalive_timeout", IDLE_TIMEOUT_S)
        kwargs.setdefault("access_log", None)
        super().__init__(_go_checks(handler), **kwargs)
        self._go_log = log or klog.logger
        self._go_timeout = read_header_timeout_s

    def __call__(self) -> RequestHandler:
        handler = _GoRequestHandler(self, loop=self._loop, **self._kwargs)
        handler.log = self._go_log
        handler.read_header_timeout_s = self._go_timeout
        return handler
