"""HorizontalPodAutoscalers (``pkg/apis/autoscaling/validation``), checked in their stored
(autoscaling/v2) form — an autoscaling/v1 object is converted first, so its
``targetCPUUtilizationPercentage`` is reported as ``spec.metrics[0].resource.target.
averageUtilization``, as kube-apiserver reports it. Feature gates at their 1.30 defaults:
HPAScaleToZero off (``minReplicas`` ≥ 1), HPAContainerMetrics on."""

from __future__ import annotations

from typing import Any

from ..fielderrors import FieldError, forbidden, invalid, non_negative, not_supported, required
from ..gofmt import GoValue
from ..quantity import QuantityError, go_value, parse_quantity
from .meta import as_dict, as_list
from .names import is_dns1123_label, is_valid_path_segment_name

MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_WINDOW_SECONDS = 3600
METRIC_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")
_SOURCE_FIELD = {"Object": "object", "Pods": "pods", "Resource": "resource",
                 "External": "external", "ContainerResource": "containerResource"}
SELECT_POLICIES = ("Disabled", "Max", "Min")
POLICY_TYPES = ("Percent", "Pods")


def cross_version_reference(ref: Any, path: str) -> list[FieldError]:
    r = as_dict(ref)
    errs: list[FieldError] = []
    for field in ("kind", "name"):
        value = str(r.get(field) or "")
        if not value:
            errs.append(required(f"{path}.{field}"))
        else:
            errs += [invalid(f"{path}.{field}", value, m)
                     for m in is_valid_path_segment_name(value)]
    return errs


def _positive(text: Any) -> bool:
    try:
        return parse_quantity(str(text).strip()) > 0
    except QuantityError:
        return True  # (refused while decoding; not reached)


def _metric_target(target: Any, path: str) -> list[FieldError]:
    t = as_dict(target)
    errs: list[FieldError] = []
    kind = t.get("type") or ""
    if not kind:
        errs.append(required(f"{path}.type", "must specify a metric target type"))
    if kind not in ("Utilization", "Value", "AverageValue"):
        errs.append(invalid(f"{path}.type", kind,
                            "must be either Utilization, Value, or AverageValue"))
    for field in ("value", "averageValue"):
        if t.get(field) is not None and not _positive(t[field]):
            errs.append(invalid(f"{path}.{field}", GoValue(go_value(str(t[field]).strip())),
                                "must be positive"))
    utilization = t.get("averageUtilization")
    if utilization is not None and int(utilization) < 1:
        errs.append(invalid(f"{path}.averageUtilization", int(utilization),
                            "must be greater than 0"))
    return errs


def _metric_identifier(metric: Any, path: str) -> list[FieldError]:
    name = str(as_dict(metric).get("name") or "")
    if not name:
        return [required(f"{path}.name", "must specify a metric name")]
    return [invalid(f"{path}.name", name, m) for m in is_valid_path_segment_name(name)]


def _source(kind: str, src: dict[str, Any], path: str) -> list[FieldError]:
    target = as_dict(src.get("target"))
    tpath = f"{path}.target"
    errs: list[FieldError] = []
    if kind == "object":
        errs += cross_version_reference(src.get("describedObject"), f"{path}.describedObject")
        errs += _metric_identifier(src.get("metric"), f"{path}.metric")
        errs += _metric_target(target, tpath)
        if target.get("value") is None and target.get("averageValue") is None:
            errs.append(required(f"{tpath}.averageValue",
                                 "must set either a target value or averageValue"))
    elif kind == "external":
        errs += _metric_identifier(src.get("metric"), f"{path}.metric")
        errs += _metric_target(target, tpath)
        if target.get("value") is None and target.get("averageValue") is None:
            errs.append(required(f"{tpath}.averageValue", "must set either a target value for "
                                                           "metric or a per-pod target"))
        if target.get("value") is not None and target.get("averageValue") is not None:
            errs.append(forbidden(f"{tpath}.value", "may not set both a target value for "
                                                   "metric and a per-pod target"))
    elif kind == "pods":
        errs += _metric_identifier(src.get("metric"), f"{path}.metric")
        errs += _metric_target(target, tpath)
        if target.get("averageValue") is None:
            errs.append(required(f"{tpath}.averageValue",
                                 "must specify a positive target averageValue"))
    else:  # resource, containerResource
        if not src.get("name"):
            errs.append(required(f"{path}.name", "must specify a resource name"))
        if kind == "containerResource":
            container = str(src.get("container") or "")
            if not container:
                errs.append(required(f"{path}.container", "must specify a container"))
            else:
                errs += [invalid(f"{path}.container", container, m)
                         for m in is_dns1123_label(container)]
        errs += _metric_target(target, tpath)
        utilization, value = target.get("averageUtilization"), target.get("averageValue")
        if utilization is None and value is None:
            errs.append(required(f"{tpath}.averageUtilization",
                                 "must set either a target raw value or a target utilization"))
        if utilization is not None and value is not None:
            errs.append(forbidden(f"{tpath}.averageValue",
                                  "may not set both a target raw value and a target utilization"))
    return errs


def _metric(metric: Any, path: str) -> list[FieldError]:
    m = as_dict(metric)
    errs: list[FieldError] = []
    kind = str(m.get("type") or "")
    if not kind:
        errs.append(required(f"{path}.type", "must specify a metric source type"))
    if kind not in METRIC_TYPES:
        errs.append(not_supported(f"{path}.type", kind, METRIC_TYPES))
    present = [f for f in ("object", "external", "pods", "resource", "containerResource")
               if m.get(f) is not None]
    if present:
        errs += _source(present[0], as_dict(m[present[0]]), f"{path}.{present[0]}")
    expected = _SOURCE_FIELD.get(kind)
    if expected is None:  # kube-apiserver's switch says it a second time
        errs.append(not_supported(f"{path}.type", kind, METRIC_TYPES))
    elif m.get(expected) is None:
        errs.append(required(f"{path}.{expected}",
                             "must populate information for the given metric source"))
    if len(present) != 1:
        errs += [forbidden(f"{path}.{f}", "must populate the given metric source only")
                 for f in sorted(present) if f != expected]
    return errs


def _scaling_rules(rules: Any, path: str) -> list[FieldError]:
    if rules is None:
        return []
    r = as_dict(rules)
    errs: list[FieldError] = []
    window = r.get("stabilizationWindowSeconds")
    if window is not None and int(window) < 0:
        errs.append(invalid(f"{path}.stabilizationWindowSeconds", int(window),
                            "must be greater than or equal to zero"))
    if window is not None and int(window) > MAX_STABILIZATION_WINDOW_SECONDS:
        errs.append(invalid(f"{path}.stabilizationWindowSeconds", int(window),
                            f"must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"))
    select = r.get("selectPolicy")
    if select is not None and select not in SELECT_POLICIES:
        errs.append(not_supported(f"{path}.selectPolicy", select, SELECT_POLICIES))
    for i, policy in enumerate(as_list(r.get("policies"))):
        p, at = as_dict(policy), f"{path}.policies[{i}]"
        if p.get("type") not in POLICY_TYPES:
            errs.append(not_supported(f"{at}.type", p.get("type") or "", POLICY_TYPES))
        value, period = int(p.get("value") or 0), int(p.get("periodSeconds") or 0)
        if value <= 0:
            errs.append(invalid(f"{at}.value", value, "must be greater than zero"))
        if period <= 0:
            errs.append(invalid(f"{at}.periodSeconds", period, "must be greater than zero"))
        if period > MAX_PERIOD_SECONDS:
            errs.append(invalid(f"{at}.periodSeconds", period,
                                f"must be less than or equal to {MAX_PERIOD_SECONDS}"))
    return errs


def hpa_spec(spec: Any, min_lower_bound: int = 1) -> list[FieldError]:
    s = as_dict(spec)
    errs: list[FieldError] = []
    low = s.get("minReplicas")
    high = int(s.get("maxReplicas") or 0)
    if low is not None and int(low) < min_lower_bound:
        errs.append(invalid("spec.minReplicas", int(low),
                            f"must be greater than or equal to {min_lower_bound}"))
    if high < 1:
        errs.append(invalid("spec.maxReplicas", high, "must be greater than 0"))
    if low is not None and high < int(low):
        errs.append(invalid("spec.maxReplicas", high,
                            "must be greater than or equal to `minReplicas`"))
    errs += cross_version_reference(s.get("scaleTargetRef"), "spec.scaleTargetRef")
    for i, metric in enumerate(as_list(s.get("metrics"))):
        errs += _metric(metric, f"spec.metrics[{i}]")
    behavior = as_dict(s.get("behavior"))
    errs += _scaling_rules(behavior.get("scaleUp"), "spec.behavior.scaleUp")
    errs += _scaling_rules(behavior.get("scaleDown"), "spec.behavior.scaleDown")
    return errs


def hpa_status(status: Any) -> list[FieldError]:
    st = as_dict(status)
    return (non_negative(int(st.get("currentReplicas") or 0), "status.currentReplicas")
            + non_negative(int(st.get("desiredReplicas") or 0), "status.desiredReplicas"))
