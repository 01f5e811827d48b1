"""kube-controller-manager's HPA settings: pflag parsing and texts, validation, the flags and
the scenario keys, and the case section reconcile gets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import podautoscaler
from fakeapiserver import cli
from fakeapiserver.controllers.hpaconfig import (
    SETTINGS,
    ConfigError,
    HPAControllerConfig,
    parse_feature_gates,
)
from podautoscaler import gotime

SYNC = "--horizontal-pod-autoscaler-sync-period"
TOL = "--horizontal-pod-autoscaler-tolerance"
WORKERS = "--concurrent-horizontal-pod-autoscaler-syncs"


def test_defaults_are_upstreams() -> None:
    c = HPAControllerConfig()
    assert (c.sync_period, c.tolerance, c.downscale_stabilization, c.cpu_initialization_period,
            c.initial_readiness_delay, c.concurrent_syncs) == (
        15 * gotime.SECOND, 0.1, 300 * gotime.SECOND, 300 * gotime.SECOND, 30 * gotime.SECOND, 5)
    assert [s.default for s in SETTINGS] == ["15s", "0.1", "5m0s", "5m0s", "30s", "5"]
    assert c.to_args() == []


@pytest.mark.parametrize(
    ("values", "attr", "expected"),
    [
        ({SYNC: "30s"}, "sync_period", 30 * gotime.SECOND),
        ({SYNC: "1m30s"}, "sync_period", 90 * gotime.SECOND),
        ({SYNC: "1.5s"}, "sync_period", 1_500_000_000),
        ({"horizontalPodAutoscalerSyncPeriod": "2s"}, "sync_period", 2 * gotime.SECOND),
        ({TOL: "0.05"}, "tolerance", 0.05),
        ({TOL: "1e-1"}, "tolerance", 0.1),
        ({TOL: ".5"}, "tolerance", 0.5),
        ({TOL: "3"}, "tolerance", 3.0),
        ({WORKERS: "10"}, "concurrent_syncs", 10),
        ({WORKERS: "0x10"}, "concurrent_syncs", 16),
        ({WORKERS: "010"}, "concurrent_syncs", 8),
        ({"horizontalPodAutoscalerDownscaleStabilizationWindow": "30s"},
         "downscale_stabilization", 30 * gotime.SECOND),
        ({"--horizontal-pod-autoscaler-cpu-initialization-period": "0"},
         "cpu_initialization_period", 0),
        ({"horizontalPodAutoscalerInitialReadinessDelay": "10s"}, "initial_readiness_delay",
         10 * gotime.SECOND),
    ],
)
def test_values_parse_as_pflag_does(values: dict[str, str], attr: str, expected: object) -> None:
    assert getattr(HPAControllerConfig.from_texts(values), attr) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({SYNC: "15"}, 'invalid argument "15" for "--horizontal-pod-autoscaler-sync-period" '
         'flag: time: missing unit in duration "15"'),
        ({SYNC: "5x"}, 'invalid argument "5x" for "--horizontal-pod-autoscaler-sync-period" '
         'flag: time: unknown unit "x" in duration "5x"'),
        ({SYNC: ""}, 'invalid argument "" for "--horizontal-pod-autoscaler-sync-period" flag:'
         ' time: invalid duration ""'),
        ({TOL: "abc"}, 'invalid argument "abc" for "--horizontal-pod-autoscaler-tolerance" '
         'flag: strconv.ParseFloat: parsing "abc": invalid syntax'),
        ({TOL: "1_0"}, 'invalid argument "1_0" for "--horizontal-pod-autoscaler-tolerance" '
         'flag: strconv.ParseFloat: parsing "1_0": invalid syntax'),
        ({WORKERS: "five"}, 'invalid argument "five" for '
         '"--concurrent-horizontal-pod-autoscaler-syncs" flag: strconv.ParseInt: parsing '
         '"five": invalid syntax'),
        ({WORKERS: "3000000000"}, 'invalid argument "3000000000" for '
         '"--concurrent-horizontal-pod-autoscaler-syncs" flag: strconv.ParseInt: parsing '
         '"3000000000": value out of range'),
        ({"--horizontal-pod-autoscaler-upscale-delay": "3m"},
         "unknown flag: --horizontal-pod-autoscaler-upscale-delay"),
    ],
)
def test_bad_values_are_refused_with_pflags_text(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        HPAControllerConfig.from_texts(values)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HPAConfigurableTolerance=true", {"HPAConfigurableTolerance": True}),
        ("HPAConfigurableTolerance=T, PodLevelResources=0",
         {"HPAConfigurableTolerance": True, "PodLevelResources": False}),
        ("", {}),
    ],
)
def test_feature_gates(text: str, expected: dict[str, bool]) -> None:
    assert parse_feature_gates(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("HPAConfigurableTolerance", 'invalid argument "HPAConfigurableTolerance" for '
         '"--feature-gates" flag: missing bool value for HPAConfigurableTolerance'),
        ("HPAConfigurableTolerance=yes", 'invalid argument "HPAConfigurableTolerance=yes" for '
         '"--feature-gates" flag: invalid value of HPAConfigurableTolerance=yes, err: '
         'strconv.ParseBool: parsing "yes": invalid syntax'),
    ],
)
def test_bad_feature_gates(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_feature_gates(text)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("config", "version", "message"),
    [
        (HPAControllerConfig(concurrent_syncs=0), (1, 30),
         "concurrent-horizontal-pod-autoscaler-syncs must be greater than 0, but got 0"),
        (HPAControllerConfig(sync_period=0), (1, 30),
         "horizontal-pod-autoscaler-sync-period must be greater than 0, but got 0s"),
        (HPAControllerConfig(feature_gates={"HPAConfigurableTolerance": True}), (1, 32),
         'invalid argument "HPAConfigurableTolerance=true" for "--feature-gates" flag: '
         "unrecognized feature gate: HPAConfigurableTolerance"),
        (HPAControllerConfig(feature_gates={"SomethingElse": False}), (1, 33),
         'invalid argument "SomethingElse=false" for "--feature-gates" flag: unrecognized '
         "feature gate: SomethingElse"),
    ],
)
def test_validate(config: HPAControllerConfig, version: tuple[int, int], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.validate(version)
    assert str(err.value) == message


def test_gates_known_at_the_version_pass() -> None:
    HPAControllerConfig(feature_gates={"HPAConfigurableTolerance": True}).validate((1, 33))
    HPAControllerConfig(feature_gates={"PodLevelResources": True}).validate((1, 32))


def test_args_round_trip_and_reach_reconcile() -> None:
    config = HPAControllerConfig.from_texts(
        {SYNC: "30s", TOL: "0.05", "--horizontal-pod-autoscaler-downscale-stabilization": "1m",
         WORKERS: "2"}, "HPAConfigurableTolerance=true")
    args = config.to_args()
    assert args == ["--horizontal-pod-autoscaler-sync-period=30s",
                    "--horizontal-pod-autoscaler-tolerance=0.05",
                    "--horizontal-pod-autoscaler-downscale-stabilization=1m0s",
                    "--concurrent-horizontal-pod-autoscaler-syncs=2",
                    "--feature-gates=HPAConfigurableTolerance=true"]
    parsed = cli.parse_args(["--state-dir", "/nonexistent", "--kube-version", "1.33", *args])
    assert cli.hpa_config(parsed) == config
    section = config.case_controller((1, 33))
    assert section == {"syncPeriod": "30s", "tolerance": 0.05,
                       "cpuInitializationPeriod": "5m0s", "initialReadinessDelay": "30s",
                       "downscaleStabilization": "1m0s", "kubeVersion": "1.33",
                       "featureGates": {"HPAConfigurableTolerance": True}}
    # reconcile accepts it (its own parser is the judge)
    podautoscaler.reconcile({"now": "2025-06-01T12:00:00Z", "controller": section,
                             "hpa": {"metadata": {"name": "h", "namespace": "d"},
                                     "spec": {"scaleTargetRef": {"kind": "Deployment",
                                                                 "name": "w",
                                                                 "apiVersion": "apps/v1"},
                                              "maxReplicas": 3}},
                             "scale": "not found"})


def test_cli_refuses_bad_hpa_flags_in_one_line() -> None:
    parsed = cli.parse_args(["--state-dir", "/x", "--kube-version", "1.30",
                             "--feature-gates", "HPAConfigurableTolerance=true"])
    with pytest.raises(cli.UsageError) as err:
        cli.hpa_config(parsed)
    assert str(err.value) == ('invalid argument "HPAConfigurableTolerance=true" for '
                              '"--feature-gates" flag: unrecognized feature gate: '
                              "HPAConfigurableTolerance")


@given(st.integers(min_value=1, max_value=10**13))
def test_durations_round_trip_through_the_flags(ns: int) -> None:
    config = HPAControllerConfig(sync_period=ns)
    assert HPAControllerConfig.from_texts(
        dict(a.split("=", 1) for a in config.to_args())) == config
