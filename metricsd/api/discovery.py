"""Discovery documents for the ``metrics.k8s.io`` group: legacy and aggregated (v2, v2beta1).

kubectl ≥1.27 asks ``/apis`` for aggregated discovery first; the reply must carry exactly the
content type it asked for (v2 for 1.30+, v2beta1 for 1.27–1.29) or plain legacy JSON.
:func:`negotiate_apis` picks the variant from the Accept header.
"""

from __future__ import annotations

from typing import Any

from metricsd.api.objects import API_VERSION, GROUP, VERSION

__all__ = [
    "AGGREGATED_V2",
    "AGGREGATED_V2BETA1",
    "aggregated_discovery",
    "aggregated_discovery_content_type",
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


def api_group_list() -> dict[str, Any]:
    """``GET /apis`` (legacy discovery)."""
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group()]}


def aggregated_discovery(version: str = AGGREGATED_V2) -> dict[str, Any]:
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
                "metadata": {"name": GROUP},
                "versions": [
                    {"version": VERSION, "resources": resources, "freshness": "Current"}
                ],
            }
        ],
    }


def aggregated_discovery_content_type(version: str) -> str:
    return f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"


def negotiate_apis(accept: str | None) -> tuple[str, dict[str, Any]]:
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
            if version in (AGGREGATED_V2, AGGREGATED_V2BETA1):
                return aggregated_discovery_content_type(version), aggregated_discovery(version)
            continue
        if not params:
            break
    return "application/json", api_group_list()
