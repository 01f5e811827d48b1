"""PodMetrics get/list (upstream ``pkg/api/pod.go``); only pods the Running-pods informer knows."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from metricsd.api import protobuf
from metricsd.api.gcpause import gc_paused
from metricsd.api.objects import (
    API_VERSION,
    GROUP,
    pod_metrics,
    pod_metrics_list,
    rendered_containers,
    seconds,
)
from metricsd.api.status import not_found, unknown_error
from metricsd.api.table import TableRow, build_table, table_content_type
from metricsd.api.types import APIResult, PodLister, PodMeta
from metricsd.scraper.batch import LogFn, no_log
from metricsd.selectors import FieldSelector, LabelSelector
from metricsd.storage import PodUsage, Storage

__all__ = ["PodMetricsAPI"]

_BY_NAMESPACE_NAME = itemgetter(0, 1)  # PodMeta is (namespace, name, labels)


def _sum_usage(usage: PodUsage) -> dict[str, int]:
    if not usage.containers:
        return {}
    return {
        "cpu": sum(c.cpu_nanocores for c in usage.containers),
        "memory": sum(c.memory_bytes for c in usage.containers),
    }


class PodMetricsAPI:
    """Serves ``…/pods``, ``…/namespaces/{ns}/pods[/{name}]``."""

    def __init__(self, storage: Storage, lister: PodLister, log: LogFn = no_log) -> None:
        self.storage = storage
        self.lister = lister
        self.log = log
        self._meta = protobuf.MetaCache()

    def list(
        self,
        namespace: str | None,
        selector: LabelSelector,
        fields: FieldSelector,
        now_ns: int,
        *,
        table: str | None = None,
        include_object: str = "Metadata",
        as_protobuf: bool = False,
    ) -> APIResult:
        try:
            pods = self.lister.list_pods(namespace, selector)
        except Exception as err:
            self.log(-1, "Failed listing pods", err=str(err), labelSelector=str(selector),
                     namespace=namespace or "")
            return APIResult(500, unknown_error(f"failed listing pods: {err}"))
        if not fields.empty():
            pods = [
                p for p in pods
                if fields.matches({"metadata.name": p.name, "metadata.namespace": p.namespace})
            ]
        with gc_paused():
            pods = sorted(pods, key=_BY_NAMESPACE_NAME)
            usage_of = self.storage.pod_usage
            served: list[tuple[PodMeta, PodUsage]] = []
            for pod in pods:
                usage = usage_of((pod.namespace, pod.name))
                if usage is not None:
                    served.append((pod, usage))
            if as_protobuf and not table:
                created = protobuf.created_field(now_ns // 1_000_000_000)
                raw = protobuf.list_bytes([self._protobuf(p, u, created) for p, u in served])
                return APIResult(200, protobuf.envelope(API_VERSION, "PodMetricsList", raw),
                                 protobuf.CONTENT_TYPE, [u.timestamp for _, u in served])
            items = [
                pod_metrics(p.namespace, p.name, p.labels, u, now_ns, with_type=False)
                for p, u in served
            ]
        stamps = [u.timestamp for _, u in served]
        if table:
            rows = [
                TableRow(p.name, _sum_usage(u), u.window, _typed(item))
                for (p, u), item in zip(served, items, strict=True)
            ]
            return APIResult(200, build_table(rows, table, include_object),
                             table_content_type(table), stamps)
        return APIResult(200, pod_metrics_list(items), timestamps=stamps)

    def _protobuf(self, pod: PodMeta, usage: PodUsage, created: bytes) -> bytes:
        head, tail = self._meta.parts(pod.namespace, pod.name, pod.labels)
        return protobuf.item(head, created, tail, _rest(usage))

    def get(
        self,
        namespace: str,
        name: str,
        now_ns: int,
        *,
        table: str | None = None,
        include_object: str = "Metadata",
        as_protobuf: bool = False,
    ) -> APIResult:
        try:
            pod = self.lister.get_pod(namespace, name)
        except Exception as err:
            self.log(-1, "Failed getting pod", err=str(err), pod=f"{namespace}/{name}")
            return APIResult(500, unknown_error(f"failed getting pod: {err}"))
        if pod is None:
            return APIResult(404, not_found("", "pods", name))
        usage = self.storage.pod_usage((namespace, name))
        if usage is None:
            return APIResult(404, not_found(GROUP, "podmetrics", f"{namespace}/{name}"))
        if as_protobuf and not table:
            raw = self._protobuf(pod, usage, protobuf.created_field(now_ns // 1_000_000_000))
            return APIResult(200, protobuf.envelope(API_VERSION, "PodMetrics", raw),
                             protobuf.CONTENT_TYPE, [usage.timestamp])
        obj = pod_metrics(pod.namespace, pod.name, pod.labels, usage, now_ns)
        if table:
            row = TableRow(name, _sum_usage(usage), usage.window, obj)
            return APIResult(200, build_table([row], table, include_object),
                             table_content_type(table), [usage.timestamp])
        return APIResult(200, obj, timestamps=[usage.timestamp])


def _rest(usage: PodUsage) -> bytes:
    """The protobuf bytes after a pod's metadata, once per stored usage."""
    rest = usage.encoded
    if rest is None:
        rest = protobuf.pod_rest(seconds(usage.timestamp), usage.window,
                                 rendered_containers(usage))
        object.__setattr__(usage, "encoded", rest)
    return rest


def _typed(item: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1", **item}
