"""Endpoints and EndpointSlices follow pod readiness and resolve named target ports."""

from __future__ import annotations

from typing import Any

from fakeapiserver.aggregation import ObjectReader, check_local_and_endpoints
from fakeapiserver.controllers.endpoints import resolve_target_port
from tests.unit.fakeapiserver.ctrl_support import make_manager, make_store, set_ready

NS = "kube-system"
SLICES = "endpointslices.discovery.k8s.io"


def service(selector: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                       "targetPort": "https"}], **extra}
    if selector is not None:
        spec["selector"] = selector
    return {"metadata": {"name": "metrics-server", "namespace": NS,
                         "labels": {"k8s-app": "metrics-server"}}, "spec": spec}


def pod(name: str, port_name: str = "https", port: int = 10250) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": NS, "labels": {"k8s-app": "metrics-server"}},
            "spec": {"containers": [{"name": "metrics-server", "image": "metricsd:dev",
                                     "ports": [{"name": port_name, "containerPort": port,
                                                "protocol": "TCP"}]}]}}


def subsets(store: Any) -> Any:
    return store.get("endpoints", "metrics-server", NS).get("subsets")


def slices(store: Any) -> list[dict[str, Any]]:
    return store.list(SLICES, NS, None, None)


def test_ready_and_unready_addresses_with_the_named_port() -> None:
    store = make_store(nodes=1)
    manager = make_manager(store)
    store.create("services", service({"k8s-app": "metrics-server"}))
    manager.run_until_idle()
    assert subsets(store) is None
    [placeholder] = slices(store)
    assert placeholder["endpoints"] == [] and placeholder["metadata"]["name"].startswith(
        "metrics-server-")
    store.create("pods", pod("ms-a"))
    manager.run_until_idle()
    ip = store.get("pods", "ms-a", NS)["status"]["podIP"]
    uid = store.get("pods", "ms-a", NS)["metadata"]["uid"]
    address = {"ip": ip, "nodeName": "node-1", "targetRef": {
        "kind": "Pod", "namespace": NS, "name": "ms-a", "uid": uid}}
    ports = [{"name": "https", "port": 10250, "protocol": "TCP"}]
    assert subsets(store) == [{"notReadyAddresses": [address], "ports": ports}]
    [sl] = slices(store)
    assert sl["metadata"]["labels"] == {
        "k8s-app": "metrics-server", "kubernetes.io/service-name": "metrics-server",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    assert sl["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert sl["addressType"] == "IPv4" and sl["ports"] == ports
    assert sl["endpoints"][0]["conditions"] == {"ready": False, "serving": False,
                                                "terminating": False}
    set_ready(store, NS, "ms-a")
    manager.run_until_idle()
    assert subsets(store) == [{"addresses": [address], "ports": ports}]
    assert slices(store)[0]["endpoints"][0]["conditions"]["ready"] is True
    assert store.get("endpoints", "metrics-server", NS)["metadata"]["labels"] == {
        "k8s-app": "metrics-server"}
    set_ready(store, NS, "ms-a", ready=False)
    manager.run_until_idle()
    assert "notReadyAddresses" in subsets(store)[0]
    store.delete("pods", "ms-a", NS)
    manager.run_until_idle()
    assert subsets(store) is None and slices(store)[0]["endpoints"] == []


def test_aggregation_sees_missing_endpoints_until_the_pod_is_ready() -> None:
    store = make_store(nodes=1)
    manager = make_manager(store)
    store.create("services", service({"k8s-app": "metrics-server"}))
    store.create("pods", pod("ms-a"))
    manager.run_until_idle()
    apiservice = {"metadata": {"name": "v1beta1.metrics.k8s.io"}, "spec": {
        "group": "metrics.k8s.io", "version": "v1beta1",
        "service": {"name": "metrics-server", "namespace": NS, "port": 443}}}
    for slices_mode in (False, True):
        result = check_local_and_endpoints(apiservice, ObjectReader(store), slices_mode)
        assert result is not None and result.reason == "MissingEndpoints", result
    set_ready(store, NS, "ms-a")
    manager.run_until_idle()
    for slices_mode in (False, True):
        assert check_local_and_endpoints(apiservice, ObjectReader(store), slices_mode) is None


def test_pod_without_the_named_port_is_left_out() -> None:
    store = make_store(nodes=1)
    manager = make_manager(store)
    store.create("services", service({"k8s-app": "metrics-server"}))
    store.create("pods", pod("good"))
    store.create("pods", pod("other", port_name="metrics", port=8080))
    manager.run_until_idle()
    [subset] = subsets(store)
    assert [a["targetRef"]["name"] for a in subset["notReadyAddresses"]] == ["good"]


def test_publish_not_ready_addresses() -> None:
    store = make_store(nodes=1)
    manager = make_manager(store)
    store.create("services", service({"k8s-app": "metrics-server"},
                                     publishNotReadyAddresses=True))
    store.create("pods", pod("ms-a"))
    manager.run_until_idle()
    assert "addresses" in subsets(store)[0]


def test_services_without_selector_are_not_touched_and_deletion_cleans_up() -> None:
    store = make_store(nodes=1)
    manager = make_manager(store)
    store.create("services", service(None))
    store.create("endpoints", {"metadata": {"name": "metrics-server", "namespace": NS},
                               "subsets": [{"addresses": [{"ip": "127.0.0.5"}],
                                            "ports": [{"name": "https", "port": 4443}]}]})
    manager.run_until_idle()
    assert subsets(store)[0]["addresses"] == [{"ip": "127.0.0.5"}]
    assert slices(store) == []
    store.delete("services", "metrics-server", NS)
    store.create("services", service({"k8s-app": "metrics-server"}))
    manager.run_until_idle()
    assert len(slices(store)) == 1
    store.delete("services", "metrics-server", NS)
    manager.run_until_idle()
    assert store.try_get("endpoints", "metrics-server", NS) is None
    assert slices(store) == []


def test_resolve_target_port() -> None:
    p = pod("x")
    assert resolve_target_port({"port": 443, "targetPort": "https"}, p) == 10250
    assert resolve_target_port({"port": 443, "targetPort": 4443}, p) == 4443
    assert resolve_target_port({"port": 443, "targetPort": "4443"}, p) == 4443
    assert resolve_target_port({"port": 443}, p) == 443
    assert resolve_target_port({"port": 443, "targetPort": "nope"}, p) is None
    assert resolve_target_port({"port": 443, "targetPort": "https", "protocol": "UDP"},
                               p) is None
