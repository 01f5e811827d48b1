"""The sim backend starts fakeapiserver with the scenario's cluster settings as flags."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from fakeapiserver.cli import hpa_config, parse_args
from scenarios.backends.sim import SimBackend
from scenarios.schema import load_scenario

SCENARIO = """\
name: hpa-walkthrough
description: the walkthrough's HPA part with a short downscale stabilization
cluster:
  kubernetesVersion: "1.33"
  frontProxy: untrusted
  controllerManager:
    horizontalPodAutoscalerDownscaleStabilizationWindow: 30s
    horizontalPodAutoscalerSyncPeriod: 5s
    featureGates: {HPAConfigurableTolerance: true}
steps:
- sleep: 1s
"""


def test_fakeapiserver_flags_from_the_scenario(tmp_path: Path) -> None:
    scenario = load_scenario(tmp_path / "s.yaml", text=textwrap.dedent(SCENARIO))
    backend = SimBackend(scenario, tmp_path / "artifacts")
    argv = backend.apiserver_argv(tmp_path / "fleet.yaml")
    assert argv[:3] == [sys.executable, "-m", "fakeapiserver"]
    assert argv[3:] == [
        "--state-dir", str(tmp_path / "artifacts" / "state"),
        "--fleet-config", str(tmp_path / "fleet.yaml"), "--kube-version", "1.33",
        "--untrusted-front-proxy-client",
        "--horizontal-pod-autoscaler-sync-period=5s",
        "--horizontal-pod-autoscaler-downscale-stabilization=30s",
        "--feature-gates=HPAConfigurableTolerance=true"]
    # and fakeapiserver's own parser takes them
    config = hpa_config(parse_args(argv[3:]))
    assert config.sync_period_seconds == 5.0
    assert config.downscale_stabilization == 30 * 10**9
    assert config.feature_gates == {"HPAConfigurableTolerance": True}
