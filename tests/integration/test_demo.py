"""The README's main job: the narrated demo, with and without kubectl installed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.kubectl import kubectl_versions


def run_demo(env_extra: dict[str, str], *args: str,
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "scenarios.demo", *args],
        capture_output=True, text=True, env=env, timeout=400, cwd=cwd,
    )


def test_demo_without_kubectl_shows_the_apis_answers(tmp_path: Path) -> None:
    empty = tmp_path / "no-kubectl"
    empty.mkdir()
    result = run_demo({"KUBECTL_DIR": str(empty)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "kubectl is not installed on this machine" in out
    assert "HTTP 503\n    service unavailable" in out
    assert '"kind": "NodeMetricsList"' in out
    assert out.rstrip().endswith("demo: every expectation held.")


@pytest.mark.skipif("1.33" not in kubectl_versions(), reason="no kubectl.1.33 installed")
def test_demo_with_kubectl_tells_the_walkthrough(tmp_path: Path) -> None:
    """With another kubectl (every call of it, installing included) and a relative
    --artifacts (kept where it was typed, although metricsd's pod runs elsewhere)."""
    result = run_demo({}, "--kubectl", "1.33", "--artifacts", "demo-out", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "doesn't contain any IP SANs" in out
    assert "False (MissingEndpoints)" in out
    assert "error: Metrics API not available" in out
    assert "$ kubectl.1.33 top nodes\n    NAME " in out
    assert out.rstrip().endswith("demo: every expectation held.")
    log = (tmp_path / "demo-out" / "commands.log").read_text()
    binaries = {os.path.basename(b) for b in re.findall(r"^\$ (\S+)", log, re.M)}
    assert binaries == {"kubectl.1.33"}
    assert "kustomize" in log and "apply --validate=false" in log and "delete" in log
