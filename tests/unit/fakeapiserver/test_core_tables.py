"""Table cells: kubectl's HumanDuration and the pod STATUS / READY / RESTARTS rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakeapiserver.tables import (
    apiservice_available,
    hpa_targets,
    human_duration,
    node_roles,
    node_status,
    pod_status_reason,
)


@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (59, "59s"), (119, "119s"), (120, "2m"),
    (145, "2m25s"), (599, "9m59s"), (600, "10m"), (179 * 60 + 59, "179m"), (3 * 3600, "3h"),
    (3 * 3600 + 5 * 60, "3h5m"), (8 * 3600, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"),
    (5 * 86400 + 3 * 3600, "5d3h"), (8 * 86400, "8d"), (729 * 86400, "729d"),
    (2 * 365 * 86400 + 3 * 86400, "2y3d"), (9 * 365 * 86400, "9y"),
])
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


@given(st.integers(min_value=0, max_value=20 * 365 * 86400))
def test_human_duration_is_a_short_number_with_units(seconds: int) -> None:
    text = human_duration(seconds)
    assert 2 <= len(text) <= 8 and text[0].isdigit()


def status(*containers: dict, phase: str = "Running", init: tuple[dict, ...] = (),
           deleting: bool = False) -> dict:
    meta = {"name": "p"}
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return {"metadata": meta,
            "spec": {"containers": [{"name": f"c{i}"} for i in range(len(containers))],
                     "initContainers": [{"name": f"i{i}"} for i in range(len(init))]},
            "status": {"phase": phase, "containerStatuses": list(containers),
                       "initContainerStatuses": list(init)}}


RUNNING = {"ready": True, "restartCount": 0, "state": {"running": {}}}
NOT_READY = {"ready": False, "restartCount": 3, "state": {"running": {}},
             "lastState": {"terminated": {"finishedAt": "2025-01-01T00:00:00Z"}}}
CRASH = {"ready": False, "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
OOM = {"ready": False, "restartCount": 0, "state": {"terminated": {"reason": "OOMKilled"}}}
EXIT = {"ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}


@pytest.mark.parametrize(("pod", "expected"), [
    (status(RUNNING), ("Running", 1, 0)),
    (status(RUNNING, NOT_READY), ("Running", 1, 3)),
    (status(CRASH), ("CrashLoopBackOff", 0, 5)),
    (status(OOM), ("OOMKilled", 0, 0)),
    (status(EXIT), ("ExitCode:2", 0, 0)),
    (status(phase="Pending"), ("Pending", 0, 0)),
    (status(RUNNING, deleting=True), ("Terminating", 1, 0)),
    (status(init=({"restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}},),
            phase="Pending"), ("Init:0/1", 0, 0)),
    (status(init=({"restartCount": 1, "state": {"terminated": {"exitCode": 1}}},),
            phase="Pending"), ("Init:ExitCode:1", 0, 1)),
])
def test_pod_status(pod: dict, expected: tuple[str, int, int]) -> None:
    reason, ready, restarts, _ = pod_status_reason(pod)
    assert (reason, ready, restarts) == expected


def test_node_and_apiservice_cells() -> None:
    node = {"metadata": {"labels": {"node-role.kubernetes.io/control-plane": "",
                                    "node-role.kubernetes.io/": "", "kubernetes.io/role": "x"}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    assert node_status(node) == "NotReady,SchedulingDisabled"
    assert node_roles(node) == "control-plane,x"
    assert node_status({"status": {}}) == "Unknown" and node_roles({}) == "<none>"
    cond = {"type": "Available", "status": "False", "reason": "MissingEndpoints"}
    assert apiservice_available({"status": {"conditions": [cond]}}) == "False (MissingEndpoints)"
    assert apiservice_available({}) == "Unknown"
    cond = {"type": "Available", "status": "True", "reason": "Passed"}
    assert apiservice_available({"status": {"conditions": [cond]}}) == "True"


def hpa(metrics: list[dict], current: list[dict]) -> dict:
    return {"metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1,
                     "maxReplicas": 5, "metrics": metrics},
            "status": {"currentReplicas": 2, "currentMetrics": current}}


CPU = {"type": "Resource", "resource": {"name": "cpu", "target": {
    "type": "Utilization", "averageUtilization": 80}}}
MEM = {"type": "Resource", "resource": {"name": "memory", "target": {
    "type": "AverageValue", "averageValue": "200Mi"}}}
PODS = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {
    "type": "AverageValue", "averageValue": "20"}}}


@pytest.mark.parametrize(("metrics", "current", "named", "text"), [
    ([CPU], [], True, "cpu: <unknown>/80%"),
    ([CPU], [], False, "<unknown>/80%"),
    ([CPU], [{"type": "Resource", "resource": {"name": "cpu", "current": {
        "averageUtilization": 50, "averageValue": "100m"}}}], True, "cpu: 50%/80%"),
    ([MEM, PODS], [{"type": "Resource", "resource": {"name": "memory", "current": {
        "averageValue": "100Mi"}}}, {"type": "Pods", "pods": {"current": {
            "averageValue": "30"}}}], True, "memory: 100Mi/200Mi, 30/20"),
    ([CPU, MEM, PODS], [], True, "cpu: <unknown>/80%, memory: <unknown>/200Mi + 1 more..."),
    ([], [], True, "<none>"),
    # a metric that failed is written as {type: ""}: unknown, as printers.go shows it
    ([CPU, PODS], [{"type": ""}, {"type": ""}], True, "cpu: <unknown>/80%, <unknown>/20"),
    ([{"type": "Frob"}, CPU], [], True, "<unknown type>, cpu: <unknown>/80%"),
])
def test_hpa_targets(metrics: list[dict], current: list[dict], named: bool, text: str) -> None:
    assert hpa_targets(hpa(metrics, current), named) == text


@pytest.mark.parametrize(("version", "text"), [((1, 29), "<unknown>/80%"),
                                               ((1, 30), "cpu: <unknown>/80%"),
                                               ((1, 33), "cpu: <unknown>/80%")])
def test_hpa_targets_name_the_resource_from_1_30(version: tuple[int, int], text: str) -> None:
    """kubernetes PR #122804 (CHANGELOG-1.30, v1.30.0-alpha.2) added the resource name."""
    from fakeapiserver.kinds import REGISTRY
    from fakeapiserver.tables import printer_for

    kind = REGISTRY.by_resource("autoscaling", "v2", "horizontalpodautoscalers")
    assert kind is not None
    _, row = printer_for(kind, version)
    assert row(hpa([CPU], []), 0.0)[2] == text
