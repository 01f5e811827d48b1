"""The recording every differential test compares: both servers through every phase, once.

``METRICSD_DIFF_RECORDING=/path/recording.json`` replays a recording saved by an earlier run
(``<tmp>/differential/recording.json``, path printed at the end of the recording) instead of
starting the servers: quick iteration on the comparisons themselves.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from scenarios.kubectl import kubectl_versions
from tests.differential.record import Recording, record
from tests.peers import metrics_server_binary

REPLAY_ENV = "METRICSD_DIFF_RECORDING"


@pytest.fixture(scope="session")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    replay = os.environ.get(REPLAY_ENV)
    if replay:
        return Recording.load(Path(replay))
    binary = metrics_server_binary()  # skip, or fail under METRICSD_REQUIRE_PEERS=1
    directory = tmp_path_factory.mktemp("differential")

    def progress(line: str) -> None:
        print(line, file=sys.__stderr__, flush=True)

    recorded = asyncio.run(record(directory, binary, kubectl_versions(), progress))
    progress(f"differential: recording in {directory / 'recording.json'}")
    return recorded
