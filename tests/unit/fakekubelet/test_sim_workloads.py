"""Workload shapes: closed-form integrals agree with numerical integration of their levels."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakekubelet.workloads import (
    Constant,
    Ramp,
    Signal,
    Sine,
    Spike,
    Step,
    Trace,
    Workload,
    integral,
    load_trace_csv,
    vary,
)

levels = st.floats(min_value=0, max_value=64, allow_nan=False)
durations = st.floats(min_value=0.5, max_value=600, allow_nan=False)
times = st.floats(min_value=-100, max_value=5000, allow_nan=False)


@st.composite
def signals(draw: st.DrawFn) -> Signal:
    kind = draw(st.sampled_from(["constant", "ramp", "step", "sine", "spike", "trace", "loop"]))
    if kind == "constant":
        return Constant(draw(levels))
    if kind == "ramp":
        return Ramp(draw(levels), draw(levels), draw(durations), draw(st.floats(0, 300)))
    if kind == "step":
        ats = sorted(draw(st.lists(st.floats(0, 3000), max_size=5)))
        return Step(draw(levels), tuple((a, draw(levels)) for a in ats))
    if kind == "sine":
        base = draw(levels)
        return Sine(base, draw(st.floats(0, 1)) * base, draw(durations), draw(st.floats(-4, 4)))
    if kind == "spike":
        every = draw(durations)
        return Spike(
            draw(levels),
            draw(levels),
            every,
            every * draw(st.floats(0.01, 1)),
            draw(st.floats(0, 100)),
        )
    n = draw(st.integers(1 if kind == "trace" else 2, 6))
    gaps = draw(st.lists(st.floats(0.5, 200), min_size=n - 1, max_size=n - 1))
    start = 0.0 if kind == "loop" else draw(st.floats(-50, 50))
    ts = [start]
    for g in gaps:
        ts.append(ts[-1] + g)
    return Trace(tuple((t, draw(levels)) for t in ts), loop=kind == "loop")


def error_bound(s: Signal, a: float, b: float, h: float) -> float:
    """Midpoint-rule error bound: each jump costs at most h·|jump|, curvature (b-a)·h²·|f''|/24."""
    span = b - a
    jumps, curvature = 0.0, 0.0
    if isinstance(s, Spike):
        jumps = 2 * (span / s.every + 2) * abs(s.peak - s.base)
    elif isinstance(s, Step):
        levels_ = [s.initial, *(v for _, v in s.steps)]
        jumps = sum(abs(x - y) for x, y in itertools.pairwise(levels_))
    elif isinstance(s, Trace):
        if s.loop:
            jumps = (span / s.points[-1][0] + 2) * abs(s.points[0][1] - s.points[-1][1])
        kinks = len(s.points) * (span / s.points[-1][0] + 2 if s.loop else 1)
        slopes = [
            abs(v1 - v0) / (t1 - t0)
            for (t0, v0), (t1, v1) in zip(s.points, s.points[1:], strict=False)
        ] or [0.0]
        jumps += kinks * 2 * max(slopes) * h
    elif isinstance(s, Ramp):
        jumps = 2 * abs(s.end - s.start) / s.duration * h
    elif isinstance(s, Sine):
        curvature = s.amplitude * (2 * math.pi / s.period) ** 2
    return jumps * h + span * h * h * curvature / 24


def numeric_integral(s: Signal, a: float, b: float, steps: int = 20000) -> float:
    """Midpoint rule; fine enough to check the closed forms, including across jumps."""
    h = (b - a) / steps
    return sum(s.value(a + (i + 0.5) * h) for i in range(steps)) * h


@settings(max_examples=150, deadline=None)
@given(signals(), times, st.floats(min_value=0.1, max_value=1000))
def test_closed_form_integral_matches_numeric(s: Signal, a: float, width: float) -> None:
    b = a + width
    exact = integral(s, a, b)
    approx = numeric_integral(s, a, b)
    bound = error_bound(s, a, b, width / 20000)
    assert exact == pytest.approx(approx, abs=bound + 1e-9 * (1 + abs(exact)))


@settings(max_examples=150, deadline=None)
@given(signals(), times, st.floats(0, 1000), st.floats(0, 1000))
def test_integral_is_additive_and_non_negative(s: Signal, a: float, w1: float, w2: float) -> None:
    b, c = a + w1, a + w1 + w2
    assert integral(s, a, b) >= -1e-9
    whole = integral(s, a, c)
    assert whole == pytest.approx(integral(s, a, b) + integral(s, b, c), rel=1e-9, abs=1e-6)


@given(signals(), times)
def test_levels_are_never_negative(s: Signal, t: float) -> None:
    assert s.value(t) >= -1e-12


@pytest.mark.parametrize(
    ("shape", "tau", "level", "area"),
    [
        (Constant(2.0), 10.0, 2.0, 20.0),
        (Ramp(0.0, 1.0, 10.0), 5.0, 0.5, 1.25),
        (Ramp(0.0, 1.0, 10.0), 20.0, 1.0, 15.0),
        (Ramp(1.0, 1.0, 10.0, delay=5.0), 6.0, 1.0, 6.0),
        (Step(1.0, ((10.0, 3.0),)), 15.0, 3.0, 25.0),
        (Sine(1.0, 0.5, 4.0), 1.0, 1.5, 1.0 + 0.5 * 4 / (2 * math.pi)),
        (Sine(1.0, 0.5, 4.0), 4.0, 1.0, 4.0),
        (Spike(0.1, 1.1, 10.0, 2.0), 1.0, 1.1, 1.1),
        (Spike(0.1, 1.1, 10.0, 2.0), 25.0, 0.1, 0.1 * 25 + 1.0 * 6),  # 3 spikes of 2 s
        (Trace(((0.0, 0.0), (10.0, 10.0))), 5.0, 5.0, 12.5),
        (Trace(((0.0, 0.0), (10.0, 10.0)), loop=True), 15.0, 5.0, 50.0 + 12.5),
    ],
)
def test_shape_table(shape: Signal, tau: float, level: float, area: float) -> None:
    assert shape.value(tau) == pytest.approx(level)
    assert shape.cumulative(tau) == pytest.approx(area)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Constant(-1.0),
        lambda: Sine(1.0, 2.0, 10.0),
        lambda: Sine(1.0, 0.5, 0.0),
        lambda: Ramp(0.0, 1.0, 0.0),
        lambda: Step(1.0, ((5.0, 1.0), (2.0, 1.0))),
        lambda: Spike(0.0, 1.0, 1.0, 2.0),
        lambda: Trace(()),
        lambda: Trace(((1.0, 1.0), (1.0, 2.0))),
        lambda: Trace(((1.0, 1.0), (2.0, 2.0)), loop=True),
        lambda: Constant(math.nan),
    ],
)
def test_invalid_shapes_are_refused(make: object) -> None:
    assert callable(make)
    with pytest.raises(ValueError):
        make()


def test_csv_trace(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("seconds,cpu_cores,memory_bytes\n0,0.1,1000\n10,0.3,3000\n")
    w = load_trace_csv(f)
    assert w.cpu.value(5) == pytest.approx(0.2)
    assert w.memory.value(5) == pytest.approx(2000)
    assert w.cpu.cumulative(10) == pytest.approx(2.0)
    assert w.cpu.value(100) == pytest.approx(0.3)  # holds the last level


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,cpu,mem\n0,1,1\n", ":1: trace header must be seconds,cpu_cores,memory_bytes"),
        ("seconds,cpu_cores,memory_bytes\n0,x,1\n", ":2: expected three numbers"),
        ("seconds,cpu_cores,memory_bytes\n5,1,1\n1,1,1\n", "strictly ascending"),
        ("seconds,cpu_cores,memory_bytes\n0,-1,1\n", ">= 0"),
    ],
)
def test_bad_csv_trace(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "t.csv"
    f.write_text(text)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")) as err:
        load_trace_csv(f)
    assert str(f) in str(err.value)


@settings(max_examples=80, deadline=None)
@given(signals(), st.floats(0, 3), st.floats(-100, 100), times, st.floats(0.1, 500))
def test_varied_shapes_keep_exact_integrals(
    s: Signal, factor: float, offset: float, a: float, width: float
) -> None:
    w = vary(Workload(s, s), factor, offset)
    b = a + width
    assert w.cpu.value(a) == pytest.approx(factor * s.value(a - offset))
    assert integral(w.cpu, a, b) == pytest.approx(
        factor * integral(s, a - offset, b - offset), rel=1e-9, abs=1e-6
    )
