"""The fast paths added for speed give exactly what the plain algorithms give.

Reference models here are the straightforward versions of the rules (as the code read before
the optimisations): canonical quantity strings by stripping factors, and pod storage that
builds every previous point and computes every rate through ``resource_usage``.  Hypothesis
drives both with values chosen to hit every branch (young, restarted, stale, equal, huge).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from metricsd.api.objects import pod_metrics
from metricsd.quantity import format_binary_si, format_decimal_si
from metricsd.scraper.batch import (
    ZERO_TIME_NS,
    MetricsPoint,
    PodKey,
    PodMetricsPoint,
)
from metricsd.storage import RateError, resource_usage
from metricsd.storage.pod import FRESH_CONTAINER_MIN_NS, ContainerUsage, PodStorage, PodUsage

S = 1_000_000_000
T0 = 1_711_467_600 * S
RES = 15 * S
_DEC = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_BIN = {0: "", 1: "Ki", 2: "Mi", 3: "Gi", 4: "Ti", 5: "Pi", 6: "Ei"}


def ref_decimal(mantissa: int, scale: int) -> str:
    if mantissa == 0:
        return "0"
    times = 0
    while mantissa % 10 == 0:
        mantissa //= 10
        times += 1
    exponent = scale + times
    while exponent % 3:
        mantissa *= 10
        exponent -= 1
    suffix = _DEC.get(exponent)
    return f"{mantissa}e{exponent}" if suffix is None else f"{mantissa}{suffix}"


def ref_binary(value: int) -> str:
    if -1024 < value < 1024:
        return ref_decimal(value, 0)
    amount, times = value, 0
    while amount % 1024 == 0:
        amount //= 1024
        times += 1
    suffix = _BIN.get(times)
    return ref_decimal(value, 0) if suffix is None else f"{amount}{suffix}"


ints = st.one_of(
    st.integers(-(10**30), 10**30),
    st.integers(-50, 50).map(lambda k: k * 10 ** 7),
    st.integers(-5, 5).flatmap(lambda k: st.integers(0, 8).map(lambda e: k * 1024**e)),
    st.integers(1, 1000).map(lambda k: k * 1000),
)


@given(ints, st.integers(-12, 21))
def test_decimal_si_matches_plain_algorithm(mantissa: int, scale: int) -> None:
    assert format_decimal_si(mantissa, scale) == ref_decimal(mantissa, scale)


@given(ints)
def test_binary_si_matches_plain_algorithm(value: int) -> None:
    assert format_binary_si(value) == ref_binary(value)


# ------------------------------------------------------------------------- pod storage model


class RefPodStorage:
    """Pod storage without shortcuts: every prev built, every rate via ``resource_usage``."""

    def __init__(self, resolution: int, log: Any) -> None:
        self.resolution = resolution
        self.log = log
        self.last: dict[PodKey, PodMetricsPoint] = {}
        self.prev: dict[PodKey, PodMetricsPoint] = {}

    def store(self, pods: dict[PodKey, PodMetricsPoint]) -> None:
        prev: dict[PodKey, PodMetricsPoint] = {}
        for key, pod in pods.items():
            before_pod, older_pod = self.last.get(key), self.prev.get(key)
            out: dict[str, MetricsPoint] = {}
            for cname, new in pod.containers.items():
                age = new.timestamp - new.start_time
                if new.start_time < new.timestamp and (
                    FRESH_CONTAINER_MIN_NS <= age < self.resolution
                ):
                    out[cname] = MetricsPoint(new.start_time, new.start_time, 0, new.memory_usage)
                    continue
                if before_pod is None:
                    continue
                before = before_pod.containers.get(cname)
                if before is None or not new.start_time < before.timestamp:
                    continue
                if new.timestamp > before.timestamp:
                    out[cname] = before
                    continue
                if older_pod is None:
                    continue
                older = older_pod.containers.get(cname) or MetricsPoint()
                if older.timestamp < new.timestamp:
                    out[cname] = older
                else:
                    self.log(2, "older", containerName=cname)
            if out:
                prev[key] = PodMetricsPoint(out)
        self.last, self.prev = dict(pods), prev

    def usage(self, key: PodKey) -> tuple[PodUsage | None, list[tuple[str, str]]]:
        last, prev = self.last.get(key), self.prev.get(key)
        if last is None or prev is None:
            return None, []
        served: list[ContainerUsage] = []
        errors: list[tuple[str, str]] = []
        ts, window, seen = ZERO_TIME_NS, 0, False
        for cname in sorted(last.containers):
            p = prev.containers.get(cname)
            if p is None:
                return None, errors
            try:
                u = resource_usage(last.containers[cname], p, self.log)
            except RateError as err:
                errors.append((cname, str(err)))
                continue
            served.append(ContainerUsage(cname, u.cpu_nanocores, u.memory_bytes))
            if not seen or ts > u.timestamp:
                ts, window, seen = u.timestamp, u.window, True
        return PodUsage(tuple(served), ts, window), errors


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[int, str, dict[str, Any]]] = []

    def __call__(self, level: int, msg: str, /, **kv: Any) -> None:
        self.lines.append((level, msg, {k: v for k, v in kv.items() if k == "value"}))


# One small pool for start times and sample times, so equal instants (the edges of every
# rule) come up often.
_INSTANTS = [ZERO_TIME_NS, T0 - 3600 * S, T0 - 20 * S, T0 - 12 * S, T0 - 5 * S, T0, T0 + 1,
             T0 + 15 * S, T0 + 15 * S + 7_000_000, T0 + 30 * S]
times = st.sampled_from(_INSTANTS)
starts = st.sampled_from(_INSTANTS)
cpus = st.one_of(st.integers(0, 10**12), st.sampled_from([0, (1 << 64) - 1, 1 << 63, 10**20]))
mems = st.one_of(st.integers(0, 1 << 40), st.sampled_from([(1 << 63) - 1, 1 << 63, (1 << 64) - 1]))
points = st.builds(MetricsPoint, start_time=starts, timestamp=times, cumulative_cpu_used=cpus,
                   memory_usage=mems)
pod_keys = st.sampled_from([("a", "p1"), ("a", "p2"), ("b", "p1")])
containers = st.dictionaries(st.sampled_from(["c1", "c2", "init"]), points, max_size=3)
batches = st.dictionaries(pod_keys, containers.map(PodMetricsPoint), max_size=3)


@settings(max_examples=600, deadline=None)
@given(st.lists(batches, min_size=1, max_size=4))
def test_pod_storage_matches_plain_model(sequence: list[dict[PodKey, PodMetricsPoint]]) -> None:
    got_log, ref_log = Recorder(), Recorder()
    got = PodStorage(RES, got_log)
    ref = RefPodStorage(RES, ref_log)
    for pods in sequence:
        got_log.lines.clear()
        ref_log.lines.clear()
        got.store(pods)
        ref.store(pods)
        assert got.prev == ref.prev
        assert len(got_log.lines) == len(ref_log.lines)  # "older than stored previous" lines
        assert got.points() == sum(len(p.containers) for p in ref.prev.values())
        for key in sorted(pods):
            got_log.lines.clear()
            ref_log.lines.clear()
            expected, errors = ref.usage(key)
            assert got.usage(key) == expected
            # Same error lines (from the cache) and the same precision-loss lines.
            assert [kv for lvl, _, kv in got_log.lines if lvl == 2] == [
                kv for lvl, _, kv in ref_log.lines if lvl == 2
            ]
            assert sum(1 for line in got_log.lines if line[0] == -1) == len(errors)


def test_rendered_containers_are_formatted_once() -> None:
    usage = PodUsage((ContainerUsage("a", 175_000_000, 1 << 20), ContainerUsage("b", 5, 1000)),
                     T0, 15 * S)
    first = pod_metrics("ns", "p", {}, usage, T0)
    second = pod_metrics("ns", "p", {"x": "y"}, usage, T0 + S)
    assert first["containers"] == [
        {"name": "a", "usage": {"cpu": "175m", "memory": "1Mi"}},
        {"name": "b", "usage": {"cpu": "5n", "memory": "1k"}},
    ]
    assert second["containers"] == first["containers"]
    assert second["containers"] is not first["containers"]  # answers never share dicts
    assert usage.rendered == (("a", "175m", "1Mi"), ("b", "5n", "1k"))
    assert first["window"] == "15s"
    fresh = PodUsage(usage.containers, T0, 15 * S)
    assert fresh == usage  # the memo slot takes no part in equality


def _pair(prev: MetricsPoint, last: MetricsPoint) -> list[dict[PodKey, PodMetricsPoint]]:
    key = ("a", "p1")
    return [{key: PodMetricsPoint({"c": prev})}, {key: PodMetricsPoint({"c": last})}]


EDGES = [
    # start time decreased by 1 ns: an error, not a rate
    (MetricsPoint(T0 - 3600 * S, T0, 0, 5), MetricsPoint(T0 - 3600 * S - 1, T0 + 15 * S, 9, 5)),
    # CPU rate just above / below 2^63 nanocores: precision loss (logged) vs plain
    (MetricsPoint(T0 - 3600 * S, T0, 0, 5), MetricsPoint(T0 - 3600 * S, T0 + S, 1 << 63, 5)),
    (MetricsPoint(T0 - 3600 * S, T0, 0, 5), MetricsPoint(T0 - 3600 * S, T0 + S, 2 * 10**19, 5)),
    (MetricsPoint(T0 - 3600 * S, T0, 0, 5), MetricsPoint(T0 - 3600 * S, T0 + S, 9 * 10**18, 5)),
    # memory at and above MaxInt64
    (MetricsPoint(T0 - 3600 * S, T0, 0, 5), MetricsPoint(T0 - 3600 * S, T0 + S, 9, (1 << 63) - 1)),
    (MetricsPoint(T0 - 3600 * S, T0, 0, 5), MetricsPoint(T0 - 3600 * S, T0 + S, 9, 1 << 63)),
    # CPU decrease
    (MetricsPoint(T0 - 3600 * S, T0, 10, 5), MetricsPoint(T0 - 3600 * S, T0 + S, 9, 5)),
]


def test_rate_edges_match_plain_model() -> None:
    for prev, last in EDGES:
        got_log, ref_log = Recorder(), Recorder()
        got, ref = PodStorage(RES, got_log), RefPodStorage(RES, ref_log)
        for pods in _pair(prev, last):
            got.store(pods)
            ref.store(pods)
        expected, errors = ref.usage(("a", "p1"))
        assert got.usage(("a", "p1")) == expected, (prev, last)
        assert [kv for lvl, _, kv in got_log.lines if lvl == 2] == [
            kv for lvl, _, kv in ref_log.lines if lvl == 2
        ]
        assert sum(1 for line in got_log.lines if line[0] == -1) == len(errors)
