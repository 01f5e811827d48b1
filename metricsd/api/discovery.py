"""Discovery documents for the ``metrics.k8s.io`` group: legacy and aggregated (v2beta1).

Clients (kubectl ≥1.27, kube-aggregator) ask ``/apis`` for aggregated discovery first. The
generic apiserver of metrics-server v0.7.1 (k8s.io/apiserver v0.29.2) serves only
``apidiscovery.k8s.io/v2beta1`` — a clause asking for v2 is skipped, as the real one skips it —
with an ``ETag`` (the SHA-512 of the list's JSON without its type, upper-case hex),
``Vary: Accept`` and ``Cache-Control: public``; otherwise plain legacy JSON.
:func:`negotiate_apis` picks the variant from the Accept header.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from metricsd.api.objects import API_VERSION, GROUP, VERSION

__all__ = [
    "AGGREGATED_V2",
    "AGGREGATED_V2BETA1",
    "aggregated_discovery",
    "aggregated_discovery_content_type",
    "aggregated_etag",
    "api_group",
    "api_group_list",
    "api_resource_list",
    "negotiate_apis",
]

AGGREGATED_V2 = "v2"
AGGREGATED_V2BETA1 = "v2beta1"

_GROUP_VERSION = {"groupVersion": API_VERSION, "version": VERSION}
_RESOURCES = (("nodes", "NodeMetrics", False), ("pods", "PodMetrics", True))


def api_resource_list() -> dict[str, Any]:
    """``GET /apis/metrics.k8s.io/v1beta1``: nodes and pods, get/list only, no watch."""
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": API_VERSION,
        "resources": [
            {"name": name, "singularName": "", "namespaced": namespaced, "kind": kind,
             "verbs": ["get", "list"]}
            for name, kind, namespaced in _RESOURCES
        ],
    }


def _group() -> dict[str, Any]:
    return {
        "name": GROUP,
        "versions": [dict(_GROUP_VERSION)],
        "preferredVersion": dict(_GROUP_VERSION),
    }


def api_group() -> dict[str, Any]:
    """``GET /apis/metrics.k8s.io``."""
    return {"kind": "APIGroup", "apiVersion": "v1", **_group()}


def api_group_list(server_address: str = ":443") -> dict[str, Any]:
    """``GET /apis`` (legacy discovery), as the generic apiserver writes it: no
    ``apiVersion`` (it is encoded for the empty GroupVersion) and the server's address for
    every client CIDR — ``:<secure port>``, since metrics-server sets no advertise address."""
    return {"kind": "APIGroupList", "groups": [{
        **_group(),
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                        "serverAddress": server_address}],
    }]}


def aggregated_discovery(version: str = AGGREGATED_V2BETA1) -> dict[str, Any]:
    """``GET /apis`` as an ``APIGroupDiscoveryList`` (``apidiscovery.k8s.io/<version>``)."""
    resources = [
        {
            "resource": name,
            "responseKind": {"group": "", "version": "", "kind": kind},
            "scope": "Namespaced" if namespaced else "Cluster",
            "singularResource": "",
            "verbs": ["get", "list"],
        }
        for name, kind, namespaced in _RESOURCES
    ]
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": f"apidiscovery.k8s.io/{version}",
        "metadata": {},
        "items": [
            {
                "metadata": {"name": GROUP, "creationTimestamp": None},
                "versions": [
                    {"version": VERSION, "resources": resources, "freshness": "Current"}
                ],
            }
        ],
    }


def aggregated_discovery_content_type(version: str) -> str:
    return f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"


def aggregated_etag(body: dict[str, Any]) -> str:
    """calculateETag: SHA-512 of json.Marshal of the list (its TypeMeta empty), quoted."""
    untyped = {k: v for k, v in body.items() if k not in ("kind", "apiVersion")}
    text = json.dumps(untyped, separators=(",", ":"), ensure_ascii=False)
    return '"' + hashlib.sha512(text.encode()).hexdigest().upper() + '"'


def negotiate_apis(accept: str | None, server_address: str = ":443"
                   ) -> tuple[str, dict[str, Any]]:
    """``(content_type, body)`` for ``/apis``: the first acceptable clause of ``accept`` wins."""
    for clause in (accept or "").split(","):
        parts = [p.strip() for p in clause.split(";")]
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if parts[0].lower() != "application/json":
            if parts[0] in ("*/*", "application/*"):
                break
            continue
        if params.get("g") == "apidiscovery.k8s.io" and params.get("as") == "APIGroupDiscoveryList":
            version = params.get("v")
            if version == AGGREGATED_V2BETA1:
                return aggregated_discovery_content_type(version), aggregated_discovery(version)
            continue
        if not params:
            break
    return "application/json", api_group_list(server_address)
