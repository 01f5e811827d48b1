"""RBAC evaluation, 403 texts, reviews and service-account tokens."""

from __future__ import annotations

import pytest

from fakeapiserver.rbac import (
    Attributes,
    RBACAuthorizer,
    StaticObjects,
    StoreObjects,
    UserInfo,
    aggregated_rules_by_role,
    bootstrap_policy,
    forbidden_message,
    forbidden_status,
    install_bootstrap_policy,
)
from fakeapiserver.rest import parse_request_info
from fakeapiserver.reviews import (
    ReviewInvalid,
    local_subject_access_review,
    self_subject_access_review,
    subject_access_review,
    token_review,
)
from fakeapiserver.serviceaccounts import (
    ServiceAccountTokens,
    TokenError,
    validate_token_request,
)
from fakeapiserver.store import Store

MS = "system:serviceaccount:kube-system:metrics-server"
MS_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:kube-system",
             "system:authenticated")


def metrics_server_rbac(with_metrics_role: bool = True) -> list[dict]:
    """The RBAC objects of metrics-server's components.yaml (v0.7.1 manifests/base/rbac.yaml)."""
    sa = {"kind": "ServiceAccount", "name": "metrics-server", "namespace": "kube-system"}
    objs = [
        {"kind": "ClusterRole", "metadata": {"name": "system:aggregated-metrics-reader",
         "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true",
                    "rbac.authorization.k8s.io/aggregate-to-edit": "true",
                    "rbac.authorization.k8s.io/aggregate-to-admin": "true"}},
         "rules": [{"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"],
                    "verbs": ["get", "list", "watch"]}]},
        {"kind": "RoleBinding", "metadata": {"name": "metrics-server-auth-reader",
                                             "namespace": "kube-system"},
         "roleRef": {"kind": "Role", "name": "extension-apiserver-authentication-reader"},
         "subjects": [sa]},
        {"kind": "ClusterRoleBinding", "metadata": {"name": "metrics-server:system:auth-delegator"},
         "roleRef": {"kind": "ClusterRole", "name": "system:auth-delegator"}, "subjects": [sa]},
    ]
    if with_metrics_role:
        objs += [
            {"kind": "ClusterRole", "metadata": {"name": "system:metrics-server"},
             "rules": [{"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
                       {"apiGroups": [""], "resources": ["pods", "nodes"],
                        "verbs": ["get", "list", "watch"]}]},
            {"kind": "ClusterRoleBinding", "metadata": {"name": "system:metrics-server"},
             "roleRef": {"kind": "ClusterRole", "name": "system:metrics-server"},
             "subjects": [sa]},
        ]
    return objs


def authz(extra: list[dict] | None = None) -> RBACAuthorizer:
    return RBACAuthorizer(StaticObjects(bootstrap_policy() + (extra or [])))


def node_metrics(user: str = MS, groups: tuple[str, ...] = MS_GROUPS) -> Attributes:
    return Attributes(user=user, groups=groups, verb="get", resource="nodes",
                      subresource="metrics", name="node-1")


def test_metrics_server_sa_gets_nodes_metrics_with_its_role() -> None:
    d = authz(metrics_server_rbac()).authorize(node_metrics())
    assert d.allowed
    assert d.reason == ('RBAC: allowed by ClusterRoleBinding "system:metrics-server" of '
                        'ClusterRole "system:metrics-server" to ServiceAccount '
                        '"metrics-server/kube-system"')


def test_metrics_server_sa_denied_without_its_role() -> None:
    d = authz(metrics_server_rbac(with_metrics_role=False)).authorize(node_metrics())
    assert not d.allowed and d.reason == ""


def test_auth_delegator_and_configmap_reader() -> None:
    a = authz(metrics_server_rbac())
    tr = Attributes(user=MS, groups=MS_GROUPS, verb="create", api_group="authentication.k8s.io",
                    resource="tokenreviews")
    assert a.authorize(tr).allowed
    cm = Attributes(user=MS, groups=MS_GROUPS, verb="get", namespace="kube-system",
                    resource="configmaps", name="extension-apiserver-authentication")
    d = a.authorize(cm)
    assert d.allowed
    assert d.reason == ('RBAC: allowed by RoleBinding "metrics-server-auth-reader/kube-system" '
                        'of Role "extension-apiserver-authentication-reader" to ServiceAccount '
                        '"metrics-server/kube-system"')
    # resourceNames restrict: another configmap and a list are not granted
    other = Attributes(user=MS, groups=MS_GROUPS, verb="get", namespace="kube-system",
                       resource="configmaps", name="other")
    assert not a.authorize(other).allowed
    # the Role binding only counts in its namespace
    elsewhere = Attributes(user=MS, groups=MS_GROUPS, verb="get", namespace="default",
                           resource="configmaps", name="extension-apiserver-authentication")
    assert not a.authorize(elsewhere).allowed


CM_PATH = "/api/v1/namespaces/kube-system/configmaps"
AUTH_CM = "extension-apiserver-authentication"


@pytest.mark.parametrize(("query", "verb", "name", "allowed"), [
    # client-go's single-object informer (every aggregated server's authentication config)
    ({"fieldSelector": f"metadata.name={AUTH_CM}"}, "list", AUTH_CM, True),
    ({"fieldSelector": f"metadata.name={AUTH_CM}", "watch": "true"}, "watch", AUTH_CM, True),
    ({"fieldSelector": f"metadata.name=={AUTH_CM},type!=x"}, "list", AUTH_CM, True),
    ({}, "list", "", False),
    ({"fieldSelector": "metadata.name=other"}, "list", "other", False),
    ({"fieldSelector": f"metadata.name!={AUTH_CM}"}, "list", "", False),
    ({"fieldSelector": "metadata.name=a/b"}, "list", "", False),
    ({"fieldSelector": "metadata.name=.."}, "list", "", False),
    ({"fieldSelector": "metadata.name"}, "list", "", False),  # unparsable: a plain list
])
def test_list_narrowed_to_one_name_is_authorized_by_resource_names(
        query: dict[str, str], verb: str, name: str, allowed: bool) -> None:
    """kube-apiserver's RequestInfo takes the name of a list/watch from
    ``fieldSelector=metadata.name=X``, so ``resourceNames`` rules grant it (the real
    metrics-server's ConfigMap informer was refused before)."""
    info = parse_request_info("GET", CM_PATH, query)
    user = UserInfo(MS, groups=MS_GROUPS)
    attrs = info.attributes(user)
    assert (attrs.verb, attrs.name) == (verb, name)
    assert info.name == ""  # still a list: routed by the path, which names no object
    assert authz(metrics_server_rbac()).authorize(attrs).allowed is allowed


def test_aggregated_view_role_includes_metrics_reader() -> None:
    objs = bootstrap_policy() + metrics_server_rbac() + [
        {"kind": "ClusterRoleBinding", "metadata": {"name": "alice-view"},
         "roleRef": {"kind": "ClusterRole", "name": "view"},
         "subjects": [{"kind": "User", "name": "alice"}]}]
    a = RBACAuthorizer(StaticObjects(objs))
    pods = Attributes(user="alice", groups=("system:authenticated",), verb="list",
                      api_group="metrics.k8s.io", resource="pods", namespace="default")
    assert a.authorize(pods).allowed
    assert a.authorize(Attributes(user="alice", verb="list", resource="pods")).allowed
    assert not a.authorize(Attributes(user="alice", verb="delete", resource="pods",
                                      namespace="default", name="x")).allowed
    rules = aggregated_rules_by_role(StaticObjects(objs))
    assert any("metrics.k8s.io" in r.get("apiGroups", []) for r in rules["view"])
    assert any("metrics.k8s.io" in r.get("apiGroups", []) for r in rules["admin"])


def test_masters_discovery_and_missing_role_reason() -> None:
    a = authz([{"kind": "ClusterRoleBinding", "metadata": {"name": "b"},
                "roleRef": {"kind": "ClusterRole", "name": "nope"},
                "subjects": [{"kind": "User", "name": "bob"}]}])
    assert a.authorize(Attributes(user="admin", groups=("system:masters",), verb="delete",
                                  resource="nodes")).allowed
    disc = Attributes(user="bob", groups=("system:authenticated",), verb="get",
                      resource_request=False, path="/apis/metrics.k8s.io/v1beta1")
    assert a.authorize(disc).allowed
    metrics = Attributes(user="bob", groups=("system:authenticated",), verb="get",
                         resource_request=False, path="/metrics")
    d = a.authorize(metrics)
    assert not d.allowed
    assert d.reason == 'RBAC: clusterrole.rbac.authorization.k8s.io "nope" not found'


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        (Attributes(user="alice", verb="list", api_group="metrics.k8s.io", resource="nodes"),
         'nodes.metrics.k8s.io is forbidden: User "alice" cannot list resource "nodes" in API '
         'group "metrics.k8s.io" at the cluster scope'),
        (Attributes(user="alice", verb="get", resource="pods", namespace="default", name="web"),
         'pods "web" is forbidden: User "alice" cannot get resource "pods" in API group "" in '
         'the namespace "default"'),
        (Attributes(user="alice", verb="get", resource="nodes", subresource="metrics",
                    name="n1"),
         'nodes "n1" is forbidden: User "alice" cannot get resource "nodes/metrics" in API '
         'group "" at the cluster scope'),
        (Attributes(user="alice", verb="get", resource_request=False, path="/metrics"),
         'forbidden: User "alice" cannot get path "/metrics"'),
    ],
)
def test_forbidden_messages(attrs: Attributes, message: str) -> None:
    assert forbidden_message(attrs) == message
    status = forbidden_status(attrs, "")
    assert status["code"] == 403 and status["reason"] == "Forbidden"
    assert status["message"] == message


def test_store_objects_and_bootstrap_install() -> None:
    store = Store()
    store.create("namespaces", {"metadata": {"name": "kube-system"}})
    install_bootstrap_policy(store)
    install_bootstrap_policy(store)  # idempotent
    for obj in metrics_server_rbac():
        kind = {"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings",
                "RoleBinding": "rolebindings"}[obj["kind"]] + ".rbac.authorization.k8s.io"
        store.create(kind, {k: v for k, v in obj.items() if k != "kind"})
    a = RBACAuthorizer(StoreObjects(store))
    assert a.authorize(node_metrics()).allowed
    store.delete("clusterrolebindings.rbac.authorization.k8s.io", "system:metrics-server")
    assert not a.authorize(node_metrics()).allowed


# ----------------------------------------------------------------------------------- reviews


def test_subject_access_review_shapes() -> None:
    a = authz(metrics_server_rbac())
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "get", "resource": "nodes",
                                            "subresource": "metrics", "name": "n1"},
                     "user": MS, "groups": list(MS_GROUPS)}}
    out = subject_access_review(body, a)
    assert out["kind"] == "SubjectAccessReview"
    assert out["apiVersion"] == "authorization.k8s.io/v1"
    assert out["status"]["allowed"] is True
    assert out["status"]["reason"].startswith("RBAC: allowed by ClusterRoleBinding")
    body["spec"]["user"] = "eve"
    body["spec"]["groups"] = ["system:authenticated"]
    assert subject_access_review(body, a)["status"] == {"allowed": False}
    nonres = {"spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"},
                       "user": "eve", "groups": ["system:authenticated"]}}
    assert subject_access_review(nonres, a)["status"]["allowed"] is True


def test_subject_access_review_invalid() -> None:
    a = authz()
    with pytest.raises(ReviewInvalid) as err:
        subject_access_review({"spec": {"user": "x"}}, a)
    assert err.value.status()["code"] == 422
    assert "exactly one of nonResourceAttributes or resourceAttributes" in (
        err.value.status()["message"])
    with pytest.raises(ReviewInvalid):
        subject_access_review({"spec": {"resourceAttributes": {"verb": "get"}}}, a)


def test_self_and_local_reviews() -> None:
    a = authz(metrics_server_rbac())
    me = UserInfo(MS, groups=MS_GROUPS)
    out = self_subject_access_review(
        {"spec": {"resourceAttributes": {"verb": "get", "resource": "nodes",
                                         "subresource": "metrics"}}}, me, a)
    assert out["status"]["allowed"] is True
    with pytest.raises(ReviewInvalid):
        local_subject_access_review(
            {"spec": {"resourceAttributes": {"namespace": "x", "verb": "get",
                                             "resource": "pods"}, "user": "u"}}, "y", a)


def test_token_review_for_service_account() -> None:
    clock = [1_700_000_000.0]
    tokens = ServiceAccountTokens(b"k" * 32, now=lambda: clock[0])
    accounts = {("kube-system", "metrics-server"): "uid-1"}
    issued = tokens.issue("kube-system", "metrics-server", "uid-1", pod=("ms-1", "pod-uid"))

    def auth(token: str, aud: object) -> object:
        return tokens.authenticate(token, lambda ns, n: accounts.get((ns, n)), list(aud))

    out = token_review({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                        "spec": {"token": issued.token}}, auth)  # type: ignore[arg-type]
    st = out["status"]
    assert st["authenticated"] is True
    assert st["user"]["username"] == MS
    assert st["user"]["uid"] == "uid-1"
    assert st["user"]["groups"] == list(MS_GROUPS)
    assert st["user"]["extra"]["authentication.kubernetes.io/pod-name"] == ["ms-1"]
    assert st["audiences"] == ["https://kubernetes.default.svc.cluster.local"]
    # deleting the account invalidates the token
    accounts.clear()
    st = token_review({"spec": {"token": issued.token}}, auth)["status"]  # type: ignore[arg-type]
    assert "authenticated" not in st and st["user"] == {}
    assert 'serviceaccounts "metrics-server" not found' in st["error"]
    # expiry
    accounts[("kube-system", "metrics-server")] = "uid-1"
    clock[0] += 3601
    with pytest.raises(TokenError):
        auth(issued.token, [])
    # tampered token
    with pytest.raises(TokenError):
        auth(issued.token[:-2] + "xx", [])


def test_token_request_validation() -> None:
    assert validate_token_request({"spec": {}}) == ([], 3600, None)
    with pytest.raises(ValueError, match="may not specify a duration less than 10 minutes"):
        validate_token_request({"spec": {"expirationSeconds": 10}})


HPA_SA = "system:serviceaccount:kube-system:horizontal-pod-autoscaler"
HPA_GROUPS = MS_GROUPS


@pytest.mark.parametrize(
    ("verb", "group", "resource", "subresource", "allowed"),
    [
        ("list", "metrics.k8s.io", "pods", "", True),
        ("get", "metrics.k8s.io", "pods", "", False),       # a LIST only, as upstream
        ("list", "metrics.k8s.io", "nodes", "", False),
        ("get", "apps", "deployments", "scale", True),       # */scale in every group
        ("update", "apps", "replicasets", "scale", True),
        ("patch", "apps", "deployments", "scale", False),
        ("update", "apps", "deployments", "", False),
        ("update", "autoscaling", "horizontalpodautoscalers", "status", True),
        ("update", "autoscaling", "horizontalpodautoscalers", "", False),
        ("watch", "autoscaling", "horizontalpodautoscalers", "", True),
        ("list", "", "pods", "", True),
        ("create", "events.k8s.io", "events", "", True),
        ("patch", "", "events", "", True),
        ("list", "custom.metrics.k8s.io", "pods", "", True),
        ("get", "external.metrics.k8s.io", "queue_depth", "", True),
        ("delete", "", "pods", "", False),
    ],
)
def test_hpa_controller_role(verb: str, group: str, resource: str, subresource: str,
                             allowed: bool) -> None:
    """system:controller:horizontal-pod-autoscaler, bound to its ServiceAccount
    (bootstrappolicy/controller_policy.go)."""
    attrs = Attributes(user=HPA_SA, groups=HPA_GROUPS, verb=verb, api_group=group,
                       resource=resource, subresource=subresource, namespace="default")
    decision = authz().authorize(attrs)
    assert decision.allowed is allowed
    if allowed:
        assert 'ClusterRoleBinding "system:controller:horizontal-pod-autoscaler"' in \
            decision.reason


def test_controller_roles_carry_the_bootstrap_labels() -> None:
    role = next(o for o in bootstrap_policy() if o["kind"] == "ClusterRole"
                and o["metadata"]["name"] == "system:controller:horizontal-pod-autoscaler")
    assert role["metadata"]["labels"] == {"kubernetes.io/bootstrapping": "rbac-defaults"}
    assert role["metadata"]["annotations"] == {
        "rbac.authorization.kubernetes.io/autoupdate": "true"}
    assert role["rules"][-1] == {"apiGroups": ["", "events.k8s.io"], "resources": ["events"],
                                 "verbs": ["create", "patch", "update"]}
