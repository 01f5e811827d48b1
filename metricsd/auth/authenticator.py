"""The delegated authenticator chain (k8s.io/apiserver ``DelegatingAuthenticatorConfig``).

Union, first success wins: (1) request-header — only with a client certificate issued by the
request-header CA (and a CN in the allowed list, when the list is non-empty), identity from
``X-Remote-*`` headers; (2) client certificate issued by the client CA — user = CN, groups = O;
(3) bearer token via TokenReview, answers cached for ``--authentication-token-webhook-cache-ttl``.
If any of them returned an *error* and none succeeded, the request fails with 401 (upstream's
``NewFailOnError``); if none had an opinion, the request is anonymous (``system:anonymous``,
group ``system:unauthenticated``). Authenticated users get ``system:authenticated``.
Headers ``X-Remote-*`` are never trusted without the front-proxy certificate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from metricsd.api.status import status_body
from metricsd.auth.requestheader import AuthenticationConfig
from metricsd.auth.reviews import TOKEN_REVIEW_PATH, ReviewError, ReviewPoster
from metricsd.auth.x509verify import common_name, organizations
from metricsd.clock import Clock, RealClock

AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
INVALID_BEARER_TOKEN = "invalid bearer token"


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthenticationResult:
    """``user`` when authenticated (possibly anonymous); ``error`` → 401."""

    user: UserInfo | None
    error: str = ""
    method: str = ""  # requestheader | x509 | token | anonymous
    strip_headers: tuple[str, ...] = ()


def unauthorized_body() -> dict[str, Any]:
    return status_body(401, "Unauthorized", "Unauthorized")


def _aggregate(errors: Sequence[str]) -> str:
    """utilerrors.NewAggregate's text: repeated messages once; one as is, several as ``[a, b]``.

    A certificate from a CA neither bundle trusts fails both certificate authenticators: the
    request-header verifier with Go's bare x509 error, the client-CA one with it wrapped in the
    certificate's identity, so the real metrics-server v0.7.1 logs
    ``err="[x509: certificate signed by unknown authority, verifying certificate SN=…, SKID=…,
    AKID=… failed: x509: certificate signed by unknown authority]"``.
    """
    unique = list(dict.fromkeys(errors))
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]"


def _colon_hex(data: bytes) -> str:
    return ":".join(f"{b:02X}" for b in data)


def certificate_identifier(cert: x509.Certificate) -> str:
    """``SN=<decimal serial>, SKID=<AB:CD…>, AKID=<…>`` (k8s.io/apiserver's x509 authenticator;
    an absent key identifier prints empty)."""
    def key_id(ext_type: Any, attr: str) -> bytes:
        try:
            value = cert.extensions.get_extension_for_class(ext_type).value
        except x509.ExtensionNotFound:
            return b""
        return getattr(value, attr) or b""

    skid = key_id(x509.SubjectKeyIdentifier, "digest")
    akid = key_id(x509.AuthorityKeyIdentifier, "key_identifier")
    return f"SN={cert.serial_number}, SKID={_colon_hex(skid)}, AKID={_colon_hex(akid)}"


def _bearer(headers: Mapping[str, str]) -> str:
    value = ""
    for key, val in headers.items():
        if key.lower() == "authorization":
            value = str(val)
            break
    parts = value.strip().split(" ")
    if len(parts) < 2 or parts[0].lower() != "bearer":
        return ""
    return parts[1].strip() if len(parts) == 2 else ""


def _with_authenticated(groups: Sequence[str]) -> tuple[str, ...]:
    out = tuple(groups)
    return out if AUTHENTICATED in out else (*out, AUTHENTICATED)


class _TTLCache:
    def __init__(self, clock: Clock, ttl_s: float) -> None:
        self.clock = clock
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any:
        hit = self._entries.get(key)
        if hit is None:
            return None
        expires, value = hit
        if self.clock.monotonic() >= expires:
            del self._entries[key]
            return None
        return value

    def put(self, key: str, value: Any, ttl_s: float | None = None) -> None:
        ttl = self.ttl_s if ttl_s is None else ttl_s
        if ttl <= 0:
            return
        if len(self._entries) > 10_000:
            now = self.clock.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
        self._entries[key] = (self.clock.monotonic() + ttl, value)


class Authenticator:
    """Authenticates one request from its headers and the TLS peer certificate."""

    def __init__(
        self,
        config: AuthenticationConfig,
        reviews: ReviewPoster | None = None,
        *,
        token_cache_ttl_s: float = 10.0,
        clock: Clock | None = None,
        anonymous: bool = True,
    ) -> None:
        self.config = config
        self.reviews = reviews
        self.clock = clock or RealClock()
        self.anonymous = anonymous
        self.token_cache = _TTLCache(self.clock, token_cache_ttl_s)
        self.token_reviews_sent = 0

    async def authenticate(self, headers: Mapping[str, str],
                           peer_cert: x509.Certificate | None) -> AuthenticationResult:
        errors: list[str] = []
        rh = self.config.request_header
        # 1. request-header (front proxy)
        if rh is not None and peer_cert is not None:
            problem = rh.verifier.verify(peer_cert)
            if problem is None and rh.allowed_names and common_name(peer_cert) not in \
                    rh.allowed_names:
                problem = (f"x509: subject with cn={common_name(peer_cert)} is not in the "
                           "allowed list")
            if problem is not None:
                errors.append(problem)
            else:
                username, groups, extra = rh.identity(headers)
                if username:
                    user = UserInfo(username, "", _with_authenticated(groups),
                                    {k: tuple(v) for k, v in extra.items()})
                    strip = tuple(rh.header_names_to_strip(list(headers.keys())))
                    return AuthenticationResult(user, method="requestheader",
                                                strip_headers=strip)
        # 2. client certificate
        verifier = self.config.client_verifier
        if verifier is not None and peer_cert is not None:
            problem = verifier.verify(peer_cert)
            if problem is not None:
                errors.append(f"verifying certificate {certificate_identifier(peer_cert)} "
                              f"failed: {problem}")
            else:
                user = UserInfo(common_name(peer_cert), "",
                                _with_authenticated(organizations(peer_cert)))
                return AuthenticationResult(user, method="x509")
        # 3. bearer token
        token = _bearer(headers)
        if token and self.reviews is not None:
            token_user, problem = await self._token(token)
            if token_user is not None:
                return AuthenticationResult(token_user, method="token")
            errors.append(problem)
        elif token:
            errors.append(INVALID_BEARER_TOKEN)
        if errors:
            return AuthenticationResult(None, error=_aggregate(errors))
        if not self.anonymous:
            return AuthenticationResult(None, error="")
        return AuthenticationResult(UserInfo(ANONYMOUS, "", (UNAUTHENTICATED,)),
                                    method="anonymous")

    async def _token(self, token: str) -> tuple[UserInfo | None, str]:
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self.token_cache.get(key)
        if cached is not None:
            return cached
        assert self.reviews is not None
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "metadata": {"creationTimestamp": None},
            "spec": {"token": token},
            "status": {"user": {}},
        }
        self.token_reviews_sent += 1
        try:
            doc = await self.reviews.post(TOKEN_REVIEW_PATH, body)
        except ReviewError as err:
            return None, str(err)  # transport errors are not cached
        status = doc.get("status") or {}
        if status.get("authenticated"):
            info = status.get("user") or {}
            extra = {str(k): tuple(str(x) for x in v)
                     for k, v in (info.get("extra") or {}).items()}
            user = UserInfo(str(info.get("username", "")), str(info.get("uid", "")),
                            _with_authenticated([str(g) for g in info.get("groups") or []]),
                            extra)
            result: tuple[UserInfo | None, str] = (user, "")
        else:
            result = (None, str(status.get("error") or INVALID_BEARER_TOKEN))
        self.token_cache.put(key, result)
        return result
