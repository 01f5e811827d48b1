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
    assert s.steps[3]["expect"]["stderr"] == {"contains": ["nothing"], "regex": "^$"}
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
