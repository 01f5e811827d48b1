"""One run of both servers through every phase, recorded once for all differential tests.

The phases are states of one cluster and come in order, so they are observed in one pass
(:func:`record`) and the tests only compare what was recorded: each test names one surface,
and a failure shows both servers' answers side by side. Phases:

``before``     both servers serve, their first scrape cycle is held (every kubelet hangs)
``one``        the first cycle has completed (clock at the start)
``two``        a second cycle, one resolution later: every node and pod has a rate
``failures``   one node per failure class (``pair.FAILURES``), one resolution later
``all-failing`` every kubelet answers 500, one resolution later
``stopped``    both got SIGTERM (shutdown lines)

Everything a test needs is in the :class:`Recording`: per phase the answers to the same
queries from each server (``queries``), the log written during the phase (``logs``), the
``/metrics`` text, and for phase ``two`` kubectl's output of every ``kubectl top`` variant
for every installed kubectl, once through the aggregation layer to each server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

from tests.differential.pair import (
    CYCLE_DONE,
    CYCLE_START,
    FAILURES,
    REQUEST_TIMEOUT_S,
    SERVERS,
    Pair,
    Response,
    started_pair,
)

#: the phases, in the order they are recorded
PHASES = ("before", "one", "two", "failures", "all-failing")

TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
PROTOBUF = {"Accept": "application/vnd.kubernetes.protobuf, */*"}  # kubectl top, the HPA
KUBECTL_GET = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
               "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
AGGREGATED = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
              "application/json")
API = "/apis/metrics.k8s.io/v1beta1"

HEALTH_ENDPOINTS = {
    "livez": ["ping", "log", "poststarthook/max-in-flight-filter",
              "poststarthook/storage-object-count-tracker-hook", "metric-collection-timely",
              "metadata-informer-sync"],
    "readyz": ["ping", "log", "poststarthook/max-in-flight-filter",
               "poststarthook/storage-object-count-tracker-hook", "metric-storage-ready",
               "metric-informer-sync", "metadata-informer-sync", "shutdown"],
    "healthz": ["ping", "log", "poststarthook/max-in-flight-filter",
                "poststarthook/storage-object-count-tracker-hook", "metadata-informer-sync"],
}

#: kubectl top variants (args after the kubectl version), compared per kubectl version.
TOP_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("top", "nodes"),
    ("top", "nodes", "-l", "pool=general"),
    ("top", "nodes", "--sort-by=cpu"),
    ("top", "nodes", "--sort-by=memory"),
    ("top", "node", "worker-2"),
    ("top", "pods", "-A"),
    ("top", "pods", "-n", "shop"),
    ("top", "pods", "-n", "shop", "--containers"),
    ("top", "pods", "-A", "--containers", "-l", "app in (web,api)"),
    ("top", "pods", "-A", "-l", "app=api"),
    ("top", "pods", "-A", "--sort-by=cpu"),
    ("top", "pods", "-A", "--sort-by=memory"),
    ("top", "pods", "-n", "default", "--no-headers"),
    ("top", "pods", "-n", "empty"),
    ("top", "pod", "nope", "-n", "shop"),
)


@dataclass
class Recording:
    #: phase → query id → server → Response
    queries: dict[str, dict[str, dict[str, Response]]] = field(default_factory=dict)
    #: phase → server → the log text written during the phase
    logs: dict[str, dict[str, str]] = field(default_factory=dict)
    #: kubectl version → " ".join(args) → server → (exit code, stdout, stderr)
    kubectl: dict[str, dict[str, dict[str, tuple[int, str, str]]]] = field(
        default_factory=dict)
    #: the phase's log of each server while kubectl ran against it (through the aggregator)
    kubectl_logs: dict[str, str] = field(default_factory=dict)
    #: names the queries use (pods are named by the seed)
    names: dict[str, str] = field(default_factory=dict)
    #: server → {"address": its own address, "cert_dir": its --cert-dir}
    servers: dict[str, dict[str, str]] = field(default_factory=dict)
    #: server → exit status after SIGTERM
    exit_status: dict[str, int | None] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    directory: str = ""

    def save(self, path: Path) -> None:
        """As JSON (bodies base64): ``METRICSD_DIFF_RECORDING`` replays it into the tests."""
        data = asdict(self)
        for by_query in data["queries"].values():
            for by_server in by_query.values():
                for response in by_server.values():
                    response["raw"] = base64.b64encode(response["raw"]).decode()
        path.write_text(json.dumps(data, indent=1))

    @classmethod
    def load(cls, path: Path) -> Recording:
        data = json.loads(path.read_text())
        queries = {
            phase: {qid: {name: Response(r["status"], base64.b64decode(r["raw"]),
                                         [tuple(h) for h in r["headers"]])  # type: ignore[misc]
                          for name, r in by_server.items()}
                    for qid, by_server in by_query.items()}
            for phase, by_query in data.pop("queries").items()}
        kubectl = {v: {k: {n: tuple(r) for n, r in by.items()} for k, by in cmds.items()}
                   for v, cmds in data.pop("kubectl").items()}
        return cls(queries=queries, kubectl=kubectl, **data)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Query:
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    #: with the admin's client certificate (else no credentials at all, as a probe)
    admin: bool = True


def queries(names: dict[str, str]) -> dict[str, Query]:
    """Query id → query; every one is asked of both servers in each phase."""
    shop_pod, default_pod = names["shop_pod"], names["default_pod"]
    q: dict[str, Query] = {}

    def add(qid: str, path: str, headers: dict[str, str] | None = None,
            admin: bool = True) -> None:
        q[qid] = Query(path, headers or {}, admin)

    def sel(kind: str, text: str) -> str:
        return f"{kind}Selector=" + quote(text)

    add("root", "/")
    add("version", "/version")
    add("apis", "/apis")
    add("group", "/apis/metrics.k8s.io")
    add("discovery", API)
    add("unknown-path", "/nope")
    add("apis-slash", "/apis/")
    add("apis-aggregated", "/apis", {"Accept": AGGREGATED})
    add("openapi-v2", "/openapi/v2")
    add("openapi-v3", "/openapi/v3")
    add("debug-pprof", "/debug/pprof/")
    add("not-acceptable", f"{API}/nodes", {"Accept": "text/html"})
    add("not-acceptable-error", f"{API}/nodes/nope", {"Accept": "text/html"})
    add("kubectl-get-accept", f"{API}/nodes", {"Accept": KUBECTL_GET})
    add("kubectl-get-accept-missing", f"{API}/nodes/nope", {"Accept": KUBECTL_GET})
    add("unknown-api", f"{API}/nope")
    add("nodes", f"{API}/nodes")
    add("nodes-pretty", f"{API}/nodes?pretty=true")
    add("nodes-curl", f"{API}/nodes/worker-3", {"User-Agent": "curl/8.5.0"})
    add("nodes-label", f"{API}/nodes?" + sel("label", "pool=general"))
    add("nodes-label-set", f"{API}/nodes?" + sel("label", "pool in (edge),pool!=x"))
    add("nodes-label-exists", f"{API}/nodes?" + sel("label", "!pool"))
    add("nodes-field", f"{API}/nodes?" + sel("field", "metadata.name=worker-2"))
    add("nodes-field-ne", f"{API}/nodes?" + sel("field", "metadata.name!=worker-2"))
    add("nodes-field-unknown", f"{API}/nodes?" + sel("field", "spec.nodeName=worker-1"))
    add("nodes-label-bad", f"{API}/nodes?" + sel("label", "pool==="))
    add("nodes-label-bad-pretty", f"{API}/nodes?pretty=1&" + sel("label", "pool==="))
    add("nodes-label-bad-value", f"{API}/nodes?" + sel("label", "pool=a b"))
    add("nodes-field-bad", f"{API}/nodes?" + sel("field", "metadata.name"))
    add("nodes-watch", f"{API}/nodes?watch=true")
    add("node", f"{API}/nodes/worker-1")
    add("node-missing", f"{API}/nodes/nope")
    add("node-bad-name", f"{API}/nodes/Not_A_Name")
    add("pods", f"{API}/pods")
    add("pods-ns", f"{API}/namespaces/shop/pods")
    add("pods-ns-empty", f"{API}/namespaces/empty/pods")
    add("pods-label", f"{API}/namespaces/default/pods?" + sel("label", "app=api"))
    add("pods-all-label", f"{API}/pods?" + sel("label", "tier=frontend,app"))
    add("pods-field-ns", f"{API}/pods?" + sel("field", "metadata.namespace=batch"))
    add("pods-field-name", f"{API}/namespaces/shop/pods?"
        + sel("field", f"metadata.name={shop_pod}"))
    add("pods-field-unknown", f"{API}/pods?" + sel("field", "spec.nodeName=worker-1"))
    add("pods-label-bad", f"{API}/pods?" + sel("label", "app in web"))
    add("pods-watch", f"{API}/namespaces/shop/pods?watch=1")
    add("pod", f"{API}/namespaces/shop/pods/{shop_pod}")
    add("pod-default", f"{API}/namespaces/default/pods/{default_pod}")
    add("pod-missing", f"{API}/namespaces/shop/pods/nope")
    add("pod-wrong-ns", f"{API}/namespaces/default/pods/{shop_pod}")
    add("table-nodes", f"{API}/nodes", TABLE)
    add("table-node", f"{API}/nodes/worker-1", TABLE)
    add("table-node-missing", f"{API}/nodes/nope", TABLE)
    add("table-pods", f"{API}/pods", TABLE)
    add("table-pods-ns", f"{API}/namespaces/shop/pods", TABLE)
    add("table-pod", f"{API}/namespaces/shop/pods/{shop_pod}", TABLE)
    add("table-pods-empty", f"{API}/namespaces/empty/pods", TABLE)
    add("table-pods-bad-label", f"{API}/pods?" + sel("label", "app in web"), TABLE)
    add("protobuf-nodes", f"{API}/nodes", PROTOBUF)
    # one container per pod: Go encodes a pod's containers in map order (N5), and protobuf
    # answers are compared as bytes; the multi-container order is compared in JSON
    add("protobuf-pods", f"{API}/namespaces/default/pods", PROTOBUF)
    add("protobuf-node-missing", f"{API}/nodes/nope", PROTOBUF)
    add("protobuf-node", f"{API}/nodes/worker-1", PROTOBUF)
    add("protobuf-pod", f"{API}/namespaces/default/pods/{default_pod}", PROTOBUF)
    add("protobuf-pods-field", f"{API}/pods?" + sel("field", "metadata.namespace=batch"),
        PROTOBUF)
    add("protobuf-table", f"{API}/nodes", {"Accept": "application/vnd.kubernetes.protobuf;"
                                                      "as=Table;v=v1;g=meta.k8s.io"})
    add("metrics", "/metrics")
    add("anonymous-nodes", f"{API}/nodes", admin=False)
    add("anonymous-metrics", "/metrics", admin=False)
    add("anonymous-livez-ping", "/livez/ping", admin=False)
    for endpoint, checks in HEALTH_ENDPOINTS.items():
        # as the kubelet probes: no credentials
        add(endpoint, f"/{endpoint}", admin=False)
        add(f"{endpoint}-verbose", f"/{endpoint}?verbose", admin=False)
        add(f"{endpoint}-exclude", f"/{endpoint}?verbose&exclude=ping&exclude=nope", admin=False)
        add(f"{endpoint}-slash", f"/{endpoint}/", admin=False)
        for check in checks:
            add(f"{endpoint}/{check}", f"/{endpoint}/{check}")
        add(f"{endpoint}/nope", f"/{endpoint}/nope")
    return q


def query_ids() -> list[str]:
    """The query ids (they do not depend on the pod names the seed gives)."""
    return list(queries({"shop_pod": "-", "default_pod": "-"}))


async def ask_all(pair: Pair, names: dict[str, str]) -> dict[str, dict[str, Response]]:
    """Every query of both servers, a few at a time (the phase "before" must stay short:
    its first cycle is held open only for --kubelet-request-timeout)."""
    limit = asyncio.Semaphore(6)

    async def one(query: Query) -> dict[str, Response]:
        async with limit:
            return await pair.both(query.path, query.headers, admin=query.admin)

    asked = queries(names)
    answers = await asyncio.gather(*(one(query) for query in asked.values()))
    return dict(zip(asked, answers, strict=True))


class Phases:
    """Cuts each server's log into the phases (byte offsets at each phase boundary)."""

    def __init__(self, pair: Pair, recording: Recording) -> None:
        self.pair = pair
        self.recording = recording
        self.offsets = {name: 0 for name in SERVERS}

    def end(self, phase: str) -> None:
        logs = {}
        for name, server in self.pair.servers.items():
            size = server.log_size()
            logs[name] = server.log(self.offsets[name])[: size - self.offsets[name]]
            self.offsets[name] = size
        self.recording.logs[phase] = logs


async def run_kubectl(pair: Pair, recording: Recording, versions: Sequence[str],
                      progress: Callable[[str], None]) -> None:
    for name in SERVERS:
        pair.route(name)
        since = pair.servers[name].log_size()
        for version in versions:
            for args in TOP_COMMANDS:
                got = await pair.kubectl(version, *args)
                key = " ".join(args)
                recording.kubectl.setdefault(version, {}).setdefault(key, {})[name] = got
        recording.kubectl_logs[name] = pair.servers[name].log(since)
        progress(f"kubectl top through the aggregator to {name}: done")
    pair.route(SERVERS[0])


async def record(directory: Path, binary: Path, kubectl_versions: Sequence[str],
                 progress: Callable[[str], None] = print) -> Recording:
    began = time.monotonic()
    recording = Recording(directory=str(directory))

    def mark(what: str) -> None:
        recording.seconds[what] = round(time.monotonic() - began, 1)
        progress(f"differential: {what} ({recording.seconds[what]} s)")

    async with started_pair(directory, binary) as pair:
        phases = Phases(pair, recording)
        pods = sorted(pair.cluster.pods)
        names = {
            "shop_pod": next(p for p in pods if p.startswith("shop/web-")).split("/")[1],
            "default_pod": next(p for p in pods if p.startswith("default/api-")).split("/")[1],
        }
        recording.names = names
        recording.servers = {name: {"address": s.address, "cert_dir": s.cert_dir}
                             for name, s in pair.servers.items()}
        # phase "before": both inside their first cycle, held by the hanging kubelets
        await asyncio.gather(*(s.wait_log(CYCLE_START) for s in pair.servers.values()))
        recording.queries["before"] = await ask_all(pair, names)
        phases.end("before")
        for name, text in recording.logs["before"].items():
            if "Failed to scrape node" in text or "Scrape finished" in text:
                raise RuntimeError(
                    f"{name}'s first cycle ended before the phase 'before' was recorded (the "
                    f"held kubelets time out after {REQUEST_TIMEOUT_S} s): the machine is too "
                    "loaded for this recording")
        mark("before the first scrape")
        # phase "one": let the first cycle through
        pair.set_all_faults(hang=False)
        await asyncio.gather(*(s.wait_log(CYCLE_DONE) for s in pair.servers.values()))
        recording.queries["one"] = await ask_all(pair, names)
        await pair.idle()
        phases.end("one")
        mark("after one scrape")
        # phase "two"
        await pair.cycle()
        recording.queries["two"] = await ask_all(pair, names)
        await pair.idle()
        phases.end("two")
        mark("after two scrapes")
        await run_kubectl(pair, recording, kubectl_versions, progress)
        await pair.idle()
        phases.end("kubectl")
        mark("kubectl top")
        # phase "failures": one node per class
        pair.apply_failures()
        await pair.cycle()
        recording.queries["failures"] = await ask_all(pair, names)
        await pair.idle()
        phases.end("failures")
        mark("failure classes")
        # phase "all-failing"
        pair.set_all_faults(hang=False, http_status=500)
        await pair.cycle()
        recording.queries["all-failing"] = await ask_all(pair, names)
        await pair.idle()
        phases.end("all-failing")
        mark("every kubelet failing")
        for name, server in pair.servers.items():
            recording.exit_status[name] = await server.stop()
        phases.end("stopped")
        mark("stopped")
    recording.save(directory / "recording.json")
    return recording


__all__ = ["API", "FAILURES", "HEALTH_ENDPOINTS", "TOP_COMMANDS", "Recording", "record"]
