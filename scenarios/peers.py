"""Where the test peer — the real metrics-server, built by ``peers/build.py`` — is found.

The scenarios can run against upstream metrics-server v0.7.1 instead of metricsd
(``metricsd: {server: upstream}`` in a file, ``--server upstream`` on the command line): the
simulated control plane then maps the manifests' image to the peer binary. The binary is
built once per machine by ``python3 peers/build.py`` into
``${XDG_CACHE_HOME:-~/.cache}/metricsd/peers/metrics-server-v0.7.1/metrics-server`` (that
script owns the build and its stamp; this module only finds the result, and a test checks
that both name the same path). ``METRICSD_PEER_METRICS_SERVER`` points elsewhere.

A missing peer is an error (:class:`PeerMissing`), never a silent fallback to metricsd.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: The upstream release the peer is (and metricsd imitates).
METRICS_SERVER_VERSION = "v0.7.1"
#: An explicit path to a metrics-server binary, instead of peers/build.py's cache.
PEER_ENV = "METRICSD_PEER_METRICS_SERVER"
#: The server a scenario runs: ours, or the real one.
SERVERS = ("metricsd", "upstream")


class PeerMissing(RuntimeError):
    """The peer binary is not there (the message says how to build it)."""


def metrics_server_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the peer is expected (it may not exist)."""
    env = os.environ if env is None else env
    if env.get(PEER_ENV):
        return Path(env[PEER_ENV])
    cache = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or str(Path.home()),
                                                       ".cache")
    return (Path(cache) / "metricsd" / "peers" / f"metrics-server-{METRICS_SERVER_VERSION}"
            / "metrics-server")


def metrics_server_binary(env: Mapping[str, str] | None = None) -> Path:
    """The peer binary, or :class:`PeerMissing` saying how to get it."""
    path = metrics_server_path(env)
    if not path.is_file() or not os.access(path, os.X_OK):
        source = f"${PEER_ENV}" if (os.environ if env is None else env).get(PEER_ENV) else (
            "peers/build.py's cache")
        raise PeerMissing(
            f"the real metrics-server {METRICS_SERVER_VERSION} (the test peer) is not built: "
            f"{path} ({source}) is not an executable file; build it with "
            "`python3 peers/build.py` (needs Go ≥ 1.21 and the Go module proxy; see "
            f"docs/peers.md) or set {PEER_ENV}")
    return path
