"""SimBackend.stop leaves nothing running, even when the control plane does not stop in time
or the stop itself is cancelled (a second Ctrl-C while the run is being stopped).

The control plane here is a stand-in process that starts a "pod" in a session of its own, as
fakeapiserver does, so that only an explicit kill reaches the pod.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakekubelet.processes import stat_fields
from scenarios.backends import sim
from scenarios.backends.sim import SimBackend, child_pids

PLANE = """
import signal, subprocess, sys, time
if sys.argv[1] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
pod = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"],
                       start_new_session=True, stdout=subprocess.DEVNULL)  # as a pod's log pipe
print(pod.pid, flush=True)
while True:
    time.sleep(1)
"""


def alive(pid: int) -> bool:
    """Running, i.e. neither gone nor a zombie waiting for its parent to read its status."""
    fields = stat_fields(pid)
    return fields is not None and fields[0] != "Z"


class Scenario:
    metricsd: dict[str, Any] = {"manifests": "kind/manifests/base"}
    cluster: dict[str, Any] = {}


async def drained(backend: SimBackend) -> None:
    """Read the stand-in's stdout to its end (SimBackend's drain task does so for the real one),
    so that its transport closes with the test's event loop still open."""
    assert backend.proc is not None and backend.proc.stdout is not None
    await backend.proc.stdout.read()


@pytest.fixture
def pods() -> Iterator[list[int]]:
    """The stand-in pods' PIDs, killed at teardown whatever the test's outcome."""
    started: list[int] = []
    yield started
    for pid in started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


async def backend_with_plane(tmp_path: Path, mode: str,
                             pods: list[int]) -> tuple[SimBackend, int]:
    backend = SimBackend(Scenario(), tmp_path)
    backend.proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PLANE, mode, stdout=asyncio.subprocess.PIPE,
        start_new_session=True)
    assert backend.proc.stdout is not None
    pod = int(await backend.proc.stdout.readline())
    pods.append(pod)
    assert child_pids(backend.proc.pid) == [pod]
    return backend, pod


async def test_a_control_plane_that_ignores_sigterm_is_killed_with_its_pods(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pods: list[int]) -> None:
    monkeypatch.setattr(sim, "STOP_TIMEOUT", 0.5)
    backend, pod = await backend_with_plane(tmp_path, "stubborn", pods)
    await backend.stop()
    assert backend.proc is not None and backend.proc.returncode == -signal.SIGKILL
    await drained(backend)
    for _ in range(100):  # the pod was reparented when its parent died; wait for the kill
        if not alive(pod):
            break
        await asyncio.sleep(0.05)
    assert not alive(pod)


async def test_a_cancelled_stop_still_stops_then_passes_the_cancellation_on(
        tmp_path: Path, pods: list[int]) -> None:
    backend, _ = await backend_with_plane(tmp_path, "obedient", pods)
    stopping = asyncio.ensure_future(backend.stop())
    await asyncio.sleep(0)  # SIGTERM sent, now waiting for the exit
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert backend.proc is not None and backend.proc.returncode is not None  # it stopped
    os.kill(pods[0], signal.SIGKILL)  # the stand-in does not stop its pod; fakeapiserver does
    await drained(backend)
