"""A watch keeps delivering while bookmarks fall due between events (no livelock, no loss).

Events that keep arriving across many bookmark deadlines once made the stream spin on a
zero-timeout wait without taking anything from its queue; this drives exactly that.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from kubernetes_asyncio import client, config, watch

from fakeapiserver.app import APIServer


def pod(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "pacing"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], "nodeName": "node-1"},
        "status": {"phase": "Running"},
    }


@pytest.mark.timeout(90)
async def test_paced_events_across_bookmark_deadlines_all_arrive(tmp_path: Path) -> None:
    server = APIServer(tmp_path, bookmark_interval=0.01)
    await server.start()
    cfg = client.Configuration()
    await config.load_kube_config(config_file=str(server.kubeconfig_path),
                                  client_configuration=cfg)
    api_client = client.ApiClient(cfg)
    api = client.CoreV1Api(api_client)
    store = server.store
    for i in range(10):
        store.create("pods", pod(f"p-{i}"))
    start_rv = str(store.resource_version)
    total = 400
    received = 0
    bookmarks = 0
    all_in = asyncio.Event()

    async def consume() -> None:
        nonlocal received, bookmarks
        async with watch.Watch().stream(api.list_pod_for_all_namespaces,
                                        resource_version=start_rv,
                                        allow_watch_bookmarks=True,
                                        timeout_seconds=60) as stream:
            async for event in stream:
                if event["type"] == "BOOKMARK":
                    bookmarks += 1
                elif event["type"] == "MODIFIED":
                    received += 1
                    if received == total:
                        all_in.set()
                        return

    consumer = asyncio.create_task(consume())
    try:
        for i in range(total):
            store.mutate("pods", f"p-{i % 10}", "default",
                         lambda o, i=i: o["metadata"]["labels"].update(step=str(i)))
            await asyncio.sleep(0.003)  # spans many 10 ms bookmark deadlines
        await asyncio.wait_for(all_in.wait(), 30)
        assert received == total
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await api_client.close()
        await server.stop()
