"""Fleet registration: Node/Pod objects from a cluster model, churn as watch events, and the
kubelets' Reviewer answering from RBAC."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from fakeapiserver.rbac import RBACAuthorizer, StoreObjects, UserInfo, install_bootstrap_policy
from fakeapiserver.registration import (
    ControlPlaneReviewer,
    FleetRegistration,
    cpu_quantity,
    memory_quantity,
    node_object,
)
from fakeapiserver.store import Store


class StubCluster:
    """Just the shape registration reads: ``nodes`` (with pods) and ``subscribe``."""

    def __init__(self) -> None:
        self.nodes: dict[str, Any] = {}
        self.listeners: list[Any] = []

    def subscribe(self, callback: Any) -> Any:
        self.listeners.append(callback)
        return lambda: self.listeners.remove(callback)

    def emit(self) -> None:
        for cb in list(self.listeners):
            cb("changed")


def stub_node(name: str, ip: str, pods: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(
        name=name, internal_ip=ip, port=10250, kubelet_version="1.30.2",
        capacity={"cpu": 4, "memory": 16 << 30, "pods": 110},
        allocatable={"cpu": 3.5, "memory": (15 << 30), "pods": 110},
        labels={"role": "worker"}, ready=True, pods=pods)


def stub_pod(ns: str, name: str) -> SimpleNamespace:
    return SimpleNamespace(
        namespace=ns, name=name, uid=f"uid-{name}", labels={"app": "web"}, owner="web-abc",
        phase="Running", start_time=1_700_000_000.0, ip="10.244.0.5",
        containers=[SimpleNamespace(name="app", requests={"cpu": 0.1, "memory": 64 << 20},
                                    limits={"cpu": 1, "memory": 128 << 20}, restart_count=0)])


def test_quantities() -> None:
    assert cpu_quantity(4) == "4" and cpu_quantity(3.5) == "3500m" and cpu_quantity("250m") == (
        "250m")
    assert memory_quantity(16 << 30) == "16Gi" and memory_quantity(1249280 * 1024) == "1220Mi"
    assert memory_quantity(1000) == "1000"


def test_node_object_shape() -> None:
    obj = node_object(stub_node("node-1", "127.1.0.1", {}))
    st = obj["status"]
    assert st["addresses"] == [{"type": "InternalIP", "address": "127.1.0.1"},
                               {"type": "Hostname", "address": "node-1"}]
    assert st["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    assert st["nodeInfo"]["kubeletVersion"] == "v1.30.2"
    assert st["allocatable"] == {"cpu": "3500m", "memory": "15Gi", "pods": "110"}
    assert st["capacity"]["memory"] == "16Gi"
    assert st["conditions"][0]["type"] == "Ready" and st["conditions"][0]["status"] == "True"
    assert obj["metadata"]["labels"]["role"] == "worker"
    assert obj["metadata"]["labels"]["kubernetes.io/hostname"] == "node-1"


async def test_registration_follows_churn_as_watch_events() -> None:
    store = Store()
    store.create("namespaces", {"metadata": {"name": "default"}})
    cluster = StubCluster()
    pods = {"web-1": stub_pod("default", "web-1")}
    cluster.nodes["node-1"] = stub_node("node-1", "127.1.0.1", pods)
    reg = FleetRegistration(store, cluster)
    reg.start()
    try:
        node = store.get("nodes", "node-1")
        assert node["status"]["addresses"][0]["address"] == "127.1.0.1"
        pod = store.get("pods", "web-1", "default")
        assert pod["spec"]["nodeName"] == "node-1"
        assert pod["status"]["podIP"] == "10.244.0.5"
        assert pod["spec"]["containers"][0]["resources"] == {
            "requests": {"cpu": "100m", "memory": "64Mi"},
            "limits": {"cpu": "1", "memory": "128Mi"}}
        assert pod["status"]["containerStatuses"][0]["ready"] is True
        assert pod["metadata"]["ownerReferences"][0]["name"] == "web-abc"
        watcher = store.watch("pods", resource_version=str(store.resource_version))
        passes = reg.passes
        # churn: one pod goes, another comes, a new namespace appears
        del pods["web-1"]
        pods["api-1"] = stub_pod("shop", "api-1")
        cluster.emit()
        cluster.emit()
        await reg.settled()
        assert reg.passes == passes + 1  # the burst collapsed into one pass
        assert store.try_get("pods", "web-1", "default") is None
        assert store.get("pods", "api-1", "shop")["spec"]["nodeName"] == "node-1"
        lines = []
        while len(lines) < 2:
            lines.append(await asyncio.wait_for(watcher.queue.get(), 5))
        kinds = sorted(line.split(b'"')[3].decode() for line in lines)
        assert kinds == ["ADDED", "DELETED"]
        rv = store.resource_version
        cluster.emit()  # nothing changed: nothing written
        await reg.settled()
        assert store.resource_version == rv
    finally:
        await reg.stop()
        store.close_watchers()


class FakeServer:
    def __init__(self, store: Store) -> None:
        self.rbac = RBACAuthorizer(StoreObjects(store))
        self.tokens = {"t1": UserInfo("system:serviceaccount:kube-system:metrics-server",
                                      groups=("system:serviceaccounts",
                                              "system:serviceaccounts:kube-system",
                                              "system:authenticated"))}
        self.authenticator = SimpleNamespace(authenticate_token=self._token)

    async def _token(self, token: str) -> UserInfo | None:
        return self.tokens.get(token)

    async def authorize(self, attrs: Any) -> Any:
        return self.rbac.authorize(attrs)


async def test_reviewer_answers_from_rbac() -> None:
    store = Store()
    store.create("namespaces", {"metadata": {"name": "kube-system"}})
    install_bootstrap_policy(store)
    reviewer = ControlPlaneReviewer(FakeServer(store))
    user = await reviewer.authenticate_token("t1")
    assert user.name == "system:serviceaccount:kube-system:metrics-server"
    assert await reviewer.authenticate_token("nope") is None
    allowed, _ = await reviewer.authorize(user, "get", "nodes", "metrics", "node-1")
    assert not allowed
    rbac = "rbac.authorization.k8s.io"
    store.create(f"clusterroles.{rbac}", {"metadata": {"name": "system:metrics-server"},
                                         "rules": [{"apiGroups": [""],
                                                    "resources": ["nodes/metrics"],
                                                    "verbs": ["get"]}]})
    store.create(f"clusterrolebindings.{rbac}", {
        "metadata": {"name": "system:metrics-server"},
        "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "system:metrics-server"},
        "subjects": [{"kind": "ServiceAccount", "name": "metrics-server",
                      "namespace": "kube-system"}]})
    allowed, reason = await reviewer.authorize(user, "get", "nodes", "metrics", "node-1")
    assert allowed and reason.startswith("RBAC: allowed by ClusterRoleBinding")
    allowed, _ = await reviewer.authorize(user, "get", "nodes", "proxy", "node-1")
    assert not allowed


async def test_typed_events_are_applied_incrementally() -> None:
    from fakekubelet.model import (
        Container,
        Node,
        NodeRemoved,
        Pod,
        PodAdded,
        PodRemoved,
        PodUpdated,
    )

    store = Store()
    store.create("namespaces", {"metadata": {"name": "default"}})
    cluster = StubCluster()
    node = Node(name="node-1", internal_ip="127.1.0.1")
    pod = Pod(namespace="default", name="web-1", uid="u1", node_name="node-1", phase="Running",
              containers=[Container(name="app", state="running", start_time=1.7e9)])
    node.pods["default/web-1"] = pod
    cluster.nodes["node-1"] = node
    reg = FleetRegistration(store, cluster)
    reg.start()
    try:
        new = Pod(namespace="default", name="web-2", uid="u2", node_name="node-1",
                  phase="Pending", containers=[Container(name="app")])
        node.pods["default/web-2"] = new
        for cb in cluster.listeners:
            cb(PodAdded(1.0, new))
        await reg.settled()
        got = store.get("pods", "web-2", "default")
        assert got["status"]["phase"] == "Pending"
        assert got["status"]["hostIP"] == "127.1.0.1"
        new.phase = "Running"
        new.containers[0].state = "running"
        for cb in cluster.listeners:
            cb(PodUpdated(2.0, new))
        await reg.settled()
        assert store.get("pods", "web-2", "default")["status"]["containerStatuses"][0]["ready"]
        del node.pods["default/web-1"]
        for cb in cluster.listeners:
            cb(PodRemoved(3.0, pod))
        await reg.settled()
        assert store.try_get("pods", "web-1", "default") is None
        del cluster.nodes["node-1"]
        for cb in cluster.listeners:
            cb(NodeRemoved(4.0, node))
        await reg.settled()
        assert store.try_get("nodes", "node-1") is None
        assert store.try_get("pods", "web-2", "default") is None
    finally:
        await reg.stop()
