"""NodeMetrics get/list (upstream ``pkg/api/node.go``)."""

from __future__ import annotations

from typing import Any

from metricsd.api import protobuf
from metricsd.api.objects import API_VERSION, GROUP, node_metrics, node_metrics_list, seconds
from metricsd.api.status import not_found, unknown_error
from metricsd.api.table import TableRow, build_table, table_content_type
from metricsd.api.types import APIResult, NodeLister, NodeMeta
from metricsd.quantity import format_cpu_nanocores, format_memory_bytes
from metricsd.scraper.batch import LogFn, no_log
from metricsd.selectors import FieldSelector, LabelSelector
from metricsd.storage import Storage, Usage

__all__ = ["NodeMetricsAPI"]


class NodeMetricsAPI:
    """Serves ``/apis/metrics.k8s.io/v1beta1/nodes[/{name}]`` from storage and the node lister."""

    def __init__(
        self,
        storage: Storage,
        lister: NodeLister,
        node_selector: LabelSelector | None = None,
        log: LogFn = no_log,
    ) -> None:
        self.storage = storage
        self.lister = lister
        self.node_selector = node_selector if node_selector and not node_selector.empty() else None
        self.log = log

    def list(
        self,
        selector: LabelSelector,
        fields: FieldSelector,
        now_ns: int,
        *,
        table: str | None = None,
        include_object: str = "Metadata",
        as_protobuf: bool = False,
    ) -> APIResult:
        if self.node_selector is not None:
            selector = selector.and_(self.node_selector)
        try:
            nodes = self.lister.list_nodes(selector)
        except Exception as err:
            self.log(-1, "Failed listing nodes", err=str(err), labelSelector=str(selector))
            return APIResult(500, unknown_error(f"failed listing nodes: {err}"))
        if not fields.empty():
            nodes = [n for n in nodes if fields.matches({"metadata.name": n.name})]
        nodes = sorted(nodes, key=lambda n: n.name)
        served: list[tuple[NodeMeta, Usage]] = []
        usage_of = self.storage.node_usage
        for node in nodes:
            usage = usage_of(node.name)
            if usage is not None:
                served.append((node, usage))
        stamps = [u.timestamp for _, u in served]
        if as_protobuf and not table:
            created = now_ns // 1_000_000_000
            raw = protobuf.list_bytes(_node_protobuf(n, u, created) for n, u in served)
            return APIResult(200, protobuf.envelope(API_VERSION, "NodeMetricsList", raw),
                             protobuf.CONTENT_TYPE, stamps)
        items = [node_metrics(n.name, n.labels, u, now_ns, with_type=False) for n, u in served]
        if table:
            rows = [
                TableRow(n.name, {"cpu": u.cpu_nanocores, "memory": u.memory_bytes}, u.window,
                         _typed(item))
                for (n, u), item in zip(served, items, strict=True)
            ]
            return APIResult(200, build_table(rows, table, include_object),
                             table_content_type(table), stamps)
        return APIResult(200, node_metrics_list(items), timestamps=stamps)

    def get(
        self, name: str, now_ns: int, *, table: str | None = None, include_object: str = "Metadata",
        as_protobuf: bool = False,
    ) -> APIResult:
        try:
            node = self.lister.get_node(name)
        except Exception as err:
            self.log(-1, "Failed getting node", err=str(err), node=name)
            return APIResult(500, unknown_error(f"failed getting node: {err}"))
        if node is None:
            return APIResult(404, not_found("", "node", name))
        usage = self.storage.node_usage(name)
        if usage is None:
            return APIResult(404, not_found(GROUP, "nodemetrics", name))
        if as_protobuf and not table:
            raw = _node_protobuf(node, usage, now_ns // 1_000_000_000)
            return APIResult(200, protobuf.envelope(API_VERSION, "NodeMetrics", raw),
                             protobuf.CONTENT_TYPE, [usage.timestamp])
        obj = node_metrics(node.name, node.labels, usage, now_ns)
        if table:
            row = TableRow(name, {"cpu": usage.cpu_nanocores, "memory": usage.memory_bytes},
                           usage.window, obj)
            return APIResult(200, build_table([row], table, include_object),
                             table_content_type(table), [usage.timestamp])
        return APIResult(200, obj, timestamps=[usage.timestamp])


def _node_protobuf(node: NodeMeta, usage: Usage, created_s: int) -> bytes:
    return protobuf.node_metrics(
        node.name, node.labels, created_s, seconds(usage.timestamp), usage.window,
        format_cpu_nanocores(usage.cpu_nanocores), format_memory_bytes(usage.memory_bytes))


def _typed(item: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1", **item}
