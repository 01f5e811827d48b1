"""The test peers for tests: the real metrics-server built by ``peers/build.py``.

``metrics_server_binary()`` returns the binary, or skips the test when it is not built —
unless ``METRICSD_REQUIRE_PEERS=1`` (tox and CI set it), where a missing peer fails the test
instead, as ``METRICSD_REQUIRE_ACCEL`` does for the decoder's accelerator. The lookup itself
is ``scenarios.peers`` (the runner's ``--server upstream`` uses the same one).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scenarios.peers import METRICS_SERVER_VERSION, PEER_ENV, PeerMissing, metrics_server_path
from scenarios.peers import metrics_server_binary as _locate

REQUIRE_ENV = "METRICSD_REQUIRE_PEERS"


def peers_required() -> bool:
    return os.environ.get(REQUIRE_ENV) == "1"


def metrics_server_binary() -> Path:
    """The real metrics-server v0.7.1; skip (or fail under METRICSD_REQUIRE_PEERS=1)."""
    try:
        return _locate()
    except PeerMissing as err:
        if peers_required():
            pytest.fail(f"{REQUIRE_ENV}=1: {err}", pytrace=False)
        pytest.skip(str(err))


__all__ = ["METRICS_SERVER_VERSION", "PEER_ENV", "REQUIRE_ENV", "metrics_server_binary",
           "metrics_server_path", "peers_required"]
