"""How the generic apiserver's answers are framed on the wire (Go 1.21 net/http, v0.29.2).

What an HTTP client sees besides status and body, as metrics-server sends it:

* no ``Server`` header (aiohttp adds one by default; net/http never does);
* ``Content-Length`` when the whole body fits net/http's 2048-byte response buffer
  (``bufferBeforeChunkingSize``), ``Transfer-Encoding: chunked`` when it does not — the
  handler's single write overflows the buffer before the handler returns;
* API objects larger than 128 KiB (``defaultGzipThresholdBytes``) gzip-encoded at level 1
  with ``Vary: Accept-Encoding`` when the client accepts gzip (``APIResponseCompression``,
  on by default), which a 30,000-pod list through kubectl always is;
* ``/metrics`` gzip-encoded whenever the client accepts it (promhttp), always chunked.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from aiohttp import hdrs, web

__all__ = ["CHUNKING_THRESHOLD", "GZIP_THRESHOLD", "GoResponse", "accepts_gzip", "go_response"]

CHUNKING_THRESHOLD = 2048  # net/http bufferBeforeChunkingSize
GZIP_THRESHOLD = 128 * 1024  # responsewriters.defaultGzipThresholdBytes


class GoResponse(web.Response):
    """A Response without aiohttp's ``Server`` header."""

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()
        self._headers.popall(hdrs.SERVER, None)


def accepts_gzip(accept_encoding: str) -> bool:
    """negotiateContentEncoding: a ``gzip`` token in Accept-Encoding (no q-values read)."""
    return any(token.strip() == "gzip" for token in accept_encoding.split(","))


def gzip_level1(body: bytes) -> bytes:
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    return compressor.compress(body) + compressor.flush()


def go_response(status: int, body: bytes, headers: Mapping[str, str], *,
                request: web.BaseRequest | None = None, gzip: str = "") -> GoResponse:
    """An answer framed as net/http frames it; ``gzip="large"`` compresses an API object past
    128 KiB, ``gzip="always"`` any body (promhttp), when the request accepts gzip."""
    response = GoResponse(status=status)
    for key, value in headers.items():
        response.headers[key] = value
    compress = bool(gzip) and request is not None and accepts_gzip(
        request.headers.get(hdrs.ACCEPT_ENCODING, ""))
    if compress and gzip == "large" and len(body) <= GZIP_THRESHOLD:
        compress = False
    if compress:
        body = gzip_level1(body)
        response.headers[hdrs.CONTENT_ENCODING] = "gzip"
        if gzip == "large":
            response.headers[hdrs.VARY] = "Accept-Encoding"
    response.body = body
    if compress or len(body) > CHUNKING_THRESHOLD:
        response.enable_chunked_encoding()
    return response
