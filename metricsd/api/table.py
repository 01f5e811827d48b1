"""``meta.k8s.io`` Table output for ``kubectl get nodemetrics/podmetrics``.

Columns are ``Name``, the usage resource names of the first item (sorted), then ``Window``;
pod cells are sums over containers.  Upstream decides the columns while its list of names is
still empty, so a leading pod without containers yields ``Name``/``Window`` columns that the
next pod then replaces — reproduced here.  An empty list has no column definitions (``null``,
as Go encodes a nil slice).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metricsd.durations import format_duration
from metricsd.quantity import format_cpu_nanocores, format_memory_bytes

__all__ = [
    "TableRow",
    "build_table",
    "table_content_type",
    "table_request",
]

_FORMATTERS = {"cpu": format_cpu_nanocores, "memory": format_memory_bytes}


@dataclass(frozen=True, slots=True)
class TableRow:
    """One item: its name, usage (resource → integer value), window and JSON object."""

    name: str
    usage: Mapping[str, int]
    window_ns: int
    obj: Mapping[str, Any]


def table_request(accept: str | None) -> str | None:
    """The Table version (``v1``/``v1beta1``) an Accept header asks for first, else ``None``.

    The API server walks the Accept list in order and serves the first media type it can;
    ``application/json;as=Table;v=v1;g=meta.k8s.io`` selects a Table.
    """
    if not accept:
        return None
    for clause in accept.split(","):
        parts = [p.strip() for p in clause.split(";")]
        mtype = parts[0].lower()
        params = {}
        for p in parts[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                params[k.strip()] = v.strip()
        if mtype in ("application/json", "*/*", "application/*", "application/yaml",
                     "application/vnd.kubernetes.protobuf"):
            if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
                if params.get("v") in ("v1", "v1beta1"):
                    return params["v"]
                continue  # a Table version we do not serve: try the next clause
            if "as" in params:
                continue
            return None
    return None


def table_content_type(version: str) -> str:
    return "application/json"  # metrics-server answers a Table as plain JSON


def _row_object(obj: Mapping[str, Any], version: str, include_object: str) -> Any:
    if include_object == "None":
        return None
    if include_object == "Object":
        return dict(obj)
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": obj.get("metadata", {}),
    }


def build_table(
    rows: list[TableRow], version: str = "v1", include_object: str = "Metadata"
) -> dict[str, Any]:
    """The Table body for ``rows`` (already in list order)."""
    columns: list[dict[str, Any]] | None = None
    names: list[str] = []
    out_rows: list[dict[str, Any]] = []
    for row in rows:
        if not names:
            names = sorted(row.usage)
            columns = [
                {"name": "Name", "type": "string", "format": "name",
                 "description": "Name of the resource", "priority": 0},
            ]
            columns += [
                {"name": n, "type": "string", "format": "quantity", "description": "",
                 "priority": 0}
                for n in names
            ]
            columns.append(
                {"name": "Window", "type": "string", "format": "duration", "description": "",
                 "priority": 0}
            )
        cells: list[Any] = [row.name]
        for n in names:
            fmt = _FORMATTERS.get(n, str)
            cells.append(fmt(row.usage.get(n, 0)))
        cells.append(format_duration(row.window_ns))
        out: dict[str, Any] = {"cells": cells}
        obj = _row_object(row.obj, version, include_object)
        if obj is not None:
            out["object"] = obj
        out_rows.append(out)
    return {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": {},
        "columnDefinitions": columns,
        "rows": out_rows if rows else None,
    }
