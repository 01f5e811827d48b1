"""Readiness timing: the kubelet prober's ticker, initial delay and success threshold."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakekubelet.probes import ReadinessProbe, probe_instants, ready_time


@pytest.mark.parametrize(
    ("probe", "worker_start", "started", "ready"),
    [
        (None, 100.0, 103.0, 103.0),                              # no probe: ready at start
        (ReadinessProbe(0, 10, 1), 100.0, 103.0, 103.0),          # immediate probe counts
        (ReadinessProbe(0, 10, 2), 100.0, 103.0, 110.0),          # then the next tick
        (ReadinessProbe(0, 10, 3), 100.0, 103.0, 120.0),
        (ReadinessProbe(5, 10, 1), 100.0, 103.0, 110.0),          # 108 passed: tick at 110
        (ReadinessProbe(7, 10, 1), 100.0, 103.0, 110.0),          # exactly 7 s at 110
        (ReadinessProbe(8, 10, 1), 100.0, 103.0, 120.0),          # 7 s at 110: skipped
        (ReadinessProbe(15, 5, 1), 100.0, 100.0, 115.0),          # tick on the delay's end
        (ReadinessProbe(15, 5, 2), 100.0, 100.0, 120.0),
        (ReadinessProbe(10, 10, 1), 100.0, 100.5, 120.0),         # 9.5 s at 110 truncates to 9
        (ReadinessProbe(0, 10, 1), 100.0, 100.0, 100.0),          # start on a tick: one probe
        (ReadinessProbe(0, 10, 2), 100.0, 100.0, 110.0),
        (ReadinessProbe(30, 10, 1), 100.0, 240.0, 270.0),         # restarted container
    ],
)
def test_ready_time_table(probe: ReadinessProbe | None, worker_start: float, started: float,
                          ready: float) -> None:
    assert ready_time(probe, worker_start, started) == pytest.approx(ready)


@given(
    st.integers(0, 120), st.integers(1, 60), st.integers(1, 5),
    st.floats(0, 1e4), st.floats(0, 600),
)
def test_probe_instants_follow_the_ticker(delay: int, period: int, successes: int,
                                          worker_start: float, after: float) -> None:
    probe = ReadinessProbe(delay, period, successes)
    started = worker_start + after
    got = probe_instants(probe, worker_start, started, successes)
    assert len(got) == successes
    assert all(b > a for a, b in itertools.pairwise(got))
    for t in got:
        assert t - started >= delay - 1e-6
        on_tick = abs(((t - worker_start) / period) - round((t - worker_start) / period)) < 1e-6
        assert on_tick or (delay == 0 and t == started)
    ready = got[-1]
    # never later than needed: one period per success after the delay, plus one tick to align
    assert ready <= started + delay + period * successes + 1e-6


def test_invalid_probes() -> None:
    with pytest.raises(ValueError, match="periodSeconds"):
        ReadinessProbe(0, 0, 1)
    with pytest.raises(ValueError, match="successThreshold"):
        ReadinessProbe(0, 10, 0)
    with pytest.raises(ValueError, match="initialDelaySeconds"):
        ReadinessProbe(-1, 10, 1)
