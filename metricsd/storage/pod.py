"""Pod/container points (upstream ``podStorage``): restarts, young containers, whole-pod rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from metricsd.scraper.batch import (
    ZERO_TIME_NS,
    LogFn,
    MetricsPoint,
    PodKey,
    PodMetricsPoint,
    format_go_time_string,
    no_log,
    pod_ref,
)
from metricsd.storage.rates import RateError, resource_usage

__all__ = ["FRESH_CONTAINER_MIN_NS", "ContainerUsage", "PodStorage", "PodUsage"]

_ZERO_POINT = MetricsPoint()

_SECOND = 1_000_000_000
_I64_MAX = (1 << 63) - 1
_TWO63 = float(1 << 63)

# A container younger than this at sample time gets no synthetic zero point.
FRESH_CONTAINER_MIN_NS = 10 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class ContainerUsage:
    name: str
    cpu_nanocores: int
    memory_bytes: int


@dataclass(frozen=True, slots=True)
class PodUsage:
    """A served pod: containers sorted by name; time info of the earliest container.

    ``rendered`` and ``encoded`` are memo slots for the API layer (each container's formatted
    quantities; the protobuf bytes of time, window and containers): storage hands out the same
    object until the next ``store``, so each pod is formatted once per scrape however often it
    is listed.  They take no part in equality.
    """

    containers: tuple[ContainerUsage, ...]
    timestamp: int  # ZERO_TIME_NS when no container could be served
    window: int
    rendered: Any = field(default=None, compare=False, repr=False)
    encoded: Any = field(default=None, compare=False, repr=False)


class PodStorage:
    """``last``/``prev`` per pod key; ``resolution_ns`` bounds the fresh-container shortcut."""

    def __init__(self, resolution_ns: int, log: LogFn = no_log) -> None:
        self.resolution_ns = resolution_ns
        self._log = log
        self.last: dict[PodKey, PodMetricsPoint] = {}
        self.prev: dict[PodKey, PodMetricsPoint] = {}
        self._container_points = 0
        self._cache: dict[PodKey, PodUsage | None] = {}
        self._errors: dict[PodKey, list[tuple[str, str]]] = {}

    def store(self, pods: dict[PodKey, PodMetricsPoint]) -> None:
        """Replace ``last`` by ``pods``; derive each container's prev (see the docs)."""
        old_last, old_prev = self.last, self.prev
        resolution = self.resolution_ns
        log = self._log
        prev: dict[PodKey, PodMetricsPoint] = {}
        count = 0
        fresh_min = FRESH_CONTAINER_MIN_NS
        for key, pod in pods.items():
            before_pod = old_last.get(key)
            containers = pod.containers
            if containers and before_pod is not None and (
                len(before_pod.containers) == len(containers)
            ):
                # The steady state: same containers, none restarted or young, all advanced.
                # Then the prev is exactly the previous pod point, reused as it is.
                before_containers = before_pod.containers
                for cname, new in containers.items():
                    before = before_containers.get(cname)
                    if (
                        before is None
                        or not new.start_time < before.timestamp < new.timestamp
                        or (
                            new.start_time < new.timestamp
                            and fresh_min <= new.timestamp - new.start_time < resolution
                        )
                    ):
                        break
                else:
                    prev[key] = before_pod
                    count += len(containers)
                    continue
            older_pod = old_prev.get(key)
            prev_containers: dict[str, MetricsPoint] = {}
            for cname, new in containers.items():
                age = new.timestamp - new.start_time
                if new.start_time < new.timestamp and FRESH_CONTAINER_MIN_NS <= age < resolution:
                    prev_containers[cname] = MetricsPoint(
                        start_time=new.start_time,
                        timestamp=new.start_time,
                        cumulative_cpu_used=0,
                        memory_usage=new.memory_usage,
                    )
                    continue
                if before_pod is None:
                    continue
                before = before_pod.containers.get(cname)
                if before is None or not new.start_time < before.timestamp:
                    continue  # new container, or restarted since the last sample
                if new.timestamp > before.timestamp:
                    prev_containers[cname] = before
                    continue
                if older_pod is None:
                    continue
                # Upstream indexes the previous pod's map directly: a container missing there
                # reads as Go's zero point, which is "before" any sample and becomes the prev
                # (served with a saturated window).  Reproduced on purpose.
                older = older_pod.containers.get(cname) or _ZERO_POINT
                if older.timestamp < new.timestamp:
                    prev_containers[cname] = older
                else:
                    log(
                        2,
                        "Found new containerName metrics point is older than stored previous "
                        ", drop previous",
                        containerName=cname,
                        pod=pod_ref(key),
                        previousTimestamp=format_go_time_string(older.timestamp),
                        timestamp=format_go_time_string(new.timestamp),
                    )
            if prev_containers:
                prev[key] = PodMetricsPoint(prev_containers)
                count += len(prev_containers)
        self.last = dict(pods)
        self.prev = prev
        self._container_points = count
        self._cache = {}
        self._errors = {}

    def points(self) -> int:
        """Containers with a usable previous point (``storage_points{type="container"}``)."""
        return self._container_points

    def pod_count(self) -> int:
        return len(self.prev)

    def usage(self, key: PodKey) -> PodUsage | None:
        """The pod's usage, or ``None`` when any current container lacks a previous point."""
        cache = self._cache
        if key in cache:
            result = cache[key]
        else:
            result = self._compute(key)
            cache[key] = result
        errors = self._errors.get(key)
        if errors:
            for cname, err in errors:
                self._log(
                    -1, "Skipping container usage metric", err=err, container=cname,
                    pod=pod_ref(key),
                )
        return result

    def _compute(self, key: PodKey) -> PodUsage | None:
        last = self.last.get(key)
        prev = self.prev.get(key)
        if last is None or prev is None:
            return None
        prev_containers = prev.containers
        containers = last.containers
        served: list[ContainerUsage] = []
        errors: list[tuple[str, str]] = []
        timestamp = ZERO_TIME_NS
        window = 0
        earliest_set = False
        complete = True
        for cname in sorted(containers):
            p = prev_containers.get(cname)
            if p is None:
                complete = False
                break
            cur = containers[cname]
            w = cur.timestamp - p.timestamp
            if (
                0 < w <= _I64_MAX
                and cur.start_time >= p.start_time
                and cur.cumulative_cpu_used >= p.cumulative_cpu_used
                and cur.memory_usage <= _I64_MAX
            ):
                # resource_usage inlined for the common case (same float steps, no object);
                # anything near a limit (errors, saturation, precision loss) takes the full path.
                sec, nsec = divmod(w, _SECOND)
                rate = float(cur.cumulative_cpu_used - p.cumulative_cpu_used) / (
                    float(sec) + float(nsec) / 1e9
                )
                if rate < _TWO63:
                    served.append(ContainerUsage(cname, int(rate), cur.memory_usage))
                    if not earliest_set or timestamp > cur.timestamp:
                        timestamp, window, earliest_set = cur.timestamp, w, True
                    continue
            try:
                u = resource_usage(cur, p, self._log)
            except RateError as err:
                errors.append((cname, str(err)))
                continue
            served.append(ContainerUsage(cname, u.cpu_nanocores, u.memory_bytes))
            if not earliest_set or timestamp > u.timestamp:
                timestamp, window, earliest_set = u.timestamp, u.window, True
        if errors:
            self._errors[key] = errors
        if not complete:
            return None
        return PodUsage(tuple(served), timestamp, window)
