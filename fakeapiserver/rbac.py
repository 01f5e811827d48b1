"""RBAC authorization evaluated from stored Role/ClusterRole/RoleBinding/ClusterRoleBinding objects.

Why: workloads in the simulation (metricsd, the kubelets' webhook checks, kubectl users) must
get exactly the access their manifests grant, with kube-apiserver's allow reasons and 403
texts, so a missing binding fails here the way it fails on a real cluster.

The evaluation follows upstream's observable semantics (plugin/pkg/auth/authorizer/rbac):

* ``system:masters`` is always allowed (kube-apiserver's privileged-groups authorizer);
* ClusterRoleBindings are visited first, then RoleBindings of the request's namespace;
* a rule matches on verb, API group, resource (``res``, ``res/sub``, ``*/sub``, ``*``),
  resource name, or non-resource URL (exact, ``*``, or ``prefix*``);
* the allow reason reads ``RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to
  User "u"``; a role that cannot be found contributes ``RBAC: clusterrole.rbac.authorization.k8s.io
  "r" not found`` to the (no-opinion) reason;
* ClusterRoles with an ``aggregationRule`` carry the union of the rules of every ClusterRole
  matching one of its label selectors (what upstream's aggregation controller writes).

Objects are plain dicts as stored; the authorizer reads them through :class:`RBACObjects`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

SYSTEM_MASTERS = "system:masters"
SYSTEM_AUTHENTICATED = "system:authenticated"
SYSTEM_UNAUTHENTICATED = "system:unauthenticated"

Obj = dict[str, Any]


class RBACObjects(Protocol):
    """Read access to stored RBAC objects (cluster-scoped when ``namespace`` is None)."""

    def list_kind(self, kind: str, namespace: str | None = None) -> Iterable[Obj]:
        """Objects of ``kind`` (e.g. ``ClusterRoleBinding``), optionally in one namespace."""
        ...


@dataclass(frozen=True)
class UserInfo:
    """An authenticated identity (user.Info): name, uid, groups, extra."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def to_api(self) -> Obj:
        """The ``UserInfo`` shape used in TokenReview status (empty fields omitted)."""
        out: Obj = {"username": self.name}
        if self.uid:
            out["uid"] = self.uid
        if self.groups:
            out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out


@dataclass(frozen=True)
class Attributes:
    """One authorization question, as kube-apiserver's RequestInfo + user describe it."""

    user: str
    groups: tuple[str, ...] = ()
    verb: str = "get"
    resource_request: bool = True
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""
    uid: str = ""
    extra: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """``allowed`` False means "no opinion" (RBAC never denies explicitly)."""

    allowed: bool
    reason: str = ""


class Authorizer(Protocol):
    def authorize(self, attrs: Attributes) -> Decision: ...


# ----------------------------------------------------------------------------------- matching


def _verb_matches(rule: Obj, verb: str) -> bool:
    verbs = rule.get("verbs") or []
    return "*" in verbs or verb in verbs


def _group_matches(rule: Obj, group: str) -> bool:
    groups = rule.get("apiGroups") or []
    return "*" in groups or group in groups


def _resource_matches(rule: Obj, combined: str, subresource: str) -> bool:
    for res in rule.get("resources") or []:
        if res == "*" or res == combined:
            return True
        if subresource and res == "*/" + subresource:
            return True
    return False


def _name_matches(rule: Obj, name: str) -> bool:
    names = rule.get("resourceNames") or []
    return not names or name in names


def _url_matches(rule: Obj, path: str) -> bool:
    for url in rule.get("nonResourceURLs") or []:
        if url == "*" or url == path:
            return True
        if url.endswith("*") and path.startswith(url[:-1]):
            return True
    return False


def rule_allows(attrs: Attributes, rule: Obj) -> bool:
    """True when one PolicyRule grants the request."""
    if attrs.resource_request:
        combined = attrs.resource + ("/" + attrs.subresource if attrs.subresource else "")
        return (
            _verb_matches(rule, attrs.verb)
            and _group_matches(rule, attrs.api_group)
            and _resource_matches(rule, combined, attrs.subresource)
            and _name_matches(rule, attrs.name)
        )
    return _verb_matches(rule, attrs.verb) and _url_matches(rule, attrs.path)


def _subject_matches(subject: Obj, user: str, groups: Sequence[str], binding_ns: str) -> bool:
    kind = subject.get("kind", "")
    name = subject.get("name", "")
    if kind == "User":
        return user == name
    if kind == "Group":
        return name in groups
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_ns
        return user == f"system:serviceaccount:{ns}:{name}"
    return False


def _describe_subject(subject: Obj, binding_ns: str) -> str:
    kind = subject.get("kind", "")
    name = subject.get("name", "")
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_ns
        return f'{kind} "{name}/{ns}"'
    return f'{kind} "{name}"'


def label_selector_matches(selector: Obj, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics (matchLabels AND matchExpressions); empty matches all."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key = expr.get("key", "")
        op = expr.get("operator", "")
        values = expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# ----------------------------------------------------------------------------------- resolver


class _RoleNotFound(Exception):
    pass


class RBACAuthorizer:
    """Authorizer over the stored RBAC objects, matching kube-apiserver's RBAC + masters."""

    def __init__(self, objects: RBACObjects) -> None:
        self._objects = objects

    # roles -----------------------------------------------------------------------------
    def _cluster_roles(self) -> dict[str, Obj]:
        return {
            (o.get("metadata") or {}).get("name", ""): o
            for o in self._objects.list_kind("ClusterRole")
        }

    def effective_cluster_role_rules(
        self, name: str, roles: dict[str, Obj] | None = None
    ) -> list[Obj]:
        """Rules of ClusterRole ``name``, aggregation resolved (raises if it does not exist)."""
        roles = roles if roles is not None else self._cluster_roles()
        if name not in roles:
            raise _RoleNotFound(f'clusterrole.rbac.authorization.k8s.io "{name}" not found')
        return _aggregated_rules(name, roles, set())

    def _role_rules(self, namespace: str, name: str) -> list[Obj]:
        for role in self._objects.list_kind("Role", namespace):
            if (role.get("metadata") or {}).get("name") == name:
                return list(role.get("rules") or [])
        raise _RoleNotFound(f'role.rbac.authorization.k8s.io "{name}" not found')

    # decision --------------------------------------------------------------------------
    def authorize(self, attrs: Attributes) -> Decision:
        if SYSTEM_MASTERS in attrs.groups:
            return Decision(True, "")
        errors: list[str] = []
        roles = self._cluster_roles()
        for binding in self._objects.list_kind("ClusterRoleBinding"):
            reason = self._visit_binding(binding, "", attrs, roles, errors)
            if reason:
                return Decision(True, reason)
        if attrs.namespace:
            for binding in self._objects.list_kind("RoleBinding", attrs.namespace):
                reason = self._visit_binding(binding, attrs.namespace, attrs, roles, errors)
                if reason:
                    return Decision(True, reason)
        if not errors:
            return Decision(False, "")
        if len(errors) == 1:
            return Decision(False, f"RBAC: {errors[0]}")
        return Decision(False, "RBAC: [" + ", ".join(errors) + "]")

    def rules_for(self, user: str, groups: Sequence[str], namespace: str) -> list[Obj]:
        """Every PolicyRule that applies to the user in ``namespace`` (SelfSubjectRulesReview)."""
        out: list[Obj] = []
        if SYSTEM_MASTERS in groups:
            out += [
                {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                {"verbs": ["*"], "nonResourceURLs": ["*"]},
            ]
        roles = self._cluster_roles()
        bindings = [("", b) for b in self._objects.list_kind("ClusterRoleBinding")]
        if namespace:
            bindings += [(namespace, b) for b in self._objects.list_kind("RoleBinding", namespace)]
        for ns, binding in bindings:
            if not any(
                _subject_matches(s, user, groups, ns) for s in binding.get("subjects") or []
            ):
                continue
            ref = binding.get("roleRef") or {}
            try:
                if ref.get("kind") == "ClusterRole":
                    rules = self.effective_cluster_role_rules(str(ref.get("name", "")), roles)
                elif ref.get("kind") == "Role" and ns:
                    rules = self._role_rules(ns, str(ref.get("name", "")))
                else:
                    continue
            except _RoleNotFound:
                continue
            for rule in rules:
                if rule not in out:
                    out.append(rule)
        return out

    def _visit_binding(
        self,
        binding: Obj,
        namespace: str,
        attrs: Attributes,
        roles: dict[str, Obj],
        errors: list[str],
    ) -> str:
        subjects = binding.get("subjects") or []
        subject = next(
            (s for s in subjects if _subject_matches(s, attrs.user, attrs.groups, namespace)), None
        )
        if subject is None:
            return ""
        ref = binding.get("roleRef") or {}
        ref_kind = ref.get("kind", "")
        ref_name = ref.get("name", "")
        try:
            if ref_kind == "ClusterRole":
                rules = self.effective_cluster_role_rules(ref_name, roles)
            elif ref_kind == "Role" and namespace:
                rules = self._role_rules(namespace, ref_name)
            else:
                return ""
        except _RoleNotFound as exc:
            errors.append(str(exc))
            return ""
        if not any(rule_allows(attrs, r) for r in rules):
            return ""
        name = (binding.get("metadata") or {}).get("name", "")
        if namespace:
            return (
                f'RBAC: allowed by RoleBinding "{name}/{namespace}" of {ref_kind} "{ref_name}" '
                f"to {_describe_subject(subject, namespace)}"
            )
        return (
            f'RBAC: allowed by ClusterRoleBinding "{name}" of {ref_kind} "{ref_name}" '
            f"to {_describe_subject(subject, '')}"
        )


def _aggregated_rules(name: str, roles: dict[str, Obj], seen: set[str]) -> list[Obj]:
    role = roles[name]
    agg = role.get("aggregationRule")
    if not agg:
        return list(role.get("rules") or [])
    seen = seen | {name}
    rules: list[Obj] = []
    for other_name in sorted(roles):
        if other_name in seen:
            continue
        labels = (roles[other_name].get("metadata") or {}).get("labels") or {}
        selectors = agg.get("clusterRoleSelectors") or []
        if any(label_selector_matches(sel, labels) for sel in selectors):
            for rule in _aggregated_rules(other_name, roles, seen):
                if rule not in rules:
                    rules.append(rule)
    return rules


def aggregated_rules_by_role(objects: RBACObjects) -> dict[str, list[Obj]]:
    """For every aggregated ClusterRole, the rules upstream's controller would write into it."""
    roles = {(o.get("metadata") or {}).get("name", ""): o for o in objects.list_kind("ClusterRole")}
    return {
        name: _aggregated_rules(name, roles, set())
        for name, role in roles.items()
        if role.get("aggregationRule")
    }


# ----------------------------------------------------------------------------------- 403 text


def forbidden_message(attrs: Attributes, reason: str = "") -> str:
    """kube-apiserver's 403 message for a denied request (responsewriters.forbiddenMessage)."""
    if not attrs.resource_request:
        msg = f'forbidden: User "{attrs.user}" cannot {attrs.verb} path "{attrs.path}"'
    else:
        resource = attrs.resource + ("/" + attrs.subresource if attrs.subresource else "")
        qualified = attrs.resource + ("." + attrs.api_group if attrs.api_group else "")
        subject = f'{qualified} "{attrs.name}"' if attrs.name else qualified
        where = (
            f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
        )
        msg = (
            f'{subject} is forbidden: User "{attrs.user}" cannot {attrs.verb} resource '
            f'"{resource}" in API group "{attrs.api_group}" {where}'
        )
    if reason:
        msg += ": " + reason
    return msg


def forbidden_status(attrs: Attributes, reason: str = "") -> Obj:
    """The metav1.Status body kube-apiserver sends with a 403."""
    details: Obj = {}
    if attrs.resource_request:
        if attrs.name:
            details["name"] = attrs.name
        if attrs.api_group:
            details["group"] = attrs.api_group
        details["kind"] = attrs.resource
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": forbidden_message(attrs, reason),
        "reason": "Forbidden",
        "details": details,
        "code": 403,
    }


# ------------------------------------------------------------------------------ bootstrap policy

_BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}


def _rule(
    groups: list[str], resources: list[str], verbs: list[str], names: list[str] | None = None
) -> Obj:
    rule: Obj = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    if names:
        rule["resourceNames"] = names
    return rule


def _url_rule(urls: list[str], verbs: list[str]) -> Obj:
    return {"nonResourceURLs": urls, "verbs": verbs}


def _meta(name: str, namespace: str = "", labels: Mapping[str, str] | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": {**_BOOTSTRAP_LABELS, **(labels or {})}}
    meta["annotations"] = dict(_AUTOUPDATE)
    if namespace:
        meta["namespace"] = namespace
    return meta


def _cluster_role(
    name: str, rules: list[Obj], labels: Mapping[str, str] | None = None, aggregate_to: str = ""
) -> Obj:
    role: Obj = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _meta(name, labels=labels),
        "rules": rules,
    }
    if aggregate_to:
        role["aggregationRule"] = {
            "clusterRoleSelectors": [
                {"matchLabels": {f"rbac.authorization.k8s.io/aggregate-to-{aggregate_to}": "true"}}
            ]
        }
        role["rules"] = []
    return role


def _cluster_binding(name: str, role: str, subjects: list[Obj]) -> Obj:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": _meta(name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    }


def _group(name: str) -> Obj:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name}


_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]


def bootstrap_policy() -> list[Obj]:
    """The default roles and bindings a fresh kube-apiserver creates, as far as we need them.

    Rules of the aggregated ``view``/``edit``/``admin`` roles live in the
    ``system:aggregate-to-*`` roles, as upstream; only the groups this project's workloads and
    tests touch are listed.
    """
    view_rules = [
        _rule(
            [""],
            [
                "configmaps",
                "endpoints",
                "persistentvolumeclaims",
                "pods",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
                "services/status",
                "pods/log",
                "pods/status",
                "events",
                "limitranges",
                "resourcequotas",
                "namespaces",
                "namespaces/status",
            ],
            _READ,
        ),
        _rule(
            ["apps"],
            [
                "daemonsets",
                "deployments",
                "deployments/scale",
                "replicasets",
                "replicasets/scale",
                "statefulsets",
                "statefulsets/scale",
            ],
            _READ,
        ),
        _rule(["autoscaling"], ["horizontalpodautoscalers"], _READ),
        _rule(["batch"], ["cronjobs", "jobs"], _READ),
        _rule(["policy"], ["poddisruptionbudgets"], _READ),
        _rule(["discovery.k8s.io"], ["endpointslices"], _READ),
        _rule(["events.k8s.io"], ["events"], _READ),
    ]
    edit_rules = [
        _rule(
            [""],
            [
                "pods",
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
                "configmaps",
                "endpoints",
                "persistentvolumeclaims",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "secrets",
                "serviceaccounts",
                "services",
                "services/proxy",
            ],
            _WRITE,
        ),
        _rule([""], ["secrets"], _READ),
        _rule([""], ["serviceaccounts/token"], ["create"]),
        _rule(
            ["apps"],
            [
                "daemonsets",
                "deployments",
                "deployments/rollback",
                "deployments/scale",
                "replicasets",
                "replicasets/scale",
                "statefulsets",
                "statefulsets/scale",
            ],
            _WRITE,
        ),
        _rule(["autoscaling"], ["horizontalpodautoscalers"], _WRITE),
        _rule(["batch"], ["cronjobs", "jobs"], _WRITE),
        _rule(["policy"], ["poddisruptionbudgets"], _WRITE),
        _rule(["discovery.k8s.io"], ["endpointslices"], _WRITE),
    ]
    admin_rules = [
        _rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
        _rule(["rbac.authorization.k8s.io"], ["rolebindings", "roles"], _READ + _WRITE),
    ]
    agg = "rbac.authorization.k8s.io/aggregate-to-"
    objects: list[Obj] = [
        _cluster_role(
            "cluster-admin",
            [_rule(["*"], ["*"], ["*"]), _url_rule(["*"], ["*"])],
        ),
        _cluster_binding("cluster-admin", "cluster-admin", [_group(SYSTEM_MASTERS)]),
        _cluster_role("admin", [], aggregate_to="admin"),
        _cluster_role("edit", [], labels={agg + "admin": "true"}, aggregate_to="edit"),
        _cluster_role(
            "view", [], labels={agg + "edit": "true", agg + "admin": "true"}, aggregate_to="view"
        ),
        _cluster_role("system:aggregate-to-admin", admin_rules, labels={agg + "admin": "true"}),
        _cluster_role("system:aggregate-to-edit", edit_rules, labels={agg + "edit": "true"}),
        _cluster_role("system:aggregate-to-view", view_rules, labels={agg + "view": "true"}),
        _cluster_role(
            "system:auth-delegator",
            [
                _rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
                _rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
            ],
        ),
        _cluster_role(
            "system:basic-user",
            [
                _rule(
                    ["authorization.k8s.io"],
                    ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    ["create"],
                ),
                _rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"]),
            ],
        ),
        _cluster_binding("system:basic-user", "system:basic-user", [_group(SYSTEM_AUTHENTICATED)]),
        _cluster_role(
            "system:discovery",
            [
                _url_rule(
                    [
                        "/api",
                        "/api/*",
                        "/apis",
                        "/apis/*",
                        "/healthz",
                        "/livez",
                        "/openapi",
                        "/openapi/*",
                        "/readyz",
                        "/version",
                        "/version/",
                    ],
                    ["get"],
                )
            ],
        ),
        _cluster_binding("system:discovery", "system:discovery", [_group(SYSTEM_AUTHENTICATED)]),
        _cluster_role(
            "system:public-info-viewer",
            [_url_rule(["/healthz", "/livez", "/readyz", "/version", "/version/"], ["get"])],
        ),
        _cluster_binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            [_group(SYSTEM_AUTHENTICATED), _group(SYSTEM_UNAUTHENTICATED)],
        ),
        *controller_policy(),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta("extension-apiserver-authentication-reader", "kube-system"),
            "rules": [
                _rule([""], ["configmaps"], _READ, names=["extension-apiserver-authentication"])
            ],
        },
    ]
    return objects


#: kube-controller-manager runs each controller as ``kube-system/<name>`` with
#: ``--use-service-account-credentials``, bound to ``system:controller:<name>``.
CONTROLLER_ROLE_PREFIX = "system:controller:"
HPA_CONTROLLER = "horizontal-pod-autoscaler"


def controller_policy() -> list[Obj]:
    """The controller roles this control plane runs a controller for, with upstream's rules
    (``bootstrappolicy/controller_policy.go``; rule builders sort groups and verbs)."""
    roles = {
        HPA_CONTROLLER: [
            _rule(["autoscaling"], ["horizontalpodautoscalers"], _READ),
            _rule(["autoscaling"], ["horizontalpodautoscalers/status"], ["update"]),
            _rule(["*"], ["*/scale"], ["get", "update"]),
            _rule([""], ["pods"], ["list"]),
            _rule(["metrics.k8s.io"], ["pods"], ["list"]),
            _rule(["custom.metrics.k8s.io"], ["*"], ["get", "list"]),
            _rule(["external.metrics.k8s.io"], ["*"], ["get", "list"]),
            _rule(["", "events.k8s.io"], ["events"], ["create", "patch", "update"]),
        ],
    }
    objects: list[Obj] = []
    for name, rules in roles.items():
        role = CONTROLLER_ROLE_PREFIX + name
        objects.append(_cluster_role(role, rules))
        objects.append(_cluster_binding(role, role, [
            {"kind": "ServiceAccount", "name": name, "namespace": "kube-system"}]))
    return objects


class StaticObjects:
    """An in-memory :class:`RBACObjects`, for tests and for the bootstrap policy alone."""

    def __init__(self, objects: Iterable[Obj] = ()) -> None:
        self.objects: list[Obj] = list(objects)

    def list_kind(self, kind: str, namespace: str | None = None) -> list[Obj]:
        return [
            o
            for o in self.objects
            if o.get("kind") == kind
            and (namespace is None or (o.get("metadata") or {}).get("namespace") == namespace)
        ]


class StoreObjects:
    """:class:`RBACObjects` over the control plane's :class:`~fakeapiserver.store.Store`.

    Reads the stored (immutable) versions without copying: authorization runs per request.
    """

    _PLURALS: ClassVar[dict[str, str]] = {
        "Role": "roles",
        "RoleBinding": "rolebindings",
        "ClusterRole": "clusterroles",
        "ClusterRoleBinding": "clusterrolebindings",
    }

    def __init__(self, store: Any) -> None:
        self._store = store

    def list_kind(self, kind: str, namespace: str | None = None) -> list[Obj]:
        plural = self._PLURALS.get(kind, kind)
        ref = f"{plural}.rbac.authorization.k8s.io" if kind in self._PLURALS else plural
        return [s.obj for s in self._store.list_stored(ref, namespace).items]


def install_bootstrap_policy(store: Any) -> None:
    """Create the bootstrap roles and bindings that are missing (as kube-apiserver's hook)."""
    plurals = StoreObjects._PLURALS
    for obj in bootstrap_policy():
        kind = obj["kind"]
        ref = f"{plurals[kind]}.rbac.authorization.k8s.io"
        meta = obj["metadata"]
        if store.try_get(ref, meta["name"], meta.get("namespace")) is None:
            store.create(ref, obj, meta.get("namespace"))
