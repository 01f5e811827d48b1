"""demo.sh picks its Python environment: .venv, or the one a PEP 832 ``.venv`` redirect names.

Newer tox writes such a redirect file (this project's tox.ini turns that off, but a user's own
tox run elsewhere may not); demo.sh must then use the named environment instead of failing to
create a directory over the file. Runs a copy of demo.sh with ``--help`` so nothing is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def demo_copy(tmp_path: Path) -> Path:
    script = tmp_path / "demo.sh"
    shutil.copy2(ROOT / "demo.sh", script)
    return script


def run(script: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True,
                          timeout=120, cwd=script.parent)


def test_a_redirect_file_to_a_working_environment_is_followed(tmp_path: Path) -> None:
    script = demo_copy(tmp_path)
    (tmp_path / ".venv").write_text(f"{sys.prefix}\n")  # this test's environment has metricsd
    result = run(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m scenarios.demo")
    assert "installing" not in result.stdout + result.stderr


def test_a_redirect_file_to_an_unusable_environment_is_a_clear_error(tmp_path: Path) -> None:
    script = demo_copy(tmp_path)
    (tmp_path / ".venv").write_text(".tox/gone\n")
    result = run(script)
    assert result.returncode == 1
    assert result.stderr == ("demo: .venv points at ./.tox/gone, which has no metricsd "
                             "(or no pytest); remove the file .venv and run again\n")
    assert (tmp_path / ".venv").read_text() == ".tox/gone\n"  # the user's file is left alone


def test_tox_is_told_not_to_write_the_redirect() -> None:
    assert "venv_redirect = false" in (ROOT / "tox.ini").read_text()


FAKE_PYTHON = """#!/bin/sh
[ "$1" = "-c" ] && exit 0   # demo.sh's check that the environment has metricsd
echo "cwd=$PWD args=$*"
"""


def test_the_demo_runs_where_it_was_started_so_relative_paths_stay_the_users(
        tmp_path: Path) -> None:
    """demo.sh goes to its own directory to find or make .venv, then back: ``./demo.sh
    --artifacts demo-out`` typed elsewhere keeps demo-out there, not in the repository."""
    repo = tmp_path / "repo"
    repo.mkdir()
    script = demo_copy(repo)
    env = repo / "env" / "bin"
    env.mkdir(parents=True)
    (env / "python").write_text(FAKE_PYTHON)
    (env / "python").chmod(0o755)
    (repo / ".venv").write_text("env\n")  # a relative redirect: resolved before going back
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(["bash", str(script), "--artifacts", "demo-out"], cwd=elsewhere,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"cwd={elsewhere} args=-P -m scenarios.demo --artifacts demo-out\n"
