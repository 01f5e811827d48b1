"""How SimCluster composes the parts: metricsd's arguments, the control plane's clock hook."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path

import pytest
import yaml

from fakeapiserver.cli import ControlPlane
from metricsd.options import parse_args, validate
from scenarios.simtime.cluster import MANIFEST_ARGS, SimCluster

REPO = Path(__file__).resolve().parents[3]


def test_metricsd_runs_with_the_manifests_arguments() -> None:
    doc = yaml.safe_load((REPO / "kind/manifests/base/deployment.yaml").read_text())
    container = doc["spec"]["template"]["spec"]["containers"][0]
    assert tuple(container["args"]) == MANIFEST_ARGS


def test_metricsd_argv_keeps_the_manifest_and_sets_this_runs_paths(tmp_path: Path) -> None:
    c = SimCluster("unused.yaml", resolution=30, metricsd_args=("--kubelet-insecure-tls",))
    c.state_dir = tmp_path
    argv = c.metricsd_argv("127.9.8.7", 10250)
    assert argv == [
        "--kubelet-use-node-status-port",
        f"--cert-dir={tmp_path / 'metricsd-certs'}",
        "--secure-port=10250",
        "--bind-address=127.9.8.7",
        f"--kubeconfig={tmp_path / 'metrics-server.kubeconfig'}",
        "--metric-resolution=30s",
        "--kubelet-preferred-address-types=InternalIP",
        "--kubelet-insecure-tls",
    ]
    options, _ = parse_args(argv)
    assert validate(options) is None
    assert options.metric_resolution_seconds == 30
    assert tuple(options.kubelet_preferred_address_types) == ("InternalIP",)


def test_simcluster_refuses_a_loop_without_virtual_time() -> None:
    async def main() -> None:
        async with SimCluster("unused.yaml"):
            pass

    with pytest.raises(RuntimeError, match=r"scenarios\.simtime\.run"):
        asyncio.run(main())


class FixedClock:
    """A control-plane clock (localpods' shape) stopped at 2001-09-09T01:46:40Z."""

    def now(self) -> float:
        return 1_000_000_000.0

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


async def test_control_plane_clock_stamps_objects_and_times_the_kubelet_caches(
    tmp_path: Path,
) -> None:
    plane = ControlPlane(tmp_path, local_clock=FixedClock())
    await plane.start()
    try:
        created = plane.store.create("configmaps", {"metadata": {"name": "x"}}, "default")
        assert created["metadata"]["creationTimestamp"] == "2001-09-09T01:46:40Z"
        token = plane.register_metrics_server("127.0.0.1", 4443)
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert claims["iat"] == 1_000_000_000  # tokens are issued on the same clock
        assert plane.clock is not None and plane.clock() == 1_000_000_000.0  # → Fleet(auth_clock)
    finally:
        await plane.stop()
    default = ControlPlane(tmp_path / "default")
    assert default.server.clock is time.time and default.clock is None  # defaults unchanged


def test_the_probe_cli_rejects_bad_input_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from scenarios.simtime.driver import main

    assert main([str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("simtime: error: ") and "missing.yaml" in err
    assert err.count("\n") == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodeGroups:\n  - name: n\n    count: two\n")
    assert main([str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:3" in err and "count" in err
    with pytest.raises(SystemExit) as exit_info:
        main([str(bad), "--duration", "0"])
    assert exit_info.value.code == 2
    assert "--duration: must be > 0" in capsys.readouterr().err
