"""Free loopback address blocks, so fleets, scenario runs and tests can go side by side.

Every simulated node and pod needs its own address in 127.0.0.0/8; a run picks a random block
whose addresses are free on the ports it needs.
"""

from __future__ import annotations

import ipaddress
import random
import socket


def port_free(address: str, port: int) -> bool:
    """True when ``address:port`` can be bound right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def free_loopback_base(
    count: int = 1, port: int = 10250, attempts: int = 200, rng: random.Random | None = None
) -> str:
    """A base address ``127.A.B.1`` such that ``count`` consecutive addresses are free on ``port``.

    Blocks are drawn from 127.20.0.0-127.250.255.255 (127.0.0.0/16 is left to ordinary services).
    """
    rng = rng or random.Random()
    for _ in range(attempts):
        base = ipaddress.IPv4Address(f"127.{rng.randint(20, 250)}.{rng.randint(0, 255)}.1")
        addresses = [str(base + i) for i in range(count)]
        if all(a.startswith("127.") for a in addresses) and all(
            port_free(a, port) for a in addresses
        ):
            return str(base)
    raise RuntimeError(f"no free block of {count} loopback addresses on port {port}")


def free_port(address: str = "127.0.0.1") -> int:
    """An ephemeral port that is free on ``address`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])
