"""The runner's verdicts and exit statuses, against a scripted in-memory backend."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from scenarios.backends.base import (
    BackendUnreachable,
    CommandResult,
    HttpResult,
    PodState,
    Truth,
    Unsupported,
)
from scenarios.cli import main
from scenarios.schema import Scenario

TOP_NODES = (
    "NAME     CPU(cores)   CPU%   MEMORY(bytes)   MEMORY%   \n"
    "node-a   416m         10%    1220Mi          7%        \n"
)


class ScriptedBackend:
    """Answers like a cluster where metricsd works after install; records what it was asked."""

    name = "sim"
    unreachable = False

    def __init__(self, scenario: Scenario, artifacts: Path, slot: int) -> None:
        self.artifacts = artifacts
        self.installed: list[str] | None = None
        self.calls: list[str] = []
        self.faults: dict[str, Any] = {}
        self.ticks = 0

    async def start(self) -> None:
        if self.unreachable:
            raise BackendUnreachable("sim backend: cannot start the control plane")

    async def stop(self) -> None:
        pass

    async def base_args(self) -> list[str]:
        return ["--cert-dir=/tmp", "--metric-resolution=15s"]

    async def install(self, args: list[str]) -> CommandResult:
        self.installed = args
        return CommandResult(
            ["kubectl", "apply"], 0, "deployment.apps/metrics-server created\n", ""
        )

    async def uninstall(self) -> CommandResult:
        self.installed = None
        return CommandResult(["kubectl", "delete"], 0, "", "")

    async def kubectl(self, args: list[str], version: str, stdin: str | None) -> CommandResult:
        self.calls.append(f"{version} {' '.join(args)}")
        if self.installed is None or "--kubelet-insecure-tls" not in self.installed:
            return CommandResult(["kubectl", *args], 1, "", "error: Metrics API not available\n")
        return CommandResult(["kubectl", *args], 0, TOP_NODES, "")

    async def metrics_api(self, path: str, via: str) -> HttpResult:
        return HttpResult(200, '{"items": [{"metadata": {"name": "node-a"}}]}')

    async def probe(self, path: str) -> HttpResult:
        if path == "/metrics":
            self.ticks += 1  # every look finds one more completed scrape cycle
            body = f"metrics_server_manager_tick_duration_seconds_count {self.ticks}\n"
            return HttpResult(200, body)
        return HttpResult(200, "ok")

    async def metricsd_log(self) -> str:
        return 'E1125 11:00:00.000000       1 scraper.go:149] "Failed to scrape node"\n'

    async def apiservice_condition(self) -> dict[str, Any] | None:
        return {"type": "Available", "status": "True", "reason": "Passed"}

    async def pod_state(self) -> PodState | None:
        return PodState("metrics-server-abc", "1/1", "Running", 0)

    async def events(self) -> str:
        return ""

    async def set_faults(self, nodes: list[str], changes: dict[str, Any]) -> None:
        self.faults.update({n: changes for n in nodes})

    async def set_workload(self, pod: str, container: str, workload: Any) -> None:
        raise Unsupported("not scripted")

    async def set_churn(self, churn: Any) -> None:
        raise Unsupported("not scripted")

    async def top_truth(
        self, kind: str, names: list[tuple[str | None, str]]
    ) -> dict[tuple[str | None, str], Truth]:
        return {(None, "node-a"): Truth(cpu_cores=0.4155, memory_bytes=1220.5 * 1048576)}


SCENARIO = """\
name: {name}
description: the walkthrough's fix
cluster: {{}}
metricsd:
  args: {{add: [--kubelet-insecure-tls]}}
steps:
- kubectl: {{args: [top, nodes]}}
  expect:
    exitCode: 1
    stderr: "error: Metrics API not available"
- install: {{}}
- wait: {{scrapes: 1}}
  timeout: 5s
- fault: {{node: node-a, set: {{http_status: 500}}}}
- kubectl: {{args: [top, nodes], version: "1.31"}}
  expect:
    exitCode: 0
    top: {{rows: [node-a], tolerance: {{cpuMillicores: 1}}}}
    log: {{contains: Failed to scrape node}}
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run(tmp_path: Path, *files: Path, extra: tuple[str, ...] = ()) -> int:
    return main(
        ["run", "--artifacts", str(tmp_path / "art"), *extra, *map(str, files)],
        factory=ScriptedBackend,
    )


def test_passing_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, SCENARIO.format(name="fix"))
    junit = tmp_path / "junit.xml"
    assert run(tmp_path, path, extra=("--junit-xml", str(junit))) == 0
    out = capsys.readouterr().out
    assert "[fix] step 5/5 kubectl top nodes ... ok" in out
    assert out.strip().endswith("scenarios: 1 passed, 0 failed")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "5" and suite.get("failures") == "0"


def test_wrong_expectation_fails_with_a_readable_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SCENARIO.format(name="wrong").replace(
        'stderr: "error: Metrics API not available"',
        'stderr: "error: metrics not available yet"',
    )
    assert run(tmp_path, write(tmp_path, text)) == 1
    captured = capsys.readouterr()
    assert "[wrong] step 1/5 kubectl top nodes ... FAILED" in captured.out
    err = captured.err
    assert "FAILED wrong" in err and "step 1: kubectl top nodes" in err
    assert "[kubectl 1.30] stderr: expected exactly 'error: metrics not available yet'" in err
    assert "-error: metrics not available yet" in err and "+error: Metrics API not available" in err
    assert "metricsd's log (1 line):\n  | E1125 11:00:00.000000" in err
    assert captured.out.strip().endswith("scenarios: 0 passed, 1 failed")


def test_ground_truth_mismatch_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SCENARIO.format(name="truth").replace("cpuMillicores: 1", "cpuMillicores: 0")
    text = text.replace("top: {rows:", "top: {tolerance: {cpuMillicores: 0, cpuRelative: 0}, rows:")
    text = text.replace(", tolerance: {cpuMillicores: 0}}", "}")
    ScriptedTruth = type("ScriptedTruth", (ScriptedBackend,), {})

    async def far_truth(self: Any, kind: str, names: Any) -> Any:
        return {(None, "node-a"): Truth(cpu_cores=0.2, memory_bytes=1220.5 * 1048576)}

    ScriptedTruth.top_truth = far_truth  # type: ignore[attr-defined]
    code = main(
        ["run", "--artifacts", str(tmp_path / "a"), str(write(tmp_path, text))],
        factory=ScriptedTruth,
    )
    assert code == 1
    assert "node-a CPU: expected ≈200.0m (truth)" in capsys.readouterr().err


def test_kubectl_all_runs_every_installed_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("scenarios.cli.kubectl_versions", lambda: ["1.27", "1.33"])
    path = write(tmp_path, SCENARIO.format(name="all"))
    assert run(tmp_path, path, extra=("--kubectl", "all")) == 0


def test_schema_error_exits_2_and_points_at_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SCENARIO.format(name="bad").replace("- install: {}", "- instal: {}")
    assert run(tmp_path, write(tmp_path, text)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("scenarios: ")
    assert ":11: steps[1]: expected exactly one of install," in err


def test_unreachable_backend_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Unreachable = type("Unreachable", (ScriptedBackend,), {"unreachable": True})
    code = main(
        [
            "run",
            "--artifacts",
            str(tmp_path / "a"),
            str(write(tmp_path, SCENARIO.format(name="u"))),
        ],
        factory=Unreachable,
    )
    assert code == 3
    assert "cannot start the control plane" in capsys.readouterr().err


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run"])
    assert info.value.code == 2
    assert run(tmp_path, tmp_path / "missing.yaml") == 2


def test_on_kind_top_rows_must_be_plausible_instead_of_true(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = TOP_NODES + "node-c   <unknown>    <unknown>   <unknown>       <unknown>   \n"

    async def kubectl(self: Any, args: list[str], version: str, stdin: str | None) -> Any:
        if self.installed is None:
            return CommandResult(["kubectl", *args], 1, "", "error: Metrics API not available\n")
        return CommandResult(["kubectl", *args], 0, unknown, "")

    OnKind = type("OnKind", (ScriptedBackend,), {"name": "kind", "kubectl": kubectl})
    text = SCENARIO.format(name="kind").replace(
        "- fault: {node: node-a, set: {http_status: 500}}\n", ""
    )
    code = main(
        ["run", "--artifacts", str(tmp_path / "a"), str(write(tmp_path, text))], factory=OnKind
    )
    assert code == 1
    assert "node-c: expected CPU and memory figures" in capsys.readouterr().err
