"""A kubernetes_asyncio list+watch informer against the control plane under churn.

Covers: initial list, watch from the list RV, bookmarks, a forced 410 ``Expired`` (history
compacted while the informer is between watches) followed by a relist, and concurrent
creates/updates/deletes. The informer's cache must end identical to the store.
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException

from fakeapiserver.app import APIServer


class PodInformer:
    """The minimal informer a metrics server runs: list, watch, relist on 410."""

    def __init__(self, api: client.CoreV1Api) -> None:
        self.api = api
        self.cache: dict[tuple[str, str], dict[str, Any]] = {}
        self.rv = 0
        self.lists = 0
        self.bookmarks = 0
        self.expired = 0
        self.changed = asyncio.Event()
        self.synced = asyncio.Event()

    async def list(self) -> None:
        resp: Any = await self.api.list_pod_for_all_namespaces(_preload_content=False)
        body = json.loads(await resp.read())
        self.cache = {(o["metadata"]["namespace"], o["metadata"]["name"]): o
                      for o in body["items"]}
        self.rv = int(body["metadata"]["resourceVersion"])
        self.lists += 1
        self.synced.set()
        self.changed.set()

    async def run(self) -> None:
        await self.list()
        while True:
            w = watch.Watch()
            try:
                async for event in w.stream(self.api.list_pod_for_all_namespaces,
                                            resource_version=str(self.rv),
                                            allow_watch_bookmarks=True, timeout_seconds=30):
                    self.apply(event)
            except ApiException as exc:
                if exc.status != 410:
                    raise
                self.expired += 1
                await self.list()
            finally:
                await w.close()

    def apply(self, event: dict[str, Any]) -> None:
        obj = event["raw_object"]
        rv = int(obj["metadata"]["resourceVersion"])
        if event["type"] == "BOOKMARK":
            self.bookmarks += 1
        else:
            key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
            if event["type"] == "DELETED":
                self.cache.pop(key, None)
            else:
                self.cache[key] = obj
        self.rv = rv
        self.changed.set()

    async def wait_for_rv(self, rv: int) -> None:
        while self.rv < rv:
            self.changed.clear()
            await self.changed.wait()


def pod(name: str, ns: str, node: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "labels": {"app": "churn"}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "img"}]},
            "status": {"phase": "Running"}}


async def churn(server: APIServer, rng: random.Random, steps: int, prefix: str) -> None:
    store = server.store
    for i in range(steps):
        pods = store.list("pods")
        roll = rng.random()
        if roll < 0.5 or not pods:
            ns = rng.choice(["default", "kube-system"])
            store.create("pods", pod(f"{prefix}-{i}", ns, f"node-{rng.randint(0, 9)}"))
        elif roll < 0.8:
            victim = rng.choice(pods)["metadata"]

            def relabel(obj: dict[str, Any], step: int = i) -> None:
                obj["metadata"]["labels"]["step"] = str(step)

            store.mutate("pods", victim["name"], victim["namespace"], relabel)
        else:
            victim = rng.choice(pods)["metadata"]
            store.delete("pods", victim["name"], victim["namespace"])
        if i % 7 == 0:
            await asyncio.sleep(0)  # let the watch stream interleave with the writes


def snapshot(server: APIServer) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["metadata"]["namespace"], o["metadata"]["name"]): o
            for o in server.store.list("pods")}


@pytest.mark.timeout(60)
async def test_informer_converges_under_churn(tmp_path: Path) -> None:
    server = APIServer(tmp_path, bookmark_interval=0.05)
    await server.start()
    rng = random.Random(1234)
    cfg = client.Configuration()
    await config.load_kube_config(config_file=str(server.kubeconfig_path),
                                  client_configuration=cfg)
    api_client = client.ApiClient(cfg)
    informer = PodInformer(client.CoreV1Api(api_client))
    for i in range(20):
        server.store.create("pods", pod(f"seed-{i}", "default", f"node-{i % 3}"))
    task = asyncio.create_task(informer.run())
    try:
        await asyncio.wait_for(informer.synced.wait(), 30)
        assert len(informer.cache) == 20
        await churn(server, rng, 150, "a")

        await asyncio.wait_for(informer.wait_for_rv(server.store.resource_version), 10)
        assert informer.cache == snapshot(server) and informer.lists == 1  # via the watch

        # Between watches the history is compacted: the re-watch must get 410 and relist.
        server.store.close_watchers()
        server.store.create("pods", pod("gap", "default", "node-1"))
        server.store.compact()
        await churn(server, rng, 150, "b")
        await asyncio.wait_for(informer.wait_for_rv(server.store.resource_version), 10)
        assert informer.expired == 1 and informer.lists == 2
        # A write to another kind: only a BOOKMARK can move the pod informer to this RV.
        bookmarks = informer.bookmarks
        server.store.create("configmaps", {"metadata": {"name": "unrelated"}})
        await asyncio.wait_for(informer.wait_for_rv(server.store.resource_version), 10)
        assert informer.bookmarks > bookmarks
        assert informer.cache == snapshot(server)
        assert informer.expired == 1 and informer.lists == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api_client.close()
        await server.stop()
