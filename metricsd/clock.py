"""Injectable time source for everything time-driven in metricsd.

The scrape loop, freshness and health checks read time only through a :class:`Clock`, so
tests and in-process experiments can run on :class:`VirtualClock` — time moves only when
``advance()`` is called and ``sleep`` never waits in real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "RealClock", "VirtualClock"]


@runtime_checkable
class Clock(Protocol):
    """What time-driven components need: wall time, monotonic time and sleeping."""

    def now(self) -> float:
        """Unix time in seconds (wall clock; used for timestamps)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (used for intervals and deadlines)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait until ``seconds`` have passed on this clock."""
        ...


class RealClock:
    """The process's real clocks and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VirtualClock:
    """A clock that moves only when told to.

    ``now()`` is ``start + elapsed`` and ``monotonic()`` is ``elapsed``. A sleeper wakes when
    :meth:`advance` (or :meth:`advance_to`) moves time to or past its deadline; sleepers wake in
    deadline order, each seeing ``monotonic()`` equal to its own deadline, and the event loop
    runs between wake-ups so work done at one deadline is visible at the next.
    """

    def __init__(self, start: float = 1_700_000_000.0, settle: int = 20) -> None:
        self._start = start
        self._settle = settle
        self._elapsed = 0.0
        self._seq = itertools.count()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._changed: asyncio.Event | None = None

    def now(self) -> float:
        return self._start + self._elapsed

    def monotonic(self) -> float:
        return self._elapsed

    @property
    def sleepers(self) -> int:
        """How many tasks are currently sleeping on this clock (for tests to await)."""
        return sum(1 for _, _, fut in self._sleepers if not fut.done())

    def deadlines(self) -> list[float]:
        """Monotonic wake-up times of every pending sleeper, earliest first."""
        return sorted(deadline for deadline, _, fut in self._sleepers if not fut.done())

    def next_deadline(self) -> float | None:
        """The monotonic time of the earliest pending sleeper, or None."""
        self._prune()
        return self._sleepers[0][0] if self._sleepers else None

    def _prune(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def sleep(self, seconds: float) -> None:
        deadline = self._elapsed + max(0.0, seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._seq), fut))
        self._notify()
        try:
            await fut
        finally:
            if not fut.done():
                fut.cancel()

    async def wait_for_sleepers(self, count: int = 1) -> None:
        """Wait (in real loop iterations, not real time) until ``count`` tasks are sleeping."""
        while self.sleepers < count:
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking every sleeper whose deadline is reached."""
        await self.advance_to(self._elapsed + seconds)

    async def advance_to(self, target: float) -> None:
        """Move monotonic time forward to ``target`` (never backwards)."""
        if target < self._elapsed:
            raise ValueError(f"cannot move a VirtualClock backwards ({target} < {self._elapsed})")
        while True:
            self._prune()
            if not self._sleepers or self._sleepers[0][0] > target:
                break
            deadline, _, fut = heapq.heappop(self._sleepers)
            self._elapsed = max(self._elapsed, deadline)
            fut.set_result(None)
            # let the woken task (and whatever it starts) run before the next deadline
            for _ in range(self._settle):
                await asyncio.sleep(0)
        self._elapsed = target
        await asyncio.sleep(0)
