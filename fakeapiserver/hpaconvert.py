"""HorizontalPodAutoscaler autoscaling/v2 (stored) ⇄ autoscaling/v1 (served too).

Why: ``kubectl autoscale`` up to 1.32 writes v1, 1.33 writes v2, and v1 readers (old tools,
``kubectl get hpa.v1.autoscaling -o yaml``) must see what upstream shows them. autoscaling/v1
only has a CPU utilization target; kube-apiserver keeps what v1 cannot express in
annotations of the v1 object (``pkg/apis/autoscaling/v1/conversion.go``):

- ``autoscaling.alpha.kubernetes.io/metrics``: the spec metrics other than a CPU utilization
  target, as v1 ``MetricSpec`` JSON;
- ``autoscaling.alpha.kubernetes.io/current-metrics``: every status metric (the CPU one too,
  for its raw value), as v1 ``MetricStatus`` JSON;
- ``autoscaling.alpha.kubernetes.io/conditions``: the status conditions — the only place a v1
  reader sees ``AbleToScale`` / ``ScalingActive`` / ``ScalingLimited``.

Each is written only when non-empty, as Go's ``json.Marshal`` writes it (struct field order,
no spaces, ``<`` ``>`` ``&`` escaped: ``\\u0026LabelSelector{…}``). On a v1 write those
annotations are dropped again and the v2-only fields are kept from the stored object, so a v1
round trip (``kubectl edit`` of a v1 HPA) loses nothing. Not modelled: the
``autoscaling.alpha.kubernetes.io/behavior`` annotation (upstream marshals its internal type,
field names capitalised); ``spec.behavior`` is kept from the stored object all the same.
"""

from __future__ import annotations

import json
from typing import Any

Obj = dict[str, Any]

__all__ = ["ROUND_TRIP_ANNOTATIONS", "cpu_metric", "go_json", "hpa_v1_to_v2", "hpa_v2_to_v1"]

METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"
ROUND_TRIP_ANNOTATIONS = (METRICS_ANNOTATION, CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION,
                          BEHAVIOR_ANNOTATION)


def go_json(value: Any) -> str:
    """``json.Marshal``: compact, with Go's HTML-safe escapes."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def cpu_metric(percent: int) -> Obj:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": percent}}}


def _is_cpu_utilization(metric: Obj) -> bool:
    resource = metric.get("resource") or {}
    return (metric.get("type") == "Resource" and resource.get("name") == "cpu"
            and (resource.get("target") or {}).get("averageUtilization") is not None)


def _cpu_target(metrics: list[Obj], which: str) -> int | None:
    """The first cpu Resource metric's ``averageUtilization`` (``which``: target/current)."""
    for metric in metrics:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            value = (resource.get(which) or {}).get("averageUtilization")
            return int(value) if value is not None else None
    return None


def _put(out: Obj, key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def _v1_metric_spec(metric: Obj) -> Obj:
    """A v2 MetricSpec as autoscaling/v1's MetricSpec (field order of the Go type)."""
    mtype = metric.get("type", "")
    out: Obj = {"type": mtype}
    if mtype == "Resource" or mtype == "ContainerResource":
        src = metric.get("resource" if mtype == "Resource" else "containerResource") or {}
        target = src.get("target") or {}
        body: Obj = {"name": src.get("name", "")}
        if mtype == "ContainerResource":
            body["container"] = src.get("container", "")
        _put(body, "targetAverageUtilization", target.get("averageUtilization"))
        _put(body, "targetAverageValue", target.get("averageValue"))
        out["resource" if mtype == "Resource" else "containerResource"] = body
    elif mtype == "Pods":
        src = metric.get("pods") or {}
        ident = src.get("metric") or {}
        body = {"metricName": ident.get("name", ""),
                "targetAverageValue": (src.get("target") or {}).get("averageValue") or "0"}
        _put(body, "selector", ident.get("selector"))
        out["pods"] = body
    elif mtype == "Object":
        src = metric.get("object") or {}
        ident, target = src.get("metric") or {}, src.get("target") or {}
        described = src.get("describedObject") or {}
        body = {"target": {k: described[k] for k in ("kind", "name", "apiVersion")
                           if k in described},
                "metricName": ident.get("name", ""), "targetValue": target.get("value") or "0"}
        _put(body, "selector", ident.get("selector"))
        _put(body, "averageValue", target.get("averageValue"))
        out["object"] = body
    elif mtype == "External":
        src = metric.get("external") or {}
        ident, target = src.get("metric") or {}, src.get("target") or {}
        body = {"metricName": ident.get("name", "")}
        _put(body, "metricSelector", ident.get("selector"))
        _put(body, "targetValue", target.get("value"))
        _put(body, "targetAverageValue", target.get("averageValue"))
        out["external"] = body
    return out


def _v1_metric_status(metric: Obj) -> Obj:
    """A v2 MetricStatus as autoscaling/v1's MetricStatus."""
    mtype = metric.get("type", "")
    out: Obj = {"type": mtype}
    if mtype == "Resource" or mtype == "ContainerResource":
        src = metric.get("resource" if mtype == "Resource" else "containerResource") or {}
        current = src.get("current") or {}
        body: Obj = {"name": src.get("name", "")}
        if mtype == "ContainerResource":
            body["container"] = src.get("container", "")
        _put(body, "currentAverageUtilization", current.get("averageUtilization"))
        body["currentAverageValue"] = current.get("averageValue") or "0"
        out["resource" if mtype == "Resource" else "containerResource"] = body
    elif mtype == "Pods":
        src = metric.get("pods") or {}
        ident = src.get("metric") or {}
        body = {"metricName": ident.get("name", ""),
                "currentAverageValue": (src.get("current") or {}).get("averageValue") or "0"}
        _put(body, "selector", ident.get("selector"))
        out["pods"] = body
    elif mtype == "Object":
        src = metric.get("object") or {}
        ident, current = src.get("metric") or {}, src.get("current") or {}
        described = src.get("describedObject") or {}
        body = {"target": {k: described[k] for k in ("kind", "name", "apiVersion")
                           if k in described},
                "metricName": ident.get("name", ""), "currentValue": current.get("value") or "0"}
        _put(body, "selector", ident.get("selector"))
        _put(body, "averageValue", current.get("averageValue"))
        out["object"] = body
    elif mtype == "External":
        src = metric.get("external") or {}
        ident, current = src.get("metric") or {}, src.get("current") or {}
        body = {"metricName": ident.get("name", "")}
        _put(body, "metricSelector", ident.get("selector"))
        body["currentValue"] = current.get("value") or "0"
        _put(body, "currentAverageValue", current.get("averageValue"))
        out["external"] = body
    return out


def _v1_condition(cond: Obj) -> Obj:
    out: Obj = {"type": cond.get("type", ""), "status": cond.get("status", "")}
    out["lastTransitionTime"] = cond.get("lastTransitionTime")
    for key in ("reason", "message"):
        if cond.get(key):
            out[key] = cond[key]
    return out


def hpa_v2_to_v1(obj: Obj, old: Obj | None) -> Obj:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    meta = dict(obj.get("metadata") or {})
    out_spec = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas")
                if k in spec}
    target = _cpu_target(spec.get("metrics") or [], "target")
    if target is not None:
        out_spec["targetCPUUtilizationPercentage"] = target
    out_status = {k: status[k] for k in ("observedGeneration", "lastScaleTime",
                                         "currentReplicas", "desiredReplicas") if k in status}
    current = _cpu_target(status.get("currentMetrics") or [], "current")
    if current is not None:
        out_status["currentCPUUtilizationPercentage"] = current
    others = [_v1_metric_spec(m) for m in spec.get("metrics") or [] if not _is_cpu_utilization(m)]
    statuses = [_v1_metric_status(m) for m in status.get("currentMetrics") or []]
    conditions = [_v1_condition(c) for c in status.get("conditions") or []]
    if others or statuses or conditions:
        annotations = dict(meta.get("annotations") or {})
        if others:
            annotations[METRICS_ANNOTATION] = go_json(others)
        if statuses:
            annotations[CURRENT_METRICS_ANNOTATION] = go_json(statuses)
        if conditions:
            annotations[CONDITIONS_ANNOTATION] = go_json(conditions)
        meta["annotations"] = annotations
    return {"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v1",
            "metadata": meta, "spec": out_spec, "status": out_status}


def hpa_v1_to_v2(obj: Obj, old: Obj | None) -> Obj:
    """v1 → v2; what v1 cannot express (other metrics, behavior, conditions) is kept from the
    stored object, and the round-trip annotations a v1 reader got are dropped."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    meta = dict(obj.get("metadata") or {})
    if isinstance(meta.get("annotations"), dict):
        kept = {k: v for k, v in meta["annotations"].items() if k not in ROUND_TRIP_ANNOTATIONS}
        if kept:
            meta["annotations"] = kept
        else:
            meta.pop("annotations")
    old_spec, old_status = (old or {}).get("spec") or {}, (old or {}).get("status") or {}
    out_spec = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas")
                if k in spec}
    others = [m for m in old_spec.get("metrics") or []
              if not (m.get("type") == "Resource"
                      and (m.get("resource") or {}).get("name") == "cpu")]
    cpu = spec.get("targetCPUUtilizationPercentage")
    out_spec["metrics"] = ([cpu_metric(int(cpu))] if cpu is not None else []) + others
    if "behavior" in old_spec:
        out_spec["behavior"] = old_spec["behavior"]
    out_status = {k: status[k] for k in ("observedGeneration", "lastScaleTime",
                                         "currentReplicas", "desiredReplicas") if k in status}
    current = status.get("currentCPUUtilizationPercentage")
    if current is not None:
        out_status["currentMetrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": int(current)}}}]
    if "conditions" in old_status:
        out_status["conditions"] = old_status["conditions"]
    return {"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
            "metadata": meta, "spec": out_spec, "status": out_status}
