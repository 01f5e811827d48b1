"""Invariants that hold for every case (hypothesis), as the issue's "Done when" lists them.

- With replicas > 0 and the current count within [min, max], the result is within [min, max].
- A ratio inside the tolerance (no missing or unready pods) never changes the count.
- A scale-down never goes below the highest recommendation in the stabilization window.
- reconcile is deterministic, and its result survives a JSON round trip unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podautoscaler import reconcile

from .builders import COOL, NOW, ago, case, hpa, pod, pod_metrics, rules, scale

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cases(draw: st.DrawFn, *, ready_only: bool = False, past: bool = True) -> dict[str, Any]:
    lo = draw(st.integers(1, 5))
    hi = draw(st.integers(lo, 30))
    current = draw(st.integers(lo, hi))
    n = current if ready_only else draw(st.integers(1, current + 3))
    requests = draw(st.lists(st.integers(10, 2000), min_size=n, max_size=n))
    levels = draw(st.lists(st.integers(0, 4000), min_size=n, max_size=n))
    pods = []
    for i in range(n):
        phase = "Running" if ready_only else draw(st.sampled_from(
            ["Running", "Running", "Running", "Pending", "Failed"]))
        ready = "True" if ready_only else draw(st.sampled_from(["True", "True", "False"]))
        start = COOL if ready_only else draw(st.sampled_from([COOL, NOW, ago(600)]))
        pods.append(pod(i, f"{requests[i]}m", ready=ready, start=start, phase=phase,
                        split=False, transition=ago(170) if ready_only else "start"))
    keep = n if ready_only else draw(st.integers(0, n))
    metrics = pod_metrics(levels[:keep], split=False, timestamp=NOW)
    target = draw(st.integers(1, 300))
    metric = {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": target}}}
    behavior = None
    if draw(st.booleans()):
        behavior = {"scaleUp": rules(draw(st.integers(1, 10)), 15, draw(st.integers(1, 300)),
                                     60, draw(st.sampled_from([0, 60]))),
                    "scaleDown": rules(draw(st.integers(1, 10)), 15, draw(st.integers(1, 100)),
                                       60, draw(st.sampled_from([0, 60, None])),
                                       select=draw(st.sampled_from(["Max", "Min"])))}
    history = draw(st.sampled_from([None, []]))
    recs = draw(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 900)),
                         max_size=5 if past else 0))
    if recs:
        history = [{"replicas": r, "timestamp": ago(s)} for r, s in recs]
    status = {"currentReplicas": current, "desiredReplicas": current}
    return case(hpa_obj=hpa([metric], min_replicas=lo, max_replicas=hi, behavior=behavior,
                            status=status),
                scale_obj=scale(current), pods=pods, metrics=metrics,
                controller={"tolerance": draw(st.sampled_from([0.0, 0.05, 0.1, 0.5]))},
                history=None if history is None else {"recommendations": history})


@SETTINGS
@given(cases())
def test_desired_stays_within_min_and_max(c: dict[str, Any]) -> None:
    spec = c["hpa"]["spec"]
    result = reconcile(c)
    after = result["scale"]["to"] if result["scale"] else c["scale"]["spec"]["replicas"]
    assert spec["minReplicas"] <= after <= spec["maxReplicas"]
    # status.desiredReplicas too (when metrics fail it keeps the previous, in-range value)
    assert spec["minReplicas"] <= result["desiredReplicas"] <= spec["maxReplicas"]


@SETTINGS
@given(cases(ready_only=True, past=False))
def test_no_change_inside_the_tolerance(c: dict[str, Any]) -> None:
    """(Without earlier recommendations: the legacy window would still apply a higher one.)"""
    result = reconcile(c)
    metric = result["trace"]["metrics"][0]
    tolerance = metric.get("calculation", {}).get("tolerance")
    if tolerance is not None and tolerance["within"]:
        assert metric["proposal"] == c["scale"]["spec"]["replicas"]
        assert result["scale"] is None


@SETTINGS
@given(cases())
def test_scale_down_never_below_the_windows_highest_recommendation(c: dict[str, Any]) -> None:
    result = reconcile(c)
    norm = result["trace"].get("normalization")
    if norm is None or result["scale"] is None:
        return
    current = c["scale"]["spec"]["replicas"]
    to = result["scale"]["to"]
    if to >= current:
        return
    stab = norm["stabilization"]
    if norm["path"] == "legacy":
        window = [e["replicas"] for e in stab["entries"] if e["inWindow"]]
    else:
        window = [e["replicas"] for e in stab["entries"] if e["inDownWindow"]]
    highest = max([*window, stab["prenormalized"]])
    floor = max(highest, c["hpa"]["spec"]["minReplicas"])
    assert to >= min(floor, current)


@SETTINGS
@given(cases())
def test_reconcile_is_deterministic_and_json_round_trips(c: dict[str, Any]) -> None:
    first = reconcile(json.loads(json.dumps(c)))
    second = reconcile(json.loads(json.dumps(c)))
    assert first == second
    assert json.loads(json.dumps(first, allow_nan=False)) == first


@SETTINGS
@given(cases())
def test_history_out_is_a_valid_history_in(c: dict[str, Any]) -> None:
    """Feeding the history back is accepted and idempotent in shape."""
    result = reconcile(c)
    again = dict(c)
    again["history"] = result["history"]
    assert reconcile(again)["history"]["recommendations"] is not None
