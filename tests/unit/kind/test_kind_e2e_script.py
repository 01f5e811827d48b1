"""kind/e2e.sh: shellcheck-clean, and plain about what is missing when it cannot run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "kind" / "e2e.sh"
# What the script itself needs from the system, apart from the tools it checks for.
BASE_TOOLS = ["bash", "dirname", "basename", "sed", "seq", "tr"]


def sandbox_path(tmp_path: Path, fakes: dict[str, str]) -> str:
    """A PATH holding only the basic tools plus the given fake commands (name -> script body)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in BASE_TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bindir / tool).symlink_to(found)
    for name, body in fakes.items():
        fake = bindir / name
        fake.write_text(f"#!/bin/sh\n{body}\n")
        fake.chmod(0o755)
    return str(bindir)


def run(path: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PATH", "ARTIFACTS")}
    env["PATH"] = path
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_shellcheck_clean() -> None:
    result = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_names_every_missing_tool(tmp_path: Path) -> None:
    result = run(sandbox_path(tmp_path, {}))
    assert result.returncode == 3
    assert result.stderr.strip() == (
        "e2e.sh: cannot run on a real cluster: missing docker kind kubectl "
        "(install docker, kind and kubectl, then rerun)"
    )


def test_names_only_the_missing_one(tmp_path: Path) -> None:
    result = run(sandbox_path(tmp_path, {"docker": "exit 0", "kubectl": "exit 0"}))
    assert result.returncode == 3
    assert "missing kind " in result.stderr


def test_docker_client_without_engine(tmp_path: Path) -> None:
    # As on this kind of machine: the docker client answers, but no engine runs.
    fakes = {"docker": 'echo "Cannot connect to the Docker daemon" >&2; exit 1', "kind": "exit 0",
             "kubectl": "exit 0"}
    result = run(sandbox_path(tmp_path, fakes))
    assert result.returncode == 3
    assert result.stderr.strip() == (
        "e2e.sh: cannot run on a real cluster: docker is installed but no docker engine is "
        "reachable (start the docker daemon, then rerun)"
    )


def test_unknown_overlay_is_a_usage_error(tmp_path: Path) -> None:
    result = run(sandbox_path(tmp_path, {}), "--overlay", "nope")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "e2e.sh: no such overlay: nope (have: ha insecure-tls secure test)"
    )


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    result = run(sandbox_path(tmp_path, {}), "--bogus")
    assert result.returncode == 2
    assert "unknown option: --bogus" in result.stderr
