"""The replica calculator, table-driven from upstream's replica_calculator_test.

Each row restates an upstream case in the case format: ``current`` pods named
``test-pod-<i>`` with two containers that each request ``requests[i]`` and each report
``levels[i]`` (so a pod's usage and request are twice the numbers), the Ready condition
without a transition time and the start time at Go's zero time unless given — exactly
upstream's fixture. Expected values (replicas, utilization, raw average) are upstream's.
"""

from __future__ import annotations

from typing import Any

import pytest

from podautoscaler import reconcile
from podautoscaler.case import parse_case
from podautoscaler.metrics import PodMetric
from podautoscaler.replicas import Tolerances, group_pods

from .builders import COOL, HOT, NOW, NOW_NS, ZERO, ago, case, hpa, pod, pod_metrics, scale

CPU_INIT = 2 * 60 * 10**9
DELAY = 10 * 10**9


def rc_case(current: int, *, levels: list[int], requests: list[str], target: int | None = None,
            average: str | None = None, readiness: list[str] | None = None,
            starts: list[str] | None = None, phases: list[str] | None = None,
            deleting: list[bool] | None = None, pod_names: list[str] | None = None,
            tolerances: tuple[str, str] | None = None, resource: str = "cpu",
            container: str | None = None) -> dict[str, Any]:
    n = max(current, len(phases or []))
    pods = []
    for i in range(n):
        pods.append(pod(i, requests[i] if i < len(requests) else None,
                        ready=(readiness or [])[i] if readiness and i < len(readiness) else "True",
                        start=(starts or [ZERO] * n)[i], phase=(phases or ["Running"] * n)[i],
                        deleting=(deleting or [False] * n)[i], split=False, transition=None,
                        resource=resource))
    tgt: dict[str, Any] = ({"type": "Utilization", "averageUtilization": target}
                           if target is not None else {"type": "AverageValue",
                                                       "averageValue": average})
    if container:
        metric = {"type": "ContainerResource", "containerResource": {
            "name": resource, "container": container, "target": tgt}}
    else:
        metric = {"type": "Resource", "resource": {"name": resource, "target": tgt}}
    behavior = None
    controller = {"tolerance": 0.1, "cpuInitializationPeriod": "2m",
                  "initialReadinessDelay": "10s", "kubeVersion": "1.35"}
    if tolerances is not None:
        behavior = {"scaleDown": {"tolerance": tolerances[0]},
                    "scaleUp": {"tolerance": tolerances[1]}}
    return case(hpa_obj=hpa([metric], min_replicas=1, max_replicas=1000, behavior=behavior),
                scale_obj=scale(current), pods=pods, controller=controller,
                metrics=pod_metrics(levels, split=False, timestamp=ZERO, resource=resource,
                                    names=pod_names),
                history={"recommendations": []})


def first_metric(result: dict[str, Any]) -> dict[str, Any]:
    metric: dict[str, Any] = result["trace"]["metrics"][0]
    return metric


# name, case kwargs, replicas, utilization, raw average (milli)
RESOURCE_CASES: list[tuple[str, dict[str, Any], int, int, int]] = [
    ("scale up", dict(current=3, requests=["1.0"] * 3, levels=[300, 500, 700], target=30),
     5, 50, 2 * 500),
    ("scale up, unready pod scales less",
     dict(current=3, requests=["1.0"] * 3, levels=[300, 500, 700], target=30,
          readiness=["False", "True", "True"]), 4, 60, 2 * 600),
    ("scale up, hot cpu pod scales less",
     dict(current=3, requests=["1.0"] * 3, levels=[300, 500, 700], target=30,
          starts=[HOT, COOL, COOL]), 4, 60, 2 * 600),
    ("no scale, unready pods ignored",
     dict(current=3, requests=["1.0"] * 3, levels=[400, 500, 700], target=30,
          readiness=["True", "False", "False"]), 3, 40, 2 * 400),
    ("no scale, hot cpu pods ignored",
     dict(current=3, requests=["1.0"] * 3, levels=[400, 500, 700], target=30,
          readiness=["True", "False", "False"], starts=[COOL, HOT, HOT]), 3, 40, 2 * 400),
    ("scale up ignores failed pods",
     dict(current=2, requests=["1.0"] * 4, levels=[500, 700], target=30,
          readiness=["True", "True", "False", "False"],
          phases=["Running", "Running", "Failed", "Failed"]), 4, 60, 2 * 600),
    ("scale up ignores pods being deleted",
     dict(current=2, requests=["1.0"] * 4, levels=[500, 700], target=30,
          readiness=["True", "True", "False", "False"], phases=["Running"] * 4,
          deleting=[False, False, True, True]), 4, 60, 2 * 600),
    ("scale down", dict(current=5, requests=["1.0"] * 5, levels=[100, 300, 500, 250, 250],
                        target=50), 3, 28, 2 * 280),
    ("scale down excludes unready pods",
     dict(current=5, requests=["1.0"] * 5, levels=[100, 300, 500, 250, 250], target=50,
          readiness=["True", "True", "True", "False", "False"]), 2, 30, 2 * 300),
    ("scale down excludes unscheduled (Pending) pods",
     dict(current=5, requests=["1.0"] * 5, levels=[100], target=50,
          readiness=["True", "False", "False", "False", "False"],
          phases=["Running", "Pending", "Pending", "Pending", "Pending"]), 1, 10, 2 * 100),
    ("scale down ignores hot cpu pods",
     dict(current=5, requests=["1.0"] * 5, levels=[100, 300, 500, 250, 250], target=50,
          starts=[COOL, COOL, COOL, HOT, HOT]), 2, 30, 2 * 300),
    ("scale down ignores failed pods",
     dict(current=5, requests=["1.0"] * 7, levels=[100, 300, 500, 250, 250], target=50,
          readiness=["True"] * 5 + ["False"] * 2, phases=["Running"] * 5 + ["Failed"] * 2),
     3, 28, 2 * 280),
    ("succeeded pods are not ignored: they are missing here (master, not [dev])",
     dict(current=2, requests=["1.0"] * 4, levels=[500, 700], target=30,
          readiness=["True", "True", "False", "False"],
          phases=["Running", "Running", "Succeeded", "Succeeded"]), 2, 60, 2 * 600),
    ("within tolerance", dict(current=3, requests=["0.9", "1.0", "1.1"],
                              levels=[1010, 1030, 1020], target=100), 3, 102, 2 * 1020),
    ("superfluous metrics", dict(current=4, requests=["1.0"] * 4,
                                 levels=[4000, 9500, 3000, 7000, 3200, 2000], target=100),
     24, 587, 2 * 5875),
    ("missing metrics scale down", dict(current=4, requests=["1.0"] * 4, levels=[400, 95],
                                        target=100), 3, 24, 495),
    ("missing metrics, no change at exactly the target",
     dict(current=2, requests=["1.0"] * 2, levels=[1000], target=100), 2, 100, 2 * 1000),
    ("missing metrics, no change: adjusted ratio reverses (up)",
     dict(current=2, requests=["1.0"] * 2, levels=[1900], target=100), 2, 190, 2 * 1900),
    ("missing metrics, no change: adjusted proposal not below current (down)",
     dict(current=2, requests=["1.0"] * 2, levels=[600], target=100), 2, 60, 2 * 600),
    ("missing and unready: adjusted ratio reverses",
     dict(current=3, requests=["1.0"] * 3, levels=[100, 450], target=50,
          readiness=["False", "True", "True"]), 3, 45, 2 * 450),
    ("missing and hot cpu: adjusted ratio reverses",
     dict(current=3, requests=["1.0"] * 3, levels=[100, 450], target=50,
          starts=[HOT, COOL, COOL]), 3, 45, 2 * 450),
    ("missing and unready: scale up", dict(current=3, requests=["1.0"] * 3, levels=[100, 2000],
                                           target=50, readiness=["False", "True", "True"]),
     4, 200, 2 * 2000),
    ("missing and hot cpu: scale up",
     dict(current=3, requests=["1.0"] * 3, levels=[100, 2000], target=50,
          readiness=["False", "True", "True"], starts=[HOT, COOL, COOL]), 4, 200, 2 * 2000),
    ("missing and unready: scale down",
     dict(current=4, requests=["1.0"] * 4, levels=[100, 100, 100], target=50,
          readiness=["False", "True", "True", "True"]), 3, 10, 2 * 100),
    ("rolling update with max surge (PR #85027 guard)",
     dict(current=2, requests=["1.0"] * 3, levels=[100, 100], target=50,
          phases=["Running"] * 3), 2, 10, 2 * 100),
    ("computed tolerance: just outside → scale down",
     dict(current=10, levels=[150] * 10, target=56,
          requests=[f"{r}m" for r in (400, 200, 310, 290, 302, 298, 301, 299, 300, 300)]),
     9, 50, 2 * 150),
    ("computed tolerance: just inside → no change",
     dict(current=10, levels=[150] * 10, target=55,
          requests=[f"{r}m" for r in (400, 200, 310, 290, 302, 298, 301, 299, 300, 300)]),
     10, 50, 2 * 150),
    ("outside 0% tolerance", dict(current=3, requests=["0.9", "1.0", "1.1"],
                                  levels=[909, 1010, 1111], target=100, tolerances=("0", "0")),
     4, 101, 2 * 1010),
    ("within 200% scale-up tolerance",
     dict(current=3, requests=["0.9", "1.0", "1.1"], levels=[1890, 1910, 1900], target=100,
          tolerances=("0.1", "2")), 3, 190, 2 * 1900),
    ("outside 8% scale-up tolerance",
     dict(current=3, requests=["0.9", "1.0", "1.1"], levels=[1100, 1080, 1090], target=100,
          tolerances=("2", "0.08")), 4, 109, 2 * 1090),
    ("within 36% scale-down tolerance",
     dict(current=3, requests=["0.9", "1.0", "1.1"], levels=[660, 640, 650], target=100,
          tolerances=("0.36", "0.1")), 3, 65, 2 * 650),
    ("outside 34% scale-down tolerance",
     dict(current=3, requests=["0.9", "1.0", "1.1"], levels=[660, 640, 650], target=100,
          tolerances=("0.34", "0.1")), 2, 65, 2 * 650),
    ("missing pods above a 150% target count at the target (#111433)",
     dict(current=4, requests=["1.0"] * 4, levels=[200, 200], target=150), 3, 20, 2 * 200),
]


@pytest.mark.parametrize(("kwargs", "replicas", "utilization", "raw"),
                         [row[1:] for row in RESOURCE_CASES],
                         ids=[f"s1-2:{row[0]}" for row in RESOURCE_CASES])
def test_resource_utilization_matches_upstream(kwargs: dict[str, Any], replicas: int,
                                               utilization: int, raw: int) -> None:
    metric = first_metric(reconcile(rc_case(**kwargs)))
    assert "error" not in metric, metric.get("error")
    assert metric["proposal"] == replicas
    assert metric["calculation"]["first"]["utilization"] == utilization
    assert metric["calculation"]["first"]["rawAverage"] == raw


def test_computed_tolerance_targets_are_upstreams_numbers__s1_3() -> None:
    # upstream derives the targets: int32((1/(2*(1-0.1)) + .01) * 100) and + .004
    assert int((abs(1 / (2.0 * (1 - 0.1))) + 0.01) * 100) == 56
    assert int((abs(1 / (2.0 * (1 - 0.1))) + 0.004) * 100) == 55


@pytest.mark.parametrize(("kwargs", "replicas", "usage"), [
    (dict(current=3, container="container2", requests=["1.0"] * 3, levels=[300, 500, 700],
          target=30), 5, 50),
    (dict(current=5, container="container2", requests=["1.0"] * 5,
          levels=[100, 300, 500, 250, 250], target=50), 3, 28),
], ids=["s1-4:container up", "s1-4:container down"])
def test_container_resource_uses_one_container__s1_4(kwargs: dict[str, Any], replicas: int,
                                                    usage: int) -> None:
    metric = first_metric(reconcile(rc_case(**kwargs)))
    assert metric["proposal"] == replicas
    assert metric["calculation"]["first"]["utilization"] == usage
    assert metric["description"] == "cpu container resource utilization (percentage of request)"


@pytest.mark.parametrize(("kwargs", "replicas", "average"), [
    (dict(current=3, requests=["1.0"] * 3, levels=[300, 500, 700], average="600m"), 5, 1000),
    (dict(current=5, requests=["1.0"] * 5, levels=[100, 300, 500, 250, 250],
          average="1000m"), 3, 560),
    (dict(current=4, requests=["1.0"] * 4, levels=[400, 95], average="1000m"), 3, 495),
], ids=["s1-2:average up", "s1-2:average down", "s2-2:average missing → target fill"])
def test_resource_average_value_is_the_plain_path__s1_2(kwargs: dict[str, Any], replicas: int,
                                                        average: int) -> None:
    metric = first_metric(reconcile(rc_case(**kwargs)))
    assert metric["proposal"] == replicas
    assert metric["calculation"]["first"]["average"] == average
    assert metric["description"] == "cpu resource"


def test_missing_pods_on_average_value_scale_down_count_as_the_target__s2_2() -> None:
    metric = first_metric(reconcile(rc_case(current=4, requests=["1.0"] * 4, levels=[400, 95],
                                            average="1000m")))
    filled = metric["calculation"]["adjusted"]["filled"]
    assert {f["value"] for f in filled.values()} == {1000}


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(current=1, requests=["1.0"], levels=[100], pod_names=["an-older-pod-name"],
          target=100), "no metrics returned matched known pods"),
    (dict(current=4, requests=["1.0"] * 3, levels=[], target=100),
     "unable to get metrics for resource cpu: no metrics returned from resource metrics API"),
    (dict(current=1, requests=[], levels=[200], target=100),
     "missing request for cpu in container container1 of Pod test-pod-0"),
    (dict(current=2, requests=["1"] * 2, levels=[100, 100], target=50,
          readiness=["False", "False"]),
     "did not receive metrics for targeted pods (pods might be unready)"),
    (dict(current=1, requests=["1.0"], levels=[100], target=100, container="sidecar"),
     "did not receive metrics for targeted pods (pods might be unready)"),
], ids=["s1-5:disjoint", "s6:empty list", "s1-4:no request", "s2-1:all unready",
        "s6:container not in metrics → missing"])
def test_resource_errors_carry_upstream_texts(kwargs: dict[str, Any], message: str) -> None:
    result = reconcile(rc_case(**kwargs))
    metric = first_metric(result)
    assert metric["error"]["message"].endswith(message)
    assert metric["error"]["message"].startswith("failed to get cpu utilization: ")


def test_container_missing_from_the_pod_spec_fails_the_metric__s1_4() -> None:
    c = rc_case(current=1, requests=["1.0"], levels=[100], target=100, container="container2")
    c["pods"][0]["spec"]["containers"][1]["name"] = "renamed"
    metric = first_metric(reconcile(c))
    assert metric["error"]["message"] == ("failed to get cpu utilization: container container2 "
                                          "not found in Pod test-pod-0")
    assert metric["error"]["reason"] == "FailedGetContainerResourceMetric"
    assert metric["error"]["wrapped"].startswith("failed to get container2 container metric "
                                                 "value: ")


def test_tolerance_is_inclusive_at_exactly_1_1__s0() -> None:
    # 330m of 300m → 110 % of a 100 % target: ratio 1.1 == 1 + 0.1 bit for bit → no change
    c = rc_case(current=1, requests=["150m"], levels=[165], target=100)
    metric = first_metric(reconcile(c))
    assert metric["calculation"]["first"]["ratio"] == 1.1
    assert metric["calculation"]["tolerance"]["within"] is True
    assert metric["proposal"] == 1


def test_tolerance_is_inclusive_at_exactly_0_9__s0() -> None:
    c = rc_case(current=2, requests=["1"] * 2, levels=[900, 900], target=100)
    metric = first_metric(reconcile(c))
    assert metric["calculation"]["first"]["ratio"] == 0.9
    assert metric["proposal"] == 2


def test_percent_is_truncated_before_the_ratio__s0() -> None:
    # 990m of 4000m is 24 % (not 24.75 %): ratio 0.24 against a 100 % target
    c = rc_case(current=4, requests=["1"] * 4, levels=[495, 0, 0, 0], target=100)
    first = first_metric(reconcile(c))["calculation"]["first"]
    assert (first["usageSum"], first["requestSum"], first["utilization"]) == (990, 8000, 12)
    c = rc_case(current=1, requests=["1500m"], levels=[1515], target=100)
    first = first_metric(reconcile(c))["calculation"]["first"]
    assert first["utilization"] == 101
    assert first["ratio"] == 1.01


def test_float_order_trap_7_of_3_on_27_pods_gives_64__s0() -> None:
    # utilization 7 %, target 3 %, 27 ready pods: Go computes ceil((7/3)*27) = 64, not 63
    c = rc_case(current=27, requests=["1"] * 27, levels=[70] * 27, target=3)
    metric = first_metric(reconcile(c))
    assert metric["calculation"]["first"]["utilization"] == 7
    assert metric["proposal"] == 64


def test_memory_ignores_readiness_and_reports_binary_si__s2_1() -> None:
    c = rc_case(current=2, requests=["64Mi"] * 2, levels=[50 * 2**20 * 1000] * 2, target=50,
                resource="memory", readiness=["False", "True"], starts=[HOT, HOT])
    result = reconcile(c)
    metric = first_metric(result)
    assert [p["group"] for p in metric["calculation"]["pods"]] == ["ready", "ready"]
    assert metric["calculation"]["first"]["utilization"] == 78
    assert metric["proposal"] == 4
    current = result["status"]["currentMetrics"][0]["resource"]["current"]
    assert current == {"averageValue": "100Mi", "averageUtilization": 78}


# ---------------------------------------------------------------------------- grouping


def _pod(**kw: Any) -> Any:
    case_obj = case(hpa_obj=hpa([{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 50}}}]), scale_obj=scale(1),
        pods=[pod(0, **kw)])
    return parse_case(case_obj).pods[0]


METRIC_NOW = PodMetric(1, NOW_NS, 60 * 10**9)

GROUPING = [
    ("count in a ready pod - memory", dict(phase="Succeeded", start=None), METRIC_NOW,
     "memory", "ready"),
    ("ignore a pod without ready condition - CPU", dict(phase="Succeeded", start=HOT),
     PodMetric(1, NOW_NS, 0), "cpu", "unready:no-ready-condition"),
    ("count a ready pod with fresh metrics during initialization period",
     dict(phase="Succeeded", start=ago(60), transition=ago(30)),
     PodMetric(1, NOW_NS, 30 * 10**9), "cpu", "ready"),
    ("ignore a ready pod without fresh metrics during initialization period",
     dict(phase="Succeeded", start=ago(60), transition=ago(30)),
     PodMetric(1, NOW_NS, 60 * 10**9), "cpu", "unready"),
    ("ignore an unready pod during initialization period",
     dict(phase="Succeeded", start=ago(600), transition=ago(594), ready="False"),
     METRIC_NOW, "cpu", "unready"),
    ("count a ready pod without fresh metrics after initialization period",
     dict(phase="Succeeded", start=ago(180), transition=ago(180)),
     PodMetric(1, NOW_NS - 120 * 10**9, 60 * 10**9), "cpu", "ready"),
    ("count an unready pod that was ready after initialization period",
     dict(phase="Succeeded", start=ago(600), transition=ago(540), ready="False"),
     METRIC_NOW, "cpu", "ready"),
    ("count a pod unready exactly at the readiness delay boundary (After is strict)",
     dict(phase="Succeeded", start=ago(600), transition=ago(590), ready="False"),
     METRIC_NOW, "cpu", "ready"),
    ("pending pods are unready", dict(phase="Pending"), None, "cpu", "unready"),
    ("a missing pod", dict(phase="Succeeded", start=ago(180)), None, "cpu", "missing"),
    ("failed pods are ignored", dict(phase="Failed"), METRIC_NOW, "cpu", "ignored"),
    ("deleted pods are ignored", dict(deleting=True), METRIC_NOW, "cpu", "ignored"),
    ("no start time is unready", dict(start=None), METRIC_NOW, "cpu", "unready"),
]


@pytest.mark.parametrize(("pod_kw", "metric", "resource", "group"),
                         [row[1:] for row in GROUPING], ids=[f"s2-1:{r[0]}" for r in GROUPING])
def test_group_pods_matches_upstream(pod_kw: dict[str, Any], metric: PodMetric | None,
                                     resource: str, group: str) -> None:
    p = _pod(**pod_kw)
    if group == "unready:no-ready-condition":
        p = type(p)(**{**p.__dict__, "ready": None})
        group = "unready"
    metrics = {} if metric is None else {p.name: metric}
    g = group_pods([p], metrics, resource, CPU_INIT, DELAY, NOW_NS)
    assert g.rows[0]["group"] == group, g.rows[0]["reason"]
    assert g.ready_count == (1 if group == "ready" else 0)


def test_tolerances_text_like_go() -> None:
    assert Tolerances(0.1, 0.1).text() == "[down:10.0%, up:10.0%]"
    assert Tolerances(0.05, 0.01).text() == "[down:5.0%, up:1.0%]"


# ------------------------------------------------------------- pods, object, external

QPS = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue"}}}


def custom_case(current: int, metric: dict[str, Any], *, custom: Any = None,
                external: Any = None, readiness: list[str] | None = None,
                starts: list[str] | None = None, status_replicas: int | None = None,
                tolerances: tuple[str, str] | None = None) -> dict[str, Any]:
    pods = [pod(i, "1", ready=(readiness or ["True"] * current)[i],
                start=(starts or [ZERO] * current)[i], transition=None, split=False)
            for i in range(current)]
    behavior = None if tolerances is None else {"scaleDown": {"tolerance": tolerances[0]},
                                                "scaleUp": {"tolerance": tolerances[1]}}
    extra: dict[str, Any] = {}
    if custom is not None:
        extra["customMetrics"] = custom
    if external is not None:
        extra["externalMetrics"] = external
    return case(hpa_obj=hpa([metric], max_replicas=1 << 30, behavior=behavior),
                scale_obj=scale(current, status_replicas), pods=pods,
                controller={"tolerance": 0.1, "cpuInitializationPeriod": "2m",
                            "initialReadinessDelay": "10s"},
                history={"recommendations": []}, **extra)


def pods_values(levels: list[int]) -> dict[str, Any]:
    return {"items": [{"describedObject": {"kind": "Pod", "name": f"test-pod-{i}",
                                           "namespace": "test-namespace"},
                       "metric": {"name": "qps"}, "timestamp": NOW, "value": f"{v}m"}
                      for i, v in enumerate(levels)]}


def pods_metric(target: int) -> dict[str, Any]:
    return {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {
        "type": "AverageValue", "averageValue": f"{target}m"}}}


def object_metric(target: int, average: bool = False) -> dict[str, Any]:
    tgt = ({"type": "AverageValue", "averageValue": f"{target}m"} if average
           else {"type": "Value", "value": f"{target}m"})
    return {"type": "Object", "object": {
        "describedObject": {"apiVersion": "apps/v1", "kind": "Deployment",
                            "name": "some-deployment"},
        "metric": {"name": "qps"}, "target": tgt}}


def object_value(level: int) -> dict[str, Any]:
    return {"items": [{"describedObject": {"kind": "Deployment", "name": "some-deployment",
                                           "apiVersion": "apps/v1"},
                       "metric": {"name": "qps"}, "timestamp": NOW, "value": f"{level}m"}]}


def external_metric(target: int, average: bool = False) -> dict[str, Any]:
    tgt = ({"type": "AverageValue", "averageValue": f"{target}m"} if average
           else {"type": "Value", "value": f"{target}m"})
    return {"type": "External", "external": {
        "metric": {"name": "qps", "selector": {"matchLabels": {"label": "value"}}},
        "target": tgt}}


def external_values(*levels: int) -> dict[str, Any]:
    return {"qps": {"items": [{"metricName": "qps", "timestamp": NOW, "value": f"{v}m"}
                              for v in levels]}}


CUSTOM_CASES: list[tuple[str, dict[str, Any], int, int]] = [
    ("pods: scale up", dict(current=3, metric=pods_metric(15000),
                            custom=pods_values([20000, 10000, 30000])), 4, 20000),
    ("pods: unready and hot pods do not scale less",
     dict(current=3, metric=pods_metric(15000), custom=pods_values([50000, 10000, 30000]),
          readiness=["True", "True", "False"], starts=[COOL, COOL, HOT]), 6, 30000),
    ("pods: would scale down without readiness",
     dict(current=3, metric=pods_metric(15000), custom=pods_values([50000, 15000, 30000]),
          readiness=["False", "True", "False"], starts=[HOT, COOL, HOT]), 7, 31666),
    ("pods: scale down", dict(current=5, metric=pods_metric(20000),
                              custom=pods_values([12000] * 5)), 3, 12000),
    ("pods: within tolerance", dict(current=3, metric=pods_metric(20000),
                                    custom=pods_values([20000, 21000, 21000])), 3, 20666),
    ("pods: rolling update with max surge",
     dict(current=3, metric=pods_metric(17000), custom=pods_values([10000, 10000])), 3, 10000),
    ("object: scale up", dict(current=3, metric=object_metric(15000),
                              custom=object_value(20000)), 4, 20000),
    ("object: ignores unready pods", dict(current=3, metric=object_metric(10000),
                                          custom=object_value(50000),
                                          readiness=["False", "True", "False"]), 5, 50000),
    ("object: scale down", dict(current=5, metric=object_metric(20000),
                                custom=object_value(12000)), 3, 12000),
    ("object: within tolerance", dict(current=3, metric=object_metric(20000),
                                      custom=object_value(20666)), 3, 20666),
    ("object: outside a configurable 1% tolerance",
     dict(current=3, metric=object_metric(20000), custom=object_value(20666),
          tolerances=("0.1", "0.01")), 4, 20666),
    ("object per pod: scale up", dict(current=3, metric=object_metric(5000, True),
                                      custom=object_value(20000)), 4, 6667),
    ("object per pod: scale down", dict(current=5, metric=object_metric(2000, True),
                                        custom=object_value(6000)), 3, 1200),
    ("object per pod: within tolerance", dict(current=4, metric=object_metric(5000, True),
                                              custom=object_value(20166)), 4, 5042),
    ("object per pod: outside 1% tolerance",
     dict(current=4, metric=object_metric(5000, True), custom=object_value(20208),
          tolerances=("0.1", "0.01")), 5, 5052),
    ("object per pod: status.replicas 0 does not overflow",
     dict(current=3, status_replicas=0, metric=object_metric(5000, True),
          custom=object_value(20000)), 4, 0),
    ("external: scale up", dict(current=1, metric=external_metric(4400),
                                external=external_values(8600)), 2, 8600),
    ("external: ignores unready pods", dict(current=3, metric=external_metric(4400),
                                            external=external_values(8600),
                                            readiness=["False", "True", "False"]), 2, 8600),
    ("external: scale down", dict(current=5, metric=external_metric(14334),
                                  external=external_values(8600)), 3, 8600),
    ("external: within tolerance", dict(current=3, metric=external_metric(8888),
                                        external=external_values(8600)), 3, 8600),
    ("external: outside 1% tolerance", dict(current=3, metric=external_metric(8800),
                                            external=external_values(8900),
                                            tolerances=("0.1", "0.01")), 4, 8900),
    ("external: sums the series", dict(current=2, metric=external_metric(1000),
                                       external=external_values(1000, 2000, 3000)), 12, 6000),
    ("external per pod: scale up", dict(current=3, metric=external_metric(2150, True),
                                        external=external_values(8600)), 4, 2867),
    ("external per pod: scale down", dict(current=5, metric=external_metric(2867, True),
                                          external=external_values(8600)), 3, 1720),
    ("external per pod: within tolerance", dict(current=3, metric=external_metric(2900, True),
                                                external=external_values(8600)), 3, 2867),
]


@pytest.mark.parametrize(("kwargs", "replicas", "usage"), [row[1:] for row in CUSTOM_CASES],
                         ids=[f"s1-2:{row[0]}" for row in CUSTOM_CASES])
def test_pods_object_external_match_upstream(kwargs: dict[str, Any], replicas: int,
                                             usage: int) -> None:
    result = reconcile(custom_case(**kwargs))
    metric = first_metric(result)
    assert "error" not in metric, metric.get("error")
    assert metric["proposal"] == replicas
    current = result["status"]["currentMetrics"][0]
    source = current[{"Pods": "pods", "Object": "object", "External": "external"}[
        current["type"]]]["current"]
    assert list(source.values()) == [f"{usage}m" if usage % 1000 else str(usage // 1000)]


def test_object_value_saturates_at_max_int32__s1_2() -> None:
    c = custom_case(3, object_metric(1), custom=object_value(1 << 62))
    assert first_metric(reconcile(c))["proposal"] == (1 << 31) - 1


def test_object_value_from_zero_ignores_tolerance__s1_3() -> None:
    c = custom_case(0, object_metric(1000), custom=object_value(1000))
    c["hpa"]["spec"]["minReplicas"] = 0
    assert first_metric(reconcile(c))["proposal"] == 1
