"""Delegated authentication and authorization rules (k8s.io/apiserver's delegating factories)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trustme
from cryptography import x509

from metricsd.auth import (
    ANONYMOUS,
    AuthenticationConfig,
    Authenticator,
    Authorizer,
    UserInfo,
    forbidden_body,
    request_attributes,
    unauthorized_body,
)
from metricsd.auth.authenticator import certificate_identifier
from metricsd.auth.authorizer import path_allowed, sar_spec
from metricsd.auth.reviews import SUBJECT_ACCESS_REVIEW_PATH, TOKEN_REVIEW_PATH
from metricsd.clock import VirtualClock

FRONT_PROXY = trustme.CA()
CLIENT_CA = trustme.CA()
OTHER_CA = trustme.CA()


def _leaf(ca: trustme.CA, cn: str, *orgs: str) -> x509.Certificate:
    cert = ca.issue_cert("client.local", common_name=cn,
                         organization_name=orgs[0] if orgs else None)
    return x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())


def _config(allowed: tuple[str, ...] = ("front-proxy-client",)) -> AuthenticationConfig:
    config = AuthenticationConfig()
    config.update_from_configmap({
        "client-ca-file": CLIENT_CA.cert_pem.bytes().decode(),
        "requestheader-client-ca-file": FRONT_PROXY.cert_pem.bytes().decode(),
        "requestheader-allowed-names": json.dumps(list(allowed)),
        "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
        "requestheader-group-headers": '["X-Remote-Group"]',
        "requestheader-username-headers": '["X-Remote-User"]',
    })
    return config


class Reviews:
    """A fake core API server answering TokenReviews and SubjectAccessReviews."""

    def __init__(self) -> None:
        self.tokens = {"good-token": {"username": "system:serviceaccount:ns:sa", "uid": "u1",
                                      "groups": ["system:serviceaccounts"]}}
        self.allowed: set[tuple[str, str]] = set()  # (user, verb)
        self.posts: list[tuple[str, dict[str, Any]]] = []

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.posts.append((path, body))
        if path == TOKEN_REVIEW_PATH:
            user = self.tokens.get(body["spec"]["token"])
            if user is None:
                return {"status": {"authenticated": False}}
            return {"status": {"authenticated": True, "user": user}}
        assert path == SUBJECT_ACCESS_REVIEW_PATH
        spec = body["spec"]
        attrs = spec.get("resourceAttributes") or spec.get("nonResourceAttributes")
        ok = (spec["user"], attrs["verb"]) in self.allowed
        return {"status": {"allowed": ok, **({"reason": "RBAC: allowed"} if ok else {})}}


def _cert(serial: int, skid: bytes | None, akid: bytes | None) -> x509.Certificate:
    import datetime

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "x")])
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(serial).not_valid_before(now)
               .not_valid_after(now + datetime.timedelta(days=1)))
    if skid is not None:
        builder = builder.add_extension(x509.SubjectKeyIdentifier(skid), critical=False)
    if akid is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(akid, None, None),
                                        critical=False)
    return builder.sign(key, hashes.SHA256())


@pytest.mark.parametrize(("serial", "skid", "akid", "text"), [
    (1234, b"\x01\xab\x00", b"\xff", "SN=1234, SKID=01:AB:00, AKID=FF"),
    (2**158 + 7, None, None,
     "SN=365375409332725729550921208179070754913983135751, SKID=, AKID="),
    (5, None, b"\x0a\x0b", "SN=5, SKID=, AKID=0A:0B"),
])
def test_certificate_identifier_is_k8s_apiservers(serial: int, skid: bytes | None,
                                                 akid: bytes | None, text: str) -> None:
    """Decimal serial, upper-case colon-separated key identifiers, empty when absent — what
    the real metrics-server printed for the simulation's untrusted front-proxy certificate."""
    assert certificate_identifier(_cert(serial, skid, akid)) == text


class Headers(dict[str, str]):
    pass


async def test_front_proxy_cert_with_allowed_cn_asserts_headers() -> None:
    auth = Authenticator(_config(), Reviews())
    headers = {"X-Remote-User": "alice", "X-Remote-Group": "devs",
               "X-Remote-Extra-Scopes%2Fa": "x"}
    result = await auth.authenticate(headers, _leaf(FRONT_PROXY, "front-proxy-client"))
    assert result.method == "requestheader" and not result.error
    assert result.user is not None
    assert result.user.name == "alice"
    assert result.user.groups == ("devs", "system:authenticated")
    assert dict(result.user.extra) == {"scopes/a": ("x",)}
    assert "x-remote-user" in result.strip_headers


async def test_front_proxy_cert_with_disallowed_cn_is_401() -> None:
    auth = Authenticator(_config(), Reviews())
    # the request-header verifier refuses the CN; the client-CA verifier does not know the CA
    leaf = _leaf(FRONT_PROXY, "mallory")
    result = await auth.authenticate({"X-Remote-User": "alice"}, leaf)
    assert result.user is None
    assert result.error == ("[x509: subject with cn=mallory is not in the allowed list, "
                            f"verifying certificate {certificate_identifier(leaf)} failed: "
                            "x509: certificate signed by unknown authority]")


async def test_empty_allowed_list_accepts_any_cn_from_the_front_proxy_ca() -> None:
    auth = Authenticator(_config(allowed=()), Reviews())
    result = await auth.authenticate({"X-Remote-User": "bob"}, _leaf(FRONT_PROXY, "anything"))
    assert result.user is not None and result.user.name == "bob"


async def test_forged_headers_without_cert_are_ignored() -> None:
    auth = Authenticator(_config(), Reviews())
    result = await auth.authenticate({"X-Remote-User": "admin", "X-Remote-Group":
                                      "system:masters"}, None)
    assert result.user is not None
    assert result.user.name == ANONYMOUS and result.user.groups == ("system:unauthenticated",)


async def test_forged_headers_with_client_ca_cert_give_the_cert_identity() -> None:
    auth = Authenticator(_config(), Reviews())
    result = await auth.authenticate({"X-Remote-User": "admin"},
                                     _leaf(CLIENT_CA, "carol", "team-a"))
    assert result.method == "x509"
    assert result.user is not None and result.user.name == "carol"
    assert result.user.groups == ("team-a", "system:authenticated")


async def test_cert_from_unknown_ca_is_401_unknown_authority() -> None:
    config = AuthenticationConfig()
    config.update_from_configmap({"client-ca-file": CLIENT_CA.cert_pem.bytes().decode()})
    auth = Authenticator(config, Reviews())
    leaf = _leaf(OTHER_CA, "eve")
    result = await auth.authenticate({}, leaf)
    assert result.user is None
    assert result.error == (f"verifying certificate {certificate_identifier(leaf)} failed: "
                            "x509: certificate signed by unknown authority")
    assert unauthorized_body() == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                   "status": "Failure", "message": "Unauthorized",
                                   "reason": "Unauthorized", "code": 401}


async def test_front_proxy_cert_without_username_is_401() -> None:
    # request-header has no opinion (no username), then the client-CA verifier errors on the
    # front-proxy certificate: the union fails on that error (NewFailOnError), no anonymous
    auth = Authenticator(_config(), Reviews())
    leaf = _leaf(FRONT_PROXY, "front-proxy-client")
    result = await auth.authenticate({}, leaf)
    assert result.user is None
    assert result.error == (f"verifying certificate {certificate_identifier(leaf)} failed: "
                            "x509: certificate signed by unknown authority")


async def test_front_proxy_cert_without_username_and_no_client_ca_is_anonymous() -> None:
    config = AuthenticationConfig()
    config.update_from_configmap({
        "requestheader-client-ca-file": FRONT_PROXY.cert_pem.bytes().decode()})
    auth = Authenticator(config, Reviews())
    result = await auth.authenticate({}, _leaf(FRONT_PROXY, "front-proxy-client"))
    assert result.user is not None and result.user.name == ANONYMOUS


async def test_bearer_token_review_and_cache_ttl() -> None:
    clock = VirtualClock()
    reviews = Reviews()
    auth = Authenticator(_config(), reviews, token_cache_ttl_s=10, clock=clock)
    headers = {"Authorization": "Bearer good-token"}
    first = await auth.authenticate(headers, None)
    assert first.method == "token" and first.user is not None
    assert first.user.name == "system:serviceaccount:ns:sa"
    assert first.user.groups == ("system:serviceaccounts", "system:authenticated")
    await auth.authenticate(headers, None)
    assert auth.token_reviews_sent == 1
    await clock.advance(10)
    await auth.authenticate(headers, None)
    assert auth.token_reviews_sent == 2
    token_body = reviews.posts[0][1]
    assert token_body["spec"] == {"token": "good-token"}
    assert token_body["kind"] == "TokenReview"


async def test_bad_token_is_401_invalid_bearer_token() -> None:
    auth = Authenticator(_config(), Reviews())
    result = await auth.authenticate({"authorization": "Bearer nope"}, None)
    assert result.user is None and result.error == "invalid bearer token"


# ------------------------------------------------------------------ authorization

ALICE = UserInfo("alice", groups=("system:authenticated",))


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/apis/metrics.k8s.io/v1beta1/nodes", {}, ("list", "", "nodes", "")),
        ("GET", "/apis/metrics.k8s.io/v1beta1/nodes/n1", {}, ("get", "", "nodes", "n1")),
        ("GET", "/apis/metrics.k8s.io/v1beta1/pods", {"watch": "true"}, ("watch", "", "pods", "")),
        ("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", {},
         ("list", "default", "pods", "")),
        ("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web", {},
         ("get", "default", "pods", "web")),
    ],
)
def test_request_attributes(method: str, path: str, query: dict[str, str],
                            expected: tuple[str, str, str, str]) -> None:
    attrs = request_attributes(ALICE, method, path, query)
    assert attrs.resource_request and attrs.api_group == "metrics.k8s.io"
    assert (attrs.verb, attrs.namespace, attrs.resource, attrs.name) == expected


@pytest.mark.parametrize("path", ["/apis/metrics.k8s.io/v1beta1", "/apis", "/metrics",
                                  "/openapi/v2", "/livez"])
def test_non_resource_paths(path: str) -> None:
    attrs = request_attributes(ALICE, "GET", path, {})
    assert not attrs.resource_request
    assert sar_spec(attrs)["nonResourceAttributes"] == {"path": path, "verb": "get"}


def test_always_allow_paths_with_prefix_star() -> None:
    assert path_allowed("/livez", ["/healthz", "/readyz", "/livez"])
    assert not path_allowed("/livez/ping", ["/healthz", "/readyz", "/livez"])
    assert path_allowed("/livez/ping", ["/livez*"])
    assert not path_allowed("/metrics", ["/healthz", "/readyz", "/livez"])


@pytest.mark.parametrize(
    ("method", "path", "user", "message"),
    [
        ("GET", "/apis/metrics.k8s.io/v1beta1/nodes", "alice",
         'nodes.metrics.k8s.io is forbidden: User "alice" cannot list resource "nodes" in API '
         'group "metrics.k8s.io" at the cluster scope'),
        ("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web", "alice",
         'pods.metrics.k8s.io "web" is forbidden: User "alice" cannot get resource "pods" in '
         'API group "metrics.k8s.io" in the namespace "default"'),
        ("GET", "/metrics", "system:anonymous",
         'forbidden: User "system:anonymous" cannot get path "/metrics"'),
    ],
)
def test_forbidden_messages(method: str, path: str, user: str, message: str) -> None:
    body = forbidden_body(request_attributes(UserInfo(user), method, path, {}))
    assert body["message"] == message and body["code"] == 403 and body["reason"] == "Forbidden"


async def test_anonymous_denied_except_always_allowed_paths() -> None:
    authz = Authorizer(Reviews())
    anon = UserInfo(ANONYMOUS, groups=("system:unauthenticated",))
    assert (await authz.authorize(request_attributes(anon, "GET", "/readyz", {}))).allowed
    # exact paths only (docs/scenarios.md, probe): a single check is not always-allowed
    single = request_attributes(anon, "GET", "/readyz/metric-storage-ready", {})
    assert not (await authz.authorize(single)).allowed
    assert forbidden_body(single)["message"] == (
        'forbidden: User "system:anonymous" cannot get path "/readyz/metric-storage-ready"')
    assert not (await authz.authorize(request_attributes(anon, "GET", "/metrics", {}))).allowed
    assert not (await authz.authorize(
        request_attributes(anon, "GET", "/apis/metrics.k8s.io/v1beta1/nodes", {}))).allowed


async def test_masters_skip_sar() -> None:
    reviews = Reviews()
    authz = Authorizer(reviews)
    root = UserInfo("root", groups=("system:masters",))
    assert (await authz.authorize(request_attributes(root, "GET", "/metrics", {}))).allowed
    assert reviews.posts == []


async def test_sar_allow_and_deny_caches_with_their_ttls() -> None:
    clock = VirtualClock()
    reviews = Reviews()
    authz = Authorizer(reviews, allow_ttl_s=10, deny_ttl_s=3, clock=clock)
    attrs = request_attributes(ALICE, "GET", "/apis/metrics.k8s.io/v1beta1/nodes", {})
    assert not (await authz.authorize(attrs)).allowed
    reviews.allowed.add(("alice", "list"))
    assert not (await authz.authorize(attrs)).allowed  # deny still cached
    assert authz.reviews_sent == 1
    await clock.advance(3)
    decision = await authz.authorize(attrs)
    assert decision.allowed and decision.reason == "RBAC: allowed"
    assert authz.reviews_sent == 2
    reviews.allowed.clear()
    await clock.advance(9.9)
    assert (await authz.authorize(attrs)).allowed  # allow cached for 10s
    await clock.advance(0.1)
    assert not (await authz.authorize(attrs)).allowed
    assert authz.reviews_sent == 3
    spec = reviews.posts[0][1]["spec"]
    assert spec["resourceAttributes"] == {"verb": "list", "group": "metrics.k8s.io",
                                          "version": "v1beta1", "resource": "nodes"}
    assert spec["user"] == "alice" and spec["groups"] == ["system:authenticated"]


def test_aggregate_error_text() -> None:
    from metricsd.auth.authenticator import _aggregate

    assert _aggregate(["a"]) == "a"
    assert _aggregate(["a", "b"]) == "[a, b]"
    assert _aggregate(["x509: certificate signed by unknown authority"] * 2) == (
        "x509: certificate signed by unknown authority")
    assert _aggregate(["a", "b", "a"]) == "[a, b]"
