"""``metav1.Status`` error bodies with the reasons, codes and messages the API server uses."""

from __future__ import annotations

from typing import Any

from metricsd.goquote import quote

__all__ = [
    "bad_request",
    "go_quote",
    "method_not_supported",
    "not_found",
    "status_body",
    "unknown_error",
]


go_quote = quote  # Go's %q for the names inside Status messages


def status_body(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A failure Status in the field order the API server writes."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def _qualified(group: str, resource: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(group: str, resource: str, name: str) -> dict[str, Any]:
    """``errors.NewNotFound``: ``<resource>[.<group>] "<name>" not found``, 404."""
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = resource
    return status_body(
        404, "NotFound", f"{_qualified(group, resource)} {go_quote(name)} not found", details
    )


def bad_request(message: str) -> dict[str, Any]:
    """``errors.NewBadRequest`` (no details), 400 — e.g. an unparsable selector."""
    return status_body(400, "BadRequest", message)


def unknown_error(message: str) -> dict[str, Any]:
    """What the API server makes of a plain (non-Status) storage error: 500, reason Unknown."""
    return status_body(500, "Unknown", message)


def method_not_supported(group: str, resource: str, action: str) -> dict[str, Any]:
    """``errors.NewMethodNotSupported`` — e.g. ``?watch=true`` on the metrics resources."""
    return status_body(
        405,
        "MethodNotAllowed",
        f"{action} is not supported on resources of kind {go_quote(_qualified(group, resource))}",
        {"group": group, "kind": resource},
    )
