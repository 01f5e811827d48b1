"""Fleet spec files: loading, validation messages (file:line: path: reason), overrides."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakekubelet import cluster as cluster_mod
from fakekubelet.clock import VirtualClock
from fakekubelet.cluster import Cluster
from fakekubelet.spec import (
    FleetSpec,
    SpecError,
    load_spec,
    load_spec_text,
    parse_cpu,
    parse_memory,
    pod_template_from_dict,
    with_overrides,
    workload_from_dict,
)
from fakekubelet.workloads import Constant, Ramp, Sine, Spike, Step, Trace

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "fleet-small.yaml"
DOC = ROOT / "docs" / "fakekubelet-spec.md"
T0 = 1_711_467_600.0


def test_example_loads_and_builds() -> None:
    spec = load_spec(EXAMPLE)
    assert [g.name for g in spec.groups] == ["worker", "kind"]
    worker, kind = spec.groups
    assert (worker.count, worker.cert_mode, worker.kubelet_version) == (3, "ca-signed", "1.30.0")
    assert worker.capacity.cpu_millicores == 4000 and worker.capacity.memory_bytes == 8 << 30
    assert worker.allocatable is not None and worker.allocatable.cpu_millicores == 3800
    assert worker.allocatable.pods == 110  # inherited from capacity
    web = worker.pods[0]
    assert web.count == 2 and web.containers[0].workload.cpu == Sine(0.2, 0.1, 120.0)
    assert web.containers[0].workload.memory == Constant(100 * 2**20)
    assert web.sidecars[0].name == "proxy"
    batch = worker.pods[1]
    assert batch.init_containers[0].run_seconds == 5
    assert batch.containers[0].workload.cpu == Ramp(0.01, 0.9, 600.0)
    assert batch.containers[0].workload.memory == Step(64 * 2**20, ((300.0, 192 * 2**20),))
    assert kind.prefix == "kind-worker" and kind.cert_mode == "no-ip-san"
    assert kind.pods[0].containers[0].workload.cpu == Spike(0.002, 0.3, 60.0, 5.0)
    assert worker.churn.pod_create_per_minute == 0.2
    cluster = Cluster.from_spec(spec, VirtualClock(T0))
    assert sorted(cluster.nodes) == ["kind-worker-1", "worker-1", "worker-2", "worker-3"]
    assert cluster.nodes["kind-worker-1"].internal_ip == "127.1.0.4"


def test_doc_example_loads(tmp_path: Path) -> None:
    """The full example in docs/fakekubelet-spec.md is a valid spec."""
    text = DOC.read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    trace = tmp_path / "traces" / "nightly.csv"
    trace.parent.mkdir()
    trace.write_text("seconds,cpu_cores,memory_bytes\n0,0.1,1e8\n60,0.5,2e8\n")
    (tmp_path / "recorded").mkdir()
    (tmp_path / "recorded" / "0001.prom").write_text("scrape_error 1\n")
    f = tmp_path / "fleet.yaml"
    f.write_text(block)
    spec = load_spec(f)
    assert spec.node_count > 0
    cluster = Cluster.from_spec(spec, VirtualClock(T0))
    cluster.advance(30)
    for name in cluster.nodes:
        assert cluster.render_metrics(name)


BAD = [
    (
        "nodeGroups:\n  - name: a\n  - name: b\n    certMode: selfsigned\n",
        "t.yaml:4: nodeGroups[1].certMode: 'selfsigned' is not allowed (expected one of ca-signed, "
        "no-ip-san, self-signed, expired, not-yet-valid, wrong-ca, plain-http)",
    ),
    (
        "nodes: 3\nnodeGroup: []\n",
        "t.yaml:2: nodeGroup: unknown key 'nodeGroup' (expected one of seed, addressBase, "
        "startTime, nodes, podsPerNode, certMode, kubeletVersion, churn, pods, nodeGroups, "
        "warmupSeconds, images)",
    ),
    ("nodes: three\n", "t.yaml:1: nodes: 'three' is not an integer (expected an integer)"),
    ("nodes: -1\n", "t.yaml:1: nodes: -1 is out of range (expected an integer 0..100000)"),
    ("nodeGroups:\n  - count: 2\n", "t.yaml:2: nodeGroups[0].name: required key is missing"),
    ("nodeGroups: {a: 1}\n", "t.yaml:1: nodeGroups: a mapping is not a list (expected a list)"),
    (
        "nodeGroups:\n  - name: a\n    port: 70000\n",
        "t.yaml:3: nodeGroups[0].port: 70000 is out of range (expected an integer 0..65535)",
    ),
    (
        "kubeletVersion: 1.30\n",
        "t.yaml:1: kubeletVersion: 1.3 is not a kubelet version (expected a version 1.18 or newer "
        "such as 1.30.0 (quote it))",
    ),
    (
        "addressBase: 10.0.0.1\n",
        "t.yaml:1: addressBase: 10.0.0.1 is not in 127.0.0.0/8 "
        "(expected an address in 127.0.0.0/8)",
    ),
    (
        "addressBase: 127.255.255.250\nnodes: 10\n",
        "t.yaml:1: addressBase: address base 127.255.255.250 with 10 nodes would leave 127.0.0.0/8",
    ),
    (
        "pods:\n  - name: web\n    containers:\n      - name: app\n        cpu: lots\n",
        "t.yaml:5: pods[0].containers[0].cpu: 'lots' is not a cpu amount (expected cores as a "
        "number or a quantity such as 250m)",
    ),
    (
        "pods:\n  - name: web\n    containers:\n      - name: app\n        memory: {type: wave}\n",
        "t.yaml:5: pods[0].containers[0].memory.type: 'wave' is not allowed (expected one of "
        "constant, ramp, step, sine, spike, points)",
    ),
    (
        "pods:\n  - name: web\n    containers:\n      - name: app\n"
        "        cpu: {type: sine, base: 1m, amplitude: 2m, periodSeconds: 60}\n",
        "t.yaml:5: pods[0].containers[0].cpu: sine: amplitude (0.002) must not exceed base (0.001)",
    ),
    (
        "pods:\n  - name: web\n    containers:\n      - name: app\n"
        "        cpu: {type: ramp, from: 1, to: 2}\n",
        "t.yaml:5: pods[0].containers[0].cpu.durationSeconds: required key is missing",
    ),
    (
        "pods:\n  - name: web\n    containers: []\n",
        "t.yaml:3: pods[0].containers: a pod needs a container (expected a non-empty list)",
    ),
    (
        "pods:\n  - name: Web\n    containers: [{name: a}]\n",
        "t.yaml:2: pods[0].name: 'Web' is not valid (expected a DNS-1123 label)",
    ),
    (
        "pods:\n  - name: web\n    containers: [{name: a}, {name: a}]\n",
        "t.yaml:2: pods[0]: duplicate container name(s) a",
    ),
    (
        "pods:\n  - name: web\n    containers: [{name: a, runSeconds: 3}]\n",
        "t.yaml:3: pods[0].containers[0].runSeconds: unknown key 'runSeconds' (expected one of "
        "name, image, requests, limits, cpu, memory, relative, trace, startupSeconds, "
        "terminationSeconds, readinessProbe)",
    ),
    (
        "nodeGroups:\n  - name: a\n    faults: {httpStatus: 42}\n",
        "t.yaml:3: nodeGroups[0].faults.httpStatus: 42 is out of range (expected an integer "
        "100..599)",
    ),
    (
        "nodeGroups:\n  - name: a\n    faults: {missingPods: 1.5}\n",
        "t.yaml:3: nodeGroups[0].faults.missingPods: 1.5 is > 1 (expected a fraction 0..1 or a "
        "list of namespace/name)",
    ),
    (
        "nodeGroups:\n  - name: a\n    faults: {slow: true}\n",
        "t.yaml:3: nodeGroups[0].faults.slow: unknown key 'slow'",
    ),
    (
        "churn: {podCreatePerMinute: -1}\n",
        "t.yaml:1: churn.podCreatePerMinute: -1 is < 0 (expected a number >= 0)",
    ),
    (
        "nodeGroups:\n  - name: a\n  - name: a\n",
        "t.yaml:3: nodeGroups[1].name: duplicate group name 'a'",
    ),
    (
        "nodeGroups:\n  - name: a\n    replayDir: nowhere\n",
        "t.yaml:3: nodeGroups[0].replayDir: nowhere is not a directory",
    ),
    ("seed: [1\n", "t.yaml:2: not valid YAML: expected ',' or ']', but got '<stream end>'"),
    ("", "t.yaml: the spec is empty (expected a mapping with nodeGroups)"),
    ("- 1\n", "t.yaml:1: a list is not a mapping (expected a mapping)"),
    ("seed: 1\nseed: 2\n", "t.yaml:2: seed: duplicate key"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_invalid_specs_name_file_line_path_and_reason(
    text: str, message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    built: list[object] = []
    original = cluster_mod.Cluster.__init__

    def spy(self: Cluster, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(cluster_mod.Cluster, "__init__", spy)
    with pytest.raises(SpecError) as err:
        Cluster.from_spec(load_spec_text(text, "t.yaml", tmp_path), VirtualClock(T0))
    got = str(err.value).replace(str(tmp_path) + "/", "")
    assert got.startswith(message), got
    assert built == []


def test_load_spec_reports_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"missing\.yaml: cannot read"):
        load_spec(tmp_path / "missing.yaml")


def test_trace_file_errors_name_the_csv(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("nope\n")
    text = "pods:\n  - name: w\n    containers:\n      - name: c\n        trace: {file: bad.csv}\n"
    with pytest.raises(SpecError) as err:
        load_spec_text(text, "t.yaml", tmp_path)
    assert "t.yaml:5: pods[0].containers[0].trace.file:" in str(err.value)
    assert "bad.csv:1: trace header must be" in str(err.value)


# ------------------------------------------------------------------ property: validator is total

VALID: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
JUNK = [None, "x", -1, 0, 2.5, True, [], {}, [1], {"zz": 1}, "250m", "1Gi", 10**12, "1.30.0"]


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


ALL_PATHS = _paths(VALID)


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = data
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    return data


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        data = data[p]
    return data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(ALL_PATHS),
    st.sampled_from(["replace", "unknown-key", "delete"]),
    st.sampled_from(JUNK),
)
def test_mutated_specs_either_load_fully_or_fail_with_spec_error(
    path: tuple[Any, ...], how: str, junk: Any
) -> None:
    data = copy.deepcopy(VALID)
    must_fail = False
    if how == "replace":
        data = _set(data, path, junk)
    elif how == "unknown-key":
        target = _get(data, path)
        if not isinstance(target, dict) or path[-1:] == ("labels",):  # labels: any keys
            return
        target["bogusKey"] = 1
        must_fail = True
    else:
        if not path:
            return
        parent = _get(data, path[:-1])
        del parent[path[-1]]
    text = yaml.safe_dump(data)
    try:
        spec = load_spec_text(text, "m.yaml")
    except SpecError as err:
        assert str(err).startswith("m.yaml")
        if must_fail:
            assert "bogusKey" in str(err)
        return
    assert not must_fail
    cluster = Cluster.from_spec(spec, VirtualClock(T0))
    cluster.advance(10)
    for name in cluster.nodes:
        cluster.render_metrics(name)


# ------------------------------------------------------------------ overrides & helpers


def test_overrides_split_nodes_and_cycle_pods() -> None:
    spec = load_spec(EXAMPLE)
    o = with_overrides(
        spec, nodes=10, pods_per_node=5, cert_mode="expired", address_base="127.7.0.1", seed=99
    )
    assert [g.count for g in o.groups] == [8, 2]
    assert all(sum(p.count for p in g.pods) == 5 for g in o.groups)
    assert [(p.name, p.count) for p in o.groups[0].pods] == [
        ("web", 4),
        ("batch", 1),
    ]  # web web batch | web web
    assert {g.cert_mode for g in o.groups} == {"expired"}
    assert (o.address_base, o.seed) == ("127.7.0.1", 99)
    assert with_overrides(spec) == spec
    with pytest.raises(SpecError, match="certMode"):
        with_overrides(spec, cert_mode="weird")
    cluster = Cluster.from_spec(spec, VirtualClock(T0), nodes=1, pods_per_node=0)
    assert len(cluster.nodes) == 1 and not cluster.pods


def test_top_level_counts_without_groups() -> None:
    spec = load_spec_text("nodes: 4\npodsPerNode: 7\ncertMode: wrong-ca\nseed: 3\n", "t.yaml")
    assert isinstance(spec, FleetSpec)
    (g,) = spec.groups
    assert (g.count, g.cert_mode, sum(p.count for p in g.pods)) == (4, "wrong-ca", 7)


@pytest.mark.parametrize(
    ("text", "cores"), [("250m", 0.25), ("2", 2.0), (0.5, 0.5), ("1.5", 1.5), (3, 3.0)]
)
def test_parse_cpu(text: object, cores: float) -> None:
    assert parse_cpu(text) == cores


@pytest.mark.parametrize(
    ("text", "n"),
    [("128Mi", 128 * 2**20), ("1Gi", 2**30), ("1G", 10**9), ("1.5Ki", 1536), (100, 100.0)],
)
def test_parse_memory(text: object, n: float) -> None:
    assert parse_memory(text) == n


@pytest.mark.parametrize("bad", ["1x", "-1", "m", "", True, None, "1e400", float("inf")])
def test_parse_memory_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_memory(bad)


def test_dict_forms_for_the_control_endpoint() -> None:
    w = workload_from_dict({"cpu": {"type": "points", "points": [[0, 0], [10, 1]]}, "memory": 5})
    assert w.cpu == Trace(((0.0, 0.0), (10.0, 1.0))) and w.memory == Constant(5.0)
    with pytest.raises(SpecError, match=r"workload\.gpu: unknown key"):
        workload_from_dict({"gpu": 1})
    pod = pod_template_from_dict({"name": "x", "containers": [{"name": "c", "cpu": "1"}]})
    assert pod.containers[0].workload.cpu == Constant(1.0)
    with pytest.raises(SpecError, match=r"pod\.containers: required key is missing"):
        pod_template_from_dict({"name": "x"})


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("fleet-*.yaml")), ids=str)
def test_every_example_builds_and_renders(path: Path) -> None:
    spec = load_spec(path)
    cluster = Cluster.from_spec(spec, VirtualClock(spec.start_time or T0))
    cluster.advance(600)
    for name in cluster.nodes:
        assert cluster.render_metrics(name)
