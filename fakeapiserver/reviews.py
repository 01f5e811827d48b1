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


def self_subject_review(user: UserInfo, api_version: str = "authentication.k8s.io/v1") -> Obj:
    """``POST .../selfsubjectreviews`` (``kubectl auth whoami``)."""
    return {
        "kind": "SelfSubjectReview",
        "apiVersion": api_version,
        "metadata": {"creationTimestamp": None},
        "status": {"userInfo": user.to_api()},
    }
