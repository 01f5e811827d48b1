"""The experiment's Kubernetes objects: Deployment and HPA checks, and the facts read from
them (scenarios.experiment.objects)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scenarios.experiment.objects import (
    deployment_problems,
    hpa_problems,
    per_pod_target,
    workload_of,
)

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "php-apache"},
    "spec": {"selector": {"matchLabels": {"run": "php-apache"}},
             "template": {"metadata": {"labels": {"run": "php-apache"}},
                          "spec": {"containers": [{
                              "name": "php-apache", "image": "registry.k8s.io/hpa-example",
                              "resources": {"limits": {"cpu": "500m"},
                                            "requests": {"cpu": "200m"}}}]}}},
}
HPA: dict[str, Any] = {
    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "php-apache"},
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                "name": "php-apache"},
             "minReplicas": 1, "maxReplicas": 10,
             "metrics": [{"type": "Resource", "resource": {
                 "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]},
}


def changed(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    node: Any = out
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    last = keys[-1]
    if value is _DELETE:
        del node[int(last) if last.isdigit() else last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return out


_DELETE = object()
C0 = "spec.template.spec.containers.0"


def test_the_walkthrough_deployment_is_valid() -> None:
    assert deployment_problems(DEPLOYMENT) == []


@pytest.mark.parametrize(("path", "value", "problem"), [
    ("apiVersion", "apps/v1beta1", ("apiVersion", "expected apps/v1, got 'apps/v1beta1'")),
    ("kind", "StatefulSet", ("kind", "expected Deployment, got 'StatefulSet'")),
    ("metadata.name", "PHP", ("metadata.name", 'Invalid value: "PHP": a lowercase RFC 1123 '
                              "subdomain must consist of lower case alphanumeric characters, "
                              "'-' or '.', and must start and end with an alphanumeric "
                              "character")),
    ("spec.selector", _DELETE, ("spec.selector", "Required value")),
    ("spec.replicas", -1, ("spec.replicas", "Invalid value: -1: must be greater than or equal "
                           "to 0")),
    ("spec.template.metadata.labels", {"run": "other"},
     ("spec.template.metadata.labels",
      "Invalid value: map[run:other]: `selector` does not match template `labels`")),
    ("spec.template.spec.containers", [], ("spec.template.spec.containers", "Required value")),
    (f"{C0}.image", "", ("spec.template.spec.containers[0].image", "Required value")),
    (f"{C0}.resources.requests.cpu", "2OOm",
     ("spec.template.spec.containers[0].resources.requests.cpu",
      'Invalid value: "2OOm": quantities must match the regular expression '
      "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")),
    (f"{C0}.resources.requests.cpu", "600m",
     ("spec.template.spec.containers[0].resources.requests",
      'Invalid value: "600m": must be less than or equal to cpu limit of 500m')),
    (f"{C0}.readinessProbe", {"initialDelaySeconds": "60"},
     ("spec.template.spec.containers[0].readinessProbe.initialDelaySeconds",
      "expected an integer, got '60'")),
    (f"{C0}.readinessProbe", {"periodSeconds": 0},
     ("spec.template.spec.containers[0].readinessProbe.periodSeconds",
      "Invalid value: 0: must be greater than or equal to 1")),
])
def test_deployment_problems(path: str, value: Any, problem: tuple[str, str]) -> None:
    assert deployment_problems(changed(DEPLOYMENT, path, value))[0] == problem


def test_duplicate_container_names() -> None:
    bad = changed(DEPLOYMENT, "spec.template.spec.containers",
                  [DEPLOYMENT["spec"]["template"]["spec"]["containers"][0]] * 2)
    assert deployment_problems(bad) == [("spec.template.spec.containers[1].name",
                                         'Duplicate value: "php-apache"')]


def test_workload_facts() -> None:
    w = workload_of(DEPLOYMENT)
    assert (w.name, w.namespace, w.labels, w.replicas) == ("php-apache", "default",
                                                           {"run": "php-apache"}, 1)
    assert (w.cpu_request, w.cpu_limit) == (0.2, 0.5)


def test_workload_facts_with_a_sidecar_and_no_limit() -> None:
    d = changed(DEPLOYMENT, "spec.template.spec.initContainers", [
        {"name": "proxy", "image": "envoy", "restartPolicy": "Always",
         "resources": {"requests": {"cpu": "50m"}}},
        {"name": "migrate", "image": "tool", "resources": {"requests": {"cpu": "1"}}}])
    w = workload_of(d)
    assert w.cpu_request == pytest.approx(0.25)  # the sidecar counts, the init container not
    assert w.cpu_limit is None                   # the sidecar has no limit
    only_limit = changed(DEPLOYMENT, f"{C0}.resources", {"limits": {"cpu": "1"}})
    assert workload_of(only_limit).cpu_request == 1.0  # the API defaults a request to the limit


def test_the_walkthrough_hpa_is_valid() -> None:
    assert hpa_problems(HPA) == []


@pytest.mark.parametrize(("path", "value", "problem"), [
    ("spec.minReplicas", 0, ("spec.minReplicas",
                             "Invalid value: 0: must be greater than or equal to 1")),
    ("spec.maxReplicas", 0, ("spec.maxReplicas", "Invalid value: 0: must be greater than 0")),
    ("spec.maxReplicas", "ten", ("spec.maxReplicas", "expected an integer, got the string 'ten'")),
    ("apiVersion", "autoscaling/v1", ("apiVersion", "expected autoscaling/v2, got the string "
                                                    "'autoscaling/v1'")),
    ("spec.behavior", {"scaleUp": {"policies": []}},
     ("spec.behavior.scaleUp.policies", "Required value: must specify at least one Policy")),
])
def test_hpa_problems(path: str, value: Any, problem: tuple[str, str]) -> None:
    assert hpa_problems(changed(HPA, path, value))[0] == problem


@pytest.mark.parametrize(("target", "per_pod"), [
    ({"type": "Utilization", "averageUtilization": 50}, 0.1),
    ({"type": "Utilization", "averageUtilization": 80}, 0.16),
    ({"type": "AverageValue", "averageValue": "150m"}, 0.15),
])
def test_per_pod_target(target: dict[str, Any], per_pod: float) -> None:
    hpa = changed(HPA, "spec.metrics.0.resource.target", target)
    assert per_pod_target(hpa, workload_of(DEPLOYMENT)) == pytest.approx(per_pod)


def test_no_per_pod_target_without_a_cpu_metric() -> None:
    memory = changed(HPA, "spec.metrics.0.resource.name", "memory")
    assert per_pod_target(memory, workload_of(DEPLOYMENT)) is None
    no_request = changed(DEPLOYMENT, f"{C0}.resources", {})
    assert per_pod_target(HPA, workload_of(no_request)) is None
    # no metrics: the API's default, cpu at 80 %
    default = changed(HPA, "spec.metrics", _DELETE)
    assert per_pod_target(default, workload_of(DEPLOYMENT)) == pytest.approx(0.16)
