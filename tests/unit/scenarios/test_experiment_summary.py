"""The summary figures (scenarios.experiment.summary): tables for each definition, and
properties that hold for any series."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.experiment.summary import (
    Sample,
    ScaleEvent,
    capacity_episode,
    direction_changes,
    pods_needed,
    summarize,
)


def s(t: float, demand: float = 0.0, capacity: float = 1.0, total: int = 1, ready: int = 1,
      replicas: int = 1, needed: int | None = 1) -> Sample:
    return Sample(t, demand, capacity, total, ready, replicas, needed)


@pytest.mark.parametrize(("demand", "target", "needed"), [
    (0.0, 0.1, 0),
    (0.61, 0.1, 7),       # the walkthrough: 305 % of 200m on one pod at a 50 % target
    (0.7, 0.1, 7),        # 0.7 / 0.1 = 7.000000000000001 in floats: still 7
    (0.7000001, 0.1, 8),
    (0.05, 0.1, 1),
    (1.0, 0.25, 4),
    (1.0000000000001, 0.25, 4),  # float noise below EPSILON
])
def test_pods_needed(demand: float, target: float, needed: int) -> None:
    assert pods_needed(demand, target) == needed


def test_pods_needed_refuses_a_zero_target() -> None:
    with pytest.raises(ValueError, match="per-pod target must be > 0"):
        pods_needed(1.0, 0.0)


@pytest.mark.parametrize(("samples", "expected"), [
    ([s(0, 0.5, 1.0), s(10, 0.9, 1.0)], 0.0),                       # never above
    ([s(0, 0.5, 1.0), s(10, 2.0, 1.0), s(20, 2.0, 1.5), s(45, 2.0, 2.0)], 35.0),
    ([s(0, 2.0, 1.0), s(10, 2.0, 1.0)], None),                      # never recovers
    ([s(0, 2.0, 1.0), s(5, 0.5, 1.0), s(10, 3.0, 1.0), s(30, 1.0, 1.0)], 20.0),  # longest
    ([s(0, 2.0, 1.0), s(5, 0.5, 1.0), s(10, 3.0, 1.0)], None),      # the last one lasts
    ([s(0, 1.0 + 1e-12, 1.0)], 0.0),                                # float noise: not above
    # starting up (no Ready pod yet) is not under capacity; from the first Ready pod it is
    ([s(0, 0.3, 0.0, ready=0), s(5, 0.3, 0.5), s(60, 0.6, 0.5), s(95, 0.6, 1.0)], 35.0),
    # never Ready: measured throughout
    ([s(0, 0.3, 0.0, ready=0), s(5, 0.3, 0.0, ready=0)], None),
])
def test_time_to_capacity(samples: list[Sample], expected: float | None) -> None:
    assert capacity_episode(samples) == expected


@pytest.mark.parametrize(("moves", "changes"), [
    ([], 0),
    ([(1, 3), (3, 6)], 0),
    ([(1, 3), (3, 1)], 1),
    ([(1, 3), (3, 2), (2, 4), (4, 1)], 3),
    ([(1, 3), (3, 3), (3, 1)], 1),     # a no-op rescale is not a direction
])
def test_direction_changes(moves: list[tuple[int, int]], changes: int) -> None:
    events = [ScaleEvent(float(i), a, b) for i, (a, b) in enumerate(moves)]
    assert direction_changes(events) == changes


def test_summary_of_a_walkthrough_like_run() -> None:
    """Load on at 60 s (0.61 cores, 100m per pod at target), one pod serving up to 0.5."""
    samples = [
        s(0, 0.0, 0.5, 1, 1, 1, 0),
        s(60, 0.61, 0.5, 1, 1, 1, 7),     # above capacity: 1 pod, 0.5 cores
        s(90, 0.61, 0.5, 3, 1, 3, 7),     # scaled to 3 at 90, new pods not ready
        s(100, 0.61, 1.5, 3, 3, 3, 7),    # ready: capacity back over demand at 100
        s(120, 0.61, 1.5, 6, 3, 6, 7),
        s(140, 0.61, 3.0, 6, 6, 6, 7),
        s(300, 0.0, 3.0, 6, 6, 6, 0),     # load off
        s(600, 0.0, 0.5, 1, 1, 1, 0),     # scaled down at 600
    ]
    events = [ScaleEvent(90, 1, 3), ScaleEvent(120, 3, 6), ScaleEvent(600, 6, 1)]
    got = summarize(samples, events, end=660)
    assert got.first_scale_up == 90
    starting = summarize([s(-5, 0.61, 0.0, 1, 0, 1, 7), *samples], events, end=660)
    assert starting.seconds_above_capacity == 40  # starting up is not counted
    assert got.first_scale_down == 600
    assert got.time_to_capacity == 40
    assert got.peak_replicas == 6
    assert got.final_replicas == 1
    assert got.seconds_above_capacity == 40
    assert got.scale_events == 3
    assert got.direction_changes == 1
    # over: 1 pod × 60 s before the load (needed 0), 6 × 300 s after it (needed 0), 1 × 60 s
    assert got.pod_seconds_over == 60 + 6 * 300 + 60
    # under: needed 7 − ready: 6 × 30 + 6 × 10 + 4 × 20 + 4 × 20 + 1 × 160
    assert got.pod_seconds_under == 6 * 30 + 6 * 10 + 4 * 20 + 4 * 20 + 1 * 160


def test_summary_without_a_cpu_target_has_no_provisioning_figures() -> None:
    got = summarize([s(0, needed=None), s(10, needed=None)], [], end=20)
    assert got.pod_seconds_over is None and got.pod_seconds_under is None
    assert got.first_scale_up is None and got.first_scale_down is None


def test_summary_refuses_samples_out_of_order() -> None:
    with pytest.raises(ValueError, match="out of order"):
        summarize([s(10), s(5)], [], end=20)


@st.composite
def runs(draw: st.DrawFn) -> tuple[list[Sample], float]:
    n = draw(st.integers(1, 40))
    gaps = draw(st.lists(st.integers(1, 30), min_size=n, max_size=n))
    t, samples = 0.0, []
    for gap in gaps:
        total = draw(st.integers(0, 12))
        ready = draw(st.integers(0, total))
        samples.append(Sample(t, draw(st.floats(0, 5)), draw(st.floats(0, 5)), total, ready,
                              draw(st.integers(0, 12)), draw(st.integers(0, 12))))
        t += gap
    return samples, t


@settings(max_examples=200, deadline=None)
@given(runs())
def test_properties_of_any_run(run: tuple[list[Sample], float]) -> None:
    samples, end = run
    got = summarize(samples, [], end)
    span = end - samples[0].t
    assert got.pod_seconds_over is not None and got.pod_seconds_under is not None
    assert got.pod_seconds_over >= 0 and got.pod_seconds_under >= 0
    assert 0 <= got.seconds_above_capacity <= span
    # over − under is the integral of (total − needed) when every pod is ready
    if all(x.total == x.ready for x in samples):
        holds = [b.t - a.t for a, b in itertools.pairwise(samples)]
        holds.append(end - samples[-1].t)
        net = sum((x.total - (x.needed or 0)) * h for x, h in zip(samples, holds, strict=True))
        assert math.isclose(got.pod_seconds_over - got.pod_seconds_under, net, abs_tol=1e-6)
    # pods exactly as needed and serving: nothing over, nothing under
    exact = [Sample(x.t, x.demand, x.capacity, x.needed or 0, x.needed or 0, x.replicas,
                    x.needed) for x in samples]
    tight = summarize(exact, [], end)
    assert tight.pod_seconds_over == 0 and tight.pod_seconds_under == 0
    ttc = got.time_to_capacity
    assert ttc is None or 0 <= ttc <= span


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=30))
def test_rescale_counts(replicas: list[int]) -> None:
    events = [ScaleEvent(float(i), a, b) for i, (a, b) in
              enumerate(itertools.pairwise(replicas))]
    got = summarize([s(0, replicas=replicas[0])], events, end=len(replicas))
    moves = sum(1 for a, b in itertools.pairwise(replicas) if a != b)
    assert got.scale_events == moves
    assert got.direction_changes <= max(0, moves - 1)
    assert got.peak_replicas == max(replicas)
    assert got.final_replicas == replicas[0]  # the last (only) sample's
