"""The load spec: a validated YAML shape of its own (scenario ``load:`` steps, experiments).

One mapping describes the load on one Deployment::

    deployment: php-apache          # required: its pods (its selector) share the load
    namespace: default
    container: php-apache           # which container does the work (default: the first)
    requestsPerSecond: 100          # the demand in requests/s (a shape, below) ...
    cpuPerRequest: 10m              # ... times the CPU time one request costs (core-seconds)
    # cores: 1                      # or the demand directly in cores (a shape)
    baseline: {cpu: 1m, memory: 10Mi}   # every running pod, Ready or not
    memory: {perRequest: 64Ki}      # working set per request/s a pod serves (perCore: cores)
    noise: 0.05                     # relative std. deviation per interval (seeded)
    seed: 0
    stepSeconds: 5                  # continuous shapes are held this long at their mean

A shape is a number (constant) or a mapping with ``type``: ``constant`` (value), ``steps``
(initial, steps: [{atSeconds, value}]), ``ramp`` (from, to, durationSeconds, delaySeconds),
``spike`` (base, peak, everySeconds, widthSeconds, offsetSeconds), ``sine`` (base, amplitude,
periodSeconds, phase), ``diurnal`` (min, max, peakAtSeconds, periodSeconds: 86400) or
``trace`` (file: a CSV ``seconds,value`` relative to the YAML file, loop). Times are seconds
since the load starts. Every error names the file, the line and the path, as in the rest of
the project's YAML (``scenarios.yamlschema``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fakekubelet.quantity import parse_cpu, parse_memory
from fakekubelet.workloads import Constant, Ramp, Signal, Sine, Spike, Step, Trace
from scenarios.load.demand import Demand, diurnal
from scenarios.yamlschema import (
    Field,
    Float,
    Int,
    Record,
    Schema,
    SchemaError,
    Str,
    _Ctx,
    _kind,
)
from scenarios.yamlschema import (
    load as load_yaml,
)

__all__ = ["LOAD", "LoadSpec", "load_spec_file", "load_spec_text"]

_NAME = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"


class Amount(Schema):
    """A number, or (``quantity``) a CPU/memory quantity string such as ``250m``/``64Mi``."""

    def __init__(self, parse: Callable[[Any], float] | None = None,
                 description: str = "a number >= 0") -> None:
        self.parse = parse
        self.description = description

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        value = yaml.safe_load(yaml.serialize(node))
        if isinstance(value, bool):
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        try:
            if self.parse is not None:
                number = float(self.parse(value))
            elif isinstance(value, int | float):
                number = float(value)
            else:
                raise ValueError(value)
        except ValueError:
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}"
                           ) from None
        if not math.isfinite(number) or number < 0:
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        return number


NUMBER = Amount()
SECONDS = Amount(description="seconds >= 0")
POSITIVE_SECONDS = Float(minimum=0)
CPU = Amount(parse_cpu, "CPU cores: a number or a quantity such as 250m")
MEMORY = Amount(parse_memory, "bytes: a number or a quantity such as 64Mi")


class Shape(Schema):
    """A demand shape; returns a ``fakekubelet.workloads`` signal."""

    def __init__(self, level: Amount) -> None:
        self.level = level
        self.description = ("a number or a shape mapping with type constant, steps, ramp, "
                            "spike, sine, diurnal or trace")

    def _record(self, fields: dict[str, Field], what: str) -> Record:
        return Record({"type": Field(Str()), **fields}, description=f"a {what} shape")

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return Constant(self.level.check(node, path, ctx))
        if not isinstance(node, yaml.MappingNode):
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        kinds = [v for k, v in node.value if getattr(k, "value", None) == "type"]
        if not kinds:
            raise ctx.fail(node, path, "missing required key 'type' (constant, steps, ramp, "
                           "spike, sine, diurnal or trace)")
        kind = str(getattr(kinds[0], "value", ""))
        lv = self.level
        builders: dict[str, tuple[dict[str, Field], Callable[[dict[str, Any]], Signal]]] = {
            "constant": ({"value": Field(lv, required=True)}, lambda v: Constant(v["value"])),
            "steps": ({"initial": Field(lv, required=True),
                       "steps": Field(_StepList(lv), required=True)},
                      lambda v: Step(v["initial"], tuple(v["steps"]))),
            "ramp": ({"from": Field(lv, required=True), "to": Field(lv, required=True),
                      "durationSeconds": Field(SECONDS, required=True),
                      "delaySeconds": Field(SECONDS, default=0.0)},
                     lambda v: Ramp(v["from"], v["to"], v["durationSeconds"],
                                    v["delaySeconds"])),
            "spike": ({"base": Field(lv, required=True), "peak": Field(lv, required=True),
                       "everySeconds": Field(SECONDS, required=True),
                       "widthSeconds": Field(SECONDS, required=True),
                       "offsetSeconds": Field(SECONDS, default=0.0)},
                      lambda v: Spike(v["base"], v["peak"], v["everySeconds"],
                                      v["widthSeconds"], v["offsetSeconds"])),
            "sine": ({"base": Field(lv, required=True), "amplitude": Field(lv, required=True),
                      "periodSeconds": Field(SECONDS, required=True),
                      "phase": Field(Float(), default=0.0)},
                     lambda v: Sine(v["base"], v["amplitude"], v["periodSeconds"], v["phase"])),
            "diurnal": ({"min": Field(lv, required=True), "max": Field(lv, required=True),
                         "peakAtSeconds": Field(SECONDS, default=14 * 3600.0),
                         "periodSeconds": Field(SECONDS, default=86_400.0)},
                        lambda v: _diurnal(v)),
            "trace": ({"file": Field(Str(), required=True),
                       "loop": Field(_Bool(), default=False)},
                      lambda v: _trace(v, ctx, lv)),
        }
        if kind not in builders:
            raise ctx.fail(kinds[0], f"{path}.type", f"expected one of {', '.join(builders)}, "
                           f"got {kind!r}")
        fields, build = builders[kind]
        value = self._record(fields, kind).check(node, path, ctx)
        try:
            return build(value)
        except SchemaError:
            raise
        except ValueError as err:
            raise ctx.fail(node, path, str(err)) from None


class _Bool(Schema):
    description = "true or false"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        value = yaml.safe_load(yaml.serialize(node)) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, bool):
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        return value


class _StepList(Schema):
    description = "a list of {atSeconds, value}"

    def __init__(self, level: Amount) -> None:
        self.item = Record({"atSeconds": Field(SECONDS, required=True),
                            "value": Field(level, required=True)}, description="a step")

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if not isinstance(node, yaml.SequenceNode):
            raise ctx.fail(node, path, f"expected {self.description}, got {_kind(node)}")
        out = []
        last = -1.0
        for i, child in enumerate(node.value):
            value = self.item.check(child, f"{path}[{i}]", ctx)
            if value["atSeconds"] < last:
                raise ctx.fail(child, f"{path}[{i}].atSeconds", "steps must be in time order")
            last = value["atSeconds"]
            out.append((value["atSeconds"], value["value"]))
        return out


def _diurnal(v: dict[str, Any]) -> Signal:
    if v["max"] < v["min"]:
        raise ValueError(f"diurnal: max ({v['max']:g}) must not be below min ({v['min']:g})")
    if not v["periodSeconds"] > 0:
        raise ValueError("diurnal: periodSeconds must be > 0")
    return diurnal(v["min"], v["max"], v["peakAtSeconds"], v["periodSeconds"])


def _trace(v: dict[str, Any], ctx: _Ctx, level: Amount) -> Signal:
    """A CSV trace ``seconds,value`` (relative to the YAML file); errors name the CSV line."""
    path = Path(v["file"])
    if not path.is_absolute():
        path = Path(ctx.source).parent / path
    try:
        rows = list(csv.reader(path.read_text().splitlines()))
    except OSError as err:
        raise ValueError(f"trace: cannot read {path}: {err.strerror or err}") from None
    if not rows or [c.strip() for c in rows[0]] != ["seconds", "value"]:
        raise SchemaError(str(path), 1, "", "a trace's header must be seconds,value")
    points = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        try:
            seconds = float(row[0])
            raw: Any = row[1].strip()
            amount = float(level.parse(raw) if level.parse is not None else float(raw))
            if len(row) != 2 or not math.isfinite(seconds) or amount < 0:
                raise ValueError(row)
        except (ValueError, IndexError):
            raise SchemaError(str(path), lineno, "", f"expected seconds,value with a value "
                              f">= 0, got {','.join(row)!r}") from None
        points.append((seconds, amount))
    try:
        return Trace(tuple(points), loop=v["loop"])
    except ValueError as err:
        raise SchemaError(str(path), None, "", str(err)) from None


def _check_load(value: dict[str, Any], node: yaml.Node, path: str, ctx: _Ctx) -> None:
    rps, cores = value.get("requestsPerSecond"), value.get("cores")
    where = path or "load"
    if (rps is None) == (cores is None):
        raise ctx.fail(node, where, "give exactly one of requestsPerSecond (with cpuPerRequest) "
                       "or cores")
    if rps is not None and value.get("cpuPerRequest") is None:
        raise ctx.fail(node, where, "requestsPerSecond needs cpuPerRequest (the CPU time one "
                       "request costs, e.g. 10m)")
    if cores is not None and value.get("cpuPerRequest") is not None:
        raise ctx.fail(node, where, "cpuPerRequest goes with requestsPerSecond, not cores")
    memory = value.get("memory") or {}
    if memory.get("perRequest") is not None and rps is None:
        raise ctx.fail(node, f"{where}.memory.perRequest", "perRequest needs requestsPerSecond "
                       "(use perCore with cores)")


LOAD = Record(
    {
        "deployment": Field(Str(_NAME, "a Deployment name"), required=True),
        "namespace": Field(Str(_NAME, "a namespace name"), default="default"),
        "container": Field(Str(_NAME, "a container name")),
        "requestsPerSecond": Field(Shape(NUMBER)),
        "cpuPerRequest": Field(CPU),
        "cores": Field(Shape(CPU)),
        "baseline": Field(Record({"cpu": Field(CPU, default=0.001),
                                  "memory": Field(MEMORY, default=4 * 1024 * 1024)},
                                 description="a baseline"), default=None),
        "memory": Field(Record({"perRequest": Field(MEMORY), "perCore": Field(MEMORY)},
                               description="memory per unit served"), default=None),
        "noise": Field(Float(minimum=0), default=0.0),
        "seed": Field(Int(), default=0),
        "stepSeconds": Field(Float(minimum=0.001), default=5.0),
    },
    description="a load",
    check_extra=_check_load,
)


@dataclass(frozen=True)
class LoadSpec:
    """A validated load (see the module docstring); ``demand`` is in cores."""

    deployment: str
    namespace: str = "default"
    container: str | None = None
    demand: Demand = field(default_factory=lambda: Demand(Constant(0.0)))
    cpu_per_request: float | None = None  # core-seconds per request (requests/s demand)
    baseline_cpu: float = 0.001
    baseline_memory: float = 4 * 1024 * 1024
    memory_per_unit: float = 0.0  # bytes per request/s served, or per core served

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> LoadSpec:
        """From the value ``LOAD`` validated."""
        rps = value.get("requestsPerSecond")
        shape = rps if rps is not None else value["cores"]
        baseline = value.get("baseline") or {"cpu": 0.001, "memory": 4 * 1024 * 1024}
        memory = value.get("memory") or {}
        per_unit = memory.get("perRequest") if rps is not None else memory.get("perCore")
        seed = int(value.get("seed") or 0)
        return cls(
            deployment=value["deployment"],
            namespace=value.get("namespace") or "default",
            container=value.get("container"),
            demand=Demand(shape, step=float(value.get("stepSeconds") or 5.0),
                          noise=float(value.get("noise") or 0.0), seed=seed),
            cpu_per_request=value.get("cpuPerRequest") if rps is not None else None,
            baseline_cpu=float(baseline["cpu"]),
            baseline_memory=float(baseline["memory"]),
            memory_per_unit=float(per_unit or 0.0),
        )

    @property
    def unit(self) -> str:
        return "requests/s" if self.cpu_per_request is not None else "cores"

    def demand_cores(self, tau: float) -> float:
        """The demand at ``tau`` seconds since the load started, in cores."""
        level = self.demand.level(tau)
        return level * self.cpu_per_request if self.cpu_per_request is not None else level

    def memory_for(self, load_cores: float) -> float:
        """A pod's working set when it serves ``load_cores``."""
        served = (load_cores / self.cpu_per_request if self.cpu_per_request else load_cores)
        return self.baseline_memory + self.memory_per_unit * served


def load_spec_text(text: str, source: str = "<load>") -> LoadSpec:
    return LoadSpec.from_value(load_yaml(source, LOAD, text=text))


def load_spec_file(path: str | Path) -> LoadSpec:
    return LoadSpec.from_value(load_yaml(path, LOAD))
