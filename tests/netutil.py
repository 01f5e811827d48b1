"""Loopback address helpers for tests (the implementation lives in scenarios.loopback)."""

from scenarios.loopback import free_loopback_base, free_port, port_free

__all__ = ["free_loopback_base", "free_port", "port_free"]
