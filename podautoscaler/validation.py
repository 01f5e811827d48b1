"""The API server's validation of an ``autoscaling/v2`` HorizontalPodAutoscaler (validation.go).

``reconcile`` accepts objects the API would refuse (upstream's controller tests feed it an
unknown metric type, which the controller reports as ``InvalidMetricSourceType``); ``explain``
runs this validation first so a hand-written case fails the way ``kubectl apply`` would.
Errors read like ``field.Error``: ``spec.minReplicas: Invalid value: 0: must be greater than
or equal to 1``. Quantities are shown as quoted text (upstream prints the raw Go struct).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .quantities import QuantityError, parse_quantity

__all__ = ["FieldError", "validate_hpa"]

MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_WINDOW_SECONDS = 3600
_SOURCE_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")
_SOURCE_FIELDS = (("object", "Object"), ("external", "External"), ("pods", "Pods"),
                  ("resource", "Resource"), ("containerResource", "ContainerResource"))


@dataclass(frozen=True)
class FieldError:
    path: str
    text: str

    def __str__(self) -> str:
        return self.text


def _value(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return f'"{v}"'


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, path: str, body: str) -> None:
        self.items.append(FieldError(path, f"{path}: {body}"))

    def required(self, path: str, detail: str = "") -> None:
        self.add(path, "Required value" + (f": {detail}" if detail else ""))

    def invalid(self, path: str, value: object, detail: str) -> None:
        self.add(path, f"Invalid value: {_value(value)}: {detail}")

    def forbidden(self, path: str, detail: str) -> None:
        self.add(path, f"Forbidden: {detail}")

    def not_supported(self, path: str, value: object, allowed: tuple[str, ...]) -> None:
        choices = ", ".join(f'"{a}"' for a in allowed)
        self.add(path, f"Unsupported value: {_value(value)}: supported values: {choices}")


def _m(obj: object) -> Mapping[str, Any]:
    return obj if isinstance(obj, Mapping) else {}


def _path_segment(errs: _Errors, path: str, value: str) -> None:
    """``IsValidPathSegmentName``."""
    if value in (".", ".."):
        errs.invalid(path, value, f"may not be '{value}'")
    for bad in ("/", "%"):
        if bad in value:
            errs.invalid(path, value, f"may not contain '{bad}'")


def _cross_version_ref(errs: _Errors, ref: Mapping[str, Any], path: str) -> None:
    for key in ("kind", "name"):
        value = ref.get(key) or ""
        if not value:
            errs.required(f"{path}.{key}")
        else:
            _path_segment(errs, f"{path}.{key}", str(value))


def _positive_quantity(errs: _Errors, raw: object, path: str) -> None:
    try:
        q = parse_quantity(raw)
    except QuantityError as err:
        errs.invalid(path, raw, str(err))
        return
    if q.sign() != 1:
        errs.invalid(path, q.text, "must be positive")


def _target(errs: _Errors, target: Mapping[str, Any], path: str) -> None:
    ttype = target.get("type") or ""
    if not ttype:
        errs.required(f"{path}.type", "must specify a metric target type")
    if ttype not in ("Utilization", "Value", "AverageValue"):
        errs.invalid(f"{path}.type", ttype, "must be either Utilization, Value, or AverageValue")
    for key in ("value", "averageValue"):
        if target.get(key) is not None:
            _positive_quantity(errs, target[key], f"{path}.{key}")
    util = target.get("averageUtilization")
    if util is not None and (isinstance(util, bool) or not isinstance(util, int) or util < 1):
        errs.invalid(f"{path}.averageUtilization", util, "must be greater than 0")


def _identifier(errs: _Errors, ident: Mapping[str, Any], path: str) -> None:
    name = ident.get("name") or ""
    if not name:
        errs.required(f"{path}.name", "must specify a metric name")
    else:
        _path_segment(errs, f"{path}.name", str(name))


def _source(errs: _Errors, field: str, src: Mapping[str, Any], path: str) -> None:
    target = _m(src.get("target"))
    tpath = f"{path}.target"
    if field in ("object", "external", "pods"):
        if field == "object":
            _cross_version_ref(errs, _m(src.get("describedObject")), f"{path}.describedObject")
        _identifier(errs, _m(src.get("metric")), f"{path}.metric")
        _target(errs, target, tpath)
        value, average = target.get("value"), target.get("averageValue")
        if field == "object" and value is None and average is None:
            errs.required(f"{tpath}.averageValue", "must set either a target value or "
                                                    "averageValue")
        if field == "external":
            if value is None and average is None:
                errs.required(f"{tpath}.averageValue", "must set either a target value for "
                                                        "metric or a per-pod target")
            if value is not None and average is not None:
                errs.forbidden(f"{tpath}.value", "may not set both a target value for metric "
                                                 "and a per-pod target")
        if field == "pods" and average is None:
            errs.required(f"{tpath}.averageValue", "must specify a positive target averageValue")
        return
    if not src.get("name"):
        errs.required(f"{path}.name", "must specify a resource name")
    if field == "containerResource" and not src.get("container"):
        errs.required(f"{path}.container", "must specify a container")
    _target(errs, target, tpath)
    util, average = target.get("averageUtilization"), target.get("averageValue")
    if util is None and average is None:
        errs.required(f"{tpath}.averageUtilization", "must set either a target raw value or a "
                                                     "target utilization")
    if util is not None and average is not None:
        errs.forbidden(f"{tpath}.averageValue", "may not set both a target raw value and a "
                                                "target utilization")


def _metric(errs: _Errors, spec: Mapping[str, Any], path: str) -> None:
    mtype = spec.get("type") or ""
    if not mtype:
        errs.required(f"{path}.type", "must specify a metric source type")
    if mtype not in _SOURCE_TYPES:
        errs.not_supported(f"{path}.type", mtype, _SOURCE_TYPES)
    present = [f for f, _ in _SOURCE_FIELDS if spec.get(f) is not None]
    if present:
        _source(errs, present[0], _m(spec.get(present[0])), f"{path}.{present[0]}")
    expected = next((f for f, t in _SOURCE_FIELDS if t == mtype), None)
    if expected is None:
        errs.not_supported(f"{path}.type", mtype, _SOURCE_TYPES)
    elif spec.get(expected) is None:
        errs.required(f"{path}.{expected}", "must populate information for the given metric "
                                            "source")
    if len(present) != 1:
        for f in present:
            if f != expected:
                errs.forbidden(f"{path}.{f}", "must populate the given metric source only")


def _rules(errs: _Errors, rules: Mapping[str, Any], path: str) -> None:
    window = rules.get("stabilizationWindowSeconds")
    if isinstance(window, int) and not isinstance(window, bool):
        if window < 0:
            errs.invalid(f"{path}.stabilizationWindowSeconds", window,
                         "must be greater than or equal to zero")
        if window > MAX_STABILIZATION_WINDOW_SECONDS:
            errs.invalid(f"{path}.stabilizationWindowSeconds", window,
                         f"must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}")
    select = rules.get("selectPolicy")
    if select is not None and select not in ("Disabled", "Max", "Min"):
        errs.not_supported(f"{path}.selectPolicy", select, ("Disabled", "Max", "Min"))
    policies = rules.get("policies")
    if policies is not None and not policies:
        errs.required(f"{path}.policies", "must specify at least one Policy")
    for i, raw in enumerate(policies or []):
        pp = f"{path}.policies[{i}]"
        pol = _m(raw)
        if pol.get("type") not in ("Pods", "Percent"):
            errs.not_supported(f"{pp}.type", pol.get("type", ""), ("Percent", "Pods"))
        value, period = pol.get("value") or 0, pol.get("periodSeconds") or 0
        if value <= 0:
            errs.invalid(f"{pp}.value", value, "must be greater than zero")
        if period <= 0:
            errs.invalid(f"{pp}.periodSeconds", period, "must be greater than zero")
        if period > MAX_PERIOD_SECONDS:
            errs.invalid(f"{pp}.periodSeconds", period,
                         f"must be less than or equal to {MAX_PERIOD_SECONDS}")
    tolerance = rules.get("tolerance")
    if tolerance is not None:
        try:
            q = parse_quantity(tolerance)
        except QuantityError as err:
            errs.invalid(f"{path}.tolerance", tolerance, str(err))
        else:
            if q.sign() < 0:
                errs.invalid(f"{path}.tolerance", q.text, "must be greater than or equal to zero")


def validate_hpa(hpa: Mapping[str, Any], *, scale_to_zero: bool = False) -> list[FieldError]:
    """The errors ``ValidateHorizontalPodAutoscaler`` returns (after defaulting), in order."""
    errs = _Errors()
    spec = _m(hpa.get("spec"))
    minimum = 0 if scale_to_zero else 1
    min_replicas = spec.get("minReplicas", 1)
    max_replicas = spec.get("maxReplicas", 0)
    if isinstance(min_replicas, int) and min_replicas < minimum:
        errs.invalid("spec.minReplicas", min_replicas,
                     f"must be greater than or equal to {minimum}")
    if isinstance(max_replicas, int) and max_replicas < 1:
        errs.invalid("spec.maxReplicas", max_replicas, "must be greater than 0")
    if isinstance(min_replicas, int) and isinstance(max_replicas, int) \
            and max_replicas < min_replicas:
        errs.invalid("spec.maxReplicas", max_replicas,
                     "must be greater than or equal to `minReplicas`")
    _cross_version_ref(errs, _m(spec.get("scaleTargetRef")), "spec.scaleTargetRef")
    metrics = spec.get("metrics") or []
    for i, raw in enumerate(metrics):
        _metric(errs, _m(raw), f"spec.metrics[{i}]")
    if min_replicas == 0 and not any(_m(m).get("type") in ("Object", "External")
                                     for m in metrics):
        errs.forbidden("spec.metrics", "must specify at least one Object or External metric to "
                                       "support scaling to zero replicas")
    behavior = spec.get("behavior")
    if behavior is not None:
        for direction in ("scaleUp", "scaleDown"):
            if _m(behavior).get(direction) is not None:
                _rules(errs, _m(_m(behavior)[direction]), f"spec.behavior.{direction}")
    return errs.items
