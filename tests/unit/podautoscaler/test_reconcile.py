"""One reconcile end to end (horizontal.go): upstream's horizontal_test table and more.

Rows restate ``horizontal_test.go`` cases: pods with two containers that each request half
of ``requests[i]``, PodMetrics reporting half of ``levels[i]`` per container, the controller
of upstream's tests (tolerance 0.1, CPU initialization 2m, readiness delay 10s, scale-up limit
factor 8). ``recommendations=None`` is the first sync (upstream's ``nil``); ``[]`` is an
empty history (upstream's ``[]timestampedRecommendation{}``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from podautoscaler import CaseError, gotime, reconcile

from .builders import (
    COOL,
    HOT,
    NOW,
    NOW_NS,
    ago,
    horizontal_case,
    reasons,
    rules,
    status_ok,
)

ROWS: list[tuple[str, dict[str, Any], int, list[tuple[str, str, str]] | None]] = [
    ("TestScaleUp", dict(min_replicas=2, max_replicas=6, spec_replicas=3, cpu_target=30,
                         levels=[300, 500, 700]), 5, None),
    ("TestScaleUpUnreadyLessScale",
     dict(min_replicas=2, max_replicas=6, spec_replicas=3, cpu_target=30, levels=[300, 500, 700],
          readiness=["False", "True", "True"]), 4, None),
    ("TestScaleUpHotCpuLessScale",
     dict(min_replicas=2, max_replicas=6, spec_replicas=3, cpu_target=30, levels=[300, 500, 700],
          starts=[HOT, COOL, COOL]), 4, None),
    ("TestScaleUpUnreadyNoScale",
     dict(min_replicas=2, max_replicas=6, spec_replicas=3, cpu_target=30, levels=[400, 500, 700],
          readiness=["True", "False", "False"]), 3,
     status_ok(AbleToScale=("True", "ReadyForNewScale"))),
    ("TestScaleUpHotCpuNoScale",
     dict(min_replicas=2, max_replicas=6, spec_replicas=3, cpu_target=30, levels=[400, 500, 700],
          readiness=["True", "False", "False"], starts=[COOL, HOT, HOT]), 3,
     status_ok(AbleToScale=("True", "ReadyForNewScale"))),
    ("TestScaleUpIgnoresFailedPods",
     dict(min_replicas=2, max_replicas=6, spec_replicas=2, cpu_target=30, levels=[500, 700],
          requests=["1"] * 4, readiness=["True", "True", "False", "False"],
          phases=["Running", "Running", "Failed", "Failed"]), 4, None),
    ("TestScaleUpIgnoresDeletionPods",
     dict(min_replicas=2, max_replicas=6, spec_replicas=2, cpu_target=30, levels=[500, 700],
          requests=["1"] * 4, readiness=["True", "True", "False", "False"],
          deleting=[False, False, True, True]), 4, None),
    ("TestScaleDown", dict(min_replicas=2, max_replicas=6, spec_replicas=5, cpu_target=50,
                           levels=[100, 300, 500, 250, 250], recommendations=[]), 3, None),
    ("TestScaleDownIncludeUnreadyPods",
     dict(min_replicas=2, max_replicas=6, spec_replicas=5, cpu_target=50,
          levels=[100, 300, 500, 250, 250], readiness=["True"] * 3 + ["False"] * 2,
          recommendations=[]), 2, None),
    ("TestScaleDownIgnoreHotCpuPods",
     dict(min_replicas=2, max_replicas=6, spec_replicas=5, cpu_target=50,
          levels=[100, 300, 500, 250, 250], starts=[COOL] * 3 + [HOT] * 2, recommendations=[]),
     2, None),
    ("TestScaleDownIgnoresFailedPods",
     dict(min_replicas=2, max_replicas=6, spec_replicas=5, cpu_target=50,
          levels=[100, 300, 500, 250, 250], requests=["1"] * 7,
          readiness=["True"] * 5 + ["False"] * 2, phases=["Running"] * 5 + ["Failed"] * 2,
          recommendations=[]), 3, None),
    ("TestScaleDownStabilizeInitialSize",
     dict(min_replicas=2, max_replicas=6, spec_replicas=5, cpu_target=50,
          levels=[100, 300, 500, 250, 250], recommendations=None), 5,
     status_ok(AbleToScale=("True", "ScaleDownStabilized"))),
    ("TestTolerance", dict(min_replicas=1, max_replicas=5, spec_replicas=3, cpu_target=100,
                           levels=[1010, 1030, 1020], requests=["0.9", "1.0", "1.1"]), 3,
     status_ok(AbleToScale=("True", "ReadyForNewScale"))),
    ("TestMinReplicas", dict(min_replicas=2, max_replicas=5, spec_replicas=3, cpu_target=90,
                             levels=[10, 95, 10], requests=["0.9", "1.0", "1.1"],
                             recommendations=[]), 2,
     status_ok(ScalingLimited=("True", "TooFewReplicas"))),
    ("TestZeroMinReplicasDesiredZero",
     dict(min_replicas=0, max_replicas=5, spec_replicas=3, cpu_target=90, levels=[0, 0, 0],
          requests=["0.9", "1.0", "1.1"], recommendations=[]), 0, status_ok()),
    ("TestMinReplicasDesiredZero",
     dict(min_replicas=2, max_replicas=5, spec_replicas=3, cpu_target=90, levels=[0, 0, 0],
          requests=["0.9", "1.0", "1.1"], recommendations=[]), 2,
     status_ok(ScalingLimited=("True", "TooFewReplicas"))),
    ("TestZeroReplicas", dict(min_replicas=3, max_replicas=5, spec_replicas=0, cpu_target=90,
                              levels=[], requests=[]), 0,
     [("AbleToScale", "True", "SucceededGetScale"), ("ScalingActive", "False",
                                                     "ScalingDisabled")]),
    ("TestTooFewReplicas", dict(min_replicas=3, max_replicas=5, spec_replicas=2, cpu_target=90,
                                levels=[], requests=[]), 3,
     [("AbleToScale", "True", "SucceededRescale")]),
    ("TestTooManyReplicas", dict(min_replicas=3, max_replicas=5, spec_replicas=10,
                                 cpu_target=90, levels=[], requests=[]), 5,
     [("AbleToScale", "True", "SucceededRescale")]),
    ("TestMaxReplicas", dict(min_replicas=2, max_replicas=5, spec_replicas=3, cpu_target=90,
                             levels=[8000, 9500, 1000], requests=["0.9", "1.0", "1.1"]), 5,
     status_ok(ScalingLimited=("True", "TooManyReplicas"))),
    ("TestSuperfluousMetrics", dict(min_replicas=2, max_replicas=6, spec_replicas=4,
                                    cpu_target=100, levels=[4000, 9500, 3000, 7000, 3200, 2000],
                                    requests=["1"] * 4), 6,
     status_ok(ScalingLimited=("True", "TooManyReplicas"))),
    ("TestMissingMetrics", dict(min_replicas=2, max_replicas=6, spec_replicas=4,
                                cpu_target=100, levels=[400, 95], requests=["1"] * 4,
                                recommendations=[]), 3, None),
    ("TestEmptyMetrics", dict(min_replicas=2, max_replicas=6, spec_replicas=4, cpu_target=100,
                              levels=[], requests=["1"] * 4), 4,
     [("AbleToScale", "True", "SucceededGetScale"),
      ("ScalingActive", "False", "FailedGetResourceMetric")]),
    ("TestEmptyCPURequest", dict(min_replicas=1, max_replicas=5, spec_replicas=1,
                                 cpu_target=100, levels=[200], requests=[]), 1,
     [("AbleToScale", "True", "SucceededGetScale"),
      ("ScalingActive", "False", "FailedGetResourceMetric")]),
    ("TestEventCreated", dict(min_replicas=1, max_replicas=5, spec_replicas=1, cpu_target=50,
                              levels=[200], requests=["0.2"]), 2, None),
    ("TestEventNotCreated", dict(min_replicas=1, max_replicas=5, spec_replicas=2,
                                 cpu_target=50, levels=[200, 200], requests=["0.4", "0.4"]), 2,
     status_ok(AbleToScale=("True", "ReadyForNewScale"))),
    ("TestMissingReports", dict(min_replicas=1, max_replicas=5, spec_replicas=4, cpu_target=50,
                                levels=[200], requests=["0.2"], recommendations=[]), 2, None),
    ("TestUpscaleCap", dict(min_replicas=1, max_replicas=100, spec_replicas=3, cpu_target=10,
                            levels=[100, 200, 300], requests=["0.1"] * 3,
                            scale_up=rules(0, 0, 700, 60, 0)), 24,
     status_ok(ScalingLimited=("True", "ScaleUpLimit"))),
    ("TestUpscaleCapGreaterThanMaxReplicas",
     dict(min_replicas=1, max_replicas=20, spec_replicas=3, cpu_target=10,
          levels=[100, 200, 300], requests=["0.1"] * 3, scale_up=rules(0, 0, 700, 60, 0)), 20,
     status_ok(ScalingLimited=("True", "TooManyReplicas"))),
    ("TestMoreReplicasThanSpecNoScale",
     dict(min_replicas=1, max_replicas=8, spec_replicas=4, status_replicas=5, cpu_target=50,
          levels=[500] * 5, requests=["1"] * 5), 4,
     status_ok(AbleToScale=("True", "ReadyForNewScale"))),
    ("TestScaleDownWithScalingRules",
     dict(min_replicas=2, max_replicas=6, spec_replicas=5, cpu_target=50,
          levels=[100, 300, 500, 250, 250], scale_up=rules(0, 0, 100, 15, 30),
          recommendations=[]), 3, None),
    ("TestScaleUpRCImmediately", dict(min_replicas=2, max_replicas=6, spec_replicas=1,
                                      levels=[0, 0, 0, 0], requests=["1"] * 4,
                                      cpu_target=90), 2,
     [("AbleToScale", "True", "SucceededRescale")]),
    ("TestScaleDownRCImmediately", dict(min_replicas=2, max_replicas=5, spec_replicas=6,
                                        cpu_target=50, levels=[8000, 9500, 1000],
                                        requests=["0.9", "1.0", "1.1"]), 5,
     [("AbleToScale", "True", "SucceededRescale")]),
    ("TestStabilizeDownscale",
     dict(min_replicas=1, max_replicas=5, spec_replicas=4, cpu_target=100, levels=[50, 50, 50],
          requests=["0.1"] * 3, recommendations=[
              {"replicas": 10, "timestamp": ago(600)}, {"replicas": 4, "timestamp": ago(60)}]),
     4, status_ok(AbleToScale=("True", "ScaleDownStabilized"))),
    ("TestComputedToleranceAlgImplementation (scale)",
     dict(min_replicas=0, max_replicas=1000, spec_replicas=10, cpu_target=56, levels=[150] * 10,
          requests=[f"{r}m" for r in (400, 200, 310, 290, 302, 298, 301, 299, 300, 300)],
          recommendations=[]), 9, None),
    ("TestComputedToleranceAlgImplementation (no scale)",
     dict(min_replicas=0, max_replicas=1000, spec_replicas=10, cpu_target=55, levels=[150] * 10,
          requests=[f"{r}m" for r in (400, 200, 310, 290, 302, 298, 301, 299, 300, 300)],
          recommendations=[]), 10, status_ok(AbleToScale=("True", "ReadyForNewScale"))),
]


@pytest.mark.parametrize(("kwargs", "desired", "conditions"), [r[1:] for r in ROWS],
                         ids=[f"s3-2:{r[0]}" for r in ROWS])
def test_horizontal_table_matches_upstream(kwargs: dict[str, Any], desired: int,
                                           conditions: list[tuple[str, str, str]] | None) -> None:
    c = horizontal_case(**kwargs)
    result = reconcile(c)
    assert result["desiredReplicas"] == desired
    assert reasons(result) == (status_ok() if conditions is None else conditions)
    spec = kwargs["spec_replicas"]
    if desired != spec:
        assert result["scale"] == {"from": spec, "to": desired}
    else:
        assert result["scale"] is None


def test_event_texts_for_rescales__s4_3() -> None:
    up = reconcile(horizontal_case(min_replicas=1, max_replicas=5, spec_replicas=1,
                                   cpu_target=50, levels=[200], requests=["0.2"]))
    assert up["events"] == [{"type": "Normal", "reason": "SuccessfulRescale", "message":
                             "New size: 2; reason: cpu resource utilization (percentage of "
                             "request) above target"}]
    down = reconcile(horizontal_case(min_replicas=2, max_replicas=6, spec_replicas=5,
                                     cpu_target=50, levels=[100, 300, 500, 250, 250],
                                     recommendations=[]))
    assert down["events"][0]["message"] == "New size: 3; reason: All metrics below target"
    over = reconcile(horizontal_case(min_replicas=3, max_replicas=5, spec_replicas=10,
                                     cpu_target=90, levels=[], requests=[]))
    assert over["events"][0]["message"] == \
        "New size: 5; reason: Current number of replicas above Spec.MaxReplicas"
    assert over["status"]["currentMetrics"] is None


def test_no_event_without_a_rescale__s4_3() -> None:
    result = reconcile(horizontal_case(min_replicas=1, max_replicas=5, spec_replicas=2,
                                       cpu_target=50, levels=[200, 200],
                                       requests=["0.4", "0.4"]))
    assert result["events"] == []
    assert result["scale"] is None


def test_status_fields_after_a_rescale__s4_4() -> None:
    result = reconcile(horizontal_case(min_replicas=2, max_replicas=6, spec_replicas=3,
                                       cpu_target=30, levels=[300, 500, 700]))
    status = result["status"]
    assert status["currentReplicas"] == 3
    assert status["desiredReplicas"] == 5
    assert status["lastScaleTime"] == NOW
    assert status["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageValue": "500m", "averageUtilization": 50}}}]
    assert [c["message"] for c in status["conditions"]] == [
        "the HPA controller was able to update the target scale to 5",
        "the HPA was able to successfully calculate a replica count from cpu resource "
        "utilization (percentage of request)",
        "the desired count is within the acceptable range"]
    assert list(status) == ["lastScaleTime", "currentReplicas", "desiredReplicas",
                            "currentMetrics", "conditions"]


def test_avoid_unnecessary_status_updates__s3_2() -> None:
    """TestAvoidUnnecessaryUpdates: the same status again is not a write."""
    earlier = gotime.format_rfc3339(NOW_NS - 3600 * gotime.SECOND)
    conds = [
        {"type": "AbleToScale", "status": "True", "lastTransitionTime": earlier,
         "reason": "ReadyForNewScale", "message": "recommended size matches current size"},
        {"type": "ScalingActive", "status": "True", "lastTransitionTime": earlier,
         "reason": "ValidMetricFound", "message": "the HPA was able to successfully calculate "
         "a replica count from cpu resource utilization (percentage of request)"},
        {"type": "ScalingLimited", "status": "True", "lastTransitionTime": earlier,
         "reason": "TooFewReplicas",
         "message": "the desired replica count is less than the minimum replica count"}]
    c = horizontal_case(min_replicas=2, max_replicas=6, spec_replicas=2, levels=[400, 500, 700],
                        requests=["1"] * 3, starts=[COOL, HOT, HOT], recommendations=[],
                        metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
                            "type": "Utilization", "averageUtilization": 80}}}])
    c["hpa"]["status"] = {"currentReplicas": 2, "desiredReplicas": 2, "lastScaleTime": earlier,
                          "currentMetrics": [{"type": "Resource", "resource": {
                              "name": "cpu", "current": {"averageValue": "0.4",
                                                         "averageUtilization": 40}}}],
                          "conditions": conds}
    result = reconcile(c)
    assert result["statusChanged"] is False
    assert result["status"]["conditions"] == conds
    changed = dict(c)
    changed["hpa"] = json.loads(json.dumps(c["hpa"]))
    changed["hpa"]["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] = 41
    assert reconcile(changed)["statusChanged"] is True


def test_failed_get_scale__s4_2() -> None:
    """TestConditionFailedGetScale."""
    c = horizontal_case(min_replicas=1, max_replicas=100, spec_replicas=3, cpu_target=10,
                        levels=[100, 200, 300], requests=["0.1"] * 3)
    c["scale"] = "something went wrong"
    result = reconcile(c)
    assert reasons(result) == [("AbleToScale", "False", "FailedGetScale")]
    assert result["status"]["conditions"][0]["message"] == \
        "the HPA controller was unable to get the target's current scale: something went wrong"
    assert result["events"] == [{"type": "Warning", "reason": "FailedGetScale",
                                 "message": "something went wrong"}]
    assert result["error"] == ("failed to query scale subresource for "
                               "ReplicationController/test-namespace/test-rc: something went "
                               "wrong")
    assert result["history"]["recommendations"] is None  # nothing recorded before the scale


def test_invalid_api_version_is_failed_get_scale__s4_2() -> None:
    c = horizontal_case(min_replicas=1, max_replicas=10, spec_replicas=1, cpu_target=10,
                        levels=[100])
    c["hpa"]["spec"]["scaleTargetRef"]["apiVersion"] = "apps/v1/beta"
    result = reconcile(c)
    assert result["events"][0]["message"] == "unexpected GroupVersion string: apps/v1/beta"
    assert result["error"].startswith("invalid API version in scale target reference: ")


def test_failed_update_scale__s4_2() -> None:
    """TestConditionFailedUpdateScale: desiredReplicas stays, no scale event is stored."""
    c = horizontal_case(min_replicas=1, max_replicas=5, spec_replicas=3, cpu_target=100,
                        levels=[150, 150, 150], requests=["0.1"] * 3,
                        scale_up=rules(4, 15, 100, 15, 0), scaleUpdateError="something went wrong")
    result = reconcile(c)
    assert reasons(result) == status_ok(AbleToScale=("False", "FailedUpdateScale"))
    assert result["events"] == [{"type": "Warning", "reason": "FailedRescale", "message":
                                 "New size: 5; reason: cpu resource utilization (percentage of "
                                 "request) above target; error: something went wrong"}]
    assert result["desiredReplicas"] == 3
    assert result["scale"] is None
    assert result["history"]["scaleUpEvents"] == []
    assert [r["replicas"] for r in result["history"]["recommendations"]] == [3, 5]


def test_scale_to_zero_is_computed_when_min_is_zero__s3_2() -> None:
    """TestScaleUpFromZeroCMObject (master semantics; the [dev] ScaledToZero gate is not used)."""
    obj = {"type": "Object", "object": {
        "describedObject": {"apiVersion": "apps/v1", "kind": "Deployment",
                            "name": "some-deployment"},
        "metric": {"name": "qps"}, "target": {"type": "Value", "value": "15"}}}
    value = {"items": [{"describedObject": {"kind": "Deployment", "name": "some-deployment"},
                        "metric": {"name": "qps"}, "timestamp": NOW, "value": "20"}]}
    c = horizontal_case(min_replicas=0, max_replicas=6, spec_replicas=0, metrics=[obj],
                        customMetrics=value)
    result = reconcile(c)
    assert result["desiredReplicas"] == 2
    assert reasons(result) == status_ok()


def test_history_feeds_back_into_the_next_sync__s3_4() -> None:
    """Scale up with behavior, then feed the history back: the period counts the event."""
    kwargs: dict[str, Any] = dict(min_replicas=1, max_replicas=100, spec_replicas=2,
                                  cpu_target=10, levels=[300, 300], requests=["0.1"] * 2,
                                  scale_up=rules(2, 60, 0, 0, 0))
    first = reconcile(horizontal_case(**kwargs))
    assert first["scale"] == {"from": 2, "to": 4}
    event = first["history"]["scaleUpEvents"]
    assert event == [{"replicaChange": 2, "timestamp": NOW, "outdated": False}]
    second_case = horizontal_case(**{**kwargs, "spec_replicas": 4, "levels": [300] * 4,
                                     "requests": ["0.1"] * 4})
    second_case["history"] = first["history"]
    second_case["now"] = gotime.format_rfc3339(NOW_NS + 15 * gotime.SECOND)
    second = reconcile(second_case)
    # within the 60 s period: 4 - 2 added = 2 at the period start, + 2 pods → 4: no change
    assert second["scale"] is None
    assert second["status"]["conditions"][2]["reason"] == "ScaleUpLimit"
    third_case = dict(second_case)
    third_case["history"] = second["history"]
    third_case["now"] = gotime.format_rfc3339(NOW_NS + 61 * gotime.SECOND)
    assert reconcile(third_case)["scale"] == {"from": 4, "to": 6}


@pytest.mark.parametrize(("version", "gates", "replicas"), [
    ("1.35", None, 3), ("1.34", None, 4), ("1.33", {"HPAConfigurableTolerance": True}, 3),
    ("1.30", None, 4),
], ids=["s1-3:1.35 beta on", "s1-3:1.34 alpha off", "s1-3:1.33 gate on", "s1-3:1.30 no gate"])
def test_per_hpa_tolerance_only_with_the_gate__s1_3(version: str, gates: dict[str, bool] | None,
                                                    replicas: int) -> None:
    kwargs: dict[str, Any] = dict(min_replicas=1, max_replicas=10, spec_replicas=3,
                                  cpu_target=100, levels=[1200, 1200, 1200], requests=["1"] * 3,
                                  scale_up={"tolerance": "0.25"})
    c = horizontal_case(**kwargs)
    c["controller"]["kubeVersion"] = version
    if gates:
        c["controller"]["featureGates"] = gates
    result = reconcile(c)
    assert result["desiredReplicas"] == replicas
    tol = result["trace"]["tolerances"]
    assert tol["scaleUp"] == (0.25 if replicas == 3 else 0.1)
    assert ("ignoredPerHPA" in tol) is (replicas == 4)


def test_first_sync_blocks_scale_down_for_one_window__s3_2() -> None:
    c = horizontal_case(min_replicas=1, max_replicas=10, spec_replicas=4, cpu_target=100,
                        levels=[100] * 4, requests=["1"] * 4)
    first = reconcile(c)
    assert first["desiredReplicas"] == 4
    assert first["trace"]["scale"]["initialRecommendationRecorded"] is True
    later = dict(c)
    later["history"] = first["history"]
    later["now"] = gotime.format_rfc3339(NOW_NS + 301 * gotime.SECOND)
    assert reconcile(later)["desiredReplicas"] == 1


def test_unknown_input_is_a_case_error() -> None:
    with pytest.raises(CaseError):
        reconcile({"now": NOW})
