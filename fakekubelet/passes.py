"""Coalesced work passes: many change notifications, one pass at a time, and a way to wait.

The fleet (listeners follow the cluster) and the control plane's registration (Node and Pod
objects follow the cluster) both react to bursts of cluster events. Each notification marks the
work dirty; one task runs a pass whenever it is dirty, so a burst collapses into few passes;
:meth:`PassRunner.settled` returns once every notification made so far has been covered by a
finished pass — what tests and callers await instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ["PassRunner"]


class PassRunner:
    """Runs ``work`` after :meth:`poke`, coalescing pokes that arrive while it is busy."""

    def __init__(self, work: Callable[[], Awaitable[None]], *, name: str,
                 log: logging.Logger, yield_first: bool = False) -> None:
        self._work = work
        self._name = name
        self._log = log
        self._yield_first = yield_first  # one loop turn first, so a burst lands in one pass
        self._dirty = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Something changed: a pass will run (again)."""
        self._idle.clear()
        self._dirty.set()

    async def settled(self) -> None:
        """Wait until every poke so far is covered by a finished pass."""
        await self._idle.wait()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if self._yield_first:
                await asyncio.sleep(0)
            try:
                await self._work()
            except Exception:  # one bad pass must not end the loop; the next poke retries
                self._log.exception("%s pass failed", self._name)
            if not self._dirty.is_set():
                self._idle.set()
