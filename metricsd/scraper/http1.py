"""A lean HTTP/1.1 GET client for kubelet scrapes: kept-alive connections, one request at a time.

Why not aiohttp's client (still used elsewhere, and the oracle of this module's tests)? A scrape
cycle makes one request per node — 1,000 every 15 s — and aiohttp's per-request machinery
(request/response objects, header multidicts, timers, the stream reader, the connector's
bookkeeping) costs about as much CPU as TLS itself. ``bench/metricsd_vs_prometheus.py`` and
``docs/performance.md`` give the figures. This client does only what a scrape needs:

* ``GET`` with a fixed header block, over a connection per node that is reused across ticks
  (idle connections are closed after :data:`IDLE_TIMEOUT_S`, Go's ``IdleConnTimeout``);
* responses framed by ``Content-Length``, ``Transfer-Encoding: chunked`` or the end of the
  connection; ``Content-Encoding: gzip`` inflated (the request asks for it, as Go does);
* a redirect is returned with its ``Location`` (the caller follows it, as Go's client does);
* a non-200 status returns at once with the status line (the body is not read, the connection
  is closed), as upstream only reports the status;
* a reused connection that the peer closed before answering is retried once on a new one, as
  Go's transport retries an idempotent request;
* a :class:`BodyLimit` bounds each body twice, as received and as inflated, both counted while
  it arrives: gzip is inflated piece by piece, at most 1 MiB per call (``max_length``) and never
  past the bound, so a small body that inflates to gigabytes costs about the bound before it
  fails (Go's transport has no such bound; metricsd's ``--kubelet-max-body-size``).

Errors are :class:`ResponseError` with Go's texts (``EOF``, ``unexpected EOF``,
``malformed HTTP response …``) and whether the headers had arrived; dial and TLS errors
propagate as Python's ``OSError``/``ssl`` exceptions for :mod:`metricsd.tlserrors`.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from dataclasses import dataclass
from typing import Any

__all__ = [
    "IDLE_TIMEOUT_S",
    "MAX_HEADER_BYTES",
    "BodyLimit",
    "ConnectionPool",
    "Progress",
    "Response",
    "ResponseError",
    "request_head",
]

IDLE_TIMEOUT_S = 90.0  # Go's http.Transport IdleConnTimeout in client-go's default transport
MAX_HEADER_BYTES = 1 << 20  # Go allows 10 MB; a kubelet's headers are a few hundred bytes
_SWEEP_EVERY_S = 10.0
#: gzip is inflated at most this much per call: zlib's output buffer then never holds more
#: than one step on top of the body kept so far (a normal kubelet body is one step).
_INFLATE_STEP = 1 << 20


class ResponseError(Exception):
    """The server's answer could not be read; ``text`` is Go's wording of the cause."""

    def __init__(self, text: str, *, body_started: bool, debug: str = "") -> None:
        super().__init__(text)
        self.text = text
        self.body_started = body_started  # headers were complete: upstream says "read body"
        self.debug = debug or text


@dataclass(frozen=True, slots=True)
class BodyLimit:
    """At most ``size`` body bytes per response, received and after gzip (0: no bound);
    ``shown`` names the bound in the error text (the flag and its value)."""

    size: int
    shown: str = ""

    def raw_error(self) -> ResponseError:
        return ResponseError(f"http: response body too large (over {self._label()})",
                             body_started=True)

    def inflated_error(self) -> ResponseError:
        return ResponseError("gzip: decompressed response body too large "
                             f"(over {self._label()})", body_started=True)

    def _label(self) -> str:
        return self.shown or f"{self.size} bytes"


NO_LIMIT = BodyLimit(0)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str
    body: bytes  # empty for a non-200 answer (not read)
    headers_at: float  # loop.time() when the headers were complete (client-go's trace line)
    location: str = ""  # the Location header of a redirect


def request_head(target: str, host_header: str, headers: dict[str, str]) -> bytes:
    """The request bytes of a ``GET`` (built once per URL and identity, reused every tick)."""
    lines = [f"GET {target} HTTP/1.1", f"Host: {host_header}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# parser states
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILER, _UNTIL_CLOSE, _DONE = range(8)


class Progress:
    """How far one request got (read after a deadline cancelled it); ``url`` is set by a
    caller that follows redirects, to name the hop in flight."""

    __slots__ = ("headers_done", "url")

    def __init__(self) -> None:
        self.headers_done = False
        self.url = ""


class _Connection(asyncio.Protocol):
    """One kept-alive connection; parses exactly one response per :meth:`send`."""

    __slots__ = (
        "_buf",
        "_chunks",
        "_inflated",
        "_inflater",
        "_keep_alive",
        "_location",
        "_reason",
        "_received",
        "_remaining",
        "_state",
        "_status",
        "closed",
        "headers_at",
        "idle_since",
        "key",
        "limit",
        "loop",
        "progress",
        "received_any",
        "reused",
        "transport",
        "waiter",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, key: tuple[str, int],
                 limit: BodyLimit = NO_LIMIT) -> None:
        self.loop = loop
        self.key = key
        self.limit = limit
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self.reused = False
        self.idle_since = 0.0
        self.progress: Progress | None = None
        self._reset()

    def _reset(self) -> None:
        self._buf = bytearray()
        self._chunks: list[bytes] = []
        self._state = _HEAD
        self._remaining = 0
        self._received = 0
        self._inflated = 0
        self._inflater: Any = None  # a zlib decompressobj while a gzip body is read
        self._keep_alive = True
        self._status = 0
        self._reason = ""
        self._location = ""
        self.headers_at = 0.0
        self.received_any = False

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():
            # bytes nobody asked for (or after a cancelled request): the framing is lost
            self.abort()
            return
        self.received_any = True
        self._buf += data
        try:
            self._parse()
        except ResponseError as err:
            self._fail(err)

    def eof_received(self) -> bool | None:
        self._on_end(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._on_end(exc)

    # -- parsing

    def _parse(self) -> None:
        buf = self._buf
        while True:
            state = self._state
            if state == _HEAD:
                end, sep = buf.find(b"\r\n\r\n"), 4
                bare = buf.find(b"\n\n")  # Go also accepts bare LF line ends
                if bare >= 0 and (end < 0 or bare < end):
                    end, sep = bare, 2
                if end > MAX_HEADER_BYTES or (end < 0 and len(buf) > MAX_HEADER_BYTES):
                    raise ResponseError("net/http: server response headers exceeded "
                                        f"{MAX_HEADER_BYTES} bytes; aborted", body_started=False)
                if end < 0:
                    return
                head = bytes(buf[:end])
                del buf[: end + sep]
                if self._head(head):
                    return
                continue
            if state == _LENGTH:
                if self._take_body():
                    self._finish()
                return
            if state == _CHUNK_SIZE:
                end = buf.find(b"\n")
                if end < 0:
                    if len(buf) > 4096:
                        raise ResponseError("http chunk length too large", body_started=True)
                    return
                line = bytes(buf[:end]).rstrip(b"\r").split(b";", 1)[0].strip(b" \t")
                del buf[: end + 1]
                try:
                    size = int(line, 16) if line and line.isalnum() else -1
                except ValueError:
                    size = -1
                if size < 0:
                    raise ResponseError("invalid byte in chunk length", body_started=True)
                if size == 0:
                    self._state = _TRAILER
                else:
                    self._remaining = size
                    self._state = _CHUNK_DATA
                continue
            if state == _CHUNK_DATA:
                if not self._take_body():
                    return
                self._state = _CHUNK_CRLF
                continue
            if state == _CHUNK_CRLF:
                if len(buf) < 2 and buf[:1] != b"\n":
                    if buf[:1] not in (b"", b"\r"):
                        raise ResponseError("malformed chunked encoding", body_started=True)
                    return
                if buf[:2] == b"\r\n":
                    del buf[:2]
                elif buf[:1] == b"\n":
                    del buf[:1]
                else:
                    raise ResponseError("malformed chunked encoding", body_started=True)
                self._state = _CHUNK_SIZE
                continue
            if state == _TRAILER:
                end = buf.find(b"\n")
                if end < 0:
                    return
                line = bytes(buf[:end]).rstrip(b"\r")
                del buf[: end + 1]
                if not line:
                    self._finish()
                    return
                continue  # a trailer field: ignored
            if state == _UNTIL_CLOSE:
                if buf:
                    self._add(bytes(buf))
                    buf.clear()
                return
            return  # _DONE: nothing more is expected

    def _take_body(self) -> bool:
        """Move up to ``_remaining`` buffered bytes into the body; True when none remain."""
        buf = self._buf
        take = min(self._remaining, len(buf))
        if take:
            self._add(bytes(buf[:take]))
            del buf[:take]
            self._remaining -= take
        return not self._remaining

    def _add(self, piece: bytes) -> None:
        """Keep one piece of the body, inflating it when gzip; both counts within the bound."""
        bound = self.limit.size
        self._received += len(piece)
        if bound and self._received > bound:
            raise self.limit.raw_error()
        inflater = self._inflater
        if inflater is None:
            self._chunks.append(piece)
            return
        if inflater.eof:
            return  # bytes after the gzip member: ignored, as before the bound existed
        data = piece
        try:
            while True:
                # at most one step, and one byte more than the bound allows ("over" vs "at")
                want = min(_INFLATE_STEP, bound - self._inflated + 1) if bound else _INFLATE_STEP
                out = inflater.decompress(data, want)
                if out:
                    self._inflated += len(out)
                    if bound and self._inflated > bound:
                        raise self.limit.inflated_error()
                    self._chunks.append(out)
                if len(out) < want or inflater.eof:
                    return  # this piece is used up
                data = inflater.unconsumed_tail  # the output was capped: more may follow
        except zlib.error as err:
            text = "gzip: invalid header" if "header" in str(err) else "flate: corrupt input"
            raise ResponseError(text, body_started=True, debug=f"zlib.error: {err}") from None

    def _head(self, head: bytes) -> bool:
        """Parse the status line and headers; True when the response is already complete."""
        lines = head.split(b"\n")
        status_line = lines[0].rstrip(b"\r").decode("latin-1")
        version, _, rest = status_line.partition(" ")
        code, _, reason = rest.partition(" ")
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise ResponseError(f"net/http: HTTP/1.x transport connection broken: malformed "
                                f"HTTP response {_go_quote(status_line)}", body_started=False)
        if len(code) != 3 or not code.isdigit():
            raise ResponseError(f"net/http: HTTP/1.x transport connection broken: malformed "
                                f"HTTP status code {_go_quote(code)}", body_started=False)
        status = int(code)
        if 100 <= status < 200 and status != 101:
            return False  # an interim response: the real one follows
        length: int | None = None
        chunked = False
        keep_alive = version == "HTTP/1.1"
        gzip = False
        location = ""
        for raw in lines[1:]:
            name, colon, value_b = raw.rstrip(b"\r").partition(b":")
            if not colon:
                raise ResponseError("net/http: HTTP/1.x transport connection broken: malformed "
                                    f"MIME header line: {raw.decode('latin-1')}",
                                    body_started=False)
            field = name.strip().lower()
            value = value_b.strip()
            if field == b"content-length":
                if not value.isdigit():
                    raise ResponseError("net/http: HTTP/1.x transport connection broken: bad "
                                        f"Content-Length {_go_quote(value.decode('latin-1'))}",
                                        body_started=False)
                if length is not None and int(value) != length:
                    raise ResponseError("net/http: HTTP/1.x transport connection broken: "
                                        "http: message cannot contain multiple Content-Length "
                                        "headers", body_started=False)
                length = int(value)
            elif field == b"transfer-encoding":
                chunked = value.lower() == b"chunked"
                if not chunked and value.lower() != b"identity":
                    raise ResponseError("net/http: HTTP/1.x transport connection broken: "
                                        f"unsupported transfer encoding: "
                                        f"{_go_quote(value.decode('latin-1'))}",
                                        body_started=False)
            elif field == b"connection":
                tokens = {t.strip() for t in value.lower().split(b",")}
                if b"close" in tokens:
                    keep_alive = False
                elif b"keep-alive" in tokens:
                    keep_alive = True
            elif field == b"content-encoding":
                gzip = value.lower() == b"gzip"
            elif field == b"location":
                location = value.decode("latin-1")
        self._status = status
        self._reason = reason
        self._keep_alive = keep_alive
        self._location = location
        self.headers_at = self.loop.time()
        if self.progress is not None:
            self.progress.headers_done = True
        if status != 200:
            # upstream reports only the status line: do not read the body, do not reuse
            self._keep_alive = False
            self._state = _DONE
            self._resolve(b"")
            return True
        if gzip:
            self._inflater = zlib.decompressobj(31)
        if chunked:
            self._state = _CHUNK_SIZE
        elif length is not None:
            if self.limit.size and length > self.limit.size:
                raise self.limit.raw_error()  # refused before any of it is read
            self._remaining = length
            self._state = _LENGTH
            if length == 0:
                self._finish()
                return True
        else:
            self._keep_alive = False
            self._state = _UNTIL_CLOSE
        return False

    def _finish(self) -> None:
        self._state = _DONE
        body = b"".join(self._chunks) if len(self._chunks) != 1 else self._chunks[0]
        self._chunks = []
        if self._buf:
            self._keep_alive = False  # more bytes than the framing allows: never reuse
        if self._inflater is not None and self._received and not self._inflater.eof:
            raise ResponseError("unexpected EOF", body_started=True)  # gzip stream cut short
        self._resolve(body)

    def _resolve(self, body: bytes) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(Response(self._status, self._reason, body, self.headers_at,
                                       self._location))

    def _on_end(self, exc: Exception | None) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self._state == _UNTIL_CLOSE and exc is None:
            self._keep_alive = False
            try:
                self._finish()
            except ResponseError as err:  # a gzip body cut short by the close
                waiter.set_exception(err)
            return
        self._chunks = []  # the body is lost: do not keep it alive with the error
        self._inflater = None
        if self._state == _HEAD:
            if exc is None or isinstance(exc, ssl.SSLEOFError):
                exc = ResponseError("EOF", body_started=False, debug=f"connection closed: {exc!r}")
            waiter.set_exception(exc)
            return
        waiter.set_exception(ResponseError("unexpected EOF", body_started=True,
                                           debug=f"connection closed: {exc!r}"))

    def _fail(self, err: ResponseError) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(err)
        self.abort()

    def abort(self) -> None:
        # A failed request's error (its traceback) keeps this connection alive in a cycle
        # through the waiter: let go of the body now, not at the next full garbage collection
        # (up to the bound per failure).
        self._chunks = []
        self._inflater = None
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    # -- used by the pool

    def send(self, head: bytes) -> asyncio.Future[Response]:
        self._reset()
        self.waiter = self.loop.create_future()
        assert self.transport is not None
        self.transport.write(head)
        return self.waiter

    def reusable(self) -> bool:
        return (not self.closed and self._keep_alive and self._state == _DONE
                and not self._buf and self.transport is not None
                and not self.transport.is_closing())

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _go_quote(text: str) -> str:
    from metricsd.goquote import quote

    return quote(text)


class ConnectionPool:
    """Idle kept-alive connections by ``(host, port)``; at most one request per connection."""

    def __init__(self, ssl_context: ssl.SSLContext | None,
                 limit: BodyLimit | None = None) -> None:
        self.ssl_context = ssl_context
        self.limit = limit or NO_LIMIT
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._last_sweep = 0.0

    async def get(self, host: str, port: int, head: bytes,
                  progress: Progress | None = None) -> Response:
        """Send ``head`` to ``host:port`` and read the response (see module docstring).

        ``progress.headers_done`` tells a caller whose deadline cancelled this call whether
        the body was being read (upstream words the two cases differently).
        """
        loop = asyncio.get_running_loop()
        key = (host, port)
        self._sweep(loop.time())
        conn = self._take(key)
        if conn is not None:
            try:
                return await self._exchange(conn, head, progress)
            except (ResponseError, ConnectionResetError) as err:
                # the peer closed a kept-alive connection before answering: retry once fresh
                if conn.received_any or (isinstance(err, ResponseError) and err.body_started):
                    raise
        conn = await self._dial(loop, key)
        return await self._exchange(conn, head, progress)

    async def _dial(self, loop: asyncio.AbstractEventLoop, key: tuple[str, int]) -> _Connection:
        host, port = key
        ctx = self.ssl_context
        _, conn = await loop.create_connection(
            lambda: _Connection(loop, key, self.limit), host, port, ssl=ctx,
            server_hostname=host if ctx is not None else None)
        return conn

    async def _exchange(self, conn: _Connection, head: bytes,
                        progress: Progress | None) -> Response:
        conn.progress = progress
        try:
            response = await conn.send(head)
        except BaseException:
            conn.abort()  # cancelled (deadline) or failed: the framing is unknown now
            raise
        finally:
            conn.progress = None
        if conn.reusable():
            conn.reused = True
            conn.idle_since = conn.loop.time()
            self._idle.setdefault(conn.key, []).append(conn)
        else:
            conn.close()
        return response

    def _take(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.reusable():
                return conn
            conn.close()
        return None

    def _sweep(self, now: float) -> None:
        """Close connections idle longer than :data:`IDLE_TIMEOUT_S` (cheap, every 10 s)."""
        if now - self._last_sweep < _SWEEP_EVERY_S:
            return
        self._last_sweep = now
        for key in list(self._idle):
            keep = []
            for conn in self._idle[key]:
                if conn.reusable() and now - conn.idle_since < IDLE_TIMEOUT_S:
                    keep.append(conn)
                else:
                    conn.close()
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]

    def idle_count(self) -> int:
        return sum(len(v) for v in self._idle.values())

    async def close(self) -> None:
        conns = [c for v in self._idle.values() for c in v]
        self._idle.clear()
        for conn in conns:
            conn.close()
        if conns:
            await asyncio.sleep(0)  # let the transports run their close callbacks
