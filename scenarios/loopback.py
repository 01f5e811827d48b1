"""Free loopback address blocks (the fleet's helpers, re-exported for scenario backends)."""

from fakekubelet.addresses import free_loopback_base, free_port, port_free

__all__ = ["free_loopback_base", "free_port", "port_free"]
