"""The HTTP surface as Go's net/http has it (``metricsd.gohttp``): header limits, the exact
answers to requests that do not parse, nothing logged, the header timeout — and no Python
traceback for any input (hypothesis).

Every ``GO`` entry was recorded from a go1.21.8 ``net/http`` server configured as the
apiserver's (``MaxHeaderBytes: 1 << 20``, ``ReadHeaderTimeout: 32s``, ``IdleTimeout: 90s``),
given the same bytes on a fresh connection.
"""

from __future__ import annotations

import asyncio
import io
import logging
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metricsd import klog
from metricsd.gohttp import GoServer, go_error_response

HOST = "127.0.0.1"
MiB = 1 << 20

HANDLED = "handled"  # the request reached the handler (Go's handler answered "ok …")


def _head(*lines: bytes, start: bytes = b"GET / HTTP/1.1") -> bytes:
    return b"\r\n".join((start, *lines)) + b"\r\n\r\n"


GO: list[tuple[str, bytes, str | bytes]] = [
    ("ok", _head(b"Host: x"), HANDLED),
    ("header-1MB", _head(b"Host: x", b"X-Big: " + b"a" * 1_000_000), HANDLED),
    ("header-10KB", _head(b"Host: x", b"X-Big: " + b"a" * 10_000), HANDLED),
    ("200-headers", _head(b"Host: x", *(b"X-%d: 1" % i for i in range(200))), HANDLED),
    ("header-1MiB+4KiB", _head(b"Host: x", b"X-Big: " + b"a" * (MiB + 4096)),
     go_error_response(431)),
    ("header-2MiB", _head(b"Host: x", b"X-Big: " + b"a" * (2 * MiB)), go_error_response(431)),
    ("headers-1.5MiB", _head(b"Host: x", *(b"X-%06d: %s" % (i, b"v" * 90)
                                           for i in range(15000))), go_error_response(431)),
    ("bad-line", b"GARBAGE\r\n\r\n", go_error_response(400)),
    ("bad-method", _head(b"Host: x", start=b"G(T / HTTP/1.1"), go_error_response(400)),
    ("http-9.9", _head(b"Host: x", start=b"GET / HTTP/9.9"),
     go_error_response(505, "unsupported protocol version")),
    ("http-2.0", _head(b"Host: x", start=b"GET / HTTP/2.0"),
     go_error_response(505, "unsupported protocol version")),
    ("bad-version", _head(b"Host: x", start=b"GET / HTTQ/1.1"), go_error_response(400)),
    ("http-1.0-no-host", b"GET / HTTP/1.0\r\n\r\n", HANDLED),
    ("no-host", b"GET / HTTP/1.1\r\n\r\n",
     go_error_response(400, "missing required Host header")),
    ("two-hosts", _head(b"Host: a", b"Host: b"), go_error_response(400)),
    ("bad-host", _head(b"Host: a b"), go_error_response(400, "malformed Host header")),
    ("bad-content-length", _head(b"Host: x", b"Content-Length: abc", start=b"POST / HTTP/1.1"),
     go_error_response(400)),
    ("negative-content-length", _head(b"Host: x", b"Content-Length: -1",
                                      start=b"POST / HTTP/1.1"), go_error_response(400)),
    ("two-content-lengths", _head(b"Host: x", b"Content-Length: 1", b"Content-Length: 2",
                                  start=b"POST / HTTP/1.1") + b"ab", go_error_response(400)),
    ("unknown-transfer-coding", _head(b"Host: x", b"Transfer-Encoding: gzip",
                                      start=b"POST / HTTP/1.1"), go_error_response(501)),
    ("space-in-name", _head(b"Host: x", b"Bad Name: v"),
     go_error_response(400, "invalid header name")),
    ("space-before-colon", _head(b"Host: x", b"X-A : 1"),
     go_error_response(400, "invalid header name")),
    ("no-colon", _head(b"Host: x", b"NoColon"), go_error_response(400)),
    ("control-in-value", _head(b"Host: x", b"X: a\x01b"), go_error_response(400)),
    ("bad-target", _head(b"Host: x", start=b"GET %zz HTTP/1.1"), go_error_response(400)),
    ("nul-in-target", _head(b"Host: x", start=b"GET /a\x00b HTTP/1.1"),
     go_error_response(400)),
    ("absolute-target", _head(b"Host: x", start=b"GET http://x/y HTTP/1.1"), HANDLED),
    ("binary", bytes(range(256)) + b"\r\n\r\n", go_error_response(400)),
    ("leading-blank-line", b"\r\n" + _head(b"Host: x"), go_error_response(400)),
    ("options-star", _head(b"Host: x", start=b"OPTIONS * HTTP/1.1"), b"200"),
    ("unknown-expectation", _head(b"Host: x", b"Expect: bogus"), b"417"),
]


class Served:
    def __init__(self) -> None:
        self.port = 0
        self.requests: list[web.BaseRequest] = []
        self.stream = io.StringIO()
        self.log = klog.Logger(stream=self.stream)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with _serve() as s:
        yield s


class _serve:
    def __init__(self, timeout_s: float = 32.0, verbosity: int = 0) -> None:
        self.served = Served()
        self.served.log.configure(verbosity=verbosity)
        self.timeout_s = timeout_s
        self.runner: web.ServerRunner | None = None

    async def __aenter__(self) -> Served:
        async def handle(request: web.BaseRequest) -> web.Response:
            self.served.requests.append(request)
            return web.Response(text=f"ok {request.method} {request.raw_path}\n")

        server = GoServer(handle, log=self.served.log, read_header_timeout_s=self.timeout_s)
        self.runner = web.ServerRunner(server, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, HOST, 0)
        await site.start()
        self.served.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.served

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def exchange(port: int, data: bytes, timeout: float = 20.0) -> bytes:
    """Send ``data``, half-close, read the answer to the end."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(data)
        await writer.drain()
        writer.write_eof()
        async with asyncio.timeout(timeout):
            return await reader.read()
    finally:
        writer.close()


@pytest.mark.parametrize(("name", "request_bytes", "expected"), GO, ids=[g[0] for g in GO])
async def test_answers_as_go(served: Served, name: str, request_bytes: bytes,
                             expected: str | bytes) -> None:
    got = await exchange(served.port, request_bytes)
    if expected == HANDLED:
        assert got.startswith(b"HTTP/1.") and b" 200 OK\r\n" in got.split(b"\r\n", 1)[0] + b"\r\n"
        assert got.endswith(b"\r\n\r\nok " + served.requests[-1].method.encode() + b" "
                            + served.requests[-1].raw_path.encode() + b"\n")
    elif isinstance(expected, bytes) and expected.isdigit():
        assert got.split(b"\r\n", 1)[0].split(b" ")[1] == expected, got[:200]
        assert not served.requests
    else:
        assert got == expected
        assert not served.requests
    # net/http logs none of this
    assert served.stream.getvalue() == ""


async def test_the_reason_is_logged_at_v5() -> None:
    async with _serve(verbosity=5) as s:
        await exchange(s.port, b"GARBAGE\r\n\r\n")
    assert '"Refused a malformed request" answer="HTTP/1.1 400 Bad Request" reason="' in (
        s.stream.getvalue())
    assert "Traceback" not in s.stream.getvalue()


async def test_options_star_and_expect_answers() -> None:
    async with _serve() as s:
        star = await exchange(s.port, _head(b"Host: x", start=b"OPTIONS * HTTP/1.1"))
        expect = await exchange(s.port, _head(b"Host: x", b"Expect: bogus"))
    assert star.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nContent-Length: 0\r\n" in star
    assert expect.startswith(b"HTTP/1.1 417 Expectation Failed\r\n")
    assert b"\r\nConnection: close\r\n" in expect


async def test_kept_alive_requests_each_get_the_full_header_allowance(served: Served) -> None:
    big = _head(b"Host: x", b"X-Big: " + b"a" * 900_000)  # three of these exceed the limit
    reader, writer = await asyncio.open_connection(HOST, served.port)
    try:
        for _ in range(3):
            writer.write(big)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
    finally:
        writer.close()
    assert len(served.requests) == 3


async def test_headers_not_complete_in_time_close_the_connection_silently() -> None:
    async with _serve(timeout_s=0.2) as s:
        reader, writer = await asyncio.open_connection(HOST, s.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # slowloris: never finished
        await writer.drain()
        assert await reader.read() == b""  # closed by the server, nothing answered
        writer.close()
        idle_reader, idle_writer = await asyncio.open_connection(HOST, s.port)
        assert await idle_reader.read() == b""  # a connection that never sends: the same
        idle_writer.close()
        # a request completed in time is answered
        assert (await exchange(s.port, _head(b"Host: x"))).startswith(b"HTTP/1.1 200 OK")
    assert s.stream.getvalue() == ""


# ------------------------------------------------------------------ no traceback, whatever comes


requests = st.one_of(
    st.binary(max_size=600),
    st.builds(
        lambda method, target, version, headers, tail: b"\r\n".join(
            [b" ".join([method, target, version]), *headers]) + b"\r\n\r\n" + tail,
        st.sampled_from([b"GET", b"POST", b"HEAD", b"PUT", b"OPTIONS", b"G T", b"", b"\x00"]),
        st.sampled_from([b"/", b"/apis/metrics.k8s.io/v1beta1/nodes", b"*", b"%", b"/\xff",
                         b"http://x/", b""]),
        st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.x", b"HTTP/11", b""]),
        st.lists(st.one_of(
            st.sampled_from([b"Host: x", b"Host: x y", b"Content-Length: 5",
                             b"Content-Length: -5", b"Content-Length: 99999999999999999999",
                             b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip",
                             b"Expect: 100-continue", b"Connection: close", b"X: \x7f",
                             b": empty", b"Upgrade: h2c", b"Connection: Upgrade"]),
            st.binary(max_size=40)), max_size=6),
        st.binary(max_size=60)),
)


@pytest.fixture(scope="module")
def shared() -> Any:
    """One server on one event loop for all hypothesis examples (they run synchronously)."""
    loop = asyncio.new_event_loop()
    problems: list[Any] = []
    loop.set_exception_handler(lambda _loop, context: problems.append(context))
    serving = _serve(timeout_s=2.0, verbosity=5)
    served = loop.run_until_complete(serving.__aenter__())
    yield loop, served, problems
    loop.run_until_complete(serving.__aexit__())
    loop.close()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=requests)
def test_no_traceback_for_any_request(shared: Any, data: bytes) -> None:
    """Whatever arrives: an HTTP/1.x answer or none, and nothing but klog lines (at -v=5)."""
    loop, served, problems = shared

    async def run() -> bytes:
        try:
            return await exchange(served.port, data, timeout=10)
        except ConnectionResetError:
            return b""

    handler = _RecordAll()
    logging.getLogger().addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning would be a traceback-like line too
            got = loop.run_until_complete(run())
    finally:
        logging.getLogger().removeHandler(handler)
    lines = served.stream.getvalue().splitlines()
    assert problems == [] and handler.records == []
    assert [line for line in lines if not line.startswith("I") or "Traceback" in line] == []
    assert got == b"" or got.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")), got[:100]


class _RecordAll(logging.Handler):
    """Python logging at WARNING and up (what would reach stderr without the klog route)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# ------------------------------------------------------------------ an error inside the handler


async def test_an_error_in_the_handler_is_the_apiservers_panic_answer() -> None:
    from metricsd.clock import RealClock
    from metricsd.serve_http import HTTPApp

    class Broken:
        async def authenticate(self, headers: Any, cert: Any) -> Any:
            raise KeyError("boom")

    stream = io.StringIO()
    app = HTTPApp(api=None, health=None, metrics=None, authn=Broken(), authz=None,  # type: ignore[arg-type]
                  clock=RealClock(), log=klog.Logger(stream=stream))
    runner = web.ServerRunner(GoServer(app.handle, log=app.log), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        got = await exchange(port, _head(b"Host: x", b"Audit-ID: a-1",
                                         start=b"GET /apis/metrics.k8s.io/v1beta1/nodes HTTP/1.1"))
    finally:
        await runner.cleanup()
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"\r\nContent-Type: text/plain; charset=utf-8\r\n" in head
    assert b"\r\nX-Content-Type-Options: nosniff\r\n" in head
    assert body == b"This request caused apiserver to panic. Look in the logs for details.\n"
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and all(line.startswith("E") for line in lines)
    assert lines[0].endswith(" runtime.go:79] Observed a panic: KeyError('boom') "
                             "(KeyError: 'boom')")
    assert lines[1].endswith(' wrap.go:57] "apiserver panic\'d" method="GET" '
                             'URI="/apis/metrics.k8s.io/v1beta1/nodes" auditID="a-1"')
