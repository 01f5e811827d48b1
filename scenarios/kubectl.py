"""Finds the real kubectl binaries installed beside the dispatcher on PATH.

The `kubectl` on PATH is a version dispatcher; tests call `kubectl.1.NN` directly so that the
version under test never depends on what a server reports.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

#: The kubectl a scenario uses when nothing chooses one (`kubectl: default`, the demo).
DEFAULT_KUBECTL = "1.30"


def kubectl_dir() -> Path | None:
    """Directory holding `kubectl.1.NN` (beside the resolved `kubectl`), or $KUBECTL_DIR."""
    override = os.environ.get("KUBECTL_DIR")
    if override:
        return Path(override)
    found = shutil.which("kubectl")
    if not found:
        return None
    return Path(os.path.realpath(found)).parent


def kubectl_versions() -> list[str]:
    """Installed minor versions, e.g. ``["1.27", ..., "1.33"]``, oldest first."""
    directory = kubectl_dir()
    if directory is None or not directory.is_dir():
        return []
    versions = []
    for entry in directory.iterdir():
        match = re.fullmatch(r"kubectl\.(1\.\d+)", entry.name)
        if match and os.access(entry, os.X_OK):
            versions.append(match.group(1))
    return sorted(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def kubectl_binary(version: str) -> str:
    """Path of ``kubectl.<version>``."""
    directory = kubectl_dir()
    assert directory is not None, "no kubectl on PATH"
    return str(directory / f"kubectl.{version}")
