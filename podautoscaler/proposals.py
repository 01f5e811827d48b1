"""Every metric of the HPA to one proposal: ``computeReplicasForMetrics`` and its helpers.

Each metric yields a proposal, a ``status.currentMetrics`` entry and, on failure, a
``FailedGet…Metric`` Warning event plus a ScalingActive condition candidate, with upstream's
error chain (``unable to get metrics for resource cpu: …`` → ``failed to get cpu
utilization: …`` → ``failed to get cpu resource metric value: …``). The maximum proposal wins
(the first maximal metric names the reason); if every metric failed, or some failed and the
valid maximum would scale down, the result is a failure whose text is
``invalid metrics (k invalid out of m), first error is: …`` (upstream's computeReplicasForMetrics).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import gotime
from . import selectors as sel
from .conditions import MISSING_SELECTOR, SCALING_ACTIVE, UNABLE_TO_COMPUTE, event
from .metrics import (
    MetricsError,
    capped_sum,
    external_metric,
    object_metric,
    pod_requests,
    pods_custom_metric,
    resource_metric,
)
from .model import Case, MetricSpec, Pod, Scale
from .quantities import format_milli
from .replicas import (
    CalcError,
    Proposal,
    Tolerances,
    average_value_target,
    plain_average,
    resource_utilization,
    value_target,
)

__all__ = ["MetricsOutcome", "compute_replicas_for_metrics", "select_pods"]


@dataclass
class MetricsOutcome:
    replicas: int  # -1: no usable proposal
    metric: str
    statuses: list[dict[str, Any]] | None
    error: str | None
    condition: tuple[str, str, str, str] | None  # ScalingActive (type, status, reason, msg)
    events: list[dict[str, str]] = field(default_factory=list)
    traces: list[dict[str, Any]] = field(default_factory=list)
    pods: dict[str, Any] = field(default_factory=dict)
    timestamp: int | None = None


class _MetricFailure(Exception):
    """One metric failed: ``reason`` is the condition reason, ``event_text`` the event
    message (the condition's ``<err>``), ``str()`` the wrapped error for ``invalid metrics``."""

    def __init__(self, reason: str, event_text: str, wrapped: str) -> None:
        super().__init__(wrapped)
        self.reason = reason
        self.event_text = event_text


def select_pods(case: Case, selector: sel.Selector) -> tuple[list[Pod], list[dict[str, str]]]:
    """The pod lister: the HPA's namespace, matched by the scale's selector."""
    chosen, skipped = [], []
    for pod in case.pods:
        if pod.namespace != case.hpa.namespace:
            skipped.append({"name": pod.name, "reason": f"in namespace {pod.namespace}"})
        elif not selector.matches(pod.labels):
            skipped.append({"name": pod.name, "reason": "labels do not match the selector"})
        else:
            chosen.append(pod)
    return chosen, skipped


def _ambiguous(case: Case, pods: Sequence[Pod]) -> list[str]:
    keys = {f"{case.hpa.namespace}/{case.hpa.name}"}
    for other in case.other_hpas:
        if other.namespace != case.hpa.namespace:
            continue
        try:
            other_sel = sel.parse(other.selector) if other.selector else None
        except sel.SelectorError:
            other_sel = None
        if other_sel is not None and any(other_sel.matches(p.labels) for p in pods):
            keys.add(f"{other.namespace}/{other.name}")
    return sorted(keys)


def _fail(outcome: MetricsOutcome, reason: str, condition_message: str, event_reason: str,
          event_message: str, error: str) -> MetricsOutcome:
    outcome.events.append(event("Warning", event_reason, event_message))
    outcome.condition = (SCALING_ACTIVE, "False", reason, condition_message)
    outcome.error = error
    return outcome


def compute_replicas_for_metrics(case: Case, scale: Scale,
                                 tolerances: Tolerances) -> MetricsOutcome:
    outcome = MetricsOutcome(-1, "", None, None, None)
    if not scale.selector:
        return _fail(outcome, "InvalidSelector", MISSING_SELECTOR, "SelectorRequired",
                     "selector is required", "selector is required")
    try:
        selector = sel.parse(scale.selector)
    except sel.SelectorError as err:
        text = f"couldn't convert selector into a corresponding internal selector object: {err}"
        return _fail(outcome, "InvalidSelector", text, "InvalidSelector", text, text)
    pods, skipped = select_pods(case, selector)
    outcome.pods = {"selector": scale.selector, "selected": [p.name for p in pods],
                    "notSelected": skipped}
    owners = _ambiguous(case, pods)
    if len(owners) > 1:
        text = (f"pods by selector {scale.selector} are controlled by multiple HPAs: "
                f"[{' '.join(owners)}]")
        return _fail(outcome, "AmbiguousSelector", text, "AmbiguousSelector", text, text)

    specs = case.hpa.metrics
    statuses: list[dict[str, Any]] = [{"type": ""} for _ in specs]
    outcome.statuses = statuses
    invalid = 0
    first_error: str | None = None
    first_condition: tuple[str, str, str, str] | None = None
    replicas = 0
    for i, spec in enumerate(specs):
        trace: dict[str, Any] = {"index": i, "type": spec.type}
        outcome.traces.append(trace)
        try:
            proposal, description, status = _compute_one(case, spec, scale, pods, tolerances,
                                                         trace)
        except _MetricFailure as failure:
            outcome.events.append(event("Warning", failure.reason, failure.event_text))
            trace["error"] = {"reason": failure.reason, "message": failure.event_text,
                              "wrapped": str(failure)}
            if invalid <= 0:
                first_condition = (SCALING_ACTIVE, "False", failure.reason,
                                   UNABLE_TO_COMPUTE.format(failure.event_text))
                first_error = str(failure)
            invalid += 1
            continue
        statuses[i] = status
        trace.update(description=description, proposal=proposal.replicas)
        if replicas == 0 or proposal.replicas > replicas:
            outcome.timestamp = proposal.timestamp
            replicas = proposal.replicas
            outcome.metric = description
    if first_error is not None:
        outcome.error = (f"invalid metrics ({invalid} invalid out of {len(specs)}), first "
                         f"error is: {first_error}")
    if invalid >= len(specs) or (invalid > 0 and replicas < scale.spec_replicas):
        outcome.condition = first_condition
        outcome.replicas = -1
        outcome.metric = ""
        return outcome
    outcome.condition = (SCALING_ACTIVE, "True", "ValidMetricFound",
                         f"the HPA was able to successfully calculate a replica count from "
                         f"{outcome.metric}")
    outcome.replicas = replicas
    return outcome


def _compute_one(case: Case, spec: MetricSpec, scale: Scale, pods: list[Pod],
                 tolerances: Tolerances,
                 trace: dict[str, Any]) -> tuple[Proposal, str, dict[str, Any]]:
    if spec.type in ("Resource", "ContainerResource"):
        return _resource(case, spec, scale, pods, tolerances, trace)
    if spec.type == "Pods":
        return _pods(case, spec, scale, pods, tolerances, trace)
    if spec.type == "Object":
        return _object(case, spec, scale, pods, tolerances, trace)
    if spec.type == "External":
        return _external(case, spec, scale, pods, tolerances, trace)
    text = f'unknown metric source type "{spec.type}"'
    raise _MetricFailure("InvalidMetricSourceType", text, text)


def _calc(trace: dict[str, Any], err: CalcError) -> str:
    trace.setdefault("calculation", err.trace)
    return str(err)


def _resource(case: Case, spec: MetricSpec, scale: Scale, pods: list[Pod],
              tolerances: Tolerances,
              trace: dict[str, Any]) -> tuple[Proposal, str, dict[str, Any]]:
    container = spec.container if spec.type == "ContainerResource" else ""
    reason = ("FailedGetContainerResourceMetric" if container
              else "FailedGetResourceMetric")
    wrap = (f"failed to get {container} container metric value: {{}}" if container
            else f"failed to get {spec.name} resource metric value: {{}}")
    res, target, ctl, now = spec.name, spec.target, case.controller, case.now
    trace.update(resource=res, container=container or None)

    def failure(text: str) -> _MetricFailure:
        return _MetricFailure(reason, text, wrap.format(text))

    def read() -> Any:
        try:
            rm = resource_metric(case.pod_metrics, res, container)
        except MetricsError as err:
            raise CalcError(f"unable to get metrics for resource {res}: {err}") from None
        trace["metricsAPI"] = {"items": rm.items,
                               "timestamp": gotime.format_rfc3339_nano(rm.timestamp)}
        return rm

    memory = res == "memory"
    if target.average_value is not None:
        goal = target.average_value.milli()
        try:
            rm = read()
            proposal = plain_average(scale.spec_replicas, goal, res, tolerances, pods,
                                     rm.by_pod, rm.dropped, ctl.cpu_initialization_period,
                                     ctl.initial_readiness_delay, now)
        except CalcError as err:
            raise failure(f"failed to get {res} usage: {_calc(trace, err)}") from None
        trace["calculation"] = proposal.trace
        proposal.timestamp = rm.timestamp
        description = f"{res} resource"
        current: dict[str, Any] = {"averageValue": format_milli(proposal.usage, memory)}
    elif target.average_utilization is None:
        raise failure("invalid resource metric source: neither an average utilization target "
                      "nor an average value (usage) target was set")
    else:
        goal = target.average_utilization
        try:
            rm = read()
            proposal = resource_utilization(
                scale.spec_replicas, goal, res, tolerances, pods, rm.by_pod, rm.dropped,
                lambda: pod_requests(pods, container, res, ctl.gate("PodLevelResources")),
                ctl.cpu_initialization_period, ctl.initial_readiness_delay, now)
        except CalcError as err:
            raise failure(f"failed to get {res} utilization: {_calc(trace, err)}") from None
        trace["calculation"] = proposal.trace
        proposal.timestamp = rm.timestamp
        description = (f"{res} container resource utilization (percentage of request)"
                       if container else f"{res} resource utilization (percentage of request)")
        raw = proposal.raw_average if proposal.raw_average is not None else 0
        current = {"averageValue": format_milli(raw, memory),
                   "averageUtilization": proposal.usage}
    if container:
        status = {"type": "ContainerResource", "containerResource": {
            "name": res, "container": container, "current": current}}
    else:
        status = {"type": "Resource", "resource": {"name": res, "current": current}}
    return proposal, description, status


def _identifier(spec: MetricSpec) -> dict[str, Any]:
    ident: dict[str, Any] = {"name": spec.name}
    if spec.selector is not None:
        ident["selector"] = spec.selector
    return ident


def _pods(case: Case, spec: MetricSpec, scale: Scale, pods: list[Pod], tolerances: Tolerances,
          trace: dict[str, Any]) -> tuple[Proposal, str, dict[str, Any]]:
    trace["metric"] = spec.name
    goal = spec.target.average_value.milli() if spec.target.average_value is not None else 0
    ctl = case.controller
    try:
        try:
            values, stamp = pods_custom_metric(case.custom_metrics, spec.name)
        except MetricsError as err:
            raise CalcError(f"unable to get metric {spec.name}: {err}") from None
        proposal = plain_average(scale.spec_replicas, goal, "", tolerances, pods, values, {},
                                 ctl.cpu_initialization_period, ctl.initial_readiness_delay,
                                 case.now)
    except CalcError as err:
        text = _calc(trace, err)
        raise _MetricFailure("FailedGetPodsMetric", text,
                             f"failed to get pods metric value: {text}") from None
    trace["calculation"] = proposal.trace
    proposal.timestamp = stamp
    status = {"type": "Pods", "pods": {"metric": _identifier(spec), "current": {
        "averageValue": format_milli(proposal.usage)}}}
    return proposal, f"pods metric {spec.name}", status


def _object(case: Case, spec: MetricSpec, scale: Scale, pods: list[Pod],
            tolerances: Tolerances,
            trace: dict[str, Any]) -> tuple[Proposal, str, dict[str, Any]]:
    described: Mapping[str, str] = spec.described or {}
    kind, name = described.get("kind", ""), described.get("name", "")
    trace.update(metric=spec.name, describedObject=dict(described))
    wrap = "failed to get object metric value: {}"

    def fetch() -> tuple[int, int]:
        try:
            return object_metric(case.custom_metrics, spec.name, described)
        except MetricsError as err:
            raise CalcError(f"unable to get metric {spec.name}: {kind} on "
                            f"{case.hpa.namespace} {name}/{err}") from None

    status: dict[str, Any] = {"type": "Object", "object": {
        "describedObject": dict(described), "metric": _identifier(spec)}}
    target = spec.target
    if target.type == "Value" and target.value is not None:
        try:
            usage, stamp = fetch()
            proposal = value_target(scale.spec_replicas, target.value.milli(), usage,
                                    tolerances, pods)
        except CalcError as err:
            text = _calc(trace, err)
            raise _MetricFailure("FailedGetObjectMetric", text, wrap.format(text)) from None
        status["object"]["current"] = {"value": format_milli(proposal.usage)}
        description = f"{kind} metric {spec.name}"
    elif target.type == "AverageValue" and target.average_value is not None:
        try:
            usage, stamp = fetch()
        except CalcError as err:
            text = str(err)
            raise _MetricFailure("FailedGetObjectMetric", text, wrap.format(
                f"failed to get {spec.name} object metric: {text}")) from None
        proposal = average_value_target(scale.status_replicas, target.average_value.milli(),
                                        usage, tolerances)
        status["object"]["current"] = {"averageValue": format_milli(proposal.usage)}
        description = f"external metric {spec.name}({sel.format_label_selector(spec.selector)})"
    else:
        text = "invalid object metric source: neither a value target nor an average value " \
               "target was set"
        raise _MetricFailure("FailedGetObjectMetric", text, wrap.format(text))
    trace["calculation"] = proposal.trace
    proposal.timestamp = stamp
    return proposal, description, status


def _external(case: Case, spec: MetricSpec, scale: Scale, pods: list[Pod],
              tolerances: Tolerances,
              trace: dict[str, Any]) -> tuple[Proposal, str, dict[str, Any]]:
    trace["metric"] = spec.name
    selector_text = sel.format_label_selector(spec.selector)
    wrap = f"failed to get {spec.name} external metric value: {{}}"

    def fetch() -> tuple[int, int, int]:
        try:
            values, stamp = external_metric(case.external_metrics, spec.name)
        except MetricsError as err:
            raise CalcError(f"unable to get external metric {case.hpa.namespace}/{spec.name}/"
                            f"{selector_text}: {err}") from None
        trace["series"] = values
        return capped_sum(values), stamp, len(values)

    status: dict[str, Any] = {"type": "External", "external": {"metric": _identifier(spec)}}
    target = spec.target
    if target.average_value is not None:
        try:
            usage, stamp, _ = fetch()
        except CalcError as err:
            text = str(err)
            raise _MetricFailure("FailedGetExternalMetric", text, wrap.format(
                f"failed to get {spec.name} external metric: {text}")) from None
        proposal = average_value_target(scale.status_replicas, target.average_value.milli(),
                                        usage, tolerances)
        status["external"]["current"] = {"averageValue": format_milli(proposal.usage)}
    elif target.value is not None:
        try:
            usage, stamp, _ = fetch()
            proposal = value_target(scale.spec_replicas, target.value.milli(), usage,
                                    tolerances, pods)
        except CalcError as err:
            text = str(err)
            raise _MetricFailure("FailedGetExternalMetric", text, wrap.format(
                f"failed to get external metric {spec.name}: {text}")) from None
        status["external"]["current"] = {"value": format_milli(proposal.usage)}
    else:
        text = "invalid external metric source: neither a value target nor an average value " \
               "target was set"
        raise _MetricFailure("FailedGetExternalMetric", text, wrap.format(text))
    trace["calculation"] = proposal.trace
    proposal.timestamp = stamp
    return proposal, f"external metric {spec.name}({selector_text})", status
