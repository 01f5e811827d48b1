"""HPA autoscaling/v2 (stored) ⇄ v1: what v1 readers see, and what a v1 write keeps."""

from __future__ import annotations

import json

import pytest

from fakeapiserver.hpaconvert import go_json, hpa_v1_to_v2, hpa_v2_to_v1
from tests.unit.fakeapiserver.test_core_store import make_store

CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
CURRENT = "autoscaling.alpha.kubernetes.io/current-metrics"
METRICS = "autoscaling.alpha.kubernetes.io/metrics"

CPU = {"type": "Resource", "resource": {"name": "cpu", "target": {
    "type": "Utilization", "averageUtilization": 50}}}
EXTERNAL = {"type": "External", "external": {
    "metric": {"name": "queue", "selector": {"matchLabels": {"q": "jobs"}}},
    "target": {"type": "AverageValue", "averageValue": "30"}}}


def v2(status: dict | None = None, metrics: list | None = None) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default",
                         "annotations": {"team": "a"}},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web",
                                        "apiVersion": "apps/v1"},
                     "minReplicas": 1, "maxReplicas": 10, "metrics": metrics or [CPU]},
            "status": status or {"currentReplicas": 0, "desiredReplicas": 0}}


STATUS = {"currentReplicas": 2, "desiredReplicas": 4, "lastScaleTime": "2025-06-01T12:00:00Z",
          "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
              "averageValue": "372m", "averageUtilization": 186}}}],
          "conditions": [{"type": "AbleToScale", "status": "True",
                          "lastTransitionTime": "2025-06-01T12:00:00Z",
                          "reason": "SucceededRescale",
                          "message": "the HPA controller was able to update the target scale "
                                     "to 4"}]}


def test_a_fresh_hpa_has_no_annotations_for_v1() -> None:
    out = hpa_v2_to_v1(v2(), None)
    assert out["metadata"]["annotations"] == {"team": "a"}
    assert out["spec"]["targetCPUUtilizationPercentage"] == 50


def test_status_and_conditions_go_to_annotations_as_go_marshals_them() -> None:
    out = hpa_v2_to_v1(v2(STATUS), None)
    ann = out["metadata"]["annotations"]
    assert ann[CONDITIONS] == (
        '[{"type":"AbleToScale","status":"True","lastTransitionTime":"2025-06-01T12:00:00Z",'
        '"reason":"SucceededRescale","message":"the HPA controller was able to update the '
        'target scale to 4"}]')
    assert ann[CURRENT] == ('[{"type":"Resource","resource":{"name":"cpu",'
                            '"currentAverageUtilization":186,"currentAverageValue":"372m"}}]')
    assert METRICS not in ann                   # the CPU target is a v1 field
    assert out["status"] == {"lastScaleTime": "2025-06-01T12:00:00Z", "currentReplicas": 2,
                             "desiredReplicas": 4, "currentCPUUtilizationPercentage": 186}


def test_other_metrics_and_selectors_escape_like_go() -> None:
    out = hpa_v2_to_v1(v2(metrics=[CPU, EXTERNAL]), None)
    assert json.loads(out["metadata"]["annotations"][METRICS]) == [
        {"type": "External", "external": {"metricName": "queue",
                                          "metricSelector": {"matchLabels": {"q": "jobs"}},
                                          "targetAverageValue": "30"}}]
    assert go_json(["a<b>&c"]) == '["a\\u003cb\\u003e\\u0026c"]'


@pytest.mark.parametrize("annotations", [None, {"team": "a"}])
def test_a_v1_round_trip_drops_the_annotations_and_keeps_v2_fields(
        annotations: dict | None) -> None:
    stored = v2(STATUS, [CPU, EXTERNAL])
    stored["spec"]["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": 60}}
    if annotations is None:
        del stored["metadata"]["annotations"]
    as_v1 = hpa_v2_to_v1(stored, None)
    as_v1["spec"]["maxReplicas"] = 20            # kubectl edit of the v1 object
    back = hpa_v1_to_v2(as_v1, stored)
    assert back["metadata"].get("annotations") == annotations
    assert back["spec"]["metrics"] == [CPU, EXTERNAL]
    assert back["spec"]["behavior"] == stored["spec"]["behavior"]
    assert back["spec"]["maxReplicas"] == 20
    assert back["status"]["conditions"] == STATUS["conditions"]


def test_the_store_serves_annotations_to_v1_readers() -> None:
    store = make_store()
    store.create("hpa", v2())
    store.update("hpa", {**store.get("hpa", "web", "default"), "status": STATUS}, "status")
    v1 = store.registry.by_resource("autoscaling", "v1", "horizontalpodautoscalers")
    view = store.get(v1, "web", "default")
    assert json.loads(view["metadata"]["annotations"][CONDITIONS])[0]["reason"] == (
        "SucceededRescale")
    store.patch(v1, "web", {"spec": {"maxReplicas": 7}}, "application/merge-patch+json",
                "default")
    stored = store.get("hpa", "web", "default")
    assert stored["metadata"]["annotations"] == {"team": "a"}
    assert stored["spec"]["maxReplicas"] == 7


def test_a_given_behavior_is_defaulted_field_by_field() -> None:
    """SetDefaults_HorizontalPodAutoscalerBehavior (pkg/apis/autoscaling/v2/defaults.go);
    no behavior stays none."""
    store = make_store()
    obj = v2()
    obj["spec"]["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": 60, "policies": [
        {"type": "Percent", "value": 10, "periodSeconds": 60}]}}
    created = store.create("hpa", obj)
    assert created["spec"]["behavior"] == {
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15}]},
        "scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max", "policies": [
            {"type": "Percent", "value": 10, "periodSeconds": 60}]}}
    plain = v2()
    plain["metadata"]["name"] = "plain"
    assert "behavior" not in store.create("hpa", plain)["spec"]
