"""kube-apiserver's validation of API clients' writes: 422 Invalid, one cause per field error,
for the fields the control plane's code relies on; harness writes are not validated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fakeapiserver.store import ApiError
from tests.unit.fakeapiserver.typed_support import make_store, set_path, snapshot, valid

Obj = dict[str, Any]
C = "spec.template.spec.containers[0]"
SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
             "characters, '-' or '.', and must start and end with an alphanumeric character "
             "(e.g. 'example.com', regex used for validation is "
             r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
         "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
         "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
NAME_PART = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must "
             "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
             "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?"
             "[A-Za-z0-9]')")


def edit(path: str, value: Any) -> Callable[[Obj], None]:
    def apply(obj: Obj) -> None:
        set_path(obj, path, value)
    return apply


def drop(path: str) -> Callable[[Obj], None]:
    def apply(obj: Obj) -> None:
        *parents, last = path.split(".")
        cur: Any = obj
        for part in parents:
            cur = cur[int(part)] if isinstance(cur, list) else cur[part]
        del cur[last]
    return apply


def both(*edits: Callable[[Obj], None]) -> Callable[[Obj], None]:
    def apply(obj: Obj) -> None:
        for e in edits:
            e(obj)
    return apply


T = "spec.template.spec.containers.0"
# (kind, edit of the valid object, the field errors as kube-apiserver prints them)
CASES: list[tuple[str, Callable[[Obj], None], list[str]]] = [
    ("deployments", edit("spec.replicas", -1),
     ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]),
    ("deployments", edit("spec.template.metadata.labels", {"app": "other"}),
     ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: '
      "`selector` does not match template `labels`"]),
    ("deployments", drop("spec.selector"),
     ["spec.selector: Required value",
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
      "`selector` does not match template `labels`"]),
    ("deployments", edit("spec.selector", {}),
     ["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
      "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for "
      "deployment"]),
    ("deployments", edit("spec.selector.matchExpressions", [{"key": "app",
                                                             "operator": "Within"}]),
     ['spec.selector.matchExpressions[0].operator: Invalid value: "Within": not a valid '
      "selector operator",
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":'
      '"web"}, MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{'
      'Key:"app", Operator:"Within", Values:[]string(nil)}}}: invalid label selector']),
    ("deployments", edit("metadata.name", "Web_1"),
     [f'metadata.name: Invalid value: "Web_1": {SUBDOMAIN}']),
    ("deployments", edit("metadata.labels", {"bad key": "x"}),
     [f'metadata.labels: Invalid value: "bad key": {NAME_PART}']),
    ("deployments", edit("metadata.labels", {"app": "-x"}),
     ['metadata.labels: Invalid value: "-x": a valid label must be an empty string or consist '
      "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
      "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
      "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]),
    ("deployments", edit("metadata.annotations", {"a/b/c": "x"}),
     ['metadata.annotations: Invalid value: "a/b/c": a qualified name must consist of '
      "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
      "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
      "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and "
      "'/' (e.g. 'example.com/MyName')"]),
    ("deployments", edit("metadata.ownerReferences", [{"apiVersion": "apps/v1",
                                                       "kind": "ReplicaSet", "name": "x"}]),
     ['metadata.ownerReferences.uid: Invalid value: "": uid must not be empty']),
    ("deployments", edit("spec.template.spec.containers", []),
     ["spec.template.spec.containers: Required value"]),
    ("deployments", edit(f"{T}.name", "Web"), [f'{C}.name: Invalid value: "Web": {LABEL}']),
    ("deployments", lambda o: o["spec"]["template"]["spec"]["containers"].append(
        {"name": "web", "image": "x"}),
     ['spec.template.spec.containers[1].name: Duplicate value: "web"']),
    ("deployments", drop(f"{T}.image"), [f"{C}.image: Required value"]),
    ("deployments", edit(f"{T}.ports.0.containerPort", 70000),
     [f"{C}.ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, "
      "inclusive"]),
    ("deployments", edit(f"{T}.ports.0.protocol", "HTTP"),
     [f'{C}.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", '
      '"UDP"']),
    ("deployments", edit(f"{T}.env.0.name", "1MODE"),
     [f'{C}.env[0].name: Invalid value: "1MODE": a valid environment variable name must '
      "consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a "
      "digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for "
      "validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"]),
    ("deployments", edit(f"{T}.resources.requests.cpu", "2"),
     [f'{C}.resources.requests: Invalid value: "2": must be less than or equal to cpu limit '
      "of 1"]),
    ("deployments", edit(f"{T}.resources.requests.memory", "0.5Gi"),
     [f'{C}.resources.requests: Invalid value: "512Mi": must be less than or equal to memory '
      "limit of 128Mi"]),
    ("deployments", edit(f"{T}.resources", {"limits": {"cpu": "-500m"}}),
     [f'{C}.resources.limits[cpu]: Invalid value: "-500m": must be greater than or equal to '
      "0"]),
    ("deployments", edit(f"{T}.readinessProbe", {"periodSeconds": 5}),
     [f"{C}.readinessProbe: Required value: must specify a handler type"]),
    ("deployments", edit(f"{T}.livenessProbe.failureThreshold", -3),
     [f"{C}.livenessProbe.failureThreshold: Invalid value: -3: must be greater than or equal "
      "to 0"]),
    ("deployments", edit(f"{T}.livenessProbe.successThreshold", 2),
     [f"{C}.livenessProbe.successThreshold: Invalid value: 2: must be 1"]),
    ("deployments", edit(f"{T}.readinessProbe.httpGet.port", 0),
     [f"{C}.readinessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, "
      "inclusive"]),
    ("deployments", edit(f"{T}.volumeMounts.0.name", "data"),
     [f'{C}.volumeMounts[0].name: Not found: "data"']),
    ("deployments", edit("spec.template.spec.restartPolicy", "Never"),
     ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: '
      '"Always"']),
    ("deployments", edit("spec.template.spec.tolerations.0.effect", "NoRun"),
     ['spec.template.spec.tolerations[0].effect: Unsupported value: "NoRun": supported '
      'values: "NoSchedule", "PreferNoSchedule", "NoExecute"']),
    ("deployments", edit("spec.strategy.rollingUpdate", {"maxSurge": 0, "maxUnavailable": 0}),
     ["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, "
      'IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0']),
    ("deployments", edit("spec.strategy.rollingUpdate.maxUnavailable", "120%"),
     ["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, "
      'IntVal:0, StrVal:"120%"}: must not be greater than 100%']),
    ("deployments", edit("spec.strategy.rollingUpdate.maxSurge", "lots"),
     ["spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, "
      "IntVal:0, StrVal:\"lots\"}: a valid percent string must be a numeric string followed "
      "by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"]),
    ("deployments", edit("spec.strategy", {"type": "Rolling"}),
     ['spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"Rolling", '
      "RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", "
      '"RollingUpdate"']),
    ("deployments", edit("spec.progressDeadlineSeconds", 0),
     ["spec.progressDeadlineSeconds: Invalid value: 0: must be greater than minReadySeconds"]),
    ("replicasets", edit("spec.replicas", -2),
     ["spec.replicas: Invalid value: -2: must be greater than or equal to 0"]),
    ("replicasets", edit("spec.selector", {}),
     ["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
      "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for "
      "deployment"]),
    ("pods", edit("spec.restartPolicy", "Sometimes"),
     ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
      '"OnFailure", "Never"']),
    ("services", drop("spec.ports"), ["spec.ports: Required value"]),
    ("services", edit("spec.ports", [{"port": 80}, {"port": 443}]),
     ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"]),
    ("services", edit("spec.ports.0.port", 0),
     ["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"]),
    ("services", edit("spec.type", "Internal"),
     ['spec.type: Unsupported value: "Internal": supported values: "ClusterIP", '
      '"ExternalName", "LoadBalancer", "NodePort"']),
    ("horizontalpodautoscalers", edit("spec.minReplicas", 0),
     ["spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"]),
    ("horizontalpodautoscalers", edit("spec.maxReplicas", 0),
     ["spec.maxReplicas: Invalid value: 0: must be greater than 0",
      "spec.maxReplicas: Invalid value: 0: must be greater than or equal to `minReplicas`"]),
    ("horizontalpodautoscalers", edit("spec.scaleTargetRef.name", ""),
     ["spec.scaleTargetRef.name: Required value"]),
    ("horizontalpodautoscalers", edit("spec.metrics.0.resource.target.averageUtilization", 0),
     ["spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater "
      "than 0"]),
    ("horizontalpodautoscalers", edit("spec.metrics.1.pods.target.averageValue", "0"),
     ["spec.metrics[1].pods.target.averageValue: Invalid value: resource.Quantity{i:resource."
      "int64Amount{value:0, scale:0}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"0\", "
      'Format:"DecimalSI"}: must be positive']),
    ("horizontalpodautoscalers", edit("spec.metrics.0.type", "Cpu"),  # (said twice upstream)
     ['spec.metrics[0].type: Unsupported value: "Cpu": supported values: '
      '"ContainerResource", "External", "Object", "Pods", "Resource"'] * 2),
    ("horizontalpodautoscalers", edit("spec.metrics.0.resource.target", {"type": "Utilization"}),
     ["spec.metrics[0].resource.target.averageUtilization: Required value: must set either a "
      "target raw value or a target utilization"]),
    ("horizontalpodautoscalers", edit("spec.behavior.scaleDown.policies.0.periodSeconds", 3600),
     ["spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 3600: must be less "
      "than or equal to 1800"]),
    ("horizontalpodautoscalers", edit("spec.behavior.scaleDown.stabilizationWindowSeconds", -1),
     ["spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: -1: must be greater "
      "than or equal to zero"]),
    ("horizontalpodautoscalers", edit("spec.behavior.scaleUp.selectPolicy", "Maximum"),
     ['spec.behavior.scaleUp.selectPolicy: Unsupported value: "Maximum": supported values: '
      '"Disabled", "Max", "Min"']),
    ("horizontalpodautoscalers", edit("spec.behavior.scaleUp.policies.0.type", "Seconds"),
     ['spec.behavior.scaleUp.policies[0].type: Unsupported value: "Seconds": supported values:'
      ' "Percent", "Pods"']),
    ("horizontalpodautoscalers", edit("spec.behavior.scaleUp.policies.0.value", 0),
     ["spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero"]),
    ("apiservices", edit("spec.version", "v1"),
     ['metadata.name: Invalid value: "v1beta1.metrics.k8s.io": must be `spec.version+"."+'
      'spec.group`: "v1.metrics.k8s.io"']),
    ("apiservices", edit("spec.groupPriorityMinimum", 0),
     ["spec.groupPriorityMinimum: Invalid value: 0: must be positive and less than 20000"]),
    ("apiservices", edit("spec.caBundle", "LS0tLS1CRUdJTg=="),
     ["spec.insecureSkipTLSVerify: Invalid value: true: may not be true if caBundle is "
      "present"]),
    ("apiservices", edit("spec.service.port", 0),
     ["spec.service.port: Invalid value: 0: port is not valid: must be between 1 and 65535, "
      "inclusive"]),
    ("nodes", edit("spec.taints.0.effect", "NoRun"),
     ['spec.taints[0].effect: Unsupported value: "NoRun": supported values: "NoSchedule", '
      '"PreferNoSchedule", "NoExecute"']),
    ("poddisruptionbudgets", edit("spec.minAvailable", "150%"),
     ["spec.minAvailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"
      '"150%"}: must not be greater than 100%']),
    ("configmaps", edit("data", {"bad key": "x"}),
     ['data[bad key]: Invalid value: "bad key": a valid config key must consist of '
      "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
      "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"]),
]
GROUP_KIND = {"deployments": ("apps", "Deployment"), "replicasets": ("apps", "ReplicaSet"),
              "pods": ("", "Pod"), "services": ("", "Service"),
              "horizontalpodautoscalers": ("autoscaling", "HorizontalPodAutoscaler"),
              "apiservices": ("apiregistration.k8s.io", "APIService"), "nodes": ("", "Node"),
              "poddisruptionbudgets": ("policy", "PodDisruptionBudget"),
              "configmaps": ("", "ConfigMap")}


@pytest.mark.parametrize(("plural", "change", "errors"), CASES,
                         ids=[f"{c[0]}:{c[2][0][:60]}" for c in CASES])
def test_invalid_objects_get_422_with_causes(plural: str, change: Callable[[Obj], None],
                                             errors: list[str]) -> None:
    store = make_store()
    obj = valid(plural)
    change(obj)
    name = obj["metadata"]["name"]
    group, kind = GROUP_KIND[plural]
    qualified = f"{kind}.{group}" if group else kind
    joined = errors[0] if len(set(errors)) == 1 else "[" + ", ".join(errors) + "]"
    before = snapshot(store)
    with pytest.raises(ApiError) as err, store.api_request():
        store.create(plural, obj, "default")
    status = err.value.status()
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert status["message"] == f'{qualified} "{name}" is invalid: {joined}'
    details = status["details"]
    assert (details.get("group", ""), details["kind"], details["name"]) == (group, kind, name)
    assert [f"{c['field']}: {c['message']}" for c in details["causes"]] == errors
    assert snapshot(store) == before


@pytest.mark.parametrize("plural", sorted(GROUP_KIND))
def test_valid_objects_pass(plural: str) -> None:
    store = make_store()
    with store.api_request():
        store.create(plural, valid(plural), "default")


def test_updates_are_validated_and_selectors_immutable() -> None:
    store = make_store()
    with store.api_request():
        stored = store.create("deployments", valid("deployments"))
    before = snapshot(store)
    with pytest.raises(ApiError) as err, store.api_request():
        store.update("deployments", set_path(stored, "spec.replicas", -1))
    assert err.value.message.endswith("spec.replicas: Invalid value: -1: must be greater than "
                                      "or equal to 0")
    stored = store.get("deployments", "web")
    stored["spec"]["selector"]["matchLabels"]["tier"] = "x"
    stored["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    with pytest.raises(ApiError) as err, store.api_request():
        store.update("deployments", stored)
    assert err.value.message == (
        'Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{'
        'MatchLabels:map[string]string{"app":"web", "tier":"x"}, MatchExpressions:'
        "[]v1.LabelSelectorRequirement(nil)}: field is immutable")
    with pytest.raises(ApiError) as err, store.api_request():
        store.patch("deployments", "web", {"spec": {"replicas": -5}},
                    "application/merge-patch+json", "default")
    assert err.value.code == 422
    assert snapshot(store) == before


def test_hpa_v1_is_validated_in_its_stored_form() -> None:
    store = make_store()
    kind = store.registry.by_kind("autoscaling/v1", "HorizontalPodAutoscaler")
    assert kind is not None
    body = {"metadata": {"name": "web"}, "spec": {
        "scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3,
        "targetCPUUtilizationPercentage": 0}}
    with pytest.raises(ApiError) as err, store.api_request():
        store.create(kind, body, "default")
    assert err.value.message == (
        'HorizontalPodAutoscaler.autoscaling "web" is invalid: spec.metrics[0].resource.target.'
        "averageUtilization: Invalid value: 0: must be greater than 0")


def test_status_writes_validate_the_status() -> None:
    store = make_store()
    with store.api_request():
        stored = store.create("deployments", valid("deployments"))
    stored["status"] = {"replicas": 1, "readyReplicas": 2}
    with pytest.raises(ApiError) as err, store.api_request():
        store.update("deployments", stored, "status")
    assert err.value.message == ('Deployment.apps "web" is invalid: status.readyReplicas: '
                                 "Invalid value: 2: cannot be greater than status.replicas")


def test_harness_writes_are_not_validated_but_names_are() -> None:
    store = make_store()
    store.create("deployments", set_path(valid("deployments"), "spec.replicas", -1))
    with pytest.raises(ApiError) as err:
        store.create("configmaps", {"metadata": {"name": "Bad_Name"}})
    assert err.value.message == f'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid ' \
                                f'value: "Bad_Name": {SUBDOMAIN}'


def test_validation_comes_before_already_exists() -> None:
    store = make_store()
    store.create("deployments", valid("deployments"))
    with pytest.raises(ApiError) as err, store.api_request():
        store.create("deployments", set_path(valid("deployments"), "spec.replicas", -1))
    assert err.value.code == 422
    with pytest.raises(ApiError) as err, store.api_request():
        store.create("deployments", valid("deployments"))
    assert err.value.code == 409
