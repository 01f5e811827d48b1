"""TokenReview and SubjectAccessReview calls to the core API server (the delegation webhooks).

Both are one POST of a review object; the answers are cached by the callers. A tiny aiohttp
client is enough and keeps the request bodies byte-visible (what the fake API server and
tests assert on), so kubernetes_asyncio's typed models are not used here.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

import aiohttp

from metricsd.durations import format_duration
from metricsd.kubeconfig import RestConfig, api_status_message

TOKEN_REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
SUBJECT_ACCESS_REVIEW_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


class ReviewError(Exception):
    """The review call itself failed (transport, non-2xx, bad JSON)."""


class ReviewPoster(Protocol):
    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]: ...


class ReviewClient:
    """POSTs review objects with the delegation kubeconfig's credentials."""

    def __init__(self, rest: RestConfig, user_agent: str = "metrics-server",
                 timeout_s: float = 10.0, lib: Any = None) -> None:
        self.rest = rest
        self.user_agent = user_agent
        self.timeout_s = timeout_s
        #: an ``apiserverlog.LibraryLog``: client-go's ``--v=6`` line for each review
        self.lib = lib
        self._session: aiohttp.ClientSession | None = None

    def _ensure(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ssl_ctx = self.rest.ssl_context() if self.rest.host.startswith("https") else False
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_ctx),
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            )
        return self._session

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": self.user_agent}
        token = self.rest.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # the webhook client's request timeout travels as a query parameter (client-go)
        path = f"{path}?timeout={format_duration(int(self.timeout_s * 1e9))}"
        url = self.rest.host.rstrip("/") + path
        started = time.monotonic()
        try:
            async with self._ensure().post(url, data=json.dumps(body), headers=headers) as resp:
                if self.lib is not None and self.lib.request_enabled():
                    self.lib.request("POST", url, resp.status, resp.reason or "",
                                     time.monotonic() - started)
                text = await resp.read()
                if resp.status // 100 != 2:
                    raise ReviewError(api_status_message(text, resp.status))
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            from metricsd.kubeconfig import describe_api_error

            described = await describe_api_error(self.rest, path, err)
            raise ReviewError(described.replace('Get "', 'Post "', 1)) from None
        try:
            doc = json.loads(text)
        except ValueError as err:
            raise ReviewError(f"invalid review response: {err}") from None
        if not isinstance(doc, dict):
            raise ReviewError("invalid review response")
        return doc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


