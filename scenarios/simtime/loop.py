"""An asyncio event loop whose time is virtual and moves only at quiescence.

Why this shape: an experiment runs the fleet, the control plane and metricsd in ONE process
on ONE loop, and each of them already waits on time through something asyncio-shaped
(``asyncio.sleep`` in aiohttp and fakeapiserver, an injected clock whose sleeps we can make
asyncio sleeps, ``loop.time()`` deadlines in watches, keep-alives and timeouts). So the loop's
own clock is made virtual — ``time()`` returns virtual seconds — and every timer of every
component, ours or a library's, is a deadline on that one clock, in one heap, in one order.
Nothing else needs a hook to be fast-forwarded, and nothing real is left to race with.

**The quiescence rule.** asyncio calls ``selector.select(timeout)`` with ``timeout > 0`` (or
``None``) only when no callback is ready: every task is waiting — on a timer, on I/O, on a
future. The wrapping selector then decides whether anything but time can still make progress:

1. a zero-timeout poll of the real selector reports an event → process it, time stands still;
2. executor work is outstanding (``run_in_executor``, which ``getaddrinfo`` and
   ``asyncio.to_thread`` use, is counted) or a :meth:`SimEventLoop.hold` block runs → wait
   for it in real time;
3. a TCP socket has unacknowledged bytes, buffered output or a connect in progress, and
   :mod:`.inflight` finds bytes on the wire that its peer has not received (or a SYN on its
   way) → wait in real time; bytes that wait for a busy or sleeping reader are not in flight;
4. otherwise the process is quiescent. Waiters of :meth:`SimEventLoop.settled` are released
   first, one at a time in their order (so observers run after everything due at this instant
   and before time moves); with none left, time jumps to the earliest timer and ``select``
   returns ``[]``, so asyncio fires exactly the timers now due.

So a jump never lands while a request is being written, read, handled or answered: in one
process that is the same as "every task is waiting on the clock". Limits: work done outside
the loop and outside the executor (a thread of its own, another process) is invisible unless
it keeps bytes in flight to us; a subprocess or thread must be wrapped in ``run_in_executor``
or :meth:`SimEventLoop.hold`. Nothing scheduled at all, or sockets "in flight" with nothing
arriving, for ``stall_timeout`` real seconds raise :class:`SimulationStalled`. A simulated
delay (``latencySeconds``, ``hang``) is an ``asyncio.sleep`` and therefore virtual: a scrape
of a 2 s-latency kubelet takes exactly 2 virtual seconds, and other deadlines inside that
span fire at their own times.

**Why not ``looptime``** (PyPI; ARCHITECTURE.md suggests evaluating it): it fast-forwards the
same way — a virtual ``loop.time()`` and a patched ``select`` — but it decides on a zero-timeout
poll alone after 42 no-op loop cycles, which on a loaded machine can jump while loopback bytes
or a SYN are still in the kernel (rule 3), and while executor work runs it moves virtual time
in step with real time, where we want virtual time frozen (rule 2). It is also a pytest plugin
first (it patches a running loop's class), and 42 cycles per jump cost more than our check.
What we took from it: integer time (nanoseconds here) so that a jump lands exactly on its
deadline whatever path led there, which keeps runs byte-identical.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import selectors
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar

from scenarios.simtime.inflight import StreamSocket, classify, tcp_counters, undelivered

__all__ = ["SimEventLoop", "SimStats", "SimulationStalled"]

T = TypeVar("T")

#: Real seconds to wait for I/O while something is in flight (any event ends it early).
BUSY_POLL_SECONDS = 0.005
#: Real seconds per poll while quiescent with nothing scheduled at all.
STALL_POLL_SECONDS = 0.05


class SimulationStalled(RuntimeError):
    """Nothing is running, nothing is scheduled and nothing is in flight: it never ends."""


@dataclass
class SimStats:
    """Counters for benchmarks and tests."""

    jumps: int = 0  # times virtual time moved
    settles: int = 0  # settled() waiters released at quiescence
    checks: int = 0  # quiescence checks (loop blocked, nothing ready to read or write)
    busy: int = 0  # checks that found something still in flight
    busy_seconds: float = 0.0  # real seconds spent waiting for in-flight work


class _QuiescenceSelector(selectors.BaseSelector):
    """Delegates to a real selector; ``select`` applies the quiescence rule."""

    def __init__(self, loop: SimEventLoop) -> None:
        self._loop = loop
        self._real = selectors.DefaultSelector()
        self._streams: dict[int, StreamSocket | None] = {}  # registered fds
        self._events: dict[int, int] = {}  # registered fd → events (cheaper than get_map())
        self._parked: dict[int, StreamSocket] = {}  # unregistered (paused or closed) sockets
        self._busy_since: float | None = None
        self.busy_reason = ""

    # -- delegation --------------------------------------------------------------------
    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        key = self._real.register(fileobj, events, data)
        self._parked.pop(key.fd, None)
        self._streams[key.fd] = classify(key.fd)
        self._events[key.fd] = events
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        key = self._real.unregister(fileobj)
        self._events.pop(key.fd, None)
        stream = self._streams.pop(key.fd, None)
        if stream is not None:  # a paused transport keeps its socket: its peer may need it
            self._parked[key.fd] = stream
            if len(self._parked) > 256:
                self._parked = {fd: s for fd, s in self._parked.items() if s.alive()}
        return key

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        key = self._real.modify(fileobj, events, data)
        self._events[key.fd] = events
        return key

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.get_key(fileobj)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    # -- the rule ----------------------------------------------------------------------
    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        real = self._real
        if timeout is not None and timeout <= 0:
            return real.select(0)
        events = real.select(0)
        loop = self._loop
        if events:
            loop._stall_started = self._busy_since = None
            return events
        stats = loop.stats
        stats.checks += 1
        reason = self._busy()
        if reason:
            stats.busy += 1
            began = time.perf_counter()
            events = real.select(BUSY_POLL_SECONDS)
            stats.busy_seconds += time.perf_counter() - began
            loop._stall_started = None
            self._note_busy(reason, bool(events))
            return events
        self._busy_since = None
        # Bytes that were on the wire at the first poll and arrived while _busy() looked at
        # the counters are no longer "in flight" but are readable now: poll once more, so a
        # delivery that raced the check is handled before time moves.
        events = real.select(0)
        if events:
            return events
        if loop._release_settled():
            stats.settles += 1
            loop._stall_started = None
            return []
        if timeout is None:
            loop._note_stall()
            return real.select(STALL_POLL_SECONDS)
        loop._stall_started = None
        loop._jump(timeout)
        return []

    def _note_busy(self, reason: str, progressed: bool) -> None:
        """Sockets that stay "in flight" with nothing arriving for ``stall_timeout`` real
        seconds mean a peer outside the loop, or a bug: say so instead of spinning."""
        if progressed or reason == "work outside the loop":
            self._busy_since = None
            return
        now = time.monotonic()
        if self._busy_since is None:
            self._busy_since = now
        elif now - self._busy_since > self._loop.stall_timeout:
            self._busy_since = None
            raise SimulationStalled(
                f"virtual time held for {self._loop.stall_timeout:g} s of real time by "
                f"{reason}, and nothing arrived"
            )

    def _busy(self) -> str:
        """Why virtual time must not move now ("" when the process is quiescent)."""
        if self._loop._outside:
            return "work outside the loop"
        suspects: list[tuple[StreamSocket, bool]] = []
        streams = self._streams
        for fd, events in self._events.items():
            stream = streams[fd]
            writing = bool(events & selectors.EVENT_WRITE)
            if stream is None:
                if writing:  # a pipe or Unix socket waiting to write: its reader is not ours
                    return f"fd {fd} waiting to write"
                continue
            if writing or stream.unacked():
                suspects.append((stream, writing))
        if not suspects:
            return ""
        return self._undelivered(suspects)

    def _undelivered(self, suspects: list[tuple[StreamSocket, bool]]) -> str:
        by_local: dict[tuple[object, ...], StreamSocket] = {}
        for group in (self._parked.values(), self._streams.values()):  # live ones win
            for stream in group:
                if stream is not None:
                    local, _ = stream.names()
                    if local is not None:
                        by_local[local] = stream
        for stream, writing in suspects:
            _, peer = stream.names()
            receiver = by_local.get(peer) if peer is not None else None
            if receiver is not None and receiver.fd in self._parked and not receiver.alive():
                del self._parked[receiver.fd]
                receiver = None
            mine = tcp_counters(stream.fd)
            theirs = tcp_counters(receiver.fd) if receiver is not None else None
            if undelivered(mine, theirs, unacked=stream.unacked(), pending=writing):
                return f"bytes in flight from {stream.local} to {peer}"
        return ""


class SimEventLoop(asyncio.SelectorEventLoop):
    """A selector event loop on virtual time (see the module docstring for the rule).

    ``time()`` starts at 0 virtual seconds; :attr:`clock` (a
    :class:`scenarios.simtime.clock.SimClock`) maps it to Unix time from ``start``.
    ``stall_timeout``: real seconds the loop may sit quiescent with nothing scheduled before
    :class:`SimulationStalled` is raised out of ``run_until_complete``.
    """

    def __init__(self, start: float | None = None, *, stall_timeout: float = 10.0) -> None:
        from scenarios.simtime.clock import DEFAULT_START, SimClock

        self._ns = 0
        self._outside = 0  # executor jobs and holds still running
        self._settle_seq = itertools.count()
        self._settle_waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._stall_started: float | None = None
        self.stall_timeout = stall_timeout
        self.stats = SimStats()
        super().__init__(_QuiescenceSelector(self))
        self.clock = SimClock(self, DEFAULT_START if start is None else start)

    # -- virtual time ------------------------------------------------------------------
    def time(self) -> float:
        return self._ns / 1e9

    @property
    def time_ns(self) -> int:
        """Virtual time in integer nanoseconds (what ``time()`` is derived from)."""
        return self._ns

    def _jump(self, seconds: float) -> None:
        # whole nanoseconds: the jump lands on round(deadline × 1e9) whatever path led here
        self._ns += max(0, round(seconds * 1e9))
        self.stats.jumps += 1

    # -- work outside the loop ---------------------------------------------------------
    def run_in_executor(  # type: ignore[override]
        self, executor: Executor | None, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        future = super().run_in_executor(executor, func, *args)
        self._outside += 1
        future.add_done_callback(self._outside_done)
        return future

    def _outside_done(self, _future: object = None) -> None:
        self._outside -= 1

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Keep virtual time still while the block waits on something outside the loop."""
        self._outside += 1
        try:
            yield
        finally:
            self._outside -= 1

    # -- observers ---------------------------------------------------------------------
    def settled(self, order: float = 0.0) -> asyncio.Future[None]:
        """A future resolved at the next quiescence, before virtual time moves again.

        Waiters are released one per quiescence, lowest ``order`` first (ties: first come),
        so each runs alone after everything due at this instant has finished.
        """
        future: asyncio.Future[None] = self.create_future()
        heapq.heappush(self._settle_waiters, (order, next(self._settle_seq), future))
        return future

    def _release_settled(self) -> bool:
        waiters = self._settle_waiters
        while waiters:
            _, _, future = heapq.heappop(waiters)
            if not future.done():
                future.set_result(None)
                return True
        return False

    def _note_stall(self) -> None:
        now = time.monotonic()
        if self._stall_started is None:
            self._stall_started = now
        elif now - self._stall_started > self.stall_timeout:
            self._stall_started = None
            raise SimulationStalled(
                f"nothing ran, nothing was scheduled and nothing was in flight for "
                f"{self.stall_timeout:g} s of real time at virtual time "
                f"{self.clock.elapsed:.3f} s: every task waits for something that never "
                "happens (or for work outside the loop that was not wrapped in hold())"
            )
