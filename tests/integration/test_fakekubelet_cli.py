"""The fakekubelet CLI contract, run as a real process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from fakekubelet.addresses import free_loopback_base
from fakekubelet.certs import KeyPair, client_ssl_context

START_TIMEOUT = 60.0


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fakekubelet", *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_serves_writes_state_and_stops_on_sigterm(tmp_path: Path) -> None:
    base = free_loopback_base(2, 10250)
    state = tmp_path / "state"
    proc = await _start(
        "--nodes", "2", "--pods-per-node", "3", "--cert-mode", "ca-signed",
        "--state-dir", str(state), "--address-base", base, "--seed", "4",
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)
        assert line == b"fakekubelet: 2 nodes listening\n", (await proc.stderr.read())[-2000:]
        # the state dir was complete before the line was printed
        assert {"ca.crt", "client.crt", "client.key", "nodes.json", "control.json"} <= set(
            os.listdir(state)
        )
        nodes = json.loads((state / "nodes.json").read_text())
        assert [n["address"] for n in nodes] == [base, base.rsplit(".", 1)[0] + ".2"]
        assert {(n["port"], n["certMode"]) for n in nodes} == {(10250, "ca-signed")}
        assert all(isinstance(n["name"], str) and n["name"] for n in nodes)
        control = json.loads((state / "control.json").read_text())

        client = KeyPair((state / "client.crt").read_bytes(), (state / "client.key").read_bytes())
        ctx = client_ssl_context((state / "ca.crt").read_bytes(), client)
        url = f"https://{nodes[0]['address']}:{nodes[0]['port']}/metrics/resource"
        async with aiohttp.ClientSession() as session:
            async with session.get(url, ssl=ctx) as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
                body = await resp.text()
            assert "node_cpu_usage_seconds_total" in body
            assert "container_cpu_usage_seconds_total" in body
            async with session.get(control["url"] + "/nodes") as resp:
                assert resp.status == 200
                listed = await resp.json()
            assert [n["name"] for n in listed] == [n["name"] for n in nodes]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
    assert code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--cert-mode", "bogus"],
            "fakekubelet: error: --cert-mode: expected one of ca-signed, no-ip-san, self-signed,"
            ' expired, not-yet-valid, wrong-ca, plain-http, got "bogus"',
        ),
        (["--nodes", "0"], 'fakekubelet: error: --nodes: expected a positive integer, got "0"'),
        (
            ["--address-base", "10.0.0.1"],
            "fakekubelet: error: --address-base: expected a loopback address in 127.0.0.0/8,"
            ' got "10.0.0.1"',
        ),
        (["--bogus-flag"], "fakekubelet: error: unrecognized arguments: --bogus-flag"),
    ],
)
async def test_bad_arguments_exit_2_with_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    proc = await _start("--state-dir", str(tmp_path / "s"), *args)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert out == b""
    assert err.decode().splitlines() == [message]


async def test_missing_state_dir_is_a_usage_error(tmp_path: Path) -> None:
    proc = await _start("--nodes", "1")
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert err.decode().splitlines() == [
        "fakekubelet: error: the following arguments are required: --state-dir"
    ]


async def test_bad_spec_exits_2_naming_file_and_path(tmp_path: Path) -> None:
    spec = tmp_path / "x.yaml"
    spec.write_text("nodeGroups:\n  - name: web\n    count: 1\n    certMode: bogus\n")
    proc = await _start("--config", str(spec), "--state-dir", str(tmp_path / "s"))
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    lines = err.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"fakekubelet: error: {spec}:")
    assert "nodeGroups[0].certMode" in lines[0] and "bogus" in lines[0]


async def test_help_shows_examples() -> None:
    proc = await _start("--help")
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    assert b"examples:" in out and b"--state-dir" in out


REPO = Path(__file__).resolve().parents[2]


async def test_config_file_with_flag_overrides_and_sigint(tmp_path: Path) -> None:
    base = free_loopback_base(2, 10250)
    state = tmp_path / "state"
    proc = await _start(
        "--config", str(REPO / "examples" / "fleet-small.yaml"), "--nodes", "2",
        "--state-dir", str(state), "--address-base", base,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)
        assert line == b"fakekubelet: 2 nodes listening\n", (await proc.stderr.read())[-2000:]
        nodes = json.loads((state / "nodes.json").read_text())
        assert len(nodes) == 2 and nodes[0]["address"] == base
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), 30)
    assert code == 0


async def test_address_in_use_exits_1_with_one_line(tmp_path: Path) -> None:
    base = free_loopback_base(2, 10250)
    second = base.rsplit(".", 1)[0] + ".2"
    server = await asyncio.start_server(lambda r, w: w.close(), second, 10250)
    try:
        proc = await _start("--nodes", "2", "--state-dir", str(tmp_path / "s"),
                            "--address-base", base)  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        server.close()
    assert proc.returncode == 1
    assert b"listening" not in out
    lines = err.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fakekubelet: error: cannot listen: ")
    assert second in lines[0]


def test_default_address_base_moves_off_a_busy_block() -> None:
    """Without --address-base, 127.1.0.1 is used when free, else a free block (a second cluster
    beside a running one); an explicit base is kept as given."""
    import socket

    from fakekubelet import cli as fk

    args = fk.parse_args(["--nodes", "2", "--state-dir", "/nonexistent-unused"])
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            busy.bind(("127.1.0.2", 10250))
            busy.listen()
        except OSError:
            pytest.skip("127.1.0.2:10250 is taken by something else already")
        moved = fk.build_cluster(args)
        assert "127.1.0.1" not in {n.address for n in moved.nodes.values()}
        explicit = fk.build_cluster(fk.parse_args(
            ["--nodes", "2", "--address-base", "127.1.0.1", "--state-dir", "/nonexistent"]))
        assert "127.1.0.1" in {n.address for n in explicit.nodes.values()}
