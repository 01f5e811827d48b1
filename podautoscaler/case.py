"""The case: everything one reconcile of one HPA reads, parsed and checked up front.

A case is a plain dict (JSON/YAML shaped) made of the objects users already have — an
``autoscaling/v2`` HorizontalPodAutoscaler, an ``autoscaling/v1`` Scale, v1 Pods, a
``metrics.k8s.io/v1beta1`` PodMetricsList — plus the instant ``now``, the controller's flags
and the in-memory history upstream keeps between syncs. Parsing converts quantities to exact
values, times to nanoseconds and durations to nanoseconds, and fails on the first problem
with a :class:`CaseError` naming the path (``pods[2].status.startTime``) and what was
expected. Unknown keys are an error at the top level and in ``controller``/``history`` (a typo
there silently changes the result); inside Kubernetes objects unknown fields are ignored, as
the controller ignores them. The HPA is defaulted as the API server does on create (§3.1):
``minReplicas`` 1, the default CPU metric, and ``spec.behavior`` field-by-field.
See ``docs/podautoscaler.md`` for the format.
"""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import gotime
from .quantities import Quantity, QuantityError, parse_quantity

__all__ = ["Case", "CaseError", "parse_case"]

ZERO_TIME = gotime.parse_rfc3339("0001-01-01T00:00:00Z")
LATEST_KUBE_VERSION = (1, 35)

_TOP_KEYS = ("now", "controller", "hpa", "scale", "pods", "podMetrics", "customMetrics",
             "externalMetrics", "history", "otherHPAs", "scaleUpdateError")
_CONTROLLER_KEYS = ("syncPeriod", "tolerance", "cpuInitializationPeriod",
                    "initialReadinessDelay", "downscaleStabilization", "scaleUpLimitFactor",
                    "scaleUpLimitMinimum", "kubeVersion", "featureGates")
_HISTORY_KEYS = ("recommendations", "scaleUpEvents", "scaleDownEvents")
# gate: (first minor it exists in, first minor it defaults on in)
_GATES = {"HPAConfigurableTolerance": (33, 35), "PodLevelResources": (32, 34),
          "HPAScaleToZero": (16, 1000)}  # alpha since 1.16; only lets validation allow 0


class CaseError(ValueError):
    """A case that cannot be reconciled: ``path`` names the field, ``message`` the problem."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


# ------------------------------------------------------------------------------ data model


@dataclass(frozen=True)
class ControllerConfig:
    sync_period: int = 15 * gotime.SECOND
    tolerance: float = 0.1
    cpu_initialization_period: int = 5 * gotime.MINUTE
    initial_readiness_delay: int = 30 * gotime.SECOND
    downscale_stabilization: int = 5 * gotime.MINUTE
    scale_up_limit_factor: float = 2.0
    scale_up_limit_minimum: float = 4.0
    kube_version: tuple[int, int] = LATEST_KUBE_VERSION
    gates: Mapping[str, bool] = field(default_factory=dict)

    def gate(self, name: str) -> bool:
        return bool(self.gates.get(name, False))


@dataclass(frozen=True)
class ReadyCondition:
    status: str
    last_transition: int


@dataclass(frozen=True)
class Container:
    name: str
    requests: Mapping[str, Quantity]
    restart_policy: str | None = None


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: Mapping[str, str]
    phase: str
    deleting: bool
    start_time: int | None
    ready: ReadyCondition | None
    containers: tuple[Container, ...]
    init_containers: tuple[Container, ...]
    pod_requests: Mapping[str, Quantity] | None
    overhead: Mapping[str, Quantity]


@dataclass(frozen=True)
class ContainerUsage:
    name: str
    usage: Mapping[str, Quantity]


@dataclass(frozen=True)
class PodMetrics:
    name: str
    timestamp: int
    window: int
    containers: tuple[ContainerUsage, ...]


@dataclass(frozen=True)
class MetricValue:
    """One ``custom.metrics.k8s.io`` MetricValue or ``external.metrics.k8s.io`` value."""

    kind: str
    name: str
    metric: str
    value: Quantity
    timestamp: int
    window: int | None


@dataclass(frozen=True)
class Target:
    type: str
    value: Quantity | None = None
    average_value: Quantity | None = None
    average_utilization: int | None = None


@dataclass(frozen=True)
class MetricSpec:
    type: str
    raw: Mapping[str, Any]
    name: str = ""  # resource name, or metric name for Pods/Object/External
    container: str = ""
    target: Target = Target("")
    selector: Mapping[str, Any] | None = None  # metric selector (Pods/Object/External)
    described: Mapping[str, str] | None = None  # Object's describedObject


@dataclass(frozen=True)
class Policy:
    type: str
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    stabilization_window_seconds: int | None
    select_policy: str
    policies: tuple[Policy, ...]
    tolerance: Quantity | None


@dataclass(frozen=True)
class Behavior:
    scale_up: ScalingRules
    scale_down: ScalingRules


@dataclass(frozen=True)
class HPA:
    name: str
    namespace: str
    target_api_version: str
    target_kind: str
    target_name: str
    min_replicas: int | None
    max_replicas: int
    metrics: tuple[MetricSpec, ...]
    behavior: Behavior | None
    status: Mapping[str, Any]
    defaults_applied: tuple[str, ...]


@dataclass(frozen=True)
class Scale:
    spec_replicas: int
    status_replicas: int
    selector: str


@dataclass(frozen=True)
class Recommendation:
    replicas: int
    timestamp: int


@dataclass(frozen=True)
class ScaleEvent:
    replica_change: int
    timestamp: int
    outdated: bool = False


@dataclass(frozen=True)
class History:
    recommendations: tuple[Recommendation, ...] | None
    scale_up_events: tuple[ScaleEvent, ...] = ()
    scale_down_events: tuple[ScaleEvent, ...] = ()


@dataclass(frozen=True)
class OtherHPA:
    namespace: str
    name: str
    selector: str


@dataclass(frozen=True)
class Case:
    now: int
    controller: ControllerConfig
    hpa: HPA
    scale: Scale | str
    pods: tuple[Pod, ...]
    pod_metrics: tuple[PodMetrics, ...] | str
    custom_metrics: tuple[MetricValue, ...] | str | None
    external_metrics: Mapping[str, tuple[MetricValue, ...] | str] | str | None
    history: History
    other_hpas: tuple[OtherHPA, ...]
    scale_update_error: str | None


# ------------------------------------------------------------------------------ readers


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__


def _mapping(value: object, path: str, *, optional: bool = True) -> Mapping[str, Any]:
    if value is None and optional:
        return {}
    if not isinstance(value, Mapping):
        raise CaseError(path, f"expected a mapping, got {_type_name(value)}")
    return value


def _list(value: object, path: str) -> Sequence[Any]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise CaseError(path, f"expected a list, got {_type_name(value)}")
    return value


def _known(obj: Mapping[str, Any], allowed: Sequence[str], path: str) -> None:
    for key in obj:
        if key not in allowed:
            raise CaseError(f"{path}.{key}" if path else str(key),
                            "unknown key; expected one of " + ", ".join(allowed))


def _str(value: object, path: str, *, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise CaseError(path, f"expected a string, got {_type_name(value)}")
    return value


def _int(value: object, path: str, *, minimum: int | None = None,
         default: int | None = None) -> int:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise CaseError(path, f"expected an integer, got {_type_name(value)}")
    if minimum is not None and value < minimum:
        raise CaseError(path, f"must be greater than or equal to {minimum}, got {value}")
    if not -(1 << 31) <= value < (1 << 31):
        raise CaseError(path, f"must fit in an int32, got {value}")
    return value


def _float(value: object, path: str, *, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CaseError(path, f"expected a number, got {_type_name(value)}")
    result = float(value)
    if minimum is not None and result < minimum:
        raise CaseError(path, f"must be greater than or equal to {minimum:g}, got {value!r}")
    return result


def _quantity(value: object, path: str) -> Quantity:
    try:
        return parse_quantity(value)
    except QuantityError as err:
        raise CaseError(path, f"{err} (got {_type_name(value)})") from None


def _time(value: object, path: str) -> int:
    if isinstance(value, _dt.datetime):
        return gotime.from_datetime(value)
    if isinstance(value, _dt.date):
        return gotime.from_datetime(_dt.datetime(value.year, value.month, value.day))
    if not isinstance(value, str):
        raise CaseError(path, f"expected an RFC 3339 time such as 2025-06-01T12:00:00Z, got "
                              f"{_type_name(value)}")
    try:
        return gotime.parse_rfc3339(value)
    except gotime.TimeFormatError as err:
        raise CaseError(path, str(err)) from None


def _optional_time(value: object, path: str) -> int | None:
    return None if value is None else _time(value, path)


def _duration(value: object, path: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool):
        raise CaseError(path, f"expected a duration such as 5m or 30s, got {_type_name(value)}")
    if isinstance(value, int | float):
        if value < 0:
            raise CaseError(path, f"must not be negative, got {value!r}")
        return round(value * gotime.SECOND)
    if not isinstance(value, str):
        raise CaseError(path, f"expected a duration such as 5m or 30s, got {_type_name(value)}")
    try:
        ns = gotime.parse_duration(value)
    except gotime.TimeFormatError as err:
        raise CaseError(path, str(err)) from None
    if ns < 0:
        raise CaseError(path, f"must not be negative, got {value!r}")
    return ns


def _resources(value: object, path: str) -> dict[str, Quantity]:
    return {str(k): _quantity(v, f"{path}.{k}") for k, v in _mapping(value, path).items()}


def _labels(value: object, path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in _mapping(value, path).items():
        out[str(k)] = _str(v, f"{path}.{k}") if not isinstance(v, int | float) else str(v)
    return out


# ------------------------------------------------------------------------------ controller


def _kube_version(value: object, path: str) -> tuple[int, int]:
    if value is None:
        return LATEST_KUBE_VERSION
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else None
    if text is None:
        raise CaseError(path, f'expected a version like "1.33", got {_type_name(value)}')
    parts = text.lstrip("v").split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]) or parts[0] != "1":
        raise CaseError(path, f'expected a version like "1.33", got {text!r}')
    return int(parts[0]), int(parts[1])


def parse_controller(value: object, path: str = "controller") -> ControllerConfig:
    obj = _mapping(value, path)
    _known(obj, _CONTROLLER_KEYS, path)
    d = ControllerConfig()
    version = _kube_version(obj.get("kubeVersion"), f"{path}.kubeVersion")
    gates_in = _mapping(obj.get("featureGates"), f"{path}.featureGates")
    gates: dict[str, bool] = {}
    for name, (_since, on_by_default) in _GATES.items():
        gates[name] = version[1] >= on_by_default
    for name, enabled in gates_in.items():
        gpath = f"{path}.featureGates.{name}"
        if name not in _GATES:
            raise CaseError(gpath, "unknown feature gate; this package models "
                                   + ", ".join(sorted(_GATES)))
        if not isinstance(enabled, bool):
            raise CaseError(gpath, f"expected true or false, got {_type_name(enabled)}")
        since = _GATES[name][0]
        if version[1] < since:
            raise CaseError(gpath, f"unrecognized feature gate: {name} (it exists from "
                                   f"1.{since}; controller.kubeVersion is 1.{version[1]})")
        gates[name] = enabled

    def num(key: str, default: float, minimum: float) -> float:
        raw = obj.get(key)
        return default if raw is None else _float(raw, f"{path}.{key}", minimum=minimum)

    return ControllerConfig(
        sync_period=_duration(obj.get("syncPeriod"), f"{path}.syncPeriod", d.sync_period),
        tolerance=num("tolerance", d.tolerance, 0.0),
        cpu_initialization_period=_duration(obj.get("cpuInitializationPeriod"),
                                            f"{path}.cpuInitializationPeriod",
                                            d.cpu_initialization_period),
        initial_readiness_delay=_duration(obj.get("initialReadinessDelay"),
                                          f"{path}.initialReadinessDelay",
                                          d.initial_readiness_delay),
        downscale_stabilization=_duration(obj.get("downscaleStabilization"),
                                          f"{path}.downscaleStabilization",
                                          d.downscale_stabilization),
        scale_up_limit_factor=num("scaleUpLimitFactor", d.scale_up_limit_factor, 0.0),
        scale_up_limit_minimum=num("scaleUpLimitMinimum", d.scale_up_limit_minimum, 0.0),
        kube_version=version,
        gates=gates,
    )


# ------------------------------------------------------------------------------ HPA

_DEFAULT_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
               "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                            {"type": "Percent", "value": 100, "periodSeconds": 15}]}
_DEFAULT_DOWN = {"stabilizationWindowSeconds": None, "selectPolicy": "Max",
                 "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _target(value: object, path: str) -> Target:
    obj = _mapping(value, path)
    util = obj.get("averageUtilization")
    return Target(
        type=_str(obj.get("type"), f"{path}.type", default=""),
        value=None if obj.get("value") is None else _quantity(obj["value"], f"{path}.value"),
        average_value=(None if obj.get("averageValue") is None
                       else _quantity(obj["averageValue"], f"{path}.averageValue")),
        average_utilization=None if util is None else _int(util, f"{path}.averageUtilization"),
    )


def _metric_identifier(value: object, path: str) -> tuple[str, Mapping[str, Any] | None]:
    obj = _mapping(value, path)
    selector = obj.get("selector")
    if selector is not None:
        _mapping(selector, f"{path}.selector")
    return _str(obj.get("name"), f"{path}.name", default=""), selector


def _metric_spec(value: object, path: str) -> MetricSpec:
    obj = _mapping(value, path, optional=False)
    mtype = _str(obj.get("type"), f"{path}.type", default="")
    raw = copy.deepcopy(dict(obj))
    if mtype == "Resource" and obj.get("resource") is not None:
        src = _mapping(obj["resource"], f"{path}.resource")
        return MetricSpec(mtype, raw, name=_str(src.get("name"), f"{path}.resource.name",
                                                default=""),
                          target=_target(src.get("target"), f"{path}.resource.target"))
    if mtype == "ContainerResource" and obj.get("containerResource") is not None:
        src = _mapping(obj["containerResource"], f"{path}.containerResource")
        p = f"{path}.containerResource"
        return MetricSpec(mtype, raw, name=_str(src.get("name"), f"{p}.name", default=""),
                          container=_str(src.get("container"), f"{p}.container", default=""),
                          target=_target(src.get("target"), f"{p}.target"))
    if mtype in ("Pods", "External") and obj.get(mtype.lower()) is not None:
        p = f"{path}.{mtype.lower()}"
        src = _mapping(obj[mtype.lower()], p)
        name, selector = _metric_identifier(src.get("metric"), f"{p}.metric")
        return MetricSpec(mtype, raw, name=name, selector=selector,
                          target=_target(src.get("target"), f"{p}.target"))
    if mtype == "Object" and obj.get("object") is not None:
        p = f"{path}.object"
        src = _mapping(obj["object"], p)
        name, selector = _metric_identifier(src.get("metric"), f"{p}.metric")
        ref = _mapping(src.get("describedObject"), f"{p}.describedObject")
        described = {k: _str(ref.get(k), f"{p}.describedObject.{k}", default="")
                     for k in ("apiVersion", "kind", "name")}
        return MetricSpec(mtype, raw, name=name, selector=selector, described=described,
                          target=_target(src.get("target"), f"{p}.target"))
    fields = {"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods",
              "Object": "object", "External": "external"}
    if mtype in fields:
        # upstream's controller dereferences the source and would crash; the API refuses it
        raise CaseError(f"{path}.{fields[mtype]}",
                        "must populate information for the given metric source")
    # An unknown type: the controller reports InvalidMetricSourceType (the API refuses it).
    return MetricSpec(mtype, raw)


def _rules(value: object, default: Mapping[str, Any], path: str) -> ScalingRules:
    obj = dict(default)
    if value is not None:
        given = _mapping(value, path)
        for key in ("stabilizationWindowSeconds", "selectPolicy", "policies", "tolerance"):
            if given.get(key) is not None:
                obj[key] = given[key]
    window = obj.get("stabilizationWindowSeconds")
    policies = []
    for i, raw in enumerate(_list(obj.get("policies"), f"{path}.policies")):
        pp = f"{path}.policies[{i}]"
        pol = _mapping(raw, pp, optional=False)
        policies.append(Policy(_str(pol.get("type"), f"{pp}.type", default=""),
                               _int(pol.get("value"), f"{pp}.value", default=0),
                               _int(pol.get("periodSeconds"), f"{pp}.periodSeconds", default=0)))
    tolerance = obj.get("tolerance")
    return ScalingRules(
        stabilization_window_seconds=(None if window is None
                                      else _int(window, f"{path}.stabilizationWindowSeconds")),
        select_policy=_str(obj.get("selectPolicy"), f"{path}.selectPolicy", default="Max"),
        policies=tuple(policies),
        tolerance=None if tolerance is None else _quantity(tolerance, f"{path}.tolerance"),
    )


def _status(value: object, path: str) -> dict[str, Any]:
    obj = dict(_mapping(value, path))
    for key in ("currentReplicas", "desiredReplicas"):
        obj[key] = _int(obj.get(key), f"{path}.{key}", default=0)
    if obj.get("lastScaleTime") is not None:
        _time(obj["lastScaleTime"], f"{path}.lastScaleTime")
    conditions = []
    for i, raw in enumerate(_list(obj.get("conditions"), f"{path}.conditions")):
        cp = f"{path}.conditions[{i}]"
        cond = dict(_mapping(raw, cp, optional=False))
        cond["type"] = _str(cond.get("type"), f"{cp}.type")
        cond["status"] = _str(cond.get("status"), f"{cp}.status", default="")
        if cond.get("lastTransitionTime") is not None:
            cond["lastTransitionTime"] = gotime.format_rfc3339(
                _time(cond["lastTransitionTime"], f"{cp}.lastTransitionTime"))
        conditions.append(cond)
    obj["conditions"] = conditions
    if obj.get("lastScaleTime") is not None:
        obj["lastScaleTime"] = gotime.format_rfc3339(_time(obj["lastScaleTime"],
                                                           f"{path}.lastScaleTime"))
    _list(obj.get("currentMetrics"), f"{path}.currentMetrics")
    return obj


def parse_hpa(value: object, path: str = "hpa") -> HPA:
    obj = _mapping(value, path, optional=False)
    api_version = obj.get("apiVersion", "autoscaling/v2")
    if api_version != "autoscaling/v2":
        raise CaseError(f"{path}.apiVersion", f"expected autoscaling/v2, got "
                                              f"{_type_name(api_version)}")
    kind = obj.get("kind", "HorizontalPodAutoscaler")
    if kind != "HorizontalPodAutoscaler":
        raise CaseError(f"{path}.kind", f"expected HorizontalPodAutoscaler, got "
                                        f"{_type_name(kind)}")
    meta = _mapping(obj.get("metadata"), f"{path}.metadata")
    spec = _mapping(obj.get("spec"), f"{path}.spec", optional=False)
    sp = f"{path}.spec"
    ref = _mapping(spec.get("scaleTargetRef"), f"{sp}.scaleTargetRef", optional=False)
    defaults: list[str] = []
    min_replicas = spec.get("minReplicas")
    if min_replicas is None:
        min_replicas = 1
        defaults.append("spec.minReplicas: 1")
    raw_metrics = _list(spec.get("metrics"), f"{sp}.metrics")
    if not raw_metrics:
        raw_metrics = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
        defaults.append("spec.metrics: cpu averageUtilization 80")
    behavior = None
    if spec.get("behavior") is not None:
        bp = f"{sp}.behavior"
        b = _mapping(spec["behavior"], bp)
        behavior = Behavior(_rules(b.get("scaleUp"), _DEFAULT_UP, f"{bp}.scaleUp"),
                            _rules(b.get("scaleDown"), _DEFAULT_DOWN, f"{bp}.scaleDown"))
        defaults.append("spec.behavior: unset fields from the API defaults")
    return HPA(
        name=_str(meta.get("name"), f"{path}.metadata.name", default="hpa"),
        namespace=_str(meta.get("namespace"), f"{path}.metadata.namespace", default="default"),
        target_api_version=_str(ref.get("apiVersion"), f"{sp}.scaleTargetRef.apiVersion",
                                default=""),
        target_kind=_str(ref.get("kind"), f"{sp}.scaleTargetRef.kind", default=""),
        target_name=_str(ref.get("name"), f"{sp}.scaleTargetRef.name", default=""),
        min_replicas=_int(min_replicas, f"{sp}.minReplicas"),
        max_replicas=_int(spec.get("maxReplicas"), f"{sp}.maxReplicas"),
        metrics=tuple(_metric_spec(m, f"{sp}.metrics[{i}]") for i, m in enumerate(raw_metrics)),
        behavior=behavior,
        status=_status(obj.get("status"), f"{path}.status"),
        defaults_applied=tuple(defaults),
    )


# ------------------------------------------------------------------------------ scale, pods


def parse_scale(value: object, path: str = "scale") -> Scale | str:
    if isinstance(value, str):
        return value
    obj = _mapping(value, path, optional=False)
    spec = _mapping(obj.get("spec"), f"{path}.spec")
    status = _mapping(obj.get("status"), f"{path}.status")
    return Scale(
        spec_replicas=_int(spec.get("replicas"), f"{path}.spec.replicas", minimum=0, default=0),
        status_replicas=_int(status.get("replicas"), f"{path}.status.replicas", minimum=0,
                             default=0),
        selector=_str(status.get("selector"), f"{path}.status.selector", default=""),
    )


def _container(value: object, path: str) -> Container:
    obj = _mapping(value, path, optional=False)
    resources = _mapping(obj.get("resources"), f"{path}.resources")
    policy = obj.get("restartPolicy")
    return Container(name=_str(obj.get("name"), f"{path}.name", default=""),
                     requests=_resources(resources.get("requests"), f"{path}.resources.requests"),
                     restart_policy=None if policy is None else _str(policy,
                                                                     f"{path}.restartPolicy"))


def _pod(value: object, path: str, namespace: str) -> Pod:
    obj = _mapping(value, path, optional=False)
    meta = _mapping(obj.get("metadata"), f"{path}.metadata")
    spec = _mapping(obj.get("spec"), f"{path}.spec")
    status = _mapping(obj.get("status"), f"{path}.status")
    ready = None
    for i, raw in enumerate(_list(status.get("conditions"), f"{path}.status.conditions")):
        cp = f"{path}.status.conditions[{i}]"
        cond = _mapping(raw, cp, optional=False)
        if cond.get("type") == "Ready":
            ltt = cond.get("lastTransitionTime")
            ready = ReadyCondition(_str(cond.get("status"), f"{cp}.status", default=""),
                                   ZERO_TIME if ltt is None else _time(ltt,
                                                                       f"{cp}.lastTransitionTime"))
            break
    pod_resources = spec.get("resources")
    pod_requests = None
    if pod_resources is not None:
        pr = _mapping(pod_resources, f"{path}.spec.resources")
        if pr.get("requests") is not None:
            pod_requests = _resources(pr["requests"], f"{path}.spec.resources.requests")
    return Pod(
        name=_str(meta.get("name"), f"{path}.metadata.name"),
        namespace=_str(meta.get("namespace"), f"{path}.metadata.namespace", default=namespace),
        labels=_labels(meta.get("labels"), f"{path}.metadata.labels"),
        phase=_str(status.get("phase"), f"{path}.status.phase", default=""),
        deleting=meta.get("deletionTimestamp") is not None,
        start_time=_optional_time(status.get("startTime"), f"{path}.status.startTime"),
        ready=ready,
        containers=tuple(_container(c, f"{path}.spec.containers[{i}]")
                         for i, c in enumerate(_list(spec.get("containers"),
                                                     f"{path}.spec.containers"))),
        init_containers=tuple(_container(c, f"{path}.spec.initContainers[{i}]")
                              for i, c in enumerate(_list(spec.get("initContainers"),
                                                          f"{path}.spec.initContainers"))),
        pod_requests=pod_requests,
        overhead=_resources(spec.get("overhead"), f"{path}.spec.overhead"),
    )


def _items(value: object, path: str) -> tuple[Sequence[Any], str]:
    """Accept a list or a ``…List`` object; return the items and their path prefix."""
    if isinstance(value, Mapping):
        return _list(value.get("items"), f"{path}.items"), f"{path}.items"
    return _list(value, path), path


def parse_pods(value: object, namespace: str, path: str = "pods") -> tuple[Pod, ...]:
    items, prefix = _items(value, path)
    pods = tuple(_pod(p, f"{prefix}[{i}]", namespace) for i, p in enumerate(items))
    seen: set[tuple[str, str]] = set()
    for i, pod in enumerate(pods):
        if (pod.namespace, pod.name) in seen:
            raise CaseError(f"{prefix}[{i}].metadata.name",
                            f"duplicate pod {pod.namespace}/{pod.name}")
        seen.add((pod.namespace, pod.name))
    return pods


def parse_pod_metrics(value: object, path: str = "podMetrics") -> tuple[PodMetrics, ...] | str:
    if isinstance(value, str):
        return value
    items, prefix = _items(value, path)
    out = []
    for i, raw in enumerate(items):
        ip = f"{prefix}[{i}]"
        obj = _mapping(raw, ip, optional=False)
        meta = _mapping(obj.get("metadata"), f"{ip}.metadata")
        ts = obj.get("timestamp")
        containers = []
        for j, c in enumerate(_list(obj.get("containers"), f"{ip}.containers")):
            cp = f"{ip}.containers[{j}]"
            cobj = _mapping(c, cp, optional=False)
            containers.append(ContainerUsage(_str(cobj.get("name"), f"{cp}.name", default=""),
                                             _resources(cobj.get("usage"), f"{cp}.usage")))
        out.append(PodMetrics(
            name=_str(meta.get("name"), f"{ip}.metadata.name"),
            timestamp=ZERO_TIME if ts is None else _time(ts, f"{ip}.timestamp"),
            window=_duration(obj.get("window"), f"{ip}.window", 0),
            containers=tuple(containers)))
    return tuple(out)


def _metric_values(value: object, path: str, external: bool) -> tuple[MetricValue, ...] | str:
    if isinstance(value, str):
        return value
    items, prefix = _items(value, path)
    out = []
    for i, raw in enumerate(items):
        ip = f"{prefix}[{i}]"
        obj = _mapping(raw, ip, optional=False)
        ts = obj.get("timestamp")
        window = obj.get("windowSeconds")
        if external:
            kind, name = "", ""
            metric = _str(obj.get("metricName"), f"{ip}.metricName", default="")
        else:
            ref = _mapping(obj.get("describedObject"), f"{ip}.describedObject")
            kind = _str(ref.get("kind"), f"{ip}.describedObject.kind", default="")
            name = _str(ref.get("name"), f"{ip}.describedObject.name", default="")
            metric = _str(_mapping(obj.get("metric"), f"{ip}.metric").get("name"),
                          f"{ip}.metric.name", default="")
        out.append(MetricValue(kind=kind, name=name, metric=metric,
                               value=_quantity(obj.get("value"), f"{ip}.value"),
                               timestamp=ZERO_TIME if ts is None else _time(ts, f"{ip}.timestamp"),
                               window=None if window is None else _int(window,
                                                                       f"{ip}.windowSeconds")))
    return tuple(out)


def _external(value: object, path: str) -> Mapping[str, tuple[MetricValue, ...] | str] | str:
    if isinstance(value, str):
        return value
    obj = _mapping(value, path, optional=False)
    return {str(k): _metric_values(v, f"{path}.{k}", external=True) for k, v in obj.items()}


def _events(value: object, path: str) -> tuple[ScaleEvent, ...]:
    out = []
    for i, raw in enumerate(_list(value, path)):
        ep = f"{path}[{i}]"
        obj = _mapping(raw, ep, optional=False)
        _known(obj, ("replicaChange", "timestamp", "outdated"), ep)
        outdated = obj.get("outdated", False)
        if not isinstance(outdated, bool):
            raise CaseError(f"{ep}.outdated", f"expected true or false, got "
                                              f"{_type_name(outdated)}")
        out.append(ScaleEvent(_int(obj.get("replicaChange"), f"{ep}.replicaChange", minimum=0),
                              _time(obj.get("timestamp"), f"{ep}.timestamp"), outdated))
    return tuple(out)


def parse_history(value: object, path: str = "history") -> History:
    obj = _mapping(value, path)
    _known(obj, _HISTORY_KEYS, path)
    recs = None
    if obj.get("recommendations") is not None:
        out = []
        for i, raw in enumerate(_list(obj["recommendations"], f"{path}.recommendations")):
            rp = f"{path}.recommendations[{i}]"
            rec = _mapping(raw, rp, optional=False)
            _known(rec, ("replicas", "timestamp"), rp)
            out.append(Recommendation(_int(rec.get("replicas"), f"{rp}.replicas", minimum=0),
                                      _time(rec.get("timestamp"), f"{rp}.timestamp")))
        recs = tuple(out)
    return History(recs, _events(obj.get("scaleUpEvents"), f"{path}.scaleUpEvents"),
                   _events(obj.get("scaleDownEvents"), f"{path}.scaleDownEvents"))


def parse_case(case: object) -> Case:
    """Check and convert a case dict; raises :class:`CaseError` on the first problem."""
    obj = _mapping(case, "", optional=False)
    _known(obj, _TOP_KEYS, "")
    for key in ("now", "hpa", "scale"):
        if obj.get(key) is None:
            raise CaseError(key, "required")
    hpa = parse_hpa(obj["hpa"])
    others = []
    for i, raw in enumerate(_list(obj.get("otherHPAs"), "otherHPAs")):
        op = f"otherHPAs[{i}]"
        o = _mapping(raw, op, optional=False)
        _known(o, ("namespace", "name", "selector"), op)
        others.append(OtherHPA(_str(o.get("namespace"), f"{op}.namespace", default=hpa.namespace),
                               _str(o.get("name"), f"{op}.name"),
                               _str(o.get("selector"), f"{op}.selector")))
    update_error = obj.get("scaleUpdateError")
    pod_metrics = obj.get("podMetrics")
    return Case(
        now=_time(obj["now"], "now"),
        controller=parse_controller(obj.get("controller")),
        hpa=hpa,
        scale=parse_scale(obj["scale"]),
        pods=parse_pods(obj.get("pods"), hpa.namespace),
        pod_metrics=parse_pod_metrics([] if pod_metrics is None else pod_metrics),
        custom_metrics=(None if obj.get("customMetrics") is None
                        else _metric_values(obj["customMetrics"], "customMetrics", False)),
        external_metrics=(None if obj.get("externalMetrics") is None
                          else _external(obj["externalMetrics"], "externalMetrics")),
        history=parse_history(obj.get("history")),
        other_hpas=tuple(others),
        scale_update_error=(None if update_error is None
                            else _str(update_error, "scaleUpdateError")),
    )
