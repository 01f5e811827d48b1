"""The HPA's work queue: fixed per-item delay, collapsed duplicates, one holder per key, all
on an injected clock (nothing sleeps in real time)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakeapiserver.controllers.delayqueue import DelayingQueue
from tests.hpa_support import T0, ManualClock


class Harness:
    def __init__(self, interval: float = 15.0) -> None:
        self.clock = ManualClock()
        self.queue: DelayingQueue[str] = DelayingQueue(interval, now=self.clock.now,
                                                       sleep=self.clock.sleep)
        self.handed: list[tuple[float, str]] = []
        self.hold: dict[str, asyncio.Event] = {}
        self.tasks: list[asyncio.Task[None]] = []

    async def worker(self, requeue: bool = False) -> None:
        while True:
            key = await self.queue.get()
            self.handed.append((self.clock.now() - T0, key))
            if key in self.hold:
                await self.hold[key].wait()
            self.queue.done(key)
            if requeue:  # the HPA worker: AddRateLimited after every sync
                self.queue.add_rate_limited(key)

    def start_requeuer(self) -> None:
        """The queue and one worker that requeues each key after its sync, as the HPA does."""
        self.tasks.append(asyncio.create_task(self.queue.run()))
        self.tasks.append(asyncio.create_task(self.worker(requeue=True)))

    async def start(self, workers: int = 2) -> None:
        self.tasks.append(asyncio.create_task(self.queue.run()))
        self.tasks += [asyncio.create_task(self.worker()) for _ in range(workers)]
        await self.queue.settle()

    async def until(self, seconds: float) -> None:
        await self.clock.run_until(T0 + seconds, self.queue.settle)

    async def stop(self) -> None:
        self.queue.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness()
    await harness.start()
    yield harness
    await harness.stop()


async def test_a_key_is_handed_out_one_interval_after_it_is_added(h: Harness) -> None:
    h.queue.add_rate_limited("a")
    await h.until(14.999)
    assert h.handed == []
    await h.until(15)
    assert h.handed == [(15.0, "a")]


async def test_duplicates_collapse_and_the_earlier_time_wins(h: Harness) -> None:
    h.queue.add_rate_limited("a")            # due 15
    await h.until(5)
    h.queue.add_rate_limited("a")            # would be 20: dropped
    h.queue.add_after("b", 30)               # due 35
    h.queue.add_after("b", 2)                # due 7: wins, the scheduler wakes earlier
    assert h.queue.due("b") == T0 + 7
    await h.until(40)
    assert h.handed == [(7.0, "b"), (15.0, "a")]


async def test_requeue_after_each_sync_gives_one_sync_per_interval() -> None:
    h = Harness()
    h.start_requeuer()
    h.queue.add_rate_limited("a")
    await h.until(10)
    h.queue.add_rate_limited("b")
    await h.until(61)
    assert h.handed == [(15.0, "a"), (25.0, "b"), (30.0, "a"), (40.0, "b"), (45.0, "a"),
                        (55.0, "b"), (60.0, "a")]
    await h.stop()


async def test_a_key_added_while_held_is_handed_out_again_after_done(h: Harness) -> None:
    gate = asyncio.Event()
    h.hold["a"] = gate
    h.queue.add("a")
    for _ in range(3):
        await asyncio.sleep(0)
    h.queue.add("a")                  # the other worker must not take it: one holder per key
    for _ in range(3):
        await asyncio.sleep(0)
    assert h.handed == [(0.0, "a")]
    gate.set()
    await h.queue.settle()
    assert h.handed == [(0.0, "a"), (0.0, "a")]


async def test_settle_waits_for_due_keys_and_workers(h: Harness) -> None:
    h.queue.add_after("a", 1)
    await h.queue.settle()                    # the scheduler sleeps until T0 + 1
    assert h.clock.next_deadline() == T0 + 1 and h.handed == []
    h.clock.t = T0 + 1                        # time moved but the scheduler has not woken:
    h.clock._sleepers[0][2].set_result(None)  # as a virtual clock completes the sleep
    await h.queue.settle()                    # waits for it, and for the worker
    assert h.handed == [(1.0, "a")]


async def test_closed_queue_takes_nothing() -> None:
    q: DelayingQueue[str] = DelayingQueue(1.0, now=lambda: T0)
    q.close()
    q.add("a")
    q.add_rate_limited("b")
    assert len(q) == 0


@settings(max_examples=40, deadline=None)
@given(adds=st.lists(st.tuples(st.integers(0, 100), st.sampled_from("abc")), max_size=12),
       interval=st.integers(1, 20))
def test_fixed_interval_requeue_never_syncs_a_key_twice_in_a_period(
        adds: list[tuple[int, str]], interval: int) -> None:
    """Whatever extra adds arrive, a key requeued after each sync is handed out exactly at
    first-add + n × interval: duplicates collapse, nothing is dropped or doubled."""

    async def scenario() -> list[tuple[float, str]]:
        h = Harness(float(interval))
        h.start_requeuer()
        for at, key in sorted(adds):
            await h.until(at)
            h.queue.add_rate_limited(key)
        await h.until(150)
        await h.stop()
        return h.handed

    handed = asyncio.run(scenario())
    first: dict[str, int] = {}
    for at, key in sorted(adds):
        first.setdefault(key, at)
    for key, start in first.items():
        times = [t for t, k in handed if k == key]
        expected = [float(start + n * interval)
                    for n in range(1, (150 - start) // interval + 1)]
        assert times == expected, (key, start, times)
