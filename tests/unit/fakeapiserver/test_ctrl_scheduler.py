"""Scheduler: nodeSelector, anti-affinity, taints, unique loopback pod IPs, FailedScheduling."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from fakeapiserver.controllers.scheduler import PodIPAllocator, ports_free, unschedulable_message
from tests.unit.fakeapiserver.ctrl_support import make_manager, make_store, node

NS = "default"


def pod(name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": NS, "labels": labels or {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "img",
                                     "ports": [{"name": "https", "containerPort": 10250}]}],
                     **spec}}


ANTI = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
    "labelSelector": {"matchLabels": {"app": "ms"}}, "namespaces": [NS],
    "topologyKey": "kubernetes.io/hostname"}]}}


def node_of(store: Any, name: str) -> str | None:
    return store.get("pods", name, NS)["spec"].get("nodeName")


def test_round_robin_over_ready_nodes_and_unique_ips() -> None:
    store = make_store(nodes=3)
    store.create("nodes", node("node-down", "127.1.0.9", ready=False))
    manager = make_manager(store)
    for i in range(6):
        store.create("pods", pod(f"p{i}"))
    manager.run_until_idle()
    placed = [node_of(store, f"p{i}") for i in range(6)]
    assert placed == ["node-1", "node-2", "node-3"] * 2
    ips = [store.get("pods", f"p{i}", NS)["status"]["podIP"] for i in range(6)]
    assert len(set(ips)) == 6
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("127.200.0.0/16") for ip in ips)
    p0 = store.get("pods", "p0", NS)
    assert p0["status"]["hostIP"] == "127.1.0.1"
    cond = p0["status"]["conditions"][0]
    assert (cond["type"], cond["status"]) == ("PodScheduled", "True")
    events = [e["message"] for e in store.list("events", NS) if e["reason"] == "Scheduled"]
    assert "Successfully assigned default/p0 to node-1" in events


def test_node_selector_and_required_node_affinity() -> None:
    store = make_store(nodes=2)
    store.create("nodes", node("gpu", "127.1.0.5", labels={"accel": "gpu"}))
    manager = make_manager(store)
    store.create("pods", pod("sel", nodeSelector={"accel": "gpu"}))
    store.create("pods", pod("aff", affinity={"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{
            "matchExpressions": [{"key": "accel", "operator": "DoesNotExist"}]}]}}}))
    manager.run_until_idle()
    assert node_of(store, "sel") == "gpu"
    assert node_of(store, "aff") in ("node-1", "node-2")


def test_pod_that_fits_nowhere_stays_pending_with_failed_scheduling_then_binds() -> None:
    store = make_store(nodes=2)
    manager = make_manager(store)
    store.create("pods", pod("picky", nodeSelector={"zone": "b"}))
    manager.run_until_idle()
    obj = store.get("pods", "picky", NS)
    assert "nodeName" not in obj["spec"] and obj["status"]["phase"] == "Pending"
    [cond] = [c for c in obj["status"]["conditions"] if c["type"] == "PodScheduled"]
    message = ("0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. "
               "preemption: 0/2 nodes are available: 2 Preemption is not helpful for "
               "scheduling.")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable",
                                                                 message)
    [ev] = [e for e in store.list("events", NS) if e["reason"] == "FailedScheduling"]
    assert ev["message"] == message and ev["type"] == "Warning"
    store.create("nodes", node("zone-b", "127.1.0.7", labels={"zone": "b"}))
    manager.run_until_idle()
    assert node_of(store, "picky") == "zone-b"


def test_required_anti_affinity_on_hostname() -> None:
    store = make_store(nodes=2)
    manager = make_manager(store)
    for i in range(3):
        store.create("pods", pod(f"ms{i}", labels={"app": "ms"}, affinity=ANTI))
    manager.run_until_idle()
    placed = sorted(str(node_of(store, f"ms{i}")) for i in range(2))
    assert placed == ["node-1", "node-2"]
    assert node_of(store, "ms2") is None
    [ev] = [e for e in store.list("events", NS) if e["reason"] == "FailedScheduling"]
    assert ev["message"] == (
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: "
        "0/2 nodes are available: 2 No preemption victims found for incoming pod.")
    store.delete("pods", "ms0", NS)
    manager.run_until_idle()
    assert node_of(store, "ms2") is not None


def test_taints_need_tolerations() -> None:
    store = make_store(nodes=0)
    store.create("nodes", node("cp", "127.1.0.1", taints=[
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]))
    manager = make_manager(store)
    store.create("pods", pod("plain"))
    store.create("pods", pod("tolerant", tolerations=[
        {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
         "effect": "NoSchedule"}]))
    manager.run_until_idle()
    assert node_of(store, "plain") is None and node_of(store, "tolerant") == "cp"
    [ev] = [e for e in store.list("events", NS) if e["reason"] == "FailedScheduling"]
    assert "1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }" in (
        ev["message"])


def test_pods_with_a_node_or_another_scheduler_are_left_alone() -> None:
    store = make_store(nodes=1)
    manager = make_manager(store)
    store.create("pods", pod("mine", nodeName="node-1"))
    store.create("pods", pod("theirs", schedulerName="other"))
    manager.run_until_idle()
    assert "podIP" not in store.get("pods", "mine", NS)["status"]
    assert node_of(store, "theirs") is None


def test_allocator_skips_used_and_busy_addresses() -> None:
    busy = {"127.200.0.2"}
    alloc = PodIPAllocator("127.200.0.0/29", is_free=lambda ip, ports: ip not in busy)
    assert alloc.allocate({"127.200.0.1"}, [10250]) == "127.200.0.3"
    assert alloc.allocate(set(), []) == "127.200.0.4"
    full = {f"127.200.0.{i}" for i in range(1, 7)}
    assert alloc.allocate(full, []) is None
    with pytest.raises(ValueError, match="loopback"):
        PodIPAllocator("10.0.0.0/24")


def test_ports_free_sees_a_bound_port() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not ports_free("127.0.0.1", [port])


def test_unschedulable_message_without_nodes() -> None:
    assert unschedulable_message(0, {}) == "no nodes available to schedule pods"


def test_pod_ips_avoid_node_addresses_in_the_block() -> None:
    store = make_store(nodes=0)
    store.create("nodes", node("n1", "127.200.0.1"))
    manager = make_manager(store)
    store.create("pods", pod("a"))
    manager.run_until_idle()
    assert store.get("pods", "a", NS)["status"]["podIP"] == "127.200.0.2"


def test_allocator_start_offset_wraps() -> None:
    alloc = PodIPAllocator("127.200.0.0/29", is_free=lambda ip, ports: True, start=6)
    assert [alloc.allocate(set(), []) for _ in range(3)] == [
        "127.200.0.6", "127.200.0.1", "127.200.0.2"]
    other = PodIPAllocator("127.200.0.0/16", is_free=lambda ip, ports: True, start=40000)
    assert other.allocate(set(), []) == "127.200.156.64"


def sized_node(name: str, ip: str, cpu: str = "2", memory: str = "4Gi",
               pods: str = "110") -> dict[str, Any]:
    obj = node(name, ip)
    obj["status"]["allocatable"] = {"cpu": cpu, "memory": memory, "pods": pods}
    obj["status"]["capacity"] = dict(obj["status"]["allocatable"])
    return obj


def asking(name: str, cpu: str | None = None, memory: str | None = None,
           **spec: Any) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"metadata": {"name": name, "namespace": NS, "labels": {"app": "w"}},
            "spec": {"containers": [{"name": "c", "image": "img",
                                     "resources": {"requests": requests}}], **spec}}


def condition(store: Any, name: str) -> dict[str, Any]:
    obj = store.get("pods", name, NS)
    [cond] = [c for c in obj["status"]["conditions"] if c["type"] == "PodScheduled"]
    return dict(cond)


def test_requests_fill_nodes_then_insufficient_cpu_until_capacity_frees() -> None:
    store = make_store(nodes=0)
    for i in (1, 2, 3):
        store.create("nodes", sized_node(f"node-{i}", f"127.1.0.{i}", cpu="1"))
    manager = make_manager(store)
    for i in range(7):
        store.create("pods", asking(f"w{i}", cpu="500m"))
    manager.run_until_idle()
    placed = [node_of(store, f"w{i}") for i in range(7)]
    assert sorted(str(n) for n in placed[:6]) == ["node-1", "node-1", "node-2", "node-2",
                                                   "node-3", "node-3"]
    assert placed[6] is None
    message = ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are "
               "available: 3 No preemption victims found for incoming pod.")
    cond = condition(store, "w6")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable",
                                                                 message)
    [ev] = [e for e in store.list("events", NS) if e["reason"] == "FailedScheduling"]
    assert (ev["type"], ev["message"], ev["source"]["component"]) == (
        "Warning", message, "default-scheduler")
    store.delete("pods", "w0", NS)           # capacity frees: the pending pod goes there
    manager.run_until_idle()
    assert node_of(store, "w6") == placed[0]


def test_a_node_added_makes_room() -> None:
    store = make_store(nodes=0)
    store.create("nodes", sized_node("node-1", "127.1.0.1", memory="1Gi"))
    manager = make_manager(store)
    store.create("pods", asking("big", memory="2Gi"))
    manager.run_until_idle()
    assert condition(store, "big")["message"].startswith(
        "0/1 nodes are available: 1 Insufficient memory.")
    store.create("nodes", sized_node("node-2", "127.1.0.2", memory="4Gi"))
    manager.run_until_idle()
    assert node_of(store, "big") == "node-2"


def test_combined_reasons_are_counted_and_sorted() -> None:
    store = make_store(nodes=0)
    store.create("nodes", sized_node("node-1", "127.1.0.1", cpu="4", memory="1Gi"))
    store.create("nodes", sized_node("node-2", "127.1.0.2", cpu="1", memory="8Gi"))
    store.create("nodes", sized_node("node-3", "127.1.0.3", cpu="1", memory="8Gi"))
    store.create("nodes", sized_node("node-4", "127.1.0.4", cpu="1", memory="1Gi"))
    store.create("nodes", sized_node("full", "127.1.0.5", pods="0"))
    store.create("nodes", node("gpu", "127.1.0.6", labels={"accel": "gpu"}, ready=False))
    manager = make_manager(store)
    store.create("pods", asking("p", cpu="2", memory="2Gi"))
    manager.run_until_idle()
    assert condition(store, "p")["message"] == (
        "0/6 nodes are available: 1 Too many pods, 1 node(s) had untolerated taint "
        "{node.kubernetes.io/not-ready: }, 2 Insufficient memory, 3 Insufficient cpu. "
        "preemption: 0/6 nodes are available: 1 Preemption is not helpful for scheduling, "
        "5 No preemption victims found for incoming pod.")


def test_bound_pods_count_with_init_containers_sidecars_and_terminating_pods() -> None:
    from fakeapiserver.controllers.resourcefit import Requests, pod_requests

    sidecar = {"name": "s", "image": "i", "restartPolicy": "Always",
               "resources": {"requests": {"cpu": "100m"}}}
    init = {"name": "i", "image": "i", "resources": {"requests": {"cpu": "700m",
                                                                  "memory": "1Mi"}}}
    p = asking("x", cpu="250m", memory="64Mi", initContainers=[sidecar, init],
               overhead={"cpu": "10m"})
    # max(250m + 100m, 700m + 100m) + 10m overhead; memory max(64Mi, 1Mi)
    assert pod_requests(p) == Requests(810, 64 << 20)
    limits_only = {"spec": {"containers": [{"name": "c", "resources": {"limits": {
        "cpu": "1", "memory": "1Gi"}}}]}}
    assert pod_requests(limits_only) == Requests(1000, 1 << 30)
    store = make_store(nodes=0)
    store.create("nodes", sized_node("node-1", "127.1.0.1", cpu="1"))
    manager = make_manager(store)
    store.create("pods", asking("bound", cpu="600m", nodeName="node-1"))
    store.create("pods", asking("new", cpu="600m"))
    manager.run_until_idle()
    assert node_of(store, "new") is None
    store.mutate("pods", "bound", NS, lambda o: o["status"].update(phase="Succeeded"))
    manager.run_until_idle()
    assert node_of(store, "new") == "node-1"   # a finished pod holds nothing


@pytest.mark.parametrize(
    ("version", "tail"),
    [
        ((1, 23), "3 Insufficient cpu."),
        ((1, 24), "3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption "
                  "victims found for incoming pod."),
        ((1, 25), "3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption "
                  "victims found for incoming pod.."),
        ((1, 27), "3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption "
                  "victims found for incoming pod.."),
        ((1, 28), "3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption "
                  "victims found for incoming pod."),
        ((1, 33), "3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption "
                  "victims found for incoming pod."),
    ],
)
def test_message_by_kube_version(version: tuple[int, int], tail: str) -> None:
    assert unschedulable_message(3, {"Insufficient cpu": 3}, 3, version) == (
        "0/3 nodes are available: " + tail)
