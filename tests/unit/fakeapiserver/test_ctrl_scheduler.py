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
