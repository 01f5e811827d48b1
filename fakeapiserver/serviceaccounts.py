"""ServiceAccount tokens: issue (TokenRequest) and authenticate (bearer / TokenReview).

Why: a workload in the simulation (metricsd as a local process, a test client) must present
a credential that resolves to ``system:serviceaccount:<ns>:<name>`` with the service-account
groups, so it gets exactly the access its RoleBindings/ClusterRoleBindings grant.

Tokens are JWT-shaped like kube-apiserver's bound tokens (``iss``, ``sub``, ``aud``, ``exp``,
``kubernetes.io`` claims), but signed with HS256 and a per-control-plane secret instead of
RS256: nothing outside the control plane verifies them, and a shared secret keeps the code
small. A token is valid while it is unexpired, its audience matches, and the ServiceAccount it
names still exists with the same uid (deleting the account invalidates its tokens, as upstream).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fakeapiserver.rbac import SYSTEM_AUTHENTICATED, UserInfo

DEFAULT_AUDIENCE = "https://kubernetes.default.svc.cluster.local"
DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_EXPIRATION_SECONDS = 3600
MIN_EXPIRATION_SECONDS = 600

EXTRA_CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"
EXTRA_POD_NAME = "authentication.kubernetes.io/pod-name"
EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid"

#: Looks up a ServiceAccount's uid by (namespace, name); None when it does not exist.
AccountLookup = Callable[[str, str], "str | None"]


def service_account_username(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def service_account_groups(namespace: str) -> tuple[str, ...]:
    """Groups of every service-account user (authenticated included, as TokenReview shows)."""
    return ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", SYSTEM_AUTHENTICATED)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenError(Exception):
    """A bearer token that does not authenticate; ``str()`` is the TokenReview error text."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expiration: float  # unix seconds

    @property
    def expiration_timestamp(self) -> str:
        return rfc3339(self.expiration)


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ServiceAccountTokens:
    """Issues and verifies service-account tokens for one control plane."""

    def __init__(
        self,
        key: bytes | None = None,
        *,
        issuer: str = DEFAULT_ISSUER,
        api_audiences: Sequence[str] = (DEFAULT_AUDIENCE,),
        now: Callable[[], float] = time.time,
    ) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)
        self.issuer = issuer
        self.api_audiences = tuple(api_audiences)
        self._now = now
        self._kid = hashlib.sha256(self._key).hexdigest()[:16]

    def issue(
        self,
        namespace: str,
        name: str,
        uid: str,
        *,
        audiences: Sequence[str] = (),
        expiration_seconds: int = DEFAULT_EXPIRATION_SECONDS,
        pod: tuple[str, str] | None = None,
    ) -> IssuedToken:
        """A token for ServiceAccount ``namespace/name`` (uid ``uid``), optionally pod-bound."""
        now = int(self._now())
        exp = now + int(expiration_seconds)
        k8s: dict[str, Any] = {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}}
        if pod is not None:
            k8s["pod"] = {"name": pod[0], "uid": pod[1]}
        claims = {
            "aud": list(audiences) or list(self.api_audiences),
            "exp": exp,
            "iat": now,
            "iss": self.issuer,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": k8s,
            "nbf": now,
            "sub": service_account_username(namespace, name),
        }
        header = {"alg": "HS256", "kid": self._kid}
        signing_input = (
            _b64(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64(json.dumps(claims, separators=(",", ":")).encode())
        )
        sig = hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()
        return IssuedToken(signing_input + "." + _b64(sig), float(exp))

    def looks_like_ours(self, token: str) -> bool:
        """Cheap check: a three-part JWT carrying our key id (so other authenticators can run)."""
        parts = token.split(".")
        if len(parts) != 3:
            return False
        try:
            header = json.loads(_unb64(parts[0]))
        except (ValueError, UnicodeDecodeError):
            return False
        return isinstance(header, dict) and header.get("kid") == self._kid

    def authenticate(
        self, token: str, lookup: AccountLookup, audiences: Sequence[str] = ()
    ) -> tuple[UserInfo, list[str]]:
        """The user behind ``token`` and the audiences it is valid for; raises TokenError."""
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("invalid bearer token")
        signing_input = parts[0] + "." + parts[1]
        want = hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()
        try:
            sig = _unb64(parts[2])
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError) as exc:
            raise TokenError("invalid bearer token") from exc
        if not hmac.compare_digest(sig, want) or not isinstance(claims, dict):
            raise TokenError(
                "invalid bearer token, square/go-jose: error in cryptographic primitive"
            )
        now = self._now()
        if float(claims.get("exp", 0)) < now:
            raise TokenError("invalid bearer token, service account token has expired")
        if float(claims.get("nbf", 0)) > now + 60:
            raise TokenError("invalid bearer token, service account token is not valid yet")
        token_aud = list(claims.get("aud") or [])
        wanted = list(audiences) or list(self.api_audiences)
        matched = [a for a in wanted if a in token_aud]
        if not matched:
            raise TokenError(
                "invalid bearer token, token audiences "
                + json.dumps(token_aud)
                + " is invalid for the target audiences "
                + json.dumps(wanted)
            )
        k8s = claims.get("kubernetes.io") or {}
        namespace = str(k8s.get("namespace", ""))
        account = k8s.get("serviceaccount") or {}
        name = str(account.get("name", ""))
        uid = str(account.get("uid", ""))
        current = lookup(namespace, name)
        if current is None:
            raise TokenError(f'invalid bearer token, serviceaccounts "{name}" not found')
        if current != uid:
            raise TokenError(
                "invalid bearer token, service account UID "
                f"({current}) does not match claim ({uid})"
            )
        extra: dict[str, list[str]] = {EXTRA_CREDENTIAL_ID: [f"JTI={claims.get('jti', '')}"]}
        pod = k8s.get("pod")
        if isinstance(pod, dict):
            extra[EXTRA_POD_NAME] = [str(pod.get("name", ""))]
            extra[EXTRA_POD_UID] = [str(pod.get("uid", ""))]
        user = UserInfo(
            name=service_account_username(namespace, name),
            uid=uid,
            groups=service_account_groups(namespace),
            extra=extra,
        )
        return user, matched


def token_request_response(
    namespace: str, name: str, body: dict[str, Any], issued: IssuedToken, created: float
) -> dict[str, Any]:
    """The TokenRequest object returned by ``POST .../serviceaccounts/<name>/token`` (201)."""
    spec = dict(body.get("spec") or {})
    spec.setdefault("audiences", None)
    return {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": rfc3339(created)},
        "spec": spec,
        "status": {"token": issued.token, "expirationTimestamp": issued.expiration_timestamp},
    }


def validate_token_request(body: Any) -> tuple[list[str], int, tuple[str, str] | None]:
    """Audiences, expiration and pod binding from a TokenRequest body; raises ValueError.

    The ValueError text is kube-apiserver's field error (``spec.expirationSeconds: Invalid
    value: ...``) so callers can wrap it in a 422 Invalid Status.
    """
    if not isinstance(body, dict):
        raise ValueError("body: Invalid value: not a TokenRequest object")
    spec = body.get("spec") or {}
    if not isinstance(spec, dict):
        raise ValueError("spec: Invalid value: must be an object")
    audiences = [str(a) for a in spec.get("audiences") or []]
    seconds = spec.get("expirationSeconds")
    if seconds is None:
        seconds = DEFAULT_EXPIRATION_SECONDS
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise ValueError(f"spec.expirationSeconds: Invalid value: {seconds!r}: must be an integer")
    if seconds < MIN_EXPIRATION_SECONDS:
        raise ValueError(
            f"spec.expirationSeconds: Invalid value: {seconds}: "
            "may not specify a duration less than 10 minutes"
        )
    if seconds > 1 << 32:
        raise ValueError(
            f"spec.expirationSeconds: Invalid value: {seconds}: "
            "may not specify a duration larger than 2^32 seconds"
        )
    pod: tuple[str, str] | None = None
    ref = spec.get("boundObjectRef")
    if isinstance(ref, dict) and ref.get("kind") == "Pod":
        pod = (str(ref.get("name", "")), str(ref.get("uid", "")))
    return audiences, seconds, pod
