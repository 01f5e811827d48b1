"""The progress display for waits: a line every interval in a log, one live line on a terminal.

Time is a fake clock and :meth:`Progress.tick` is called by hand, so nothing sleeps. The last
test runs the display on a real pseudo-terminal, as a user's shell gives it one.
"""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.progress import ERASE_LINE, Progress, one_line

ROOT = Path(__file__).resolve().parents[3]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def logged(**kw: object) -> tuple[Progress, io.StringIO, Clock]:
    out, clock = io.StringIO(), Clock()
    return Progress(out, live=False, clock=clock, **kw), out, clock  # type: ignore[arg-type]


def test_a_log_gets_a_line_every_interval_while_a_step_waits() -> None:
    progress, out, clock = logged()
    progress.waiting("s", "[s] step 3/7 ready", "pod ready=True")
    progress.observed("s", "READY 0/1, STATUS Running, RESTARTS 0")
    for now, printed in [
        (104.9, ""),
        (105.0, "[s] step 3/7 ready ... waiting for pod ready=True, 5s so far; "
                "last seen: READY 0/1, STATUS Running, RESTARTS 0\n"),
        (109.0, ""),
        (117.5, "[s] step 3/7 ready ... waiting for pod ready=True, 15s so far; "
                "last seen: READY 1/1, STATUS Running, RESTARTS 0\n"),  # a late tick: 10 s skipped
        (119.9, ""),
    ]:
        if now == 117.5:
            progress.observed("s", "READY 1/1, STATUS Running, RESTARTS 0")
        before = out.getvalue()
        clock.now = now
        progress.tick()
        assert out.getvalue()[len(before):] == printed, now
    progress.done("s")
    clock.now = 200.0
    progress.tick()
    assert out.getvalue().count("\n") == 2  # nothing after the wait ended
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_a_short_wait_prints_nothing_and_lines_pass_through() -> None:
    progress, out, clock = logged()
    progress.waiting("s", "[s] step 1/1 x", "2 scrape cycle(s)")
    clock.now += 3
    progress.tick()
    progress.done("s")
    progress.line("[s] step 1/1 x ... ok (3.0s)")
    assert out.getvalue() == "[s] step 1/1 x ... ok (3.0s)\n"


def test_a_new_wait_of_the_same_key_restarts_the_clock() -> None:
    progress, out, clock = logged()
    progress.waiting("s", "[s] step 1/2 a", "pod ready=True")
    clock.now += 4
    progress.waiting("s", "[s] step 1/2 a", "pod ready=True")  # the same wait, polled again
    progress.waiting("s", "[s] step 2/2 b", "apiservice available=True")
    clock.now += 4
    progress.tick()
    assert out.getvalue() == ""
    clock.now += 1
    progress.tick()
    assert out.getvalue() == "[s] step 2/2 b ... waiting for apiservice available=True, 5s so far\n"


def test_every_current_wait_gets_its_line() -> None:
    progress, out, clock = logged(interval=2.0)
    progress.waiting("a", "[a]", "x")
    progress.waiting("b", "[b]", "y")
    clock.now += 2
    progress.tick()
    assert out.getvalue() == "[a] ... waiting for x, 2s so far\n[b] ... waiting for y, 2s so far\n"


def live(width: int = 60) -> tuple[Progress, io.StringIO, Clock]:
    out, clock = io.StringIO(), Clock()
    return Progress(out, live=True, clock=clock, width=lambda: width), out, clock


def test_a_terminal_gets_one_line_rewritten_in_place() -> None:
    progress, out, clock = live(width=200)
    progress.waiting("s", "[s] step 3/7", "pod ready=True")
    assert out.getvalue() == ERASE_LINE + "[s] step 3/7 ... waiting for pod ready=True, 0s so far"
    clock.now += 2
    progress.observed("s", "READY 0/1")
    assert out.getvalue().endswith(
        ERASE_LINE + "[s] step 3/7 ... waiting for pod ready=True, 2s so far; last seen: READY 0/1"
    )
    clock.now += 1
    progress.tick()  # the seconds move without an observation
    assert out.getvalue().endswith("3s so far; last seen: READY 0/1")
    mark = len(out.getvalue())
    progress.line("[s] step 2/7 install ... ok (0.2s)")  # a permanent line goes above it
    assert out.getvalue()[mark:] == (
        ERASE_LINE + "[s] step 2/7 install ... ok (0.2s)\n"
        + ERASE_LINE
        + "[s] step 3/7 ... waiting for pod ready=True, 3s so far; last seen: READY 0/1"
    )
    mark = len(out.getvalue())
    progress.done("s")
    assert out.getvalue()[mark:] == ERASE_LINE
    progress.line("done")
    assert out.getvalue().endswith(ERASE_LINE + "done\n")


@pytest.mark.parametrize("width", [20, 45, 80])
def test_the_live_line_never_wraps(width: int) -> None:
    progress, out, _ = live(width=width)
    progress.waiting("a", "[a-scenario] step 3/7 the readiness probe passes", "pod ready=True")
    progress.waiting("b", "[b-scenario] step 1/2 x", "metricsd's log: contains 'y'")
    progress.observed("a", "READY 0/1, STATUS Running, RESTARTS 0")
    for drawn in out.getvalue().split(ERASE_LINE)[1:]:
        assert len(drawn) <= width - 1
    last = out.getvalue().rsplit(ERASE_LINE, 1)[1]
    assert last.startswith("[a-scenario]") and last.endswith("…")


def test_close_erases_the_live_line_and_forgets_the_waits() -> None:
    progress, out, _ = live()
    progress.waiting("s", "[s]", "x")
    progress.close()
    assert out.getvalue().endswith(ERASE_LINE)
    progress.tick()
    assert out.getvalue().endswith(ERASE_LINE)


def test_observations_are_one_short_line() -> None:
    assert one_line('{\n "type": "Available",\n  "status": "False"}') == (
        '{ "type": "Available", "status": "False"}')
    assert one_line("x" * 500, limit=20) == "x" * 19 + "…"


def test_a_pipe_or_a_dumb_terminal_is_not_live(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Progress(io.StringIO()).live is False
    master, slave = pty.openpty()
    try:
        with os.fdopen(os.dup(slave), "w") as tty:
            monkeypatch.setenv("TERM", "xterm")
            assert Progress(tty).live is True
            monkeypatch.setenv("TERM", "dumb")
            assert Progress(tty).live is False
    finally:
        os.close(master)
        os.close(slave)


SCRIPT = """
import asyncio, sys
from scenarios.progress import Progress

async def main():
    progress = Progress()
    async with progress:
        progress.line(f"live={progress.live}")
        progress.waiting("s", "[s] step 1/1 wait", "pod ready=True")
        progress.observed("s", "READY 0/1")
        await asyncio.sleep(2.3)  # two heartbeats redraw the line, seconds moving (slack for load)
        progress.done("s")
        progress.line("[s] step 1/1 wait ... ok (2.3s)")

asyncio.run(main())
"""


def test_on_a_real_terminal_the_line_is_live_and_erased_at_the_end() -> None:
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm", COLUMNS="200")  # xdist workers export a narrow width
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=slave, stderr=slave,
                            stdin=slave, cwd=ROOT, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    out = b"".join(chunks).decode().replace("\r\n", "\n")  # the terminal's own newline mapping
    assert out.startswith("live=True\n")
    drawn = out.split(ERASE_LINE)
    shown = (r"\[s\] step 1/1 wait \.\.\. waiting for pod ready=True, (\d+)s so far; "
             r"last seen: READY 0/1")
    seconds = [int(m.group(1)) for d in drawn if (m := re.fullmatch(shown, d))]
    assert seconds[0] == 0
    redrawn = [s for s in seconds if s > 0]
    assert redrawn, drawn  # the heartbeat moved the seconds on without an observation
    assert out.endswith(ERASE_LINE + "[s] step 1/1 wait ... ok (2.3s)\n")
