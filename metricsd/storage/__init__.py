"""Storage: the latest and previous points of every node and pod, and the rates between them.

Upstream keeps no history: each ``store`` replaces the latest points with the batch, keeps an
older point only where it is strictly older (or synthesises one for a young container), and
reading computes rates on demand.  Here a rate is computed on its first read after a
``store`` and cached until the next one (with the API's formatted strings riding along on the
cached object), so listing 30,000 pods repeatedly costs a dictionary lookup per pod, and
``store`` itself stays short: in the steady state a pod's previous point is simply its last
one, reused as is.
"""

from __future__ import annotations

from collections.abc import Iterable

from metricsd.scraper.batch import LogFn, MetricsBatch, PodKey, no_log
from metricsd.storage.node import NodeStorage
from metricsd.storage.pod import ContainerUsage, PodStorage, PodUsage
from metricsd.storage.rates import RateError, Usage, resource_usage

__all__ = [
    "READY_AND",
    "READY_OR",
    "ContainerUsage",
    "NodeStorage",
    "PodStorage",
    "PodUsage",
    "RateError",
    "Storage",
    "Usage",
    "resource_usage",
]

READY_OR = "or"  # v0.7.x/v0.8.x: a node OR a container has a rate
READY_AND = "and"  # v0.9.0: nodes AND containers have rates


class Storage:
    """Node and pod stores behind one interface (upstream ``storage.storage``)."""

    def __init__(
        self,
        resolution_ns: int,
        *,
        ready_semantics: str = READY_OR,
        log: LogFn = no_log,
    ) -> None:
        if ready_semantics not in (READY_OR, READY_AND):
            raise ValueError(f"ready_semantics must be {READY_OR!r} or {READY_AND!r}")
        self.ready_semantics = ready_semantics
        self.nodes = NodeStorage(log)
        self.pods = PodStorage(resolution_ns, log)

    def store(self, batch: MetricsBatch) -> None:
        self.nodes.store(batch.nodes)
        self.pods.store(batch.pods)

    def ready(self) -> bool:
        """Whether some metric can be served (``metric-storage-ready``)."""
        has_nodes = self.nodes.points() > 0
        has_pods = self.pods.pod_count() > 0
        if self.ready_semantics == READY_AND:
            return has_nodes and has_pods
        return has_nodes or has_pods

    def storage_points(self) -> dict[str, int]:
        """Values for ``metrics_server_storage_points{type}``."""
        return {"node": self.nodes.points(), "container": self.pods.points()}

    def node_usage(self, name: str) -> Usage | None:
        return self.nodes.usage(name)

    def node_usages(self, names: Iterable[str]) -> list[tuple[str, Usage]]:
        return self.nodes.usages(names)

    def pod_usage(self, key: PodKey) -> PodUsage | None:
        return self.pods.usage(key)
