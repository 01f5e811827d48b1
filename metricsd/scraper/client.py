"""The kubelet HTTP client: kept-alive connections, TLS and identity (upstream kubelet_client.go).

``kubelet_client_config`` turns the flags plus the API-server rest config into the kubelet
client's settings (the same transformations upstream applies); :class:`KubeletClient` sends
``GET <url>`` and returns the raw body and the request time, or raises
:class:`KubeletRequestError` carrying Go's error text (``Get "https://…": …``) and whether it
counts as a timeout for the ``Failed to scrape node, timeout to access kubelet`` line.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from yarl import URL

from metricsd.clock import Clock, RealClock
from metricsd.goquote import quote
from metricsd.kubeconfig import RestConfig
from metricsd.scraper.addresses import (
    DEFAULT_PREFERRED_ADDRESS_TYPES,
    NodeEndpoint,
    join_host_port,
    kubelet_url,
)
from metricsd.scraper.http1 import (
    BodyLimit,
    ConnectionPool,
    Progress,
    Response,
    ResponseError,
    request_head,
)
from metricsd.tlserrors import DEADLINE_EXCEEDED, go_error, probe_context, url_error

__all__ = [
    "KubeletClient",
    "KubeletClientConfig",
    "KubeletRequestError",
    "KubeletResponse",
    "clock_deadline",
    "kubelet_client_config",
]


@dataclass(frozen=True)
class KubeletClientConfig:
    """Everything that shapes requests to kubelets (upstream's kubelet rest config + options)."""

    scheme: str = "https"
    default_port: int = 10250
    use_node_status_port: bool = False
    preferred_address_types: tuple[str, ...] = DEFAULT_PREFERRED_ADDRESS_TYPES
    insecure: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    bearer_token: str = ""
    bearer_token_file: str = ""
    timeout_s: float = 10.0
    user_agent: str = "metrics-server"
    #: ``--kubelet-max-body-size`` in bytes (0: no bound) and as the user wrote it
    max_body_bytes: int = 64 << 20
    max_body_text: str = "64Mi"

    def body_limit(self) -> BodyLimit:
        return BodyLimit(self.max_body_bytes, f"--kubelet-max-body-size={self.max_body_text}")

    def token(self) -> str:
        return RestConfig(bearer_token=self.bearer_token,
                          bearer_token_file=self.bearer_token_file).token()

    def ssl_context(self) -> ssl.SSLContext | None:
        """Verifying context against ``ca_file`` (system roots when empty) or insecure."""
        if self.scheme != "https":
            return None
        if self.insecure:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            # check_hostname verifies the URL's host: IP SANs when dialled by IP (Go's rule).
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH,
                                                 cafile=self.ca_file or None)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file or None)
        return context


def kubelet_client_config(
    rest: RestConfig,
    *,
    insecure_tls: bool = False,
    certificate_authority: str = "",
    client_certificate: str = "",
    client_key: str = "",
    completely_insecure: bool = False,
    port: int = 10250,
    use_node_status_port: bool = False,
    preferred_address_types: tuple[str, ...] = DEFAULT_PREFERRED_ADDRESS_TYPES,
    timeout_s: float = 10.0,
    user_agent: str = "metrics-server",
    max_body_bytes: int = 64 << 20,
    max_body_text: str = "64Mi",
) -> KubeletClientConfig:
    """As upstream's kubelet_client.go: the API-server config, then the kubelet flags applied."""
    common = {
        "default_port": port,
        "use_node_status_port": use_node_status_port,
        "preferred_address_types": tuple(preferred_address_types),
        "timeout_s": timeout_s,
        "user_agent": user_agent,
        "max_body_bytes": max_body_bytes,
        "max_body_text": max_body_text,
    }
    if completely_insecure:
        # plain http, anonymous: TLS config emptied, credentials removed
        return KubeletClientConfig(scheme="http", **common)  # type: ignore[arg-type]
    ca_file = rest.ca_file
    insecure = rest.insecure
    if certificate_authority:
        ca_file = certificate_authority
        insecure = False
    if insecure_tls:
        insecure = True
        ca_file = ""
    cert_file, key_file = rest.cert_file, rest.key_file
    if client_certificate or client_key:
        cert_file, key_file = client_certificate, client_key
    return KubeletClientConfig(
        scheme="https",
        insecure=insecure,
        ca_file=ca_file,
        cert_file=cert_file,
        key_file=key_file,
        bearer_token=rest.bearer_token,
        bearer_token_file=rest.bearer_token_file,
        **common,  # type: ignore[arg-type]
    )


#: One TLS record carries at most 16 KiB of plaintext, so reading 16 KiB at a time loses
#: nothing; asyncio's default (256 KiB, zero-filled per connection) costs 250 MB for a pool
#: of 1,000 kept-alive kubelet connections.
TLS_READ_BUFFER = 16 * 1024


def limit_tls_read_buffer(size: int = TLS_READ_BUFFER) -> None:
    """Shrink asyncio's per-connection TLS read buffer (process-wide; see docs/metricsd-runtime.md).

    asyncio offers no per-connection knob, so this sets ``SSLProtocol.max_size``; it only
    lowers the size of each ``read()`` into the buffer, never what a connection can carry.
    """
    import asyncio.sslproto

    if getattr(asyncio.sslproto.SSLProtocol, "max_size", 0) > size:
        asyncio.sslproto.SSLProtocol.max_size = size


#: client-go re-reads a bearer token file at most once a minute (cached file token source).
TOKEN_FILE_PERIOD_S = 60.0


class KubeletRequestError(Exception):
    """A failed scrape of one node: Go's text, timeout classification, Python's original."""

    def __init__(self, text: str, *, timeout: bool = False, debug: str = "") -> None:
        super().__init__(text)
        self.text = text
        self.timeout = timeout
        self.debug = debug


@dataclass(frozen=True, slots=True)
class KubeletResponse:
    url: str
    body: bytes
    request_time: float  # Unix seconds taken just before sending (the decoder's default)


@contextlib.asynccontextmanager
async def clock_deadline(clock: Clock, seconds: float) -> AsyncIterator[None]:
    """Like ``asyncio.timeout(seconds)`` but measured on ``clock`` (virtual in tests).

    Raises TimeoutError in the body when the clock passes the deadline. On the real clock this
    is plain ``asyncio.timeout`` (no watcher task per request: a scrape makes one per node).
    """
    if isinstance(clock, RealClock):
        async with asyncio.timeout(seconds):
            yield
        return
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(None) as scope:

        async def expire() -> None:
            await clock.sleep(seconds)
            scope.reschedule(loop.time())

        watcher = asyncio.create_task(expire())
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


class KubeletClient:
    """Scrapes kubelets over kept-alive connections reused across ticks (:mod:`.http1`)."""

    def __init__(self, config: KubeletClientConfig, clock: Clock,
                 trace: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.clock = clock
        # client-go's V(6) round-tripper line: "GET https://… 200 OK in 14 milliseconds"
        self.trace = trace
        self._ssl = config.ssl_context()
        self._limit = config.body_limit()
        self._pools = {config.scheme: ConnectionPool(self._ssl, self._limit)}
        self._heads: dict[tuple[str, str], bytes] = {}
        self._token = ""
        self._token_read_at: float | None = None
        limit_tls_read_buffer()

    async def close(self) -> None:
        for pool in self._pools.values():
            await pool.close()

    def idle_connections(self) -> int:
        """Kept-alive connections waiting for the next tick (tests, benchmarks)."""
        return sum(pool.idle_count() for pool in self._pools.values())

    def _pool(self, scheme: str) -> ConnectionPool:
        pool = self._pools.get(scheme)
        if pool is None:  # a redirect to the other scheme: Go's default TLS settings
            context = ssl.create_default_context() if scheme == "https" else None
            pool = self._pools[scheme] = ConnectionPool(context, self._limit)
        return pool

    def url_for(self, node: NodeEndpoint) -> str:
        """The node's scrape URL; raises ``NoAddressError``."""
        return kubelet_url(
            node,
            scheme=self.config.scheme,
            preferred=self.config.preferred_address_types,
            default_port=self.config.default_port,
            use_node_status_port=self.config.use_node_status_port,
        )

    def token(self) -> str:
        """The bearer token; a token file is re-read at most every
        :data:`TOKEN_FILE_PERIOD_S`, as client-go's cached file token source does."""
        now = self.clock.monotonic()
        if self._token_read_at is None or (
            self.config.bearer_token_file and now - self._token_read_at >= TOKEN_FILE_PERIOD_S
        ):
            self._token = self.config.token()
            self._token_read_at = now
        return self._token

    def _headers(self, token: str) -> dict[str, str]:
        headers = {"User-Agent": self.config.user_agent}
        if self.config.scheme == "https" and token:
            headers["Authorization"] = f"Bearer {token}"
        headers["Accept-Encoding"] = "gzip"  # Go's transport asks for gzip and inflates it
        return headers

    def _head(self, url: str) -> bytes:
        """The request bytes for ``url``, rebuilt when the token changes."""
        token = self.token()
        key = (url, token)
        head = self._heads.get(key)
        if head is None:
            if len(self._heads) > 4 * 16384:
                self._heads.clear()  # tokens rotated many times: start over
            head = self._heads[key] = request_head(*request_target(url), self._headers(token))
        return head

    async def get(
        self, url: str, host: str, port: int, timeout_s: float | None = None
    ) -> KubeletResponse:
        """GET ``url`` within ``timeout_s`` (default ``--kubelet-request-timeout``), measured on
        the injected clock; the scraper passes less when the tick deadline is nearer."""
        head = self._head(url)
        progress = Progress()
        timeout = self.config.timeout_s if timeout_s is None else max(0.0, timeout_s)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with clock_deadline(self.clock, timeout):
                request_time = self.clock.now()
                started = loop.time()
                resp = await self._pools[self.config.scheme].get(host, port, head, progress)
                if resp.status in REDIRECTS and resp.location:
                    resp = await self._follow(url, resp, progress)
        except TimeoutError as exc:
            url = progress.url or url  # Go names the request that was in flight
            if not progress.headers_done:
                self._trace_failed(url, loop.time() - started)
            if progress.headers_done:
                # upstream wraps body-read errors with %v: the deadline loses its type
                raise KubeletRequestError(
                    f"failed to read response body - {DEADLINE_EXCEEDED}", debug=repr(exc)
                ) from None
            raise KubeletRequestError(
                url_error("GET", url, DEADLINE_EXCEEDED), timeout=True, debug=repr(exc)
            ) from None
        except RedirectError as err:
            raise KubeletRequestError(url_error("GET", err.url, err.text)) from None
        except ResponseError as err:
            url = progress.url or url
            if not progress.headers_done:
                self._trace_failed(url, loop.time() - started)
            if err.body_started:
                raise KubeletRequestError(f"failed to read response body - {err.text}",
                                          debug=err.debug) from None
            raise KubeletRequestError(url_error("GET", url, err.text), debug=err.debug) from None
        except (OSError, ssl.SSLError) as exc:
            if progress.url:  # a redirect's target failed
                url = progress.url
                host, port = host_port_of(url)
            self._trace_failed(url, loop.time() - started)
            context = None
            if self.config.cert_file:
                context = probe_context(self.config.cert_file, self.config.key_file or None)
            goerr = await go_error(exc, host=host, port=port, client_context=context)
            raise KubeletRequestError(url_error("GET", url, goerr.text),
                                      debug=goerr.debug) from None
        if self.trace is not None:
            elapsed_ms = int((resp.headers_at - started) * 1000)
            self.trace(f"GET {url} {resp.status} {resp.reason} in "
                       f"{elapsed_ms} milliseconds".replace("  ", " "))
        if resp.status != 200:
            status = f"{resp.status} {resp.reason}".rstrip()
            raise KubeletRequestError(f'request failed, status: "{status}"')
        return KubeletResponse(url=url, body=resp.body, request_time=request_time)

    def _trace_failed(self, url: str, seconds: float) -> None:
        """client-go's line for a round trip that failed: no status (two spaces)."""
        if self.trace is not None:
            self.trace(f"GET {url}  in {int(seconds * 1000)} milliseconds")

    async def _follow(self, url: str, resp: Response, progress: Progress) -> Response:
        """Follow redirects as Go's client does: at most 10, the token only to the same host
        or its subdomains."""
        first = URL(url)
        current = first
        for hop in range(1, MAX_REDIRECTS + 1):
            location = resp.location
            try:
                target = current.join(URL(location))
            except ValueError as err:
                raise RedirectError(location, f"failed to parse Location header "
                                              f"{quote(location)}: {err}") from None
            if hop == MAX_REDIRECTS:  # Go refuses the tenth redirect response
                raise RedirectError(location, f"stopped after {MAX_REDIRECTS} redirects")
            if target.scheme not in ("http", "https") or not target.raw_host:
                raise RedirectError(location, f"unsupported protocol scheme "
                                              f"{quote(target.scheme)}")
            host = target.raw_host
            same = host == first.raw_host or host.endswith("." + (first.raw_host or ""))
            headers = self._headers(self.token() if same else "")
            head = request_head(target.raw_path_qs, join_host_port(host, int(target.port or 0)),
                                headers)
            progress.url = str(target)
            progress.headers_done = False
            resp = await self._pool(target.scheme).get(host, int(target.port or 0), head,
                                                       progress)
            current = target
            if resp.status not in REDIRECTS or not resp.location:
                return resp
        raise AssertionError("unreachable")  # pragma: no cover


#: Statuses Go's client follows for a GET, and how many hops it allows.
REDIRECTS = frozenset((301, 302, 303, 307, 308))
MAX_REDIRECTS = 10


class RedirectError(Exception):
    """A redirect that was not followed; Go reports it against the Location's URL."""

    def __init__(self, url: str, text: str) -> None:
        super().__init__(text)
        self.url = url
        self.text = text


@functools.lru_cache(maxsize=16384)
def request_target(url: str) -> tuple[str, str]:
    """The request target (path and query) and ``Host`` header of a kubelet URL."""
    return URL(url).raw_path_qs, join_host_port(*host_port_of(url))


@functools.lru_cache(maxsize=16384)
def host_port_of(url: str) -> tuple[str, int]:
    """Host (without IPv6 brackets) and port of a kubelet URL (cached: the same every tick)."""
    parsed = URL(url)
    host = parsed.host or ""
    return host.strip("[]"), int(parsed.port or 0)


__all__ += ["host_port_of", "join_host_port"]
