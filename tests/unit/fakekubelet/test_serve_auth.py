"""The kubelet's auth answers as a client sees them (401, 403 with the exact text, 200)."""

from __future__ import annotations

import ssl

import aiohttp
import pytest

from fakekubelet.auth import KubeletAuth, StaticReviewer, User, request_attributes
from fakekubelet.certs import client_ssl_context

from .test_serve_support import PAYLOAD, endpoint


async def _get(
    url: str, ctx: ssl.SSLContext, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            url,
            ssl=ctx,
            headers=headers or {},
        ) as resp,
    ):
        return resp.status, await resp.text()


async def test_anonymous_gets_401_unauthorized() -> None:
    async with endpoint() as ep:
        status, body = await _get(ep.url(), client_ssl_context(ep.ca))
    assert (status, body) == (401, "Unauthorized")


async def test_unknown_or_malformed_token_is_anonymous() -> None:
    async with endpoint() as ep:
        ctx = client_ssl_context(ep.ca)
        for header in ("Bearer nope", "Basic Zm9vOmJhcg==", "Bearer "):
            assert await _get(ep.url(), ctx, {"Authorization": header}) == (401, "Unauthorized")


async def test_authenticated_but_not_allowed_gets_the_kubelets_403_text() -> None:
    async with endpoint() as ep:
        status, body = await _get(
            ep.url(), client_ssl_context(ep.ca), {"Authorization": "Bearer bad"}
        )
    assert status == 403
    assert body == "Forbidden (user=bob, verb=get, resource=nodes, subresource=metrics)"


async def test_client_certificate_is_user_cn_and_is_allowed() -> None:
    async with endpoint() as ep:
        status, body = await _get(ep.url(), client_ssl_context(ep.ca, ep.client))
    assert status == 200 and body.encode() == PAYLOAD


async def test_client_certificate_user_not_on_the_list_is_forbidden() -> None:
    async with endpoint() as ep:
        other = ep.ca.issue_client_cert("system:node:node-b", groups=["system:nodes"])
        status, body = await _get(ep.url("/healthz"), client_ssl_context(ep.ca, other))
    assert status == 403
    assert body == (
        "Forbidden (user=system:node:node-b, verb=get, resource=nodes, subresource=healthz)"
    )


async def test_bearer_token_of_an_allowed_user_is_served() -> None:
    async with endpoint() as ep:
        status, body = await _get(
            ep.url(), client_ssl_context(ep.ca), {"Authorization": "Bearer good"}
        )
    assert status == 200 and body.encode() == PAYLOAD


async def test_group_allow_list_admits_system_masters() -> None:
    async with endpoint() as ep:
        admin = ep.ca.issue_client_cert("kubernetes-admin", groups=["system:masters"])
        status, _ = await _get(ep.url(), client_ssl_context(ep.ca, admin))
    assert status == 200


async def test_auth_runs_before_routing() -> None:
    async with endpoint() as ep:
        ctx = client_ssl_context(ep.ca)
        assert await _get(ep.url("/nope"), ctx) == (401, "Unauthorized")
        ok = client_ssl_context(ep.ca, ep.client)
        assert await _get(ep.url("/nope"), ok) == (404, "404 page not found\n")
        assert await _get(ep.url("/healthz"), ok) == (200, "ok")


async def test_decisions_are_cached_for_the_kubelets_ttls() -> None:
    async with endpoint(cache=True) as ep:
        ctx = client_ssl_context(ep.ca)
        token = {"Authorization": "Bearer good"}
        assert (await _get(ep.url(), ctx, token))[0] == 200
        ep.reviewer.allowed_users.discard("alice")  # RBAC revoked in the control plane
        ep.now[0] += 299.0
        assert (await _get(ep.url(), ctx, token))[0] == 200  # cacheAuthorizedTTL 5m
        ep.now[0] += 2.0
        assert (await _get(ep.url(), ctx, token))[0] == 403
        ep.reviewer.allowed_users.add("alice")
        ep.now[0] += 29.0
        assert (await _get(ep.url(), ctx, token))[0] == 403  # cacheUnauthorizedTTL 30s
        ep.now[0] += 2.0
        assert (await _get(ep.url(), ctx, token))[0] == 200


class _BrokenReviewer(StaticReviewer):
    async def authorize(
        self, user: User, verb: str, resource: str, subresource: str, name: str
    ) -> tuple[bool, str]:
        raise RuntimeError("SubjectAccessReview failed")


async def test_failing_review_is_a_500_authorization_error() -> None:
    auth = KubeletAuth(_BrokenReviewer({"t": User("carol")}))
    decision = await auth.check("GET", "/metrics/resource", "n1", None, "Bearer t")
    assert decision.status == 500
    assert decision.body == (
        "Authorization error (user=carol, verb=get, resource=nodes, subresource=metrics)"
    )


@pytest.mark.parametrize(
    ("method", "path", "verb", "subresources"),
    [
        ("GET", "/metrics/resource", "get", ["metrics"]),
        ("GET", "/metrics", "get", ["metrics"]),
        ("GET", "/metricsfoo", "get", ["proxy"]),
        ("GET", "/stats/summary", "get", ["stats"]),
        ("GET", "/logs/", "get", ["log"]),
        ("GET", "/healthz", "get", ["healthz", "proxy"]),
        ("POST", "/exec/ns/p/c", "create", ["proxy"]),
        ("DELETE", "/pods", "delete", ["proxy"]),
    ],
)
def test_request_attributes_follow_the_kubelet(
    method: str, path: str, verb: str, subresources: list[str]
) -> None:
    attrs = request_attributes(User("u"), method, path, "node-1")
    assert [a.subresource for a in attrs] == subresources
    assert {(a.verb, a.resource, a.name) for a in attrs} == {(verb, "nodes", "node-1")}
