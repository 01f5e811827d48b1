"""Installing the project prints no setuptools warnings (pip install -e ., pip wheel .).

(With PYTHONDONTWRITEBYTECODE set, setuptools also logs "byte-compiling is disabled": that
comes from the environment, not from this project.)

The metadata used to declare ``license`` as a TOML table, which setuptools deprecates (once per
build hook, so three times per install); an SPDX string is the current form and needs
setuptools >= 77 at build time — in ``build-system.requires`` for isolated builds, and in the
``test`` extra for the no-isolation wheel build of tests/unit/kind/test_kind_image_build.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def setuptools_floor(requirements: list[str]) -> tuple[int, ...]:
    for req in requirements:
        match = re.fullmatch(r"setuptools\s*>=\s*([\d.]+)", req.strip())
        if match:
            return tuple(int(p) for p in match[1].split("."))
    raise AssertionError(f"no setuptools>=N in {requirements}")


def test_license_is_an_spdx_string_with_a_setuptools_that_reads_it() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert setuptools_floor(PYPROJECT["build-system"]["requires"]) >= (77,)
    assert setuptools_floor(PYPROJECT["project"]["optional-dependencies"]["test"]) >= (77,)


def test_reading_the_metadata_warns_nothing() -> None:
    """setup.py reads pyproject.toml as every build hook does; any setuptools warning fails."""
    every_warning_fails = (
        "import runpy, sys, warnings; warnings.simplefilter('error'); "
        "sys.argv = ['setup.py', '--name', '--version']; "
        "runpy.run_path('setup.py', run_name='__main__')"
    )
    res = subprocess.run(
        [sys.executable, "-c", every_warning_fails],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"},
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["metricsd", PYPROJECT["project"]["version"]]
    assert "Warning" not in res.stderr, res.stderr


SOURCES = ["pyproject.toml", "setup.py", "README.md", "metricsd", "fakekubelet", "fakeapiserver",
           "scenarios"]

BUILD = """\
import sys, warnings
warnings.simplefilter("error")
from setuptools import build_meta
out = sys.argv[1]
wheel = build_meta.build_wheel(out)
editable = build_meta.build_editable(out)
print("BUILT", wheel, editable)
"""


@pytest.mark.slow
def test_the_wheel_and_the_editable_wheel_build_without_warnings(tmp_path: Path) -> None:
    """The two PEP 517/660 hooks pip calls, with every Python warning turned into an error."""
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns(
                "__pycache__", "*.so", "*.pyc"))
        else:
            shutil.copy2(origin, src / name)
    res = subprocess.run(
        [sys.executable, "-c", BUILD, str(tmp_path / "dist")],
        cwd=src, capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"},
    )
    assert res.returncode == 0, res.stderr[-3000:]
    [built] = [line for line in res.stdout.splitlines() if line.startswith("BUILT ")]
    _, wheel, editable = built.split()
    assert wheel.startswith("metricsd-0.1.0-") and editable.startswith("metricsd-0.1.0-0.editable")
