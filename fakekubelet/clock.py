"""Clocks: every time-driven part of the fleet reads time from one injected clock.

``RealClock`` is wall time. ``VirtualClock`` only moves when told to (``advance``/``set``), so
hours of simulated time run in milliseconds and counters come out exactly reproducible. Async
code waits on virtual time with ``sleep_until``/``sleep``/``wait_for_change``; those never sleep
in real time, they resolve when someone moves the clock far enough.

We keep our own virtual clock rather than ``looptime``: the fleet, the control plane and the
metrics server under test may run in different processes or event loops, and what matters is
the Unix time written into payloads, not the event loop's monotonic time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What time-driven code needs: the current Unix time and a way to wait for a later one."""

    def now(self) -> float:
        """Current time, Unix seconds."""
        ...

    async def sleep_until(self, t: float) -> None:
        """Return once ``now() >= t``."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock."""
        ...


class RealClock:
    """Wall-clock time (``time.time``); sleeps are real asyncio sleeps."""

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, t: float) -> None:
        while True:
            delay = t - time.time()
            if delay <= 0:
                return
            await asyncio.sleep(delay)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "RealClock()"


class VirtualClock:
    """A clock that moves only when ``advance``/``set`` is called.

    Waiters are futures keyed by deadline; moving the clock resolves every waiter whose deadline
    has been reached (in deadline order) and every ``wait_for_change`` waiter. Moving backwards
    is refused: counters derived from this clock must never run backwards.
    """

    def __init__(self, start: float = 1_711_467_600.0) -> None:
        self._now = float(start)
        self._deadlines: list[tuple[float, int, asyncio.Future[None]]] = []
        self._changes: list[asyncio.Future[None]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (>= 0); returns the new time."""
        if seconds < 0:
            raise ValueError(f"cannot advance a clock by a negative amount ({seconds})")
        return self.set(self._now + seconds)

    def set(self, t: float) -> float:
        """Jump to Unix time ``t`` (not earlier than now); returns the new time."""
        if t < self._now:
            raise ValueError(f"virtual time cannot go backwards ({t} < {self._now})")
        self._now = float(t)
        self._wake()
        return self._now

    def _wake(self) -> None:
        while self._deadlines and self._deadlines[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._deadlines)
            if not fut.done():
                fut.set_result(None)
        changes, self._changes = self._changes, []
        for fut in changes:
            if not fut.done():
                fut.set_result(None)

    async def sleep_until(self, t: float) -> None:
        if t <= self._now:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._deadlines, (t, next(self._seq), fut))
        await fut

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + max(0.0, seconds))

    async def wait_for_change(self) -> float:
        """Wait until the clock is moved (by any amount); returns the new time."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._changes.append(fut)
        await fut
        return self._now

    def next_deadline(self) -> float | None:
        """Earliest time someone is waiting for (useful to step a simulation event by event)."""
        while self._deadlines and self._deadlines[0][2].done():
            heapq.heappop(self._deadlines)
        return self._deadlines[0][0] if self._deadlines else None

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now!r})"
