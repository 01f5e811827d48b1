"""Where to reach a node's kubelet: address, port, path and URL (upstream address_resolver.go).

Kept apart from the HTTP client so the selection rules are plain functions that table tests pin.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Protocol

DEFAULT_PREFERRED_ADDRESS_TYPES: tuple[str, ...] = (
    "Hostname",
    "InternalDNS",
    "InternalIP",
    "ExternalDNS",
    "ExternalIP",
)
DEFAULT_METRICS_PATH = "/metrics/resource"
METRICS_PATH_ANNOTATION = "metrics.k8s.io/resource-metrics-path"


class NodeEndpoint(Protocol):
    """The node fields the address rules read (the informers' slim node satisfies it)."""

    @property
    def name(self) -> str: ...

    @property
    def addresses(self) -> Sequence[tuple[str, str]]:
        """``(type, address)`` pairs in ``status.addresses`` order."""
        ...

    @property
    def daemon_port(self) -> int:
        """``status.daemonEndpoints.kubeletEndpoint.Port`` (0 when absent)."""
        ...

    @property
    def annotations(self) -> Mapping[str, str]: ...


class NoAddressError(Exception):
    """No ``status.addresses`` entry has any of the preferred types."""

    def __init__(self, preferred: Sequence[str]) -> None:
        # Go prints a []string with %v: brackets, space separated.
        super().__init__(f"no address matched types [{' '.join(preferred)}]")


def node_address(addresses: Sequence[tuple[str, str]], preferred: Sequence[str]) -> str:
    """The first address of the first preferred type that the node has."""
    for wanted in preferred:
        for kind, address in addresses:
            if kind == wanted:
                return address
    raise NoAddressError(preferred)


def kubelet_port(daemon_port: int, default_port: int, use_node_status_port: bool) -> int:
    """The node-status port when asked for and non-zero, else ``--kubelet-port``."""
    if use_node_status_port and daemon_port != 0:
        return daemon_port
    return default_port


def metrics_path(annotations: Mapping[str, str]) -> str:
    """The annotation's path when it is non-empty, else ``/metrics/resource``."""
    return annotations.get(METRICS_PATH_ANNOTATION) or DEFAULT_METRICS_PATH


def join_host_port(host: str, port: int) -> str:
    """``host:port`` with IPv6 literals bracketed, as Go's net.JoinHostPort."""
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def is_ip(host: str) -> bool:
    """True for an IPv4/IPv6 literal (what Go's net.ParseIP accepts, near enough)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def kubelet_url(
    node: NodeEndpoint,
    *,
    scheme: str,
    preferred: Sequence[str],
    default_port: int,
    use_node_status_port: bool,
) -> str:
    """``<scheme>://<host:port><path>`` for one node; raises NoAddressError."""
    host = node_address(node.addresses, preferred)
    port = kubelet_port(node.daemon_port, default_port, use_node_status_port)
    return f"{scheme}://{join_host_port(host, port)}{metrics_path(node.annotations)}"
