"""Bounds on the summary (scenarios.experiment.bounds): parsing and checking."""

from __future__ import annotations

import math

import pytest

from scenarios.experiment.bounds import Bound, check_bounds, parse_bound
from scenarios.experiment.summary import Summary


def summary(**changes: object) -> Summary:
    base: dict[str, object] = dict(
        first_scale_up=90.0, first_scale_down=930.0, time_to_capacity=35.0, peak_replicas=7,
        final_replicas=1, pod_seconds_over=2820.0, pod_seconds_under=345.0,
        seconds_above_capacity=35.0, scale_events=4, direction_changes=1)
    base.update(changes)
    return Summary(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("key", "text", "bound"), [
    ("peakReplicas", ">= 6", Bound("peakReplicas", ">=", 6.0, None)),
    ("firstScaleUp", "<=105", Bound("firstScaleUp", "<=", 105.0, None)),
    ("finalReplicas", " == 1 ", Bound("finalReplicas", "==", 1.0, None)),
    ("podSecondsUnder", "< default", Bound("podSecondsUnder", "<", None, "default")),
    ("firstScaleDown", ">= res-15s + 30", Bound("firstScaleDown", ">=", None, "res-15s", 30.0)),
    ("scaleEvents", "> tol-0.1 - 2", Bound("scaleEvents", ">", None, "tol-0.1", -2.0)),
    ("directionChanges", "!= 3.5", Bound("directionChanges", "!=", 3.5, None)),
])
def test_parse(key: str, text: str, bound: Bound) -> None:
    assert parse_bound(key, text) == bound


@pytest.mark.parametrize(("key", "text", "message"), [
    ("peakReplica", ">= 6", "unknown summary figure 'peakReplica'; expected one of"),
    ("peakReplicas", "6", "expected a comparison such as '<= 105'"),
    ("peakReplicas", "=> 6", "expected a comparison"),
    ("peakReplicas", ">= Default", "expected a comparison"),
    ("peakReplicas", ">= default * 2", "expected a comparison"),
])
def test_parse_errors(key: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("*", r"\*")):
        parse_bound(key, text)


@pytest.mark.parametrize(("text", "render"), [
    (">= 6", ">= 6"), ("< default", "< default"), ("<= a + 30", "<= a + 30"),
    ("<= a - 2.5", "<= a - 2.5"),
])
def test_text_round_trips(text: str, render: str) -> None:
    assert parse_bound("peakReplicas", text).text == render


def test_check_fixed_and_relative_bounds() -> None:
    summaries = {"a": summary(), "b": summary(peak_replicas=9, pod_seconds_under=200.0)}
    bounds = {
        "a": [parse_bound("peakReplicas", ">= 6"), parse_bound("peakReplicas", "<= 6")],
        "b": [parse_bound("podSecondsUnder", "< a"), parse_bound("peakReplicas", "<= a + 1")],
    }
    failures = check_bounds(bounds, summaries)
    assert [f.render() for f in failures] == [
        "[a] peakReplicas (peak replicas) <= 6: got 7, bound 6",
        "[b] peakReplicas (peak replicas) <= a + 1: got 9, bound 8",
    ]


def test_never_is_later_than_any_bound() -> None:
    never = summary(first_scale_down=None, time_to_capacity=None)
    failures = check_bounds({"x": [parse_bound("firstScaleDown", ">= 660"),
                                   parse_bound("timeToCapacity", "<= 120")]}, {"x": never})
    assert [f.render() for f in failures] == [
        "[x] timeToCapacity (time to capacity) <= 120: got never, bound 120"]
    # relative to a variant that never did it either: inf vs inf
    both = check_bounds({"x": [parse_bound("firstScaleDown", ">= y")]},
                        {"x": never, "y": never})
    assert both == []
    assert math.isinf(float("inf"))


def test_unmeasured_figures_fail_every_bound() -> None:
    failures = check_bounds({"x": [parse_bound("podSecondsOver", ">= 0")]},
                            {"x": summary(pod_seconds_over=None)})
    assert failures[0].actual == "not measured"
