"""The upstream server option: finding the peer, the schema key, the runner flag, the backend.

A missing peer must be an error with the way out in its message, never a quiet run of
metricsd in its place.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from scenarios.backends.base import BackendUnreachable
from scenarios.backends.kind import KindBackend
from scenarios.backends.sim import SimBackend
from scenarios.cli import main
from scenarios.peers import PEER_ENV, PeerMissing, metrics_server_binary, metrics_server_path
from scenarios.schema import Scenario, load_scenario
from scenarios.yamlschema import SchemaError
from tests.unit.scenarios.test_runner import SCENARIO, ScriptedBackend

ROOT = Path(__file__).resolve().parents[3]


def build_script() -> ModuleType:
    """peers/build.py, loaded by path (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("peers_build", ROOT / "peers" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["peers_build"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("env", [
    {"HOME": "/home/u"},
    {"HOME": "/home/u", "XDG_CACHE_HOME": "/var/cache/u"},
    {"HOME": "/home/u", "XDG_CACHE_HOME": ""},
])
def test_the_runner_looks_where_the_build_script_puts_it(env: dict[str, str]) -> None:
    build = build_script()
    expected = build.binary_path(build.PEERS["metrics-server"], env)
    assert metrics_server_path(env) == expected
    assert str(expected).endswith("/metricsd/peers/metrics-server-v0.7.1/metrics-server")
    assert metrics_server_path({**env, PEER_ENV: "/opt/ms"}) == Path("/opt/ms")


def test_a_missing_peer_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(PeerMissing) as info:
        metrics_server_binary({"HOME": str(tmp_path)})
    text = str(info.value)
    assert text.startswith("the real metrics-server v0.7.1 (the test peer) is not built: "
                           f"{tmp_path}/.cache/metricsd/peers/metrics-server-v0.7.1/"
                           "metrics-server (peers/build.py's cache) is not an executable file")
    assert "python3 peers/build.py" in text and PEER_ENV in text
    not_executable = tmp_path / "ms"
    not_executable.write_text("")
    with pytest.raises(PeerMissing, match=rf"\(\${PEER_ENV}\) is not an executable file"):
        metrics_server_binary({PEER_ENV: str(not_executable)})
    not_executable.chmod(0o755)
    assert metrics_server_binary({PEER_ENV: str(not_executable)}) == not_executable


def scenario(tmp_path: Path, server: str | None = None) -> Scenario:
    text = SCENARIO.format(name="peer")
    if server is not None:
        text = text.replace("metricsd:\n", f"metricsd:\n  server: {server}\n")
    return load_scenario(tmp_path / "s.yaml", text=text)


def test_the_schema_key(tmp_path: Path) -> None:
    assert scenario(tmp_path).metricsd["server"] == "metricsd"
    assert scenario(tmp_path, "upstream").metricsd["server"] == "upstream"
    bare = load_scenario("s.yaml", text=textwrap.dedent("""\
        name: x
        description: d
        cluster: {}
        steps: [{sleep: 1s}]
        """))
    assert bare.metricsd["server"] == "metricsd"
    with pytest.raises(SchemaError) as info:
        scenario(tmp_path, "prometheus")
    assert str(info.value).endswith(
        "metricsd.server: expected one of metricsd, upstream, got 'prometheus'")


class Recording(ScriptedBackend):
    servers: list[str] = []

    def __init__(self, scenario: Scenario, artifacts: Path, slot: int) -> None:
        super().__init__(scenario, artifacts, slot)
        Recording.servers.append(scenario.metricsd["server"])


def run(tmp_path: Path, *extra: str) -> int:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(name="peer"))
    Recording.servers = []
    return main(["run", "--artifacts", str(tmp_path / "art"), *extra, str(path)],
                factory=Recording)


def _fake_peer(peer: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An executable at ``peer`` (never run here) that $PEER_ENV points the runner at."""
    peer.parent.mkdir(parents=True, exist_ok=True)
    peer.write_text("#!/bin/sh\n")
    peer.chmod(0o755)
    monkeypatch.setenv(PEER_ENV, str(peer))
    return peer


def test_server_flag_without_the_peer_is_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PEER_ENV, str(tmp_path / "nothing-here"))
    assert run(tmp_path, "--server", "upstream") == 2
    err = capsys.readouterr().err
    assert err.startswith("scenarios: --server upstream: the real metrics-server v0.7.1")
    assert Recording.servers == []  # nothing was started, metricsd least of all


def test_server_flag_overrides_the_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_peer(tmp_path / "metrics-server", monkeypatch)
    assert run(tmp_path, "--server", "upstream") == 0
    assert Recording.servers == ["upstream"]
    assert "[peer] starting on sim with the real metrics-server" in capsys.readouterr().out
    assert run(tmp_path) == 0
    assert Recording.servers == ["metricsd"]
    assert run(tmp_path, "--server", "upstream", "--backend", "kind") == 2
    assert "runs on the sim backend only" in capsys.readouterr().err


def test_the_sim_backend_maps_every_metricsd_image_to_the_peer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    peer = _fake_peer(tmp_path / "bin dir" / "metrics-server", monkeypatch)
    assert SimBackend(scenario(tmp_path), tmp_path / "a").local_image_args() == []
    flags = SimBackend(scenario(tmp_path, "upstream"), tmp_path / "a").local_image_args()
    quoted = f"'{peer}'"
    assert flags == [f"--local-image={p}={quoted}" for p in (
        "metricsd", "metricsd:*", "metricsd@*", "*/metricsd", "*/metricsd:*",
        "*metrics-server*")]
    monkeypatch.setenv(PEER_ENV, str(tmp_path / "gone"))
    with pytest.raises(BackendUnreachable, match="is not an executable file"):
        SimBackend(scenario(tmp_path, "upstream"), tmp_path / "a").local_image_args()


async def test_the_kind_backend_refuses_the_upstream_server(tmp_path: Path) -> None:
    backend = KindBackend(scenario(tmp_path, "upstream"), tmp_path / "a")
    with pytest.raises(BackendUnreachable, match="sim backend only"):
        await backend.start()


def test_the_fakeapiserver_flag_accepts_what_the_backend_passes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quoted path (spaces and all) splits back into the one executable."""
    from fakeapiserver.cli import parse_args

    peer = _fake_peer(tmp_path / "bin dir" / "metrics-server", monkeypatch)
    flags = SimBackend(scenario(tmp_path, "upstream"), tmp_path / "a").local_image_args()
    args = parse_args(["--state-dir", str(tmp_path / "s"), *flags])
    assert args.local_image[-1] == ("*metrics-server*", [str(peer)])


def test_tests_skip_without_the_peer_and_fail_when_it_is_required(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests import peers

    monkeypatch.setenv(PEER_ENV, str(tmp_path / "gone"))
    monkeypatch.delenv(peers.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"python3 peers/build\.py"):
        peers.metrics_server_binary()
    monkeypatch.setenv(peers.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="METRICSD_REQUIRE_PEERS=1: the real"):
        peers.metrics_server_binary()
