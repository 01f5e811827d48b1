"""The load spec's YAML: every shape, and errors that name file, line and path."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakekubelet.workloads import Constant, Ramp, Sine, Spike, Step, Trace
from scenarios.load.spec import LoadSpec, load_spec_file, load_spec_text
from scenarios.yamlschema import SchemaError


def test_requests_per_second_with_a_cost() -> None:
    spec = load_spec_text(
        "deployment: php-apache\n"
        "requestsPerSecond: {type: steps, initial: 0, steps: [{atSeconds: 60, value: 100}]}\n"
        "cpuPerRequest: 10m\n"
        "baseline: {cpu: 2m, memory: 20Mi}\n"
        "memory: {perRequest: 64Ki}\n"
        "seed: 3\n"
    )
    assert (spec.deployment, spec.namespace, spec.container, spec.unit) == (
        "php-apache", "default", None, "requests/s")
    assert isinstance(spec.demand.shape, Step) and spec.cpu_per_request == 0.01
    assert spec.demand_cores(0) == 0 and spec.demand_cores(61) == pytest.approx(1.0)
    assert (spec.baseline_cpu, spec.baseline_memory) == (0.002, 20 << 20)
    assert spec.memory_for(0.5) == (20 << 20) + 50 * 65536  # 0.5 core = 50 requests/s
    assert spec.demand.seed == 3


@pytest.mark.parametrize(
    ("shape", "kind"),
    [
        ("1", Constant), ("500m", Constant), ("{type: constant, value: 2}", Constant),
        ("{type: ramp, from: 0, to: 2, durationSeconds: 60}", Ramp),
        ("{type: spike, base: 100m, peak: 2, everySeconds: 60, widthSeconds: 5}", Spike),
        ("{type: sine, base: 1, amplitude: 500m, periodSeconds: 300}", Sine),
        ("{type: diurnal, min: 100m, max: 3, peakAtSeconds: 3600}", Sine),
    ],
)
def test_core_shapes(shape: str, kind: type) -> None:
    spec = load_spec_text(f"deployment: web\ncores: {shape}\n")
    assert isinstance(spec.demand.shape, kind) and spec.unit == "cores"


def test_trace_file_relative_to_the_yaml(tmp_path: Path) -> None:
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "day.csv").write_text("seconds,value\n0,10\n60,30\n120,10\n")
    (tmp_path / "load.yaml").write_text(
        "deployment: web\nrequestsPerSecond: {type: trace, file: traces/day.csv, loop: true}\n"
        "cpuPerRequest: 0.01\nstepSeconds: 30\n")
    spec = load_spec_file(tmp_path / "load.yaml")
    assert isinstance(spec.demand.shape, Trace) and spec.demand.shape.loop
    assert spec.demand.level(0) == pytest.approx(15.0)  # mean of 10→20 over 30 s
    (tmp_path / "traces" / "bad.csv").write_text("seconds,value\n0,10\n60,lots\n")
    (tmp_path / "bad.yaml").write_text(
        "deployment: web\ncores: {type: trace, file: traces/bad.csv}\n")
    with pytest.raises(SchemaError) as err:
        load_spec_file(tmp_path / "bad.yaml")
    assert str(err.value) == (f"{tmp_path}/traces/bad.csv:3: <document>: expected "
                              "seconds,value with a value >= 0, got '60,lots'")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("deployment: web\n", "l.yaml:1: load: give exactly one of requestsPerSecond "
         "(with cpuPerRequest) or cores"),
        ("deployment: web\ncores: 1\nrequestsPerSecond: 2\n", "give exactly one of"),
        ("deployment: web\nrequestsPerSecond: 2\n", "requestsPerSecond needs cpuPerRequest"),
        ("deployment: web\ncores: 1\ncpuPerRequest: 1m\n", "cpuPerRequest goes with"),
        ("deployment: web\ncores: lots\n", "l.yaml:2: cores: expected CPU cores: a number or "
         "a quantity such as 250m, got 'lots'"),
        ("deployment: web\ncores: -1\n", "l.yaml:2: cores: expected CPU cores"),
        ("deployment: web\ncores: {type: wave}\n",
         "l.yaml:2: cores.type: expected one of constant, steps, ramp, spike, sine, diurnal, "
         "trace, got 'wave'"),
        ("deployment: web\ncores: {value: 1}\n", "l.yaml:2: cores: missing required key 'type'"),
        ("deployment: web\ncores:\n  type: sine\n  base: 1\n  amplitude: 2\n"
         "  periodSeconds: 60\n", "l.yaml:3: cores: sine: amplitude (2.0) must not exceed base"),
        ("deployment: web\ncores:\n  type: steps\n  initial: 0\n  steps:\n"
         "  - {atSeconds: 60, value: 1}\n  - {atSeconds: 30, value: 2}\n",
         "l.yaml:7: cores.steps[1].atSeconds: steps must be in time order"),
        ("deployment: web\ncores: 1\nmemory: {perRequest: 1Mi}\n",
         "l.yaml:1: load.memory.perRequest: perRequest needs requestsPerSecond"),
        ("deployment: Web\ncores: 1\n", "l.yaml:1: deployment: expected a Deployment name"),
        ("deployment: web\ncores: 1\nbogus: 1\n", "l.yaml:3: bogus: unknown key; expected one"),
        ("deployment: web\ncores: {type: trace, file: nope.csv}\n", "trace: cannot read"),
        ("deployment: web\ncores: 1\nstepSeconds: 0\n", "l.yaml:3: stepSeconds: expected a "
         "number >= 0.001, got 0"),
    ],
)
def test_errors_name_file_line_and_path(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(SchemaError) as err:
        load_spec_text(text, str(tmp_path / "l.yaml"))
    assert message in str(err.value).replace(str(tmp_path) + "/", ""), str(err.value)


def test_from_value_defaults() -> None:
    spec = LoadSpec.from_value({"deployment": "w", "cores": Constant(1.0)})
    assert (spec.baseline_cpu, spec.baseline_memory, spec.memory_per_unit) == (
        0.001, 4 << 20, 0.0)
    assert spec.memory_for(2.0) == 4 << 20
