"""A Pod object as the fleet runs it: containers, probes, delays and idle usage.

Users write ordinary Deployments; what a real cluster would add — how long an image takes to
pull and start, how the application idles, how long it takes to exit on SIGTERM — comes from
(first that says it):

1. the pod's annotations (from the Deployment's pod template), per pod:

   ============================================ =====================================
   ``sim.metricsd.io/startup-seconds``          ContainerCreating (pull + create)
   ``sim.metricsd.io/termination-seconds``      exit after SIGTERM (default: only at the
                                                grace period's end, by SIGKILL)
   ``sim.metricsd.io/run-seconds``              an init container's run to completion
   ``sim.metricsd.io/cpu``                      idle CPU until a load model drives it
   ``sim.metricsd.io/memory``                   idle working set
   ============================================ =====================================

   Each value is one setting for every container (``"3"``, ``"5m"``, ``"64Mi"``) or
   ``container=value`` pairs separated by commas, optionally with one bare value for the
   rest (``"2, envoy=0.5"``);
2. the fleet spec's ``images:`` profiles (``fakekubelet.images``), by image pattern;
3. the defaults: no delays, 1m CPU, 4 MiB.

The readiness probe (``initialDelaySeconds``, ``periodSeconds``, ``successThreshold``), the
requests and limits, init containers and sidecars (init containers with ``restartPolicy:
Always``) and the grace period come from the pod spec itself. A bad value is a
:class:`SimSettingError` naming the annotation or field; the controller shows it on the pod
as a kubelet shows a bad container config (``CreateContainerConfigError``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fakeapiserver.controllers.common import Obj, meta, spec
from fakekubelet.images import ImageProfile, profile_for
from fakekubelet.model import Resources
from fakekubelet.probes import ReadinessProbe
from fakekubelet.quantity import cpu_millicores, memory_bytes, parse_cpu, parse_memory
from fakekubelet.spec import ContainerTemplate, PodTemplate
from fakekubelet.workloads import driven_workload

__all__ = ["ANNOTATIONS", "SimSettingError", "pod_template"]

PREFIX = "sim.metricsd.io/"
STARTUP = PREFIX + "startup-seconds"
TERMINATION = PREFIX + "termination-seconds"
RUN = PREFIX + "run-seconds"
CPU = PREFIX + "cpu"
MEMORY = PREFIX + "memory"
ANNOTATIONS = (STARTUP, TERMINATION, RUN, CPU, MEMORY)


class SimSettingError(ValueError):
    """A pod's simulation setting (an annotation or a field the fleet reads) is invalid."""


def _seconds(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise ValueError(text)
    return value


_PARSERS: dict[str, tuple[Callable[[str], float], str]] = {
    STARTUP: (_seconds, "seconds >= 0"),
    TERMINATION: (_seconds, "seconds >= 0"),
    RUN: (_seconds, "seconds >= 0"),
    CPU: (parse_cpu, "a CPU amount such as 5m"),
    MEMORY: (parse_memory, "a memory amount such as 64Mi"),
}


def parse_setting(key: str, text: str, containers: Iterable[str]) -> dict[str | None, float]:
    """``{container or None (every other): value}`` from an annotation's text."""
    parse, what = _PARSERS[key]
    names = set(containers)
    out: dict[str | None, float] = {}
    expected = f"expected {what}, or CONTAINER=VALUE pairs separated by commas"
    for part in text.split(","):
        part = part.strip()
        name: str | None = None
        value = part
        if "=" in part:
            name, _, value = (x.strip() for x in part.partition("="))
            if name not in names:
                raise SimSettingError(f'annotation {key}: no container "{name}" in this pod '
                                      f"({', '.join(sorted(names))})")
        if name in out:
            raise SimSettingError(f"annotation {key}: {name or 'the default'} is given twice")
        try:
            out[name] = parse(value)
        except ValueError:
            raise SimSettingError(f'annotation {key}: "{value}" is not valid ({expected})'
                                  ) from None
    return out


def _resources(values: Any, where: str) -> Resources:
    if not isinstance(values, Mapping):
        return Resources()
    try:
        return Resources(
            cpu_millicores(values["cpu"]) if values.get("cpu") is not None else None,
            memory_bytes(values["memory"]) if values.get("memory") is not None else None)
    except ValueError as err:
        raise SimSettingError(f"{where}: {err}") from None


def _probe(container: Mapping[str, Any], where: str) -> ReadinessProbe | None:
    probe = container.get("readinessProbe")
    if not isinstance(probe, Mapping):
        return None
    values = []
    for key, default in (("initialDelaySeconds", 0), ("periodSeconds", 10),
                         ("successThreshold", 1)):
        value = probe.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise SimSettingError(f"{where}.readinessProbe.{key}: expected an integer")
        values.append(value)
    try:
        return ReadinessProbe(*values)
    except ValueError as err:
        raise SimSettingError(f"{where}.readinessProbe: {err}") from None


def pod_template(pod: Obj, profiles: Iterable[ImageProfile] = ()) -> PodTemplate:
    """The fleet's template for ``pod`` (raises :class:`SimSettingError`)."""
    s = spec(pod)
    profiles = tuple(profiles)
    regular = [c for c in s.get("containers") or [] if isinstance(c, Mapping)]
    inits = [c for c in s.get("initContainers") or [] if isinstance(c, Mapping)]
    names = [str(c.get("name", "")) for c in (*inits, *regular)]
    annotations = meta(pod).get("annotations") or {}
    settings = {key: parse_setting(key, str(annotations[key]), names)
                for key in ANNOTATIONS if key in annotations}

    def setting(key: str, name: str, default: float | None) -> float | None:
        given = settings.get(key) or {}
        if name in given:
            return given[name]
        return given.get(None, default)

    def container(c: Mapping[str, Any], where: str, init: bool) -> ContainerTemplate:
        name = str(c.get("name", ""))
        image = str(c.get("image") or "")
        profile = profile_for(profiles, image)
        resources = c.get("resources") or {}
        requests = resources.get("requests") if isinstance(resources, Mapping) else None
        limits = resources.get("limits") if isinstance(resources, Mapping) else None
        cpu = setting(CPU, name, profile.cpu)
        memory = setting(MEMORY, name, profile.memory)
        assert cpu is not None and memory is not None
        return ContainerTemplate(
            name=name,
            image=image,
            requests=_resources(requests if requests is not None else limits,
                                f"{where}.resources.requests"),
            limits=_resources(limits, f"{where}.resources.limits"),
            workload=driven_workload(cpu, memory),
            run_seconds=setting(RUN, name, profile.run_seconds) if init else None,
            startup_seconds=setting(STARTUP, name, profile.startup_seconds) or 0.0,
            readiness=None if init else _probe(c, where),
            termination_seconds=setting(TERMINATION, name, profile.termination_seconds),
        )

    sidecars, init_containers = [], []
    for i, c in enumerate(inits):
        if c.get("restartPolicy") == "Always":
            sidecars.append(container(c, f"spec.initContainers[{i}]", False))
        else:
            init_containers.append(container(c, f"spec.initContainers[{i}]", True))
    m = meta(pod)
    return PodTemplate(
        name=str(m.get("name", "")),
        namespace=str(m.get("namespace") or "default"),
        labels={str(k): str(v) for k, v in (m.get("labels") or {}).items()},
        owner_kind=None,
        containers=tuple(container(c, f"spec.containers[{i}]", False)
                         for i, c in enumerate(regular)),
        init_containers=tuple(init_containers),
        sidecars=tuple(sidecars),
    )
