"""Test doubles for the HPA controller: a metrics.k8s.io backend and a manual clock.

``PodMetricsBackend`` is the aggregation tests' HTTPS backend (it trusts only the front-proxy
CA and records who called) serving the PodMetricsList a test sets, or an error answer, for
``GET /apis/metrics.k8s.io/v1beta1/namespaces/<ns>/pods`` — the one request the HPA makes.
It stands in for metricsd until fleet-served workload pods exist. ``ManualClock`` is a
``now()``/``sleep()`` pair that only moves when the test says so.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.integration.test_apiserver_agg_backend import MetricsBackend

T0 = 1_750_000_000.0
PODS_PREFIX = "/apis/metrics.k8s.io/v1beta1/namespaces/"


def pod_metrics(name: str, namespace: str, cpu: str, *, timestamp: str,
                window: str = "15s", memory: str = "10Mi", container: str = "app"
                ) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace,
                         "creationTimestamp": timestamp},
            "timestamp": timestamp, "window": window,
            "containers": [{"name": container, "usage": {"cpu": cpu, "memory": memory}}]}


@dataclass
class Answer:
    """An error answer: status, Content-Type, body."""

    status: int
    content_type: str
    body: bytes


@dataclass
class PodMetricsBackend(MetricsBackend):
    """``pods[namespace]`` are the items served; ``answer`` replaces them with an error;
    ``on_pods`` runs inside each pods LIST (to change the cluster mid-request)."""

    pods: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    answer: Answer | None = None
    on_pods: Callable[[], None] | None = None
    queries: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path
        if request.method == "GET" and path.startswith(PODS_PREFIX) and path.endswith("/pods"):
            response = await super().handle(request)  # records the caller, checks the proxy
            if response.status != 200:
                return response
            self.queries.append(dict(request.query))
            if self.on_pods is not None:
                self.on_pods()
            if self.answer is not None:
                return web.Response(status=self.answer.status, body=self.answer.body,
                                    headers={"Content-Type": self.answer.content_type})
            ns = path[len(PODS_PREFIX):-len("/pods")]
            body = {"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
                    "metadata": {}, "items": self.pods.get(ns, [])}
            return web.Response(text=json.dumps(body), content_type="application/json")
        return await super().handle(request)

    @property
    def pod_lists(self) -> int:
        return len(self.queries)


class ManualClock:
    """``now()`` and ``sleep()`` for code under test; time moves in :meth:`run_until`."""

    def __init__(self, start: float = T0) -> None:
        self.t = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self.t

    __call__ = now

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.t + max(0.0, seconds), next(self._seq), fut))
        await fut

    def next_deadline(self) -> float | None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)  # cancelled
        return self._sleepers[0][0] if self._sleepers else None

    async def run_until(self, t: float, settle: Callable[[], Awaitable[None]]) -> None:
        """Move to ``t`` deadline by deadline, letting ``settle()`` finish after each."""
        await settle()
        while (deadline := self.next_deadline()) is not None and deadline <= t:
            self.t = max(self.t, deadline)
            while self._sleepers and self._sleepers[0][0] <= self.t:
                _, _, fut = heapq.heappop(self._sleepers)
                if not fut.done():
                    fut.set_result(None)
            await asyncio.sleep(0)
            await settle()
        self.t = max(self.t, t)
        await settle()

    async def advance(self, seconds: float, settle: Callable[[], Awaitable[None]]) -> None:
        await self.run_until(self.t + seconds, settle)
