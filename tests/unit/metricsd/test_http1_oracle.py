"""The lean kubelet HTTP client (``metricsd.scraper.http1``) against aiohttp's client as oracle.

A raw loopback server writes scripted response bytes, split at arbitrary points; both clients
must read the same status and body (or both fail), and the lean client's error texts, reuse
and retry rules hold.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metricsd.scraper import http1
from metricsd.scraper.http1 import ConnectionPool, Progress, ResponseError, request_head

HOST = "127.0.0.1"


@dataclass
class Script:
    """What the server answers: pieces written one by one, then close or keep open."""

    pieces: list[bytes]
    close_after: bool = False
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    hold: asyncio.Event | None = None  # wait for this before the last piece


class ScriptedServer:
    def __init__(self, script: Callable[[], Script]) -> None:
        self.script = script
        self.server: asyncio.Server | None = None
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.connections = 0
        self.disconnected = asyncio.Event()  # set whenever a connection's handler ends

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                script = self.script()
                script.requests.append(head)
                for i, piece in enumerate(script.pieces):
                    if script.hold is not None and i == len(script.pieces) - 1:
                        await script.hold.wait()
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0)
                if script.close_after:
                    writer.close()
                    return
        finally:
            if not writer.is_closing():
                writer.close()
            self.disconnected.set()

    async def __aenter__(self) -> ScriptedServer:
        self.server = await asyncio.start_server(self._handle, HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.close()
        await self.server.wait_closed()


def head_for(port: int) -> bytes:
    return request_head("/metrics/resource", f"{HOST}:{port}",
                        {"User-Agent": "metrics-server", "Accept-Encoding": "gzip"})


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a] or [b""]


def chunked(body: bytes, sizes: list[int], ext: bool) -> bytes:
    out = bytearray()
    i = 0
    for size in sizes:
        if i >= len(body):
            break
        part = body[i:i + max(1, size)]
        i += len(part)
        out += f"{len(part):x}{';a=b' if ext else ''}\r\n".encode() + part + b"\r\n"
    if i < len(body):
        part = body[i:]
        out += f"{len(part):X}\r\n".encode() + part + b"\r\n"
    out += b"0\r\n" + (b"X-Trailer: 1\r\n" if ext else b"") + b"\r\n"
    return bytes(out)


async def lean_get(port: int) -> tuple[int, str, bytes] | str:
    pool = ConnectionPool(None)
    try:
        resp = await pool.get(HOST, port, head_for(port))
        return resp.status, resp.reason, resp.body
    except ResponseError as err:
        return f"error: {err.text}"
    finally:
        await pool.close()


async def oracle_get(port: int) -> tuple[int, str, bytes] | str:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.get(f"http://{HOST}:{port}/metrics/resource",
                                   headers={"Accept-Encoding": "gzip"}) as resp:
                if resp.status != 200:
                    return resp.status, resp.reason or "", b""
                return resp.status, resp.reason or "", await resp.read()
        except aiohttp.ClientError as err:
            return f"error: {type(err).__name__}"


framing = st.sampled_from(["length", "chunked", "close"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=3000),
    frame=framing,
    compress=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=6),
    sizes=st.lists(st.integers(min_value=1, max_value=700), max_size=8),
    ext=st.booleans(),
    bare_lf=st.booleans(),
    status=st.sampled_from([(200, "OK"), (200, "OK"), (401, "Unauthorized"),
                            (503, "Service Unavailable"), (200, "Fine Thanks")]),
    loop=st.sampled_from(["asyncio", "uvloop"]),
)
def test_same_answer_as_aiohttp(body: bytes, frame: str, compress: bool, cuts: list[int],
                                sizes: list[int], ext: bool, bare_lf: bool,
                                status: tuple[int, str], loop: str) -> None:
    payload = gzip.compress(body, mtime=0) if compress else body
    head = f"HTTP/1.1 {status[0]} {status[1]}\r\nContent-Type: text/plain\r\n"
    if compress:
        head += "Content-Encoding: gzip\r\n"
    if frame == "length":
        raw = (head + f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
    elif frame == "chunked":
        raw = (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunked(payload, sizes,
                                                                             ext)
    else:
        raw = (head + "\r\n").encode() + payload
    if bare_lf:
        head_part, _sep, rest = raw.partition(b"\r\n\r\n")
        raw = head_part.replace(b"\r\n", b"\n") + b"\n\n" + rest
    pieces = split(raw, cuts)

    async def run() -> None:
        async with ScriptedServer(lambda: Script(pieces, close_after=True)) as server:
            lean = await lean_get(server.port)
            oracle = await oracle_get(server.port)
        assert lean == oracle
        if status[0] == 200:
            assert lean == (200, status[1], body)

    if loop == "uvloop":  # the metricsd process runs on uvloop (metricsd.eventloop)
        uvloop = pytest.importorskip("uvloop")
        uvloop.run(run())
    else:
        asyncio.run(run())


# ------------------------------------------------------------------ errors and their Go texts


@pytest.mark.parametrize(
    ("pieces", "expected", "body_started"),
    [
        ([], "EOF", False),
        ([b"HTTP/1.1 200 OK\r\nContent-Len"], "EOF", False),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"], "unexpected EOF", True),
        ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"], "unexpected EOF",
         True),
        ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
         "invalid byte in chunk length", True),
        ([b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope"],
         "gzip: invalid header", True),
        ([b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 12\r\n\r\n"
          + gzip.compress(b"hello world, hello world")[:12]], "unexpected EOF", True),
        ([b"SSH-2.0-OpenSSH\r\n\r\n"], 'net/http: HTTP/1.x transport connection broken: '
         'malformed HTTP response "SSH-2.0-OpenSSH"', False),
        ([b"HTTP/1.1 2x0 OK\r\n\r\n"], 'net/http: HTTP/1.x transport connection broken: '
         'malformed HTTP status code "2x0"', False),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n"],
         'net/http: HTTP/1.x transport connection broken: bad Content-Length "ten"', False),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"],
         "net/http: HTTP/1.x transport connection broken: http: message cannot contain "
         "multiple Content-Length headers", False),
        ([b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"],
         "net/http: HTTP/1.x transport connection broken: malformed MIME header line: "
         "no colon here", False),
    ],
)
async def test_error_texts(pieces: list[bytes], expected: str, body_started: bool) -> None:
    async with ScriptedServer(lambda: Script(pieces, close_after=True)) as server:
        pool = ConnectionPool(None)
        with pytest.raises(ResponseError) as info:
            await pool.get(HOST, server.port, head_for(server.port))
        await pool.close()
    assert info.value.text == expected
    assert info.value.body_started is body_started


async def test_oversized_headers_fail_without_reading_forever(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.setattr(http1, "MAX_HEADER_BYTES", 1000)
    pieces = [b"HTTP/1.1 200 OK\r\n" + b"X-Filler: " + b"a" * 2000 + b"\r\n\r\n"]
    async with ScriptedServer(lambda: Script(pieces, close_after=True)) as server:
        pool = ConnectionPool(None)
        with pytest.raises(ResponseError, match="exceeded 1000 bytes"):
            await pool.get(HOST, server.port, head_for(server.port))
        await pool.close()


async def test_refused_connection_is_an_os_error() -> None:
    async with ScriptedServer(lambda: Script([])) as server:
        port = server.port
    pool = ConnectionPool(None)
    with pytest.raises(ConnectionRefusedError):
        await pool.get(HOST, port, head_for(port))


# ------------------------------------------------------------------ connection reuse


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def test_kept_alive_connection_is_reused_and_request_bytes_are_exact() -> None:
    script = Script([OK])
    async with ScriptedServer(lambda: script) as server:
        pool = ConnectionPool(None)
        for _ in range(3):
            resp = await pool.get(HOST, server.port, head_for(server.port))
            assert (resp.status, resp.body) == (200, b"ok")
        assert server.connections == 1
        assert pool.idle_count() == 1
        await pool.close()
    assert script.requests[0] == (
        f"GET /metrics/resource HTTP/1.1\r\nHost: {HOST}:{server.port}\r\n"
        "User-Agent: metrics-server\r\nAccept-Encoding: gzip\r\n\r\n").encode()


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\nno",
    ],
    ids=["connection-close", "http-1.0", "non-200"],
)
async def test_not_reused_when_the_answer_says_so(answer: bytes) -> None:
    async with ScriptedServer(lambda: Script([answer])) as server:
        pool = ConnectionPool(None)
        first = await pool.get(HOST, server.port, head_for(server.port))
        second = await pool.get(HOST, server.port, head_for(server.port))
        assert first.status == second.status
        assert server.connections == 2
        assert pool.idle_count() == 0
        await pool.close()


async def test_http_1_0_keep_alive_is_reused() -> None:
    answer = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"
    async with ScriptedServer(lambda: Script([answer])) as server:
        pool = ConnectionPool(None)
        for _ in range(2):
            await pool.get(HOST, server.port, head_for(server.port))
        assert server.connections == 1
        await pool.close()


async def test_peer_closing_a_kept_alive_connection_is_retried_once() -> None:
    # the server answers once per connection, then closes without saying so (idle timeout)
    async with ScriptedServer(lambda: Script([OK], close_after=True)) as server:
        pool = ConnectionPool(None)
        await pool.get(HOST, server.port, head_for(server.port))
        # the close may or may not have been seen yet: either way the second GET succeeds
        resp = await pool.get(HOST, server.port, head_for(server.port))
        assert resp.body == b"ok"
        assert server.connections == 2
        await pool.close()


async def test_fresh_connection_closed_before_answer_is_not_retried() -> None:
    async with ScriptedServer(lambda: Script([], close_after=True)) as server:
        pool = ConnectionPool(None)
        with pytest.raises(ResponseError, match=r"^EOF$"):
            await pool.get(HOST, server.port, head_for(server.port))
        assert server.connections == 1


async def test_unsolicited_bytes_on_an_idle_connection_drop_it() -> None:
    async with ScriptedServer(lambda: Script([OK])) as server:
        pool = ConnectionPool(None)
        await pool.get(HOST, server.port, head_for(server.port))
        server.writers[0].write(b"HTTP/1.1 200 OK\r\n\r\n")  # nobody asked
        await server.writers[0].drain()
        (idle,) = pool._idle[(HOST, server.port)]
        await server.disconnected.wait()  # the client aborted the connection on those bytes
        assert idle.closed
        resp = await pool.get(HOST, server.port, head_for(server.port))
        assert resp.body == b"ok"
        assert server.connections == 2
        await pool.close()


async def test_idle_connections_are_closed_after_the_idle_timeout() -> None:
    async with ScriptedServer(lambda: Script([OK])) as server:
        pool = ConnectionPool(None)
        await pool.get(HOST, server.port, head_for(server.port))
        now = asyncio.get_running_loop().time()
        pool._sweep(now + http1.IDLE_TIMEOUT_S - 1)
        assert pool.idle_count() == 1
        pool._sweep(now + http1.IDLE_TIMEOUT_S + 20)
        assert pool.idle_count() == 0
        await pool.close()


class SignallingProgress(Progress):
    """Progress that also sets an event when the headers are in (so the test can await it)."""

    def __init__(self) -> None:
        self.headers = asyncio.Event()
        super().__init__()

    @property  # type: ignore[override]
    def headers_done(self) -> bool:
        return bool(Progress.headers_done.__get__(self))  # type: ignore[attr-defined]

    @headers_done.setter
    def headers_done(self, value: bool) -> None:
        Progress.headers_done.__set__(self, value)  # type: ignore[attr-defined]
        if value:
            self.headers.set()


async def test_cancelled_request_reports_progress_and_never_reuses() -> None:
    hold = asyncio.Event()
    pieces = [b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab", b"cd"]
    script = Script(pieces, hold=hold)
    async with ScriptedServer(lambda: script) as server:
        pool = ConnectionPool(None)
        progress = SignallingProgress()
        task = asyncio.create_task(pool.get(HOST, server.port, head_for(server.port), progress))
        await progress.headers.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool.idle_count() == 0
        hold.set()
        script.hold = None
        resp = await pool.get(HOST, server.port, head_for(server.port))
        assert resp.body == b"abcd"
        assert server.connections == 2
        await pool.close()


# ------------------------------------------------------------------ over TLS


@pytest.fixture
async def tls_server() -> AsyncIterator[tuple[int, ssl.SSLContext]]:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    body = b"x" * 50_000  # several TLS records

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            writer.close()

    server = await asyncio.start_server(handle, HOST, 0, ssl=server_ctx)
    yield server.sockets[0].getsockname()[1], client_ctx
    server.close()
    await server.wait_closed()


def test_tls_on_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    body = bytes(range(256)) * 300

    async def main() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                try:
                    await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             + chunked(body, [1000, 7000, 3], True))
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, HOST, 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        pool = ConnectionPool(client_ctx)
        for _ in range(2):
            assert (await pool.get(HOST, port, head_for(port))).body == body
        assert pool.idle_count() == 1
        await pool.close()
        with pytest.raises(ssl.SSLCertVerificationError):
            await ConnectionPool(ssl.create_default_context()).get(HOST, port, head_for(port))
        server.close()
        await server.wait_closed()

    uvloop.run(main())


async def test_tls_large_body_and_reuse(tls_server: tuple[int, ssl.SSLContext]) -> None:
    port, ctx = tls_server
    pool = ConnectionPool(ctx)
    for _ in range(2):
        resp = await pool.get(HOST, port, head_for(port))
        assert resp.body == b"x" * 50_000
    assert pool.idle_count() == 1
    await pool.close()


async def test_tls_verification_failure_propagates(tls_server: tuple[int, ssl.SSLContext]
                                                   ) -> None:
    port, _ = tls_server
    pool = ConnectionPool(ssl.create_default_context())  # does not trust the test CA
    with pytest.raises(ssl.SSLCertVerificationError):
        await pool.get(HOST, port, head_for(port))
