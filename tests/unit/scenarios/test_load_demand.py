"""Demand shapes cut into constant intervals: exact edges, interval means, seeded noise."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakekubelet.workloads import Constant, Ramp, Sine, Spike, Step, Trace
from scenarios.load.demand import Demand, Interval, diurnal


@pytest.mark.parametrize(
    ("demand", "until", "want"),
    [
        (Demand(Constant(2.0)), 100, [Interval(0, None, 2.0)]),
        (Demand(Step(1.0, ((30.0, 4.0), (60.0, 0.0)))), 100,
         [Interval(0, 30, 1.0), Interval(30, 60, 4.0), Interval(60, None, 0.0)]),
        (Demand(Spike(1.0, 5.0, 60.0, 10.0, 20.0)), 90,
         [Interval(0, 20, 1.0), Interval(20, 30, 5.0), Interval(30, 80, 1.0),
          Interval(80, 90, 5.0)]),
        # continuous shapes: held for a step at their exact mean over it
        (Demand(Ramp(0.0, 10.0, 20.0), step=10), 40,
         [Interval(0, 10, 2.5), Interval(10, 20, 7.5), Interval(20, 30, 10.0),
          Interval(30, 40, 10.0)]),
        (Demand(Trace(((0.0, 0.0), (10.0, 2.0))), step=5), 15,
         [Interval(0, 5, 0.5), Interval(5, 10, 1.5), Interval(10, 15, 2.0)]),
    ],
)
def test_interval_table(demand: Demand, until: float, want: list[Interval]) -> None:
    got = demand.series(until)
    assert [(i.start, i.end) for i in got] == [(w.start, w.end) for w in want]
    assert [i.level for i in got] == pytest.approx([w.level for w in want])


def test_sine_and_diurnal_means() -> None:
    day = diurnal(10.0, 30.0, peak_at=14 * 3600)
    assert day.value(14 * 3600) == pytest.approx(30.0)
    assert day.value(2 * 3600) == pytest.approx(10.0)
    d = Demand(Sine(2.0, 1.0, 60.0), step=15)
    assert sum(i.level * 15 for i in d.series(60)) == pytest.approx(2.0 * 60)


@given(st.floats(0.1, 100), st.floats(0.5, 60), st.floats(0, 0.5), st.integers(0, 10**6),
       st.floats(0, 3600))
def test_a_level_depends_on_the_interval_only(level: float, step: float, noise: float,
                                              seed: int, tau: float) -> None:
    """Same seed, same series, whenever the driver looks (the intervals are fixed)."""
    a = Demand(Constant(level), step=step, noise=noise, seed=seed)
    b = Demand(Constant(level), step=step, noise=noise, seed=seed)
    iv = a.interval(tau)
    assert iv.start <= tau and (iv.end is None or tau < iv.end)
    inside = iv.start + (0.0 if iv.end is None else (iv.end - iv.start) * 0.5)
    assert b.interval(inside) == iv
    if noise == 0:
        assert iv.level == level
    else:
        assert iv.level >= 0


def test_noise_is_seeded_and_varies() -> None:
    a = [i.level for i in Demand(Constant(10.0), step=1, noise=0.1, seed=7).series(50)]
    b = [i.level for i in Demand(Constant(10.0), step=1, noise=0.1, seed=7).series(50)]
    c = [i.level for i in Demand(Constant(10.0), step=1, noise=0.1, seed=8).series(50)]
    assert a == b and a != c and len(set(a)) > 40
    assert 9.0 < sum(a) / len(a) < 11.0


def test_a_time_just_below_an_edge_is_in_the_interval_before_it() -> None:
    """hypothesis found it: 1.9999999999995453 with a 1 s step is in [1, 2), not [2, 3)."""
    d = Demand(Constant(1.0), step=1.0, noise=0.1, seed=1)  # noise: fixed steps, not exact
    iv = d.interval(1.9999999999995453)
    assert (iv.start, iv.end) == (1.0, 2.0)
    assert d.interval(2.0).start == 2.0 == iv.end
