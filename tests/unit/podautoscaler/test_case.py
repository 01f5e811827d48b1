"""Parsing a case: defaults as the API server applies them, and errors that name the path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from podautoscaler import CaseError, gotime
from podautoscaler.case import parse_case

from .builders import cpu_metric, hpa, pod, pod_metrics, scale


def base() -> dict[str, Any]:
    return {"now": "2025-06-01T12:00:00Z", "hpa": hpa([cpu_metric(50)]), "scale": scale(2),
            "pods": [pod(0), pod(1)], "podMetrics": pod_metrics([100, 100])}


def with_(path: str, value: Any) -> dict[str, Any]:
    c = copy.deepcopy(base())
    node: Any = c
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node.setdefault(k, {})
    if isinstance(node, list):
        node[int(keys[-1])] = value
    else:
        node[keys[-1]] = value
    return c


ERRORS = [
    ("missing now", "now", None, "now", "required"),
    ("unknown top-level key", "controler", {}, "controler", "unknown key; expected one of now"),
    ("bad now", "now", "yesterday", "now", "expected an RFC 3339 time"),
    ("bad tolerance type", "controller.tolerance", "x", "controller.tolerance",
     "expected a number"),
    ("negative tolerance", "controller.tolerance", -0.1, "controller.tolerance",
     "must be greater than or equal to 0"),
    ("bad duration", "controller.cpuInitializationPeriod", "5 minutes",
     "controller.cpuInitializationPeriod", 'time: unknown unit " minutes" in duration "5 minutes"'),
    ("unknown controller key", "controller.tolerence", 0.1, "controller.tolerence",
     "unknown key"),
    ("gate unknown before 1.33", "controller", {"kubeVersion": "1.30", "featureGates": {
        "HPAConfigurableTolerance": True}}, "controller.featureGates.HPAConfigurableTolerance",
     "unrecognized feature gate: HPAConfigurableTolerance (it exists from 1.33"),
    ("gate not modelled", "controller", {"featureGates": {"Foo": True}},
     "controller.featureGates.Foo", "unknown feature gate"),
    ("bad kube version", "controller.kubeVersion", "latest", "controller.kubeVersion",
     'expected a version like "1.33"'),
    ("hpa v1", "hpa.apiVersion", "autoscaling/v1", "hpa.apiVersion",
     "expected autoscaling/v2"),
    ("maxReplicas missing", "hpa.spec.maxReplicas", None, "hpa.spec.maxReplicas",
     "expected an integer, got null"),
    ("bad target quantity", "hpa.spec.metrics", [{"type": "Resource", "resource": {
        "name": "memory", "target": {"type": "AverageValue", "averageValue": "lots"}}}],
     "hpa.spec.metrics[0].resource.target.averageValue", "quantities must match"),
    ("source missing for its type", "hpa.spec.metrics", [{"type": "Pods"}],
     "hpa.spec.metrics[0].pods", "must populate information for the given metric source"),
    ("bad request quantity", "pods.0.spec.containers", [{"name": "c", "resources": {
        "requests": {"cpu": "1 core"}}}], "pods[0].spec.containers[0].resources.requests.cpu",
     "quantities must match"),
    ("bad start time", "pods.1.status.startTime", 5, "pods[1].status.startTime",
     "expected an RFC 3339 time"),
    ("duplicate pod", "pods.1.metadata.name", "test-pod-0", "pods[1].metadata.name",
     "duplicate pod test-namespace/test-pod-0"),
    ("bad metric window", "podMetrics.items.0.window", "1 minute",
     "podMetrics.items[0].window", 'time: unknown unit " minute" in duration "1 minute"'),
    ("negative scale replicas", "scale.spec.replicas", -1, "scale.spec.replicas",
     "must be greater than or equal to 0"),
    ("history unknown key", "history", {"recs": []}, "history.recs", "unknown key"),
    ("history event bad change", "history", {"scaleUpEvents": [
        {"replicaChange": "two", "timestamp": "2025-06-01T12:00:00Z"}]},
     "history.scaleUpEvents[0].replicaChange", "expected an integer"),
    ("replicas must be an int, not a bool", "hpa.spec.minReplicas", True,
     "hpa.spec.minReplicas", "expected an integer, got a boolean"),
]


@pytest.mark.parametrize(("path", "value", "error_path", "message"),
                         [r[1:] for r in ERRORS], ids=[r[0] for r in ERRORS])
def test_case_errors_name_the_path(path: str, value: Any, error_path: str,
                                   message: str) -> None:
    c = with_(path, value)
    if value is None:
        node: Any = c
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        node.pop(keys[-1])
    with pytest.raises(CaseError) as err:
        parse_case(c)
    assert err.value.path == error_path
    assert message in err.value.message


def test_defaults_like_the_api_server__s3_1() -> None:
    c = base()
    del c["hpa"]["spec"]["minReplicas"]
    c["hpa"]["spec"]["metrics"] = []
    c["hpa"]["spec"]["behavior"] = {"scaleUp": {"stabilizationWindowSeconds": 60}}
    h = parse_case(c).hpa
    assert h.min_replicas == 1
    assert h.metrics[0].type == "Resource" and h.metrics[0].target.average_utilization == 80
    assert h.behavior is not None
    up, down = h.behavior.scale_up, h.behavior.scale_down
    assert (up.stabilization_window_seconds, up.select_policy) == (60, "Max")
    assert [(p.type, p.value, p.period_seconds) for p in up.policies] == [
        ("Pods", 4, 15), ("Percent", 100, 15)]
    assert down.stabilization_window_seconds is None  # the controller's flag applies
    assert [(p.type, p.value, p.period_seconds) for p in down.policies] == [
        ("Percent", 100, 15)]
    assert len(h.defaults_applied) == 3


def test_user_policies_replace_the_default_list_wholesale__s3_1() -> None:
    c = base()
    c["hpa"]["spec"]["behavior"] = {"scaleUp": {"policies": [
        {"type": "Percent", "value": 50, "periodSeconds": 60}]}}
    h = parse_case(c).hpa
    assert h.behavior is not None
    assert [p.type for p in h.behavior.scale_up.policies] == ["Percent"]


def test_no_behavior_means_legacy__s3_3() -> None:
    assert parse_case(base()).hpa.behavior is None


def test_feature_gate_defaults_follow_the_version__s1_3() -> None:
    gates = {v: parse_case(with_("controller", {"kubeVersion": v})).controller
             for v in ("1.30", "1.33", "1.34", "1.35")}
    assert [gates[v].gate("HPAConfigurableTolerance") for v in gates] == [False, False, False,
                                                                          True]
    assert [gates[v].gate("PodLevelResources") for v in gates] == [False, False, True, True]
    on = parse_case(with_("controller", {"kubeVersion": "1.33", "featureGates": {
        "HPAConfigurableTolerance": True}})).controller
    assert on.gate("HPAConfigurableTolerance")


def test_scale_and_metrics_can_be_error_texts__s6() -> None:
    c = base()
    c["scale"] = 'deployments.apps "web" not found'
    c["podMetrics"] = ("the server is currently unable to handle the request "
                       "(get pods.metrics.k8s.io)")
    parsed = parse_case(c)
    assert parsed.scale == 'deployments.apps "web" not found'
    assert isinstance(parsed.pod_metrics, str)


def test_pods_as_pod_list_and_metrics_as_list() -> None:
    c = base()
    c["pods"] = {"kind": "PodList", "items": c["pods"]}
    c["podMetrics"] = c["podMetrics"]["items"]
    parsed = parse_case(c)
    assert [p.name for p in parsed.pods] == ["test-pod-0", "test-pod-1"]
    assert len(parsed.pod_metrics) == 2


def test_history_none_means_first_sight_and_empty_list_does_not__s3_2() -> None:
    assert parse_case(base()).history.recommendations is None
    c = base()
    c["history"] = {"recommendations": []}
    assert parse_case(c).history.recommendations == ()


def test_durations_accept_seconds_and_go_text() -> None:
    c = with_("controller", {"downscaleStabilization": 30, "initialReadinessDelay": "1m30s"})
    ctl = parse_case(c).controller
    assert ctl.downscale_stabilization == 30 * gotime.SECOND
    assert ctl.initial_readiness_delay == 90 * gotime.SECOND


def test_missing_ready_transition_time_is_go_zero_time() -> None:
    c = base()
    del c["pods"][0]["status"]["conditions"][0]["lastTransitionTime"]
    ready = parse_case(c).pods[0].ready
    assert ready is not None
    assert ready.last_transition == gotime.parse_rfc3339("0001-01-01T00:00:00Z")


def test_datetime_values_from_yaml_loaders_are_accepted() -> None:
    import datetime as dt

    c = base()
    c["now"] = dt.datetime(2025, 6, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_case(c).now == gotime.parse_rfc3339("2025-06-01T12:00:00Z")
