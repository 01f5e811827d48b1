"""TokenReview and SubjectAccessReview answers (authentication.k8s.io/v1, authorization.k8s.io/v1).

Why: delegating servers (metricsd, as metrics-server) and the simulated kubelets ask the
control plane "who is this token?" and "may this user do that?" with these two objects; the
request and response shapes must be kube-apiserver's (reference §4.3–§4.4) so a real client
library (kubernetes_asyncio, client-go) reads them unchanged.

The functions here are pure: they take the decoded request body plus an authenticator or
authorizer and return the response object, or raise :class:`ReviewInvalid` carrying
kube-apiserver's field error for a 422.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fakeapiserver.rbac import Attributes, Authorizer, UserInfo

Obj = dict[str, Any]

#: Authenticates a bearer token for the given audiences: (user, audiences) or raises an
#: exception whose text is the TokenReview ``status.error``; returns None for "unknown token".
TokenAuthenticator = Callable[[str, Sequence[str]], "tuple[UserInfo, list[str]] | None"]


class ReviewInvalid(ValueError):
    """A review the server rejects with 422 Invalid; ``field``/``detail`` form the cause."""

    def __init__(self, kind: str, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.kind = kind
        self.field = field
        self.detail = detail

    def status(self) -> Obj:
        """The 422 metav1.Status kube-apiserver answers for this review."""
        group = (
            "authentication.k8s.io"
            if self.kind.endswith("TokenReview")
            else ("authorization.k8s.io")
        )
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f'{self.kind}.{group} "" is invalid: {self.field}: {self.detail}',
            "reason": "Invalid",
            "details": {
                "group": group,
                "kind": self.kind,
                "causes": [
                    {
                        "reason": "FieldValueInvalid"
                        if "Invalid" in self.detail
                        else "FieldValueRequired",
                        "message": f"{self.field}: {self.detail}" if self.field else self.detail,
                        "field": self.field,
                    }
                ],
            },
            "code": 422,
        }


def _echo(body: Mapping[str, Any], kind: str, api_version: str) -> Obj:
    meta = dict(body.get("metadata") or {})
    meta.setdefault("creationTimestamp", None)
    return {"kind": kind, "apiVersion": api_version, "metadata": meta}


# --------------------------------------------------------------------------- TokenReview


def token_review(body: Any, authenticate: TokenAuthenticator) -> Obj:
    """Answer ``POST /apis/authentication.k8s.io/v1/tokenreviews``.

    Success: ``status: {authenticated: true, user: {...}, audiences: [...]}``.
    Failure: ``status: {user: {}, error: "..."}`` (``authenticated`` omitted, i.e. false),
    or ``status: {user: {}}`` when no authenticator recognised the token.
    """
    if not isinstance(body, dict):
        raise ReviewInvalid("TokenReview", "spec", "Invalid value: must be an object")
    spec = body.get("spec") or {}
    token = spec.get("token") if isinstance(spec, dict) else None
    if not token or not isinstance(token, str):
        raise ReviewInvalid("TokenReview", "spec.token", "Required value: token must be set")
    audiences = [str(a) for a in spec.get("audiences") or []]
    out = _echo(body, "TokenReview", "authentication.k8s.io/v1")
    out["spec"] = spec
    try:
        result = authenticate(token, audiences)
    except Exception as exc:  # any authenticator error is reported, not raised
        out["status"] = {"user": {}, "error": str(exc)}
        return out
    if result is None:
        out["status"] = {"user": {}}
        return out
    user, matched = result
    status: Obj = {"authenticated": True, "user": user.to_api()}
    if matched:
        status["audiences"] = list(matched)
    out["status"] = status
    return out


# ---------------------------------------------------------------------- SubjectAccessReview


def attributes_from_spec(spec: Mapping[str, Any], kind: str = "SubjectAccessReview") -> Attributes:
    """Authorization attributes from a SubjectAccessReview spec (validated as upstream)."""
    res = spec.get("resourceAttributes")
    nonres = spec.get("nonResourceAttributes")
    if bool(res) == bool(nonres):
        raise ReviewInvalid(
            kind,
            "spec.resourceAttributes",
            'Invalid value: "null": exactly one of nonResourceAttributes or '
            "resourceAttributes must be specified",
        )
    user = str(spec.get("user") or "")
    groups = tuple(str(g) for g in spec.get("groups") or [])
    if kind == "SubjectAccessReview" and not user and not groups:
        raise ReviewInvalid(
            kind, "spec.user", 'Invalid value: "": at least one of user or group must be specified'
        )
    extra = {str(k): [str(x) for x in v or []] for k, v in (spec.get("extra") or {}).items()}
    uid = str(spec.get("uid") or "")
    if res:
        return Attributes(
            user=user,
            groups=groups,
            verb=str(res.get("verb") or ""),
            resource_request=True,
            namespace=str(res.get("namespace") or ""),
            api_group=str(res.get("group") or ""),
            api_version=str(res.get("version") or ""),
            resource=str(res.get("resource") or ""),
            subresource=str(res.get("subresource") or ""),
            name=str(res.get("name") or ""),
            uid=uid,
            extra=extra,
        )
    nonres = nonres or {}
    return Attributes(
        user=user,
        groups=groups,
        verb=str(nonres.get("verb") or ""),
        resource_request=False,
        path=str(nonres.get("path") or ""),
        uid=uid,
        extra=extra,
    )


def _decide(attrs: Attributes, authorizer: Authorizer) -> Obj:
    decision = authorizer.authorize(attrs)
    status: Obj = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    return status


def subject_access_review(body: Any, authorizer: Authorizer) -> Obj:
    """Answer ``POST /apis/authorization.k8s.io/v1/subjectaccessreviews``."""
    if not isinstance(body, dict):
        raise ReviewInvalid("SubjectAccessReview", "spec", "Invalid value: must be an object")
    spec = body.get("spec") or {}
    attrs = attributes_from_spec(spec)
    out = _echo(body, "SubjectAccessReview", "authorization.k8s.io/v1")
    out["spec"] = spec
    out["status"] = _decide(attrs, authorizer)
    return out


def local_subject_access_review(body: Any, namespace: str, authorizer: Authorizer) -> Obj:
    """``POST .../namespaces/<ns>/localsubjectaccessreviews``: the namespace must match."""
    kind = "LocalSubjectAccessReview"
    if not isinstance(body, dict):
        raise ReviewInvalid(kind, "spec", "Invalid value: must be an object")
    spec = dict(body.get("spec") or {})
    res = spec.get("resourceAttributes") or {}
    if res and res.get("namespace", "") != namespace:
        raise ReviewInvalid(
            kind,
            "spec.resourceAttributes.namespace",
            f'Invalid value: "{res.get("namespace", "")}": must match metadata.namespace',
        )
    attrs = attributes_from_spec(spec, kind)
    out = _echo(body, kind, "authorization.k8s.io/v1")
    out["metadata"]["namespace"] = namespace
    out["spec"] = spec
    out["status"] = _decide(attrs, authorizer)
    return out


def self_subject_access_review(body: Any, user: UserInfo, authorizer: Authorizer) -> Obj:
    """``POST .../selfsubjectaccessreviews`` (``kubectl auth can-i``): the caller is the subject."""
    kind = "SelfSubjectAccessReview"
    if not isinstance(body, dict):
        raise ReviewInvalid(kind, "spec", "Invalid value: must be an object")
    spec = dict(body.get("spec") or {})
    merged = dict(spec)
    merged.update(
        user=user.name,
        groups=list(user.groups),
        extra={k: list(v) for k, v in user.extra.items()},
        uid=user.uid,
    )
    attrs = attributes_from_spec(merged, kind)
    out = _echo(body, kind, "authorization.k8s.io/v1")
    out["spec"] = spec
    out["status"] = _decide(attrs, authorizer)
    return out


def self_subject_rules_review(body: Any, user: UserInfo, rbac: Any) -> Obj:
    """``POST .../selfsubjectrulesreviews`` (``kubectl auth can-i --list``)."""
    kind = "SelfSubjectRulesReview"
    if not isinstance(body, dict):
        raise ReviewInvalid(kind, "spec", "Invalid value: must be an object")
    spec = dict(body.get("spec") or {})
    namespace = str(spec.get("namespace") or "")
    resource_rules: list[Obj] = []
    non_resource_rules: list[Obj] = []
    for rule in rbac.rules_for(user.name, user.groups, namespace):
        if rule.get("nonResourceURLs"):
            non_resource_rules.append(
                {
                    "verbs": list(rule.get("verbs") or []),
                    "nonResourceURLs": list(rule["nonResourceURLs"]),
                }
            )
        if rule.get("resources"):
            entry: Obj = {
                "verbs": list(rule.get("verbs") or []),
                "apiGroups": list(rule.get("apiGroups") or []),
                "resources": list(rule["resources"]),
            }
            if rule.get("resourceNames"):
                entry["resourceNames"] = list(rule["resourceNames"])
            resource_rules.append(entry)
    out = _echo(body, kind, "authorization.k8s.io/v1")
    out["spec"] = spec
    out["status"] = {
        "resourceRules": resource_rules,
        "nonResourceRules": non_resource_rules,
        "incomplete": False,
    }
    return out


def self_subject_review(user: UserInfo, api_version: str = "authentication.k8s.io/v1") -> Obj:
    """``POST .../selfsubjectreviews`` (``kubectl auth whoami``)."""
    return {
        "kind": "SelfSubjectReview",
        "apiVersion": api_version,
        "metadata": {"creationTimestamp": None},
        "status": {"userInfo": user.to_api()},
    }


# ------------------------------------------------------------------------------ wiring


class AuthWiring:
    """RBAC, service-account tokens and the review endpoints installed on an APIServer.

    Use :func:`wire_auth` after ``APIServer.start()`` (the bootstrap namespaces must exist).
    """

    def __init__(self, server: Any, tokens: Any) -> None:
        from fakeapiserver.rbac import RBACAuthorizer, StoreObjects

        self.server = server
        self.tokens = tokens
        self.rbac = RBACAuthorizer(StoreObjects(server.store))

    # -- service accounts -----------------------------------------------------------------
    def account_uid(self, namespace: str, name: str) -> str | None:
        obj = self.server.store.try_get("serviceaccounts", name, namespace)
        return None if obj is None else str(obj["metadata"].get("uid", ""))

    def authenticate_sa(
        self, token: str, audiences: Sequence[str] = ()
    ) -> tuple[UserInfo, list[str]] | None:
        """(user, audiences) for one of our SA tokens; None when the token is not ours."""
        if not self.tokens.looks_like_ours(token):
            return None
        result: tuple[UserInfo, list[str]] = self.tokens.authenticate(
            token, self.account_uid, audiences
        )
        return result

    def bearer_user(self, token: str) -> UserInfo | None:
        """Token authenticator for request authentication (401 on any failure)."""
        try:
            found = self.authenticate_sa(token)
        except Exception:
            return None
        return found[0] if found else None

    def issue_token(
        self, namespace: str, name: str, expiration_seconds: int = 3600 * 24 * 365
    ) -> str:
        """A token for an existing ServiceAccount (creating the account if missing)."""
        store = self.server.store
        if store.try_get("serviceaccounts", name, namespace) is None:
            store.create("serviceaccounts", {"metadata": {"name": name}}, namespace)
        uid = self.account_uid(namespace, name) or ""
        issued = self.tokens.issue(namespace, name, uid, expiration_seconds=expiration_seconds)
        return str(issued.token)

    # -- handlers ---------------------------------------------------------------------------
    async def token_review(self, body: Obj, ctx: Any) -> Obj:
        async def authenticate(
            token: str, audiences: Sequence[str]
        ) -> tuple[UserInfo, list[str]] | None:
            found = self.authenticate_sa(token, audiences)
            if found is not None:
                return found
            user = await self.server.authenticator.authenticate_token(token)
            if user is None:
                return None
            return user, list(audiences) or list(self.tokens.api_audiences)

        # resolve asynchronously first, then build the answer with the pure function
        spec = body.get("spec") if isinstance(body, dict) else None
        token = spec.get("token") if isinstance(spec, dict) else None
        outcome: Any
        try:
            outcome = await authenticate(
                str(token or ""), list((spec or {}).get("audiences") or [])
            )
        except Exception as exc:
            outcome = exc

        def resolved(_token: str, _aud: Sequence[str]) -> tuple[UserInfo, list[str]] | None:
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        return self._answer(lambda: token_review(body, resolved))

    async def subject_access_review(self, body: Obj, ctx: Any) -> Obj:
        return self._answer(lambda: subject_access_review(body, self.rbac))

    async def local_subject_access_review(self, body: Obj, ctx: Any) -> Obj:
        return self._answer(
            lambda: local_subject_access_review(body, ctx.info.namespace, self.rbac)
        )

    async def self_subject_access_review(self, body: Obj, ctx: Any) -> Obj:
        return self._answer(lambda: self_subject_access_review(body, ctx.user, self.rbac))

    async def self_subject_rules_review(self, body: Obj, ctx: Any) -> Obj:
        return self._answer(lambda: self_subject_rules_review(body, ctx.user, self.rbac))

    async def self_subject_review(self, body: Obj, ctx: Any) -> Obj:
        return self_subject_review(
            ctx.user, str(body.get("apiVersion") or "authentication.k8s.io/v1")
        )

    @staticmethod
    def _answer(fn: Callable[[], Obj]) -> Obj:
        from fakeapiserver.store import ApiError

        try:
            return fn()
        except ReviewInvalid as exc:
            st = exc.status()
            raise ApiError(422, "Invalid", st["message"], st["details"]) from None

    async def token_request(self, ctx: Any) -> Any:
        """``POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token`` (TokenRequest)."""
        from aiohttp import web

        from fakeapiserver.rest import decode_body
        from fakeapiserver.serviceaccounts import token_request_response, validate_token_request
        from fakeapiserver.store import ApiError

        if ctx.request.method != "POST":
            raise ApiError.method_not_allowed()
        ns, name = ctx.info.namespace, ctx.info.name
        kind = self.server.store.kind("serviceaccounts")
        uid = self.account_uid(ns, name)
        if uid is None:
            raise ApiError.not_found(kind, name)
        raw = await ctx.request.read()
        # kubectl ≥ 1.32 sends the TokenRequest as protobuf: decode like any other write
        body = decode_body(raw, ctx.request.content_type, "TokenRequest") if raw.strip() else {}
        if not isinstance(body, dict):
            raise ApiError.bad_request("the body of the request was in an unknown format: "
                                       "expected a TokenRequest object")
        try:
            audiences, seconds, pod = validate_token_request(body)
        except ValueError as exc:
            field = str(exc).partition(": ")[0]
            raise ApiError(
                422,
                "Invalid",
                f'TokenRequest.authentication.k8s.io "{name}" is invalid: {exc}',
                {
                    "name": name,
                    "group": "authentication.k8s.io",
                    "kind": "TokenRequest",
                    "causes": [
                        {"reason": "FieldValueInvalid", "message": str(exc), "field": field}
                    ],
                },
            ) from None
        issued = self.tokens.issue(
            ns, name, uid, audiences=audiences, expiration_seconds=seconds, pod=pod
        )
        out = token_request_response(ns, name, body, issued, self.server.clock())
        return web.json_response(out, status=201)


def wire_auth(server: Any, *, token_key: bytes | None = None) -> AuthWiring:
    """Install RBAC (with the bootstrap policy), SA tokens, the review handlers, the
    TokenRequest subresource and the extension-apiserver-authentication ConfigMap."""
    from fakeapiserver.authconfig import authentication_configmap, uid_headers_for
    from fakeapiserver.rbac import install_bootstrap_policy
    from fakeapiserver.serviceaccounts import ServiceAccountTokens

    tokens = ServiceAccountTokens(token_key, now=server.clock)
    wiring = AuthWiring(server, tokens)
    install_bootstrap_policy(server.store)
    server.authorizer = wiring.rbac.authorize
    server.authenticator.add_token_authenticator(wiring.bearer_user)
    server.set_create_handler("tokenreviews", wiring.token_review)
    server.set_create_handler("subjectaccessreviews", wiring.subject_access_review)
    server.set_create_handler("localsubjectaccessreviews", wiring.local_subject_access_review)
    server.set_create_handler("selfsubjectaccessreviews", wiring.self_subject_access_review)
    server.set_create_handler("selfsubjectreviews", wiring.self_subject_review)
    server.set_create_handler("selfsubjectrulesreviews", wiring.self_subject_rules_review)
    server.set_subresource_handler("serviceaccounts", "token", wiring.token_request)
    cm = authentication_configmap(
        server.pki.client_ca_pem.decode(),
        server.pki.front_proxy_ca_pem.decode(),
        uid_headers=uid_headers_for(server.kube_version),
    )
    server.store.replace("configmaps", cm)
    return wiring
