"""Decode the Kubernetes protobuf request bodies that kubectl ≥1.32 sends for typed writes.

kubectl 1.32+ POSTs typed objects (``kubectl create namespace``, ``create configmap``,
``create token``, ``auth can-i`` …) as ``application/vnd.kubernetes.protobuf`` and does not fall
back to JSON on a 415. Responses can stay JSON (clients accept it), so only DEcoding is needed,
and only for the small set of messages those commands send. The wire format is the ``k8s\\0``
magic followed by a ``runtime.Unknown`` envelope whose ``raw`` field holds the object message.

Field numbers are those of the upstream ``generated.proto`` files (wire-format facts). A type
outside :data:`MESSAGES` is rejected with 415, as before.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    """A body that is not a decodable Kubernetes protobuf object."""


# Field spec: number -> (json name, type, repeated). Types: "string", "bytes", "int", "bool",
# "time", ("map", value type), or a message name in MESSAGES.
Spec = dict[int, tuple[str, Any, bool]]

_S, _B, _I, _BOOL, _T, _Q = "string", "bytes", "int", "bool", "time", "quantity"
_IOS = "intorstring"

MESSAGES: dict[str, Spec] = {
    "ObjectMeta": {
        1: ("name", _S, False), 2: ("generateName", _S, False), 3: ("namespace", _S, False),
        5: ("uid", _S, False), 6: ("resourceVersion", _S, False), 7: ("generation", _I, False),
        8: ("creationTimestamp", _T, False), 9: ("deletionTimestamp", _T, False),
        11: ("labels", ("map", _S), False), 12: ("annotations", ("map", _S), False),
        13: ("ownerReferences", "OwnerReference", True), 14: ("finalizers", _S, True)},
    "OwnerReference": {5: ("apiVersion", _S, False), 1: ("kind", _S, False),
                       3: ("name", _S, False), 4: ("uid", _S, False),
                       6: ("controller", _BOOL, False), 7: ("blockOwnerDeletion", _BOOL, False)},
    "Namespace": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "NamespaceSpec", False)},
    "NamespaceSpec": {1: ("finalizers", _S, True)},
    "ConfigMap": {1: ("metadata", "ObjectMeta", False), 2: ("data", ("map", _S), False),
                  3: ("binaryData", ("map", _B), False), 4: ("immutable", _BOOL, False)},
    "Secret": {1: ("metadata", "ObjectMeta", False), 2: ("data", ("map", _B), False),
               3: ("type", _S, False), 4: ("stringData", ("map", _S), False),
               5: ("immutable", _BOOL, False)},
    "ServiceAccount": {1: ("metadata", "ObjectMeta", False),
                       2: ("secrets", "ObjectReference", True),
                       3: ("imagePullSecrets", "LocalObjectReference", True),
                       4: ("automountServiceAccountToken", _BOOL, False)},
    "ObjectReference": {1: ("kind", _S, False), 2: ("namespace", _S, False),
                        3: ("name", _S, False), 4: ("uid", _S, False),
                        5: ("apiVersion", _S, False), 6: ("resourceVersion", _S, False),
                        7: ("fieldPath", _S, False)},
    "LocalObjectReference": {1: ("name", _S, False)},
    "ResourceAttributes": {1: ("namespace", _S, False), 2: ("verb", _S, False),
                           3: ("group", _S, False), 4: ("version", _S, False),
                           5: ("resource", _S, False), 6: ("subresource", _S, False),
                           7: ("name", _S, False)},
    "NonResourceAttributes": {1: ("path", _S, False), 2: ("verb", _S, False)},
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta", False),
                                2: ("spec", "SelfSubjectAccessReviewSpec", False)},
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes", False),
                                    2: ("nonResourceAttributes", "NonResourceAttributes",
                                        False)},
    "SubjectAccessReview": {1: ("metadata", "ObjectMeta", False),
                            2: ("spec", "SubjectAccessReviewSpec", False)},
    "LocalSubjectAccessReview": {1: ("metadata", "ObjectMeta", False),
                                 2: ("spec", "SubjectAccessReviewSpec", False)},
    "SubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes", False),
                                2: ("nonResourceAttributes", "NonResourceAttributes", False),
                                3: ("user", _S, False), 4: ("groups", _S, True),
                                5: ("extra", ("map", "ExtraValue"), False),
                                6: ("uid", _S, False)},
    "ExtraValue": {1: ("items", _S, True)},
    "SelfSubjectRulesReview": {1: ("metadata", "ObjectMeta", False),
                               2: ("spec", "SelfSubjectRulesReviewSpec", False)},
    "SelfSubjectRulesReviewSpec": {1: ("namespace", _S, False)},
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta", False)},
    "TokenReview": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "TokenReviewSpec", False)},
    "TokenReviewSpec": {1: ("token", _S, False), 2: ("audiences", _S, True)},
    "TokenRequest": {1: ("metadata", "ObjectMeta", False),
                     2: ("spec", "TokenRequestSpec", False)},
    "TokenRequestSpec": {1: ("audiences", _S, True), 4: ("expirationSeconds", _I, False),
                         3: ("boundObjectRef", "BoundObjectReference", False)},
    "BoundObjectReference": {1: ("kind", _S, False), 2: ("apiVersion", _S, False),
                             3: ("name", _S, False), 4: ("uid", _S, False)},
    "ClusterRole": {1: ("metadata", "ObjectMeta", False), 2: ("rules", "PolicyRule", True)},
    "Role": {1: ("metadata", "ObjectMeta", False), 2: ("rules", "PolicyRule", True)},
    "PolicyRule": {1: ("verbs", _S, True), 2: ("apiGroups", _S, True),
                   3: ("resources", _S, True), 4: ("resourceNames", _S, True),
                   5: ("nonResourceURLs", _S, True)},
    "ClusterRoleBinding": {1: ("metadata", "ObjectMeta", False),
                           2: ("subjects", "Subject", True), 3: ("roleRef", "RoleRef", False)},
    "RoleBinding": {1: ("metadata", "ObjectMeta", False), 2: ("subjects", "Subject", True),
                    3: ("roleRef", "RoleRef", False)},
    "Subject": {1: ("kind", _S, False), 2: ("apiGroup", _S, False), 3: ("name", _S, False),
                4: ("namespace", _S, False)},
    "RoleRef": {1: ("apiGroup", _S, False), 2: ("kind", _S, False), 3: ("name", _S, False)},
    "DeleteOptions": {1: ("gracePeriodSeconds", _I, False),
                      2: ("preconditions", "Preconditions", False),
                      3: ("orphanDependents", _BOOL, False),
                      4: ("propagationPolicy", _S, False), 5: ("dryRun", _S, True)},
    "Preconditions": {1: ("uid", _S, False), 2: ("resourceVersion", _S, False)},
    # Workloads, as kubectl's generators build them (run, create deployment/service/job …);
    # fields the generators never set (probes, volumes' sources …) are not decoded.
    "Pod": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "PodSpec", False)},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "PodSpec", False)},
    "PodSpec": {2: ("containers", "Container", True), 20: ("initContainers", "Container", True),
                3: ("restartPolicy", _S, False), 4: ("terminationGracePeriodSeconds", _I, False),
                6: ("dnsPolicy", _S, False), 7: ("nodeSelector", ("map", _S), False),
                8: ("serviceAccountName", _S, False), 9: ("serviceAccount", _S, False),
                21: ("automountServiceAccountToken", _BOOL, False), 10: ("nodeName", _S, False),
                11: ("hostNetwork", _BOOL, False),
                15: ("imagePullSecrets", "LocalObjectReference", True),
                19: ("schedulerName", _S, False), 22: ("tolerations", "Toleration", True),
                24: ("priorityClassName", _S, False)},
    "Container": {1: ("name", _S, False), 2: ("image", _S, False), 3: ("command", _S, True),
                  4: ("args", _S, True), 5: ("workingDir", _S, False),
                  6: ("ports", "ContainerPort", True), 7: ("env", "EnvVar", True),
                  8: ("resources", "ResourceRequirements", False),
                  9: ("volumeMounts", "VolumeMount", True), 14: ("imagePullPolicy", _S, False),
                  13: ("terminationMessagePath", _S, False),
                  20: ("terminationMessagePolicy", _S, False), 16: ("stdin", _BOOL, False),
                  17: ("stdinOnce", _BOOL, False), 18: ("tty", _BOOL, False)},
    "ContainerPort": {1: ("name", _S, False), 2: ("hostPort", _I, False),
                      3: ("containerPort", _I, False), 4: ("protocol", _S, False),
                      5: ("hostIP", _S, False)},
    "EnvVar": {1: ("name", _S, False), 2: ("value", _S, False)},
    "ResourceRequirements": {1: ("limits", ("map", _Q), False),
                             2: ("requests", ("map", _Q), False)},
    "VolumeMount": {1: ("name", _S, False), 2: ("readOnly", _BOOL, False),
                    3: ("mountPath", _S, False), 4: ("subPath", _S, False)},
    "Toleration": {1: ("key", _S, False), 2: ("operator", _S, False), 3: ("value", _S, False),
                   4: ("effect", _S, False), 5: ("tolerationSeconds", _I, False)},
    "Deployment": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "DeploymentSpec", False)},
    "DeploymentSpec": {1: ("replicas", _I, False), 2: ("selector", "LabelSelector", False),
                       3: ("template", "PodTemplateSpec", False),
                       4: ("strategy", "DeploymentStrategy", False),
                       5: ("minReadySeconds", _I, False), 6: ("revisionHistoryLimit", _I, False),
                       7: ("paused", _BOOL, False), 9: ("progressDeadlineSeconds", _I, False)},
    "DeploymentStrategy": {1: ("type", _S, False),
                           2: ("rollingUpdate", "RollingUpdateDeployment", False)},
    "RollingUpdateDeployment": {1: ("maxUnavailable", _IOS, False), 2: ("maxSurge", _IOS, False)},
    "LabelSelector": {1: ("matchLabels", ("map", _S), False),
                      2: ("matchExpressions", "LabelSelectorRequirement", True)},
    "LabelSelectorRequirement": {1: ("key", _S, False), 2: ("operator", _S, False),
                                 3: ("values", _S, True)},
    "Service": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "ServiceSpec", False)},
    "ServiceSpec": {1: ("ports", "ServicePort", True), 2: ("selector", ("map", _S), False),
                    3: ("clusterIP", _S, False), 18: ("clusterIPs", _S, True),
                    4: ("type", _S, False), 5: ("externalIPs", _S, True),
                    7: ("sessionAffinity", _S, False), 10: ("externalName", _S, False),
                    19: ("ipFamilies", _S, True), 17: ("ipFamilyPolicy", _S, False),
                    22: ("internalTrafficPolicy", _S, False)},
    "ServicePort": {1: ("name", _S, False), 2: ("protocol", _S, False),
                    6: ("appProtocol", _S, False), 3: ("port", _I, False),
                    4: ("targetPort", _IOS, False), 5: ("nodePort", _I, False)},
    # autoscaling/v1 and v2 share the kind name: keyed "<apiVersion>/<Kind>".
    "autoscaling/v1/HorizontalPodAutoscaler": {
        1: ("metadata", "ObjectMeta", False), 2: ("spec", "HPASpecV1", False)},
    "HPASpecV1": {1: ("scaleTargetRef", "CrossVersionObjectReference", False),
                  2: ("minReplicas", _I, False), 3: ("maxReplicas", _I, False),
                  4: ("targetCPUUtilizationPercentage", _I, False)},
    "autoscaling/v2/HorizontalPodAutoscaler": {
        1: ("metadata", "ObjectMeta", False), 2: ("spec", "HPASpecV2", False)},
    "HPASpecV2": {1: ("scaleTargetRef", "CrossVersionObjectReference", False),
                  2: ("minReplicas", _I, False), 3: ("maxReplicas", _I, False),
                  4: ("metrics", "MetricSpec", True),
                  5: ("behavior", "HorizontalPodAutoscalerBehavior", False)},
    "CrossVersionObjectReference": {1: ("kind", _S, False), 2: ("name", _S, False),
                                    3: ("apiVersion", _S, False)},
    "MetricSpec": {1: ("type", _S, False), 2: ("object", "ObjectMetricSource", False),
                   3: ("pods", "PodsMetricSource", False),
                   4: ("resource", "ResourceMetricSource", False),
                   7: ("containerResource", "ContainerResourceMetricSource", False),
                   5: ("external", "PodsMetricSource", False)},
    "ObjectMetricSource": {1: ("describedObject", "CrossVersionObjectReference", False),
                           2: ("target", "MetricTarget", False),
                           3: ("metric", "MetricIdentifier", False)},
    "PodsMetricSource": {1: ("metric", "MetricIdentifier", False),
                         2: ("target", "MetricTarget", False)},
    "ResourceMetricSource": {1: ("name", _S, False), 2: ("target", "MetricTarget", False)},
    "ContainerResourceMetricSource": {1: ("name", _S, False),
                                      2: ("target", "MetricTarget", False),
                                      3: ("container", _S, False)},
    "MetricIdentifier": {1: ("name", _S, False)},
    "MetricTarget": {1: ("type", _S, False), 2: ("value", _Q, False),
                     3: ("averageValue", _Q, False), 4: ("averageUtilization", _I, False)},
    "HorizontalPodAutoscalerBehavior": {1: ("scaleUp", "HPAScalingRules", False),
                                        2: ("scaleDown", "HPAScalingRules", False)},
    "HPAScalingRules": {3: ("stabilizationWindowSeconds", _I, False),
                        1: ("selectPolicy", _S, False),
                        2: ("policies", "HPAScalingPolicy", True), 4: ("tolerance", _Q, False)},
    "HPAScalingPolicy": {1: ("type", _S, False), 2: ("value", _I, False),
                         3: ("periodSeconds", _I, False)},
    "_Unknown": {1: ("typeMeta", "_TypeMeta", False), 2: ("raw", _B, False),
                 3: ("contentEncoding", _S, False), 4: ("contentType", _S, False)},
    "_TypeMeta": {1: ("apiVersion", _S, False), 2: ("kind", _S, False)},
    "_Time": {1: ("seconds", _I, False), 2: ("nanos", _I, False)},
    "_Quantity": {1: ("string", _S, False)},
    "_IntOrString": {1: ("type", _I, False), 2: ("intVal", _I, False), 3: ("strVal", _S, False)},
}


#: Pointer fields where an explicit zero means something (gogo emits only set pointers).
_KEEP_ZERO = frozenset({"replicas", "minReplicas", "maxReplicas", "averageUtilization",
                        "targetCPUUtilizationPercentage", "terminationGracePeriodSeconds",
                        "expirationSeconds", "gracePeriodSeconds", "value",
                        "stabilizationWindowSeconds"})


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ProtobufError("varint too long")


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) triples; value is int or bytes."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError("truncated field")
            value = data[pos:pos + length]
            pos += length
        elif wire == 1:
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _scalar(kind: Any, value: Any) -> Any:
    if kind == _S:
        if not isinstance(value, bytes):
            raise ProtobufError("expected a string")
        return value.decode()
    if kind == _B:
        return base64.b64encode(value).decode()
    if kind == _I:
        if not isinstance(value, int):
            raise ProtobufError("expected an integer")
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind == _BOOL:
        return bool(value)
    if kind == _IOS:  # intstr.IntOrString: type 0 → intVal, 1 → strVal
        ios = decode_message("_IntOrString", value)
        return ios.get("strVal", "") if ios.get("type") == 1 else ios.get("intVal", 0)
    if kind == _Q:  # resource.Quantity is a message holding its string form
        return decode_message("_Quantity", value).get("string", "")
    if kind == _T:
        seconds = decode_message("_Time", value).get("seconds", 0)
        if not seconds:
            return None
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return decode_message(kind, value)


def decode_message(name: str, data: bytes) -> dict[str, Any]:
    spec = MESSAGES[name]
    out: dict[str, Any] = {}
    for number, _wire, value in _fields(data):
        entry = spec.get(number)
        if entry is None:
            continue  # unknown fields are dropped, as Go's decoder does
        field, kind, repeated = entry
        if isinstance(kind, tuple):
            key, val = "", None
            for n, _w, v in _fields(value):
                if n == 1:
                    key = v.decode()
                elif n == 2:
                    val = _scalar(kind[1], v)
            if kind[1] == "ExtraValue":
                val = (val or {}).get("items", [])
            out.setdefault(field, {})[key] = val if val is not None else (
                "" if kind[1] in (_S, _B) else val)
        elif repeated:
            out.setdefault(field, []).append(_scalar(kind, value))
        else:
            scalar = _scalar(kind, value)
            if scalar in ("", None):
                continue
            if scalar is False or (scalar == 0 and kind == _I and field not in _KEEP_ZERO):
                continue  # Go's omitempty: zero values of non-pointer fields vanish
            out[field] = scalar
    return out


def decode_object(body: bytes) -> dict[str, Any]:
    """A JSON-shaped object from a ``k8s\\0``-prefixed protobuf body."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf magic prefix")
    envelope = decode_message("_Unknown", body[len(MAGIC):])
    type_meta = envelope.get("typeMeta") or {}
    kind = type_meta.get("kind", "")
    message = f"{type_meta.get('apiVersion', '')}/{kind}"
    if message not in MESSAGES:
        message = kind
    if message not in MESSAGES or kind.startswith("_") or kind[:1].islower():
        raise ProtobufError(f"no protobuf decoder for kind {kind!r}")
    raw = base64.b64decode(envelope.get("raw", ""))
    obj = decode_message(message, raw)
    result: dict[str, Any] = {"kind": kind, "apiVersion": type_meta.get("apiVersion", "")}
    result.update(obj)
    return result
