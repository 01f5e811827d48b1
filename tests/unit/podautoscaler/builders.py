"""Case builders shaped like upstream's HPA test fixtures, restated in the case format.

Upstream's tests build pods ``test-pod-<i>`` labelled ``name=test-pod`` with two containers,
a Ready condition whose transition time is the start time, and PodMetrics with a 1-minute
window; "hot" pods started now, "cool" ones three minutes ago; the controller runs with a
0.1 tolerance, a 2-minute CPU initialization period, a 10-second readiness delay and a
scale-up limit factor of 8. These helpers produce the same objects as plain dicts so the
tests read as tables of upstream's numbers.
"""

from __future__ import annotations

from typing import Any

from podautoscaler import gotime

NOW = "2025-06-01T12:00:00Z"
NOW_NS = gotime.parse_rfc3339(NOW)
ZERO = "0001-01-01T00:00:00Z"
HOT = NOW
COOL = gotime.format_rfc3339(NOW_NS - 3 * gotime.MINUTE)
SELECTOR = "name=test-pod"

UPSTREAM_TEST_CONTROLLER: dict[str, Any] = {
    "tolerance": 0.1, "cpuInitializationPeriod": "2m", "initialReadinessDelay": "10s",
    "downscaleStabilization": "5m", "scaleUpLimitFactor": 8, "kubeVersion": "1.35"}


def ago(seconds: float) -> str:
    return gotime.format_rfc3339_nano(NOW_NS - int(seconds * gotime.SECOND))


def milli(value: int) -> str:
    return f"{value}m"


def pod(i: int, request: str | None = "1", *, ready: str = "True", start: str | None = ZERO,
        phase: str = "Running", deleting: bool = False, transition: str | None = "start",
        containers: int = 2, split: bool = True, resource: str = "cpu",
        name: str | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A pod like upstream's fixture; ``split`` halves the request over two containers
    (horizontal_test), otherwise each container requests the full amount
    (replica_calculator_test)."""
    from podautoscaler.quantities import parse_quantity

    spec_containers = []
    for j in range(containers):
        c: dict[str, Any] = {"name": f"container{j + 1}"}
        if request is not None:
            value = parse_quantity(request).milli()
            c["resources"] = {"requests": {resource: milli(value // 2 if split else value)}}
        spec_containers.append(c)
    cond: dict[str, Any] = {"type": "Ready", "status": ready}
    if transition == "start" and start is not None:
        cond["lastTransitionTime"] = start
    elif transition not in (None, "start"):
        cond["lastTransitionTime"] = transition
    meta: dict[str, Any] = {"name": name or f"test-pod-{i}", "namespace": "test-namespace",
                            "labels": labels if labels is not None else {"name": "test-pod"}}
    if deleting:
        meta["deletionTimestamp"] = NOW
    status: dict[str, Any] = {"phase": phase, "conditions": [cond]}
    if start is not None:
        status["startTime"] = start
    return {"metadata": meta, "spec": {"containers": spec_containers}, "status": status}


def pod_metrics(levels: list[int], *, split: bool = True, timestamp: str = NOW,
                window: str = "1m", resource: str = "cpu",
                names: list[str] | None = None) -> dict[str, Any]:
    """PodMetrics for ``test-pod-<i>``; ``split`` reports level/2 per container (so the pod
    sums to the level), otherwise each container reports the level."""
    items = []
    for i, level in enumerate(levels):
        per = level // 2 if split else level
        items.append({
            "metadata": {"name": names[i] if names and i < len(names) else f"test-pod-{i}",
                         "namespace": "test-namespace", "labels": {"name": "test-pod"}},
            "timestamp": timestamp, "window": window,
            "containers": [{"name": f"container{j + 1}", "usage": {resource: milli(per)}}
                           for j in range(2)]})
    return {"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "items": items}


def cpu_metric(target: int, resource: str = "cpu") -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": resource, "target": {
        "type": "Utilization", "averageUtilization": target}}}


def hpa(metrics: list[dict[str, Any]], *, min_replicas: int | None = 1, max_replicas: int = 10,
        behavior: dict[str, Any] | None = None, status: dict[str, Any] | None = None,
        name: str = "test-hpa") -> dict[str, Any]:
    spec: dict[str, Any] = {"scaleTargetRef": {"apiVersion": "v1", "kind": "ReplicationController",
                                               "name": "test-rc"},
                            "maxReplicas": max_replicas, "metrics": metrics}
    if min_replicas is not None:
        spec["minReplicas"] = min_replicas
    if behavior is not None:
        spec["behavior"] = behavior
    obj: dict[str, Any] = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                           "metadata": {"name": name, "namespace": "test-namespace"},
                           "spec": spec}
    if status is not None:
        obj["status"] = status
    return obj


def scale(spec: int, status: int | None = None, selector: str = SELECTOR) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v1", "kind": "Scale",
            "spec": {"replicas": spec},
            "status": {"replicas": spec if status is None else status, "selector": selector}}


def rules(pods: int = 0, pods_period: int = 0, percent: int = 0, percent_period: int = 0,
          window: int | None = 0, select: str = "Max") -> dict[str, Any]:
    """``generateScalingRules`` from upstream's tests."""
    policies = []
    if pods:
        policies.append({"type": "Pods", "value": pods, "periodSeconds": pods_period})
    if percent:
        policies.append({"type": "Percent", "value": percent, "periodSeconds": percent_period})
    out: dict[str, Any] = {"selectPolicy": select, "policies": policies}
    if window is not None:
        out["stabilizationWindowSeconds"] = window
    return out


def uniform_events(changes: list[int], period_seconds: int) -> list[dict[str, Any]]:
    """``generateEventsUniformDistribution``: events centred in equal slices of the period."""
    seg = period_seconds / len(changes)
    return [{"replicaChange": c,
             "timestamp": ago(period_seconds - seg * (i + 1) + seg / 2)}
            for i, c in enumerate(changes)]


def case(*, hpa_obj: dict[str, Any], scale_obj: Any, pods: list[dict[str, Any]] | None = None,
         metrics: Any = None, controller: dict[str, Any] | None = None,
         history: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"now": NOW, "controller": dict(controller or UPSTREAM_TEST_CONTROLLER),
                           "hpa": hpa_obj, "scale": scale_obj, "pods": pods or [],
                           "podMetrics": metrics if metrics is not None else {"items": []}}
    if history is not None:
        out["history"] = history
    out.update(extra)
    return out


def upstream_pods(n: int, requests: list[str] | None = None, *, readiness: list[str] | None = None,
                  starts: list[str] | None = None, phases: list[str] | None = None,
                  deleting: list[bool] | None = None, split: bool = True,
                  transition: str | None = "start") -> list[dict[str, Any]]:
    reqs = requests if requests is not None else ["1"] * n
    return [pod(i, reqs[i] if i < len(reqs) else None,
                ready=(readiness or ["True"] * n)[i],
                start=(starts or [ZERO] * n)[i],
                phase=(phases or ["Running"] * n)[i],
                deleting=(deleting or [False] * n)[i], split=split, transition=transition)
            for i in range(n)]


def horizontal_case(*, min_replicas: int, max_replicas: int, spec_replicas: int,
                    status_replicas: int | None = None, cpu_target: int = 0,
                    levels: list[int] | None = None, requests: list[str] | None = None,
                    readiness: list[str] | None = None, starts: list[str] | None = None,
                    phases: list[str] | None = None, deleting: list[bool] | None = None,
                    metrics: list[dict[str, Any]] | None = None,
                    scale_up: dict[str, Any] | None = None,
                    scale_down: dict[str, Any] | None = None,
                    recommendations: list[dict[str, Any]] | None = None,
                    **extra: Any) -> dict[str, Any]:
    """A ``horizontal_test.go`` testCase: pods with two half-request containers; the
    recommendations ``None`` means "first sight" (the initial one is recorded)."""
    status_n = spec_replicas if status_replicas is None else status_replicas
    n = len(requests) if requests is not None else status_n
    specs = ([cpu_metric(cpu_target)] if cpu_target > 0 else []) + list(metrics or [])
    behavior = None
    if scale_up is not None or scale_down is not None:
        behavior = {}
        if scale_up is not None:
            behavior["scaleUp"] = scale_up
        if scale_down is not None:
            behavior["scaleDown"] = scale_down
    history = None if recommendations is None else {"recommendations": recommendations}
    return case(hpa_obj=hpa(specs, min_replicas=min_replicas, max_replicas=max_replicas,
                            behavior=behavior,
                            status={"currentReplicas": spec_replicas,
                                    "desiredReplicas": spec_replicas}),
                scale_obj=scale(spec_replicas, status_n),
                pods=upstream_pods(n, requests, readiness=readiness, starts=starts,
                                   phases=phases, deleting=deleting),
                metrics=pod_metrics(levels or []), history=history, **extra)


def reasons(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The conditions as upstream's tests compare them: (type, status, reason)."""
    return [(c["type"], c["status"], c["reason"])
            for c in result["status"].get("conditions", [])]


STATUS_OK = [("AbleToScale", "True", "SucceededRescale"),
             ("ScalingActive", "True", "ValidMetricFound"),
             ("ScalingLimited", "False", "DesiredWithinRange")]


def status_ok(**overrides: tuple[str, str]) -> list[tuple[str, str, str]]:
    """``statusOkWithOverrides``: replace (status, reason) of the named condition types."""
    out = []
    for ctype, status, reason in STATUS_OK:
        if ctype in overrides:
            status, reason = overrides[ctype]
        out.append((ctype, status, reason))
    return out
