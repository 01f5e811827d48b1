"""Badly typed values in built-in kinds: refused in kube-apiserver's words for each way they
arrive (create/update body, merge and JSON patch, strategic merge patch, server-side apply),
and the store untouched."""

from __future__ import annotations

from typing import Any

import pytest

from fakeapiserver.store import ApiError
from tests.unit.fakeapiserver.typed_support import make_store, set_path, snapshot, valid

Q = ("quantities must match the regular expression "
     "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
C = "spec.template.spec.containers.0"
# (kind, path, bad value, the decoder's message)
BODY_CASES: list[tuple[str, str, Any, str]] = [
    ("deployments", "spec.replicas", "banana",
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type "
     "int32"),
    ("deployments", "spec.replicas", 1.5, "json: cannot unmarshal number 1.5 into Go struct "
                                          "field DeploymentSpec.spec.replicas of type int32"),
    ("deployments", "spec.replicas", 3_000_000_000,
     "json: cannot unmarshal number 3000000000 into Go struct field DeploymentSpec.spec.replicas"
     " of type int32"),
    ("deployments", "spec", "x", "json: cannot unmarshal string into Go struct field "
                                 "Deployment.spec of type v1.DeploymentSpec"),
    ("deployments", "spec.selector", "app=web", "json: cannot unmarshal string into Go struct "
                                                "field DeploymentSpec.spec.selector of type "
                                                "v1.LabelSelector"),
    ("deployments", "spec.selector.matchLabels.app", 1,
     "json: cannot unmarshal number into Go struct field LabelSelector.spec.selector.matchLabels"
     " of type string"),
    ("deployments", "spec.selector.matchExpressions", {},
     "json: cannot unmarshal object into Go struct field LabelSelector.spec.selector."
     "matchExpressions of type []v1.LabelSelectorRequirement"),
    ("deployments", "spec.template", 5, "json: cannot unmarshal number into Go struct field "
                                        "DeploymentSpec.spec.template of type "
                                        "v1.PodTemplateSpec"),
    ("deployments", "spec.template.metadata.labels", "app=web",
     "json: cannot unmarshal string into Go struct field ObjectMeta.spec.template.metadata."
     "labels of type map[string]string"),
    ("deployments", "spec.template.spec.containers", "web",
     "json: cannot unmarshal string into Go struct field PodSpec.spec.template.spec.containers "
     "of type []v1.Container"),
    ("deployments", C, 5, "json: cannot unmarshal number into Go struct field PodSpec.spec."
                          "template.spec.containers of type v1.Container"),
    ("deployments", f"{C}.name", 5, "json: cannot unmarshal number into Go struct field "
                                    "Container.spec.template.spec.containers.name of type "
                                    "string"),
    ("deployments", f"{C}.image", True, "json: cannot unmarshal bool into Go struct field "
                                        "Container.spec.template.spec.containers.image of type "
                                        "string"),
    ("deployments", f"{C}.args", "--port=1", "json: cannot unmarshal string into Go struct "
                                             "field Container.spec.template.spec.containers."
                                             "args of type []string"),
    ("deployments", f"{C}.args", [5], "json: cannot unmarshal number into Go struct field "
                                      "Container.spec.template.spec.containers.args of type "
                                      "string"),
    ("deployments", f"{C}.ports.0.containerPort", "8080",
     "json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec."
     "containers.ports.containerPort of type int32"),
    ("deployments", f"{C}.ports.0.protocol", 6,
     "json: cannot unmarshal number into Go struct field ContainerPort.spec.template.spec."
     "containers.ports.protocol of type v1.Protocol"),
    ("deployments", f"{C}.env.0.value", 5, "json: cannot unmarshal number into Go struct "
                                           "field EnvVar.spec.template.spec.containers.env."
                                           "value of type string"),
    ("deployments", f"{C}.resources.limits.cpu", "lots", Q),
    ("deployments", f"{C}.resources.requests", "1",
     "json: cannot unmarshal string into Go struct field ResourceRequirements.spec.template."
     "spec.containers.resources.requests of type v1.ResourceList"),
    ("deployments", f"{C}.readinessProbe.httpGet.port", True,
     "json: cannot unmarshal bool into Go value of type int32"),
    ("deployments", f"{C}.readinessProbe.periodSeconds", "5",
     "json: cannot unmarshal string into Go struct field Probe.spec.template.spec.containers."
     "readinessProbe.periodSeconds of type int32"),
    ("deployments", "spec.strategy.rollingUpdate.maxSurge", 1.5,
     "json: cannot unmarshal number 1.5 into Go value of type int32"),
    ("deployments", "spec.paused", "yes", "json: cannot unmarshal string into Go struct field "
                                          "DeploymentSpec.spec.paused of type bool"),
    ("deployments", "status.replicas", "2", "json: cannot unmarshal string into Go struct "
                                            "field DeploymentStatus.status.replicas of type "
                                            "int32"),
    ("deployments", "metadata.name", 5, "json: cannot unmarshal number into Go struct field "
                                        "ObjectMeta.metadata.name of type string"),
    ("deployments", "metadata.labels", ["app"], "json: cannot unmarshal array into Go struct "
                                                "field ObjectMeta.metadata.labels of type "
                                                "map[string]string"),
    ("deployments", "metadata.ownerReferences", [{"uid": 7}],
     "json: cannot unmarshal number into Go struct field OwnerReference.metadata."
     "ownerReferences.uid of type types.UID"),
    ("deployments", "metadata.creationTimestamp", 5,
     "json: cannot unmarshal number into Go value of type string"),
    ("deployments", "metadata.creationTimestamp", "yesterday",
     'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as '
     '"2006"'),
    ("replicasets", "spec.replicas", "1", "json: cannot unmarshal string into Go struct field "
                                          "ReplicaSetSpec.spec.replicas of type int32"),
    ("pods", "spec.nodeName", 5, "json: cannot unmarshal number into Go struct field PodSpec."
                                 "spec.nodeName of type string"),
    ("pods", "status.containerStatuses.0.restartCount", "1",
     "json: cannot unmarshal string into Go struct field ContainerStatus.status."
     "containerStatuses.restartCount of type int32"),
    ("pods", "status.conditions.0.lastTransitionTime", "2025-13-01T00:00:00Z",
     'parsing time "2025-13-01T00:00:00Z": month out of range'),
    ("services", "spec.ports.0.port", "443", "json: cannot unmarshal string into Go struct "
                                             "field ServicePort.spec.ports.port of type int32"),
    ("services", "spec.ports.0.targetPort", [8080],
     "json: cannot unmarshal array into Go value of type int32"),
    ("horizontalpodautoscalers", "spec.minReplicas", "1",
     "json: cannot unmarshal string into Go struct field HorizontalPodAutoscalerSpec.spec."
     "minReplicas of type int32"),
    ("horizontalpodautoscalers", "spec.maxReplicas", None, ""),  # null is fine for Go
    ("horizontalpodautoscalers", "spec.metrics.0.type", 5,
     "json: cannot unmarshal number into Go struct field MetricSpec.spec.metrics.type of type "
     "v2.MetricSourceType"),
    ("horizontalpodautoscalers", "spec.metrics.0.resource.target.averageUtilization", "60",
     "json: cannot unmarshal string into Go struct field MetricTarget.spec.metrics.resource."
     "target.averageUtilization of type int32"),
    ("horizontalpodautoscalers", "spec.metrics.1.pods.target.averageValue", "ten", Q),
    ("horizontalpodautoscalers", "spec.behavior.scaleDown.stabilizationWindowSeconds", "300",
     "json: cannot unmarshal string into Go struct field HPAScalingRules.spec.behavior."
     "scaleDown.stabilizationWindowSeconds of type int32"),
    ("horizontalpodautoscalers", "spec.behavior.scaleUp.policies.0.value", 4.5,
     "json: cannot unmarshal number 4.5 into Go struct field HPAScalingPolicy.spec.behavior."
     "scaleUp.policies.value of type int32"),
    ("horizontalpodautoscalers", "spec.scaleTargetRef.name", 5,
     "json: cannot unmarshal number into Go struct field CrossVersionObjectReference.spec."
     "scaleTargetRef.name of type string"),
    ("apiservices", "spec.groupPriorityMinimum", "100",
     "json: cannot unmarshal string into Go struct field APIServiceSpec.spec."
     "groupPriorityMinimum of type int32"),
    ("apiservices", "spec.service.port", "443", "json: cannot unmarshal string into Go struct "
                                                "field ServiceReference.spec.service.port of "
                                                "type int32"),
    ("apiservices", "spec.insecureSkipTLSVerify", "true",
     "json: cannot unmarshal string into Go struct field APIServiceSpec.spec."
     "insecureSkipTLSVerify of type bool"),
    ("apiservices", "spec.caBundle", 5, "json: cannot unmarshal number into Go struct field "
                                        "APIServiceSpec.spec.caBundle of type []uint8"),
    ("apiservices", "spec.caBundle", "no pem!", "illegal base64 data at input byte 2"),
    ("nodes", "status.capacity.cpu", "four", Q),
    ("nodes", "status.addresses.0.address", 5, "json: cannot unmarshal number into Go struct "
                                               "field NodeAddress.status.addresses.address of "
                                               "type string"),
    ("nodes", "spec.unschedulable", "yes", "json: cannot unmarshal string into Go struct "
                                           "field NodeSpec.spec.unschedulable of type bool"),
    ("nodes", "status.daemonEndpoints.kubeletEndpoint.Port", "10250",
     "json: cannot unmarshal string into Go struct field DaemonEndpoint.status.daemonEndpoints."
     "kubeletEndpoint.Port of type int32"),
    ("poddisruptionbudgets", "spec.minAvailable", True,
     "json: cannot unmarshal bool into Go value of type int32"),
    ("configmaps", "data.mode", 5, "json: cannot unmarshal number into Go struct field "
                                   "ConfigMap.data of type string"),
    ("secrets", "data.token", "not base64!", "illegal base64 data at input byte 3"),
]
KIND = {"deployments": ("Deployment", "v1"), "replicasets": ("ReplicaSet", "v1"),
        "pods": ("Pod", "v1"), "services": ("Service", "v1"),
        "horizontalpodautoscalers": ("HorizontalPodAutoscaler", "v2"),
        "apiservices": ("APIService", "v1"), "nodes": ("Node", "v1"),
        "poddisruptionbudgets": ("PodDisruptionBudget", "v1"),
        "configmaps": ("ConfigMap", "v1"), "secrets": ("Secret", "v1")}


@pytest.mark.parametrize(("plural", "path", "value", "message"), BODY_CASES,
                         ids=[f"{c[0]}:{c[1]}={c[2]!r}" for c in BODY_CASES])
def test_create_and_update_refuse_bad_types(plural: str, path: str, value: Any,
                                            message: str) -> None:
    store = make_store()
    kind, version = KIND[plural]
    expected = f'{kind} in version "{version}" cannot be handled as a {kind}: {message}'
    bad = set_path(valid(plural), path, value)
    before = snapshot(store)
    if not message:
        store.create(plural, bad, "default")
        return
    with pytest.raises(ApiError) as err:
        store.create(plural, bad, "default")
    assert (err.value.code, err.value.reason, err.value.message) == (400, "BadRequest", expected)
    assert snapshot(store) == before
    stored = store.create(plural, valid(plural), "default")  # the valid one is fine
    before = snapshot(store)
    with pytest.raises(ApiError) as err:
        store.update(plural, set_path(stored, path, value))
    assert (err.value.code, err.value.message) == (400, expected)
    assert snapshot(store) == before


def test_hpa_v1_body_is_checked_against_v1_types() -> None:
    store = make_store()
    body = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3,
                     "targetCPUUtilizationPercentage": "80"}}
    kind = store.registry.by_kind("autoscaling/v1", "HorizontalPodAutoscaler")
    assert kind is not None
    with pytest.raises(ApiError) as err:
        store.create(kind, body, "default")
    assert err.value.message == (
        'HorizontalPodAutoscaler in version "v1" cannot be handled as a HorizontalPodAutoscaler:'
        " json: cannot unmarshal string into Go struct field HorizontalPodAutoscalerSpec.spec."
        "targetCPUUtilizationPercentage of type int32")


def test_first_type_error_wins_but_an_unmarshaler_error_overrides_it() -> None:
    store = make_store()
    bad = set_path(valid("deployments"), "spec.replicas", "x")
    set_path(bad, "spec.paused", "y")
    with pytest.raises(ApiError) as err:
        store.create("deployments", bad)
    assert err.value.message.endswith("DeploymentSpec.spec.replicas of type int32")
    set_path(bad, f"{C}.resources.limits.cpu", "lots")  # later in the document, but fatal
    with pytest.raises(ApiError) as err:
        store.create("deployments", bad)
    assert err.value.message.endswith(Q)


# -- patches ------------------------------------------------------------------------------------
SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSONPATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
# (patch, the unstructured converter's message)
SMP_CASES: list[tuple[dict[str, Any], str]] = [
    ({"spec": {"replicas": "banana"}}, "unrecognized type: int32"),
    ({"spec": {"replicas": 1.5}}, "cannot convert float64 to int32"),
    ({"spec": {"paused": 1}}, "unrecognized type: bool"),
    ({"spec": {"selector": "app=web"}}, "cannot restore struct from: string"),
    ({"spec": {"template": {"spec": {"containers": "web"}}}},
     "cannot restore slice from string"),
    ({"spec": {"template": {"metadata": {"labels": ["app"]}}}},
     "cannot restore map from slice"),
    ({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": 5}]}}}},
     "cannot convert int64 to string"),
    ({"spec": {"template": {"spec": {"containers": [
        {"name": "web", "resources": {"limits": {"cpu": "lots"}}}]}}}}, Q),
    ({"spec": {"strategy": {"rollingUpdate": {"maxSurge": True}}}},
     "json: cannot unmarshal bool into Go value of type int32"),
    ({"metadata": {"creationTimestamp": "now"}},
     'parsing time "now" as "2006-01-02T15:04:05Z07:00": cannot parse "now" as "2006"'),
]


def _invalid_patch(value: str, error: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f' "" is invalid: patch: Invalid value: {value}: {error}',
            "reason": "Invalid",
            "details": {"causes": [{"reason": "FieldValueInvalid",
                                    "message": f"Invalid value: {value}: {error}",
                                    "field": "patch"}]},
            "code": 422}


@pytest.mark.parametrize(("patch", "message"), SMP_CASES, ids=[m for _, m in SMP_CASES])
def test_strategic_merge_patch_refused_in_the_converters_words(patch: dict[str, Any],
                                                                message: str) -> None:
    from fakeapiserver.validation import gofmt

    store = make_store()
    store.create("deployments", valid("deployments"))
    before = snapshot(store)
    with pytest.raises(ApiError) as err:
        store.patch("deployments", "web", patch, SMP, "default")
    assert err.value.status() == _invalid_patch(gofmt.quote(gofmt.v(patch)), message)
    assert snapshot(store) == before


def test_strategic_merge_patch_value_is_printed_like_go() -> None:
    store = make_store()
    store.create("deployments", valid("deployments"))
    with pytest.raises(ApiError) as err:
        store.patch("deployments", "web", {"spec": {"replicas": "banana", "paused": None,
                                                    "minReadySeconds": 1e21}}, SMP, "default")
    assert err.value.message == (' "" is invalid: patch: Invalid value: "map[spec:map['
                                 'minReadySeconds:1e+21 paused:<nil> replicas:banana]]": '
                                 "unrecognized type: int32")


@pytest.mark.parametrize("content_type", [MERGE, JSONPATCH])
def test_merge_and_json_patch_refused_in_the_decoders_words(content_type: str) -> None:
    from fakeapiserver.validation import go_json, gofmt

    store = make_store()
    stored = store.create("deployments", valid("deployments"))
    before = snapshot(store)
    patch: Any = ({"spec": {"replicas": "banana"}} if content_type == MERGE else
                  [{"op": "replace", "path": "/spec/replicas", "value": "banana"}])
    with pytest.raises(ApiError) as err:
        store.patch("deployments", "web", patch, content_type, "default")
    result = set_path(stored, "spec.replicas", "banana")
    assert err.value.status() == _invalid_patch(
        gofmt.quote(go_json(result)), "json: cannot unmarshal string into Go struct field "
                                      "DeploymentSpec.spec.replicas of type int32")
    assert snapshot(store) == before


APPLY_CASES: list[tuple[dict[str, Any], str]] = [
    ({"spec": {"replicas": "banana"}},
     ".spec.replicas: expected numeric (int or float), got string"),
    ({"spec": {"paused": "yes"}}, ".spec.paused: expected boolean, got &{yes}"),
    ({"spec": {"selector": "app=web"}}, ".spec.selector: expected map, got &{app=web}"),
    ({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": 5}]}}}},
     '.spec.template.spec.containers[name="web"].image: expected string, got '
     "&value.valueUnstructured{Value:5}"),
    ({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}},
     '.spec.template.spec.containers: element 0: associative list with keys has an element '
     'that omits key field "name" (and doesn\'t have default value)'),
    ({"spec": {"template": {"spec": {"containers": [{"name": "web", "ports": [
        {"containerPort": 80}, {"containerPort": 80}]}]}}}},
     '.spec.template.spec.containers[name="web"].ports: duplicate entries for key '
     '[containerPort=80,protocol="TCP"]'),
    ({"spec": {"replicas": "x", "paused": 1}},
     "errors:\n  .spec.paused: expected boolean, got &{1}\n"
     "  .spec.replicas: expected numeric (int or float), got string"),
    ({"spec": {"template": {"spec": {"containers": [{"name": "web", "resources": {
        "limits": {"cpu": {"a": 1}}}}]}}}},
     '.spec.template.spec.containers[name="web"].resources.limits.cpu: expected any scalar, '
     "got &{map[a:1]}"),
]


@pytest.mark.parametrize(("patch", "message"), APPLY_CASES, ids=[m for _, m in APPLY_CASES])
@pytest.mark.parametrize("exists", [True, False], ids=["update", "create"])
def test_server_side_apply_refused_in_structured_merge_diffs_words(
        patch: dict[str, Any], message: str, exists: bool) -> None:
    store = make_store()
    if exists:
        store.create("deployments", valid("deployments"))
    before = snapshot(store)
    body = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"}, **patch}
    with pytest.raises(ApiError) as err:
        store.patch("deployments", "web", body, APPLY, "default")
    assert (err.value.code, err.value.reason) == (400, "BadRequest")
    assert err.value.message == ("failed to create typed patch object (default/web; apps/v1, "
                                 f"Kind=Deployment): {message}")
    assert snapshot(store) == before


def test_scale_subresource_body_is_typed(tmp_path: Any) -> None:
    from fakeapiserver.validation import Rejected, check_types

    with pytest.raises(Rejected) as err:
        check_types("autoscaling", "v1", "Scale", {"spec": {"replicas": "3"}})
    assert err.value.message == ('Scale in version "v1" cannot be handled as a Scale: json: '
                                 "cannot unmarshal string into Go struct field ScaleSpec.spec."
                                 "replicas of type int32")


def test_kinds_without_a_table_still_get_typed_metadata() -> None:
    from fakeapiserver.validation import Rejected, check_types

    with pytest.raises(Rejected) as err:
        check_types("example.com", "v1", "Widget", {"metadata": {"labels": {"a": 1}}})
    assert err.value.message.endswith("json: cannot unmarshal number into Go struct field "
                                      "ObjectMeta.metadata.labels of type string")
