"""The scenario file format: what a scenario may say, checked on load.

A scenario is a cluster (node groups, pods, load, faults, emulated Kubernetes version), the
metricsd deployment to run (the kind/ manifests with args added, removed or replaced) and a list
of steps, each of which may carry expectations. `docs/scenarios.md` is the user's guide; this
module is the single source of truth for the shape, and every error names file, line and path.

The fleet (`cluster.fleet`, `cluster.fleetFile`) and the `set` of `fault`, `workload` and
`churn` steps are fakekubelet's formats, checked when the file loads by fakekubelet's own
validators (`scenarios.fleetschema`), on the lines the user wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fakeapiserver.controllers.hpaconfig import SETTINGS as HPA_SETTINGS
from fakeapiserver.controllers.hpaconfig import ConfigError, HPAControllerConfig
from scenarios.fleetschema import ChurnChanges, FaultChanges, Fleet, FleetFile, WorkloadChange
from scenarios.load.spec import LOAD
from scenarios.peers import SERVERS
from scenarios.yamlschema import (
    AnyValue,
    Bool,
    Converted,
    Enum,
    Field,
    Float,
    Int,
    Line,
    ListOf,
    MapOf,
    OneKey,
    Record,
    Schema,
    Str,
    _Ctx,
    load,
)

BACKENDS = ("sim", "kind")
#: A scenario (and a fleet file it names) is read only this far: anything larger is not one.
MAX_FILE_BYTES = 1 << 20
MAX_STEPS = 1000
#: The description is printed in every "starting" progress line and in `list`.
MAX_DESCRIPTION_CHARS = 200
_DURATION = re.compile(r"^(\d+(\.\d+)?(ms|s|m|h))+$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_seconds(text: str) -> float:
    """Parse a Go-style duration (`500ms`, `15s`, `1m30s`) into seconds."""
    if not _DURATION.fullmatch(text):
        raise ValueError(f"a duration such as 500ms, 15s or 1m30s, got {text!r}")
    return sum(float(n) * _UNITS[u] for n, _, u in re.findall(r"(\d+(\.\d+)?)(ms|s|m|h)", text))


Duration = Converted("a duration such as 500ms, 15s or 1m30s", parse_seconds)
KubectlVersion = Str(r"1\.\d+|all|default", "a kubectl version such as 1.30, or all, or default")


class Text(Schema):
    """A text expectation: a plain string means "equals"; a mapping allows other matchers."""

    description = "a string, or a mapping with equals, contains, notContains, regex"
    # contains, notContains and regex take a string or a list (every item must hold)
    _record = Record(
        {
            "equals": Field(Str(description="a string")),
            "contains": Field(AnyValue()),
            "notContains": Field(AnyValue()),
            "regex": Field(AnyValue()),
        },
        description="a text matcher",
    )

    def check(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return {"equals": Str().check(node, path, ctx)}
        value = self._record.check(node, path, ctx)
        one_regex = isinstance(value["regex"], str)
        for key in ("contains", "notContains", "regex"):
            if isinstance(value[key], str):
                value[key] = [value[key]]
            elif value[key] is not None and not (
                isinstance(value[key], list) and all(isinstance(v, str) for v in value[key])
            ):
                raise ctx.fail(node, f"{path}.{key}", "expected a string or a list of strings")
        for index, pattern in enumerate(value["regex"] or []):
            where = f"{path}.regex" + ("" if one_regex else f"[{index}]")
            try:
                re.compile(pattern)
            except re.error as err:
                raise ctx.fail(node, where, f"not a regular expression: {err}") from None
        return {k: v for k, v in value.items() if v is not None}


TEXT = Text()


def _not_both(value: dict[str, Any], node: yaml.Node, path: str, ctx: _Ctx) -> None:
    if value["fleet"] is not None and value["fleetFile"] is not None:
        raise ctx.fail(node, path, "give either fleet or fleetFile, not both")

ARGS = Record(
    {
        "add": Field(ListOf(Str(r"--?[a-z][a-z0-9-]*(=.*)?", "a flag such as --v=6")), default=[]),
        "remove": Field(ListOf(Str(r"--?[a-z][a-z0-9-]*", "a flag name such as --v")), default=[]),
        "set": Field(MapOf(Str(), key=Str(r"--?[a-z][a-z0-9-]*", "a flag name")), default={}),
    },
    description="an args change (add, remove, set)",
)

TOLERANCE = Record(
    {
        "cpuMillicores": Field(Float(minimum=0), default=2.0),
        "cpuRelative": Field(Float(minimum=0), default=0.02),
        "memoryMiB": Field(Float(minimum=0), default=1.0),
        "memoryRelative": Field(Float(minimum=0), default=0.01),
    },
    description="a tolerance",
)

EXPECT = Record(
    {
        "exitCode": Field(Int(minimum=0, maximum=255), doc="kubectl's exit status"),
        "stdout": Field(TEXT),
        "stderr": Field(TEXT),
        "top": Field(
            Record(
                {
                    "groundTruth": Field(Bool(), default=True),
                    "rows": Field(ListOf(Str()), doc="names that must appear"),
                    "rowCount": Field(Int(minimum=0)),
                    "tolerance": Field(TOLERANCE),
                },
                description="a kubectl top expectation",
            )
        ),
        "log": Field(TEXT, doc="metricsd's log"),
        "status": Field(Int(minimum=100, maximum=599), doc="HTTP status"),
        "body": Field(TEXT),
        "json": Field(MapOf(AnyValue()), doc="dotted path -> expected value"),
        "metrics": Field(
            MapOf(Str(r"(==|!=|>=|<=|>|<)\s*-?\d+(\.\d+)?", "a comparison such as '>= 1'")),
            doc="series -> comparison",
        ),
        "apiservice": Field(
            Record(
                {
                    "available": Field(Enum("True", "False", "Unknown")),
                    "reason": Field(Str()),
                    "message": Field(TEXT),
                },
                description="an APIService condition",
            )
        ),
        "pod": Field(
            Record(
                {
                    "ready": Field(Str(r"\d+/\d+", "READY as kubectl prints it, e.g. 0/1")),
                    "status": Field(Str()),
                    "minRestarts": Field(Int(minimum=0)),
                },
                description="a pod expectation",
            )
        ),
        "events": Field(TEXT),
    },
    description="an expectation",
)

def _exactly_one(*keys: str) -> Any:
    def check(value: dict[str, Any], node: yaml.Node, path: str, ctx: _Ctx) -> None:
        given = [k for k in keys if value.get(k) is not None]
        if len(given) != 1:
            found = ", ".join(given) or "none"
            raise ctx.fail(node, path, f"give exactly one of {', '.join(keys)}; found {found}")

    return check


WAIT = Record(
    {
        "apiservice": Field(
            Record(
                {"available": Field(Enum("True", "False", "Unknown"), required=True),
                 "reason": Field(Str())},
                description="an APIService condition",
            )
        ),
        "pod": Field(
            Record(
                {
                    "ready": Field(Bool()),
                    "status": Field(Str()),
                    "minRestarts": Field(Int(minimum=0)),
                },
                description="a pod condition",
            )
        ),
        "probe": Field(
            Record(
                {"path": Field(Str(r"/.*", "a path"), required=True),
                 "status": Field(Int(minimum=100, maximum=599), required=True)},
                description="a probe answer",
            )
        ),
        "log": Field(TEXT),
        "scrapes": Field(Int(minimum=1), doc="scrape cycles completed from now"),
    },
    description="a condition to wait for",
    check_extra=_exactly_one("apiservice", "pod", "probe", "log", "scrapes"),
)

def _once_is_one_version(value: dict[str, Any], node: yaml.Node, path: str, ctx: _Ctx) -> None:
    if value["once"] and value["version"] == "all":
        raise ctx.fail(node, path, "once runs one kubectl: it cannot be combined with "
                       "version: all")


STEPS: dict[str, Schema] = {
    "install": Record({"args": Field(ARGS, default=None)}, description="an install step"),
    "uninstall": Record({}, description="an uninstall step"),
    "wait": WAIT,
    "kubectl": Record(
        {
            "args": Field(ListOf(Str(), min_items=1), required=True),
            "version": Field(KubectlVersion),
            "stdin": Field(Str()),
            "once": Field(Bool(), default=False,
                          doc="a command that changes the cluster (create, autoscale): run "
                          "it with one kubectl even when --kubectl all asks for every one"),
        },
        description="a kubectl step",
        check_extra=_once_is_one_version,
    ),
    "metricsApi": Record(
        {
            "path": Field(Str(r"/apis/metrics\.k8s\.io.*", "a path under /apis/metrics.k8s.io"),
                          required=True),
            "via": Field(Enum("aggregator", "direct"), default="aggregator"),
        },
        description="a Metrics API call",
    ),
    "probe": Record(
        {"path": Field(Str(r"/.*", "a path such as /readyz?verbose"), required=True)},
        description="a probe call",
    ),
    "fault": Record(
        {
            "node": Field(Str()),
            "nodes": Field(ListOf(Str())),
            "set": Field(FaultChanges(), required=True),
        },
        description="a fault change",
        check_extra=_exactly_one("node", "nodes"),
    ),
    "workload": Record(
        {
            "pod": Field(Str(r"[a-z0-9.-]+/[a-z0-9.-]+", "namespace/name"), required=True),
            "container": Field(Str(), required=True),
            "set": Field(WorkloadChange(), required=True),
        },
        description="a workload change",
    ),
    "churn": Record({"set": Field(ChurnChanges(), required=True)}, description="a churn change"),
    "load": LOAD,
    "sleep": Duration,
}
SIM_ONLY_STEPS = frozenset({"fault", "workload", "churn", "load"})

STEP = OneKey(
    STEPS,
    shared={
        "name": Field(Str()),
        "say": Field(Str(), doc="narration printed before the step when the runner echoes"),
        "only": Field(Enum(*BACKENDS), doc="run this step on one backend only"),
        "timeout": Field(Duration),
        "expect": Field(EXPECT),
    },
)

def _hpa_setting(setting: Any) -> Converted:
    """A kube-controller-manager HPA setting, checked as the flag parser checks it; the text
    is kept (it becomes the flag's value)."""

    def convert(text: str) -> str:
        setting.parse(text)
        return text

    kind = {"15s": "a Go duration such as 15s or 1m30s", "0.1": "a number such as 0.1",
            "5": "an integer such as 5"}
    return Converted(kind.get(setting.default, "a Go duration such as 5m0s"), convert)


CONTROLLER_MANAGER = Record(
    {
        **{s.key: Field(_hpa_setting(s), doc=f"{s.flag} (default {s.default})")
           for s in HPA_SETTINGS},
        "featureGates": Field(MapOf(Bool()), doc="--feature-gates the HPA consults"),
    },
    description="kube-controller-manager settings",
)


def _check_cluster(value: dict[str, Any], node: yaml.Node, path: str, ctx: _Ctx) -> None:
    """fleet xor fleetFile; the HPA settings as kube-controller-manager validates them, for
    the emulated version."""
    _not_both(value, node, path, ctx)
    settings = value.get("controllerManager")
    if not settings:
        return
    where = next((v for k, v in node.value if getattr(k, "value", None) == "controllerManager"),
                 node)
    texts = {k: v for k, v in settings.items() if k != "featureGates" and v is not None}
    try:
        config = HPAControllerConfig.from_texts(texts, settings.get("featureGates") or {})
        major, minor = (int(p) for p in str(value["kubernetesVersion"]).split(".")[:2])
        config.validate((major, minor))
    except ConfigError as err:
        raise ctx.fail(where, f"{path}.controllerManager", str(err)) from None


def controller_manager_args(cluster: dict[str, Any]) -> list[str]:
    """The fakeapiserver flags for a scenario's ``cluster.controllerManager``."""
    settings = cluster.get("controllerManager") or {}
    args = [f"{s.flag}={settings[s.key]}" for s in HPA_SETTINGS
            if settings.get(s.key) is not None]
    gates = settings.get("featureGates") or {}
    if gates:
        args.append("--feature-gates=" + ",".join(f"{k}={str(v).lower()}"
                                                  for k, v in gates.items()))
    return args


SCENARIO = Record(
    {
        "name": Field(Str(r"[a-z0-9][a-z0-9-]*", "a name of lower-case letters, digits, -"),
                      required=True),
        "description": Field(Line(MAX_DESCRIPTION_CHARS), required=True),
        "backends": Field(ListOf(Enum(*BACKENDS), min_items=1), default=list(BACKENDS)),
        "kubectl": Field(KubectlVersion, default="default"),
        "cluster": Field(
            Record(
                {
                    "kubernetesVersion": Field(Str(r"1\.\d+", "a version such as 1.30"),
                                               default="1.30"),
                    "fleet": Field(Fleet(), doc="an inline fleet spec (fakekubelet-spec.md)"),
                    "fleetFile": Field(FleetFile(MAX_FILE_BYTES),
                                       doc="a fleet spec file, relative to the scenario"),
                    "frontProxy": Field(
                        Enum("trusted", "untrusted"),
                        default="trusted",
                        doc="untrusted: the aggregator's client certificate is signed by a CA "
                        "the cluster does not publish (sim only)",
                    ),
                    "controllerManager": Field(
                        CONTROLLER_MANAGER,
                        doc="kube-controller-manager's HPA settings (sim only; a kind "
                        "cluster keeps the flags it was created with)",
                    ),
                },
                description="a cluster",
                check_extra=_check_cluster,
            ),
            required=True,
        ),
        "metricsd": Field(
            Record(
                {
                    "manifests": Field(Str(), default="kind/manifests/base"),
                    "args": Field(ARGS, default=None),
                    "installed": Field(Bool(), default=False),
                    "server": Field(
                        Enum(*SERVERS),
                        default="metricsd",
                        doc="upstream: the manifests' image runs the real metrics-server "
                        "v0.7.1 built by peers/build.py (sim only)",
                    ),
                },
                description="the metricsd deployment",
            ),
            default=None,
        ),
        "steps": Field(ListOf(STEP, min_items=1, max_items=MAX_STEPS), required=True),
    },
    description="a scenario",
)


@dataclass(frozen=True)
class Scenario:
    path: Path
    name: str
    description: str
    backends: tuple[str, ...]
    kubectl: str
    cluster: dict[str, Any]
    metricsd: dict[str, Any]
    steps: list[dict[str, Any]]


def load_scenario(path: Path | str, text: str | None = None) -> Scenario:
    """Load and validate one scenario file; raises SchemaError with file, line and path."""
    raw = load(path, SCENARIO, text=text, max_bytes=MAX_FILE_BYTES, what="scenario file")
    cluster = raw["cluster"]
    metricsd = raw["metricsd"] or {"manifests": "kind/manifests/base", "args": None,
                                   "installed": False, "server": "metricsd"}
    return Scenario(
        path=Path(path),
        name=raw["name"],
        description=raw["description"],
        backends=tuple(raw["backends"]),
        kubectl=raw["kubectl"],
        cluster=cluster,
        metricsd=metricsd,
        steps=raw["steps"],
    )
