"""Kubelet authentication and authorization, as a kubelet with webhook auth answers.

The kubelet (``--anonymous-auth=false``, ``--client-ca-file``, ``--authentication-token-webhook``,
``--authorization-mode=Webhook``) runs one filter in front of every path:

1. authenticate: a client certificate verified against the client CA (user = CN, groups = O),
   else ``Authorization: Bearer <token>`` checked by a TokenReview; nothing → ``401`` with the
   body ``Unauthorized``;
2. build attributes from the request: verb from the method (GET → ``get``, POST → ``create``,
   PUT → ``update``, PATCH → ``patch``, DELETE → ``delete``), resource ``nodes``, name = the
   node, subresource from the path: ``/stats*`` → ``stats``, ``/metrics*`` → ``metrics``,
   ``/logs*`` → ``log``, ``/healthz*`` → ``healthz`` (fine-grained kubelet authz, KEP-2862,
   which falls back to ``proxy`` when ``healthz`` is denied), anything else → ``proxy``;
3. authorize by SubjectAccessReview; denied → ``403`` with the body
   ``Forbidden (user=<user>, verb=<verb>, resource=<resource>, subresource=<subresource>)``;
   a review that fails → ``500`` ``Authorization error (user=..., ...)``.

Source of the texts and the path mapping: kubernetes ``pkg/kubelet/server/server.go``
(``InstallAuthFilter``: ``WriteErrorString(http.StatusUnauthorized, "Unauthorized")`` and the
``Forbidden (user=%s, verb=%s, resource=%s, subresource=%s)`` format) and
``pkg/kubelet/server/auth.go`` (``GetRequestAttributes``/``isSubpath``), read with the search
tool. Go's ``WriteErrorString`` writes the text without a trailing newline. Not verified: how
a 1.33 kubelet words a 403 when both ``healthz`` and its ``proxy`` fallback are denied; we
name the first attribute set (``subresource=healthz``).

Caching mirrors the kubelet's KubeletConfiguration defaults: authentication
``webhook.cacheTTL`` 2m (successes and failures), authorization ``cacheAuthorizedTTL`` 5m and
``cacheUnauthorizedTTL`` 30s; errors are never cached. Tests pass 0 to switch caching off.

Standalone, ``StaticReviewer`` stands in for the API server (a token table and an allow-list);
a control plane plugs in its own ``Reviewer`` that answers by TokenReview/SubjectAccessReview.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "AuthDecision",
    "KubeletAuth",
    "Reviewer",
    "StaticReviewer",
    "User",
    "request_attributes",
    "static_reviewer",
    "user_from_peercert",
]

_VERBS = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


@dataclass(frozen=True)
class User:
    """An authenticated identity."""

    name: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attributes:
    """What the kubelet asks the authorizer about one request."""

    user: User
    verb: str
    resource: str
    subresource: str
    name: str
    path: str


@dataclass(frozen=True)
class AuthDecision:
    """The filter's outcome: ``status`` 200 means "go on to the handler"."""

    status: int
    body: str = ""
    user: User | None = None


class Reviewer(Protocol):
    """Answers the two questions the kubelet delegates to the API server."""

    async def authenticate_token(self, token: str) -> User | None:
        """TokenReview: the user behind ``token``, or ``None`` when not authenticated."""
        ...

    async def authorize(
        self, user: User, verb: str, resource: str, subresource: str, name: str
    ) -> tuple[bool, str]:
        """SubjectAccessReview: ``(allowed, reason)``."""
        ...


@dataclass
class StaticReviewer:
    """A standalone reviewer: a token table and an allow-list of users and groups.

    An allowed user or group may do anything on the kubelet (every subresource), as the
    ``system:kubelet-api-admin`` role grants; ``system:masters`` is always allowed.
    """

    tokens: Mapping[str, User] = field(default_factory=dict)
    allowed_users: set[str] = field(default_factory=set)
    allowed_groups: set[str] = field(default_factory=lambda: {"system:masters"})

    async def authenticate_token(self, token: str) -> User | None:
        return self.tokens.get(token)

    async def authorize(
        self, user: User, verb: str, resource: str, subresource: str, name: str
    ) -> tuple[bool, str]:
        if user.name in self.allowed_users or self.allowed_groups.intersection(user.groups):
            return True, "allowed by the fleet's allow-list"
        return False, f"{user.name} is not in the fleet's allow-list"


def request_attributes(user: User, method: str, path: str, node_name: str) -> list[Attributes]:
    """The attribute sets to authorize, in order (any allowed one admits the request)."""
    verb = _VERBS.get(method.upper(), "")
    subresources = ["proxy"]
    if _is_subpath(path, "/stats"):
        subresources = ["stats"]
    elif _is_subpath(path, "/metrics"):
        subresources = ["metrics"]
    elif _is_subpath(path, "/logs"):
        subresources = ["log"]
    elif _is_subpath(path, "/healthz"):
        subresources = ["healthz", "proxy"]
    return [Attributes(user, verb, "nodes", s, node_name, path) for s in subresources]


def _is_subpath(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return path == prefix or (path.startswith(prefix) and path[len(prefix)] == "/")


def user_from_peercert(peercert: Mapping[str, Any] | None) -> User | None:
    """User = CN, groups = O of a verified client certificate (``ssl`` getpeercert form)."""
    if not peercert or "subject" not in peercert:
        return None
    name = ""
    groups: list[str] = []
    for rdn in peercert["subject"]:
        for key, value in rdn:
            if key == "commonName":
                name = value
            elif key == "organizationName":
                groups.append(value)
    if not name:
        return None
    return User(name, tuple(groups))


class _TTLCache:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> tuple[bool, Any]:
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key]
            return False, None
        return True, value

    def put(self, key: Any, value: Any, ttl: float) -> None:
        if ttl > 0:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key] = (self._clock() + ttl, value)

    def clear(self) -> None:
        self._entries.clear()


class KubeletAuth:
    """The kubelet's auth filter with webhook-style caches; one instance serves a whole fleet."""

    def __init__(
        self,
        reviewer: Reviewer,
        *,
        authn_ttl: float = 120.0,
        authz_allowed_ttl: float = 300.0,
        authz_denied_ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reviewer = reviewer
        self.authn_ttl = authn_ttl
        self.authz_allowed_ttl = authz_allowed_ttl
        self.authz_denied_ttl = authz_denied_ttl
        self._tokens = _TTLCache(clock)
        self._decisions = _TTLCache(clock)

    def clear_caches(self) -> None:
        """Forget cached reviews (e.g. after the control plane changed RBAC)."""
        self._tokens.clear()
        self._decisions.clear()

    async def authenticate(
        self, peercert: Mapping[str, Any] | None, authorization: str | None
    ) -> User | None:
        """Client certificate first, then a bearer token; ``None`` is anonymous."""
        user = user_from_peercert(peercert)
        if user is not None:
            return user
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        hit, cached = self._tokens.get(token)
        if hit:
            return cached
        try:
            found = await self.reviewer.authenticate_token(token)
        except Exception:
            return None  # the kubelet answers 401 when the TokenReview itself fails
        self._tokens.put(token, found, self.authn_ttl)
        return found

    async def _authorize(self, attrs: Attributes) -> tuple[bool, str]:
        key = (attrs.user, attrs.verb, attrs.resource, attrs.subresource, attrs.name)
        hit, cached = self._decisions.get(key)
        if hit:
            return cached
        allowed, reason = await self.reviewer.authorize(
            attrs.user, attrs.verb, attrs.resource, attrs.subresource, attrs.name
        )
        self._decisions.put(
            key, (allowed, reason), self.authz_allowed_ttl if allowed else self.authz_denied_ttl
        )
        return allowed, reason

    async def check(
        self,
        method: str,
        path: str,
        node_name: str,
        peercert: Mapping[str, Any] | None,
        authorization: str | None,
    ) -> AuthDecision:
        """Run the filter for one request."""
        user = await self.authenticate(peercert, authorization)
        if user is None:
            return AuthDecision(401, "Unauthorized")
        attr_sets = request_attributes(user, method, path, node_name)
        for attrs in attr_sets:
            try:
                allowed, _reason = await self._authorize(attrs)
            except Exception:
                return AuthDecision(500, _describe("Authorization error", attrs), user)
            if allowed:
                return AuthDecision(200, "", user)
        return AuthDecision(403, _describe("Forbidden", attr_sets[0]), user)


def _describe(prefix: str, attrs: Attributes) -> str:
    return (
        f"{prefix} (user={attrs.user.name}, verb={attrs.verb}, resource={attrs.resource}, "
        f"subresource={attrs.subresource})"
    )


def static_reviewer(
    tokens: Mapping[str, tuple[str, Iterable[str]]] | None = None,
    allowed_users: Iterable[str] = (),
    allowed_groups: Iterable[str] = ("system:masters",),
) -> StaticReviewer:
    """Convenience: ``{"token": ("user", ["group"])}`` → a ``StaticReviewer``."""
    table = {t: User(u, tuple(g)) for t, (u, g) in (tokens or {}).items()}
    return StaticReviewer(table, set(allowed_users), set(allowed_groups))
