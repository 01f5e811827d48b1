"""Version strings: which upstream release metricsd imitates, and metricsd's own version.

``--version`` prints :data:`VERSION`, ``v0.7.1+metricsd.<package version>``: the upstream tag
first (what users and tools compare), our release as SemVer build metadata, so a parser that
reads the SemVer core still sees ``v0.7.1`` and nobody mistakes metricsd for the Go binary.
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata

__all__ = ["PACKAGE_VERSION", "UPSTREAM_BUILD_DATE", "UPSTREAM_COMMIT", "UPSTREAM_COMMIT_SHORT",
           "UPSTREAM_VERSION", "VERSION", "user_agent"]

UPSTREAM_VERSION = "v0.7.1"
#: upstream's v0.7.1 commit, as ``/version`` shows it (the Makefile's ``git rev-parse HEAD``)
UPSTREAM_COMMIT = "e78ebc4ffc86b2809f8831947562ac55ac3940eb"
#: the same, as client-go prints it in User-Agents (7 characters)
UPSTREAM_COMMIT_SHORT = UPSTREAM_COMMIT[:7]
#: ``/version``'s buildDate: the release commit's time, as the test peer is built
#: (docs/peer-deviations.md D2: the release image carries the time of its own build)
UPSTREAM_BUILD_DATE = "2024-03-26T15:40:10Z"


def _package_version() -> str:
    try:
        return metadata.version("metricsd")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "0.0.0"


PACKAGE_VERSION = _package_version()
VERSION = f"{UPSTREAM_VERSION}+metricsd.{PACKAGE_VERSION}"


def _go_arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)


def user_agent(component: str = "metrics-server") -> str:
    """client-go's User-Agent shape: ``<cmd>/<version> (<os>/<arch>) kubernetes/<commit>``."""
    return f"{component}/{VERSION} ({sys.platform}/{_go_arch()}) kubernetes/{UPSTREAM_COMMIT_SHORT}"
