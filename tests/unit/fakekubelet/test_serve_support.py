"""Helpers shared by the test_serve_* files: a single kubelet endpoint with a fixed payload.

(Named test_serve_* to stay inside this area's files; it holds no tests.)
"""

from __future__ import annotations

import types
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fakekubelet.auth import KubeletAuth, StaticReviewer, User
from fakekubelet.certs import ClusterCA, KeyPair, ServingCertIssuer
from fakekubelet.kubelet import KubeletServer, Listener

PAYLOAD = (
    b"# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in"
    b" core-seconds\n# TYPE node_cpu_usage_seconds_total counter\n"
    b"node_cpu_usage_seconds_total 1200.5 1711467600000\n"
) * 20

ADDRESS = "127.0.0.1"
NODE = "node-a"


def no_faults() -> types.SimpleNamespace:
    return types.SimpleNamespace(
        latency_seconds=0.0,
        hang=False,
        http_status=None,
        refuse_connections=False,
        truncate_body=False,
    )


@dataclass
class Endpoint:
    server: KubeletServer
    listener: Listener
    ca: ClusterCA
    client: KeyPair
    faults: types.SimpleNamespace
    reviewer: StaticReviewer
    issuer: ServingCertIssuer
    now: list[float] = field(default_factory=lambda: [0.0])

    def url(self, path: str = "/metrics/resource") -> str:
        return f"{self.listener.scheme}://{ADDRESS}:{self.listener.port}{path}"


@asynccontextmanager
async def endpoint(
    mode: str = "ca-signed", *, auth: bool = True, cache: bool = False
) -> AsyncIterator[Endpoint]:
    """One node served on 127.0.0.1:<ephemeral> in cert ``mode``.

    Auth: tokens ``good`` (user alice, allowed) and ``bad`` (user bob, not allowed); the client
    certificate ``metricsd-client`` is allowed. ``cache=True`` keeps the kubelet's TTLs with a
    hand-driven clock (``ep.now[0]``).
    """
    ca = ClusterCA()
    issuer = ServingCertIssuer(ca)
    reviewer = StaticReviewer(
        {"good": User("alice", ("team",)), "bad": User("bob", ("others",))},
        allowed_users={"alice", "metricsd-client"},
    )
    now = [0.0]
    kubelet_auth = None
    if auth:
        ttls = {} if cache else {"authn_ttl": 0, "authz_allowed_ttl": 0, "authz_denied_ttl": 0}
        kubelet_auth = KubeletAuth(reviewer, clock=lambda: now[0], **ttls)
    faults = no_faults()
    server = KubeletServer(lambda _n: PAYLOAD, lambda _n: faults, kubelet_auth)
    ctx = issuer.server_context(mode, NODE, ADDRESS, client_ca=ca)
    listener = await server.listen(NODE, ADDRESS, 0, ctx)
    client = ca.issue_client_cert("metricsd-client", groups=["system:monitoring"])
    try:
        yield Endpoint(server, listener, ca, client, faults, reviewer, issuer, now)
    finally:
        await server.close()
