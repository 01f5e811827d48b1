"""PassRunner: pokes coalesce into passes; settled() covers every poke; a failing pass is logged."""

from __future__ import annotations

import asyncio
import logging

import pytest

from fakekubelet.passes import PassRunner

log = logging.getLogger("test.passes")


async def test_a_burst_of_pokes_is_one_pass_and_settled_waits_for_it() -> None:
    seen: list[int] = []
    state = {"value": 0}

    async def work() -> None:
        seen.append(state["value"])

    runner = PassRunner(work, name="t", log=log, yield_first=True)
    runner.start()
    try:
        for i in range(1, 6):
            state["value"] = i
            runner.poke()
        await runner.settled()
        assert seen == [5]  # one pass, and it saw the last change
    finally:
        await runner.stop()


async def test_a_poke_during_a_pass_gets_its_own_pass_before_settled_returns() -> None:
    entered = asyncio.Event()
    release = asyncio.Event()
    passes: list[str] = []

    async def work() -> None:
        passes.append("pass")
        if len(passes) == 1:
            entered.set()
            await release.wait()

    runner = PassRunner(work, name="t", log=log)
    runner.start()
    try:
        runner.poke()
        await entered.wait()
        runner.poke()  # arrives while the first pass runs
        waiter = asyncio.create_task(runner.settled())
        release.set()
        await waiter
        assert passes == ["pass", "pass"]
    finally:
        await runner.stop()


async def test_a_failing_pass_is_logged_and_the_next_poke_still_runs(
        caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    async def work() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")

    runner = PassRunner(work, name="fleet reconcile", log=log)
    runner.start()
    try:
        with caplog.at_level(logging.ERROR, logger="test.passes"):
            runner.poke()
            await runner.settled()
        assert "fleet reconcile pass failed" in caplog.text and "boom" in caplog.text
        runner.poke()
        await runner.settled()
        assert len(calls) == 2
    finally:
        await runner.stop()


async def test_settled_returns_at_once_when_nothing_was_poked() -> None:
    async def work() -> None:
        raise AssertionError("no pass without a poke")

    runner = PassRunner(work, name="t", log=log)
    runner.start()
    try:
        await asyncio.wait_for(runner.settled(), 5)
    finally:
        await runner.stop()
