"""The replica calculator: one metric's proposal, exactly as ``replica_calculator.go`` does it.

Pods are grouped first (groupPods): being deleted or Failed → ignored; Pending → unready;
no metric → missing; for the ``cpu`` resource only, the readiness filter (CPU initialization
period, initial readiness delay, one metric window after becoming Ready) → unready; the rest
are ready. Utilization is an integer percentage of the summed requests, computed *before*
the float ratio; the ratio is compared with the tolerances inclusively; missing and unready
pods are then filled in and the ratio recomputed, and the no-direction-reversal rule
and the count guard of PR #85027 decide. Object and External metrics use the count of
Running-and-Ready pods or the scale's ``status.replicas``, as upstream.

Every function returns the proposal together with a trace of the intermediate values; errors
carry upstream's texts (wrapped later by :mod:`podautoscaler.proposals`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import gotime
from .goarith import (
    MAX_INT32,
    MAX_INT64,
    ceil_int32,
    div_trunc,
    fceil,
    fdiv,
    float_to_int64,
    go_float_text,
)
from .metrics import PodMetric
from .model import Pod

__all__ = ["CalcError", "Proposal", "Tolerances", "group_pods"]


@dataclass(frozen=True)
class Tolerances:
    """The pair used for every metric: no change while ``1-down ≤ ratio ≤ 1+up``."""

    down: float
    up: float

    def within(self, ratio: float) -> bool:
        return (1.0 - self.down) <= ratio <= (1.0 + self.up)

    def text(self) -> str:
        """``Tolerances.String()``: ``[down:10.0%, up:10.0%]``."""
        return f"[down:{self.down * 100.0:.1f}%, up:{self.up * 100.0:.1f}%]"

    def check(self, ratio: float) -> dict[str, Any]:
        return {"ratio": go_float_text(ratio), "lower": 1.0 - self.down,
                "upper": 1.0 + self.up, "within": self.within(ratio)}


class CalcError(Exception):
    """A metric that yields no proposal; ``str()`` is upstream's error text."""

    def __init__(self, message: str, trace: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.trace = trace or {}


@dataclass
class Proposal:
    replicas: int
    usage: int  # utilization percent for Utilization targets, else milli-units
    raw_average: int | None = None  # Utilization targets: average usage (milli)
    timestamp: int | None = None
    trace: dict[str, Any] = field(default_factory=dict)


NO_PODS = "no pods returned by selector while calculating replica count"
NO_READY_METRICS = "did not receive metrics for targeted pods (pods might be unready)"


@dataclass
class Grouping:
    ready_count: int = 0
    unready: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    ignored: set[str] = field(default_factory=set)
    rows: list[dict[str, Any]] = field(default_factory=list)


def _ago(now: int, then: int) -> str:
    return gotime.format_duration(now - then)


def group_pods(pods: Sequence[Pod], metrics: Mapping[str, PodMetric], resource: str,
               cpu_init: int, readiness_delay: int, now: int,
               dropped: Mapping[str, str] | None = None) -> Grouping:
    """``groupPods``: ready count and the unready, missing and ignored sets."""
    g = Grouping()
    for pod in pods:
        row: dict[str, Any] = {"name": pod.name, "phase": pod.phase or None}
        g.rows.append(row)
        metric = metrics.get(pod.name)
        row["usage"] = None if metric is None else metric.value
        if pod.deleting or pod.phase == "Failed":
            g.ignored.add(pod.name)
            row.update(group="ignored", reason="being deleted (metadata.deletionTimestamp is "
                                               "set)" if pod.deleting else "phase is Failed")
            continue
        if pod.phase == "Pending":
            g.unready.add(pod.name)
            row.update(group="unready", reason="phase is Pending")
            continue
        if metric is None:
            g.missing.add(pod.name)
            why = (dropped or {}).get(pod.name)
            row.update(group="missing", reason="no metric for it" + (f": {why}" if why else ""))
            continue
        if resource == "cpu":
            unready, reason = _cpu_readiness(pod, metric, cpu_init, readiness_delay, now)
            if unready:
                g.unready.add(pod.name)
                row.update(group="unready", reason=reason)
                continue
            row.update(group="ready", reason=reason)
        else:
            what = f"{resource} metrics" if resource else "pods metrics"
            row.update(group="ready", reason=f"has a metric (readiness is not consulted for "
                                             f"{what})")
        g.ready_count += 1
    return g


def _cpu_readiness(pod: Pod, metric: PodMetric, cpu_init: int, delay: int,
                   now: int) -> tuple[bool, str]:
    cond = pod.ready
    if cond is None:
        return True, "no Ready condition"
    if pod.start_time is None:
        return True, "no status.startTime"
    ltt = gotime.format_rfc3339_nano(cond.last_transition)
    if pod.start_time + cpu_init > now:
        period = (f"within the CPU initialization period ({gotime.format_duration(cpu_init)}, "
                  f"started {_ago(now, pod.start_time)} ago)")
        if cond.status == "False":
            return True, f"Ready is False {period}"
        if metric.timestamp < cond.last_transition + metric.window:
            return True, (f"{period}, its sample ({gotime.format_rfc3339_nano(metric.timestamp)}) "
                          f"ends less than one window ({gotime.format_duration(metric.window)}) "
                          f"after it became Ready ({ltt})")
        return False, (f"Ready {period}, and a full metric window was collected since it "
                       f"became Ready ({ltt})")
    if cond.status == "False" and pod.start_time + delay > cond.last_transition:
        return True, (f"Ready is False and it has never been ready: it last changed at {ltt}, "
                      f"within the initial readiness delay "
                      f"({gotime.format_duration(delay)}) after it started")
    if cond.status == "False":
        return False, (f"Ready is False but it was ready before (changed at {ltt}, after the "
                       f"initial readiness delay): counted with its metric")
    return False, "started before the CPU initialization period and is Ready"


def _utilization(metrics: Mapping[str, int], requests: Mapping[str, int],
                 target: int) -> tuple[float, int, int, dict[str, Any]]:
    """``GetResourceUtilizationRatio``: integer percent first, then the float ratio."""
    usage_sum = request_sum = count = 0
    for name, value in metrics.items():
        if name not in requests:
            continue  # a metric for a pod outside the list: no request to compare with
        usage_sum += value
        request_sum += requests[name]
        count += 1
    if request_sum == 0:
        raise CalcError("no metrics returned matched known pods")
    percent = div_trunc(usage_sum * 100, request_sum)
    if not -(1 << 31) <= percent <= MAX_INT32:
        raise CalcError(f"resource utilization {percent} is outside the int32 range")
    ratio = fdiv(float(percent), float(target))
    raw = div_trunc(usage_sum, count)
    return ratio, percent, raw, {"usageSum": usage_sum, "requestSum": request_sum,
                                 "count": count, "utilization": percent, "rawAverage": raw,
                                 "ratio": go_float_text(ratio)}


def _average(metrics: Mapping[str, int], target: int) -> tuple[float, int, dict[str, Any]]:
    """``GetMetricUsageRatio``: the plain average (int64 division), then the ratio."""
    total = sum(metrics.values())
    average = div_trunc(total, len(metrics))
    ratio = fdiv(float(average), float(target))
    return ratio, average, {"usageSum": total, "count": len(metrics), "average": average,
                            "ratio": go_float_text(ratio)}


def _decide(current: int, ratio: float, ready_count: int, g: Grouping, tolerances: Tolerances,
            metrics: dict[str, int], fill_missing: Callable[[str], int],
            recompute: Callable[[dict[str, int]], tuple[float, dict[str, Any]]],
            trace: dict[str, Any]) -> int:
    """The shared tail of both calculators: tolerance, fill-in, recheck."""
    up_with_unready = bool(g.unready) and ratio > 1.0
    trace["scaleUpWithUnready"] = up_with_unready
    if not up_with_unready and not g.missing:
        trace["tolerance"] = tolerances.check(ratio)
        if tolerances.within(ratio):
            trace["rule"] = "ratio within tolerance: keep the current replica count"
            return current
        trace["rule"] = "ceil(ratio × ready pods)"
        return ceil_int32(ratio * float(ready_count))
    fills: dict[str, dict[str, Any]] = {}
    if g.missing:
        for name in sorted(g.missing):
            if ratio < 1.0:
                metrics[name] = fill_missing(name)
                fills[name] = {"group": "missing", "value": metrics[name]}
            elif ratio > 1.0:
                metrics[name] = 0
                fills[name] = {"group": "missing", "value": 0}
    if up_with_unready:
        for name in sorted(g.unready):
            metrics[name] = 0
            fills[name] = {"group": "unready", "value": 0}
    new_ratio, numbers = recompute(metrics)
    adjusted: dict[str, Any] = {"filled": fills, **numbers,
                                "tolerance": tolerances.check(new_ratio)}
    trace["adjusted"] = adjusted
    reversed_ = (ratio < 1.0 and new_ratio > 1.0) or (ratio > 1.0 and new_ratio < 1.0)
    adjusted["directionReversed"] = reversed_
    if tolerances.within(new_ratio):
        trace["rule"] = "adjusted ratio within tolerance: keep the current replica count"
        return current
    if reversed_:
        trace["rule"] = "adjusted ratio reverses the direction: keep the current replica count"
        return current
    new = ceil_int32(new_ratio * float(len(metrics)))
    adjusted["replicas"] = new
    if (new_ratio < 1.0 and new > current) or (new_ratio > 1.0 and new < current):
        trace["rule"] = ("ceil(adjusted ratio × metric entries) moves against the adjusted "
                         "ratio: keep the current replica count")
        return current
    trace["rule"] = "ceil(adjusted ratio × metric entries)"
    return new


def _set_requests(g: Grouping, requests: Mapping[str, int]) -> None:
    for row in g.rows:
        row["request"] = requests.get(row["name"])


def _counted(trace: dict[str, Any], resource: str, pods: Sequence[Pod],
             by_pod: Mapping[str, PodMetric], dropped: Mapping[str, str], cpu_init: int,
             delay: int, now: int) -> tuple[Grouping, dict[str, int]]:
    """What both pod-metric calculations start with: the pods grouped (into ``trace``) and
    the metric values of the pods that count (ignored and unready ones dropped); upstream's
    errors when there are no pods or no such value."""
    if not pods:
        raise CalcError(NO_PODS, trace)
    values = {name: m.value for name, m in by_pod.items()}
    g = group_pods(pods, by_pod, resource, cpu_init, delay, now, dropped)
    names = {p.name for p in pods}
    trace.update(pods=g.rows, readyPodCount=g.ready_count,
                 superfluous=sorted(n for n in values if n not in names))
    for name in g.ignored | g.unready:
        values.pop(name, None)
    if not values:
        raise CalcError(NO_READY_METRICS, trace)
    return g, values


def resource_utilization(current: int, target: int, resource: str, tolerances: Tolerances,
                         pods: Sequence[Pod], by_pod: Mapping[str, PodMetric],
                         dropped: Mapping[str, str], requests_of: Callable[[], dict[str, int]],
                         cpu_init: int, delay: int, now: int) -> Proposal:
    """``GetResourceReplicas`` for a Utilization target (percent of request)."""
    trace: dict[str, Any] = {"target": {"averageUtilization": target}}
    g, values = _counted(trace, resource, pods, by_pod, dropped, cpu_init, delay, now)
    try:
        requests = requests_of()
    except Exception as err:  # MetricsError: a pod without a request
        raise CalcError(str(err), trace) from None
    _set_requests(g, requests)
    ratio, percent, raw, numbers = _utilization(values, requests, target)
    trace["first"] = numbers
    fallback = max(100, target)

    def recompute(m: dict[str, int]) -> tuple[float, dict[str, Any]]:
        r, _, _, nums = _utilization(m, requests, target)
        return r, nums

    replicas = _decide(current, ratio, g.ready_count, g, tolerances, values,
                       lambda name: div_trunc(requests[name] * fallback, 100), recompute, trace)
    trace["replicas"] = replicas
    return Proposal(replicas, percent, raw, None, trace)


def plain_average(current: int, target: int, resource: str, tolerances: Tolerances,
                  pods: Sequence[Pod], by_pod: Mapping[str, PodMetric],
                  dropped: Mapping[str, str], cpu_init: int, delay: int,
                  now: int) -> Proposal:
    """``calcPlainMetricReplicas``: AverageValue resource targets and Pods metrics."""
    trace: dict[str, Any] = {"target": {"averageValue": target}}
    g, values = _counted(trace, resource, pods, by_pod, dropped, cpu_init, delay, now)
    ratio, average, numbers = _average(values, target)
    trace["first"] = numbers

    def recompute(m: dict[str, int]) -> tuple[float, dict[str, Any]]:
        r, _, nums = _average(m, target)
        return r, nums

    replicas = _decide(current, ratio, g.ready_count, g, tolerances, values,
                       lambda name: target, recompute, trace)
    trace["replicas"] = replicas
    return Proposal(replicas, average, None, None, trace)


def _ready_running(pods: Sequence[Pod]) -> int:
    if not pods:
        raise CalcError(f"unable to calculate ready pods: {NO_PODS}")
    return sum(1 for p in pods if p.phase == "Running" and p.ready is not None
               and p.ready.status == "True")


def usage_ratio_replicas(current: int, ratio: float, tolerances: Tolerances,
                         pods: Sequence[Pod], trace: dict[str, Any]) -> int:
    """``getUsageRatioReplicaCount`` (Object and External ``Value`` targets)."""
    if current == 0:
        trace["rule"] = "current replicas 0: ceil(ratio), no tolerance"
        return ceil_int32(ratio)
    trace["tolerance"] = tolerances.check(ratio)
    if tolerances.within(ratio):
        trace["rule"] = "ratio within tolerance: keep the current replica count"
        return current
    ready = _ready_running(pods)
    trace["readyPodCount"] = ready
    product = ratio * float(ready)
    trace["rule"] = "ceil(ratio × Running and Ready pods)"
    return MAX_INT32 if product > MAX_INT32 else ceil_int32(product)


def value_target(current: int, target: int, usage: int, tolerances: Tolerances,
                 pods: Sequence[Pod]) -> Proposal:
    """Object ``Value`` and External ``Value`` (whose usage is the sum of the series)."""
    ratio = fdiv(float(usage), float(target))
    trace: dict[str, Any] = {"target": {"value": target}, "usage": usage,
                             "ratio": go_float_text(ratio)}
    replicas = usage_ratio_replicas(current, ratio, tolerances, pods, trace)
    trace["replicas"] = replicas
    return Proposal(replicas, usage, None, None, trace)


def average_value_target(status_replicas: int, target: int, usage: int,
                         tolerances: Tolerances) -> Proposal:
    """Object and External ``AverageValue``: total ÷ per-pod target, tolerance on
    ``total / (target × status.replicas)``."""
    ratio = fdiv(float(usage), float(target) * float(status_replicas))
    trace: dict[str, Any] = {"target": {"averageValue": target}, "usage": usage,
                             "statusReplicas": status_replicas, "ratio": go_float_text(ratio),
                             "tolerance": tolerances.check(ratio)}
    replicas = status_replicas
    if not tolerances.within(ratio):
        replicas = ceil_int32(fdiv(float(usage), float(target)))
        trace["rule"] = "ceil(total ÷ per-pod target)"
    else:
        trace["rule"] = "ratio within tolerance: keep status.replicas"
    if status_replicas == 0:
        per_pod = 0
    elif float(usage) >= float(MAX_INT64):
        per_pod = MAX_INT64
    else:
        per_pod = float_to_int64(fceil(fdiv(float(usage), float(status_replicas))))
    trace.update(replicas=replicas, averagePerPod=per_pod)
    return Proposal(replicas, per_pod, None, None, trace)
