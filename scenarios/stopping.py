"""Stopping a run on Ctrl-C or SIGTERM: everything it started stops too, and no traceback.

The simulated control plane runs in a session of its own (so that a Ctrl-C typed at the
terminal does not kill it before the runner has stopped metricsd's pods through it), and its
pods run in sessions of their own too: no signal sent to the runner reaches them by itself. So
the runner turns SIGINT and SIGTERM into a cancellation of its work; every backend's ``stop`` —
the same cleanup as at a normal end — then runs, and stops the control plane, which stops its
pods and fleet. A second signal while that happens is noted and otherwise ignored, so the
cleanup is not cut short and nothing is left behind.

Exit status: a run cut short has no verdict, so it does not exit 0 as a server does when it is
stopped (fakeapiserver, fakekubelet: a stop is their normal end); it exits as a shell reports
death by that signal, 128 + N: 130 after SIGINT, 143 after SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What :func:`run` ended with: the coroutine's value, or the signal that stopped it."""

    value: T | None
    signal: int | None = None

    @property
    def exit_status(self) -> int:
        assert self.signal is not None
        return 128 + self.signal


def run(main: Coroutine[Any, Any, T], note: Callable[[str], None]) -> Outcome[T]:
    """``asyncio.run(main)``, where SIGINT or SIGTERM cancels ``main`` (its cleanup runs)."""
    return asyncio.run(_guarded(main, note))


async def _guarded(main: Coroutine[Any, Any, T], note: Callable[[str], None]) -> Outcome[T]:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    received: list[int] = []

    def on_signal(signo: int) -> None:
        name = signal.Signals(signo).name
        if received:
            note(f"{name} again: still stopping what this run started")
            return
        received.append(signo)
        note(f"{name}: stopping what this run started ...")
        task.cancel()

    for signo in SIGNALS:
        loop.add_signal_handler(signo, on_signal, signo)
    try:
        try:
            return Outcome(await main)
        except asyncio.CancelledError:
            if not received:
                raise
            task.uncancel()
            return Outcome(None, received[0])
    finally:
        for signo in SIGNALS:
            loop.remove_signal_handler(signo)


def signal_name(signo: int) -> str:
    return signal.Signals(signo).name
