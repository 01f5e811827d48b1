"""The Service's split: equal shares over Ready pods, capped at each pod's capacity."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scenarios.load.split import Slot, split

slots = st.lists(
    st.tuples(st.booleans(), st.one_of(st.none(), st.floats(0, 8))), min_size=0, max_size=12,
).map(lambda xs: [Slot(i, ready, limit) for i, (ready, limit) in enumerate(xs)])


@given(st.floats(0, 64), slots, st.floats(0, 0.5))
def test_total_is_the_demand_up_to_the_capacity_plus_baselines(
        demand: float, pods: list[Slot], baseline: float) -> None:
    shares = split(demand, pods, baseline)
    capacity = sum(math.inf if s.limit is None else max(0.0, s.limit - baseline)
                   for s in pods if s.ready)
    want = min(demand, capacity) + baseline * len(pods)
    assert sum(s.cpu for s in shares.values()) == pytest.approx(want, rel=1e-9, abs=1e-9)
    for slot in pods:
        share = shares[slot.key]
        assert share.load >= 0 and share.cpu == pytest.approx(baseline + share.load)
        if not slot.ready:
            assert share.load == 0
        if slot.limit is not None:
            assert share.load <= max(0.0, slot.limit - baseline) + 1e-12


@given(st.floats(0.001, 64), st.integers(1, 12))
def test_unlimited_ready_pods_share_equally(demand: float, n: int) -> None:
    shares = split(demand, [Slot(i, True) for i in range(n)])
    assert all(s.load == pytest.approx(demand / n) for s in shares.values())


@given(st.floats(0.001, 64), st.integers(1, 6), st.integers(1, 6))
def test_more_ready_pods_never_raise_a_pods_usage(demand: float, n: int, more: int) -> None:
    """Added pods lower per-pod usage (once Ready)."""
    few = split(demand, [Slot(i, True, 1.0) for i in range(n)])
    many = split(demand, [Slot(i, True, 1.0) for i in range(n + more)])
    assert max(s.cpu for s in many.values()) <= max(s.cpu for s in few.values()) + 1e-12


def test_table() -> None:
    pods = [Slot("a", True, 0.5), Slot("b", True, None), Slot("c", False, 1.0),
            Slot("d", True, 2.0)]
    got = {k: (round(s.load, 9), round(s.cpu, 9)) for k, s in split(3.0, pods, 0.1).items()}
    # a caps at 0.4 (0.5 - baseline); the other 2.6 split between b and d (1.3 each)
    assert got == {"a": (0.4, 0.5), "b": (1.3, 1.4), "c": (0.0, 0.1), "d": (1.3, 1.4)}
    over = split(10.0, [Slot("a", True, 1.0), Slot("b", True, 1.0)])
    assert [s.load for s in over.values()] == [1.0, 1.0]        # overloaded: all capped
    assert split(1.0, [Slot("a", False)]) == split(0.0, [Slot("a", False)])
    with pytest.raises(ValueError, match="demand must be >= 0"):
        split(-1.0, [])
