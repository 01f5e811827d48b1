"""The load driver's I/O with real processes: pods from a watch, usage to the control endpoint.

The scenario runner drives a simulated cluster that runs in another process
(``fakeapiserver``), in real time: the Deployment's pods come from a list and a watch on the
API server (as any controller would follow them: relist on 410, resume from the last
resourceVersion when the server ends a watch), usage goes to the fleet's control endpoint
(``PUT /usage``, one request per split).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Callable
from typing import Any

import aiohttp

from scenarios.load.driver import PodView, Usage, pod_views

__all__ = ["ControlSink", "WatchPods"]

log = logging.getLogger(__name__)


class WatchPods:
    """A Deployment's pods, followed through the API server (``await start()`` first)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str,
                 ssl_context: ssl.SSLContext | None, namespace: str, deployment: str,
                 container: str | None = None) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self.namespace = namespace
        self.deployment = deployment
        self.container = container
        self.selector: dict[str, Any] = {}
        self._pods: dict[str, dict[str, Any]] = {}
        self._rv = ""
        self._callbacks: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self.relists = 0

    async def _get(self, path: str) -> Any:
        async with self.session.get(self.base_url + path, ssl=self.ssl) as resp:
            text = await resp.text()
            if resp.status != 200:
                raise LookupError(f"GET {path}: HTTP {resp.status}: {text[:300]}")
            return json.loads(text)

    async def start(self) -> None:
        path = f"/apis/apps/v1/namespaces/{self.namespace}/deployments/{self.deployment}"
        try:
            deployment = await self._get(path)
        except LookupError as err:
            raise LookupError(f'deployment "{self.namespace}/{self.deployment}" not found '
                              f"({err})") from None
        self.selector = (deployment.get("spec") or {}).get("selector") or {}
        await self._list()
        self._task = asyncio.create_task(self._follow(), name=f"watch-pods-{self.deployment}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _list(self) -> None:
        doc = await self._get(f"/api/v1/namespaces/{self.namespace}/pods")
        self._pods = {p["metadata"]["name"]: p for p in doc.get("items") or []}
        self._rv = str((doc.get("metadata") or {}).get("resourceVersion", ""))
        self.relists += 1
        self._notify()

    def _notify(self) -> None:
        for callback in list(self._callbacks):
            callback()

    async def _follow(self) -> None:
        while True:
            try:
                await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # the server went away or a line broke: relist
                log.info("pod watch for %s: %s; relisting", self.deployment, err)
                await asyncio.sleep(0.5)
                with contextlib.suppress(Exception):
                    await self._list()

    async def _watch(self) -> None:
        path = (f"/api/v1/namespaces/{self.namespace}/pods?watch=true&allowWatchBookmarks=true"
                f"&resourceVersion={self._rv}")
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with self.session.get(self.base_url + path, ssl=self.ssl,
                                    timeout=timeout) as resp:
            if resp.status == 410:
                await self._list()
                return
            if resp.status != 200:
                raise RuntimeError(f"watch: HTTP {resp.status}")
            while True:
                line = await resp.content.readline()
                if not line:
                    return  # the server ended the watch: resume from the last RV
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        await self._list()
                        return
                    raise RuntimeError(f"watch error: {obj.get('message')}")
                rv = (obj.get("metadata") or {}).get("resourceVersion")
                if rv:
                    self._rv = str(rv)
                if kind == "BOOKMARK":
                    continue
                name = (obj.get("metadata") or {}).get("name", "")
                if kind == "DELETED":
                    self._pods.pop(name, None)
                else:
                    self._pods[name] = obj
                self._notify()

    def pods(self) -> list[PodView]:
        return pod_views(self._pods.values(), self.selector, self.container)

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe


class ControlSink:
    """Usage through the fleet's control endpoint (``PUT /usage``)."""

    def __init__(self, session: aiohttp.ClientSession, control_url: str) -> None:
        self.session = session
        self.url = control_url.rstrip("/")

    @staticmethod
    def _body(items: list[Usage]) -> dict[str, Any]:
        return {"items": [{"namespace": u.namespace, "pod": u.pod, "container": u.container,
                           "cpu": u.cpu, "memory": round(u.memory)} for u in items]}

    async def _put(self, items: list[Usage]) -> int:
        async with self.session.put(self.url + "/usage", json=self._body(items)) as resp:
            if resp.status >= 400 and resp.status != 404:
                log.warning("fleet usage: HTTP %s: %s", resp.status, (await resp.text())[:300])
            return resp.status

    async def apply(self, items: list[Usage]) -> set[tuple[str, str]]:
        status = await self._put(items)
        if status == 200:
            return {(u.namespace, u.pod) for u in items}
        if status != 404 or len(items) == 1:
            return set()
        done = set()  # one of them is not on the fleet (yet): the others one by one
        for item in items:
            if await self._put([item]) == 200:
                done.add((item.namespace, item.pod))
        return done
