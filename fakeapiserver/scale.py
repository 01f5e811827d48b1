"""The ``/scale`` subresource: the Scale view of a workload and the update through it.

Why a module of its own: two callers must see the same semantics — the REST layer
(``kubectl scale``, ``PUT …/deployments/web/scale``) and the HPA controller, which reads the
target's scale and rescales through it in-process. Both get the same validation (replicas an
integer ≥ 0), the same optimistic concurrency (a Scale carrying a ``resourceVersion`` that is
not the workload's is a Conflict) and the same write (``spec.replicas`` of the workload, one
resourceVersion bump, one MODIFIED watch event).

``status.selector`` is the workload's label selector as ``LabelSelectorAsSelector(…).String()``
prints it (requirements sorted by key: ``app=web``, ``tier in (a,b)``, ``!canary``), which
is the string the HPA parses and sends as ``labelSelector``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fakeapiserver.kinds import Kind, KindRegistry
from fakeapiserver.store import ApiError, Obj, Store
from fakeapiserver.validation import Rejected
from fakeapiserver.validation.fielderrors import invalid

__all__ = ["label_selector_string", "scale_kind", "scale_object", "update_scale"]


def _requirement(key: str, operator: str, values: list[str]) -> str:
    if operator == "Exists":
        return key
    if operator == "DoesNotExist":
        return f"!{key}"
    if operator == "In":
        return f"{key} in ({','.join(sorted(values))})"
    if operator == "NotIn":
        return f"{key} notin ({','.join(sorted(values))})"
    return f"{key}={values[0] if values else ''}"


def label_selector_string(selector: Mapping[str, Any] | None) -> str:
    """``metav1.LabelSelectorAsSelector(selector).String()`` (nil and empty print "")."""
    if not isinstance(selector, Mapping):
        return ""
    reqs: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        reqs.append((str(key), _requirement(str(key), "Equals", [str(value)])))
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, Mapping):
            continue
        key = str(expr.get("key", ""))
        values = [str(v) for v in expr.get("values") or []]
        reqs.append((key, _requirement(key, str(expr.get("operator", "")), values)))
    reqs.sort(key=lambda r: r[0])  # stable: labels.NewSelector sorts by key
    return ",".join(text for _, text in reqs)


def scale_object(obj: Obj) -> Obj:
    """The autoscaling/v1 Scale view of a workload."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                           "creationTimestamp") if k in meta},
        "spec": {"replicas": int(spec.get("replicas", 1))},
        "status": {"replicas": int(status.get("replicas", 0)),
                   "selector": label_selector_string(spec.get("selector"))},
    }


def scale_kind(registry: KindRegistry, api_version: str, kind: str) -> Kind:
    """The stored kind a ``scaleTargetRef`` names (``RESTMappings`` for its group and kind,
    any version); raises :class:`ApiError` with the texts the HPA reports."""
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    for candidate in registry.all():
        if candidate.group == group and candidate.kind == kind and candidate.is_storage:
            if not any(s.name == "scale" for s in candidate.subresources):
                raise ApiError.not_found_path()
            return candidate
    raise ApiError(404, "NotFound", f'no matches for kind "{kind}" in group "{group}"')


def update_scale(store: Store, kind: Kind, name: str, namespace: str | None, scale: Any
                 ) -> Obj:
    """Apply a Scale (PUT semantics): validate, check its resourceVersion, set replicas."""
    replicas = int(((scale.get("spec") if isinstance(scale, dict) else None) or {}).get(
        "replicas") or 0)  # typed by the caller (the REST layer checks the body's types)
    if replicas < 0:
        raise ApiError.rejected(Rejected.invalid("autoscaling", "Scale", name, [
            invalid("spec.replicas", replicas, "must be greater than or equal to 0")]))
    stored = store.get_stored(kind, name, namespace)
    sent_rv = (scale.get("metadata") or {}).get("resourceVersion")
    if sent_rv not in (None, "") and str(sent_rv) != str(stored.rv):
        raise ApiError.conflict(kind, name)

    def set_replicas(obj: Obj) -> None:
        obj.setdefault("spec", {})["replicas"] = replicas

    return scale_object(store.mutate(kind, name, namespace or None, set_replicas))
