"""The HTTPS surface: verbs, Status errors, watch framing, tables, discovery, authn, hooks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from fakeapiserver.app import APIServer
from fakeapiserver.discovery import aggregated_content_type
from fakeapiserver.rbac import UserInfo
from fakeapiserver.rest import RequestContext, json_response

V2 = aggregated_content_type("v2")
V2BETA1 = aggregated_content_type("v2beta1")
ACCEPT_130 = f"{V2},{V2BETA1},application/json"
ACCEPT_127 = f"{V2BETA1},application/json"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[APIServer]:
    srv = APIServer(tmp_path / "state", bookmark_interval=0.05)
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def admin(server: APIServer) -> AsyncIterator[aiohttp.ClientSession]:
    ctx = server.pki.client_context(server.pki.admin)
    async with aiohttp.ClientSession(base_url=server.url,
                                     connector=aiohttp.TCPConnector(ssl=ctx)) as session:
        yield session


async def call(session: aiohttp.ClientSession, method: str, path: str,
               body: Any = None, **kw: Any) -> tuple[int, Any, aiohttp.ClientResponse]:
    data = json.dumps(body) if body is not None and not isinstance(body, (str, bytes)) else body
    if data is not None:  # aiohttp would label str data text/plain, which is a 415
        kw["headers"] = {"Content-Type": "application/json", **kw.get("headers", {})}
    async with session.request(method, path, data=data, **kw) as resp:
        raw = await resp.read()
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = raw.decode()
        return resp.status, parsed, resp


async def test_state_dir_files(server: APIServer) -> None:
    files = {p.name for p in server.state_dir.iterdir()}
    assert {"kubeconfig", "ca.crt", "client-ca.crt", "front-proxy-ca.crt",
            "front-proxy-client.crt", "front-proxy-client.key"} <= files
    assert (server.state_dir / "ca.key").stat().st_mode & 0o077 == 0


async def test_version_and_health(server: APIServer, admin: aiohttp.ClientSession) -> None:
    status, body, _ = await call(admin, "GET", "/version")
    assert status == 200 and body["major"] == "1" and body["minor"] == "30"
    assert body["gitVersion"] == "v1.30.0"
    for path in ("/healthz", "/livez", "/readyz"):
        status, text, _ = await call(admin, "GET", path)
        assert (status, text) == (200, "ok")


async def test_crud_and_status_errors(admin: aiohttp.ClientSession) -> None:
    path = "/api/v1/namespaces/default/configmaps"
    status, created, _ = await call(admin, "POST", path, {"metadata": {"name": "c"},
                                                          "data": {"a": "1"}})
    assert status == 201 and created["kind"] == "ConfigMap"
    status, body, _ = await call(admin, "POST", path, {"metadata": {"name": "c"}})
    assert status == 409 and body["reason"] == "AlreadyExists"
    status, body, _ = await call(admin, "GET", f"{path}/nope")
    assert status == 404 and body == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'configmaps "nope" not found', "reason": "NotFound",
        "details": {"name": "nope", "kind": "configmaps"}, "code": 404}
    status, body, _ = await call(admin, "GET", "/api/v1/frobs")
    assert status == 404 and body["message"] == "the server could not find the requested resource"
    # a group nothing serves falls off the end of kube-apiserver's chain: Go's http.NotFound
    status, body, resp = await call(admin, "GET", "/apis/metrics.k8s.io/v1beta1/nodes")
    assert (status, body) == (404, "404 page not found\n")
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    status, body, _ = await call(admin, "GET", "/apis/apps/v1/frobs")  # a group we serve
    assert status == 404 and body["message"] == "the server could not find the requested resource"
    status, body, _ = await call(admin, "POST", path, "{not json",
                                 headers={"Content-Type": "application/json"})
    assert status == 400 and body["reason"] == "BadRequest" and body["kind"] == "Status"
    status, body, _ = await call(admin, "GET", f"{path}?labelSelector=a%20in")
    assert status == 400
    status, body, _ = await call(admin, "GET", "/api/v1/pods?fieldSelector=spec.foo%3Dx")
    assert status == 400 and body["message"] == "field label not supported: spec.foo"
    created["data"]["a"] = "2"
    status, updated, _ = await call(admin, "PUT", f"{path}/c", created)
    assert status == 200 and updated["data"]["a"] == "2"
    status, body, _ = await call(admin, "PUT", f"{path}/c", created)
    assert status == 409 and body["reason"] == "Conflict"
    status, patched, _ = await call(admin, "PATCH", f"{path}/c", {"data": {"b": "3"}},
                                    headers={"Content-Type": "application/merge-patch+json"})
    assert status == 200 and patched["data"] == {"a": "2", "b": "3"}
    status, body, _ = await call(admin, "DELETE", f"{path}/c")
    assert status == 200 and body["status"] == "Success" and body["details"]["name"] == "c"


async def test_bad_requests_leave_store_untouched(server: APIServer,
                                                  admin: aiohttp.ClientSession) -> None:
    await call(admin, "POST", "/api/v1/namespaces/default/configmaps",
               {"metadata": {"name": "c"}, "data": {"a": "1"}})
    rv = server.store.resource_version
    path = "/api/v1/namespaces/default/configmaps/c"
    cases: list[tuple[str, str, Any, str]] = [
        ("PATCH", path, "{oops", "application/merge-patch+json"),
        ("PATCH", path, [{"op": "remove", "path": "/x"}], "application/json-patch+json"),
        ("PATCH", path, {"data": {"a": 5}}, "application/merge-patch+json"),
        ("PUT", path, {"metadata": {"name": "other"}}, "application/json"),
        ("POST", "/api/v1/namespaces/default/configmaps", [1, 2], "application/json"),
        ("POST", "/api/v1/namespaces/default/configmaps",
         {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s"}}, "application/json"),
        ("POST", "/api/v1/namespaces/nope/configmaps", {"metadata": {"name": "z"}},
         "application/json"),
    ]
    for method, p, body, ct in cases:
        status, reply, _ = await call(admin, method, p, body, headers={"Content-Type": ct})
        assert 400 <= status < 500, (method, p, body, reply)
        assert reply["kind"] == "Status" and reply["status"] == "Failure"
    assert server.store.resource_version == rv


async def test_list_chunking_and_metadata_only(server: APIServer,
                                               admin: aiohttp.ClientSession) -> None:
    for i in range(5):
        server.store.create("configmaps", {"metadata": {"name": f"c{i}"}, "data": {"k": "v"}})
    status, page, _ = await call(admin, "GET", "/api/v1/namespaces/default/configmaps?limit=2")
    assert status == 200 and len(page["items"]) == 2 and page["metadata"]["continue"]
    names = [i["metadata"]["name"] for i in page["items"]]
    while page["metadata"].get("continue"):
        status, page, _ = await call(
            admin, "GET", "/api/v1/namespaces/default/configmaps",
            params={"limit": "2", "continue": page["metadata"]["continue"]})
        names += [i["metadata"]["name"] for i in page["items"]]
    assert names == [f"c{i}" for i in range(5)]
    # resourceVersion=0 is served from kube-apiserver's watch cache, which does not paginate:
    # client-go's reflector lists "?limit=500&resourceVersion=0" and gets everything at once
    status, whole, _ = await call(admin, "GET", "/api/v1/namespaces/default/configmaps",
                                  params={"limit": "2", "resourceVersion": "0"})
    assert status == 200 and len(whole["items"]) == 5 and "continue" not in whole["metadata"]
    accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
    status, body, _ = await call(admin, "GET", "/api/v1/configmaps",
                                 headers={"Accept": accept})
    assert body["kind"] == "PartialObjectMetadataList"
    assert body["items"][0]["kind"] == "PartialObjectMetadata" and "data" not in body["items"][0]


async def read_lines(resp: aiohttp.ClientResponse, count: int) -> list[dict]:
    out: list[dict] = []
    while len(out) < count:
        line = await asyncio.wait_for(resp.content.readline(), 5)
        assert line, "stream ended early"
        assert line.endswith(b"\n") and line.strip() == line[:-1]
        out.append(json.loads(line))
    return out


async def test_watch_framing_bookmarks_and_timeout(server: APIServer,
                                                   admin: aiohttp.ClientSession) -> None:
    server.store.create("configmaps", {"metadata": {"name": "a"}})
    params = {"watch": "True", "allowWatchBookmarks": "True", "timeoutSeconds": "30"}
    async with admin.get("/api/v1/namespaces/default/configmaps", params=params) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "application/json"
        (added,) = await read_lines(resp, 1)
        assert added["type"] == "ADDED" and added["object"]["metadata"]["name"] == "a"
        server.store.create("configmaps", {"metadata": {"name": "b"}})
        events = await read_lines(resp, 1)
        while events[-1]["type"] == "BOOKMARK":
            events += await read_lines(resp, 1)
        assert events[-1]["type"] == "ADDED" and events[-1]["object"]["metadata"]["name"] == "b"
        events = await read_lines(resp, 1)
        while events[-1]["type"] != "BOOKMARK":
            events += await read_lines(resp, 1)
        bookmark = events[-1]["object"]
        assert bookmark["kind"] == "ConfigMap"
        assert bookmark["metadata"]["resourceVersion"] == str(server.store.resource_version)
    async with admin.get("/api/v1/configmaps", params={"watch": "1", "timeoutSeconds": "0.1",
                                                       "resourceVersion": str(
                                                           server.store.resource_version)}
                         ) as resp:
        assert await asyncio.wait_for(resp.read(), 5) == b""


async def test_watch_too_old_gets_error_event(server: APIServer,
                                              admin: aiohttp.ClientSession) -> None:
    old = server.store.resource_version
    server.store.create("configmaps", {"metadata": {"name": "a"}})
    server.store.compact()
    async with admin.get("/api/v1/configmaps", params={"watch": "true",
                                                       "resourceVersion": str(old)}) as resp:
        assert resp.status == 200
        lines = (await resp.read()).splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["type"] == "ERROR"
    assert event["object"] == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f"too old resource version: {old} ({server.store.resource_version})",
        "reason": "Expired", "code": 410}


async def test_table_output(server: APIServer, admin: aiohttp.ClientSession) -> None:
    server.store.create("nodes", {"metadata": {"name": "n1", "labels": {
        "node-role.kubernetes.io/control-plane": ""}}, "status": {
        "conditions": [{"type": "Ready", "status": "True"}],
        "nodeInfo": {"kubeletVersion": "v1.30.2"}}})
    status, table, _ = await call(admin, "GET", "/api/v1/nodes", headers={"Accept": TABLE})
    assert status == 200 and table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == [
        "Name", "Status", "Roles", "Age", "Version"]
    assert table["rows"][0]["cells"][:3] == ["n1", "Ready", "control-plane"]
    assert table["rows"][0]["cells"][4] == "v1.30.2"
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


@pytest.mark.parametrize(("version", "accept", "expected"), [
    ("1.26", ACCEPT_130, None),
    ("1.27", ACCEPT_127, V2BETA1),
    ("1.29", ACCEPT_130, V2BETA1),
    ("1.30", ACCEPT_130, V2),
    ("1.30", ACCEPT_127, V2BETA1),
    ("1.33", ACCEPT_127, None),
    ("1.30", "application/json, */*", None),
])
async def test_discovery_negotiation(tmp_path: Path, version: str, accept: str,
                                     expected: str | None) -> None:
    async with APIServer(tmp_path, kube_version=version) as srv:
        ctx = srv.pki.client_context(srv.pki.admin)
        async with aiohttp.ClientSession(base_url=srv.url,
                                         connector=aiohttp.TCPConnector(ssl=ctx)) as s:
            for path in ("/api", "/apis"):
                status, body, resp = await call(s, "GET", path, headers={"Accept": accept})
                assert status == 200
                if expected is None:
                    assert resp.headers["Content-Type"] == "application/json"
                    assert body["kind"] == ("APIVersions" if path == "/api" else "APIGroupList")
                else:
                    assert resp.headers["Content-Type"] == expected
                    assert body["kind"] == "APIGroupDiscoveryList"


async def test_apiservice_groups_in_discovery(server: APIServer,
                                              admin: aiohttp.ClientSession) -> None:
    server.store.create("apiservices", {"metadata": {"name": "v1beta1.metrics.k8s.io"}, "spec": {
        "group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
        "versionPriority": 100, "service": {"namespace": "kube-system",
                                           "name": "metrics-server"}}})
    _, legacy, _ = await call(admin, "GET", "/apis", headers={"Accept": "application/json"})
    groups = {g["name"]: g for g in legacy["groups"]}
    assert groups["metrics.k8s.io"]["versions"] == [
        {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}]

    def metrics(body: dict) -> dict:
        item = next(i for i in body["items"] if i["metadata"].get("name") == "metrics.k8s.io")
        return dict(item["versions"][0])

    _, agg, _ = await call(admin, "GET", "/apis", headers={"Accept": ACCEPT_130})
    assert metrics(agg) == {"version": "v1beta1", "freshness": "Stale"}
    resources = [{"resource": "nodes", "responseKind": {"group": "", "version": "",
                                                        "kind": "NodeMetrics"},
                  "scope": "Cluster", "singularResource": "", "verbs": ["get", "list"]}]
    server.discovery.set_aggregated("metrics.k8s.io", "v1beta1", resources)
    _, agg, _ = await call(admin, "GET", "/apis", headers={"Accept": ACCEPT_130})
    assert metrics(agg) == {"version": "v1beta1", "resources": resources,
                            "freshness": "Current"}


async def test_authentication(server: APIServer) -> None:
    ctx = server.pki.client_context()
    async with aiohttp.ClientSession(base_url=server.url,
                                     connector=aiohttp.TCPConnector(ssl=ctx)) as anon:
        status, text, _ = await call(anon, "GET", "/healthz")
        assert (status, text) == (200, "ok")
        status, body, _ = await call(anon, "GET", "/api/v1/nodes")
        assert status == 403 and body["reason"] == "Forbidden"
        assert body["message"] == ('nodes is forbidden: User "system:anonymous" cannot list '
                                   'resource "nodes" in API group "" at the cluster scope')
        status, body, _ = await call(anon, "GET", "/api/v1/nodes",
                                     headers={"Authorization": "Bearer nope"})
        assert status == 401 and body == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                          "status": "Failure", "message": "Unauthorized",
                                          "reason": "Unauthorized", "code": 401}
        server.authenticator.add_token("t0k", UserInfo("alice", groups=("system:masters",)))
        status, body, _ = await call(anon, "GET", "/api/v1/nodes",
                                     headers={"Authorization": "Bearer t0k"})
        assert status == 200 and body["kind"] == "NodeList"
    cert = server.pki.client_cert("bob", ["dev", "ops"])
    async with aiohttp.ClientSession(base_url=server.url, connector=aiohttp.TCPConnector(
            ssl=server.pki.client_context(cert))) as bob:
        status, body, _ = await call(bob, "POST",
                                     "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                     {"apiVersion": "authentication.k8s.io/v1",
                                      "kind": "SelfSubjectReview"})
        assert status == 403  # default authorizer: only system:masters
        server.authorizer = lambda attrs: __import__("fakeapiserver.rbac").rbac.Decision(True)
        status, body, _ = await call(bob, "POST",
                                     "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                     {"apiVersion": "authentication.k8s.io/v1",
                                      "kind": "SelfSubjectReview"})
        assert status == 201
        assert body["status"]["userInfo"] == {
            "username": "bob", "groups": ["dev", "ops", "system:authenticated"]}


async def test_mount_and_create_handler_hooks(server: APIServer,
                                              admin: aiohttp.ClientSession) -> None:
    seen: list[str] = []

    async def metrics(ctx: RequestContext) -> web.StreamResponse:
        seen.append(f"{ctx.user.name} {ctx.info.verb} {ctx.info.resource}")
        return json_response({"kind": "NodeMetricsList", "items": []})

    server.mount("/apis/metrics.k8s.io", metrics)
    status, body, _ = await call(admin, "GET", "/apis/metrics.k8s.io/v1beta1/nodes")
    assert status == 200 and body["kind"] == "NodeMetricsList"
    assert seen == ["kubernetes-admin list nodes"]

    async def token_review(body: dict, ctx: RequestContext) -> dict:
        return {**body, "status": {"authenticated": body["spec"]["token"] == "good"}}

    server.set_create_handler("tokenreviews", token_review)
    status, body, _ = await call(admin, "POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                                 {"apiVersion": "authentication.k8s.io/v1",
                                  "kind": "TokenReview", "spec": {"token": "good"}})
    assert status == 201 and body["status"] == {"authenticated": True}


async def test_idle_watch_is_released_when_client_leaves(
        server: APIServer, admin: aiohttp.ClientSession,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from fakeapiserver import rest

    monkeypatch.setattr(rest, "_DISCONNECT_CHECK", 0.02)
    async def until(cond: Any) -> None:
        while not cond():
            await asyncio.sleep(0.01)

    resp = await admin.get("/api/v1/secrets", params={"watch": "true"})
    assert resp.status == 200
    await asyncio.wait_for(until(lambda: server.store.watcher_count("secrets") == 1), 5)
    resp.close()
    await asyncio.wait_for(until(lambda: server.store.watcher_count("secrets") == 0), 5)


async def test_dry_run_answers_without_writing(server: APIServer,
                                               admin: aiohttp.ClientSession) -> None:
    path = "/api/v1/namespaces/default/configmaps"
    await call(admin, "POST", path, {"metadata": {"name": "keep"}, "data": {"a": "1"}})
    rv = server.store.resource_version
    status, body, _ = await call(admin, "POST", f"{path}?dryRun=All",
                                 {"metadata": {"name": "ghost"}})
    assert status == 201 and body["metadata"]["name"] == "ghost"
    status, body, _ = await call(admin, "PATCH", f"{path}/keep?dryRun=All", {"data": {"a": "2"}},
                                 headers={"Content-Type": "application/merge-patch+json"})
    assert status == 200 and body["data"] == {"a": "2"}
    status, _, _ = await call(admin, "DELETE", f"{path}/keep?dryRun=All")
    assert status == 200
    assert server.store.resource_version == rv
    assert server.store.try_get("configmaps", "ghost", "default") is None
    assert server.store.get("configmaps", "keep", "default")["data"] == {"a": "1"}


async def test_eviction_respects_pdb(server: APIServer, admin: aiohttp.ClientSession) -> None:
    store = server.store
    for name, app in (("a", "guarded"), ("b", "free")):
        store.create("pods", {"metadata": {"name": name, "labels": {"app": app}},
                              "spec": {"containers": [{"name": "c", "image": "i"}]}})
    store.create("poddisruptionbudgets", {
        "metadata": {"name": "pdb"}, "spec": {"minAvailable": 1, "selector": {
            "matchLabels": {"app": "guarded"}}},
        "status": {"disruptionsAllowed": 0, "desiredHealthy": 1, "currentHealthy": 1}})
    body: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "Eviction",
                            "metadata": {"name": "a"}}
    status, reply, _ = await call(admin, "POST", "/api/v1/namespaces/default/pods/a/eviction",
                                  body)
    assert status == 429 and reply["reason"] == "TooManyRequests"
    assert reply["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert store.try_get("pods", "a", "default") is not None
    body["metadata"]["name"] = "b"
    status, reply, _ = await call(admin, "POST", "/api/v1/namespaces/default/pods/b/eviction",
                                  body)
    assert status == 201 and reply["status"] == "Success"
    assert store.try_get("pods", "b", "default") is None


async def test_random_requests_never_500(server: APIServer, admin: aiohttp.ClientSession) -> None:
    """Seeded random paths, methods, queries, bodies: every answer is < 500, errors are Status."""
    import random

    rng = random.Random(20240601)
    segments = ["api", "apis", "v1", "apps", "namespaces", "default", "kube-system", "pods",
                "nodes", "configmaps", "status", "scale", "log", "eviction", "token", "x",
                "deployments", "apiregistration.k8s.io", "apiservices", "v1beta1", "%2F", "..",
                "autoscaling", "v2", "horizontalpodautoscalers", "tokenreviews",
                "authentication.k8s.io", "watch", "finalize"]
    queries = ["watch=1&timeoutSeconds=0.01", "labelSelector=a%20in%20(", "fieldSelector=x",
               "limit=-1", "limit=abc", "continue=zz", "resourceVersion=abc&watch=true",
               "resourceVersion=999999&watch=true&timeoutSeconds=0.01", "dryRun=All",
               "timeoutSeconds=x&watch=true", ""]
    bodies: list[Any] = [b"", b"{", b"null", b"[]", b'"s"', b"\xff\xfe",
                         json.dumps({"metadata": {"name": 5}}).encode(),
                         json.dumps({"metadata": {"name": "ok"}, "spec": 3}).encode(),
                         json.dumps({"kind": "Pod", "apiVersion": "v1",
                                     "metadata": {"name": "fuzz"}}).encode(),
                         json.dumps([{"op": "add", "path": "/x", "value": 1}]).encode()]
    types = ["application/json", "application/merge-patch+json", "application/yaml",
             "application/strategic-merge-patch+json", "application/json-patch+json",
             "application/apply-patch+yaml", "application/vnd.kubernetes.protobuf",
             "text/plain"]
    server.store.create("pods", {"metadata": {"name": "p"}, "spec": {"containers": []}})
    server.store.create("deployments", {"metadata": {"name": "d"}, "spec": {}})
    templates = ["/api/v1/namespaces/default/{r}/{n}/{s}", "/api/v1/namespaces/default/{r}",
                 "/apis/apps/v1/namespaces/default/{r}/{n}/{s}", "/api/v1/{r}/{n}",
                 "/apis/autoscaling/v1/namespaces/default/{r}/{n}"]
    resources = ["pods", "deployments", "configmaps", "horizontalpodautoscalers", "events",
                 "serviceaccounts", "namespaces", "nodes"]
    for i in range(300):
        if i % 2:
            path = "/" + "/".join(rng.choice(segments) for _ in range(rng.randint(0, 7)))
        else:
            path = rng.choice(templates).format(
                r=rng.choice(resources), n=rng.choice(["p", "d", "nope", "default"]),
                s=rng.choice(["status", "scale", "eviction", "log", "token", "bogus"]))
        query = rng.choice(queries)
        method = rng.choice(["GET", "POST", "PUT", "PATCH", "DELETE"])
        data = rng.choice(bodies) if method != "GET" else None
        headers = {"Content-Type": rng.choice(types)}
        async with admin.request(method, f"{path}?{query}", data=data,
                                 headers=headers) as resp:
            raw = await asyncio.wait_for(resp.read(), 5)
            too_large = resp.status == 504 and b"Too large resource version" in raw
            assert resp.status < 500 or too_large, (method, path, query, data, raw[:300])
            if resp.status == 404 and raw == b"404 page not found\n":
                # a group nothing serves: kube-apiserver's chain end answers Go's text
                assert path.startswith("/apis/") and resp.content_type == "text/plain"
                continue
            if resp.status >= 400 and raw:
                body = json.loads(raw.splitlines()[0])
                status = body.get("object", body)
                assert status["kind"] == "Status", (method, path, raw[:300])


async def test_openapi_documents(admin: aiohttp.ClientSession) -> None:
    status, root, _ = await call(admin, "GET", "/openapi/v3")
    assert status == 200 and "apis/apps/v1" in root["paths"]
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    status, doc, _ = await call(admin, "GET", url)
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1",
                                                        "kind": "Deployment"}
    assert [p["name"] for p in patch["parameters"]] == ["fieldValidation"]
    status, _, _ = await call(admin, "GET", "/openapi/v3/apis/nope/v1")
    assert status == 404
    async with admin.get("/openapi/v2") as resp:
        body = await resp.read()
        assert resp.status == 200 and resp.headers["Content-Type"].endswith("+protobuf")
    assert body.startswith(b"\n\x032.0") and b"fieldValidation" in body
    assert b"/apis/apps/v1/namespaces/{namespace}/deployments/{name}" in body
