"""Benchmark the simulated control plane at metrics-server scale (prints figures; not a test).

    python bench/apiserver_bench.py [--nodes 1000] [--pods 30000]

Figures:
* time to create the nodes and pods in the store;
* full ``GET /api/v1/pods`` (JSON): server response time (bytes on the client) and the
  kubernetes_asyncio path including ``json.loads``; metadata-only and Table variants;
* watch throughput into a kubernetes_asyncio ``Watch`` stream: a paced producer at the target
  rate (default 1,000 events/s) and an unpaced burst, both measured at the consumer.

Server and client share one process and one event loop (and the GIL), so the figures are
lower bounds for a separate-process setup.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from kubernetes_asyncio import client, config, watch

from fakeapiserver.app import APIServer


def node(i: int) -> dict[str, Any]:
    name = f"node-{i:04d}"
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP",
                                      "address": f"127.1.{i // 250}.{i % 250 + 1}"}],
                       "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                       "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                       "nodeInfo": {"kubeletVersion": "v1.30.2"}}}


def pod(i: int, nodes: int) -> dict[str, Any]:
    ns = f"ns-{i % 20}"
    return {"metadata": {"name": f"pod-{i:05d}", "namespace": ns,
                         "labels": {"app": f"app-{i % 50}", "pod-template-hash": "5d4f8c7b9"}},
            "spec": {"nodeName": f"node-{i % nodes:04d}", "containers": [{
                "name": "main", "image": "registry.example/app:1.2.3",
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                              "limits": {"cpu": "500m", "memory": "256Mi"}},
                "ports": [{"containerPort": 8080, "protocol": "TCP"}]}]},
            "status": {"phase": "Running", "podIP": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
                       "startTime": "2025-06-15T15:06:40Z",
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "main", "ready": True, "restartCount": 0,
                                              "image": "registry.example/app:1.2.3",
                                              "imageID": "", "started": True,
                                              "state": {"running": {
                                                  "startedAt": "2025-06-15T15:06:41Z"}}}]}}


async def timed(fn: Any, repeat: int = 5) -> tuple[float, float, Any]:
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = await fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


async def bench(nodes: int, pods: int, rate: int, seconds: float, burst: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = APIServer(Path(tmp), bookmark_interval=1.0)
        await server.start()
        store = server.store
        for i in range(20):
            store.create("namespaces", {"metadata": {"name": f"ns-{i}"}})
        start = time.perf_counter()
        for i in range(nodes):
            store.create("nodes", node(i))
        for i in range(pods):
            store.create("pods", pod(i, nodes))
        took = time.perf_counter() - start
        print(f"store: created {nodes} nodes + {pods} pods in {took:.2f} s "
              f"({(nodes + pods) / took:,.0f} objects/s)")

        ssl_ctx = server.pki.client_context(server.pki.admin)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_ctx)) as http:
            async def raw_list(accept: str = "application/json") -> bytes:
                async with http.get(f"{server.url}/api/v1/pods",
                                    headers={"Accept": accept}) as resp:
                    return await resp.read()

            best, median, body = await timed(raw_list)
            print(f"list pods (JSON bytes, aiohttp): best {best * 1000:.0f} ms, median "
                  f"{median * 1000:.0f} ms, {len(body) / 1e6:.1f} MB")
            meta = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
            best, median, body = await timed(lambda: raw_list(meta))
            print(f"list pods (PartialObjectMetadataList): best {best * 1000:.0f} ms, median "
                  f"{median * 1000:.0f} ms, {len(body) / 1e6:.1f} MB")
            table = "application/json;as=Table;v=v1;g=meta.k8s.io"
            best, median, body = await timed(lambda: raw_list(table), repeat=3)
            print(f"list pods (Table, kubectl get pods -A): best {best * 1000:.0f} ms, median "
                  f"{median * 1000:.0f} ms")

        cfg = client.Configuration()
        await config.load_kube_config(config_file=str(server.kubeconfig_path),
                                      client_configuration=cfg)
        async with client.ApiClient(cfg) as api_client:
            api = client.CoreV1Api(api_client)

            async def k8s_list() -> int:
                resp: Any = await api.list_pod_for_all_namespaces(_preload_content=False)
                return len(json.loads(await resp.read())["items"])

            best, median, count = await timed(k8s_list)
            print(f"list pods (kubernetes_asyncio + json.loads): best {best * 1000:.0f} ms, "
                  f"median {median * 1000:.0f} ms, {count} items")
            best, median, count = await timed(
                lambda: api.list_node(_preload_content=False), repeat=3)
            print(f"list nodes: best {best * 1000:.1f} ms")

            await watch_rate(server, api, rate, seconds, burst, pods)
        await server.stop()


async def watch_rate(server: APIServer, api: client.CoreV1Api, rate: int, seconds: float,
                     burst: int, pods: int) -> None:
    store = server.store
    received = 0
    target = 0
    done = asyncio.Event()
    first_rv = store.resource_version

    async def consume() -> None:
        nonlocal received
        w = watch.Watch()
        async for event in w.stream(api.list_pod_for_all_namespaces,
                                    resource_version=str(first_rv),
                                    allow_watch_bookmarks=True, timeout_seconds=600):
            if event["type"] == "MODIFIED":
                received += 1
                if target and received >= target:
                    done.set()

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    counter = 0

    def touch(i: int) -> None:
        nonlocal counter
        counter += 1
        name = f"pod-{i % pods:05d}"
        ns = f"ns-{i % pods % 20}"
        store.mutate("pods", name, ns,
                     lambda o: o["metadata"].setdefault("annotations", {}).update(
                         tick=str(counter)))

    # paced: `rate` events per second for `seconds`
    loop = asyncio.get_running_loop()
    start = loop.time()
    total = int(rate * seconds)
    for i in range(total):
        touch(i)
        ahead = start + (i + 1) / rate - loop.time()
        if ahead > 0:
            await asyncio.sleep(ahead)
    target = total
    if received < target:
        await asyncio.wait_for(done.wait(), 60)
    took = loop.time() - start
    print(f"watch paced: produced {total} updates at {rate}/s; consumer received all in "
          f"{took:.2f} s ({received / took:,.0f} events/s delivered)")

    # burst: as fast as the store can write, measured at the consumer
    done.clear()
    base = received
    target = base + burst
    start = loop.time()
    for i in range(burst):
        touch(i)
        if i % 500 == 0:
            await asyncio.sleep(0)
    await asyncio.wait_for(done.wait(), 120)
    took = loop.time() - start
    print(f"watch burst: {burst} updates delivered to kubernetes_asyncio in {took:.2f} s "
          f"({burst / took:,.0f} events/s)")
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=30000)
    parser.add_argument("--rate", type=int, default=1000, help="paced watch events per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="paced watch duration")
    parser.add_argument("--burst", type=int, default=20000, help="unpaced watch updates")
    args = parser.parse_args()
    asyncio.run(bench(args.nodes, args.pods, args.rate, args.seconds, args.burst))


if __name__ == "__main__":
    main()
