"""A delaying work queue on an injected clock: client-go's rate-limited workqueue, in asyncio.

Why: the HPA controller is the one time-driven controller here. kube-controller-manager
re-queues every HPA key with a *fixed per-item interval* (the sync period,
``FixedItemIntervalRateLimiter``): ``AddRateLimited`` parks the key for the interval, a key
already parked keeps its earlier time (duplicates collapse), a key that comes due while a
worker holds it is handed out again only after ``done`` — so each HPA is reconciled at most
once per period, and a freshly created one first after one period.

Time comes from ``now()`` and ``sleep(seconds)`` (default: wall time and ``asyncio.sleep``):
the only task that waits on time is the scheduler, parked in one ``sleep()`` until the
earliest key is due, so a virtual clock drives the queue by completing that sleep (an earlier
key arriving cancels it and the scheduler sleeps again). Workers wait on the queue itself,
never on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["DelayingQueue"]

K = TypeVar("K", bound=Hashable)


class DelayingQueue(Generic[K]):
    """Keys due at a time, handed to workers with ``get``/``done`` (one holder per key)."""

    def __init__(self, interval: float, *, now: Callable[[], float] | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        self.interval = interval
        self._now = now or time.time
        self._sleep = sleep or asyncio.sleep
        self._heap: list[tuple[float, int, K]] = []
        self._waiting: dict[K, float] = {}
        self._seq = itertools.count()
        self._ready: deque[K] = deque()
        self._queued: set[K] = set()
        self._processing: set[K] = set()
        self._dirty: set[K] = set()
        self._nonempty = asyncio.Event()
        self._settled = asyncio.Event()
        self._wake: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._sleeping = False
        self._interrupted = False
        self._parked = False
        self._closed = False

    # -- adding -----------------------------------------------------------------------------
    def add_rate_limited(self, key: K) -> None:
        """``AddRateLimited`` with the fixed interval."""
        self.add_after(key, self.interval)

    def add_after(self, key: K, delay: float) -> None:
        """Park ``key`` until ``delay`` seconds from now; an earlier time already set wins."""
        if self._closed:
            return
        if delay <= 0:
            self.add(key)
            return
        due = self._now() + delay
        current = self._waiting.get(key)
        if current is not None and current <= due:
            return
        self._waiting[key] = due
        heapq.heappush(self._heap, (due, next(self._seq), key))
        if self._heap[0][2] == key and self._heap[0][0] == due:
            self._interrupt()  # a new earliest deadline: the scheduler must sleep less
        self._settled.clear()

    def add(self, key: K) -> None:
        """Hand ``key`` out now (after its current holder is done with it)."""
        if self._closed:
            return
        if key in self._processing:
            self._dirty.add(key)
            return
        if key in self._queued:
            return
        self._queued.add(key)
        self._ready.append(key)
        self._nonempty.set()
        self._settled.clear()

    # -- workers ----------------------------------------------------------------------------
    async def get(self) -> K:
        """The next ready key (its holder must call :meth:`done`)."""
        while not self._ready:
            if self._closed:
                raise asyncio.CancelledError
            self._nonempty.clear()
            await self._nonempty.wait()
        key = self._ready.popleft()
        self._queued.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._dirty.discard(key)
            self.add(key)
        self._check_settled()

    # -- the scheduler ----------------------------------------------------------------------
    def _interrupt(self) -> None:
        """Wake the scheduler early (a key is due before the one it sleeps for)."""
        self._parked = False  # not settled until the scheduler has slept again
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)
        elif self._sleeping and not self._interrupted and self._task is not None:
            self._interrupted = True
            self._task.cancel()

    def _pop_due(self) -> float | None:
        """Move every due key to the ready list; the delay until the next one (None: none)."""
        while self._heap:
            due, _, key = self._heap[0]
            if self._waiting.get(key) != due:
                heapq.heappop(self._heap)  # superseded by an earlier time
                continue
            delay = due - self._now()
            if delay > 0:
                return delay
            heapq.heappop(self._heap)
            del self._waiting[key]
            self.add(key)
        return None

    async def run(self) -> None:
        """The scheduler: sleep until the earliest key is due, hand it out, repeat.

        The sleep is awaited directly (not in a task of its own), so it starts at the
        instant the delay was computed; an earlier key cancels this task's wait, which is
        told apart from a real cancellation by the flag and the cancel count.
        """
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        while not self._closed:
            delay = self._pop_due()
            self._parked = True
            self._check_settled()
            try:
                if delay is None:
                    self._wake = loop.create_future()
                    await self._wake
                else:
                    self._sleeping = True
                    await self._sleep(delay)
            except asyncio.CancelledError:
                task = self._task
                if not (self._interrupted and task is not None and task.cancelling() == 1):
                    raise  # we are being stopped
                task.uncancel()
            finally:
                self._parked = self._sleeping = self._interrupted = False
                self._wake = None

    # -- state ------------------------------------------------------------------------------
    def _is_settled(self) -> bool:
        if self._ready or self._processing:
            return False
        if not self._parked:
            return False
        nxt = self._next_due()
        return nxt is None or nxt > self._now()

    def _next_due(self) -> float | None:
        while self._heap:
            due, _, key = self._heap[0]
            if self._waiting.get(key) == due:
                return due
            heapq.heappop(self._heap)  # superseded, or handed out already
        return None

    def _check_settled(self) -> None:
        if self._is_settled():
            self._settled.set()

    async def settle(self) -> None:
        """Wait until nothing is due, ready or being processed (tests; a virtual clock)."""
        while not self._is_settled():
            self._settled.clear()
            await self._settled.wait()

    def due(self, key: K) -> float | None:
        """When ``key`` is next handed out (None: not parked)."""
        return self._waiting.get(key)

    def __len__(self) -> int:
        return len(self._waiting) + len(self._ready)

    def close(self) -> None:
        self._closed = True
        self._interrupt()
        self._nonempty.set()
        with contextlib.suppress(Exception):
            self._settled.set()
