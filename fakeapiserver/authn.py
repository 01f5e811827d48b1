"""Authentication: who is asking. Client certs, bearer tokens, then anonymous.

Order and outcomes follow kube-apiserver's union authenticator:

* a TLS client certificate verified against the client CA → user = CN, groups = O values;
* ``Authorization: Bearer <token>`` → the static token table, then pluggable token
  authenticators (ServiceAccount tokens are added there). A token nobody recognises is a
  401 ``Unauthorized`` (it does NOT fall back to anonymous, as upstream);
* otherwise anonymous: ``system:anonymous`` in ``system:unauthenticated``.

Every authenticated (non-anonymous) user also gets ``system:authenticated``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .rbac import SYSTEM_AUTHENTICATED, SYSTEM_UNAUTHENTICATED, UserInfo
from .store import ApiError

ANONYMOUS = UserInfo(name="system:anonymous", groups=(SYSTEM_UNAUTHENTICATED,))

#: A token authenticator returns the user for a token it recognises, else None.
TokenAuthenticator = Callable[[str], "UserInfo | Awaitable[UserInfo | None] | None"]


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def _with_authenticated(user: UserInfo) -> UserInfo:
    if SYSTEM_AUTHENTICATED in user.groups:
        return user
    return UserInfo(name=user.name, uid=user.uid, groups=(*user.groups, SYSTEM_AUTHENTICATED),
                    extra=user.extra)


def user_from_peercert(peercert: dict[str, Any] | None) -> UserInfo | None:
    """User from a verified peer certificate as ``ssl`` reports it (CN, O…)."""
    if not peercert:
        return None
    cn = ""
    groups: list[str] = []
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                cn = value
            elif key == "organizationName":
                groups.append(value)
    if not cn:
        return None
    return UserInfo(name=cn, groups=tuple(groups))


class Authenticator:
    """The authentication chain; extend with :meth:`add_token` / :meth:`add_token_authenticator`.
    """

    def __init__(self, anonymous: bool = True) -> None:
        self.anonymous = anonymous
        self._tokens: dict[str, UserInfo] = {}
        self._token_authenticators: list[TokenAuthenticator] = []

    def add_token(self, token: str, user: UserInfo) -> None:
        """A static bearer token (like ``--token-auth-file``)."""
        self._tokens[token] = user

    def remove_token(self, token: str) -> None:
        self._tokens.pop(token, None)

    def add_token_authenticator(self, fn: TokenAuthenticator) -> None:
        """Consulted in order after the static table (e.g. ServiceAccount JWTs)."""
        self._token_authenticators.append(fn)

    async def authenticate_token(self, token: str) -> UserInfo | None:
        """The user a bearer token stands for (None: nobody recognises it)."""
        user = self._tokens.get(token)
        if user is not None:
            return _with_authenticated(user)
        for fn in self._token_authenticators:
            result = fn(token)
            if inspect.isawaitable(result):
                result = await result
            if result is not None:
                return _with_authenticated(result)
        return None

    async def authenticate(self, request: web.Request) -> UserInfo:
        """The requesting user; raises ApiError 401 for bad credentials."""
        transport = request.transport
        peercert = transport.get_extra_info("peercert") if transport is not None else None
        user = user_from_peercert(peercert)
        if user is not None:
            return _with_authenticated(user)
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                found = await self.authenticate_token(token.strip())
                if found is None:
                    raise unauthorized()
                return found
        if self.anonymous:
            return ANONYMOUS
        raise unauthorized()
