"""metricsd's node and Running-pod informers against the simulated API server (in-process):
slim caches, Running-only pods, --node-selector on scrape targets, watch updates, 410 relist."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client

from fakeapiserver.app import APIServer
from metricsd.apiclient import APIClient
from metricsd.informers import NodeInformer, PodInformer, metadata_call, slim_node
from metricsd.kubeconfig import api_client_configuration, load_kubeconfig
from metricsd.selectors import parse_label_selector


def _pod(name: str, ns: str, phase: str = "Running", **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "img"}]},
            "status": {"phase": phase}}


def _node(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": dict(labels),
                         "annotations": {"metrics.k8s.io/resource-metrics-path": f"/{name}",
                                         "other": "x" * 100}},
            "status": {"addresses": [{"type": "InternalIP", "address": "127.1.0.1"},
                                     {"type": "Hostname", "address": name}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10251}}}}


async def _until(predicate: Any, what: str) -> None:
    async with asyncio.timeout(10):
        while not predicate():
            await asyncio.sleep(0.005)


def test_slim_node_keeps_only_what_is_read() -> None:
    node = slim_node(_node("n1", role="w"))
    assert node.name == "n1" and node.labels == {"role": "w"}
    assert node.addresses == (("InternalIP", "127.1.0.1"), ("Hostname", "n1"))
    assert node.daemon_port == 10251
    assert dict(node.annotations) == {"metrics.k8s.io/resource-metrics-path": "/n1"}


@pytest.mark.timeout(60)
async def test_informers_sync_watch_and_relist(tmp_path: Path) -> None:
    server = APIServer(tmp_path, bookmark_interval=0.05)
    await server.start()
    rest = load_kubeconfig(str(server.kubeconfig_path))
    typed = client.ApiClient(api_client_configuration(rest))  # a typed client's call still fits
    core = client.CoreV1Api(typed)
    api_client = APIClient(rest, "test")
    store = server.store
    store.create("nodes", _node("n1", pool="a"))
    store.create("nodes", _node("n2", pool="b"))
    for i in range(10):
        store.create("pods", _pod(f"web-{i}", "default", app="web"))
    store.create("pods", _pod("pending", "default", phase="Pending", app="web"))
    store.create("pods", _pod("dns", "kube-system", k8s="dns"))

    nodes = NodeInformer(core.list_node, parse_label_selector("pool=a"),
                         rng=random.Random(1))
    pods = PodInformer(metadata_call(api_client, "/api/v1/pods"), rng=random.Random(2))
    tasks = [asyncio.create_task(nodes.reflector.run()),
             asyncio.create_task(pods.reflector.run())]
    try:
        await _until(lambda: nodes.has_synced and pods.has_synced, "sync")
        assert len(pods) == 11  # the Pending pod is not listed
        assert pods.get_pod("default", "pending") is None
        everything = parse_label_selector("")
        web = pods.list_pods("default", everything)
        assert len(web) == 10
        # replicas share one interned label dict
        assert len({id(p.labels) for p in web}) == 1
        assert [p.name for p in pods.list_pods("kube-system", everything)] == ["dns"]
        assert len(pods.list_pods(None, parse_label_selector("app=web"))) == 10
        assert [n.name for n in nodes.scrape_targets()] == ["n1"]
        assert sorted(n.name for n in nodes.list_nodes(everything)) == ["n1", "n2"]
        assert nodes.get_node("n2") is not None

        # watch: additions, deletions, relabels
        store.create("namespaces", {"metadata": {"name": "ns2"}})
        store.create("pods", _pod("late", "ns2", app="late"))
        store.delete("pods", "web-0", "default")
        store.create("nodes", _node("n3", pool="a"))

        def relabel(obj: dict[str, Any]) -> None:
            obj["metadata"]["labels"]["pool"] = "a"

        store.mutate("nodes", "n2", None, relabel)
        await _until(lambda: pods.get_pod("ns2", "late") is not None
                     and pods.get_pod("default", "web-0") is None
                     and len(nodes.scrape_targets()) == 3, "watch events")
        assert len(pods) == 11
        assert pods.reflector.relists == 1

        # history compacted between watches → 410 → relist, cache converges
        store.close_watchers()
        store.create("pods", _pod("gap", "default", app="gap"))
        store.compact()
        store.delete("pods", "web-1", "default")
        await _until(lambda: pods.reflector.relists >= 2 and pods.get_pod("default", "gap")
                     is not None and pods.get_pod("default", "web-1") is None, "relist")
        expected = {(p["metadata"]["namespace"], p["metadata"]["name"])
                    for p in store.list("pods") if p["status"]["phase"] == "Running"}
        assert {(p.namespace, p.name) for p in pods.list_pods(None, everything)} == expected
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await api_client.close()
        await typed.close()
        await server.stop()


async def test_list_failure_is_logged_and_retried(tmp_path: Path) -> None:
    from metricsd.clock import VirtualClock

    calls: list[dict[str, Any]] = []
    logs: list[tuple[int, str, dict[str, Any]]] = []

    class Resp:
        status = 403
        content: Any = None

        async def read(self) -> bytes:
            return (b'{"kind":"Status","message":"nodes is forbidden: User \\"x\\" cannot list '
                    b'resource \\"nodes\\""}')

        def release(self) -> None:
            pass

    async def list_nodes(**kw: Any) -> Resp:
        calls.append(kw)
        return Resp()

    clock = VirtualClock()
    informer = NodeInformer(list_nodes, clock=clock,
                            log=lambda lvl, msg, **kv: logs.append((lvl, msg, kv)))
    task = asyncio.create_task(informer.reflector.run())
    await clock.wait_for_sleepers(1)
    await clock.advance(0.8)
    await clock.wait_for_sleepers(1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert len(calls) == 2 and not informer.has_synced
    assert logs[0][:2] == (-1, "Failed to list *v1.Node")
    assert 'nodes is forbidden: User "x" cannot list resource "nodes"' in logs[0][2]["err"]


async def test_metadata_call_asks_for_partial_object_metadata(tmp_path: Path) -> None:
    server = APIServer(tmp_path)
    await server.start()
    rest = load_kubeconfig(str(server.kubeconfig_path))
    api_client = APIClient(rest, "test")
    try:
        server.store.create("pods", _pod("web", "default", app="web"))
        server.store.create("pods", _pod("idle", "default", phase="Pending"))
        call = metadata_call(api_client, "/api/v1/pods")
        response = await call(field_selector="status.phase=Running")
        doc = json.loads(await response.read())
        response.release()
        assert doc["kind"] == "PartialObjectMetadataList"
        assert [i["metadata"]["name"] for i in doc["items"]] == ["web"]
        assert "spec" not in doc["items"][0]
        with pytest.raises(TypeError):
            await call(bogus=1)
    finally:
        await api_client.close()
        await server.stop()


@pytest.mark.timeout(60)
async def test_client_go_requests_paging_and_library_lines(tmp_path: Path) -> None:
    """As client-go's reflector asks (the real metrics-server's --v=6 lines show it): a first
    list from the watch cache (limit=500&resourceVersion=0), watches with timeout= beside
    timeoutSeconds=, query keys sorted; a relist without resourceVersion follows continue."""
    import io
    import re

    from metricsd import klog
    from metricsd.apiserverlog import LibraryLog
    from metricsd.informers import api_call

    server = APIServer(tmp_path, bookmark_interval=0.05)
    await server.start()
    rest = load_kubeconfig(str(server.kubeconfig_path))
    api_client = APIClient(rest, "test")
    stream = io.StringIO()
    lib = LibraryLog(klog.Logger(stream=stream, verbosity=6))
    for i in range(1203):
        server.store.create("pods", _pod(f"p{i:04d}", "default"))
    pods = PodInformer(metadata_call(api_client, "/api/v1/pods", lib), rng=random.Random(3),
                       lib=lib, client_go_params=True)
    nodes = NodeInformer(api_call(api_client, "/api/v1/nodes", lib=lib), lib=lib,
                         client_go_params=True, rng=random.Random(4))
    tasks = [asyncio.create_task(pods.reflector.run()), asyncio.create_task(nodes.reflector.run())]
    try:
        await _until(lambda: pods.has_synced and nodes.has_synced, "sync")
        assert len(pods) == 1203
        # a relist after 410 asks without resourceVersion: the server pages it by 500
        pods.reflector.resource_version = ""
        await pods.reflector.list_once()
        assert len(pods) == 1203
        await _until(lambda: stream.getvalue().count("watch=true") >= 2, "watches")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await api_client.close()
        await server.stop()
    text = re.sub(r" in \d+ milliseconds", " in N milliseconds", stream.getvalue())
    base = rest.host.rstrip("/")
    ref = "from k8s.io/client-go@v0.29.2/tools/cache/reflector.go:229"
    assert f"reflector.go:289] Starting reflector *v1.PartialObjectMetadata (0s) {ref}" in text
    assert f"reflector.go:325] Listing and watching *v1.Node {ref}" in text
    assert f"reflector.go:351] Caches populated for *v1.PartialObjectMetadata {ref}" in text
    assert f"reflector.go:295] Stopping reflector *v1.Node (0s) {ref}" in text
    assert (f"round_trippers.go:553] GET {base}/api/v1/pods?fieldSelector=status.phase%3DRunning"
            "&limit=500&resourceVersion=0 200 OK in N milliseconds") in text
    assert f"GET {base}/api/v1/nodes?limit=500&resourceVersion=0 200 OK" in text
    assert re.search(rf"GET {re.escape(base)}/api/v1/pods\?continue=[^&\s]+&fieldSelector="
                     r"status\.phase%3DRunning&limit=500 200 OK", text)
    watch = re.search(rf"GET {re.escape(base)}/api/v1/nodes\?allowWatchBookmarks=true&"
                      r"resourceVersion=\d+&timeout=(\d+)m(\d+)s&timeoutSeconds=(\d+)&watch=true "
                      r"200 OK", text)
    assert watch and int(watch[1]) * 60 + int(watch[2]) == int(watch[3])
