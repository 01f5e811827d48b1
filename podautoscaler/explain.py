"""Render a reconcile result as a step-by-step explanation (``explain``'s text output).

Everything printed comes from ``result["trace"]`` and the result itself; nothing is
recomputed here, so the text cannot disagree with the decision. The wording follows the
steps of upstream's reconcileAutoscaler: scale, range, pods, each metric (grouping,
utilization, ratio, tolerance, fill-in), the maximum, normalisation, the decision, conditions
and events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .quantities import format_milli

__all__ = ["render"]

_FLAG = {"tolerance": "--horizontal-pod-autoscaler-tolerance",
         "down": "--horizontal-pod-autoscaler-downscale-stabilization"}


def _q(milli: Any, resource: str | None = None) -> str:
    """A milli-unit value for reading: CPU in millicores, memory BinarySI, others canonical."""
    if milli is None:
        return "-"
    if resource == "cpu":
        return f"{int(milli)}m"
    return format_milli(int(milli), resource == "memory")


def _num(x: Any) -> str:
    if isinstance(x, float):
        text = repr(x)
        return text[:-2] if text.endswith(".0") else text
    return str(x)


def _table(rows: Sequence[Sequence[str]], indent: str) -> list[str]:
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    out = []
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r[:-1], widths, strict=False)] + [r[-1]]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.step = 0

    def head(self, text: str) -> None:
        self.step += 1
        if self.lines:
            self.lines.append("")
        self.lines.append(f"{self.step}. {text}")

    def line(self, text: str = "", level: int = 1) -> None:
        self.lines.append(("   " * level + text) if text else "")

    def extend(self, lines: list[str]) -> None:
        self.lines.extend(lines)


def render(result: Mapping[str, Any]) -> str:
    trace = result["trace"]
    w = _Writer()
    w.lines.append(f"HorizontalPodAutoscaler {trace['hpa']} at {trace['now']}")
    for note in trace.get("defaultsApplied") or []:
        w.line(f"(defaulted as the API server would: {note})", 0)
    _scale(w, trace)
    if "range" in trace:
        _range(w, trace)
    if trace.get("pods"):
        _pods(w, trace["pods"])
    for metric in trace.get("metrics") or []:
        _metric(w, metric, len(trace.get("metrics") or []))
    if "proposal" in trace:
        _proposal(w, trace["proposal"])
    if "normalization" in trace:
        _normalization(w, trace["normalization"], trace)
    _decision(w, result)
    return "\n".join(w.lines) + "\n"


def _scale(w: _Writer, trace: Mapping[str, Any]) -> None:
    scale = trace.get("scale") or {}
    w.head("Scale target")
    if "error" in scale:
        w.line(f"the scale could not be read: {scale['error']}")
        return
    w.line(f"spec.replicas {scale['specReplicas']} (the current count), status.replicas "
           f"{scale['statusReplicas']}, selector {scale['selector'] or '(none)'}")
    if scale.get("initialRecommendationRecorded"):
        w.line(f"first sync for this HPA (no history): recommendation {scale['specReplicas']} "
               "recorded now, so no scale-down happens for one stabilization window")


def _range(w: _Writer, trace: Mapping[str, Any]) -> None:
    rng = trace["range"]
    w.head("Replica range")
    text = (f"minReplicas {rng['minReplicas']}, maxReplicas {rng['maxReplicas']}, current "
            f"{rng['currentReplicas']}: ")
    branch = rng.get("branch")
    text += {"scalingDisabled": "the target is scaled to 0, so the HPA does nothing "
                                "(ScalingDisabled)",
             "aboveMax": "above maxReplicas, so it is set to maxReplicas without reading "
                         "metrics",
             "belowMin": "below minReplicas, so it is set to minReplicas without reading "
                         "metrics",
             "metrics": "within range, so metrics are computed"}.get(str(branch), str(branch))
    w.line(text)
    tol = trace.get("tolerances") or {}
    if branch == "metrics" and tol:
        src = tol["source"]
        origin = ("per-HPA spec.behavior tolerance" if "hpa" in src.values()
                  else f"{_FLAG['tolerance']} {_num(tol['flag'])}")
        w.line(f"tolerance {tol['text']}: no change while {_num(tol['lower'])} <= ratio <= "
               f"{_num(tol['upper'])} ({origin})")
        for direction in tol.get("ignoredPerHPA") or []:
            w.line(f"spec.behavior.{direction}.tolerance is ignored: the "
                   f"HPAConfigurableTolerance gate is off (kube {tol['kubeVersion']})")


def _pods(w: _Writer, pods: Mapping[str, Any]) -> None:
    w.head(f"Pods selected by {pods['selector']}: {len(pods['selected'])}")
    for skipped in pods.get("notSelected") or []:
        w.line(f"{skipped['name']} is not counted: {skipped['reason']}")


def _target_text(metric: Mapping[str, Any]) -> str:
    calc = metric.get("calculation") or {}
    target = calc.get("target") or {}
    resource = metric.get("resource")
    if "averageUtilization" in target:
        return f"target {target['averageUtilization']}% of request (Utilization)"
    if "averageValue" in target:
        return f"target average {_q(target['averageValue'], resource)} per pod (AverageValue)"
    if "value" in target:
        return f"target value {_q(target['value'])} (Value)"
    return ""


def _metric(w: _Writer, metric: Mapping[str, Any], total: int) -> None:
    kind = metric["type"]
    what = {"Resource": f"resource {metric.get('resource')}",
            "ContainerResource": f"resource {metric.get('resource')} of container "
                                 f"{metric.get('container')}",
            "Pods": f"pods metric {metric.get('metric')}",
            "Object": f"object metric {metric.get('metric')}",
            "External": f"external metric {metric.get('metric')}"}.get(kind, f"type {kind!r}")
    w.head(f"Metric {metric['index'] + 1}/{total}: {what}, {_target_text(metric)}".rstrip(", "))
    api = metric.get("metricsAPI")
    if api:
        w.line(f"PodMetricsList: {api['items']} item(s), first timestamp {api['timestamp']}")
    calc = metric.get("calculation") or {}
    if calc.get("pods"):
        _pod_rows(w, calc, metric.get("resource"))
    if "first" in calc:
        _first(w, calc, metric.get("resource"))
    elif "ratio" in calc:
        _object_numbers(w, calc)
    if metric.get("error"):
        w.line(f"error: {metric['error']['message']}")
        w.line(f"→ no proposal from this metric (Warning {metric['error']['reason']})")
        return
    if "rule" in calc:
        w.line(_rule_text(calc))
    w.line(f"proposal: {metric.get('proposal')} ({metric.get('description')})")


def _rule_text(calc: Mapping[str, Any]) -> str:
    rule = calc["rule"]
    replicas = calc.get("replicas")
    first = calc.get("first") or {}
    adjusted = calc.get("adjusted") or {}
    if rule == "ceil(ratio × ready pods)":
        return (f"ceil({_num(first.get('ratio'))} × {calc.get('readyPodCount')} ready pod(s)) "
                f"= {replicas}")
    if rule == "ceil(adjusted ratio × metric entries)":
        return (f"ceil({_num(adjusted.get('ratio'))} × {adjusted.get('count')} metric "
                f"entries) = {replicas}")
    if rule.startswith("ceil(adjusted ratio × metric entries) moves against"):
        return (f"ceil({_num(adjusted.get('ratio'))} × {adjusted.get('count')}) = "
                f"{adjusted.get('replicas')} would move against the adjusted ratio: keep "
                f"{replicas} (the current count)")
    if rule == "ceil(ratio × Running and Ready pods)":
        return (f"ceil({_num(calc.get('ratio'))} × {calc.get('readyPodCount')} Running and "
                f"Ready pod(s)) = {replicas}")
    return f"{rule} → {replicas}"


def _pod_rows(w: _Writer, calc: Mapping[str, Any], resource: str | None) -> None:
    rows = [["pod", "group", "usage", "request", "why"]]
    for row in calc["pods"]:
        rows.append([row["name"], row["group"], _q(row.get("usage"), resource),
                     _q(row.get("request"), resource), row["reason"]])
    for name in calc.get("superfluous") or []:
        rows.append([name, "extra", "", "", "a metric for a pod that is not in the list"])
    w.extend(_table(rows, "   "))
    w.line(f"ready pods: {calc.get('readyPodCount', 0)}")


def _first(w: _Writer, calc: Mapping[str, Any], resource: str | None) -> None:
    first = calc["first"]
    target = calc.get("target") or {}
    if "utilization" in first:
        goal = target.get("averageUtilization")
        w.line(f"utilization = {_q(first['usageSum'], resource)} × 100 / "
               f"{_q(first['requestSum'], resource)} = {first['utilization']}% (integer "
               f"division over {first['count']} pod(s))")
        w.line(f"ratio = {first['utilization']} / {goal} = {_num(first['ratio'])}")
    else:
        goal = target.get("averageValue")
        w.line(f"average = {_q(first['usageSum'], resource)} / {first['count']} = "
               f"{_q(first['average'], resource)} (integer division)")
        w.line(f"ratio = {_q(first['average'], resource)} / {_q(goal, resource)} = "
               f"{_num(first['ratio'])}")
    tol = calc.get("tolerance")
    if tol is not None:
        inside = "inside" if tol["within"] else "outside"
        w.line(f"{_num(tol['ratio'])} is {inside} [{_num(tol['lower'])}, {_num(tol['upper'])}]")
    adjusted = calc.get("adjusted")
    if adjusted is None:
        return
    ratio = first["ratio"]
    why = []
    if calc.get("scaleUpWithUnready"):
        why.append("unready pods count as 0 on a scale-up")
    missing = [n for n, f in adjusted["filled"].items() if f["group"] == "missing"]
    if missing:
        how = ("as 0 (scale-up)" if isinstance(ratio, float) and ratio > 1
               else "as 100% of their request, or the target when above 100% (scale-down)"
               if "utilization" in first else "as the target value (scale-down)")
        why.append(f"missing pods count {how}")
    if not adjusted["filled"] and not missing:
        why.append("missing pods are left out (the ratio is exactly 1)")
    w.line("re-check with filled-in values: " + "; ".join(why))
    fills = ", ".join(f"{n} = {_q(f['value'], resource)}" for n, f in adjusted["filled"].items())
    if fills:
        w.line(f"filled: {fills}")
    if "utilization" in adjusted:
        w.line(f"adjusted utilization = {_q(adjusted['usageSum'], resource)} × 100 / "
               f"{_q(adjusted['requestSum'], resource)} = {adjusted['utilization']}%, ratio "
               f"{_num(adjusted['ratio'])} over {adjusted['count']} metric entries")
    else:
        w.line(f"adjusted average = {_q(adjusted['average'], resource)}, ratio "
               f"{_num(adjusted['ratio'])} over {adjusted['count']} metric entries")
    tol = adjusted["tolerance"]
    w.line(f"{_num(tol['ratio'])} is {'inside' if tol['within'] else 'outside'} "
           f"[{_num(tol['lower'])}, {_num(tol['upper'])}]"
           + ("; it reverses the direction of the first ratio"
              if adjusted.get("directionReversed") else ""))


def _object_numbers(w: _Writer, calc: Mapping[str, Any]) -> None:
    target = calc.get("target") or {}
    if "statusReplicas" in calc:
        w.line(f"total {_q(calc['usage'])} over status.replicas {calc['statusReplicas']} vs "
               f"{_q(target.get('averageValue'))} per pod: ratio {_num(calc['ratio'])}")
    else:
        w.line(f"value {_q(calc['usage'])} vs target {_q(target.get('value'))}: ratio "
               f"{_num(calc['ratio'])}")
    tol = calc.get("tolerance")
    if tol is not None:
        w.line(f"{_num(tol['ratio'])} is {'inside' if tol['within'] else 'outside'} "
               f"[{_num(tol['lower'])}, {_num(tol['upper'])}]")
    if "readyPodCount" in calc:
        w.line(f"Running and Ready pods: {calc['readyPodCount']}")


def _proposal(w: _Writer, proposal: Mapping[str, Any]) -> None:
    w.head(f"Highest proposal: {proposal['replicas']} ({proposal['metric']})")
    if proposal.get("partialError"):
        w.line(f"some metrics failed, but the highest valid proposal is not a scale-down: "
               f"{proposal['partialError']}")
    if proposal.get("rescaleReason"):
        w.line(f"rescale reason: {proposal['rescaleReason']}")


def _normalization(w: _Writer, norm: Mapping[str, Any], trace: Mapping[str, Any]) -> None:
    stab = norm["stabilization"]
    if norm["path"] == "legacy":
        w.head("Normalisation (no spec.behavior: legacy rules)")
        window = _num(stab["windowSeconds"])
        w.line(f"scale-down stabilization: the highest of {stab['prenormalized']} and the "
               f"recommendations since {stab['cutoff']} ({window}s, {_FLAG['down']})")
        rows = [["recommendation", "at", "counted"]]
        rows += [[str(e["replicas"]), e["timestamp"], "yes" if e["inWindow"] else
                  "no (older; overwritten)" if e.get("overwritten") else "no (older)"]
                 for e in stab["entries"]]
        if len(rows) > 1:
            w.extend(_table(rows, "      "))
        w.line(f"stabilized: {stab['stabilized']}")
        r = norm["rules"]
        current = (trace.get("range") or {}).get("currentReplicas")
        w.line(f"scale-up limit: max({_num(r['scaleUpLimitFactor'])} × {current}, "
               f"{_num(r['scaleUpLimitMinimum'])}) = {r['scaleUpLimit']}; upper bound "
               f"{r['upperBound']} (the smaller of it and maxReplicas {r['maxReplicas']}); "
               f"lower bound minReplicas {r['minReplicas']}")
        w.line(f"result: {r['result']} ({r['reason']})")
        return
    w.head("Normalisation (spec.behavior)")
    origin = f" ({_FLAG['down']})" if stab.get("downWindowFromFlag") else ""
    w.line(f"stabilization: scale-up window {stab['upWindowSeconds']}s (since "
           f"{stab['upCutoff']}), scale-down window {stab['downWindowSeconds']}s{origin} "
           f"(since {stab['downCutoff']})")
    rows = [["recommendation", "at", "up-window", "down-window"]]
    rows += [[str(e["replicas"]), e["timestamp"], "yes" if e["inUpWindow"] else "no",
              "yes" if e["inDownWindow"] else "no"] for e in stab["entries"]]
    if len(rows) > 1:
        w.extend(_table(rows, "      "))
    current = (trace.get("range") or {}).get("currentReplicas")
    w.line(f"lowest in the up-window (with {stab['prenormalized']}): {stab['upRecommendation']}"
           f"; highest in the down-window: {stab['downRecommendation']}; current {current} "
           f"→ stabilized {stab['stabilized']}")
    rate = norm["rate"]
    if rate["direction"] == "none":
        w.line(f"no change requested: {rate['result']} (DesiredWithinRange)")
        return
    w.line(f"rate limits for scaling {rate['direction']} (selectPolicy {rate['selectPolicy']}):")
    for p in rate["policies"]:
        unit = "pods" if p["type"] == "Pods" else "%"
        w.line(f"{p['type']} {p['value']}{unit if unit == '%' else ' pods'} per "
               f"{p['periodSeconds']}s: {p['replicasAtPeriodStart']} at the period start "
               f"({p['periodStart']}; +{p['addedInPeriod']} −{p['removedInPeriod']} since) → "
               f"{p['limit']}", 2)
    if rate["selectPolicy"] == "Disabled":
        w.line("scaling in this direction is disabled: the limit is the current count", 2)
    w.line(f"limit {rate['limit']}, bound {rate['bound']} → {rate['result']} ({rate['reason']})")


def _decision(w: _Writer, result: Mapping[str, Any]) -> None:
    scale = result.get("scale")
    if scale:
        w.head(f"Decision: scale {scale['from']} → {scale['to']}")
    else:
        w.head("Decision: no rescale")
    if result.get("error"):
        w.line(f"reconcile error (logged by the controller): {result['error']}")
    w.line(f"status.desiredReplicas {result['desiredReplicas']}; the status "
           f"{'changes' if result.get('statusChanged') else 'does not change'} (written only "
           "when it changes)")
    conds = result["status"].get("conditions") or []
    if conds:
        w.line("")
        w.line("Conditions:", 0)
        w.extend(_table([[c["type"], c["status"], c.get("reason", ""), c.get("message", "")]
                         for c in conds], "  "))
    w.line("")
    if result["events"]:
        w.line("Events:", 0)
        w.extend(_table([[e["type"], e["reason"], e["message"]] for e in result["events"]],
                        "  "))
    else:
        w.line("Events: none", 0)
