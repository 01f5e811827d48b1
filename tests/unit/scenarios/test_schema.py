"""Scenario files are validated on load; errors name file, line, path and the expected shape."""

from __future__ import annotations

import textwrap

import pytest

from scenarios.schema import load_scenario, parse_seconds
from scenarios.yamlschema import SchemaError

GOOD = """\
name: insecure-tls-fix
description: add --kubelet-insecure-tls and kubectl top works
kubectl: all
cluster:
  kubernetesVersion: "1.30"
  fleet:
    nodeGroups:
    - {name: node, count: 1}
metricsd:
  args:
    add: [--kubelet-insecure-tls]
steps:
- install: {}
- wait: {apiservice: {available: "True", reason: Passed}}
  timeout: 90s
- kubectl:
    args: [top, nodes]
  expect:
    exitCode: 0
    top: {rowCount: 1}
- kubectl: {args: [top, pods]}
  only: sim
  expect:
    stderr: {contains: nothing, regex: "^$"}
- sleep: 1500ms
"""


def load(text: str) -> object:
    return load_scenario("s.yaml", text=textwrap.dedent(text))


def error(text: str) -> str:
    with pytest.raises(SchemaError) as info:
        load(text)
    return str(info.value)


def test_good_scenario_loads_with_defaults() -> None:
    s = load_scenario("s.yaml", text=GOOD)
    assert s.name == "insecure-tls-fix"
    assert s.backends == ("sim", "kind")
    assert s.kubectl == "all"
    assert s.metricsd["manifests"] == "kind/manifests/base"
    assert s.metricsd["args"] == {"add": ["--kubelet-insecure-tls"], "remove": [], "set": {}}
    kinds = [step["kind"] for step in s.steps]
    assert kinds == ["install", "wait", "kubectl", "kubectl", "sleep"]
    assert s.steps[1]["timeout"] == 90.0
    assert s.steps[3]["expect"]["stderr"] == {"contains": ["nothing"], "regex": ["^$"]}
    assert s.steps[4]["sleep"] == 1.5


def test_unknown_top_level_key() -> None:
    msg = error(GOOD + "bogus: 1\n")
    assert msg.startswith("s.yaml:26: bogus: unknown key; expected one of name, description")


def test_wrong_type_names_the_path_and_line() -> None:
    msg = error(GOOD.replace("args: [top, nodes]", "args: top nodes"))
    assert msg == (
        "s.yaml:17: steps[2].kubectl.args: expected a list of a string, got 'top nodes'"
    )


def test_step_with_two_kinds() -> None:
    msg = error(GOOD.replace("- sleep: 1500ms", "- sleep: 1s\n  install: {}"))
    assert msg.startswith("s.yaml:25: steps[4]: expected exactly one of install, uninstall")
    assert msg.endswith("found install, sleep") or msg.endswith("found sleep, install")


def test_unknown_step_kind() -> None:
    msg = error(GOOD.replace("- sleep: 1500ms", "- snooze: 1s"))
    assert "s.yaml:25: steps[4]: expected exactly one of install" in msg and "found none" in msg


def test_missing_required_keys() -> None:
    assert "missing required key 'description'" in error(
        "name: x\ncluster: {}\nsteps: [{sleep: 1s}]\n"
    )
    assert error("name: x\ndescription: d\ncluster: {}\nsteps: []\n").endswith(
        "steps: expected at least 1 item(s)"
    )


def test_wait_needs_exactly_one_condition() -> None:
    msg = error(GOOD.replace("- wait: {apiservice", "- wait: {scrapes: 2, apiservice"))
    assert "steps[1].wait: give exactly one of apiservice, pod, probe, log, scrapes" in msg


def test_bad_values() -> None:
    assert "expected a duration such as 500ms" in error(GOOD.replace("90s", "ninety"))
    assert "expected one of True, False, Unknown, got 'yes'" in error(
        GOOD.replace('available: "True"', "available: 'yes'")
    )
    assert "not a regular expression" in error(GOOD.replace('regex: "^$"', 'regex: "("'))
    assert "expected an integer >= 0 and <= 255, got 300" in error(
        GOOD.replace("exitCode: 0", "exitCode: 300")
    )


def test_not_yaml_and_empty() -> None:
    assert error("name: [unclosed\n").startswith("s.yaml:2: <document>: not valid YAML")
    assert error("") == "s.yaml:1: <document>: the file is empty"


def test_unreadable_file(tmp_path: object) -> None:
    with pytest.raises(SchemaError, match="cannot read file"):
        load_scenario("/nonexistent/scenario.yaml")


@pytest.mark.parametrize(
    ("text", "seconds"), [("15s", 15.0), ("500ms", 0.5), ("1m30s", 90.0), ("2h", 7200.0)]
)
def test_parse_seconds(text: str, seconds: float) -> None:
    assert parse_seconds(text) == seconds


HPA = """\
name: hpa
description: the HPA with a short stabilization
cluster:
  kubernetesVersion: "{version}"
  controllerManager:
{settings}
steps:
- sleep: 1s
"""


def hpa_scenario(settings: str, version: str = "1.33") -> object:
    body = textwrap.indent(textwrap.dedent(settings), "    ")
    return load_scenario("s.yaml", text=HPA.format(version=version, settings=body))


def test_controller_manager_settings_become_fakeapiserver_flags() -> None:
    from scenarios.schema import controller_manager_args

    s = hpa_scenario("""\
        horizontalPodAutoscalerSyncPeriod: 5s
        horizontalPodAutoscalerDownscaleStabilizationWindow: 30s
        horizontalPodAutoscalerTolerance: 0.05
        concurrentHorizontalPodAutoscalerSyncs: 2
        featureGates: {HPAConfigurableTolerance: true}
        """)
    assert controller_manager_args(s.cluster) == [  # type: ignore[attr-defined]
        "--horizontal-pod-autoscaler-sync-period=5s",
        "--horizontal-pod-autoscaler-tolerance=0.05",
        "--horizontal-pod-autoscaler-downscale-stabilization=30s",
        "--concurrent-horizontal-pod-autoscaler-syncs=2",
        "--feature-gates=HPAConfigurableTolerance=true"]
    assert controller_manager_args(load_scenario("s.yaml", text=GOOD).cluster) == []


@pytest.mark.parametrize(("settings", "version", "message"), [
    ("horizontalPodAutoscalerSyncPeriod: 15\n", "1.33",
     "s.yaml:6: cluster.controllerManager.horizontalPodAutoscalerSyncPeriod: expected a Go "
     'duration such as 15s or 1m30s: time: missing unit in duration "15"'),
    ("horizontalPodAutoscalerTolerance: lots\n", "1.33",
     "s.yaml:6: cluster.controllerManager.horizontalPodAutoscalerTolerance: expected a number "
     'such as 0.1: strconv.ParseFloat: parsing "lots": invalid syntax'),
    ("horizontalPodAutoscalerSyncPeriods: 15s\n", "1.33",
     "s.yaml:6: cluster.controllerManager.horizontalPodAutoscalerSyncPeriods: unknown key; "
     "expected one of horizontalPodAutoscalerSyncPeriod,"),
    ("concurrentHorizontalPodAutoscalerSyncs: 0\n", "1.33",
     "s.yaml:6: cluster.controllerManager: concurrent-horizontal-pod-autoscaler-syncs must be "
     "greater than 0, but got 0"),
    ("featureGates: {HPAConfigurableTolerance: true}\n", "1.32",
     'cluster.controllerManager: invalid argument "HPAConfigurableTolerance=true" for '
     '"--feature-gates" flag: unrecognized feature gate: HPAConfigurableTolerance'),
    ("featureGates: {HPAConfigurableTolerance: yes please}\n", "1.33",
     "s.yaml:6: cluster.controllerManager.featureGates.HPAConfigurableTolerance: expected true "
     "or false"),
])
def test_bad_controller_manager_settings(settings: str, version: str, message: str) -> None:
    with pytest.raises(SchemaError) as info:
        hpa_scenario(settings, version)
    assert message in str(info.value)


def test_once_cannot_ask_for_every_kubectl() -> None:
    msg = error(GOOD.replace("args: [top, nodes]", "args: [top, nodes]\n    once: true\n"
                             "    version: all"))
    assert msg == ("s.yaml:17: steps[2].kubectl: once runs one kubectl: it cannot be "
                   "combined with version: all")
    once = load(GOOD.replace("args: [top, nodes]", "args: [top, nodes]\n    once: true"))
    assert once.steps[2]["kubectl"]["once"] is True  # type: ignore[attr-defined]
    assert load(GOOD).steps[3]["kubectl"]["once"] is False  # type: ignore[attr-defined]


def test_regex_takes_a_list_every_item_checked() -> None:
    listed = load(GOOD.replace('regex: "^$"', 'regex: ["^$", "a+"]'))
    assert listed.steps[3]["expect"]["stderr"]["regex"] == ["^$", "a+"]  # type: ignore[attr-defined]
    assert error(GOOD.replace('regex: "^$"', 'regex: ["^$", "("]')) == (
        "s.yaml:24: steps[3].expect.stderr.regex[1]: not a regular expression: missing ), "
        "unterminated subpattern at position 0")
    assert error(GOOD.replace('regex: "^$"', 'regex: "("')).startswith(
        "s.yaml:24: steps[3].expect.stderr.regex: not a regular expression")
    assert error(GOOD.replace('regex: "^$"', "regex: [1]")) == (
        "s.yaml:24: steps[3].expect.stderr.regex: expected a string or a list of strings")
