"""``reconcile(case) -> result``: one sync of one HPA, as ``reconcileAutoscaler`` does it.

Order of operations (horizontal.go): read the scale (its error → FailedGetScale); record the
first recommendation when the controller has no history for this HPA; branch on replicas 0
(ScalingDisabled), above max, below min; otherwise compute every metric and take the max;
normalise (legacy or behavior path); rescale when the result differs (or report the update
error given as ``scaleUpdateError``); rebuild the status. The result holds the new status, the
events, the updated history, the rescale (``scale: {from, to}`` or ``None``), the error
upstream's reconcile would return (and log), and the trace of every intermediate value.

The function is pure and deterministic: the same case gives the same result, which is plain
JSON. Upstream logs the reconcile error; here it is ``result["error"]``.
"""

from __future__ import annotations

import copy
from typing import Any

from . import gotime
from .behavior import (
    Event,
    Limited,
    Rec,
    normalize_legacy,
    normalize_with_behavior,
    store_scale_event,
)
from .case import parse_case
from .conditions import (
    ABLE_TO_SCALE,
    FAILED_GET_SCALE,
    FAILED_UPDATE_SCALE,
    SCALING_ACTIVE,
    SCALING_DISABLED,
    SCALING_LIMITED,
    SUCCEEDED_GET_SCALE,
    SUCCEEDED_RESCALE,
    Conditions,
    event,
)
from .model import Case, History, Scale
from .proposals import MetricsOutcome, compute_replicas_for_metrics
from .quantities import QuantityError, canonical
from .replicas import Tolerances
from .trace import TRACE_VERSION

__all__ = ["reconcile", "tolerances_for"]

_GROUP_VERSION_ERROR = "unexpected GroupVersion string: {}"


def tolerances_for(case: Case) -> tuple[Tolerances, dict[str, Any]]:
    """``tolerancesForHpa``: the flag both ways, per-HPA values only with the gate on."""
    flag = case.controller.tolerance
    gate = case.controller.gate("HPAConfigurableTolerance")
    down = up = flag
    source = {"scaleDown": "flag", "scaleUp": "flag"}
    behavior = case.hpa.behavior
    ignored = []
    if behavior is not None:
        for direction, rules in (("scaleDown", behavior.scale_down),
                                 ("scaleUp", behavior.scale_up)):
            if rules.tolerance is None:
                continue
            if not gate:
                ignored.append(direction)
                continue
            value = rules.tolerance.approximate_float()
            if direction == "scaleDown":
                down = value
            else:
                up = value
            source[direction] = "hpa"
    tol = Tolerances(down, up)
    major, minor = case.controller.kube_version
    trace = {"scaleDown": down, "scaleUp": up, "flag": flag, "source": source,
             "text": tol.text(), "lower": 1.0 - down, "upper": 1.0 + up,
             "HPAConfigurableTolerance": gate, "kubeVersion": f"{major}.{minor}"}
    if ignored:
        trace["ignoredPerHPA"] = ignored
    return tol, trace


def _reference(case: Case) -> str:
    hpa = case.hpa
    return f"{hpa.target_kind}/{hpa.namespace}/{hpa.target_name}"


def _group_version_error(api_version: str) -> str | None:
    """``schema.ParseGroupVersion``: at most one ``/``."""
    if api_version.count("/") > 1:
        return _GROUP_VERSION_ERROR.format(api_version)
    return None


def _canonical_status(status: dict[str, Any]) -> Any:
    """A status as ``apiequality.Semantic.DeepEqual`` compares it: quantities by value, and
    a nil list equal to an empty one."""
    status = dict(status)
    status["currentMetrics"] = status.get("currentMetrics") or []
    status["conditions"] = status.get("conditions") or []

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if key in ("averageValue", "value") and isinstance(value, str | int | float) \
                and not isinstance(value, bool):
            try:
                return canonical(value)
            except QuantityError:
                return value
        return value
    return walk(status)


def _status(previous: dict[str, Any], conditions: Conditions, current: int, desired: int,
            metrics: list[dict[str, Any]] | None, last_scale: str | None) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if last_scale is not None:
        status["lastScaleTime"] = last_scale
    status["currentReplicas"] = current
    status["desiredReplicas"] = desired
    status["currentMetrics"] = metrics
    conds = conditions.as_list()
    if conds:
        status["conditions"] = conds
    return status


def _history_out(recs: list[Rec] | None, up: list[Event], down: list[Event]) -> dict[str, Any]:
    def events(items: list[Event]) -> list[dict[str, Any]]:
        return [{"replicaChange": e.replica_change,
                 "timestamp": gotime.format_rfc3339_nano(e.timestamp), "outdated": e.outdated}
                for e in items]
    return {"recommendations": None if recs is None else [
                {"replicas": r.replicas, "timestamp": gotime.format_rfc3339_nano(r.timestamp)}
                for r in recs],
            "scaleUpEvents": events(up), "scaleDownEvents": events(down)}


def _history_in(history: History) -> tuple[list[Rec] | None, list[Event], list[Event]]:
    recs = None if history.recommendations is None else [
        Rec(r.replicas, r.timestamp) for r in history.recommendations]
    up = [Event(e.replica_change, e.timestamp, e.outdated) for e in history.scale_up_events]
    down = [Event(e.replica_change, e.timestamp, e.outdated) for e in history.scale_down_events]
    return recs, up, down


def reconcile(case: dict[str, Any]) -> dict[str, Any]:
    """One HPA sync; see ``docs/podautoscaler.md`` for the case and result formats."""
    c = parse_case(case)
    return _Reconcile(c).run()


class _Reconcile:
    def __init__(self, case: Case) -> None:
        self.case = case
        self.now_text = gotime.format_rfc3339(case.now)
        previous = copy.deepcopy(dict(case.hpa.status))
        self.previous = previous
        self.conditions = Conditions(previous.get("conditions") or [], self.now_text)
        self.events: list[dict[str, str]] = []
        self.recs, self.up, self.down = _history_in(case.history)
        self.trace: dict[str, Any] = {"version": TRACE_VERSION,
                                      "now": gotime.format_rfc3339_nano(case.now),
                                      "hpa": f"{case.hpa.namespace}/{case.hpa.name}",
                                      "defaultsApplied": list(case.hpa.defaults_applied)}
        self.last_scale: str | None = previous.get("lastScaleTime")

    # -- result assembly ---------------------------------------------------------------

    def result(self, current: int, desired: int, metrics: list[dict[str, Any]] | None,
               rescale: dict[str, int] | None, error: str | None) -> dict[str, Any]:
        status = _status(self.previous, self.conditions, current, desired, metrics,
                         self.last_scale)
        before = _status(self.previous, Conditions(self.previous.get("conditions") or [], ""),
                         self.previous.get("currentReplicas", 0),
                         self.previous.get("desiredReplicas", 0),
                         self.previous.get("currentMetrics"), self.previous.get("lastScaleTime"))
        changed = _canonical_status(status) != _canonical_status(before)
        self.trace["decision"] = {"rescale": rescale, "desiredReplicas": desired,
                                  "statusChanged": changed, "error": error}
        return {"desiredReplicas": desired, "scale": rescale, "status": status,
                "statusChanged": changed, "events": self.events,
                "history": _history_out(self.recs, self.up, self.down), "error": error,
                "trace": self.trace}

    def failed_status_only(self, metrics: list[dict[str, Any]] | None,
                           current: int, error: str) -> dict[str, Any]:
        """``setCurrentReplicasAndMetricsInStatus``: desiredReplicas stays as it was."""
        return self.result(current, self.previous.get("desiredReplicas", 0), metrics, None,
                           error)

    # -- the reconcile -----------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        case, hpa = self.case, self.case.hpa
        scale = case.scale
        tolerances, tol_trace = tolerances_for(case)
        self.trace["tolerances"] = tol_trace
        gv_error = _group_version_error(hpa.target_api_version)
        scale_error = gv_error if gv_error is not None else (
            scale if isinstance(scale, str) else None)
        if scale_error is not None:
            self.events.append(event("Warning", "FailedGetScale", scale_error))
            self.conditions.set(ABLE_TO_SCALE, "False", "FailedGetScale",
                                FAILED_GET_SCALE.format(scale_error))
            self.trace["scale"] = {"error": scale_error}
            if gv_error is not None:
                err = f"invalid API version in scale target reference: {gv_error}"
            else:
                err = f"failed to query scale subresource for {_reference(case)}: {scale_error}"
            return self._unchanged(err)
        assert isinstance(scale, Scale)
        self.conditions.set(ABLE_TO_SCALE, "True", "SucceededGetScale", SUCCEEDED_GET_SCALE)
        current = scale.spec_replicas
        first_sight = self.recs is None
        if self.recs is None:
            self.recs = [Rec(current, case.now)]
        self.trace["scale"] = {"specReplicas": current, "statusReplicas": scale.status_replicas,
                               "selector": scale.selector,
                               "initialRecommendationRecorded": first_sight}
        min_replicas = 1 if hpa.min_replicas is None else hpa.min_replicas
        rng: dict[str, Any] = {"minReplicas": min_replicas, "maxReplicas": hpa.max_replicas,
                               "currentReplicas": current}
        self.trace["range"] = rng
        metrics: list[dict[str, Any]] | None = None
        if current == 0 and min_replicas != 0:
            rng["branch"] = "scalingDisabled"
            self.conditions.set(SCALING_ACTIVE, "False", "ScalingDisabled", SCALING_DISABLED)
            return self.finish(current, current, None, rescale_reason="", rescale=False)
        if current > hpa.max_replicas:
            rng["branch"] = "aboveMax"
            return self.finish(current, hpa.max_replicas, None,
                               "Current number of replicas above Spec.MaxReplicas", True)
        if current < min_replicas:
            rng["branch"] = "belowMin"
            return self.finish(current, min_replicas, None,
                               "Current number of replicas below Spec.MinReplicas", True)
        rng["branch"] = "metrics"
        outcome = compute_replicas_for_metrics(case, scale, tolerances)
        self._metrics_trace(outcome)
        self.events.extend(outcome.events)
        if outcome.condition is not None:
            self.conditions.set(*outcome.condition)
        metrics = outcome.statuses
        if outcome.replicas == -1:
            assert outcome.error is not None
            self.events.append(event("Warning", "FailedComputeMetricsReplicas", outcome.error))
            err = (f"failed to compute desired number of replicas based on listed metrics "
                   f"for {_reference(case)}: {outcome.error}")
            return self.failed_status_only(metrics, current, err)
        desired = max(outcome.replicas, 0)
        reason = ""
        if desired > current:
            reason = f"{outcome.metric if outcome.replicas > 0 else ''} above target"
        if desired < current:
            reason = "All metrics below target"
        self.trace["proposal"] = {"replicas": outcome.replicas, "metric": outcome.metric,
                                  "rescaleReason": reason or None,
                                  "partialError": outcome.error}
        limited = self.normalize(current, desired, min_replicas)
        self.conditions.set(ABLE_TO_SCALE, "True", limited.able_reason, limited.able_message)
        self.conditions.set(SCALING_LIMITED, "True" if limited.limited else "False",
                            limited.limit_reason, limited.limit_message)
        return self.finish(current, limited.replicas, metrics, reason,
                           limited.replicas != current, error=outcome.error)

    def _metrics_trace(self, outcome: MetricsOutcome) -> None:
        self.trace["pods"] = outcome.pods
        self.trace["metrics"] = outcome.traces
        if outcome.timestamp is not None:
            self.trace["metricsTimestamp"] = gotime.format_rfc3339_nano(outcome.timestamp)

    def normalize(self, current: int, prenormalized: int, min_replicas: int) -> Limited:
        case, hpa = self.case, self.case.hpa
        assert self.recs is not None
        if hpa.behavior is None:
            limited = normalize_legacy(self.recs, current, prenormalized, min_replicas,
                                       hpa.max_replicas, case.now,
                                       case.controller.downscale_stabilization,
                                       case.controller.scale_up_limit_factor,
                                       case.controller.scale_up_limit_minimum)
        else:
            limited = normalize_with_behavior(hpa.behavior, self.recs, self.up, self.down,
                                              current, prenormalized, min_replicas,
                                              hpa.max_replicas, case.now,
                                              case.controller.downscale_stabilization)
        self.trace["normalization"] = limited.trace
        return limited

    def _unchanged(self, error: str) -> dict[str, Any]:
        prev = self.previous
        current = prev.get("currentReplicas", 0)
        return self.result(current, prev.get("desiredReplicas", 0), prev.get("currentMetrics"),
                           None, error)

    def finish(self, current: int, desired: int, metrics: list[dict[str, Any]] | None,
               rescale_reason: str, rescale: bool, error: str | None = None) -> dict[str, Any]:
        case = self.case
        if not rescale:
            return self.result(current, current, metrics, None, error)
        if case.scale_update_error is not None:
            err = case.scale_update_error
            self.events.append(event("Warning", "FailedRescale",
                                     f"New size: {desired}; reason: {rescale_reason}; "
                                     f"error: {err}"))
            self.conditions.set(ABLE_TO_SCALE, "False", "FailedUpdateScale",
                                FAILED_UPDATE_SCALE.format(err))
            return self.failed_status_only(metrics, current,
                                           f"failed to rescale {_reference(case)}: {err}")
        self.conditions.set(ABLE_TO_SCALE, "True", "SucceededRescale",
                            SUCCEEDED_RESCALE.format(desired))
        self.events.append(event("Normal", "SuccessfulRescale",
                                 f"New size: {desired}; reason: {rescale_reason}"))
        stored = store_scale_event(case.hpa.behavior, self.up, self.down, current, desired,
                                   case.now)
        self.trace["scaleEvent"] = stored
        self.last_scale = self.now_text
        return self.result(current, desired, metrics, {"from": current, "to": desired}, error)
