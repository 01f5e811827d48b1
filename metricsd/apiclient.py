"""The API-server client metricsd needs: GET requests (lists, watches, one ConfigMap) over aiohttp.

metricsd's requests to the API server are few and raw — the informers read list and watch
bodies themselves (:mod:`metricsd.informers`), the review clients post their own JSON
(:mod:`metricsd.auth.reviews`) — so all a client has to do is join the URL, present the
credentials of the :class:`~metricsd.kubeconfig.RestConfig` (its TLS context: CA, client
certificate; its bearer token, re-read from its file for every request as ServiceAccount
tokens rotate) and send client-go's User-Agent.

Why not kubernetes_asyncio's ``ApiClient`` (which metricsd used for this until the benchmark
beside the real metrics-server): importing it loads ~1,000 generated model and API modules,
about 40 MB of resident memory — a quarter of metricsd's idle RSS at 1,000 nodes × 30,000
pods — for requests that never touch a generated model. The tests and benchmarks of the
control plane still use kubernetes_asyncio as a client library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from metricsd.kubeconfig import RestConfig

__all__ = ["APIClient"]

#: connect within 30 s (client-go's dialer); no overall deadline: watches are long-lived
TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=None)


class APIClient:
    """GETs of one API server with one identity (a kept-alive aiohttp session)."""

    def __init__(self, rest: RestConfig, user_agent: str) -> None:
        self.rest = rest
        self.host = rest.host.rstrip("/")
        self.user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    def _ensure(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ssl_ctx = self.rest.ssl_context() if self.host.startswith("https") else False
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_ctx, limit=0), timeout=TIMEOUT)
        return self._session

    def url(self, path: str, query: Sequence[tuple[str, str]] = ()) -> str:
        return self.host + path + ("?" + urlencode(list(query)) if query else "")

    async def get(self, path: str, query: Sequence[tuple[str, str]] = (),
                  headers: Mapping[str, str] | None = None,
                  timeout: aiohttp.ClientTimeout | None = None) -> aiohttp.ClientResponse:
        """The response once its headers are in; the caller reads and releases it."""
        sent = {"User-Agent": self.user_agent, "Accept": "application/json", **(headers or {})}
        token = self.rest.token()
        if token:
            sent["Authorization"] = f"Bearer {token}"
        # encoded=True: the bytes sent are exactly the URL built (and logged) here
        return await self._ensure().get(URL(self.url(path, query), encoded=True), headers=sent,
                                        timeout=timeout or TIMEOUT)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
