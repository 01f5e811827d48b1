"""The delegated authorizer chain and the 403 Status it produces (k8s.io/apiserver's, delegating).

Union in order: group ``system:masters`` is allowed outright; ``--authorization-always-allow-paths``
(non-resource requests only; a trailing ``*`` is a prefix match); then a SubjectAccessReview,
whose allow and deny answers are cached for their own TTLs (errors are not cached and give 500
InternalError, as the apiserver's authorization filter does).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metricsd.api.status import go_quote, status_body
from metricsd.auth.authenticator import UserInfo, _TTLCache
from metricsd.auth.reviews import SUBJECT_ACCESS_REVIEW_PATH, ReviewError, ReviewPoster
from metricsd.clock import Clock, RealClock

MASTERS = "system:masters"
DEFAULT_ALWAYS_ALLOW_PATHS = ("/healthz", "/readyz", "/livez")
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class Attributes:
    """``authorizer.Attributes`` for one request."""

    user: UserInfo
    verb: str
    path: str
    resource_request: bool = False
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    error: str = ""


def _field_name(query: Mapping[str, str]) -> str:
    selector = query.get("fieldSelector", "")
    for term in selector.split(","):
        key, sep, value = term.partition("=")
        if sep and key.strip() == "metadata.name":
            return value.lstrip("=").strip()
    return ""


def list_options_error(query: Mapping[str, str]) -> str | None:
    """Why a list request's selectors do not parse (RequestInfoFactory decodes its
    ListOptions and logs ``Couldn't parse request``), or None."""
    from metricsd.selectors import SelectorError, parse_field_selector, parse_label_selector

    try:
        parse_label_selector(query.get("labelSelector", ""))
        parse_field_selector(query.get("fieldSelector", ""))
    except SelectorError as err:
        return str(err)
    return None


def request_attributes(user: UserInfo, method: str, path: str,
                       query: Mapping[str, str]) -> Attributes:
    """Parse a request like k8s ``RequestInfoFactory`` for the paths metricsd serves."""
    method = method.upper()
    verb = _METHOD_VERBS.get(method, "get")
    parts = [p for p in path.strip("/").split("/") if p]
    non_resource = Attributes(user=user, verb=verb if method != "HEAD" else "get", path=path)
    if not parts or parts[0] not in ("api", "apis"):
        return non_resource
    if parts[0] == "apis":
        if len(parts) < 4:
            return non_resource
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        if len(parts) < 3:
            return non_resource
        group, version, rest = "", parts[1], parts[2:]
    namespace = ""
    if rest[0] == "namespaces":
        if len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        elif len(rest) == 2:
            namespace = rest[1]  # GET /namespaces/{name}: the namespace object itself
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if rest[0] == "namespaces" and len(rest) == 2:
        name = rest[1]
    if method in ("GET", "HEAD"):
        if query.get("watch", "") in _TRUE:
            verb = "watch"
        elif not name:
            verb = "list"
        else:
            verb = "get"
    elif method == "DELETE" and not name:
        verb = "deletecollection"
    if verb in ("list", "watch") and not name and list_options_error(query) is None:
        # a list narrowed to one name is authorized (and logged, as GET) for that name
        name = _field_name(query)
    return Attributes(user=user, verb=verb, path=path, resource_request=True, api_group=group,
                      api_version=version, namespace=namespace, resource=resource,
                      subresource=subresource, name=name)


def forbidden_message(attrs: Attributes) -> str:
    user = go_quote(attrs.user.name)
    if not attrs.resource_request:
        return f"User {user} cannot {attrs.verb} path {go_quote(attrs.path)}"
    resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    scope = (f"in the namespace {go_quote(attrs.namespace)}" if attrs.namespace
             else "at the cluster scope")
    return (f"User {user} cannot {attrs.verb} resource {go_quote(resource)} in API group "
            f"{go_quote(attrs.api_group)} {scope}")


def forbidden_body(attrs: Attributes, reason: str = "") -> dict[str, Any]:
    """``errors.NewForbidden`` as the authorization filter writes it (403)."""
    detail = forbidden_message(attrs) + (f": {reason}" if reason else "")
    if not attrs.resource_request:
        return status_body(403, "Forbidden", f"forbidden: {detail}", {})
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    details: dict[str, Any] = {}
    if attrs.name:
        details["name"] = attrs.name
        message = f"{qualified} {go_quote(attrs.name)} is forbidden: {detail}"
    else:
        message = f"{qualified} is forbidden: {detail}"
    if attrs.api_group:
        details["group"] = attrs.api_group
    details["kind"] = attrs.resource
    return status_body(403, "Forbidden", message, details)


def internal_error_body(err: str) -> dict[str, Any]:
    return status_body(500, "InternalError", f"Internal error occurred: {err}",
                       {"causes": [{"message": err}]})


def path_allowed(path: str, patterns: Sequence[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith("*"):
            if path.startswith(pattern[:-1]):
                return True
        elif path == pattern:
            return True
    return False


def sar_spec(attrs: Attributes) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if attrs.resource_request:
        ra: dict[str, str] = {}
        for key, value in (("namespace", attrs.namespace), ("verb", attrs.verb),
                           ("group", attrs.api_group), ("version", attrs.api_version),
                           ("resource", attrs.resource), ("subresource", attrs.subresource),
                           ("name", attrs.name)):
            if value:
                ra[key] = value
        spec["resourceAttributes"] = ra
    else:
        spec["nonResourceAttributes"] = {"path": attrs.path, "verb": attrs.verb}
    spec["user"] = attrs.user.name
    if attrs.user.groups:
        spec["groups"] = list(attrs.user.groups)
    if attrs.user.extra:
        spec["extra"] = {k: list(v) for k, v in attrs.user.extra.items()}
    if attrs.user.uid:
        spec["uid"] = attrs.user.uid
    return spec


class Authorizer:
    """system:masters → always-allow paths → SubjectAccessReview (cached)."""

    def __init__(
        self,
        reviews: ReviewPoster | None,
        *,
        always_allow_paths: Sequence[str] = DEFAULT_ALWAYS_ALLOW_PATHS,
        always_allow_groups: Sequence[str] = (MASTERS,),
        allow_ttl_s: float = 10.0,
        deny_ttl_s: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        self.reviews = reviews
        self.always_allow_paths = tuple(always_allow_paths)
        self.always_allow_groups = frozenset(always_allow_groups)
        self.clock = clock or RealClock()
        self.allow_ttl_s = allow_ttl_s
        self.deny_ttl_s = deny_ttl_s
        self.cache = _TTLCache(self.clock, allow_ttl_s)
        self.reviews_sent = 0

    async def authorize(self, attrs: Attributes) -> Decision:
        if self.always_allow_groups.intersection(attrs.user.groups):
            return Decision(True)
        if not attrs.resource_request and path_allowed(attrs.path, self.always_allow_paths):
            return Decision(True)
        if self.reviews is None:
            return Decision(False)
        spec = sar_spec(attrs)
        key = json.dumps(spec, sort_keys=True)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "metadata": {"creationTimestamp": None}, "spec": spec, "status": {
                    "allowed": False}}
        self.reviews_sent += 1
        try:
            doc = await self.reviews.post(SUBJECT_ACCESS_REVIEW_PATH, body)
        except ReviewError as err:
            return Decision(False, error=str(err))
        status = doc.get("status") or {}
        allowed = bool(status.get("allowed"))
        denied = bool(status.get("denied"))
        reason = str(status.get("reason") or "")
        if allowed and denied:
            return Decision(False, error="webhook subject access review returned both allow "
                                         "and deny response")
        decision = Decision(allowed and not denied, reason)
        self.cache.put(key, decision, self.allow_ttl_s if decision.allowed else self.deny_ttl_s)
        return decision
