"""Progress while a variant runs (scenarios.experiment.cli._Shown over scenarios.progress):
a line every 5 s of wall time in a log, one live line on a terminal."""

from __future__ import annotations

import io
from pathlib import Path

from scenarios.experiment import cli
from scenarios.experiment.schema import load_experiment
from scenarios.progress import Progress

REPO = Path(__file__).resolve().parents[3]
EXP = load_experiment(REPO / "scenarios" / "experiments" / "php-apache.yaml")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_every_five_seconds_in_a_log() -> None:
    out, clock = io.StringIO(), Clock()
    shown = cli._Shown(Progress(out, live=False, clock=clock), EXP)
    shown.begin("walkthrough")
    for step in range(1, 13):  # 12 samples, one per wall second
        clock.now += 1
        shown("walkthrough", step * 100.0, step)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # at 5 s and 10 s of waiting
    assert lines[0].startswith("[php-apache/walkthrough] ... waiting for 1200 simulated s, 5s "
                               "so far; last seen: 500/1200 s simulated (42 %), 5 replicas")
    assert "1000/1200 s simulated (83 %), 10 replicas" in lines[1]


def test_one_live_line_on_a_terminal() -> None:
    out, clock = io.StringIO(), Clock()
    display = Progress(out, live=True, clock=clock, width=lambda: 200)
    shown = cli._Shown(display, EXP)
    shown.begin("walkthrough")
    clock.now += 1
    shown("walkthrough", 600.0, 7)
    text = out.getvalue()
    assert "\n" not in text and text.count("\r\x1b[K") >= 1
    assert text.rsplit("\r\x1b[K", 1)[1].endswith("600/1200 s simulated (50 %), 7 replicas, "
                                                 f"{600 / (shown.last_draw - shown.began):.0f}x")
