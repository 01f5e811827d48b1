"""kind/Dockerfile's build stage, without Docker: the files it copies build an accelerated metricsd.

The stage copies a few paths from the repository and runs ``pip install --prefix=/install .``.
Here the same paths are copied into a temporary directory and built into a wheel (with the
build tools of this environment instead of downloading them) — what that install unpacks — and
the checks the image relies on are made: the ``metricsd`` entry point, the decoder's C
accelerator in use, the simulators left out.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "kind" / "Dockerfile"

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                                reason="no C compiler: the image's build stage installs gcc")


def build_stage_copies() -> list[str]:
    """Source paths of the ``COPY`` lines in the first (build) stage."""
    text = DOCKERFILE.read_text()
    stages = re.split(r"^FROM ", text, flags=re.M)
    build = stages[1]
    paths: list[str] = []
    for line in build.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            paths += line.split()[1:-1]
    return paths


def test_build_stage_copies_what_the_build_needs() -> None:
    copies = build_stage_copies()
    assert {"pyproject.toml", "setup.py", "README.md", "metricsd"} <= set(copies)
    assert "apt-get install" in DOCKERFILE.read_text() and " gcc " in DOCKERFILE.read_text()


@pytest.mark.slow
def test_the_copied_files_build_an_accelerated_metricsd(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for rel in build_stage_copies():
        origin = ROOT / rel
        if origin.is_dir():
            shutil.copytree(origin, src / rel, ignore=shutil.ignore_patterns(
                "__pycache__", "*.so", "*.pyc"))
        else:
            shutil.copy2(origin, src / rel)
    # A wheel, not an install: ``pip install --prefix`` would first uninstall the metricsd that
    # this very test environment runs.
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-cache-dir", "-w", str(wheels), str(src)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    (wheel,) = wheels.glob("metricsd-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "metricsd = metricsd.cli:main" in archive.read(entry_points).decode()
        archive.extractall(site)
    assert any(re.fullmatch(r"metricsd/scraper/_scan\..*\.so", n) for n in names)
    assert not any(n.startswith(("fakekubelet/", "fakeapiserver/", "scenarios/")) for n in names)
    check = subprocess.run(
        [sys.executable, "-S", "-c", "import sys; sys.path[:0] = [sys.argv[1]]; "
         "import metricsd.scraper.decode as d; print(d.ACCELERATED, d.__file__)", str(site)],
        env=dict(os.environ, METRICSD_PURE_PYTHON=""), cwd=tmp_path,
        check=True, capture_output=True, text=True, timeout=60,
    )
    accelerated, module_file = check.stdout.split()
    assert accelerated == "True"
    assert module_file.startswith(str(site))
