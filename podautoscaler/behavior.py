"""Replica normalisation: stabilization, rate limits and min/max, in both of upstream's paths.

Without ``spec.behavior`` (the legacy path, upstream's normalizeDesiredReplicas) a scale-down
is stabilized to the highest recommendation not older than
``--horizontal-pod-autoscaler-downscale-stabilization`` (an entry exactly window-old still
counts), and a scale-up is capped at ``max(scaleUpLimitFactor × current,
scaleUpLimitMinimum)`` — 2 and 4 in production, 8 and 4 in upstream's controller tests. With
``spec.behavior`` (normalizeDesiredReplicasWithBehaviors) both directions have windows
(strict: an entry exactly window-old is out), and each policy limits the change relative to
the replica count at the start of its period, counting the scale events of both directions.

The history upstream keeps in memory (recommendations, scale-up and scale-down events with
their ``outdated`` marks) is passed in and handed back updated, so a controller can feed it
to the next sync; the update rules (overwrite the last obsolete entry, else append) are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import gotime
from .goarith import MAX_INT32, MIN_INT32, ceil_int32, to_int32
from .model import Behavior, Policy, ScalingRules

__all__ = ["Event", "Rec", "normalize_legacy", "normalize_with_behavior", "store_scale_event"]

SCALE_UP_LIMIT = "the desired replica count is increasing faster than the maximum scale rate"
SCALE_DOWN_LIMIT = "the desired replica count is decreasing faster than the maximum scale rate"
TOO_MANY = "the desired replica count is more than the maximum replica count"
TOO_FEW = "the desired replica count is less than the minimum replica count"
WITHIN_RANGE = "the desired count is within the acceptable range"
DOWN_STABILIZED = ("recent recommendations were higher than current one, applying the highest "
                   "recent recommendation")
UP_STABILIZED = ("recent recommendations were lower than current one, applying the lowest "
                 "recent recommendation")
READY_FOR_NEW_SCALE = "recommended size matches current size"


@dataclass
class Rec:
    replicas: int
    timestamp: int


@dataclass
class Event:
    replica_change: int
    timestamp: int
    outdated: bool = False


def _t(ns: int) -> str:
    return gotime.format_rfc3339_nano(ns)


@dataclass
class Limited:
    """A normalisation result and the conditions it implies."""

    replicas: int
    stabilized: int
    able_reason: str
    able_message: str
    limited: bool
    limit_reason: str
    limit_message: str
    trace: dict[str, Any]


# ------------------------------------------------------------------------------ legacy path


def stabilize_legacy(recs: list[Rec], prenormalized: int, now: int,
                     window: int) -> tuple[int, dict[str, Any]]:
    """``stabilizeRecommendation``: the max over entries not older than ``now - window``."""
    cutoff = now - window
    best = prenormalized
    old_index: int | None = None
    entries = []
    for i, rec in enumerate(recs):
        old = rec.timestamp < cutoff
        entries.append({"replicas": rec.replicas, "timestamp": _t(rec.timestamp),
                        "inWindow": not old})
        if old:
            old_index = i
        elif rec.replicas > best:
            best = rec.replicas
    if old_index is not None:
        entries[old_index]["overwritten"] = True
        recs[old_index] = Rec(prenormalized, now)
    else:
        recs.append(Rec(prenormalized, now))
    return best, {"windowSeconds": window / gotime.SECOND, "cutoff": _t(cutoff),
                  "entries": entries, "prenormalized": prenormalized, "stabilized": best}


def normalize_legacy(recs: list[Rec], current: int, prenormalized: int, min_replicas: int,
                     max_replicas: int, now: int, window: int, factor: float,
                     minimum: float) -> Limited:
    """``normalizeDesiredReplicas`` + ``convertDesiredReplicasWithRules``."""
    stabilized, stab = stabilize_legacy(recs, prenormalized, now, window)
    if stabilized != prenormalized:
        able = ("ScaleDownStabilized", DOWN_STABILIZED)
    else:
        able = ("ReadyForNewScale", READY_FOR_NEW_SCALE)
    limit = to_int32(max(factor * float(current), minimum))
    if max_replicas > limit:
        upper, reason, message = limit, "ScaleUpLimit", SCALE_UP_LIMIT
    else:
        upper, reason, message = max_replicas, "TooManyReplicas", TOO_MANY
    if stabilized < min_replicas:
        desired, reason, message = min_replicas, "TooFewReplicas", TOO_FEW
    elif stabilized > upper:
        desired = upper
    else:
        desired, reason, message = stabilized, "DesiredWithinRange", WITHIN_RANGE
    rules = {"scaleUpLimit": limit, "scaleUpLimitFactor": factor,
             "scaleUpLimitMinimum": minimum, "minReplicas": min_replicas,
             "maxReplicas": max_replicas, "upperBound": upper, "result": desired,
             "reason": reason}
    return Limited(desired, stabilized, able[0], able[1], desired != stabilized, reason, message,
                   {"path": "legacy", "stabilization": stab, "rules": rules})


# ------------------------------------------------------------------------------ behavior path


def stabilize_with_behavior(recs: list[Rec], prenormalized: int, current: int, up_window: int,
                            down_window: int, now: int) -> tuple[int, str, str, dict[str, Any]]:
    """``stabilizeRecommendationWithBehaviors``: scale up only to the lowest recommendation of
    the up-window, down only to the highest of the down-window (strict cutoffs)."""
    up_cutoff = now - up_window * gotime.SECOND
    down_cutoff = now - down_window * gotime.SECOND
    up_rec = down_rec = prenormalized
    old_index: int | None = None
    entries = []
    for i, rec in enumerate(recs):
        in_up, in_down = rec.timestamp > up_cutoff, rec.timestamp > down_cutoff
        if in_up:
            up_rec = min(rec.replicas, up_rec)
        if in_down:
            down_rec = max(rec.replicas, down_rec)
        obsolete = rec.timestamp < up_cutoff and rec.timestamp < down_cutoff
        if obsolete:
            old_index = i
        entries.append({"replicas": rec.replicas, "timestamp": _t(rec.timestamp),
                        "inUpWindow": in_up, "inDownWindow": in_down, "obsolete": obsolete})
    result = current
    if result < up_rec:
        result = up_rec
    if result > down_rec:
        result = down_rec
    if old_index is not None:
        entries[old_index]["overwritten"] = True
        recs[old_index] = Rec(prenormalized, now)
    else:
        recs.append(Rec(prenormalized, now))
    if prenormalized >= current:
        reason, message = "ScaleUpStabilized", UP_STABILIZED
    else:
        reason, message = "ScaleDownStabilized", DOWN_STABILIZED
    trace = {"upWindowSeconds": up_window, "downWindowSeconds": down_window,
             "upCutoff": _t(up_cutoff), "downCutoff": _t(down_cutoff), "entries": entries,
             "prenormalized": prenormalized, "upRecommendation": up_rec,
             "downRecommendation": down_rec, "stabilized": result}
    return result, reason, message, trace


def _change_in_period(period_seconds: int, events: list[Event], now: int) -> int:
    """``getReplicasChangePerPeriod``: changes strictly after ``now - period``."""
    cutoff = now - period_seconds * gotime.SECOND
    return sum(e.replica_change for e in events if e.timestamp > cutoff)


def _policy_limits(rules: ScalingRules, current: int, up: list[Event], down: list[Event],
                   now: int, scale_up: bool) -> tuple[int, list[dict[str, Any]]]:
    """``calculateScaleUpLimitWithScalingRules`` / ``calculateScaleDownLimitWithBehaviors``."""
    if rules.select_policy == "Disabled":
        return current, []
    use_min = (rules.select_policy == "Min") == scale_up
    result = MAX_INT32 if use_min else MIN_INT32
    rows = []
    for policy in rules.policies:
        added = _change_in_period(policy.period_seconds, up, now)
        removed = _change_in_period(policy.period_seconds, down, now)
        start = current - added + removed
        proposed = _policy_proposal(policy, start, scale_up)
        rows.append({"type": policy.type, "value": policy.value,
                     "periodSeconds": policy.period_seconds,
                     "periodStart": _t(now - policy.period_seconds * gotime.SECOND),
                     "addedInPeriod": added, "removedInPeriod": removed,
                     "replicasAtPeriodStart": start, "limit": proposed})
        result = min(result, proposed) if use_min else max(result, proposed)
    return result, rows


def _policy_proposal(policy: Policy, start: int, scale_up: bool) -> int:
    if policy.type == "Pods":
        return start + policy.value if scale_up else start - policy.value
    if policy.type == "Percent":
        if scale_up:
            return ceil_int32(float(start) * (1 + float(policy.value) / 100))
        return to_int32(float(start) * (1 - float(policy.value) / 100))
    return 0  # an unknown type contributes Go's zero value (the API forbids it)


def rate_limit(behavior: Behavior, current: int, desired: int, min_replicas: int,
               max_replicas: int, up: list[Event], down: list[Event],
               now: int) -> tuple[int, str, str, dict[str, Any]]:
    """``convertDesiredReplicasWithBehaviorRate``: the policies' limit, then min/max."""
    trace: dict[str, Any] = {"desired": desired}
    if desired > current:
        rules = behavior.scale_up
        limit, rows = _policy_limits(rules, current, up, down, now, scale_up=True)
        trace.update(direction="up", selectPolicy=rules.select_policy, policies=rows,
                     policyLimit=limit)
        if limit < current:
            limit = current
        if max_replicas > limit:
            bound, reason, message = limit, "ScaleUpLimit", SCALE_UP_LIMIT
        else:
            bound, reason, message = max_replicas, "TooManyReplicas", TOO_MANY
        trace.update(limit=limit, bound=bound)
        if desired > bound:
            trace.update(result=bound, reason=reason)
            return bound, reason, message, trace
    elif desired < current:
        rules = behavior.scale_down
        limit, rows = _policy_limits(rules, current, up, down, now, scale_up=False)
        trace.update(direction="down", selectPolicy=rules.select_policy, policies=rows,
                     policyLimit=limit)
        if limit > current:
            limit = current
        if min_replicas < limit:
            bound, reason, message = limit, "ScaleDownLimit", SCALE_DOWN_LIMIT
        else:
            bound, reason, message = min_replicas, "TooFewReplicas", TOO_FEW
        trace.update(limit=limit, bound=bound)
        if desired < bound:
            trace.update(result=bound, reason=reason)
            return bound, reason, message, trace
    else:
        trace["direction"] = "none"
    trace.update(result=desired, reason="DesiredWithinRange")
    return desired, "DesiredWithinRange", WITHIN_RANGE, trace


def down_window_seconds(behavior: Behavior, downscale_stabilization: int) -> int:
    """``maybeInitScaleDownStabilizationWindow``: the flag's value when the field is unset."""
    window = behavior.scale_down.stabilization_window_seconds
    if window is None:
        return to_int32(math.trunc(downscale_stabilization / gotime.SECOND))
    return window


def normalize_with_behavior(behavior: Behavior, recs: list[Rec], up: list[Event],
                            down: list[Event], current: int, prenormalized: int,
                            min_replicas: int, max_replicas: int, now: int,
                            downscale_stabilization: int) -> Limited:
    """``normalizeDesiredReplicasWithBehaviors``: stabilize, then rate-limit."""
    up_window = behavior.scale_up.stabilization_window_seconds or 0
    down_window = down_window_seconds(behavior, downscale_stabilization)
    stabilized, reason, message, stab = stabilize_with_behavior(
        recs, prenormalized, current, up_window, down_window, now)
    stab["downWindowFromFlag"] = behavior.scale_down.stabilization_window_seconds is None
    if stabilized == prenormalized:
        reason, message = "ReadyForNewScale", READY_FOR_NEW_SCALE
    desired, lreason, lmessage, rate = rate_limit(behavior, current, stabilized, min_replicas,
                                                  max_replicas, up, down, now)
    return Limited(desired, stabilized, reason, message, desired != stabilized, lreason,
                   lmessage, {"path": "behavior", "stabilization": stab, "rate": rate})


def _longest_period(rules: ScalingRules) -> int:
    return max((p.period_seconds for p in rules.policies), default=0)


def store_scale_event(behavior: Behavior | None, up: list[Event], down: list[Event],
                      previous: int, new: int, now: int) -> dict[str, Any] | None:
    """``storeScaleEvent``: record |new - previous| (behavior path only), reusing the last
    entry older than the direction's longest policy period."""
    if behavior is None:
        return None
    events, rules, change = ((up, behavior.scale_up, new - previous) if new > previous
                             else (down, behavior.scale_down, previous - new))
    longest = _longest_period(rules)
    cutoff = now - longest * gotime.SECOND
    for e in events:
        if e.timestamp < cutoff:
            e.outdated = True
    reuse = None
    for i, e in enumerate(events):
        if e.outdated:
            reuse = i
    event = Event(change, now, False)
    if reuse is None:
        events.append(event)
    else:
        events[reuse] = event
    return {"direction": "up" if new > previous else "down", "replicaChange": change,
            "longestPeriodSeconds": longest, "overwrote": reuse}
