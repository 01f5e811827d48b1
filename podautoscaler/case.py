"""The case: everything one reconcile of one HPA reads, parsed and checked up front.

A case is a plain dict (JSON/YAML shaped) made of the objects users already have — an
``autoscaling/v2`` HorizontalPodAutoscaler, an ``autoscaling/v1`` Scale, v1 Pods, a
``metrics.k8s.io/v1beta1`` PodMetricsList — plus the instant ``now``, the controller's flags
and the in-memory history upstream keeps between syncs. Parsing converts quantities to exact
values, times to nanoseconds and durations to nanoseconds, and fails on the first problem
with a :class:`CaseError` naming the path (``pods[2].status.startTime``) and what was
expected. Unknown keys are an error at the top level and in ``controller``/``history`` (a typo
there silently changes the result); inside Kubernetes objects unknown fields are ignored, as
the controller ignores them. The HPA is defaulted as the API server does on create
(autoscaling/v2 defaults.go): ``minReplicas`` 1, the default CPU metric, and ``spec.behavior``
field-by-field.
See ``docs/podautoscaler.md`` for the format.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from . import gotime
from .model import (
    HPA,
    LATEST_KUBE_VERSION,
    Behavior,
    Case,
    CaseError,
    Container,
    ContainerUsage,
    ControllerConfig,
    History,
    MetricSpec,
    MetricValue,
    OtherHPA,
    Pod,
    PodMetrics,
    Policy,
    ReadyCondition,
    Recommendation,
    Scale,
    ScaleEvent,
    ScalingRules,
    Target,
)
from .readers import (
    check_known,
    read_duration,
    read_float,
    read_int,
    read_labels,
    read_list,
    read_mapping,
    read_optional_time,
    read_quantity,
    read_resources,
    read_str,
    read_time,
    type_name,
)

__all__ = ["Case", "CaseError", "parse_case"]

ZERO_TIME = gotime.parse_rfc3339("0001-01-01T00:00:00Z")

_TOP_KEYS = ("now", "controller", "hpa", "scale", "pods", "podMetrics", "customMetrics",
             "externalMetrics", "history", "otherHPAs", "scaleUpdateError")
_CONTROLLER_KEYS = ("syncPeriod", "tolerance", "cpuInitializationPeriod",
                    "initialReadinessDelay", "downscaleStabilization", "scaleUpLimitFactor",
                    "scaleUpLimitMinimum", "kubeVersion", "featureGates")
_HISTORY_KEYS = ("recommendations", "scaleUpEvents", "scaleDownEvents")
# gate: (first minor it exists in, first minor it defaults on in)
_GATES = {"HPAConfigurableTolerance": (33, 35), "PodLevelResources": (32, 34),
          "HPAScaleToZero": (16, 1000)}  # alpha since 1.16; only lets validation allow 0


# ------------------------------------------------------------------------------ controller


def _kube_version(value: object, path: str) -> tuple[int, int]:
    if value is None:
        return LATEST_KUBE_VERSION
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else None
    if text is None:
        raise CaseError(path, f'expected a version like "1.33", got {type_name(value)}')
    parts = text.lstrip("v").split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]) or parts[0] != "1":
        raise CaseError(path, f'expected a version like "1.33", got {text!r}')
    return int(parts[0]), int(parts[1])


def parse_controller(value: object, path: str = "controller") -> ControllerConfig:
    obj = read_mapping(value, path)
    check_known(obj, _CONTROLLER_KEYS, path)
    d = ControllerConfig()
    version = _kube_version(obj.get("kubeVersion"), f"{path}.kubeVersion")
    gates_in = read_mapping(obj.get("featureGates"), f"{path}.featureGates")
    gates: dict[str, bool] = {}
    for name, (_since, on_by_default) in _GATES.items():
        gates[name] = version[1] >= on_by_default
    for name, enabled in gates_in.items():
        gpath = f"{path}.featureGates.{name}"
        if name not in _GATES:
            raise CaseError(gpath, "unknown feature gate; this package models "
                                   + ", ".join(sorted(_GATES)))
        if not isinstance(enabled, bool):
            raise CaseError(gpath, f"expected true or false, got {type_name(enabled)}")
        since = _GATES[name][0]
        if version[1] < since:
            raise CaseError(gpath, f"unrecognized feature gate: {name} (it exists from "
                                   f"1.{since}; controller.kubeVersion is 1.{version[1]})")
        gates[name] = enabled

    def num(key: str, default: float, minimum: float) -> float:
        raw = obj.get(key)
        return default if raw is None else read_float(raw, f"{path}.{key}", minimum=minimum)

    return ControllerConfig(
        sync_period=read_duration(obj.get("syncPeriod"), f"{path}.syncPeriod", d.sync_period),
        tolerance=num("tolerance", d.tolerance, 0.0),
        cpu_initialization_period=read_duration(obj.get("cpuInitializationPeriod"),
                                            f"{path}.cpuInitializationPeriod",
                                            d.cpu_initialization_period),
        initial_readiness_delay=read_duration(obj.get("initialReadinessDelay"),
                                          f"{path}.initialReadinessDelay",
                                          d.initial_readiness_delay),
        downscale_stabilization=read_duration(obj.get("downscaleStabilization"),
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
    obj = read_mapping(value, path)
    util = obj.get("averageUtilization")
    return Target(
        type=read_str(obj.get("type"), f"{path}.type", default=""),
        value=None if obj.get("value") is None else read_quantity(obj["value"], f"{path}.value"),
        average_value=(None if obj.get("averageValue") is None
                       else read_quantity(obj["averageValue"], f"{path}.averageValue")),
        average_utilization=None if util is None else read_int(util, f"{path}.averageUtilization"),
    )


def _metric_identifier(value: object, path: str) -> tuple[str, Mapping[str, Any] | None]:
    obj = read_mapping(value, path)
    selector = obj.get("selector")
    if selector is not None:
        read_mapping(selector, f"{path}.selector")
    return read_str(obj.get("name"), f"{path}.name", default=""), selector


def _metric_spec(value: object, path: str) -> MetricSpec:
    obj = read_mapping(value, path, optional=False)
    mtype = read_str(obj.get("type"), f"{path}.type", default="")
    raw = copy.deepcopy(dict(obj))
    if mtype == "Resource" and obj.get("resource") is not None:
        src = read_mapping(obj["resource"], f"{path}.resource")
        return MetricSpec(mtype, raw, name=read_str(src.get("name"), f"{path}.resource.name",
                                                default=""),
                          target=_target(src.get("target"), f"{path}.resource.target"))
    if mtype == "ContainerResource" and obj.get("containerResource") is not None:
        src = read_mapping(obj["containerResource"], f"{path}.containerResource")
        p = f"{path}.containerResource"
        return MetricSpec(mtype, raw, name=read_str(src.get("name"), f"{p}.name", default=""),
                          container=read_str(src.get("container"), f"{p}.container", default=""),
                          target=_target(src.get("target"), f"{p}.target"))
    if mtype in ("Pods", "External") and obj.get(mtype.lower()) is not None:
        p = f"{path}.{mtype.lower()}"
        src = read_mapping(obj[mtype.lower()], p)
        name, selector = _metric_identifier(src.get("metric"), f"{p}.metric")
        return MetricSpec(mtype, raw, name=name, selector=selector,
                          target=_target(src.get("target"), f"{p}.target"))
    if mtype == "Object" and obj.get("object") is not None:
        p = f"{path}.object"
        src = read_mapping(obj["object"], p)
        name, selector = _metric_identifier(src.get("metric"), f"{p}.metric")
        ref = read_mapping(src.get("describedObject"), f"{p}.describedObject")
        described = {k: read_str(ref.get(k), f"{p}.describedObject.{k}", default="")
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
        given = read_mapping(value, path)
        for key in ("stabilizationWindowSeconds", "selectPolicy", "policies", "tolerance"):
            if given.get(key) is not None:
                obj[key] = given[key]
    window = obj.get("stabilizationWindowSeconds")
    policies = []
    for i, raw in enumerate(read_list(obj.get("policies"), f"{path}.policies")):
        pp = f"{path}.policies[{i}]"
        pol = read_mapping(raw, pp, optional=False)
        policies.append(Policy(
            read_str(pol.get("type"), f"{pp}.type", default=""),
            read_int(pol.get("value"), f"{pp}.value", default=0),
            read_int(pol.get("periodSeconds"), f"{pp}.periodSeconds", default=0)))
    tolerance = obj.get("tolerance")
    return ScalingRules(
        stabilization_window_seconds=(None if window is None
                                      else read_int(window, f"{path}.stabilizationWindowSeconds")),
        select_policy=read_str(obj.get("selectPolicy"), f"{path}.selectPolicy", default="Max"),
        policies=tuple(policies),
        tolerance=None if tolerance is None else read_quantity(tolerance, f"{path}.tolerance"),
    )


def _status(value: object, path: str) -> dict[str, Any]:
    obj = dict(read_mapping(value, path))
    for key in ("currentReplicas", "desiredReplicas"):
        obj[key] = read_int(obj.get(key), f"{path}.{key}", default=0)
    if obj.get("lastScaleTime") is not None:
        read_time(obj["lastScaleTime"], f"{path}.lastScaleTime")
    conditions = []
    for i, raw in enumerate(read_list(obj.get("conditions"), f"{path}.conditions")):
        cp = f"{path}.conditions[{i}]"
        cond = dict(read_mapping(raw, cp, optional=False))
        cond["type"] = read_str(cond.get("type"), f"{cp}.type")
        cond["status"] = read_str(cond.get("status"), f"{cp}.status", default="")
        if cond.get("lastTransitionTime") is not None:
            cond["lastTransitionTime"] = gotime.format_rfc3339(
                read_time(cond["lastTransitionTime"], f"{cp}.lastTransitionTime"))
        conditions.append(cond)
    obj["conditions"] = conditions
    if obj.get("lastScaleTime") is not None:
        obj["lastScaleTime"] = gotime.format_rfc3339(read_time(obj["lastScaleTime"],
                                                           f"{path}.lastScaleTime"))
    read_list(obj.get("currentMetrics"), f"{path}.currentMetrics")
    return obj


def parse_hpa(value: object, path: str = "hpa") -> HPA:
    obj = read_mapping(value, path, optional=False)
    api_version = obj.get("apiVersion", "autoscaling/v2")
    if api_version != "autoscaling/v2":
        raise CaseError(f"{path}.apiVersion", f"expected autoscaling/v2, got "
                                              f"{type_name(api_version)}")
    kind = obj.get("kind", "HorizontalPodAutoscaler")
    if kind != "HorizontalPodAutoscaler":
        raise CaseError(f"{path}.kind", f"expected HorizontalPodAutoscaler, got "
                                        f"{type_name(kind)}")
    meta = read_mapping(obj.get("metadata"), f"{path}.metadata")
    spec = read_mapping(obj.get("spec"), f"{path}.spec", optional=False)
    sp = f"{path}.spec"
    ref = read_mapping(spec.get("scaleTargetRef"), f"{sp}.scaleTargetRef", optional=False)
    defaults: list[str] = []
    min_replicas = spec.get("minReplicas")
    if min_replicas is None:
        min_replicas = 1
        defaults.append("spec.minReplicas: 1")
    raw_metrics = read_list(spec.get("metrics"), f"{sp}.metrics")
    if not raw_metrics:
        raw_metrics = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
        defaults.append("spec.metrics: cpu averageUtilization 80")
    behavior = None
    if spec.get("behavior") is not None:
        bp = f"{sp}.behavior"
        b = read_mapping(spec["behavior"], bp)
        behavior = Behavior(_rules(b.get("scaleUp"), _DEFAULT_UP, f"{bp}.scaleUp"),
                            _rules(b.get("scaleDown"), _DEFAULT_DOWN, f"{bp}.scaleDown"))
        defaults.append("spec.behavior: unset fields from the API defaults")
    return HPA(
        name=read_str(meta.get("name"), f"{path}.metadata.name", default="hpa"),
        namespace=read_str(meta.get("namespace"), f"{path}.metadata.namespace", default="default"),
        target_api_version=read_str(ref.get("apiVersion"), f"{sp}.scaleTargetRef.apiVersion",
                                default=""),
        target_kind=read_str(ref.get("kind"), f"{sp}.scaleTargetRef.kind", default=""),
        target_name=read_str(ref.get("name"), f"{sp}.scaleTargetRef.name", default=""),
        min_replicas=read_int(min_replicas, f"{sp}.minReplicas"),
        max_replicas=read_int(spec.get("maxReplicas"), f"{sp}.maxReplicas"),
        metrics=tuple(_metric_spec(m, f"{sp}.metrics[{i}]") for i, m in enumerate(raw_metrics)),
        behavior=behavior,
        status=_status(obj.get("status"), f"{path}.status"),
        defaults_applied=tuple(defaults),
    )


# ------------------------------------------------------------------------------ scale, pods


def parse_scale(value: object, path: str = "scale") -> Scale | str:
    if isinstance(value, str):
        return value
    obj = read_mapping(value, path, optional=False)
    spec = read_mapping(obj.get("spec"), f"{path}.spec")
    status = read_mapping(obj.get("status"), f"{path}.status")
    return Scale(
        spec_replicas=read_int(spec.get("replicas"), f"{path}.spec.replicas", minimum=0, default=0),
        status_replicas=read_int(status.get("replicas"), f"{path}.status.replicas", minimum=0,
                             default=0),
        selector=read_str(status.get("selector"), f"{path}.status.selector", default=""),
    )


def _container(value: object, path: str) -> Container:
    obj = read_mapping(value, path, optional=False)
    resources = read_mapping(obj.get("resources"), f"{path}.resources")
    policy = obj.get("restartPolicy")
    return Container(name=read_str(obj.get("name"), f"{path}.name", default=""),
                     requests=read_resources(resources.get("requests"),
                                             f"{path}.resources.requests"),
                     restart_policy=None if policy is None else read_str(policy,
                                                                     f"{path}.restartPolicy"))


def _pod(value: object, path: str, namespace: str) -> Pod:
    obj = read_mapping(value, path, optional=False)
    meta = read_mapping(obj.get("metadata"), f"{path}.metadata")
    spec = read_mapping(obj.get("spec"), f"{path}.spec")
    status = read_mapping(obj.get("status"), f"{path}.status")
    ready = None
    for i, raw in enumerate(read_list(status.get("conditions"), f"{path}.status.conditions")):
        cp = f"{path}.status.conditions[{i}]"
        cond = read_mapping(raw, cp, optional=False)
        if cond.get("type") == "Ready":
            ltt = cond.get("lastTransitionTime")
            ready = ReadyCondition(read_str(cond.get("status"), f"{cp}.status", default=""),
                                   ZERO_TIME if ltt is None else read_time(ltt,
                                                                       f"{cp}.lastTransitionTime"))
            break
    pod_resources = spec.get("resources")
    pod_requests = None
    if pod_resources is not None:
        pr = read_mapping(pod_resources, f"{path}.spec.resources")
        if pr.get("requests") is not None:
            pod_requests = read_resources(pr["requests"], f"{path}.spec.resources.requests")
    return Pod(
        name=read_str(meta.get("name"), f"{path}.metadata.name"),
        namespace=read_str(meta.get("namespace"), f"{path}.metadata.namespace", default=namespace),
        labels=read_labels(meta.get("labels"), f"{path}.metadata.labels"),
        phase=read_str(status.get("phase"), f"{path}.status.phase", default=""),
        deleting=meta.get("deletionTimestamp") is not None,
        start_time=read_optional_time(status.get("startTime"), f"{path}.status.startTime"),
        ready=ready,
        containers=tuple(_container(c, f"{path}.spec.containers[{i}]")
                         for i, c in enumerate(read_list(spec.get("containers"),
                                                     f"{path}.spec.containers"))),
        init_containers=tuple(_container(c, f"{path}.spec.initContainers[{i}]")
                              for i, c in enumerate(read_list(spec.get("initContainers"),
                                                          f"{path}.spec.initContainers"))),
        pod_requests=pod_requests,
        overhead=read_resources(spec.get("overhead"), f"{path}.spec.overhead"),
    )


def _items(value: object, path: str) -> tuple[Sequence[Any], str]:
    """Accept a list or a ``…List`` object; return the items and their path prefix."""
    if isinstance(value, Mapping):
        return read_list(value.get("items"), f"{path}.items"), f"{path}.items"
    return read_list(value, path), path


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
        obj = read_mapping(raw, ip, optional=False)
        meta = read_mapping(obj.get("metadata"), f"{ip}.metadata")
        ts = obj.get("timestamp")
        containers = []
        for j, c in enumerate(read_list(obj.get("containers"), f"{ip}.containers")):
            cp = f"{ip}.containers[{j}]"
            cobj = read_mapping(c, cp, optional=False)
            containers.append(ContainerUsage(read_str(cobj.get("name"), f"{cp}.name", default=""),
                                             read_resources(cobj.get("usage"), f"{cp}.usage")))
        out.append(PodMetrics(
            name=read_str(meta.get("name"), f"{ip}.metadata.name"),
            timestamp=ZERO_TIME if ts is None else read_time(ts, f"{ip}.timestamp"),
            window=read_duration(obj.get("window"), f"{ip}.window", 0),
            containers=tuple(containers)))
    return tuple(out)


def _metric_values(value: object, path: str, external: bool) -> tuple[MetricValue, ...] | str:
    if isinstance(value, str):
        return value
    items, prefix = _items(value, path)
    out = []
    for i, raw in enumerate(items):
        ip = f"{prefix}[{i}]"
        obj = read_mapping(raw, ip, optional=False)
        ts = obj.get("timestamp")
        window = obj.get("windowSeconds")
        if external:
            kind, name = "", ""
            metric = read_str(obj.get("metricName"), f"{ip}.metricName", default="")
        else:
            ref = read_mapping(obj.get("describedObject"), f"{ip}.describedObject")
            kind = read_str(ref.get("kind"), f"{ip}.describedObject.kind", default="")
            name = read_str(ref.get("name"), f"{ip}.describedObject.name", default="")
            metric = read_str(read_mapping(obj.get("metric"), f"{ip}.metric").get("name"),
                          f"{ip}.metric.name", default="")
        out.append(MetricValue(kind=kind, name=name, metric=metric,
                               value=read_quantity(obj.get("value"), f"{ip}.value"),
                               timestamp=(ZERO_TIME if ts is None
                                          else read_time(ts, f"{ip}.timestamp")),
                               window=None if window is None else read_int(window,
                                                                       f"{ip}.windowSeconds")))
    return tuple(out)


def _external(value: object, path: str) -> Mapping[str, tuple[MetricValue, ...] | str] | str:
    if isinstance(value, str):
        return value
    obj = read_mapping(value, path, optional=False)
    return {str(k): _metric_values(v, f"{path}.{k}", external=True) for k, v in obj.items()}


def _events(value: object, path: str) -> tuple[ScaleEvent, ...]:
    out = []
    for i, raw in enumerate(read_list(value, path)):
        ep = f"{path}[{i}]"
        obj = read_mapping(raw, ep, optional=False)
        check_known(obj, ("replicaChange", "timestamp", "outdated"), ep)
        outdated = obj.get("outdated", False)
        if not isinstance(outdated, bool):
            raise CaseError(f"{ep}.outdated", f"expected true or false, got "
                                              f"{type_name(outdated)}")
        out.append(ScaleEvent(read_int(obj.get("replicaChange"), f"{ep}.replicaChange", minimum=0),
                              read_time(obj.get("timestamp"), f"{ep}.timestamp"), outdated))
    return tuple(out)


def parse_history(value: object, path: str = "history") -> History:
    obj = read_mapping(value, path)
    check_known(obj, _HISTORY_KEYS, path)
    recs = None
    if obj.get("recommendations") is not None:
        out = []
        for i, raw in enumerate(read_list(obj["recommendations"], f"{path}.recommendations")):
            rp = f"{path}.recommendations[{i}]"
            rec = read_mapping(raw, rp, optional=False)
            check_known(rec, ("replicas", "timestamp"), rp)
            out.append(Recommendation(read_int(rec.get("replicas"), f"{rp}.replicas", minimum=0),
                                      read_time(rec.get("timestamp"), f"{rp}.timestamp")))
        recs = tuple(out)
    return History(recs, _events(obj.get("scaleUpEvents"), f"{path}.scaleUpEvents"),
                   _events(obj.get("scaleDownEvents"), f"{path}.scaleDownEvents"))


def parse_case(case: object) -> Case:
    """Check and convert a case dict; raises :class:`CaseError` on the first problem."""
    obj = read_mapping(case, "", optional=False)
    check_known(obj, _TOP_KEYS, "")
    for key in ("now", "hpa", "scale"):
        if obj.get(key) is None:
            raise CaseError(key, "required")
    hpa = parse_hpa(obj["hpa"])
    others = []
    for i, raw in enumerate(read_list(obj.get("otherHPAs"), "otherHPAs")):
        op = f"otherHPAs[{i}]"
        o = read_mapping(raw, op, optional=False)
        check_known(o, ("namespace", "name", "selector"), op)
        others.append(OtherHPA(
            read_str(o.get("namespace"), f"{op}.namespace", default=hpa.namespace),
            read_str(o.get("name"), f"{op}.name"),
            read_str(o.get("selector"), f"{op}.selector")))
    update_error = obj.get("scaleUpdateError")
    pod_metrics = obj.get("podMetrics")
    return Case(
        now=read_time(obj["now"], "now"),
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
                            else read_str(update_error, "scaleUpdateError")),
    )
