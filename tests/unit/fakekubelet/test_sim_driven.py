"""The driven workload: levels set at run time, counters the exact integral of what was set."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakekubelet.workloads import Driven, driven_workload, is_driven

# (delay since the previous change, level); delays may be 0 (two changes at one instant)
changes = st.lists(
    st.tuples(st.integers(0, 50_000), st.integers(0, 8_000)), min_size=0, max_size=40
)


def exact_area(initial: int, steps: list[tuple[int, int]], tau: Fraction) -> Fraction:
    """The integral from 0 to tau of the piecewise-constant level, in exact arithmetic
    (times in ms, levels in millicores: the floats the signal sees are these / 1000)."""
    points: list[tuple[Fraction, Fraction]] = []
    t = Fraction(0)
    for delay, level in steps:
        t += Fraction(delay, 1000)
        if points and points[-1][0] == t:
            points[-1] = (t, Fraction(level, 1000))
        else:
            points.append((t, Fraction(level, 1000)))
    area = Fraction(0)
    prev_t, prev_level = Fraction(0), Fraction(initial, 1000)
    for at, at_level in points:
        if at >= tau:
            break
        area += prev_level * (at - prev_t)
        prev_t, prev_level = at, at_level
    return area + prev_level * (tau - prev_t)


@given(st.integers(0, 8_000), changes, st.integers(0, 3_000_000))
def test_cumulative_is_the_exact_integral_of_the_levels_set(
    initial: int, steps: list[tuple[int, int]], query_ms: int
) -> None:
    signal = Driven(initial / 1000)
    t = 0
    for delay, level in steps:
        t += delay
        signal.set(t / 1000, level / 1000)
    tau = Fraction(query_ms, 1000)
    want = exact_area(initial, steps, tau)
    assert signal.cumulative(query_ms / 1000) == pytest.approx(float(want), rel=1e-9, abs=1e-9)


@given(st.integers(0, 8_000), changes)
def test_counter_never_decreases_and_value_is_the_last_level_set(
    initial: int, steps: list[tuple[int, int]]
) -> None:
    signal = Driven(initial / 1000)
    t = 0
    last = initial
    for delay, level in steps:
        t += delay
        signal.set(t / 1000, level / 1000)
        last = level
    assert signal.value(t / 1000) == last / 1000
    assert signal.level == last / 1000
    samples = [signal.cumulative(ms / 1000) for ms in range(0, t + 2000, 997)]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(samples))


def test_past_cannot_change_and_levels_are_non_negative() -> None:
    signal = Driven(0.1)
    signal.set(10.0, 0.5)
    with pytest.raises(ValueError, match="cannot change the past"):
        signal.set(9.0, 0.2)
    with pytest.raises(ValueError, match="levels must be finite and >= 0"):
        signal.set(11.0, -1.0)
    with pytest.raises(ValueError, match="levels must be finite and >= 0"):
        Driven(float("nan"))


def test_table() -> None:
    signal = Driven(1.0)            # 1 core until 10 s
    signal.set(10.0, 3.0)          # 3 cores from 10 s
    signal.set(10.0, 2.0)          # changed again at the same instant: 2 cores
    signal.set(20.0, 2.0)          # the same level: no breakpoint
    signal.set(30.0, 0.0)
    assert signal.changes == 2
    assert [signal.value(t) for t in (0, 9.99, 10, 29.9, 30, 99)] == [1, 1, 2, 2, 0, 0]
    assert signal.cumulative(10) == 10
    assert signal.cumulative(25) == 10 + 2 * 15
    assert signal.cumulative(100) == 10 + 2 * 20
    assert signal.cumulative(-5) == -5  # before the origin: the first level, as every shape


def test_driven_workload() -> None:
    w = driven_workload(0.002, 8 << 20)
    assert is_driven(w) and not w.relative
    assert w.cpu.value(0) == 0.002 and w.memory.value(0) == 8 << 20
    assert w.cpu is not driven_workload(0.002, 8 << 20).cpu
