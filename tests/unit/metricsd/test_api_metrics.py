"""The metrics.k8s.io API: object shapes, list/get semantics, NotFound texts, tables, discovery."""

from __future__ import annotations

import json
from typing import Any

import pytest

from metricsd.api import (
    MetricsAPI,
    NodeMeta,
    PodMeta,
    aggregated_discovery,
    api_group,
    api_group_list,
    api_resource_list,
    negotiate_apis,
    table_request,
)
from metricsd.scraper.batch import MetricsBatch, MetricsPoint, PodMetricsPoint
from metricsd.scraper.decode import decode_batch
from metricsd.selectors import LabelSelector, parse_label_selector
from metricsd.storage import Storage
from tests.reference_payloads import PAYLOAD_A, second_scrape_a

S = 1_000_000_000
T0 = 1_711_467_600 * S
NOW = T0 + 21 * S  # 2024-03-26T15:40:21Z
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


class Nodes:
    def __init__(self, nodes: list[NodeMeta], fail: bool = False) -> None:
        self.nodes = nodes
        self.fail = fail
        self.seen: list[str] = []

    def list_nodes(self, selector: LabelSelector) -> list[NodeMeta]:
        if self.fail:
            raise RuntimeError("informer down")
        self.seen.append(str(selector))
        return [n for n in self.nodes if selector.matches(n.labels)]

    def get_node(self, name: str) -> NodeMeta | None:
        return next((n for n in self.nodes if n.name == name), None)


class Pods:
    def __init__(self, pods: list[PodMeta]) -> None:
        self.pods = pods

    def list_pods(self, namespace: str | None, selector: LabelSelector) -> list[PodMeta]:
        return [p for p in self.pods
                if (namespace is None or p.namespace == namespace) and selector.matches(p.labels)]

    def get_pod(self, namespace: str, name: str) -> PodMeta | None:
        return next((p for p in self.pods if (p.namespace, p.name) == (namespace, name)), None)


WORKER = NodeMeta("kind-worker", {"kubernetes.io/hostname": "kind-worker",
                                  "kubernetes.io/os": "linux"})
WEB = PodMeta("default", "web-5d9c7b8f6-abcde", {"app": "web", "pod-template-hash": "5d9c7b8f6"})
PROXY = PodMeta("kube-system", "kube-proxy-x7k2p", {"k8s-app": "kube-proxy"})


def sheet_storage() -> Storage:
    s = Storage(15 * S)
    s.store(decode_batch(PAYLOAD_A.encode(), T0, "kind-worker"))
    s.store(decode_batch(second_scrape_a().encode(), T0 + 15 * S, "kind-worker"))
    return s


def make_api(node_selector: str = "", extra_nodes: list[NodeMeta] | None = None,
             extra_pods: list[PodMeta] | None = None, storage: Storage | None = None,
             ) -> tuple[MetricsAPI, Nodes]:
    nodes = Nodes([WORKER, *(extra_nodes or [])])
    pods = Pods([PROXY, WEB, *(extra_pods or [])])
    sel = parse_label_selector(node_selector) if node_selector else None
    return MetricsAPI(storage or sheet_storage(), nodes, pods, sel), nodes


def test_node_get_matches_the_sheet_example_exactly() -> None:
    api, _ = make_api()
    res = api.get_node("kind-worker", NOW)
    assert res.status == 200
    assert json.dumps(res.body, separators=(",", ":")) == (
        '{"kind":"NodeMetrics","apiVersion":"metrics.k8s.io/v1beta1",'
        '"metadata":{"name":"kind-worker","creationTimestamp":"2024-03-26T15:40:21Z",'
        '"labels":{"kubernetes.io/hostname":"kind-worker","kubernetes.io/os":"linux"}},'
        '"timestamp":"2024-03-26T15:40:15Z","window":"15s","usage":{"cpu":"175m",'
        '"memory":"1886908Ki"}}'
    )
    assert res.timestamps == [T0 + 15 * S]


def test_pod_get_matches_the_sheet_example_exactly() -> None:
    api, _ = make_api()
    res = api.get_pod("default", "web-5d9c7b8f6-abcde", NOW)
    assert res.status == 200
    assert json.dumps(res.body, separators=(",", ":")) == (
        '{"kind":"PodMetrics","apiVersion":"metrics.k8s.io/v1beta1",'
        '"metadata":{"name":"web-5d9c7b8f6-abcde","namespace":"default",'
        '"creationTimestamp":"2024-03-26T15:40:21Z","labels":{"app":"web",'
        '"pod-template-hash":"5d9c7b8f6"}},"timestamp":"2024-03-26T15:40:16Z","window":"15s",'
        '"containers":[{"name":"app","usage":{"cpu":"40m","memory":"100Mi"}},'
        '{"name":"sidecar","usage":{"cpu":"2500u","memory":"12736Ki"}}]}'
    )


def test_pod_list_all_namespaces_sorted_items_without_type_meta() -> None:
    api, _ = make_api()
    res = api.list_pods(NOW)
    assert res.status == 200
    body = res.body
    assert (body["kind"], body["apiVersion"], body["metadata"]) == (
        "PodMetricsList", "metrics.k8s.io/v1beta1", {})
    names = [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in body["items"]]
    assert names == [("default", "web-5d9c7b8f6-abcde"), ("kube-system", "kube-proxy-x7k2p")]
    assert "kind" not in body["items"][0]
    proxy = body["items"][1]
    assert proxy["containers"] == [
        {"name": "kube-proxy", "usage": {"cpu": "1012u", "memory": "21500Ki"}}]
    assert len(res.timestamps) == 2


def test_empty_lists_serialise_items_as_empty_array() -> None:
    api, _ = make_api(storage=Storage(15 * S))
    assert api.list_nodes(NOW).body["items"] == []
    res = api.list_pods(NOW, "default")
    assert json.dumps(res.body, separators=(",", ":")) == (
        '{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},'
        '"items":[]}'
    )


def test_pod_list_namespace_label_and_field_selectors() -> None:
    api, _ = make_api()
    assert [i["metadata"]["name"] for i in api.list_pods(NOW, "kube-system").body["items"]] == [
        "kube-proxy-x7k2p"]
    assert [i["metadata"]["name"]
            for i in api.list_pods(NOW, label_selector="app=web").body["items"]] == [
        "web-5d9c7b8f6-abcde"]
    res = api.list_pods(NOW, field_selector="metadata.namespace!=default")
    assert [i["metadata"]["name"] for i in res.body["items"]] == ["kube-proxy-x7k2p"]
    res = api.list_pods(NOW, "default", field_selector="metadata.name=nope")
    assert res.body["items"] == []


def test_node_list_applies_request_and_node_selector() -> None:
    other = NodeMeta("other", {"metrics-server-skip": "true"})
    api, nodes = make_api("metrics-server-skip!=true", extra_nodes=[other])
    res = api.list_nodes(NOW, label_selector="kubernetes.io/os=linux")
    assert [i["metadata"]["name"] for i in res.body["items"]] == ["kind-worker"]
    assert nodes.seen[-1] == "kubernetes.io/os=linux,metrics-server-skip!=true"
    res = api.list_nodes(NOW, field_selector="metadata.name=other")
    assert res.body["items"] == []


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None,
           ) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Failure", "message": message, "reason": reason}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def test_not_found_texts() -> None:
    idle = NodeMeta("node4", {})
    api, _ = make_api(extra_nodes=[idle], extra_pods=[PodMeta("default", "nginx", {})])
    res = api.get_node("node4", NOW)
    assert (res.status, res.body) == (404, status(
        404, "NotFound", 'nodemetrics.metrics.k8s.io "node4" not found',
        {"name": "node4", "group": "metrics.k8s.io", "kind": "nodemetrics"}))
    res = api.get_node("ghost", NOW)
    assert (res.status, res.body) == (404, status(
        404, "NotFound", 'node "ghost" not found', {"name": "ghost", "kind": "node"}))
    res = api.get_pod("default", "nginx", NOW)
    assert (res.status, res.body) == (404, status(
        404, "NotFound", 'podmetrics.metrics.k8s.io "default/nginx" not found',
        {"name": "default/nginx", "group": "metrics.k8s.io", "kind": "podmetrics"}))
    res = api.get_pod("default", "nope", NOW)
    assert (res.status, res.body) == (404, status(
        404, "NotFound", 'pods "nope" not found', {"name": "nope", "kind": "pods"}))


def test_node_get_ignores_the_node_selector_but_has_no_metrics() -> None:
    api, _ = make_api("kubernetes.io/os!=linux")
    assert api.list_nodes(NOW).body["items"] == []
    assert api.get_node("kind-worker", NOW).status == 200  # storage still has it


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"label_selector": "a b"},
         "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ({"field_selector": "spec.nodeName=x"},
         '"spec.nodeName" is not a known field selector: only "metadata.name", '
         '"metadata.namespace"'),
    ],
)
def test_bad_selectors_are_400(kwargs: dict[str, str], message: str) -> None:
    api, _ = make_api()
    for res in (api.list_nodes(NOW, **kwargs), api.list_pods(NOW, **kwargs)):
        assert (res.status, res.body) == (400, status(400, "BadRequest", message))


def test_watch_is_not_supported() -> None:
    api, _ = make_api()
    res = api.list_nodes(NOW, watch=True)
    assert res.status == 405
    assert res.body["message"] == (
        'watch is not supported on resources of kind "nodes.metrics.k8s.io"')
    assert res.body["reason"] == "MethodNotAllowed"


def test_lister_failure_is_500() -> None:
    api, nodes = make_api()
    nodes.fail = True
    res = api.list_nodes(NOW)
    assert (res.status, res.body) == (500, status(
        500, "Unknown", "failed listing nodes: informer down"))


def test_node_table() -> None:
    api, _ = make_api()
    res = api.list_nodes(NOW, accept=TABLE)
    # metrics-server v0.7.1 labels a Table answer plain application/json (the peer shows it)
    assert res.content_type == "application/json"
    body = res.body
    assert (body["kind"], body["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert [c["name"] for c in body["columnDefinitions"]] == ["Name", "cpu", "memory", "Window"]
    assert body["columnDefinitions"][0] == {
        "name": "Name", "type": "string", "format": "name",
        "description": "Name of the resource", "priority": 0}
    assert [c["format"] for c in body["columnDefinitions"]] == [
        "name", "quantity", "quantity", "duration"]
    assert body["rows"][0]["cells"] == ["kind-worker", "175m", "1886908Ki", "15s"]
    assert body["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    assert body["rows"][0]["object"]["metadata"]["name"] == "kind-worker"


def test_pod_table_sums_containers() -> None:
    api, _ = make_api()
    res = api.list_pods(NOW, accept=TABLE)
    rows = [r["cells"] for r in res.body["rows"]]
    # 40m + 2500u = 42500u; 100Mi + 12736Ki = 115136Ki
    assert rows == [["web-5d9c7b8f6-abcde", "42500u", "115136Ki", "15s"],
                    ["kube-proxy-x7k2p", "1012u", "21500Ki", "15s"]]
    res = api.get_pod("default", "web-5d9c7b8f6-abcde", NOW, accept=TABLE,
                      include_object="None")
    assert res.body["rows"] == [{"cells": ["web-5d9c7b8f6-abcde", "42500u", "115136Ki",
                                           "15s"]}]


def test_empty_table_has_no_column_definitions() -> None:
    api, _ = make_api(storage=Storage(15 * S))
    body = api.list_pods(NOW, accept=TABLE).body
    assert body["columnDefinitions"] is None and body["rows"] is None


def test_pod_with_no_servable_container_has_null_timestamp_and_0s_window() -> None:
    s = Storage(15 * S)
    key = ("default", "broken")
    c1 = MetricsPoint(start_time=0, timestamp=T0, cumulative_cpu_used=5 * S, memory_usage=1)
    c2 = MetricsPoint(start_time=0, timestamp=T0 + 15 * S, cumulative_cpu_used=S, memory_usage=1)
    s.store(MetricsBatch(pods={key: PodMetricsPoint({"c": c1})}))
    s.store(MetricsBatch(pods={key: PodMetricsPoint({"c": c2})}))
    api, _ = make_api(storage=s, extra_pods=[PodMeta("default", "broken", {})])
    body = api.get_pod("default", "broken", NOW).body
    assert (body["timestamp"], body["window"], body["containers"]) == (None, "0s", [])
    table = api.list_pods(NOW, "default", accept=TABLE).body
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Window"]
    assert table["rows"][0]["cells"] == ["broken", "0s"]


@pytest.mark.parametrize(
    ("accept", "version"),
    [
        (None, None),
        ("application/json", None),
        ("application/json;as=Table;v=v1;g=meta.k8s.io", "v1"),
        ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", "v1beta1"),
        ("application/json;as=Table;v=v2;g=meta.k8s.io,application/json", None),
        ("application/vnd.kubernetes.protobuf, */*", None),
    ],
)
def test_table_negotiation(accept: str | None, version: str | None) -> None:
    assert table_request(accept) == version


def test_discovery_documents() -> None:
    assert api_resource_list() == {
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "metrics.k8s.io/v1beta1",
        "resources": [
            {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics",
             "verbs": ["get", "list"]},
            {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics",
             "verbs": ["get", "list"]},
        ],
    }
    gv = {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}
    assert api_group() == {"kind": "APIGroup", "apiVersion": "v1", "name": "metrics.k8s.io",
                           "versions": [gv], "preferredVersion": gv}
    assert api_group_list()["groups"][0]["name"] == "metrics.k8s.io"
    agg = aggregated_discovery()
    assert agg["apiVersion"] == "apidiscovery.k8s.io/v2beta1"
    assert agg["items"][0]["metadata"] == {"name": "metrics.k8s.io", "creationTimestamp": None}
    version = agg["items"][0]["versions"][0]
    assert (version["version"], version["freshness"]) == ("v1beta1", "Current")
    assert [(r["resource"], r["scope"]) for r in version["resources"]] == [
        ("nodes", "Cluster"), ("pods", "Namespaced")]


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
         "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
         "application/json",
         # k8s.io/apiserver v0.29.2 knows no v2: the real metrics-server v0.7.1 skips it
         "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"),
        ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
         "application/json", "application/json"),
        ("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
         "application/json",
         "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"),
        ("application/json, */*", "application/json"),
        (None, "application/json"),
    ],
)
def test_apis_negotiation(accept: str | None, content_type: str) -> None:
    ctype, body = negotiate_apis(accept)
    assert ctype == content_type
    expected_kind = "APIGroupList" if ctype == "application/json" else "APIGroupDiscoveryList"
    assert body["kind"] == expected_kind


def test_include_object_variants() -> None:
    api, _ = make_api()
    full = api.list_nodes(NOW, accept=TABLE, include_object="Object").body["rows"][0]["object"]
    assert (full["kind"], full["usage"]["cpu"]) == ("NodeMetrics", "175m")
    res = api.list_nodes(NOW, accept=TABLE, include_object="Everything")
    assert res.status == 400 and res.body["reason"] == "BadRequest"


def test_v1beta1_table_and_single_get_row() -> None:
    api, _ = make_api()
    res = api.get_node("kind-worker", NOW,
                       accept="application/json;as=Table;v=v1beta1;g=meta.k8s.io")
    assert res.body["apiVersion"] == "meta.k8s.io/v1beta1"
    assert res.body["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"
    assert res.body["rows"][0]["cells"] == ["kind-worker", "175m", "1886908Ki", "15s"]
