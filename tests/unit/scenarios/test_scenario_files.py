"""Scenario files as they arrive: bytes, sizes, limits, embedded fleets, the command line.

Every bad file is a usage error (exit 2) reported in one line that names the file and the line,
in the same ``file:line: path: reason`` shape as every other YAML error of the project; nothing
is started for a file that fails. The limits (1 MiB, 1,000 steps, a one-line description of at
most 200 characters) keep a wrong file (a log, a binary, a generated monster) from hanging the
runner or flooding its progress lines.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.cli import main
from scenarios.schema import (
    MAX_DESCRIPTION_CHARS,
    MAX_FILE_BYTES,
    MAX_STEPS,
    Scenario,
    load_scenario,
)
from scenarios.yamlschema import SchemaError

HEAD = "name: x\ndescription: d\n"
MINIMAL = HEAD + "cluster: {}\nsteps:\n- sleep: 1s\n"

#: A fleet type error inside a scenario, on the scenario's line 6.
FLEET_TYPE_ERROR = HEAD + "cluster:\n  fleet:\n    nodeGroups:\n    - {name: a, count: two}\n" \
    "steps:\n- sleep: 1s\n"

#: (id, file content, the one line the loader must report). ``s.yaml`` is the scenario; files
#: under ``fleets/`` are written beside it (see ``FLEET_FILES``).
BAD: list[tuple[str, bytes, str]] = [
    ("not-utf8", b"name: x\ndescription: caf\xe9\n",
     "s.yaml:2: <document>: not UTF-8 text: byte 0xe9 cannot be decoded"),
    ("random-binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8",
     "s.yaml:1: <document>: not UTF-8 text: byte 0x89 cannot be decoded"),
    ("nul-byte", b"name: x\n\x00\n",
     "s.yaml:2: <document>: not valid YAML: unacceptable character #x0000: "
     "special characters are not allowed"),
    ("empty", b"", "s.yaml:1: <document>: the file is empty"),
    ("comments-only", b"# nothing here\n", "s.yaml:1: <document>: the file is empty"),
    ("too-big", (MINIMAL + "#" * MAX_FILE_BYTES + "\n").encode(),
     f"s.yaml:1: <document>: the file has more than 1 MiB ({MAX_FILE_BYTES} bytes), "
     "the limit for a scenario file"),
    ("nested-too-deep", (HEAD + "cluster: " + "[" * 200 + "]" * 200 + "\n").encode(),
     "s.yaml:3: <document>: not valid YAML: nested deeper than 64 levels"),
    ("recursive-alias", (HEAD + "cluster: {}\nsteps: &s\n- sleep: 1s\n- *s\n").encode(),
     "s.yaml:6: <document>: not valid YAML: the alias *s refers to a node that contains it"),
    ("alias-bomb", (
        HEAD + "cluster: {}\nsteps:\n- sleep: 1s\n- probe: {path: /x}\n  expect:\n    json:\n"
        "      a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"      {chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n"
                  for i in range(6))
    ).encode(),
     "s.yaml:13: <document>: not valid YAML: this value holds more than 100000 "
     "values (aliases expanded)"),
    ("unknown-tag", (MINIMAL.replace("name: x", "name: !foo x")).encode(),
     "s.yaml:1: <document>: not valid YAML: cannot read 'x' as !foo"),
    ("python-tag", (MINIMAL + "- probe: {path: /x}\n  expect:\n    json: "
                    "{a: !!python/object:os.system x}\n").encode(),
     "s.yaml:8: <document>: not valid YAML: cannot read 'x' as !!python/object:os.system"),
    ("bad-explicit-int", (MINIMAL + "- sleep: !!int 1s\n").encode(),
     "s.yaml:6: <document>: not valid YAML: cannot read '1s' as !!int"),
    ("bad-implicit-date", (MINIMAL.replace("description: d", "description: 2001-13-45")).encode(),
     "s.yaml:2: <document>: not valid YAML: cannot read '2001-13-45' as !!timestamp"),
    ("newline-in-key", (MINIMAL + '"a\\nb": 1\n').encode(),
     "s.yaml:6: 'a\\nb': unknown key; expected one of name, description, backends, kubectl, "
     "cluster, metricsd, steps"),
    ("empty-key", (MINIMAL + '"": 1\n').encode(),
     "s.yaml:6: '': unknown key; expected one of name, description, backends, kubectl, "
     "cluster, metricsd, steps"),
    ("tab-key", (MINIMAL + '"\\t": 1\n').encode(),
     "s.yaml:6: '\\t': unknown key; expected one of name, description, backends, kubectl, "
     "cluster, metricsd, steps"),
    ("too-many-steps", (HEAD + "cluster: {}\nsteps:\n" + "- sleep: 1s\n" * (MAX_STEPS + 1))
     .encode(), f"s.yaml:5: steps: expected at most {MAX_STEPS} item(s), got {MAX_STEPS + 1}"),
    ("long-description", MINIMAL.replace("description: d", "description: " + "d" * 201).encode(),
     "s.yaml:2: description: expected one line of at most 200 characters, got 201 characters"),
    ("two-line-description", MINIMAL.replace("description: d", "description: |\n  a\n  b")
     .encode(),
     "s.yaml:2: description: expected one line of at most 200 characters, got a line break "
     "(write it on one line, or fold it with >-)"),
    ("block-description-trailing-newline",
     MINIMAL.replace("description: d", "description: |\n  one line").encode(),
     "s.yaml:2: description: expected one line of at most 200 characters, got a line break "
     "(write it on one line, or fold it with >-)"),
    ("null-description", MINIMAL.replace("description: d", "description:").encode(),
     "s.yaml:2: description: expected one line of at most 200 characters, got nothing (null)"),
    ("fleet-type-error", FLEET_TYPE_ERROR.encode(),
     "s.yaml:6: cluster.fleet.nodeGroups[0].count: 'two' is not an integer "
     "(expected an integer)"),
    ("fleet-unknown-key", (HEAD + "cluster:\n  fleet: {nodeGroup: []}\nsteps:\n- sleep: 1s\n")
     .encode(),
     "s.yaml:4: cluster.fleet.nodeGroup: unknown key 'nodeGroup' (expected one of seed, "
     "addressBase, startTime, nodes, podsPerNode, certMode, kubeletVersion, churn, pods, "
     "nodeGroups, warmupSeconds, images)"),
    ("fleet-null", (HEAD + "cluster:\n  fleet:\nsteps:\n- sleep: 1s\n").encode(),
     "s.yaml:4: cluster.fleet: null is not a mapping (expected a mapping)"),
    ("fleet-outside-loopback", (HEAD + "cluster:\n  fleet: {addressBase: 10.0.0.1}\n"
                                "steps:\n- sleep: 1s\n").encode(),
     "s.yaml:4: cluster.fleet.addressBase: 10.0.0.1 is not in 127.0.0.0/8 "
     "(expected an address in 127.0.0.0/8)"),
    ("fleet-and-fleetFile", (HEAD + "cluster:\n  fleet: {}\n  fleetFile: fleets/good.yaml\n"
                             "steps:\n- sleep: 1s\n").encode(),
     "s.yaml:4: cluster: give either fleet or fleetFile, not both"),
    ("fleetFile-missing", (HEAD + "cluster:\n  fleetFile: fleets/nope.yaml\n"
                           "steps:\n- sleep: 1s\n").encode(),
     "s.yaml:4: cluster.fleetFile: cannot read fleets/nope.yaml: No such file or directory"),
    ("fleetFile-type-error", (HEAD + "cluster:\n  fleetFile: fleets/bad.yaml\n"
                              "steps:\n- sleep: 1s\n").encode(),
     "fleets/bad.yaml:3: nodeGroups[0].count: 'two' is not an integer (expected an integer) "
     "(the fleetFile of s.yaml:4)"),
    ("fleetFile-binary", (HEAD + "cluster:\n  fleetFile: fleets/binary.yaml\n"
                          "steps:\n- sleep: 1s\n").encode(),
     "fleets/binary.yaml:1: <document>: not UTF-8 text: byte 0xff cannot be decoded "
     "(the fleetFile of s.yaml:4)"),
    ("fleetFile-tag", (HEAD + "cluster:\n  fleetFile: fleets/tagged.yaml\n"
                       "steps:\n- sleep: 1s\n").encode(),
     "fleets/tagged.yaml:1: <document>: not valid YAML: cannot read '3' as !nodes "
     "(the fleetFile of s.yaml:4)"),
    ("fleetFile-empty", (HEAD + "cluster:\n  fleetFile: fleets/empty.yaml\n"
                         "steps:\n- sleep: 1s\n").encode(),
     "fleets/empty.yaml:1: <document>: the file is empty (the fleetFile of s.yaml:4)"),
]

#: (id, a step of a scenario whose line 6 it is, the error). `fault`, `workload` and `churn`
#: changes are fakekubelet's control-endpoint bodies: checked by its validators when the file
#: loads, not answered 400 by the running fleet after the cluster has started.
SIM_CHANGES: list[tuple[str, str, str]] = [
    ("fault-unknown", "- fault: {node: n, set: {hung: true}}",
     "s.yaml:6: steps[1].fault.set.hung: unknown fault; expected one of latencySeconds, hang, "
     "httpStatus, refuseConnections, truncateBody, malformed, missingTimestamps, "
     "staleTimestamps, scrapeError, missingPods, negativeStartTime, zeroMemory"),
    ("fault-type", "- fault: {node: n, set: {hang: maybe}}",
     's.yaml:6: steps[1].fault.set.hang: expected bool, got "maybe"'),
    ("fault-status", "- fault: {node: n, set: {httpStatus: 700}}",
     "s.yaml:6: steps[1].fault.set.httpStatus: expected an HTTP status 100-599, got 700"),
    ("fault-fraction", "- fault: {node: n, set: {missingPods: 2.5}}",
     "s.yaml:6: steps[1].fault.set: missing_pods fraction must be 0..1, got 2.5"),
    ("workload-unknown", "- workload: {pod: default/web-0, container: app, "
     "set: {kind: constant, cpu: 0.25}}",
     "s.yaml:6: steps[1].workload.set.kind: unknown key 'kind' (expected one of cpu, memory, "
     "relative, trace)"),
    ("workload-shape", "- workload: {pod: default/web-0, container: app, "
     "set: {cpu: {type: sine, base: 1m, amplitude: 5m}}}",
     "s.yaml:6: steps[1].workload.set.cpu.periodSeconds: required key is missing"),
    ("churn-unknown", "- churn: {set: {restartPerMinute: 2}}",
     "s.yaml:6: steps[1].churn.set.restartPerMinute: unknown setting; expected one of "
     "podCreatePerMinute, podDeletePerMinute, containerRestartPerMinute, nodeJoinPerMinute, "
     "nodeLeavePerMinute, addressChangePerMinute, minNodes, maxNodes, maxPodsPerNode"),
    ("churn-type", "- churn: {set: {podCreatePerMinute: fast}}",
     's.yaml:6: steps[1].churn.set.podCreatePerMinute: expected float, got "fast"'),
]

SIM_CHANGES_OK = [
    "- fault: {node: n, set: {http_status: 500, latency_seconds: 0.5}}",
    "- fault: {nodes: [a, b], set: {hang: false, missingPods: [default/web-0]}}",
    "- workload: {pod: default/web-0, container: app, set: {cpu: 250m, memory: 64Mi}}",
    "- churn: {set: {podCreatePerMinute: 6, group: worker}}",
]

FLEET_FILES = {
    "good.yaml": b"nodeGroups:\n- {name: worker, count: 2}\n",
    "bad.yaml": b"nodeGroups:\n- name: worker\n  count: two\n",
    "binary.yaml": b"\xff\xfe\x00n",
    "tagged.yaml": b"nodes: !nodes 3\n",
    "empty.yaml": b"",
}

#: (id, content) that sit exactly on a limit and load.
AT_THE_LIMIT: list[tuple[str, str]] = [
    ("1000-steps", HEAD + "cluster: {}\nsteps:\n" + "- sleep: 1s\n" * MAX_STEPS),
    ("200-character-description",
     MINIMAL.replace("description: d", "description: " + "d" * MAX_DESCRIPTION_CHARS)),
    ("1-MiB-file", (MINIMAL + "#" * MAX_FILE_BYTES)[:MAX_FILE_BYTES - 1] + "\n"),
    ("folded-description", MINIMAL.replace("description: d", "description: >-\n  a\n  b")),
    ("description-like-a-number", MINIMAL.replace("description: d", "description: 1.30")),
    ("64-levels", HEAD + "cluster: {}\nsteps:\n- probe: {path: /x}\n  expect:\n    json: {a: "
     + "[" * 58 + "]" * 58 + "}\n"),
    ("aliases", HEAD + "cluster: {}\nsteps:\n- kubectl: {args: &a [top, nodes]}\n"
     "- kubectl: {args: *a}\n"),
    ("good-fleetFile", HEAD + "cluster:\n  fleetFile: fleets/good.yaml\nsteps:\n- sleep: 1s\n"),
    ("inline-fleet", HEAD + "cluster:\n  fleet:\n    certMode: no-ip-san\n    nodeGroups:\n"
     "    - {name: kind-worker, count: 2}\nsteps:\n- sleep: 1s\n"),
]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with the fleet files beside ``s.yaml``, as the working directory."""
    (tmp_path / "fleets").mkdir()
    for name, content in FLEET_FILES.items():
        (tmp_path / "fleets" / name).write_bytes(content)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_line_error(path: str) -> str:
    with pytest.raises(SchemaError) as info:
        load_scenario(path)
    text = str(info.value)
    assert len(text.splitlines()) == 1, text
    return text


@pytest.mark.parametrize(("content", "message"), [(c, m) for _, c, m in BAD],
                         ids=[i for i, _, _ in BAD])
def test_every_bad_file_is_one_line_naming_file_and_line(
    here: Path, content: bytes, message: str
) -> None:
    Path("s.yaml").write_bytes(content)
    assert one_line_error("s.yaml") == message


@pytest.mark.parametrize(("content", "message"), [(c, m) for _, c, m in BAD[:4] + BAD[-6:]],
                         ids=[i for i, _, _ in BAD[:4] + BAD[-6:]])
def test_the_runner_exits_2_with_that_line_and_starts_nothing(
    here: Path, content: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("s.yaml").write_bytes(content)

    def factory(*_: Any) -> Any:
        raise AssertionError("a backend was started for an invalid file")

    assert main(["run", "s.yaml"], factory=factory) == 2
    out = capsys.readouterr()
    assert out.err == f"scenarios: {message}\n"
    assert out.out == ""


@pytest.mark.parametrize(("content",), [(c,) for _, c in AT_THE_LIMIT],
                         ids=[i for i, _ in AT_THE_LIMIT])
def test_files_on_the_limits_load(here: Path, content: str) -> None:
    Path("s.yaml").write_text(content)
    assert isinstance(load_scenario("s.yaml"), Scenario)


@pytest.mark.parametrize(("step", "message"), [(st_, m) for _, st_, m in SIM_CHANGES],
                         ids=[i for i, _, _ in SIM_CHANGES])
def test_simulation_changes_are_checked_when_the_file_loads(
    here: Path, step: str, message: str
) -> None:
    Path("s.yaml").write_text(MINIMAL + step + "\n")
    assert one_line_error("s.yaml") == message


@pytest.mark.parametrize("step", SIM_CHANGES_OK)
def test_valid_simulation_changes_load_unchanged(here: Path, step: str) -> None:
    Path("s.yaml").write_text(MINIMAL + step + "\n")
    last = load_scenario("s.yaml").steps[-1]
    assert last[last["kind"]]["set"] == yaml.safe_load(step)[0][last["kind"]]["set"]


def test_a_document_of_too_many_values_is_refused_where_it_passes_the_budget(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without aliases too: a huge literal list costs PyYAML seconds per 100,000 values."""
    monkeypatch.setattr("scenarios.yamlschema.MAX_VALUES", 1000)
    Path("s.yaml").write_text(HEAD + "cluster: {}\nsteps:\n- probe: {path: /x}\n  expect:\n"
                              "    json:\n      a: [" + "1, " * 2000 + "1]\n")
    assert one_line_error("s.yaml") == (
        "s.yaml:8: <document>: not valid YAML: this value holds more than 1000 values "
        "(aliases expanded)")


def test_an_inline_fleet_stays_plain_data_for_the_backend(here: Path) -> None:
    Path("s.yaml").write_text(dict(AT_THE_LIMIT)["inline-fleet"])
    scenario = load_scenario("s.yaml")
    assert scenario.cluster["fleet"] == {
        "certMode": "no-ip-san", "nodeGroups": [{"name": "kind-worker", "count": 2}]}
    assert scenario.cluster["fleetFile"] is None


def test_a_fleet_error_names_the_scenario_line_not_a_generated_file(here: Path) -> None:
    """Before, the type error surfaced at run time, in the backend's `artifacts/.../fleet.yaml`."""
    Path("s.yaml").write_text(FLEET_TYPE_ERROR)
    message = one_line_error("s.yaml")
    assert message.startswith("s.yaml:6: cluster.fleet.") and "fleet.yaml" not in message


SHIPPED = Path(__file__).resolve().parents[3] / "scenarios"


@pytest.mark.parametrize(
    "path", sorted([*SHIPPED.glob("files/*.yaml"), *SHIPPED.glob("demo/*.yaml")]),
    ids=lambda p: p.name)
def test_every_shipped_scenario_and_its_fleet_load(path: Path) -> None:
    assert isinstance(load_scenario(path), Scenario)


@pytest.mark.parametrize(("value", "message"), [
    ("0", "argument --parallel: expected an integer >= 1, got '0'"),
    ("-3", "argument --parallel: expected an integer >= 1, got '-3'"),
    ("two", "argument --parallel: expected an integer >= 1, got 'two'"),
])
def test_parallel_must_be_at_least_one(
    here: Path, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("s.yaml").write_text(MINIMAL)
    with pytest.raises(SystemExit) as info:
        main(["run", f"--parallel={value}", "s.yaml"])
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"python -m scenarios run: error: {message}"


# -- no input crashes the loader -----------------------------------------------------------------

ERROR_LINE = re.compile(r"s\.yaml:\d+: \S.*")
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def check_outcome(path: str) -> None:
    """A file loads, or fails with one SchemaError line naming the file and a line."""
    try:
        load_scenario(path)
    except SchemaError as err:
        text = str(err)
        assert len(text.splitlines()) == 1 and ERROR_LINE.fullmatch(text), text


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_never_crash_the_loader(here: Path, data: bytes) -> None:
    Path("s.yaml").write_bytes(data)
    check_outcome("s.yaml")


KEYS = ["name", "description", "cluster", "fleet", "fleetFile", "steps", "kubectl", "args",
        "expect", "wait", "probe", "path", "nodeGroups", "count", "pods", "containers", "cpu",
        "memory", "certMode", "json", "timeout", "install", "add", "set", "remove", "metricsd",
        "sleep", "top", "rows", "a\nb", "", "<<"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(
        ["1s", "500ms", "x-y", "/readyz?verbose", "1.30", "all", "kind-worker", "2001-13-45",
         "0b_", "250m", "64Mi", "sim", "True", "~", "*", "&", "!foo"]),
    st.text(string.printable + "é\u2028\x85", max_size=12),
)
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=5),
    max_leaves=25,
)
SCENARIO_LIKE = st.fixed_dictionaries(
    {"name": st.sampled_from(["x", "X", "a-b"]), "description": SCALARS,
     "cluster": DOCS | st.fixed_dictionaries({"fleet": DOCS}), "steps": DOCS})


@FUZZ
@given(st.one_of(DOCS, SCENARIO_LIKE), st.data())
def test_random_yaml_never_crashes_the_loader(here: Path, doc: Any, data: st.DataObject) -> None:
    text = yaml.safe_dump(doc, allow_unicode=data.draw(st.booleans()),
                          default_flow_style=data.draw(st.sampled_from([None, True, False])))
    if data.draw(st.booleans()):  # and its damaged copies: a slice removed or text inserted
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 8))
        junk = data.draw(st.sampled_from(["", "\t", ": ", "- ", "{", "]", "&a ", "*a", "!!int ",
                                          "\n  ", "'", '"']))
        text = text[:at] + junk + text[at + cut:]
    Path("s.yaml").write_text(text)
    check_outcome("s.yaml")
