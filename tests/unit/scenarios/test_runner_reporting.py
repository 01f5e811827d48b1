"""What the runner tells while it runs and when a scenario failed, and where its paths point.

* A waiting step tells the display what it waits for and every state it sees (the display's own
  rules are tested in test_progress.py); a step retried until its expectations hold, too.
* A failure shows metricsd's log from its FIRST lines (a crash-looping pod prints its error and
  then the whole usage text: the tail alone hides the error), plus the last few when it is long.
* ``--artifacts`` and the default artifacts directory are absolute however they were typed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from scenarios.backends.base import CommandResult, PodState
from scenarios.cli import main
from scenarios.report import LOG_HEAD, LOG_TAIL, failure_text, log_excerpt
from scenarios.runner import Runner, ScenarioResult, StepResult
from scenarios.schema import load_scenario
from tests.unit.scenarios.test_runner import ScriptedBackend


class Recorder:
    """A Status that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def waiting(self, key: str, label: str, what: str) -> None:
        self.calls.append(("waiting", key, label, what))

    def observed(self, key: str, state: str) -> None:
        self.calls.append(("observed", key, state))

    def done(self, key: str) -> None:
        self.calls.append(("done", key))


class SlowPod(ScriptedBackend):
    """A pod that is Ready at the third look; `kubectl top` that works at the second try."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.looks = 0
        self.tops = 0

    async def pod_state(self) -> PodState | None:
        self.looks += 1
        return PodState("metrics-server-abc", "1/1" if self.looks >= 3 else "0/1", "Running", 0)

    async def kubectl(self, args: list[str], version: str, stdin: str | None) -> CommandResult:
        self.tops += 1
        if self.tops < 2:
            return CommandResult(["kubectl", *args], 1, "", "error: metrics not available yet\n")
        return await super().kubectl(args, version, stdin)


WAITS = """\
name: waits
description: waits
cluster: {}
metricsd:
  args: {add: [--kubelet-insecure-tls]}
steps:
- install: {}
- name: the pod becomes Ready
  wait: {pod: {ready: true}}
  timeout: 30s
- kubectl: {args: [top, nodes]}
  timeout: 30s
  expect: {exitCode: 0}
"""


async def run_waits(tmp_path: Path, echo: bool = False) -> tuple[ScenarioResult, Recorder]:
    path = tmp_path / "waits.yaml"
    path.write_text(WAITS)
    scenario = load_scenario(path)
    status = Recorder()
    backend = SlowPod(scenario, tmp_path / "art", 0)
    result = await Runner(scenario, backend, ["1.30"], progress=lambda _: None, echo=echo,
                          status=status).run()
    return result, status


async def test_a_wait_tells_what_it_waits_for_and_each_state_it_sees(tmp_path: Path) -> None:
    result, status = await run_waits(tmp_path)
    assert result.passed
    label = "[waits] step 2/3 the pod becomes Ready"
    waits = [c for c in status.calls if c[0] != "done"]
    assert waits[:3] == [
        ("waiting", "waits", label, "pod ready=True"),
        ("observed", "waits", "READY 0/1, STATUS Running, RESTARTS 0"),
        ("observed", "waits", "READY 0/1, STATUS Running, RESTARTS 0"),
    ]
    assert waits[3:] == [
        ("waiting", "waits", "[waits] step 3/3 kubectl top nodes",
         "its expectations to hold (up to 30s)"),
        ("observed", "waits", "[kubectl 1.30] exit code: got 1 "
                              "(stderr: 'error: metrics not available yet')"),
    ]
    # every step ends its wait, so nothing stays on the live line after it
    assert [c for c in status.calls if c[0] == "done"] == [("done", "waits")] * 3


async def test_the_demo_indents_its_waits_under_the_narration(tmp_path: Path) -> None:
    _, status = await run_waits(tmp_path, echo=True)
    assert ("waiting", "waits", "   ", "pod ready=True") in status.calls


def test_the_cli_shows_waits_in_its_output(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # a log (not a terminal) every 0.01 s, so that this short wait prints its lines
    from scenarios import cli

    real = cli.Progress
    monkeypatch.setattr(cli, "Progress", lambda stream: real(stream, interval=0.01))
    monkeypatch.setattr("scenarios.runner.POLL_INTERVAL", 0.02)
    path = tmp_path / "waits.yaml"
    path.write_text(WAITS)
    code = main(["run", "--artifacts", str(tmp_path / "art"), str(path)], factory=SlowPod)
    out = capsys.readouterr().out
    assert code == 0, out
    assert ("[waits] step 2/3 the pod becomes Ready ... waiting for pod ready=True, 0s so far; "
            "last seen: READY 0/1, STATUS Running, RESTARTS 0") in out


# -- the log in a failure report ---------------------------------------------------------------

USAGE = ["Error: unable to construct lister client config: stat state/pods/x/serviceaccount/"
         "kubeconfig: no such file or directory", "Usage:", "   [flags]", ""] + [
    f"      --flag-{i} string   what flag {i} does" for i in range(100)]


@pytest.mark.parametrize(
    ("lines", "shown"),
    [
        ([], [" metricsd's log is empty"]),
        (["one"], [" metricsd's log (1 line):", "  | one"]),
        ([f"l{i}" for i in range(24)],  # up to LOG_HEAD + LOG_TAIL + 1: all of it
         [" metricsd's log (24 lines):", *(f"  | l{i}" for i in range(24))]),
        ([f"l{i}" for i in range(25)],
         [f" metricsd's log, first {LOG_HEAD} and last {LOG_TAIL} of 25 lines:",
          *(f"  | l{i}" for i in range(15)), "  | ... 2 lines not shown ...",
          *(f"  | l{i}" for i in range(17, 25))]),
    ],
)
def test_log_excerpt(lines: list[str], shown: list[str]) -> None:
    assert (LOG_HEAD, LOG_TAIL) == (15, 8)
    assert log_excerpt("\n".join(lines) + "\n" if lines else "") == shown


def test_a_crash_looping_pods_error_comes_first_in_the_report(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ndescription: d\ncluster: {}\nsteps:\n- install: {}\n")
    result = ScenarioResult(load_scenario(path), "sim",
                            steps=[StepResult(3, "the pod becomes Ready", "failed")],
                            log="\n".join(USAGE) + "\n", log_file=tmp_path / "metricsd.log")
    report = failure_text(result).splitlines()
    at = report.index(" metricsd's log, first 15 and last 8 of 104 lines:")
    assert report[at + 1] == "  | " + USAGE[0]
    assert report[at + 16] == (f"  | ... 81 lines not shown; all of it is in "
                               f"{tmp_path / 'metricsd.log'} ...")
    assert report[-1] == "  | " + USAGE[-1]


# -- paths ------------------------------------------------------------------------------------


class Where(ScriptedBackend):
    seen: list[Path] = []

    def __init__(self, scenario: Any, artifacts: Path, slot: int) -> None:
        super().__init__(scenario, artifacts, slot)
        Where.seen.append(artifacts)


@pytest.mark.parametrize(("flag", "expected"), [(["--artifacts", "out/"], "out"),
                                                ([], "artifacts/scenarios")])
def test_artifacts_are_absolute_however_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              flag: list[str], expected: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ndescription: d\ncluster: {}\nsteps:\n- install: {}\n")
    monkeypatch.chdir(tmp_path)
    Where.seen = []
    assert main(["run", *flag, "s.yaml"], factory=Where) == 0
    assert Where.seen == [tmp_path / expected / "s"]


def test_keep_metricsd_log_says_where(tmp_path: Path) -> None:
    from scenarios.cli import keep_metricsd_log

    path = tmp_path / "s.yaml"
    path.write_text("name: s\ndescription: d\ncluster: {}\nsteps:\n- install: {}\n")
    backend = ScriptedBackend(load_scenario(path), tmp_path / "art", 0)
    kept = asyncio.run(keep_metricsd_log(backend))
    assert kept == tmp_path / "art" / "metricsd.log" and "Failed to scrape" in kept.read_text()


async def test_a_log_wait_shows_the_last_line_it_saw(tmp_path: Path) -> None:
    path = tmp_path / "log.yaml"
    path.write_text("name: log\ndescription: d\ncluster: {}\nsteps:\n"
                    "- wait: {log: {contains: never}}\n  timeout: 0.3s\n")
    scenario = load_scenario(path)
    status = Recorder()
    result = await Runner(scenario, ScriptedBackend(scenario, tmp_path, 0), ["1.30"],
                          progress=lambda _: None, status=status).run()
    assert not result.passed
    assert ("observed", "log", '1 log line(s), the last: E1125 11:00:00.000000       1 '
            'scraper.go:149] "Failed to scrape node"') in status.calls
    assert result.steps[0].failures[0].actual.startswith("after 0.3s: 1 log line(s), the last:")
