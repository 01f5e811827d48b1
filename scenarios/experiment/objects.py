"""The Kubernetes objects of an experiment: checks before anything runs, and the facts the
summary needs from them.

Users paste the Deployment and HorizontalPodAutoscaler they already have, so the file holds
them as they are (``apps/v1``, ``autoscaling/v2``) and they are checked up front the way the
API server would refuse them — an experiment that dies at minute 20 of a run because of a
typo in ``resources`` wastes the run. The HPA goes through podautoscaler's own parser and
validation (the rules kube-apiserver applies to an HPA, pkg/apis/autoscaling/validation);
the Deployment through the subset of apps/v1 validation that matters here (names, selector
vs template labels, containers, quantities, requests ≤ limits, probe fields),
with apimachinery's texts.

Problems are ``(path inside the object, message)``; ``scenarios.yamlschema.Embedded`` turns
the first into ``file:line: path: message``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from podautoscaler.case import parse_hpa
from podautoscaler.model import CaseError
from podautoscaler.quantities import QuantityError, parse_quantity
from podautoscaler.validation import validate_hpa

__all__ = ["Problems", "Workload", "deployment_problems", "hpa_problems", "per_pod_target",
           "workload_of"]

Problems = list[tuple[str, str]]

_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_PROBE_FIELDS = ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold",
                 "failureThreshold")


def _m(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _name_problems(value: object, path: str, pattern: re.Pattern[str], what: str) -> Problems:
    if not isinstance(value, str) or not value:
        return [(path, "Required value: name or generateName is required")]
    if len(value) > 253 or not pattern.fullmatch(value):
        return [(path, f'Invalid value: "{value}": a lowercase RFC 1123 {what} must consist '
                 "of lower case alphanumeric characters, '-' or '.', and must start and end "
                 "with an alphanumeric character")]
    return []


def _quantity(value: object) -> float:
    return float(parse_quantity(value).value)


def _resources_problems(res: object, path: str) -> Problems:
    out: Problems = []
    if res is None:
        return out
    if not isinstance(res, Mapping):
        return [(path, "expected a mapping with requests, limits")]
    parsed: dict[str, dict[str, float]] = {}
    for part in ("requests", "limits"):
        values = res.get(part)
        if values is None:
            continue
        if not isinstance(values, Mapping):
            out.append((f"{path}.{part}", "expected a mapping of resource name to quantity"))
            continue
        parsed[part] = {}
        for name, raw in values.items():
            try:
                amount = _quantity(raw)
            except QuantityError as err:
                out.append((f"{path}.{part}.{name}", f'Invalid value: "{raw}": {err}'))
                continue
            if amount < 0:
                out.append((f"{path}.{part}.{name}",
                            f'Invalid value: "{raw}": must be greater than or equal to 0'))
            parsed[part][str(name)] = amount
    for name, request in parsed.get("requests", {}).items():
        limit = parsed.get("limits", {}).get(name)
        if limit is not None and request > limit:
            raw_limit = _m(res.get("limits")).get(name)
            raw_request = _m(res.get("requests")).get(name)
            out.append((f"{path}.requests", f'Invalid value: "{raw_request}": must be less '
                        f"than or equal to {name} limit of {raw_limit}"))
    return out


def _probe_problems(probe: object, path: str) -> Problems:
    if probe is None:
        return []
    if not isinstance(probe, Mapping):
        return [(path, "expected a mapping (a probe)")]
    out: Problems = []
    for key in _PROBE_FIELDS:
        value = probe.get(key)
        if value is None:
            continue
        minimum = 1 if key in ("periodSeconds", "timeoutSeconds", "successThreshold",
                               "failureThreshold") else 0
        if isinstance(value, bool) or not isinstance(value, int):
            out.append((f"{path}.{key}", f"expected an integer, got {value!r}"))
        elif value < minimum:
            out.append((f"{path}.{key}", f"Invalid value: {value}: must be greater than or "
                        f"equal to {minimum}"))
    return out


def _container_problems(c: object, path: str, names: set[str]) -> Problems:
    if not isinstance(c, Mapping):
        return [(path, "expected a mapping (a container)")]
    out: Problems = []
    name = c.get("name")
    if not isinstance(name, str) or not name:
        out.append((f"{path}.name", "Required value"))
    elif not _DNS1123_LABEL.fullmatch(name) or len(name) > 63:
        out.append((f"{path}.name", f'Invalid value: "{name}": a lowercase RFC 1123 label '
                    "must consist of lower case alphanumeric characters or '-', and must "
                    "start and end with an alphanumeric character"))
    elif name in names:
        out.append((f"{path}.name", f'Duplicate value: "{name}"'))
    else:
        names.add(name)
    if not isinstance(c.get("image"), str) or not c.get("image"):
        out.append((f"{path}.image", "Required value"))
    out += _resources_problems(c.get("resources"), f"{path}.resources")
    out += _probe_problems(c.get("readinessProbe"), f"{path}.readinessProbe")
    return out


def deployment_problems(obj: Any) -> Problems:
    """What kube-apiserver would refuse in an ``apps/v1`` Deployment (the parts used here)."""
    if not isinstance(obj, Mapping):
        return [("", "expected a Deployment (a mapping)")]
    out: Problems = []
    if obj.get("apiVersion") != "apps/v1":
        out.append(("apiVersion", f"expected apps/v1, got {obj.get('apiVersion')!r}"))
    if obj.get("kind") != "Deployment":
        out.append(("kind", f"expected Deployment, got {obj.get('kind')!r}"))
    meta = _m(obj.get("metadata"))
    out += _name_problems(meta.get("name"), "metadata.name", _DNS1123_SUBDOMAIN, "subdomain")
    if meta.get("namespace") is not None:
        out += _name_problems(meta.get("namespace"), "metadata.namespace", _DNS1123_LABEL,
                              "label")
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return [*out, ("spec", "Required value")]
    replicas = spec.get("replicas")
    if replicas is not None and (isinstance(replicas, bool) or not isinstance(replicas, int)
                                 or replicas < 0):
        out.append(("spec.replicas", f"Invalid value: {replicas!r}: must be greater than or "
                    "equal to 0"))
    selector = spec.get("selector")
    match = _m(_m(selector).get("matchLabels"))
    if not isinstance(selector, Mapping) or not (match or _m(selector).get("matchExpressions")):
        out.append(("spec.selector", "Required value"))
    elif _m(selector).get("matchExpressions"):
        out.append(("spec.selector.matchExpressions",
                    "not supported in experiments: use matchLabels"))
    template = _m(spec.get("template"))
    labels = _m(_m(template.get("metadata")).get("labels"))
    if match and any(labels.get(k) != v for k, v in match.items()):
        shown = ", ".join(f"{k}:{v}" for k, v in labels.items())
        out.append(("spec.template.metadata.labels", f"Invalid value: map[{shown}]: "
                    "`selector` does not match template `labels`"))
    pod_spec = template.get("spec")
    containers = _m(pod_spec).get("containers")
    if not isinstance(containers, list) or not containers:
        out.append(("spec.template.spec.containers", "Required value"))
        return out
    names: set[str] = set()
    for i, c in enumerate(containers):
        out += _container_problems(c, f"spec.template.spec.containers[{i}]", names)
    for i, c in enumerate(_m(pod_spec).get("initContainers") or []):
        out += _container_problems(c, f"spec.template.spec.initContainers[{i}]", names)
    return out


@dataclass(frozen=True)
class Workload:
    """What the experiment needs to know about its Deployment."""

    name: str
    namespace: str
    labels: Mapping[str, str]        # the selector's matchLabels
    replicas: int                    # spec.replicas (default 1)
    cpu_request: float               # cores per pod (regular containers + sidecars)
    cpu_limit: float | None          # cores per pod; None when a container has no limit


def _serving_containers(pod_spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Regular containers plus sidecars (init containers with restartPolicy Always)."""
    regular = [_m(c) for c in pod_spec.get("containers") or []]
    sidecars = [_m(c) for c in pod_spec.get("initContainers") or []
                if _m(c).get("restartPolicy") == "Always"]
    return regular + sidecars


def workload_of(deployment: Mapping[str, Any]) -> Workload:
    """The facts of a Deployment that passed :func:`deployment_problems`."""
    meta = _m(deployment.get("metadata"))
    spec = _m(deployment.get("spec"))
    pod_spec = _m(_m(spec.get("template")).get("spec"))
    request = 0.0
    limit: float | None = 0.0
    for c in _serving_containers(pod_spec):
        res = _m(c.get("resources"))
        requests, limits = _m(res.get("requests")), _m(res.get("limits"))
        # as the API server defaults it: a limit without a request is also the request
        raw_request = requests.get("cpu", limits.get("cpu"))
        request += _quantity(raw_request) if raw_request is not None else 0.0
        if limit is not None:
            limit = limit + _quantity(limits["cpu"]) if "cpu" in limits else None
    replicas = spec.get("replicas")
    return Workload(
        name=str(meta.get("name")),
        namespace=str(meta.get("namespace") or "default"),
        labels={str(k): str(v) for k, v in _m(_m(spec.get("selector")).get("matchLabels"))
                .items()},
        replicas=1 if replicas is None else int(replicas),
        cpu_request=request,
        cpu_limit=limit,
    )


def hpa_problems(obj: Any, scale_to_zero: bool = False) -> Problems:
    """podautoscaler's parse (types, shapes) then the API server's validation."""
    try:
        parse_hpa(obj, "")
    except CaseError as err:
        return [(err.path.lstrip("."), err.message)]
    return [(e.path, e.text.split(": ", 1)[1] if ": " in e.text else e.text)
            for e in validate_hpa(obj, scale_to_zero=scale_to_zero)]


def per_pod_target(hpa: Mapping[str, Any], workload: Workload) -> float | None:
    """Cores per pod the HPA aims at, from its first CPU Resource metric: the utilization
    target × the pod's CPU request, or the average value; None without such a metric (or a
    utilization target with no request)."""
    model = parse_hpa(hpa, "")
    for metric in model.metrics:
        if metric.type != "Resource" or metric.name != "cpu":
            continue
        target = metric.target
        if target.type == "Utilization" and target.average_utilization is not None:
            if workload.cpu_request <= 0:
                return None
            return target.average_utilization / 100 * workload.cpu_request
        if target.type == "AverageValue" and target.average_value is not None:
            value = float(target.average_value.value)
            return value if value > 0 else None
    return None
