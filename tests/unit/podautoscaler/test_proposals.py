"""Every metric to one proposal (computeReplicasForMetrics): max, partial failures, error chains."""

from __future__ import annotations

from typing import Any

import pytest

from podautoscaler import reconcile

from .builders import (
    COOL,
    NOW,
    cpu_metric,
    horizontal_case,
    reasons,
    status_ok,
)

QPS_PODS = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {
    "type": "AverageValue", "averageValue": "15"}}}
QPS_OBJECT = {"type": "Object", "object": {
    "describedObject": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "some-deployment"},
    "metric": {"name": "qps"}, "target": {"type": "Value", "value": "15"}}}
QPS_OBJECT_AVG = {"type": "Object", "object": {
    "describedObject": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "some-deployment"},
    "metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "15"}}}
QPS_EXTERNAL = {"type": "External", "external": {
    "metric": {"name": "qps", "selector": {}}, "target": {"type": "Value", "value": "300m"}}}
QPS_EXTERNAL_AVG = {"type": "External", "external": {
    "metric": {"name": "qps", "selector": {"matchLabels": {"queue": "jobs"}}},
    "target": {"type": "AverageValue", "averageValue": "300m"}}}

NOT_REGISTERED = ("unable to fetch metrics from custom metrics API: no custom metrics API "
                  "(custom.metrics.k8s.io) registered")
EMPTY_SELECTOR = ("&LabelSelector{MatchLabels:map[string]string{},"
                  "MatchExpressions:[]LabelSelectorRequirement{},}")
NOT_FOUND = ("unable to fetch metrics from external metrics API: the server could not find the "
             "requested resource (get qps.external.metrics.k8s.io)")

UNSERVED = [
    ("Pods", QPS_PODS, "FailedGetPodsMetric", f"unable to get metric qps: {NOT_REGISTERED}",
     f"failed to get pods metric value: unable to get metric qps: {NOT_REGISTERED}"),
    ("Object Value", QPS_OBJECT, "FailedGetObjectMetric",
     f"unable to get metric qps: Deployment on test-namespace some-deployment/{NOT_REGISTERED}",
     f"failed to get object metric value: unable to get metric qps: Deployment on "
     f"test-namespace some-deployment/{NOT_REGISTERED}"),
    ("Object AverageValue", QPS_OBJECT_AVG, "FailedGetObjectMetric",
     f"unable to get metric qps: Deployment on test-namespace some-deployment/{NOT_REGISTERED}",
     "failed to get object metric value: failed to get qps object metric: unable to get metric "
     f"qps: Deployment on test-namespace some-deployment/{NOT_REGISTERED}"),
    ("External Value", QPS_EXTERNAL, "FailedGetExternalMetric",
     f"unable to get external metric test-namespace/qps/{EMPTY_SELECTOR}: {NOT_FOUND}",
     "failed to get qps external metric value: failed to get external metric qps: unable to "
     f"get external metric test-namespace/qps/{EMPTY_SELECTOR}: {NOT_FOUND}"),
    ("External AverageValue", QPS_EXTERNAL_AVG, "FailedGetExternalMetric",
     "unable to get external metric test-namespace/qps/&LabelSelector{MatchLabels:"
     "map[string]string{queue: jobs,},MatchExpressions:[]LabelSelectorRequirement{},}: "
     f"{NOT_FOUND}",
     "failed to get qps external metric value: failed to get qps external metric: unable to "
     "get external metric test-namespace/qps/&LabelSelector{MatchLabels:map[string]string{"
     f"queue: jobs,}},MatchExpressions:[]LabelSelectorRequirement{{}},}}: {NOT_FOUND}"),
]


@pytest.mark.parametrize(("spec", "reason", "event_text", "wrapped"), [u[1:] for u in UNSERVED],
                         ids=[f"s5:{u[0]} not served" for u in UNSERVED])
def test_unserved_metric_apis_show_upstream_texts__s5(spec: dict[str, Any], reason: str,
                                                      event_text: str, wrapped: str) -> None:
    result = reconcile(horizontal_case(min_replicas=1, max_replicas=5, spec_replicas=3,
                                       metrics=[spec], levels=[100, 100, 100]))
    assert reasons(result) == [("AbleToScale", "True", "SucceededGetScale"),
                               ("ScalingActive", "False", reason)]
    active = result["status"]["conditions"][1]
    assert active["message"] == f"the HPA was unable to compute the replica count: {event_text}"
    assert result["events"] == [
        {"type": "Warning", "reason": reason, "message": event_text},
        {"type": "Warning", "reason": "FailedComputeMetricsReplicas",
         "message": f"invalid metrics (1 invalid out of 1), first error is: {wrapped}"}]
    assert result["status"]["currentMetrics"] == [{"type": ""}]
    assert result["desiredReplicas"] == 3  # the previous status value is kept


def test_metrics_server_unavailable_text__s6() -> None:
    c = horizontal_case(min_replicas=1, max_replicas=10, spec_replicas=1, cpu_target=50,
                        levels=[100])
    c["podMetrics"] = ("the server is currently unable to handle the request "
                       "(get pods.metrics.k8s.io)")
    result = reconcile(c)
    inner = ("unable to get metrics for resource cpu: unable to fetch metrics from resource "
             "metrics API: the server is currently unable to handle the request "
             "(get pods.metrics.k8s.io)")
    assert result["events"][0]["message"] == f"failed to get cpu utilization: {inner}"
    assert result["events"][1]["message"] == (
        "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric "
        f"value: failed to get cpu utilization: {inner}")
    assert result["status"]["conditions"][1]["reason"] == "FailedGetResourceMetric"


def test_unready_pods_text_with_invalid_metrics_prefix__s8() -> None:
    c = horizontal_case(min_replicas=1, max_replicas=10, spec_replicas=1, cpu_target=50,
                        levels=[100], readiness=["False"])
    result = reconcile(c)
    assert result["events"][1]["message"] == (
        "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric "
        "value: failed to get cpu utilization: did not receive metrics for targeted pods (pods "
        "might be unready)")


def test_one_invalid_metric_still_scales_up__s5() -> None:
    """TestScaleUpOneMetricInvalid: an unknown type next to a scaling cpu metric."""
    result = reconcile(horizontal_case(min_replicas=2, max_replicas=6, spec_replicas=3,
                                       cpu_target=30, levels=[300, 400, 500],
                                       metrics=[{"type": "CheddarCheese"}]))
    assert result["desiredReplicas"] == 4
    assert reasons(result) == status_ok()
    assert result["events"][0] == {"type": "Warning", "reason": "InvalidMetricSourceType",
                                   "message": 'unknown metric source type "CheddarCheese"'}
    assert result["error"] == ('invalid metrics (1 invalid out of 2), first error is: unknown '
                               'metric source type "CheddarCheese"')
    assert result["status"]["currentMetrics"][1] == {"type": ""}


def test_one_empty_metric_still_scales_up__s5() -> None:
    """TestScaleUpOneMetricEmpty: the external metrics API fails, cpu scales up."""
    c = horizontal_case(min_replicas=2, max_replicas=6, spec_replicas=3, cpu_target=30,
                        levels=[300, 400, 500], metrics=[QPS_EXTERNAL],
                        externalMetrics="something went wrong")
    result = reconcile(c)
    assert result["desiredReplicas"] == 4
    assert reasons(result) == status_ok()


@pytest.mark.parametrize("second", [{"type": "CheddarCheese"}, QPS_EXTERNAL],
                         ids=["s5:invalid type", "s5:empty external"])
def test_no_scale_down_when_a_metric_fails__s5(second: dict[str, Any]) -> None:
    """TestNoScaleDownOneMetricInvalid / …Empty: a would-be scale-down is refused."""
    c = horizontal_case(min_replicas=2, max_replicas=6, spec_replicas=5, cpu_target=50,
                        levels=[100, 300, 500, 250, 250], metrics=[second], recommendations=[],
                        externalMetrics="something went wrong")
    result = reconcile(c)
    assert result["desiredReplicas"] == 5
    reason = "InvalidMetricSourceType" if second["type"] == "CheddarCheese" \
        else "FailedGetExternalMetric"
    assert reasons(result) == [("AbleToScale", "True", "SucceededGetScale"),
                               ("ScalingActive", "False", reason)]
    assert result["scale"] is None
    assert result["events"][-1]["reason"] == "FailedComputeMetricsReplicas"


def test_max_over_metrics_names_the_first_maximal_metric__s5() -> None:
    """TestNoBackoffUpscaleCMNoBackoffCpu: cpu (→ 15) beats qps (→ 4), capped at max 5."""
    values = {"items": [{"describedObject": {"kind": "Pod", "name": f"test-pod-{i}"},
                         "metric": {"name": "qps"}, "timestamp": NOW, "value": f"{v}m"}
                        for i, v in enumerate([20000, 10000, 30000])]}
    c = horizontal_case(min_replicas=1, max_replicas=5, spec_replicas=3, cpu_target=10,
                        levels=[20000, 10000, 30000], metrics=[QPS_PODS], customMetrics=values)
    result = reconcile(c)
    assert result["desiredReplicas"] == 5
    assert [m["proposal"] for m in result["trace"]["metrics"]] == [600, 4]
    assert result["trace"]["proposal"]["metric"] == \
        "cpu resource utilization (percentage of request)"
    assert reasons(result) == status_ok(ScalingLimited=("True", "TooManyReplicas"))


def test_equal_proposals_keep_the_first_metric__s5() -> None:
    c = horizontal_case(min_replicas=1, max_replicas=10, spec_replicas=2, cpu_target=50,
                        levels=[1000, 1000], metrics=[cpu_metric(50, "cpu")])
    result = reconcile(c)
    assert result["trace"]["proposal"]["metric"] == \
        "cpu resource utilization (percentage of request)"
    assert result["status"]["conditions"][1]["message"] == (
        "the HPA was able to successfully calculate a replica count from cpu resource "
        "utilization (percentage of request)")


@pytest.mark.parametrize(("selector", "reason", "event_reason", "message", "event_message"), [
    ("", "InvalidSelector", "SelectorRequired", "the HPA target's scale is missing a selector",
     "selector is required"),
    ("cheddar cheese", "InvalidSelector", "InvalidSelector",
     "couldn't convert selector into a corresponding internal selector object: unable to parse "
     "requirement: found 'cheese', expected: in, notin, =, ==, !=, gt, lt",
     "couldn't convert selector into a corresponding internal selector object: unable to parse "
     "requirement: found 'cheese', expected: in, notin, =, ==, !=, gt, lt"),
], ids=["s6:selector missing", "s6:selector unparsable"])
def test_selector_errors__s6(selector: str, reason: str, event_reason: str, message: str,
                             event_message: str) -> None:
    c = horizontal_case(min_replicas=1, max_replicas=100, spec_replicas=3, cpu_target=10,
                        levels=[100, 200, 300], requests=["0.1"] * 3)
    c["scale"]["status"]["selector"] = selector
    result = reconcile(c)
    assert reasons(result) == [("AbleToScale", "True", "SucceededGetScale"),
                               ("ScalingActive", "False", reason)]
    assert result["status"]["conditions"][1]["message"] == message
    assert result["events"][0] == {"type": "Warning", "reason": event_reason,
                                   "message": event_message}
    assert result["events"][1]["reason"] == "FailedComputeMetricsReplicas"
    assert result["status"]["currentMetrics"] is None
    assert result["desiredReplicas"] == 3


@pytest.mark.parametrize(("other", "ambiguous"), [
    ({"name": "test-hpa-2", "selector": "cheddar=cheese"}, False),
    ({"name": "test-hpa-2", "selector": "name=test-pod"}, True),
], ids=["s6:no overlap", "s6:full overlap"])
def test_ambiguous_selector__s6(other: dict[str, str], ambiguous: bool) -> None:
    c = horizontal_case(min_replicas=2, max_replicas=6, spec_replicas=3, cpu_target=30,
                        levels=[300, 500, 700], otherHPAs=[other])
    result = reconcile(c)
    if not ambiguous:
        assert result["desiredReplicas"] == 5
        return
    assert result["desiredReplicas"] == 3
    text = ("pods by selector name=test-pod are controlled by multiple HPAs: "
            "[test-namespace/test-hpa test-namespace/test-hpa-2]")
    assert result["events"][0] == {"type": "Warning", "reason": "AmbiguousSelector",
                                   "message": text}
    assert result["status"]["conditions"][1]["reason"] == "AmbiguousSelector"


def test_partial_overlap_through_pod_labels_is_ambiguous__s6() -> None:
    c = horizontal_case(min_replicas=2, max_replicas=6, spec_replicas=3, cpu_target=30,
                        levels=[300, 500, 700],
                        otherHPAs=[{"name": "test-hpa-2", "selector": "cheddar=cheese"}])
    for p in c["pods"]:
        p["metadata"]["labels"]["cheddar"] = "cheese"
    assert reconcile(c)["status"]["conditions"][1]["reason"] == "AmbiguousSelector"


def test_pods_of_other_namespaces_or_labels_are_not_selected__s6() -> None:
    c = horizontal_case(min_replicas=1, max_replicas=10, spec_replicas=2, cpu_target=50,
                        levels=[500, 500, 900])
    extra = dict(c["pods"][0])
    extra = {"metadata": {"name": "stranger", "namespace": "other", "labels": {"name": "test-pod"}},
             "spec": c["pods"][0]["spec"], "status": c["pods"][0]["status"]}
    other_labels = {"metadata": {"name": "test-pod-2", "namespace": "test-namespace",
                                 "labels": {"app": "x"}},
                    "spec": c["pods"][0]["spec"], "status": c["pods"][0]["status"]}
    c["pods"] += [extra, other_labels]
    result = reconcile(c)
    pods = result["trace"]["pods"]
    assert pods["selected"] == ["test-pod-0", "test-pod-1"]
    assert [p["name"] for p in pods["notSelected"]] == ["stranger", "test-pod-2"]
    # test-pod-2's metric is superfluous: not in the utilization sums
    assert result["trace"]["metrics"][0]["calculation"]["superfluous"] == ["test-pod-2"]


@pytest.mark.parametrize(("second", "desired", "limited"), [
    (10000, 6, ("False", "DesiredWithinRange")), (15000, 6, ("True", "TooManyReplicas"))],
    ids=["s2-1:NoLessScale 6", "s2-1:CpuHot 7 capped at 6"])
def test_pods_metric_ignores_readiness__s2_1(second: int, desired: int,
                                             limited: tuple[str, str]) -> None:
    """TestScaleUpCMUnreadyAndHotCpuNoLessScale / TestScaleUpCMUnreadyandCpuHot."""
    values = {"items": [{"describedObject": {"kind": "Pod", "name": f"test-pod-{i}"},
                         "metric": {"name": "qps"}, "timestamp": NOW, "value": f"{v}m"}
                        for i, v in enumerate([50000, second, 30000])]}
    c = horizontal_case(min_replicas=2, max_replicas=6, spec_replicas=3, metrics=[QPS_PODS],
                        readiness=["False", "True", "False"], starts=[NOW, COOL, NOW],
                        customMetrics=values)
    result = reconcile(c)
    assert result["desiredReplicas"] == desired
    assert reasons(result) == status_ok(ScalingLimited=limited)
    average = {10000: "30", 15000: "31666m"}[second]
    assert result["status"]["currentMetrics"] == [{"type": "Pods", "pods": {
        "metric": {"name": "qps"}, "current": {"averageValue": average}}}]
