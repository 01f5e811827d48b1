"""Reading PodMetricsList and pod requests (the controller's metrics/ client), with upstream's
error texts."""

from __future__ import annotations

from typing import Any

import pytest

from podautoscaler.case import parse_case
from podautoscaler.metrics import (
    MetricsError,
    capped_sum,
    external_metric,
    object_metric,
    pod_requests,
    pods_custom_metric,
    resource_metric,
)

from .builders import NOW, cpu_metric, hpa, scale


def parse(pods: list[dict[str, Any]] | None = None, metrics: Any = None,
          controller: dict[str, Any] | None = None, **extra: Any) -> Any:
    return parse_case({"now": NOW, "hpa": hpa([cpu_metric(50)]), "scale": scale(1),
                       "pods": pods or [], "podMetrics": metrics or [],
                       "controller": controller or {}, **extra})


def item(name: str, containers: list[tuple[str, dict[str, str]]]) -> dict[str, Any]:
    return {"metadata": {"name": name}, "timestamp": NOW, "window": "15s",
            "containers": [{"name": n, "usage": u} for n, u in containers]}


def test_pod_usage_sums_containers__s6() -> None:
    c = parse(metrics=[item("a", [("app", {"cpu": "100m"}), ("sidecar", {"cpu": "20m"})])])
    rm = resource_metric(c.pod_metrics, "cpu", "")
    assert rm.by_pod["a"].value == 120
    assert rm.by_pod["a"].window == 15 * 10**9


@pytest.mark.parametrize(("containers", "why"), [
    ([], "its PodMetrics lists no containers"),
    ([("app", {"cpu": "100m"}), ("init", {"memory": "1Mi"})], "container init reports no cpu"),
], ids=["s6:no containers", "s6:one container lacks the resource"])
def test_pod_without_complete_usage_has_no_metric__s6(containers: list[Any], why: str) -> None:
    c = parse(metrics=[item("a", containers)])
    rm = resource_metric(c.pod_metrics, "cpu", "")
    assert "a" not in rm.by_pod
    assert why in rm.dropped["a"]


def test_container_metric_reads_one_container_and_absent_container_is_missing__s6() -> None:
    c = parse(metrics=[item("a", [("app", {"cpu": "100m"}), ("sidecar", {"cpu": "20m"})]),
                       item("b", [("sidecar", {"cpu": "5m"})])])
    rm = resource_metric(c.pod_metrics, "cpu", "app")
    assert rm.by_pod["a"].value == 100
    assert "b" not in rm.by_pod  # PR #127193: no longer a hard error


def test_a_later_incomplete_duplicate_keeps_the_earlier_value() -> None:
    c = parse(metrics=[item("a", [("app", {"cpu": "100m"})]), item("a", [])])
    assert resource_metric(c.pod_metrics, "cpu", "").by_pod["a"].value == 100


@pytest.mark.parametrize(("response", "text"), [
    ("the server is currently unable to handle the request (get pods.metrics.k8s.io)",
     "unable to fetch metrics from resource metrics API: the server is currently unable to "
     "handle the request (get pods.metrics.k8s.io)"),
    ([], "no metrics returned from resource metrics API"),
], ids=["s6:api error", "s6:empty list"])
def test_resource_metric_errors__s6(response: Any, text: str) -> None:
    c = parse(metrics=response)
    with pytest.raises(MetricsError) as err:
        resource_metric(c.pod_metrics, "cpu", "")
    assert str(err.value) == text


def spec_pod(containers: list[dict[str, Any]], init: list[dict[str, Any]] | None = None,
             pod_requests_: dict[str, str] | None = None,
             overhead: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": containers, "initContainers": init or []}
    if pod_requests_ is not None:
        spec["resources"] = {"requests": pod_requests_}
    if overhead is not None:
        spec["overhead"] = overhead
    return {"metadata": {"name": "web-5d8"}, "spec": spec, "status": {"phase": "Running"}}


def ctr(name: str, cpu: str | None, restart: str | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name}
    if cpu is not None:
        c["resources"] = {"requests": {"cpu": cpu}}
    if restart is not None:
        c["restartPolicy"] = restart
    return c


REQUESTS = [
    ("sum of containers", [ctr("a", "100m"), ctr("b", "200m")], [], "", 300),
    ("sidecar init containers count", [ctr("a", "100m")],
     [ctr("proxy", "50m", "Always"), ctr("setup", "900m")], "", 150),
    ("named container", [ctr("a", "100m"), ctr("b", "200m")], [], "b", 200),
    ("named sidecar container", [ctr("a", "100m")], [ctr("proxy", "50m", "Always")], "proxy",
     50),
    ("named container ignores others without requests", [ctr("a", None), ctr("b", "200m")], [],
     "b", 200),
]


@pytest.mark.parametrize(("containers", "init", "container", "milli"),
                         [r[1:] for r in REQUESTS], ids=[f"s1-4:{r[0]}" for r in REQUESTS])
def test_pod_requests__s1_4(containers: list[Any], init: list[Any], container: str,
                            milli: int) -> None:
    c = parse(pods=[spec_pod(containers, init)])
    assert pod_requests(c.pods, container, "cpu", False) == {"web-5d8": milli}


@pytest.mark.parametrize(("containers", "init", "container", "text"), [
    ([ctr("app", "100m"), ctr("daprd", None)], [], "",
     "missing request for cpu in container daprd of Pod web-5d8"),
    ([ctr("app", "100m")], [ctr("proxy", None, "Always")], "",
     "missing request for cpu in container proxy of Pod web-5d8"),
    ([ctr("app", "100m")], [], "sidecar", "container sidecar not found in Pod web-5d8"),
], ids=["s1-4:sidecar without request", "s1-4:init sidecar without request",
        "s1-4:named container absent"])
def test_pod_request_errors__s1_4(containers: list[Any], init: list[Any], container: str,
                                  text: str) -> None:
    c = parse(pods=[spec_pod(containers, init)])
    with pytest.raises(MetricsError) as err:
        pod_requests(c.pods, container, "cpu", False)
    assert str(err.value) == text


def test_pod_level_requests_need_the_gate__s1_4() -> None:
    c = parse(pods=[spec_pod([ctr("a", "100m")], pod_requests_={"cpu": "1"},
                             overhead={"cpu": "10m"})])
    assert pod_requests(c.pods, "", "cpu", True) == {"web-5d8": 1010}  # PodRequests + overhead
    assert pod_requests(c.pods, "", "cpu", False) == {"web-5d8": 100}
    assert pod_requests(c.pods, "a", "cpu", True) == {"web-5d8": 100}  # a container wins


def test_pod_level_request_missing_for_the_resource__s1_4() -> None:
    c = parse(pods=[spec_pod([{"name": "a"}], pod_requests_={"memory": "1Gi"})])
    with pytest.raises(MetricsError, match="missing pod-level request for cpu in Pod web-5d8"):
        pod_requests(c.pods, "", "cpu", True)


def test_custom_metrics_not_registered_texts__s4_3() -> None:
    c = parse()
    with pytest.raises(MetricsError) as err:
        pods_custom_metric(c.custom_metrics, "qps")
    assert str(err.value) == ("unable to fetch metrics from custom metrics API: no custom "
                              "metrics API (custom.metrics.k8s.io) registered")
    with pytest.raises(MetricsError) as err:
        external_metric(c.external_metrics, "qps")
    assert str(err.value) == ("unable to fetch metrics from external metrics API: the server "
                              "could not find the requested resource (get "
                              "qps.external.metrics.k8s.io)")


def test_custom_metric_window_defaults_to_one_minute__s6() -> None:
    c = parse(customMetrics={"items": [
        {"describedObject": {"kind": "Pod", "name": "p"}, "metric": {"name": "qps"},
         "value": "3", "timestamp": NOW},
        {"describedObject": {"kind": "Pod", "name": "q"}, "metric": {"name": "qps"},
         "value": "4", "timestamp": NOW, "windowSeconds": 30}]})
    values, _ = pods_custom_metric(c.custom_metrics, "qps")
    assert (values["p"].value, values["p"].window) == (3000, 60 * 10**9)
    assert values["q"].window == 30 * 10**9


def test_object_metric_needs_exactly_one_value() -> None:
    c = parse(customMetrics={"items": []})
    with pytest.raises(MetricsError, match="returned 0 results when we asked for exactly one"):
        object_metric(c.custom_metrics, "qps", {"kind": "Service", "name": "web"})


def test_external_sum_caps_at_max_int64__s1_2() -> None:
    assert capped_sum([(1 << 62) + 1, (1 << 62) + 1]) == (1 << 63) - 1
    assert capped_sum([1, 2, 3]) == 6
