"""Progress while a step waits: what it waits for and the last state seen, as it waits.

The runner prints a step's verdict when the step ends, and a pod takes about 20 s to become
Ready: with nothing on the screen meanwhile, a run looks hung. So whatever waits (a `wait`
step, a step retried until its expectations hold, a cluster starting) tells this display what
it waits for and each state it observes, and the display shows it:

* on a terminal, one status line under the permanent lines, rewritten in place (carriage
  return, erase line; cut to the terminal's width so that it never wraps, which would break
  the rewrite) on every observation and every second;
* anywhere else (a pipe, a CI log), a whole line every ``interval`` seconds of a wait
  (``…, 5s so far; last seen: …``), so that a log shows the wait without filling with ``\\r``.

Several scenarios run at once (``--parallel``), so each wait has a key (the scenario); the live
line shows every current wait. Time comes from ``clock``, so tests drive it with a fake clock and
:meth:`Progress.tick` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TextIO

ERASE_LINE = "\r\x1b[K"


class Status(Protocol):
    """What the runner tells about a wait (the display decides what to show, and when)."""

    def waiting(self, key: str, label: str, what: str) -> None: ...

    def observed(self, key: str, state: str) -> None: ...

    def done(self, key: str) -> None: ...


class Quiet:
    """A :class:`Status` that shows nothing (the pytest plugin, library callers)."""

    def waiting(self, key: str, label: str, what: str) -> None:
        return None

    def observed(self, key: str, state: str) -> None:
        return None

    def done(self, key: str) -> None:
        return None


def one_line(text: str, limit: int = 160) -> str:
    """An observation as one short line (states can be multi-line logs or JSON)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass
class _Wait:
    label: str
    what: str
    started: float
    next_due: float
    state: str = ""

    def text(self, seconds: int) -> str:
        seen = f"; last seen: {self.state}" if self.state else ""
        return f"{self.label} ... waiting for {self.what}, {seconds}s so far{seen}"


class Progress:
    """Permanent lines plus the status of every current wait (see the module docstring)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        live: bool | None = None,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        width: Callable[[], int] | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.live = _is_terminal(self.stream) if live is None else live
        self.interval = interval
        self.clock = clock
        self.width = width or (lambda: shutil.get_terminal_size((100, 24)).columns)
        self._waits: dict[str, _Wait] = {}
        self._shown = False  # a live line is on the screen
        self._heartbeat: asyncio.Task[None] | None = None

    # -- permanent lines ------------------------------------------------------------------

    def line(self, text: str) -> None:
        """A line that stays (a step's verdict, a command's output)."""
        if self._shown:
            self.stream.write(ERASE_LINE)
            self._shown = False
        self.stream.write(text + "\n")
        self._draw()
        self.stream.flush()

    __call__ = line

    # -- waits (the Status protocol) ------------------------------------------------------

    def waiting(self, key: str, label: str, what: str) -> None:
        current = self._waits.get(key)
        if current is None or (current.label, current.what) != (label, what):
            now = self.clock()
            self._waits[key] = _Wait(label, what, now, now + self.interval)
        self._refresh()

    def observed(self, key: str, state: str) -> None:
        wait = self._waits.get(key)
        if wait is not None:
            wait.state = one_line(state)
            self._refresh()

    def done(self, key: str) -> None:
        if self._waits.pop(key, None) is not None:
            self._refresh()

    def tick(self) -> None:
        """Called every second or so: print due lines, or update the live line's seconds."""
        if self.live:
            self._refresh()
            return
        now = self.clock()
        for wait in self._waits.values():
            if now >= wait.next_due:
                while wait.next_due + self.interval <= now:  # a late tick: the latest due line
                    wait.next_due += self.interval
                self.stream.write(wait.text(round(wait.next_due - wait.started)) + "\n")
                wait.next_due += self.interval
        self.stream.flush()

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Progress:
        self._heartbeat = asyncio.get_running_loop().create_task(self._beat())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        self.close()

    def close(self) -> None:
        """Erase the live line (before anything else writes to the terminal)."""
        self._waits.clear()
        if self._shown:
            self.stream.write(ERASE_LINE)
            self.stream.flush()
            self._shown = False

    async def _beat(self) -> None:
        step = min(1.0, self.interval)
        while True:
            await asyncio.sleep(step)
            self.tick()

    # -- the live line --------------------------------------------------------------------

    def _refresh(self) -> None:
        if self.live:
            self._draw()
            self.stream.flush()

    def _draw(self) -> None:
        if not self.live:
            return
        if not self._waits:
            if self._shown:
                self.stream.write(ERASE_LINE)
                self._shown = False
            return
        now = self.clock()
        text = "  |  ".join(w.text(int(now - w.started)) for w in self._waits.values())
        limit = max(10, self.width() - 1)
        if len(text) > limit:
            text = text[: limit - 1] + "…"
        self.stream.write(ERASE_LINE + text)
        self._shown = True


def _is_terminal(stream: TextIO) -> bool:
    """A terminal that understands "erase line" (not TERM=dumb, e.g. an editor's shell)."""
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
