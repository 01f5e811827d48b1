"""The ``metrics.k8s.io/v1beta1`` API as pure functions returning JSON-ready dicts.

:class:`MetricsAPI` takes the raw request pieces (path parameters, ``labelSelector``,
``fieldSelector``, ``watch``, the Accept header) and returns an :class:`APIResult` with the
HTTP status, body and content type; the HTTP server only serialises it.  Discovery documents
live in :mod:`metricsd.api.discovery`, Status errors in :mod:`metricsd.api.status`.
"""

from __future__ import annotations

from metricsd.api.discovery import (
    aggregated_discovery,
    api_group,
    api_group_list,
    api_resource_list,
    negotiate_apis,
)
from metricsd.api.nodes import NodeMetricsAPI
from metricsd.api.objects import API_VERSION, GROUP, VERSION
from metricsd.api.pods import PodMetricsAPI
from metricsd.api.status import bad_request, method_not_supported, not_found
from metricsd.api.table import table_request
from metricsd.api.types import APIResult, NodeLister, NodeMeta, PodLister, PodMeta
from metricsd.scraper.batch import LogFn, no_log
from metricsd.selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    check_metadata_fields,
    parse_field_selector,
    parse_label_selector,
)
from metricsd.storage import Storage

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "APIResult",
    "MetricsAPI",
    "NodeLister",
    "NodeMeta",
    "PodLister",
    "PodMeta",
    "aggregated_discovery",
    "api_group",
    "api_group_list",
    "api_resource_list",
    "negotiate_apis",
    "table_request",
]

_INCLUDE_OBJECT = ("None", "Metadata", "Object")


class _BadRequest(Exception):
    def __init__(self, result: APIResult) -> None:
        super().__init__(result.body.get("message", ""))
        self.result = result


def _selectors(label: str | None, field: str | None) -> tuple[LabelSelector, FieldSelector]:
    try:
        labels = parse_label_selector(label or "")
        fields = parse_field_selector(field or "")
        check_metadata_fields(fields)
    except SelectorError as err:
        raise _BadRequest(APIResult(400, bad_request(str(err)))) from None
    return labels, fields


def _include(value: str | None) -> str:
    if not value:
        return "Metadata"
    if value not in _INCLUDE_OBJECT:
        raise _BadRequest(
            APIResult(400, bad_request(f'includeObject: Unsupported value: "{value}": '
                                       'supported values: "None", "Metadata", "Object"'))
        )
    return value


def _list_request(
    resource: str, watch: bool, label: str | None, field: str | None, include_object: str | None
) -> tuple[LabelSelector, FieldSelector, str] | APIResult:
    """A list request's selectors and includeObject, or the error answer (405 for watch)."""
    if watch:
        return APIResult(405, method_not_supported(GROUP, resource, "watch"))
    try:
        labels, fields = _selectors(label, field)
        return labels, fields, _include(include_object)
    except _BadRequest as bad:
        return bad.result


class MetricsAPI:
    """Node and pod metrics over one storage and the two listers."""

    def __init__(
        self,
        storage: Storage,
        nodes: NodeLister,
        pods: PodLister,
        node_selector: LabelSelector | None = None,
        log: LogFn = no_log,
    ) -> None:
        self.nodes = NodeMetricsAPI(storage, nodes, node_selector, log)
        self.pods = PodMetricsAPI(storage, pods, log)

    def list_nodes(
        self,
        now_ns: int,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        watch: bool = False,
        accept: str | None = None,
        include_object: str | None = None,
        table: str | None = None,
        as_protobuf: bool = False,
    ) -> APIResult:
        """``GET /apis/metrics.k8s.io/v1beta1/nodes`` (a Table for ``table`` — a Table
        version — or for an ``accept`` asking one; protobuf for ``as_protobuf``)."""
        parsed = _list_request("nodes", watch, label_selector, field_selector, include_object)
        if isinstance(parsed, APIResult):
            return parsed
        labels, fields, include = parsed
        return self.nodes.list(labels, fields, now_ns, table=table or table_request(accept),
                               include_object=include, as_protobuf=as_protobuf)

    def get_node(
        self, name: str, now_ns: int, *, accept: str | None = None,
        include_object: str | None = None, table: str | None = None, as_protobuf: bool = False,
    ) -> APIResult:
        """``GET /apis/metrics.k8s.io/v1beta1/nodes/{name}``."""
        try:
            include = _include(include_object)
        except _BadRequest as bad:
            return bad.result
        return self.nodes.get(name, now_ns, table=table or table_request(accept),
                              include_object=include, as_protobuf=as_protobuf)

    def list_pods(
        self,
        now_ns: int,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        watch: bool = False,
        accept: str | None = None,
        include_object: str | None = None,
        table: str | None = None,
        as_protobuf: bool = False,
    ) -> APIResult:
        """``GET …/pods`` (``namespace=None``) or ``…/namespaces/{namespace}/pods``."""
        parsed = _list_request("pods", watch, label_selector, field_selector, include_object)
        if isinstance(parsed, APIResult):
            return parsed
        labels, fields, include = parsed
        return self.pods.list(namespace or None, labels, fields, now_ns,
                              table=table or table_request(accept), include_object=include,
                              as_protobuf=as_protobuf)

    def get_pod(
        self, namespace: str, name: str, now_ns: int, *, accept: str | None = None,
        include_object: str | None = None, table: str | None = None, as_protobuf: bool = False,
    ) -> APIResult:
        """``GET …/namespaces/{namespace}/pods/{name}``."""
        try:
            include = _include(include_object)
        except _BadRequest as bad:
            return bad.result
        return self.pods.get(namespace, name, now_ns, table=table or table_request(accept),
                             include_object=include, as_protobuf=as_protobuf)


__all__ += ["bad_request", "not_found"]
