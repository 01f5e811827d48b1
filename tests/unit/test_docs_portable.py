"""The repository's text stands on its own: commands anyone can paste, sources anyone can open.

Docs, READMEs, docstrings and comments once pointed at this development machine (a fixed
virtualenv and checkout under ``/work``) and at fact sheets that are not part of the repository
(``shared/reference/…``, "reference §3.2"). A user of a clone has neither: commands are written
to run from a clone's root, and facts cite the upstream file or page they come from.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = {".md", ".py", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".sh", ".txt", ".c", ".go"}
NAMES = {"Dockerfile", "Makefile"}
SKIP_DIRS = {"build", "dist", "__pycache__", "node_modules", "artifacts", "state", "out"}

#: (what, pattern). Built from pieces so this file does not match itself.
RULES = [
    ("a path on the development machine", re.compile("/" + r"work/")),
    ("the private fact sheets", re.compile("shared" + r"/reference")),
    ("a fact-sheet section sign", re.compile("§")),
    ("a fact-sheet file", re.compile(
        "reference" + r"/(?:metrics-server|kubectl-and-aggregation|hpa)\.md")),
]


def candidates() -> list[Path]:
    """The repository's own files: git's list when there is one (so run artifacts, which hold
    this machine's paths by design, are not scanned), else a walk without build output."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                                check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return sorted(ROOT.rglob("*"))
    return sorted(ROOT / name for name in listed.decode().split("\0") if name)


def text_files() -> list[Path]:
    out = []
    for path in candidates():
        rel = path.relative_to(ROOT)
        if any(part.startswith(".") or part in SKIP_DIRS or part.endswith(".egg-info")
               for part in rel.parts[:-1]):
            continue
        if path.is_file() and (path.suffix in SUFFIXES or path.name in NAMES):
            out.append(path)
    return out


def test_the_scan_covers_docs_code_and_manifests() -> None:
    names = {str(p.relative_to(ROOT)) for p in text_files()}
    assert {"README.md", "docs/performance.md", "bench/README.md", "metricsd/server.py",
            "kind/Dockerfile", "examples/fleet-faults.yaml"} <= names


@pytest.mark.parametrize(("what", "pattern"), RULES, ids=[w for w, _ in RULES])
def test_no_text_points_where_a_user_cannot_follow(what: str, pattern: re.Pattern[str]) -> None:
    hits = []
    for path in text_files():
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            if pattern.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert hits == [], f"{what}:\n" + "\n".join(hits)
