"""The API server's validation of an HPA (upstream validation.go), with field.Error texts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from podautoscaler import validate_hpa

from .builders import cpu_metric, hpa


def spec(**changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(hpa([cpu_metric(50)], min_replicas=1, max_replicas=5))
    obj["spec"].update(changes)
    return obj


def texts(obj: dict[str, Any], **kw: Any) -> list[str]:
    return [e.text for e in validate_hpa(obj, **kw)]


def test_a_valid_hpa_has_no_errors() -> None:
    assert texts(spec()) == []


CASES = [
    ("minReplicas 0", dict(minReplicas=0),
     "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"),
    ("maxReplicas 0", dict(maxReplicas=0, minReplicas=None),
     "spec.maxReplicas: Invalid value: 0: must be greater than 0"),
    ("max below min", dict(minReplicas=3, maxReplicas=2),
     "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"),
    ("no kind", dict(scaleTargetRef={"name": "x"}), "spec.scaleTargetRef.kind: Required value"),
    ("bad name", dict(scaleTargetRef={"kind": "Deployment", "name": "a/b"}),
     "spec.scaleTargetRef.name: Invalid value: \"a/b\": may not contain '/'"),
    ("unknown metric type", dict(metrics=[{"type": "CheddarCheese"}]),
     'spec.metrics[0].type: Unsupported value: "CheddarCheese": supported values: '
     '"ContainerResource", "External", "Object", "Pods", "Resource"'),
    ("both targets", dict(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 50, "averageValue": "100m"}}}]),
     "spec.metrics[0].resource.target.averageValue: Forbidden: may not set both a target raw "
     "value and a target utilization"),
    ("no target", dict(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization"}}}]),
     "spec.metrics[0].resource.target.averageUtilization: Required value: must set either a "
     "target raw value or a target utilization"),
    ("utilization 0", dict(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 0}}}]),
     "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater "
     "than 0"),
    ("negative average", dict(metrics=[{"type": "Resource", "resource": {"name": "memory",
                                                                         "target": {
        "type": "AverageValue", "averageValue": "-1"}}}]),
     'spec.metrics[0].resource.target.averageValue: Invalid value: "-1": must be positive'),
    ("bad target type", dict(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Percent", "averageUtilization": 50}}}]),
     'spec.metrics[0].resource.target.type: Invalid value: "Percent": must be either '
     'Utilization, Value, or AverageValue'),
    ("container missing", dict(metrics=[{"type": "ContainerResource", "containerResource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]),
     "spec.metrics[0].containerResource.container: Required value: must specify a container"),
    ("pods without averageValue", dict(metrics=[{"type": "Pods", "pods": {
        "metric": {"name": "qps"}, "target": {"type": "Value", "value": "1"}}}]),
     "spec.metrics[0].pods.target.averageValue: Required value: must specify a positive target "
     "averageValue"),
    ("external both", dict(metrics=[{"type": "External", "external": {
        "metric": {"name": "qps"}, "target": {"type": "Value", "value": "1",
                                              "averageValue": "1"}}}]),
     "spec.metrics[0].external.target.value: Forbidden: may not set both a target value for "
     "metric and a per-pod target"),
    ("two sources", dict(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 50}}, "pods": {"metric": {"name": "q"}}}]),
     "spec.metrics[0].pods: Forbidden: must populate the given metric source only"),
    ("window too long", dict(behavior={"scaleDown": {"stabilizationWindowSeconds": 3601}}),
     "spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 3601: must be less "
     "than or equal to 3600"),
    ("negative window", dict(behavior={"scaleUp": {"stabilizationWindowSeconds": -1}}),
     "spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: -1: must be greater "
     "than or equal to zero"),
    ("bad select policy", dict(behavior={"scaleUp": {"selectPolicy": "Most"}}),
     'spec.behavior.scaleUp.selectPolicy: Unsupported value: "Most": supported values: '
     '"Disabled", "Max", "Min"'),
    ("empty policies", dict(behavior={"scaleUp": {"policies": []}}),
     "spec.behavior.scaleUp.policies: Required value: must specify at least one Policy"),
    ("policy value 0", dict(behavior={"scaleDown": {"policies": [
        {"type": "Pods", "value": 0, "periodSeconds": 15}]}}),
     "spec.behavior.scaleDown.policies[0].value: Invalid value: 0: must be greater than zero"),
    ("policy period too long", dict(behavior={"scaleDown": {"policies": [
        {"type": "Pods", "value": 1, "periodSeconds": 1801}]}}),
     "spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 1801: must be less "
     "than or equal to 1800"),
    ("policy type", dict(behavior={"scaleDown": {"policies": [
        {"type": "Replicas", "value": 1, "periodSeconds": 1}]}}),
     'spec.behavior.scaleDown.policies[0].type: Unsupported value: "Replicas": supported '
     'values: "Percent", "Pods"'),
    ("negative tolerance", dict(behavior={"scaleUp": {"tolerance": "-0.1"}}),
     'spec.behavior.scaleUp.tolerance: Invalid value: "-0.1": must be greater than or equal '
     'to zero'),
]


@pytest.mark.parametrize(("changes", "text"), [c[1:] for c in CASES],
                         ids=[f"s3-1:{c[0]}" for c in CASES])
def test_validation_errors(changes: dict[str, Any], text: str) -> None:
    obj = spec(**{k: v for k, v in changes.items() if v is not None})
    for k, v in changes.items():
        if v is None:
            obj["spec"].pop(k, None)
    assert text in texts(obj)


def test_scale_to_zero_needs_the_gate_and_an_object_or_external_metric__s3_1() -> None:
    obj = spec(minReplicas=0)
    assert texts(obj, scale_to_zero=True) == [
        "spec.metrics: Forbidden: must specify at least one Object or External metric to "
        "support scaling to zero replicas"]


def test_errors_carry_their_path_for_line_lookup() -> None:
    errors = validate_hpa(spec(minReplicas=0))
    assert errors[0].path == "spec.minReplicas"
