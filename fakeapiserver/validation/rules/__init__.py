"""Which rules each kind gets, on create, update and status update (kube-apiserver's
``ValidateX``, ``ValidateXUpdate`` and ``ValidateXStatusUpdate`` for the built-in kinds)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..fielderrors import FieldError
from . import autoscaling, other, pods, services, workloads
from .meta import as_dict, validate_object_meta, validate_object_meta_update
from .names import (
    NameFn,
    name_is_dns1035_label,
    name_is_dns_label,
    name_is_dns_subdomain,
    path_segment_name,
)

Obj = dict[str, Any]
SpecRule = Callable[[Obj], list[FieldError]]

#: (group, kind) → the name rule of ``ValidateObjectMeta``.
_NAMES: dict[tuple[str, str], NameFn] = {
    ("", "Namespace"): name_is_dns_label,
    ("", "Service"): name_is_dns1035_label,
    ("apps", "StatefulSet"): name_is_dns_label,
    **{("rbac.authorization.k8s.io", k): path_segment_name
       for k in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")},
}


def _spec(rule: Callable[[Any], list[FieldError]]) -> SpecRule:
    return lambda obj: rule(obj.get("spec"))


#: (group, kind) → rules on the whole object beyond its metadata (create and update).
_SPEC: dict[tuple[str, str], SpecRule] = {
    ("apps", "Deployment"): lambda o: workloads.deployment_spec(as_dict(o.get("spec"))),
    ("apps", "ReplicaSet"): lambda o: workloads.replicaset_spec(as_dict(o.get("spec"))),
    ("apps", "DaemonSet"): lambda o: workloads.daemonset_spec(as_dict(o.get("spec"))),
    ("apps", "StatefulSet"): lambda o: workloads.statefulset_spec(as_dict(o.get("spec"))),
    ("", "Pod"): lambda o: pods.validate_pod_spec(o.get("spec"), "spec"),
    ("", "Service"): _spec(services.service_spec),
    ("", "Node"): _spec(other.node_spec),
    ("", "ConfigMap"): lambda o: other.config_map_keys(o, ("data", "binaryData")),
    ("", "Secret"): lambda o: other.config_map_keys(o, ("data",)),
    ("autoscaling", "HorizontalPodAutoscaler"): _spec(autoscaling.hpa_spec),
    ("policy", "PodDisruptionBudget"): _spec(other.pdb_spec),
    ("apiregistration.k8s.io", "APIService"): _spec(other.apiservice_spec),
}

#: (group, kind) → status rules (``…/status`` writes).
_STATUS: dict[tuple[str, str], SpecRule] = {
    ("apps", "Deployment"): lambda o: workloads.replicas_status(
        as_dict(o.get("status")), ("updatedReplicas", "readyReplicas", "availableReplicas",
                                   "unavailableReplicas")),
    ("apps", "ReplicaSet"): lambda o: workloads.replicas_status(
        as_dict(o.get("status")), ("fullyLabeledReplicas", "readyReplicas",
                                   "availableReplicas")),
    ("autoscaling", "HorizontalPodAutoscaler"): lambda o: autoscaling.hpa_status(
        o.get("status")),
}

_IMMUTABLE_SELECTOR = {("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "DaemonSet")}


def name_rule(group: str, kind: str) -> NameFn:
    if group == "apiregistration.k8s.io" and kind == "APIService":
        return path_segment_name
    return _NAMES.get((group, kind), name_is_dns_subdomain)


def validate(group: str, kind: str, namespaced: bool, obj: Obj, old: Obj | None = None,
             subresource: str = "") -> list[FieldError]:
    """The field errors kube-apiserver's validation finds in ``obj`` (``old``: the stored
    object, for updates; ``subresource="status"`` for status writes)."""
    key = (group, kind)
    meta = as_dict(obj.get("metadata"))
    if old is None:
        name_fn = (other.apiservice_name(obj.get("spec")) if kind == "APIService"
                   else name_rule(group, kind))
        errs = validate_object_meta(meta, namespaced, name_fn)
    else:
        errs = validate_object_meta_update(meta, as_dict(old.get("metadata")))
    if subresource == "status":
        status_rule = _STATUS.get(key)
        return errs + (status_rule(obj) if status_rule else [])
    rule = _SPEC.get(key)
    if rule is not None:
        errs += rule(obj)
    if old is not None and key in _IMMUTABLE_SELECTOR:
        errs += workloads.immutable_selector(obj, old)
    return errs


__all__ = ["name_rule", "validate"]
