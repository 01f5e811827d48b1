"""setCondition's rules (horizontal.go): first-insertion order, transition time only on flips."""

from __future__ import annotations

from podautoscaler.conditions import Conditions, event


def test_new_conditions_append_in_order_with_now() -> None:
    c = Conditions([], "2025-06-01T12:00:00Z")
    c.set("AbleToScale", "True", "SucceededGetScale", "m1")
    c.set("ScalingActive", "True", "ValidMetricFound", "m2")
    assert [x["type"] for x in c.as_list()] == ["AbleToScale", "ScalingActive"]
    assert all(x["lastTransitionTime"] == "2025-06-01T12:00:00Z" for x in c.as_list())


def test_transition_time_moves_only_when_the_status_flips() -> None:
    old = [{"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange",
            "message": "x", "lastTransitionTime": "2025-01-01T00:00:00Z"},
           {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
            "message": "y", "lastTransitionTime": "2025-01-01T00:00:00Z"}]
    c = Conditions(old, "2025-06-01T12:00:00Z")
    c.set("AbleToScale", "True", "SucceededRescale", "z")
    c.set("ScalingLimited", "True", "TooManyReplicas", "w")
    out = {x["type"]: x for x in c.as_list()}
    assert out["AbleToScale"]["lastTransitionTime"] == "2025-01-01T00:00:00Z"
    assert out["AbleToScale"]["reason"] == "SucceededRescale"
    assert out["ScalingLimited"]["lastTransitionTime"] == "2025-06-01T12:00:00Z"
    assert [x["type"] for x in c.as_list()] == ["ScalingLimited", "AbleToScale"]
    assert old[1]["reason"] == "ReadyForNewScale"  # the input is not mutated


def test_keys_are_ordered_like_the_api() -> None:
    c = Conditions([], "t")
    c.set("AbleToScale", "True", "r", "m")
    assert list(c.as_list()[0]) == ["type", "status", "lastTransitionTime", "reason", "message"]


def test_event_shape() -> None:
    assert event("Normal", "SuccessfulRescale", "New size: 2; reason: x") == {
        "type": "Normal", "reason": "SuccessfulRescale", "message": "New size: 2; reason: x"}
