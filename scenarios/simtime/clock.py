"""The master virtual clock: one object in every clock shape the components take.

Each component was written against its own clock protocol and must stay unaware of the
others (metricsd imports no simulator): metricsd's ``Clock`` (``now``, ``monotonic``,
``sleep``), fakekubelet's ``Clock`` (``now``, ``sleep_until``, ``sleep``), fakeapiserver's
``clock: Callable[[], float]`` (pass :meth:`SimClock.now`) and localpods' clock (``now``,
``monotonic``, ``sleep``). :class:`SimClock` satisfies all of them structurally; nothing
imports it but ``scenarios``.

Time itself lives in the loop (:class:`scenarios.simtime.loop.SimEventLoop`): ``monotonic()``
is the loop's virtual ``time()`` and every sleep is an ``asyncio.sleep`` on it, so a sleep on
this clock, a library's ``call_later`` and an ``asyncio.timeout`` are deadlines in the same heap
and fire in one order. ``now()`` is ``start + monotonic()``: Unix seconds for timestamps,
payload counters, creation times and event times.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scenarios.simtime.loop import SimEventLoop

__all__ = ["DEFAULT_START", "SimClock"]

#: 2024-03-26T15:40:00Z, the moment the reference examples use (and fakekubelet's default).
DEFAULT_START = 1_711_467_600.0

# now() is a float of about 1.7e9 whose step is ~0.24 µs: sleep_until never asks for less
_MIN_STEP = 1e-6


class SimClock:
    """Virtual time of one :class:`SimEventLoop`."""

    def __init__(self, loop: SimEventLoop, start: float = DEFAULT_START) -> None:
        self._loop = loop
        self.start = float(start)

    # -- reading -----------------------------------------------------------------------
    def now(self) -> float:
        """Unix seconds (virtual)."""
        return self.start + self._loop.time_ns / 1e9

    def monotonic(self) -> float:
        """Virtual seconds since the loop was created (the loop's ``time()``)."""
        return self._loop.time_ns / 1e9

    @property
    def elapsed(self) -> float:
        """Virtual seconds since the start (the same as :meth:`monotonic`)."""
        return self._loop.time_ns / 1e9

    def isoformat(self) -> str:
        """``now()`` as RFC 3339 with milliseconds (for logs and progress lines)."""
        stamp = datetime.fromtimestamp(self.now(), UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"

    # -- waiting -----------------------------------------------------------------------
    def _check_loop(self) -> None:
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError("a SimClock can only be waited on inside its own SimEventLoop")

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of virtual time."""
        self._check_loop()
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_until(self, t: float) -> None:
        """Wait until ``now() >= t`` (Unix seconds)."""
        self._check_loop()
        while (delay := t - self.now()) > 0:
            await asyncio.sleep(max(delay, _MIN_STEP))
        await asyncio.sleep(0)

    async def sleep_until_elapsed(self, elapsed: float) -> None:
        """Wait until ``elapsed`` virtual seconds since the start."""
        self._check_loop()
        while (delay := elapsed - self.elapsed) > 0:
            await asyncio.sleep(max(delay, 1e-9))  # a jump is whole nanoseconds
        await asyncio.sleep(0)

    async def settled(self, order: float = 0.0) -> None:
        """Wait for the next quiescence: everything due now has finished, time has not moved.

        Several waiters at one instant run one after another, lowest ``order`` first.
        """
        self._check_loop()
        await self._loop.settled(order)

    def __repr__(self) -> str:
        return f"SimClock(now={self.isoformat()}, elapsed={self.elapsed:.9f})"
