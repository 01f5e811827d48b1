"""One state dir, one instance: a second fakekubelet or fakeapiserver on a state dir in use
exits 2 naming the holder's PID and leaves the running instance's files alone; the lock goes
with the holder's death; the sim backend never clears a state dir in use. Real processes."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from fakekubelet.addresses import free_loopback_base
from fakekubelet.statedir import LOCK_FILE, StateDirBusy, claim_state_dir

START_TIMEOUT = 90.0
READY = {"fakekubelet": b"fakekubelet: 1 nodes listening\n",
         "fakeapiserver": b"fakeapiserver: ready\n"}


async def start(prog: str, state: Path) -> asyncio.subprocess.Process:
    args = ["--state-dir", str(state), "--nodes", "1", "--pods-per-node", "1",
            "--address-base", free_loopback_base(1, 10250)]
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", prog, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


@pytest.fixture
async def holder(tmp_path: Path, request: pytest.FixtureRequest
                 ) -> AsyncIterator[tuple[asyncio.subprocess.Process, Path]]:
    prog = request.param
    state = tmp_path / "state"
    proc = await start(prog, state)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)
        assert line == READY[prog], (await proc.stderr.read())[-2000:]
        yield proc, state
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 60)


def digest(state: Path) -> dict[str, str]:
    """Every file of the state dir with its content hash (what a second instance must keep)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(state.iterdir()) if p.is_file()}


@pytest.mark.parametrize("holder", ["fakekubelet", "fakeapiserver"], indirect=True)
@pytest.mark.parametrize("second", ["fakekubelet", "fakeapiserver"])
async def test_second_instance_exits_2_and_keeps_the_first_ones_files(
        holder: tuple[asyncio.subprocess.Process, Path], second: str) -> None:
    proc, state = holder
    before = digest(state)
    other = await start(second, state)
    try:
        out, err = await asyncio.wait_for(other.communicate(), 30)
    finally:
        if other.returncode is None:  # the old behaviour: it started over the first one
            other.kill()
            await other.wait()
    assert other.returncode == 2
    assert out == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1, err
    assert lines[0] == (
        f"{second}: error: --state-dir: {state} is in use by another instance (PID {proc.pid}); "
        "stop it, or choose another directory with --state-dir")
    assert digest(state) == before
    assert proc.returncode is None  # the first one still runs


@pytest.mark.parametrize("holder", ["fakekubelet"], indirect=True)
async def test_the_lock_goes_with_the_holders_death(
        holder: tuple[asyncio.subprocess.Process, Path]) -> None:
    proc, state = holder
    proc.kill()  # no clean-up code runs: the kernel releases the lock
    await proc.wait()
    lock = claim_state_dir(state)
    try:
        assert (state / LOCK_FILE).read_text().strip() == str(os.getpid())
    finally:
        lock.release()


def test_claim_in_process_names_the_holder(tmp_path: Path) -> None:
    first = claim_state_dir(tmp_path / "d")
    try:
        with pytest.raises(StateDirBusy) as info:
            claim_state_dir(tmp_path / "d")
        assert info.value.pid == os.getpid()
        assert re.fullmatch(rf"{tmp_path / 'd'} is in use by another instance "
                            rf"\(PID {os.getpid()}\)", str(info.value))
    finally:
        first.release()
    claim_state_dir(tmp_path / "d").release()  # free again


def test_clear_keeps_only_the_lock(tmp_path: Path) -> None:
    state = tmp_path / "s"
    (state / "sub").mkdir(parents=True)
    (state / "sub" / "x").write_text("x")
    (state / "ca.crt").write_text("old")
    with claim_state_dir(state) as lock:
        lock.clear()
        assert sorted(os.listdir(state)) == [LOCK_FILE]


@pytest.mark.parametrize("holder", ["fakeapiserver"], indirect=True)
async def test_sim_backend_does_not_clear_a_state_dir_in_use(
        holder: tuple[asyncio.subprocess.Process, Path], tmp_path: Path) -> None:
    from scenarios.backends.base import BackendUnreachable
    from scenarios.backends.sim import SimBackend

    proc, state = holder
    before = digest(state)
    scenario = SimpleNamespace(cluster={"fleet": {"nodes": 1}}, path=str(tmp_path / "x.yaml"),
                               metricsd={"manifests": "kind/manifests/base"},
                               name="x")
    backend = SimBackend(scenario, state.parent)  # its state dir is <artifacts>/state
    assert backend.state == state
    try:
        with pytest.raises(BackendUnreachable) as info:
            await backend.start()
    finally:
        await backend.stop()
    assert f"(PID {proc.pid})" in str(info.value)
    assert digest(state) == before
    assert backend.proc is None  # nothing was started
