"""The injectable clocks: VirtualClock moves only on advance()."""

import asyncio

import pytest

from metricsd.clock import Clock, RealClock, VirtualClock


def test_both_clocks_satisfy_protocol() -> None:
    assert isinstance(RealClock(), Clock)
    assert isinstance(VirtualClock(), Clock)


async def test_virtual_sleep_waits_for_advance() -> None:
    clock = VirtualClock(start=1000.0)
    woke: list[float] = []

    async def sleeper(delay: float) -> None:
        await clock.sleep(delay)
        woke.append(clock.monotonic())

    tasks = [asyncio.create_task(sleeper(d)) for d in (5.0, 1.0, 3.0)]
    await clock.wait_for_sleepers(3)
    assert woke == []
    await clock.advance(2.0)
    assert woke == [1.0]
    assert clock.monotonic() == 2.0
    assert clock.now() == 1002.0
    await clock.advance(10.0)
    assert woke == [1.0, 3.0, 5.0]
    assert clock.monotonic() == 12.0
    await asyncio.gather(*tasks)


async def test_periodic_loop_on_virtual_time() -> None:
    clock = VirtualClock()
    ticks: list[float] = []

    async def loop() -> None:
        while True:
            ticks.append(clock.monotonic())
            await clock.sleep(15.0)

    task = asyncio.create_task(loop())
    await clock.wait_for_sleepers(1)
    await clock.advance(60.0)
    assert ticks == [0.0, 15.0, 30.0, 45.0, 60.0]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleepers == 0


async def test_cannot_go_backwards() -> None:
    clock = VirtualClock()
    await clock.advance(1.0)
    with pytest.raises(ValueError):
        await clock.advance_to(0.5)


async def test_real_clock_sleep_zero() -> None:
    clock = RealClock()
    before = clock.monotonic()
    await clock.sleep(0)
    assert clock.monotonic() >= before


async def test_deadlines_lists_pending_sleepers() -> None:
    clock = VirtualClock()
    tasks = [asyncio.create_task(clock.sleep(d)) for d in (2.0, 0.5)]
    await clock.wait_for_sleepers(2)
    assert clock.deadlines() == [0.5, 2.0]
    assert clock.next_deadline() == 0.5
    await clock.advance(1.0)
    assert clock.deadlines() == [2.0]
    await clock.advance(1.0)
    await asyncio.gather(*tasks)
    assert clock.deadlines() == []
