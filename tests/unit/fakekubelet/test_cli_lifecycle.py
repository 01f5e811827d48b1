"""run_until_signalled: the process lifecycle both simulator CLIs share."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from fakekubelet.cli import run_until_signalled


async def test_serves_until_sigterm_then_stops(capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[str] = []

    async def start() -> None:
        calls.append("start")

    async def stop() -> None:
        calls.append("stop")

    def announce() -> None:
        calls.append("announce")
        asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGTERM)

    assert await run_until_signalled("sim", start, stop, announce) == 0
    assert calls == ["start", "announce", "stop"]
    assert capsys.readouterr().err == "sim: stopped\n"
    # the loop's handlers were removed again (False: there was none left to remove)
    assert not asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)


async def test_cannot_listen_is_exit_1_after_cleaning_up(capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    calls: list[str] = []

    async def start() -> None:
        raise OSError(98, "address already in use")

    async def stop() -> None:
        calls.append("stop")

    assert await run_until_signalled("sim", start, stop, lambda: calls.append("announce")) == 1
    assert calls == ["stop"]
    assert capsys.readouterr().err == (
        "sim: error: cannot listen: [Errno 98] address already in use\n")
