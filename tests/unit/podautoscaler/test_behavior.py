"""Normalisation (horizontal.go): upstream's stabilization, rate-limit and history tables."""

from __future__ import annotations

from typing import Any

import pytest

from podautoscaler import gotime
from podautoscaler.behavior import (
    Event,
    Rec,
    normalize_legacy,
    rate_limit,
    stabilize_legacy,
    stabilize_with_behavior,
    store_scale_event,
)
from podautoscaler.case import Behavior, parse_hpa

from .builders import NOW_NS, rules, uniform_events

MIN = 60 * gotime.SECOND


def recs(*pairs: tuple[int, float]) -> list[Rec]:
    """(replicas, minutes ago) pairs."""
    return [Rec(r, NOW_NS - int(m * MIN)) for r, m in pairs]


LEGACY = [
    ("empty log", [], 5, 5, 1),
    ("stabilize", [(4, 2), (5, 1)], 3, 5, 3),
    ("no stabilize", [(1, 2), (2, 1)], 3, 3, 3),
    ("no stabilize - old recommendations", [(10, 10), (9, 9)], 3, 3, 2),
    ("stabilize - old recommendations", [(10, 10), (4, 1), (5, 2), (9, 9)], 3, 5, 4),
    ("an entry exactly window-old still counts (legacy keeps it)", [(9, 5)], 3, 9, 2),
]


@pytest.mark.parametrize(("history", "prenormalized", "stabilized", "length"),
                         [r[1:] for r in LEGACY], ids=[f"s3-3:{r[0]}" for r in LEGACY])
def test_legacy_stabilization_matches_upstream(history: list[tuple[int, float]],
                                               prenormalized: int, stabilized: int,
                                               length: int) -> None:
    log = recs(*history)
    got, _ = stabilize_legacy(log, prenormalized, NOW_NS, 5 * MIN)
    assert got == stabilized
    assert len(log) == length


def test_legacy_overwrites_the_last_old_entry__s3_3() -> None:
    log = recs((10, 10), (4, 1), (5, 2), (9, 9))
    stabilize_legacy(log, 3, NOW_NS, 5 * MIN)
    assert [r.replicas for r in log] == [10, 4, 5, 3]
    assert log[3].timestamp == NOW_NS


CONVERT = [
    ("within range", 5, 7, 3, 8, 7, "DesiredWithinRange"),
    ("below min", 3, 1, 2, 8, 2, "TooFewReplicas"),
    ("zero within range when min is 0", 1, 0, 0, 10, 0, "DesiredWithinRange"),
    ("maxReplicas is the limit", 20, 1000, 1, 10, 10, "TooManyReplicas"),
    ("scale-up limit (factor 2: max(6, 4))", 3, 1000, 1, 2000, 6, "ScaleUpLimit"),
    ("scale-up limit minimum 4", 1, 9, 1, 10, 4, "ScaleUpLimit"),
    ("legacy: 3→60 with max 10", 3, 60, 1, 10, 6, "ScaleUpLimit"),
    ("legacy: 10→30 with max 50", 10, 30, 1, 50, 20, "ScaleUpLimit"),
]


@pytest.mark.parametrize(("current", "desired", "lo", "hi", "result", "reason"),
                         [r[1:] for r in CONVERT], ids=[f"s3-3:{r[0]}" for r in CONVERT])
def test_convert_desired_replicas_with_rules(current: int, desired: int, lo: int, hi: int,
                                             result: int, reason: str) -> None:
    got = normalize_legacy([], current, desired, lo, hi, NOW_NS, 5 * MIN, 2.0, 4.0)
    assert (got.replicas, got.limit_reason) == (result, reason)


def test_upstream_test_factor_8_raises_the_cap__s3_3() -> None:
    got = normalize_legacy([], 3, 1000, 1, 2000, NOW_NS, 5 * MIN, 8.0, 4.0)
    assert (got.replicas, got.limit_reason) == (24, "ScaleUpLimit")


BEHAVIOR_STAB = [
    ("empty recommendations for scaling down", [], 100, 5, 5, [5], 0, 0),
    ("simple scale down stabilization", [(4, 2), (5, 1)], 100, 3, 5, [4, 5, 3], 0, 180),
    ("simple scale up stabilization", [(4, 2), (5, 1)], 1, 7, 4, [4, 5, 7], 300, 0),
    ("no scale down stabilization", [(1, 2), (2, 1)], 100, 3, 3, [1, 2, 3], 300, 0),
    ("no scale up stabilization", [(4, 2), (5, 1)], 1, 3, 3, [4, 5, 3], 0, 300),
    ("no scale down stabilization, reuse recommendation element", [(10, 10), (9, 9)], 100, 3, 3,
     [10, 3], 0, 0),
    ("no scale up stabilization, reuse recommendation element", [(10, 10), (9, 9)], 1, 100,
     100, [10, 100], 0, 0),
    ("scale down stabilization, reuse one of obsolete recommendation element",
     [(10, 10), (4, 1), (5, 2), (9, 9)], 100, 3, 5, [10, 4, 5, 3], 0, 180),
    ("scale up stabilization, reuse one of obsolete recommendation element",
     [(10, 100), (6, 1), (5, 2), (9, 3)], 1, 100, 5, [100, 6, 5, 9], 300, 0),
    ("do not scale up when prenormalized rec goes down", [(2, 100), (3, 3)], 2, 1, 2, None,
     300, 300),
    ("do not scale down when prenormalized rec goes up", [(2, 100), (1, 3)], 2, 3, 2, None,
     300, 300),
    ("an entry exactly window-old is out (behavior is strict)", [(9, 5)], 100, 3, 3, [9, 3],
     0, 300),
]


@pytest.mark.parametrize(("history", "current", "prenormalized", "stabilized", "after", "up",
                          "down"), [r[1:] for r in BEHAVIOR_STAB],
                         ids=[f"s3-4:{r[0]}" for r in BEHAVIOR_STAB])
def test_behavior_stabilization_matches_upstream(history: list[tuple[int, float]],
                                                 current: int, prenormalized: int,
                                                 stabilized: int, after: list[int] | None,
                                                 up: int, down: int) -> None:
    log = recs(*history)
    got, _, _, _ = stabilize_with_behavior(log, prenormalized, current, up, down, NOW_NS)
    assert got == stabilized
    if after is not None:
        assert [r.replicas for r in log] == after


def behavior(scale_up: dict[str, Any] | None = None,
             scale_down: dict[str, Any] | None = None) -> Behavior:
    spec: dict[str, Any] = {}
    if scale_up is not None:
        spec["scaleUp"] = scale_up
    if scale_down is not None:
        spec["scaleDown"] = scale_down
    parsed = parse_hpa({"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "x"},
                                 "maxReplicas": 10, "behavior": spec}})
    assert parsed.behavior is not None
    return parsed.behavior


def events(raw: list[dict[str, Any]]) -> list[Event]:
    return [Event(e["replicaChange"], gotime.parse_rfc3339(e["timestamp"])) for e in raw]


RATE = [
    ("within range", {}, 3, 8, 5, 7, 7, "DesiredWithinRange"),
    ("below min", {}, 2, 8, 3, 1, 2, "TooFewReplicas"),
    ("min 0 within range", {}, 0, 10, 1, 0, 0, "DesiredWithinRange"),
    ("maxReplicas < scaleUpLimit", {}, 1, 10, 20, 1000, 10, "TooManyReplicas"),
    ("more than the maximum", {}, 100, 150, 100, 1000, 150, "TooManyReplicas"),
    ("user policy 1%", dict(up=rules(0, 0, 1, 60, 0)), 1, 2000, 3, 1000, 4, "ScaleUpLimit"),
    ("scale-down 20 pods", dict(down=rules(20, 60, 0, 0, 0)), 3, 2000, 1000, 3, 980,
     "ScaleDownLimit"),
    ("scaleUp with default behavior", {}, 1, 1000, 10, 50, 20, "ScaleUpLimit"),
    ("pods policy larger than percent", dict(up=rules(100, 60, 100, 60, 0)), 1, 1000, 10, 500,
     110, "ScaleUpLimit"),
    ("percent policy larger than pods", dict(up=rules(2, 60, 100, 60, 0)), 1, 1000, 10, 500,
     20, "ScaleUpLimit"),
    ("max limitation with large pod policy", dict(up=rules(100, 60, 0, 0, 0)), 1, 1000, 10, 50,
     50, "DesiredWithinRange"),
    ("max limitation with large percent policy", dict(up=rules(10000, 60, 0, 0, 0)), 1, 1000,
     10, 50, 50, "DesiredWithinRange"),
    ("pod policy limitation", dict(up=rules(30, 60, 0, 0, 0)), 1, 1000, 10, 50, 40,
     "ScaleUpLimit"),
    ("percent policy limitation", dict(up=rules(0, 0, 200, 60, 0)), 1, 1000, 10, 50, 30,
     "ScaleUpLimit"),
    ("scaleDown percent larger than pods", dict(down=rules(20, 60, 1, 60, 300)), 1, 1000, 100,
     2, 80, "ScaleDownLimit"),
    ("scaleDown pods larger than percent", dict(down=rules(2, 60, 1, 60, 300)), 1, 1000, 100,
     2, 98, "ScaleDownLimit"),
    ("scaleDown min limitation with large pod policy", dict(down=rules(100, 60, 0, 0, 300)), 1,
     1000, 10, 0, 1, "TooFewReplicas"),
    ("scaleDown min 5 with large percent policy", dict(down=rules(0, 0, 100, 60, 300)), 5,
     1000, 10, 2, 5, "TooFewReplicas"),
    ("scaleDown pod policy limitation", dict(down=rules(5, 60, 0, 0, 300)), 1, 1000, 10, 2, 5,
     "ScaleDownLimit"),
    ("scaleDown percent policy limitation", dict(down=rules(0, 0, 50, 60, 300)), 1, 1000, 10,
     5, 5, "DesiredWithinRange"),
    ("up: max limitation with pod policy and events",
     dict(up=rules(300, 60, 0, 0, 0), ups=[1, 5, 9]), 1, 200, 100, 500, 200, "TooManyReplicas"),
    ("up: max limitation with percent policy and events",
     dict(up=rules(0, 0, 10000, 60, 0), ups=[1, 5, 9]), 1, 200, 100, 500, 200,
     "TooManyReplicas"),
    ("up: current limitation after many events",
     dict(up=rules(5, 120, 0, 0, 0), ups=[1, 5, 9]), 1, 1000, 100, 500, 100, "ScaleUpLimit"),
    ("up: pod policy and previous events", dict(up=rules(150, 120, 0, 0, 0), ups=[1, 5, 9]), 1,
     1000, 100, 500, 235, "ScaleUpLimit"),
    ("up: percent policy and previous events", dict(up=rules(0, 0, 200, 120, 0), ups=[1, 5, 9]),
     1, 1000, 100, 500, 255, "ScaleUpLimit"),
    ("up: percent policy with up and down events",
     dict(up=rules(0, 0, 300, 300, 0), ups=[4], downs=[2]), 1, 1000, 6, 24, 16, "ScaleUpLimit"),
    ("down: default policy and previous events", dict(downs=[1, 5, 9]), 1, 1000, 10, 5, 5,
     "DesiredWithinRange"),
    ("down: min limitation with pod policy and events",
     dict(down=rules(115, 120, 0, 0, 300), downs=[1, 5, 9]), 1, 1000, 100, 0, 1,
     "TooFewReplicas"),
    ("down: min 5 with pod policy and events",
     dict(down=rules(130, 120, 0, 0, 300), downs=[1, 5, 9]), 5, 1000, 100, 0, 5,
     "TooFewReplicas"),
    ("down: min 5 with percent policy and events",
     dict(down=rules(0, 0, 100, 120, 300), downs=[1, 5, 9]), 5, 1000, 100, 2, 5,
     "TooFewReplicas"),
    ("down: pod policy limitation and events", dict(down=rules(5, 120, 0, 0, 300),
                                                    downs=[1, 5, 9]), 1, 1000, 100, 2, 100,
     "ScaleDownLimit"),
    ("down: percent policy limitation and events", dict(down=rules(0, 0, 50, 120, 300),
                                                        downs=[2, 4, 6]), 1, 1000, 100, 0, 56,
     "ScaleDownLimit"),
    ("down: percent policy with up and down events",
     dict(down=rules(0, 0, 50, 180, 0), ups=[2], downs=[4]), 1, 1000, 10, 1, 6,
     "ScaleDownLimit"),
    ("down: previous events prevent further scale-down",
     dict(down=rules(0, 0, 10, 120, 300), downs=[10, 10, 10]), 1, 1000, 100, 0, 100,
     "ScaleDownLimit"),
    ("down: previous events still allow more scale-down",
     dict(down=rules(0, 0, 1000, 120, 300), downs=[10, 10, 10]), 1, 1000, 10, 5, 5,
     "DesiredWithinRange"),
    ("up: 'outdated' flag for one policy", dict(up=rules(1000, 60, 0, 0, 0),
                                                ups=[8, 12, 9, 11]), 1, 1000, 100, 200, 200,
     "DesiredWithinRange"),
    ("up: events not outdated for two policies", dict(up=rules(1000, 120, 100, 60, 0),
                                                      ups=[8, 12, 9, 11]), 1, 1000, 100, 200,
     200, "DesiredWithinRange"),
    ("up: events outdated for two policies", dict(up=rules(1000, 30, 100, 60, 0),
                                                  ups=[8, 12, 9, 11]), 1, 1000, 100, 200, 200,
     "DesiredWithinRange"),
    ("down: 'outdated' flag for one policy", dict(down=rules(1000, 60, 0, 0, 300),
                                                  downs=[8, 12, 9, 11]), 1, 1000, 100, 5, 5,
     "DesiredWithinRange"),
    ("down: events not outdated for two policies",
     dict(down=rules(1000, 120, 100, 60, 300), downs=[8, 12, 9, 11]), 1, 1000, 100, 5, 5,
     "DesiredWithinRange"),
    ("down: events outdated for two policies",
     dict(down=rules(1000, 30, 100, 60, 300), downs=[8, 12, 9, 11]), 1, 1000, 100, 5, 5,
     "DesiredWithinRange"),
    ("up: Min select → lowest change (TestCalculateScaleUpLimitWithScalingRules)",
     dict(up=rules(2, 60, 50, 60, 300, select="Min")), 1, 1000, 1, 100, 2, "ScaleUpLimit"),
    ("down: Min select → lowest change (TestCalculateScaleDownLimitWithBehaviors)",
     dict(down=rules(2, 60, 50, 60, 300, select="Min")), 1, 1000, 5, 0, 3, "ScaleDownLimit"),
    ("up: Disabled keeps current", dict(up=rules(4, 15, 0, 0, 0, select="Disabled")), 1, 10, 3,
     9, 3, "ScaleUpLimit"),
    ("down: Disabled keeps current", dict(down=rules(4, 15, 0, 0, 0, select="Disabled")), 1,
     10, 8, 2, 8, "ScaleDownLimit"),
    ("behavior default: 3 wants 100 → 7 (3+4 beats 6)", {}, 1, 1000, 3, 100, 7,
     "ScaleUpLimit"),
    ("behavior default: 1 wants 100 → 5", {}, 1, 1000, 1, 100, 5, "ScaleUpLimit"),
]


@pytest.mark.parametrize(("spec", "lo", "hi", "current", "desired", "result", "reason"),
                         [r[1:] for r in RATE], ids=[f"s3-4:{r[0]}" for r in RATE])
def test_rate_limits_match_upstream(spec: dict[str, Any], lo: int, hi: int, current: int,
                                    desired: int, result: int, reason: str) -> None:
    b = behavior(spec.get("up"), spec.get("down"))
    up = events(uniform_events(spec["ups"], 120)) if "ups" in spec else []
    down = events(uniform_events(spec["downs"], 120)) if "downs" in spec else []
    got, got_reason, _, _ = rate_limit(b, current, desired, lo, hi, up, down, NOW_NS)
    assert (got, got_reason) == (result, reason)


def test_docs_example_80_replicas_step_by_step__s3_4() -> None:
    """scaleDown {Pods 4/60s, Percent 10/60s}, Max: 80 → 72 → 64 … (one step per 60 s)."""
    b = behavior(None, {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 60},
        {"type": "Percent", "value": 10, "periodSeconds": 60}]})
    up: list[Event] = []
    down: list[Event] = []
    current, now, steps = 80, NOW_NS, []
    while current > 10 and len(steps) < 20:
        got, _, _, _ = rate_limit(b, current, 10, 1, 100, up, down, now)
        steps.append(got)
        store_scale_event(b, up, down, current, got, now)
        current = got
        now += 61 * gotime.SECOND
    assert steps[:4] == [72, 64, 57, 51]
    assert steps[4:8] == [45, 40, 36, 32]  # 4 per step once at or below 40
    assert steps[-1] == 10


STORE = [
    ("empty entries with default behavior", [], [], None, 0),
    ("empty entries with two-policy-behavior", [], [(5, 0, False)],
     rules(10, 60, 100, 60, 0), 0),
    ("one outdated entry kept untouched without behavior", [(7, 61)], [(7, 61, False)], None, 0),
    ("one outdated entry replaced with behavior", [(7, 61)], [(5, 0, False)],
     rules(10, 60, 100, 60, 0), 0),
    ("one actual entry not touched", [(7, 58)], [(7, 58, False), (5, 0, False)],
     rules(10, 60, 100, 60, 0), 7),
    ("two entries, one replaced", [(7, 61), (6, 59)], [(5, 0, False), (6, 59, False)],
     rules(10, 60, 0, 0, 0), 6),
    ("replace one entry, policies with different periods",
     [(8, 29), (6, 59), (7, 61), (9, 61)],
     [(8, 29, False), (6, 59, False), (7, 61, True), (5, 0, False)],
     rules(10, 60, 100, 30, 0), 14),
    ("two entries, both actual", [(7, 58), (6, 59)], [(7, 58, False), (6, 59, False),
                                                      (5, 0, False)],
     rules(10, 120, 100, 30, 0), 13),
]


@pytest.mark.parametrize(("before", "after", "scaling", "change60"), [r[1:] for r in STORE],
                         ids=[f"s3-4:{r[0]}" for r in STORE])
@pytest.mark.parametrize("direction", ["up", "down"])
def test_store_scale_events_matches_upstream(before: list[tuple[int, int]],
                                             after: list[tuple[int, int, bool]],
                                             scaling: dict[str, Any] | None, change60: int,
                                             direction: str) -> None:
    from podautoscaler.behavior import _change_in_period

    log = [Event(c, NOW_NS - s * gotime.SECOND) for c, s in before]
    assert _change_in_period(60, log, NOW_NS) == change60
    b = None
    if scaling is not None:
        b = behavior(scaling, None) if direction == "up" else behavior(None, scaling)
    up, down = (log, []) if direction == "up" else ([], log)
    new = 15 if direction == "up" else 5
    store_scale_event(b, up, down, 10, new, NOW_NS)
    got = [(e.replica_change, (NOW_NS - e.timestamp) // gotime.SECOND, e.outdated) for e in log]
    expected = [(c, s, o) if s else (c, 0, o) for c, s, o in after]
    if scaling is None:
        expected = [(c, s, False) for c, s in before]
    assert got == expected
