"""The experiment file format: what an HPA experiment may say, checked on load.

An experiment is one Deployment under load, one or more HorizontalPodAutoscaler variants to
compare, and the cluster they run in (fleet, metricsd's resolution, the HPA controller's
flags). Each variant runs in a cluster of its own on accelerated time with the same seed, so
the variants differ only in what the file says differs. docs/experiments.md is the guide;
this module is the single source of truth for the shape, and every error names the file,
the line and the path inside it (``scenarios.yamlschema``).

What a variant does not say it inherits from the top level: ``hpa`` and ``deployment`` are
replaced whole (users compare the objects they would apply), ``controller`` and
``metricsd`` key by key.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scenarios.experiment.bounds import Bound, parse_bound
from scenarios.experiment.load import EXPERIMENT_LOAD, load_spec_for
from scenarios.experiment.objects import (
    Workload,
    deployment_problems,
    hpa_problems,
    per_pod_target,
    workload_of,
)
from scenarios.schema import Duration
from scenarios.yamlschema import (
    AnyValue,
    Embedded,
    Field,
    Int,
    ListOf,
    MapOf,
    Record,
    Schema,
    SchemaError,
    Str,
    _Ctx,
    compose_file,
    nearest_line,
    node_lines,
    plain,
)

__all__ = ["DEFAULT_FLEET", "Experiment", "Variant", "load_experiment"]

REPO_FLEETS = Path(__file__).resolve().parents[1] / "fleets"
#: a small kind-like cluster: one control-plane node and two workers, 4 CPUs and 8Gi each
DEFAULT_FLEET = REPO_FLEETS / "hpa-kind.yaml"
NAME = Str(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?",
           "a name of lower-case letters, digits, '-' and '.' (it names the CSV file)")


class Bounds(Schema):
    """``expect:``: summary figure → a bound or a list of bounds (scenarios.experiment.bounds)."""

    description = "a mapping of summary figure to a comparison such as '<= 105'"

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        raw = MapOf(AnyValue()).check(node, path, ctx)
        lines = node_lines(node, path)
        out: list[Bound] = []
        for key, value in raw.items():
            where = f"{path}.{key}"
            texts = value if isinstance(value, list) else [value]
            for i, text in enumerate(texts):
                sub = f"{where}[{i}]" if isinstance(value, list) else where
                if isinstance(text, bool) or not isinstance(text, str | int | float):
                    raise SchemaError(ctx.source, nearest_line(lines, sub), sub,
                                      "expected a comparison such as '<= 105'")
                try:
                    out.append(parse_bound(str(key), str(text)))
                except ValueError as err:
                    raise SchemaError(ctx.source, nearest_line(lines, sub), sub,
                                      str(err)) from None
        return out


class Fleet(Schema):
    """An inline fleet spec (docs/fakekubelet-spec.md), validated by fakekubelet itself."""

    description = "a fleet spec (docs/fakekubelet-spec.md)"

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        from fakekubelet.spec import SpecError, load_spec_node

        try:
            return load_spec_node(node, ctx.source, self.base_dir)
        except SpecError as err:
            sub = f"{path}.{err.path}" if err.path else path
            reason = err.reason + (f" (expected {err.expected})" if err.expected else "")
            raise SchemaError(ctx.source, err.line, sub, reason) from None


DEPLOYMENT = Embedded("an apps/v1 Deployment", deployment_problems)
HPA = Embedded("an autoscaling/v2 HorizontalPodAutoscaler", hpa_problems)
METRICSD = Record(
    {
        "resolution": Field(Duration, doc="metricsd's --metric-resolution"),
        "args": Field(ListOf(Str(r"--?[a-z][a-z0-9-]*(=.*)?", "a flag such as --v=2")),
                      doc="more metricsd flags"),
        "readinessProbePeriod": Field(Duration, doc="the manifest's readinessProbe "
                                      "periodSeconds (10 s): how often the APIService's "
                                      "backend is probed"),
    },
    description="metricsd settings (resolution, args, readinessProbePeriod)",
)
CONTROLLER = MapOf(AnyValue(), key=Str(
    r"--[a-z][a-z0-9-]*|[a-z][a-zA-Z0-9]*",
    "a kube-controller-manager flag such as --horizontal-pod-autoscaler-tolerance"))


def _record(base_dir: Path) -> Record:
    variant = Record(
        {
            "name": Field(NAME, required=True),
            "description": Field(Str()),
            "hpa": Field(HPA, doc="replaces the top-level hpa"),
            "deployment": Field(DEPLOYMENT, doc="replaces the top-level deployment"),
            "controller": Field(CONTROLLER, doc="flags over the top-level controller flags"),
            "metricsd": Field(METRICSD, doc="over the top-level metricsd settings"),
            "expect": Field(Bounds(), default=[]),
        },
        description="a variant",
    )
    return Record(
        {
            "name": Field(NAME, required=True),
            "description": Field(Str(), required=True),
            "duration": Field(Duration, required=True, doc="simulated time per variant"),
            "seed": Field(Int(minimum=0), default=1),
            "sampleEvery": Field(Duration, default=5.0, doc="the CSV's sample period"),
            "kubernetesVersion": Field(Str(r"1\.\d+", "a version such as 1.30"),
                                       default="1.30"),
            "fleet": Field(Fleet(base_dir), doc="an inline fleet spec"),
            "fleetFile": Field(Str(), doc="a fleet spec file, relative to the experiment"),
            "metricsd": Field(METRICSD, default=None),
            "controller": Field(CONTROLLER, default={}),
            "deployment": Field(DEPLOYMENT, required=True),
            "hpa": Field(HPA),
            "load": Field(EXPERIMENT_LOAD, required=True),
            "variants": Field(ListOf(variant, min_items=1), required=True),
            "expect": Field(Bounds(), default=[], doc="bounds every variant must meet"),
        },
        description="an experiment",
    )


@dataclass(frozen=True)
class Variant:
    """One configuration to run, everything resolved (nothing inherited any more)."""

    name: str
    description: str
    hpa: dict[str, Any]
    deployment: dict[str, Any]
    workload: Workload
    controller: dict[str, str]           # flag → value text, as on the command line
    resolution: float                    # metricsd --metric-resolution, seconds
    metricsd_args: tuple[str, ...]
    per_pod_target: float | None         # cores per pod the HPA aims at
    probe_period: float = 10.0           # metricsd's readiness probe period, seconds
    bounds: tuple[Bound, ...] = ()


@dataclass(frozen=True)
class Experiment:
    path: Path
    name: str
    description: str
    duration: float
    seed: int
    sample_every: float
    kube_version: str
    fleet: Any                           # fakekubelet.spec.FleetSpec
    load: dict[str, Any]                 # the load: mapping as written (for reports)
    load_spec: Any                       # scenarios.load.spec.LoadSpec
    variants: tuple[Variant, ...]
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)


def _controller_texts(values: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in values.items():
        if isinstance(value, bool):
            text = str(value).lower()
        elif isinstance(value, dict):  # feature gates as a mapping
            text = ",".join(f"{k}={str(v).lower()}" for k, v in value.items())
        else:
            text = str(value)
        out[str(key)] = text
    return out


def _check_controller(values: dict[str, str], kube_version: str, source: str,
                      lines: dict[str, int], path: str) -> None:
    """The flags as kube-controller-manager parses and validates them (fakeapiserver's
    HPA settings); the error names the flag's line."""
    from fakeapiserver.controllers.hpaconfig import ConfigError, HPAControllerConfig
    from fakeapiserver.discovery import parse_version

    gates = ""
    texts = {}
    for key, text in values.items():
        if key in ("--feature-gates", "featureGates"):
            gates = text
        else:
            texts[key] = text
    for key, text in texts.items():  # one at a time: the error is that flag's
        try:
            HPAControllerConfig.from_texts({key: text})
        except ConfigError as err:
            sub = f"{path}.{key}"
            raise SchemaError(source, nearest_line(lines, sub), sub, str(err)) from None
    try:
        HPAControllerConfig.from_texts(texts, gates).validate(parse_version(kube_version))
    except ConfigError as err:
        raise SchemaError(source, nearest_line(lines, path), path, str(err)) from None


def load_experiment(path: Path | str, text: str | None = None) -> Experiment:
    """Load and validate one experiment file; raises SchemaError with file, line and path."""
    source = str(path)
    base_dir = Path(path).resolve().parent
    root = compose_file(path, text=text)
    raw = _record(base_dir).check(root, "", _Ctx(source))
    lines = node_lines(root)

    def fail(where: str, message: str) -> SchemaError:
        return SchemaError(source, nearest_line(lines, where), where, message)

    if raw["fleet"] is not None and raw["fleetFile"] is not None:
        raise fail("fleetFile", "give either fleet or fleetFile, not both")
    fleet = raw["fleet"]
    if fleet is None:
        from fakekubelet.spec import SpecError, load_spec

        fleet_path = (base_dir / raw["fleetFile"]) if raw["fleetFile"] else DEFAULT_FLEET
        try:
            fleet = load_spec(fleet_path)
        except SpecError as err:
            where = "fleetFile" if raw["fleetFile"] else "fleet"
            raise fail(where, str(err)) from None
    top_workload = workload_of(raw["deployment"])
    load_value = raw["load"]
    for key, want in (("deployment", top_workload.name), ("namespace", top_workload.namespace)):
        if load_value.get(key) is not None and load_value[key] != want:
            raise fail(f"load.{key}", f"expected the experiment's Deployment's {key} "
                                      f"{want!r}, got {load_value[key]!r}")
    spec_of_load = load_spec_for(load_value, top_workload.name, top_workload.namespace,
                                 raw["seed"])
    load_node = next(v for k, v in root.value if k.value == "load")
    top_metricsd = raw["metricsd"] or {}
    names = [v["name"] for v in raw["variants"]]
    variants = []
    for i, v in enumerate(raw["variants"]):
        where = f"variants[{i}]"
        if names.index(v["name"]) != i:
            raise fail(f"{where}.name", f"duplicate variant name {v['name']!r}")
        hpa = copy.deepcopy(v["hpa"] if v["hpa"] is not None else raw["hpa"])
        if hpa is None:
            raise fail(where, "missing key 'hpa' (no top-level hpa to inherit)")
        deployment = copy.deepcopy(v["deployment"] or raw["deployment"])
        workload = workload_of(deployment)
        if (workload.name, workload.namespace) != (top_workload.name, top_workload.namespace):
            raise fail(f"{where}.deployment.metadata",
                       f"expected the Deployment the load is on, {top_workload.namespace}/"
                       f"{top_workload.name}, got {workload.namespace}/{workload.name}")
        ref = hpa.get("spec", {}).get("scaleTargetRef", {})
        hpa_where = f"{where}.hpa" if v["hpa"] is not None else "hpa"
        if (ref.get("kind"), ref.get("name")) != ("Deployment", workload.name):
            raise fail(f"{hpa_where}.spec.scaleTargetRef",
                       f"expected the experiment's Deployment {workload.name!r} "
                       f"(kind: Deployment, name: {workload.name}), got "
                       f"{ref.get('kind')}/{ref.get('name')}")
        hpa_ns = hpa.get("metadata", {}).get("namespace")
        if hpa_ns is not None and hpa_ns != workload.namespace:
            raise fail(f"{hpa_where}.metadata.namespace",
                       f"expected the Deployment's namespace {workload.namespace!r}")
        controller = _controller_texts({**raw["controller"], **(v["controller"] or {})})
        _check_controller(controller, raw["kubernetesVersion"], source, lines,
                          f"{where}.controller" if v["controller"] else "controller")
        metricsd = {**top_metricsd, **{k: x for k, x in (v["metricsd"] or {}).items()
                                       if x is not None}}
        bounds = [*raw["expect"], *v["expect"]]
        target = per_pod_target(hpa, workload)
        for bound in bounds:
            at = f"{where}.expect.{bound.key}" if bound in v["expect"] else f"expect.{bound.key}"
            if bound.variant is not None and bound.variant not in names:
                raise fail(at, f"no variant named {bound.variant!r} (variants: "
                               f"{', '.join(names)})")
            if target is None and bound.key in ("podSecondsOver", "podSecondsUnder"):
                raise fail(at, "this variant's HPA has no CPU target to measure "
                               "provisioning against")
        variants.append(Variant(
            name=v["name"],
            description=v["description"] or "",
            hpa=hpa,
            deployment=deployment,
            workload=workload,
            controller=controller,
            resolution=float(metricsd.get("resolution") or 15.0),
            metricsd_args=tuple(metricsd.get("args") or ()),
            per_pod_target=target,
            probe_period=float(metricsd.get("readinessProbePeriod") or 10.0),
            bounds=tuple(bounds),
        ))
    if raw["sampleEvery"] <= 0:
        raise fail("sampleEvery", "expected a duration > 0")
    if raw["duration"] <= 0:
        raise fail("duration", "expected a duration > 0")
    return Experiment(
        path=Path(path),
        name=raw["name"],
        description=raw["description"],
        duration=raw["duration"],
        seed=raw["seed"],
        sample_every=raw["sampleEvery"],
        kube_version=raw["kubernetesVersion"],
        fleet=fleet,
        load=plain(load_node),
        load_spec=spec_of_load,
        variants=tuple(variants),
        raw=raw,
    )
