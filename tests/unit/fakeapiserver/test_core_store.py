"""Store semantics: resourceVersions, conflicts, selectors, chunking, patches, watch history."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakeapiserver.selectors import parse_field_selector, parse_label_selector
from fakeapiserver.store import ApiError, Store
from fakeapiserver.watch import Watcher


def make_store(**kw: object) -> Store:
    store = Store(clock=lambda: 1_700_000_000.0, **kw)  # type: ignore[arg-type]
    for ns in ("default", "kube-system"):
        store.create("namespaces", {"metadata": {"name": ns}})
    return store


def pod(name: str, ns: str = "default", node: str = "n1", phase: str = "Running",
        labels: dict[str, str] | None = None) -> dict:
    return {"metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "img"}]},
            "status": {"phase": phase}}


def drain(watcher: Watcher) -> list[dict]:
    out = []
    while not watcher.queue.empty():
        line = watcher.queue.get_nowait()
        assert line is not None and line.endswith(b"\n") and line.count(b"\n") == 1
        out.append(json.loads(line))
    return out


def test_create_assigns_metadata_and_global_rv() -> None:
    store = make_store()
    before = store.resource_version
    created = store.create("pods", pod("a"))
    meta = created["metadata"]
    assert int(meta["resourceVersion"]) == before + 1 == store.resource_version
    assert meta["uid"] and meta["creationTimestamp"] == "2023-11-14T22:13:20Z"
    assert created["kind"] == "Pod" and created["apiVersion"] == "v1"
    cm = store.create("configmaps", {"metadata": {"name": "x"}}, namespace="kube-system")
    assert int(cm["metadata"]["resourceVersion"]) == before + 2
    assert cm["metadata"]["namespace"] == "kube-system"


def test_generate_name_and_already_exists() -> None:
    store = make_store()
    a = store.create("pods", {**pod(""), "metadata": {"generateName": "web-"}})
    assert a["metadata"]["name"].startswith("web-") and len(a["metadata"]["name"]) == 9
    with pytest.raises(ApiError) as exc:
        store.create("pods", pod(a["metadata"]["name"]))
    assert exc.value.code == 409 and exc.value.reason == "AlreadyExists"
    assert exc.value.message == f'pods "{a["metadata"]["name"]}" already exists'


def test_missing_namespace_is_not_found() -> None:
    store = make_store()
    with pytest.raises(ApiError) as exc:
        store.create("pods", pod("a", ns="nope"))
    assert exc.value.message == 'namespaces "nope" not found'


def test_update_conflict_and_unconditional() -> None:
    store = make_store()
    created = store.create("configmaps", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    stale = json.loads(json.dumps(created))
    created["data"]["a"] = "2"
    updated = store.update("configmaps", created)
    assert updated["data"]["a"] == "2"
    stale["data"]["a"] = "3"
    with pytest.raises(ApiError) as exc:
        store.update("configmaps", stale)
    assert exc.value.code == 409 and exc.value.reason == "Conflict"
    assert exc.value.message == ('Operation cannot be fulfilled on configmaps "c": the object '
                                 "has been modified; please apply your changes to the latest "
                                 "version and try again")
    assert store.get("configmaps", "c", "default")["data"]["a"] == "2"
    stale["metadata"].pop("resourceVersion")
    assert store.update("configmaps", stale)["data"]["a"] == "3"


def test_noop_update_keeps_rv() -> None:
    store = make_store()
    created = store.create("configmaps", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    rv = store.resource_version
    again = store.update("configmaps", created)
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert store.resource_version == rv


def test_main_update_keeps_status_and_status_update_keeps_spec() -> None:
    store = make_store()
    created = store.create("pods", pod("a", phase="Running"))
    created["status"] = {"phase": "Failed"}
    created["spec"]["nodeName"] = "n2"
    after = store.update("pods", created)
    assert after["status"]["phase"] == "Running" and after["spec"]["nodeName"] == "n2"
    after["status"] = {"phase": "Succeeded"}
    after["spec"]["nodeName"] = "n3"
    status = store.update("pods", after, subresource="status")
    assert status["status"]["phase"] == "Succeeded" and status["spec"]["nodeName"] == "n2"


def test_generation_bumps_only_on_spec_change() -> None:
    store = make_store()
    d = store.create("deployments", {"metadata": {"name": "d"}, "spec": {"replicas": 1}})
    assert d["metadata"]["generation"] == 1
    d["metadata"]["labels"] = {"x": "y"}
    d = store.update("deployments", d)
    assert d["metadata"]["generation"] == 1
    d["spec"]["replicas"] = 3
    assert store.update("deployments", d)["metadata"]["generation"] == 2


def test_label_and_field_selectors() -> None:
    store = make_store()
    store.create("pods", pod("a", node="n1", labels={"app": "web", "tier": "fe"}))
    store.create("pods", pod("b", node="n2", labels={"app": "web"}, phase="Pending"))
    store.create("pods", pod("c", node="n1", labels={"app": "db"}, ns="kube-system"))

    def names(label: str = "", field: str = "", ns: str | None = None) -> list[str]:
        kind = store.kind("pods")
        res = store.list_stored(kind, ns, parse_label_selector(label),
                                parse_field_selector(field, kind))
        return [s.name for s in res.items]

    assert names("app=web") == ["a", "b"]
    assert names("app!=web") == ["c"]
    assert names("app in (db, web),tier") == ["a"]
    assert names("!tier") == ["b", "c"]
    assert names(field="spec.nodeName=n1") == ["a", "c"]
    assert names(field="spec.nodeName=n1,metadata.namespace!=kube-system") == ["a"]
    assert names(field="status.phase!=Running") == ["b"]
    assert names(field="metadata.name=b") == ["b"]
    assert names(ns="kube-system") == ["c"]


def test_unsupported_field_label_message() -> None:
    store = make_store()
    with pytest.raises(ValueError, match=r"^field label not supported: spec\.foo$"):
        parse_field_selector("spec.foo=x", store.kind("pods"))
    with pytest.raises(ValueError, match=r"field label not supported: spec\.nodeName"):
        parse_field_selector("spec.nodeName=x", store.kind("configmaps"))
    assert not parse_field_selector("involvedObject.uid=u,involvedObject.name=x",
                                    store.kind("events")).empty


def test_chunking_covers_everything_once() -> None:
    store = make_store()
    for i in range(23):
        store.create("configmaps", {"metadata": {"name": f"cm-{i:02d}"}})
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = store.list_stored("configmaps", limit=5, continue_token=token)
        seen.extend(s.name for s in page.items)
        pages += 1
        token = page.continue_token
        if token is None:
            break
    assert seen == sorted(f"cm-{i:02d}" for i in range(23)) and pages == 5


def test_bad_continue_token() -> None:
    store = make_store()
    with pytest.raises(ApiError) as exc:
        store.list_stored("configmaps", limit=1, continue_token="!!!garbage")
    assert exc.value.code == 400


def test_patches() -> None:
    store = make_store()
    store.create("deployments", {"metadata": {"name": "d"}, "spec": {"template": {"spec": {
        "containers": [{"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
                       {"name": "b", "image": "b:1"}]}}}})
    smp = {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "env": [{"name": "Y", "value": "2"}]},
        {"name": "b", "$patch": "delete"}]}}}}
    out = store.patch("deployments", "d", smp, "application/strategic-merge-patch+json")
    containers = out["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["a"]
    assert containers[0]["image"] == "a:1"
    assert containers[0]["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
    merge = {"metadata": {"labels": {"x": "1"}}, "spec": {"replicas": 4}}
    out = store.patch("deployments", "d", merge, "application/merge-patch+json")
    assert out["spec"]["replicas"] == 4 and out["metadata"]["labels"] == {"x": "1"}
    out = store.patch("deployments", "d", [{"op": "replace", "path": "/spec/replicas",
                                            "value": 2}], "application/json-patch+json")
    assert out["spec"]["replicas"] == 2


def test_failing_patch_leaves_store_untouched() -> None:
    store = make_store()
    store.create("configmaps", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    rv = store.resource_version
    before = store.get("configmaps", "c", "default")
    for body, ct in (
        ([{"op": "remove", "path": "/nope"}], "application/json-patch+json"),
        ({"data": {"a": "2"}, "$patch": "bogus"}, "application/strategic-merge-patch+json"),
        ({"metadata": {"name": "other"}}, "application/merge-patch+json"),
        ({"metadata": {"labels": {"a": 1}}}, "application/merge-patch+json"),
        ({"data": {"a": "2"}}, "application/x-unknown"),
    ):
        with pytest.raises(ApiError) as exc:
            store.patch("configmaps", "c", body, ct)
        assert exc.value.code in (400, 409, 422)
    assert store.resource_version == rv and store.get("configmaps", "c", "default") == before


def test_apply_patch_creates_then_merges() -> None:
    store = make_store()
    ct = "application/apply-patch+yaml"
    created = store.patch("configmaps", "c", {"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": {"name": "c"}, "data": {"a": "1"}}, ct)
    assert created["data"] == {"a": "1"}
    merged = store.patch("configmaps", "c", {"data": {"b": "2"}}, ct)
    assert merged["data"] == {"a": "1", "b": "2"}


def test_delete_and_cascade() -> None:
    store = make_store()
    owner = store.create("replicasets", {"metadata": {"name": "rs"}, "spec": {}})
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
           "uid": owner["metadata"]["uid"]}
    store.create("pods", {**pod("p"), "metadata": {"name": "p", "ownerReferences": [ref]}})
    store.delete("replicasets", "rs", "default")
    assert store.try_get("pods", "p", "default") is None
    with pytest.raises(ApiError) as exc:
        store.delete("pods", "p", "default")
    assert exc.value.message == 'pods "p" not found' and exc.value.code == 404


def test_namespace_creation_adds_default_sa_and_deletion_cascades() -> None:
    store = make_store()
    store.create("namespaces", {"metadata": {"name": "team"}})
    assert store.try_get("serviceaccounts", "default", "team") is not None
    store.create("configmaps", {"metadata": {"name": "c", "namespace": "team"}})
    store.delete("namespaces", "team")
    assert store.list("configmaps", "team") == []


def test_watch_from_zero_then_changes() -> None:
    store = make_store()
    store.create("pods", pod("a"))
    w = store.watch("pods", resource_version="0")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in drain(w)] == [("ADDED", "a")]
    store.create("pods", pod("b"))
    b = store.get("pods", "b", "default")
    b["metadata"]["labels"] = {"x": "y"}
    store.update("pods", b)
    store.delete("pods", "a", "default")
    events = drain(w)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "a")]
    assert int(events[-1]["object"]["metadata"]["resourceVersion"]) == store.resource_version


def test_watch_from_rv_replays_only_later_events() -> None:
    store = make_store()
    store.create("pods", pod("a"))
    rv = store.resource_version
    store.create("configmaps", {"metadata": {"name": "c"}})
    store.create("pods", pod("b"))
    w = store.watch("pods", resource_version=str(rv))
    assert [e["object"]["metadata"]["name"] for e in drain(w)] == ["b"]


def test_watch_selector_transitions() -> None:
    store = make_store()
    store.create("pods", pod("a", labels={"app": "x"}))
    w = store.watch("pods", labels=parse_label_selector("app=web"),
                    resource_version=str(store.resource_version))
    store.mutate("pods", "a", "default", lambda o: o["metadata"].update(labels={"app": "web"}))
    store.mutate("pods", "a", "default", lambda o: o["metadata"].update(labels={"app": "z"}))
    assert [e["type"] for e in drain(w)] == ["ADDED", "DELETED"]


def test_watch_too_old_rv_is_expired() -> None:
    store = make_store(history_limit=3)
    first = store.resource_version
    for i in range(6):
        store.create("configmaps", {"metadata": {"name": f"c{i}"}})
    with pytest.raises(ApiError) as exc:
        store.watch("configmaps", resource_version=str(first))
    assert exc.value.code == 410 and exc.value.reason == "Expired"
    assert exc.value.message == (
        f"too old resource version: {first} ({store.oldest_resource_version})")
    store.compact()
    with pytest.raises(ApiError):
        store.watch("configmaps", resource_version=str(store.resource_version - 1))
    store.watch("configmaps", resource_version=str(store.resource_version))


def test_bad_input_leaves_store_untouched() -> None:
    store = make_store()
    rv = store.resource_version
    bad = [
        ("pods", {"metadata": {"name": "Bad_Name"}}),
        ("pods", {"metadata": {}}),
        ("pods", {"apiVersion": "apps/v1", "kind": "Pod", "metadata": {"name": "x"}}),
        ("configmaps", {"metadata": {"name": "x", "labels": {"a": 1}}}),
        ("configmaps", ["not", "an", "object"]),
        ("tokenreviews", {"metadata": {"name": "x"}}),
    ]
    for kind, body in bad:
        with pytest.raises(ApiError) as exc:
            store.create(kind, body)  # type: ignore[arg-type]
        assert 400 <= exc.value.code < 500
    assert store.resource_version == rv


@given(st.dictionaries(st.from_regex(r"[a-z]{1,3}", fullmatch=True),
                       st.from_regex(r"[a-z0-9]{0,3}", fullmatch=True), max_size=4),
       st.lists(st.tuples(st.from_regex(r"[a-z]{1,3}", fullmatch=True),
                          st.sampled_from(["=", "!="]),
                          st.from_regex(r"[a-z0-9]{1,3}", fullmatch=True)), max_size=3))
def test_equality_label_selector_matches_definition(labels: dict[str, str],
                                                    reqs: list[tuple[str, str, str]]) -> None:
    text = ",".join(f"{k}{op}{v}" for k, op, v in reqs)
    expected = all((labels.get(k) == v) if op == "=" else (labels.get(k) != v)
                   for k, op, v in reqs)
    assert parse_label_selector(text).matches(labels) == expected


@pytest.mark.parametrize("text", ["a in", "a=b=c", "=x", "a,,b", "a in (x", "Bad Key=1"])
def test_bad_label_selectors_raise(text: str) -> None:
    with pytest.raises(ValueError):
        parse_label_selector(text)


def test_hpa_served_as_v1_and_v2_from_one_storage() -> None:
    store = make_store()
    v1 = store.registry.by_resource("autoscaling", "v1", "horizontalpodautoscalers")
    v2 = store.registry.by_resource("autoscaling", "v2", "horizontalpodautoscalers")
    assert v1 is not None and v2 is not None and store.storage_kind(v1) is v2
    created = store.create(v1, {"metadata": {"name": "web"}, "spec": {
        "scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
        "minReplicas": 1, "maxReplicas": 4, "targetCPUUtilizationPercentage": 60}})
    assert created["apiVersion"] == "autoscaling/v1"
    assert created["spec"]["targetCPUUtilizationPercentage"] == 60
    stored = store.get(v2, "web", "default")
    assert stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    # a v2-only metric survives a v1 update
    stored["spec"]["metrics"].append({"type": "Pods", "pods": {
        "metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}})
    store.update(v2, stored)
    w = store.watch(v1, resource_version=str(store.resource_version))
    store.patch(v1, "web", {"spec": {"targetCPUUtilizationPercentage": 75}},
                "application/merge-patch+json", "default")
    after = store.get(v2, "web", "default")
    assert [m["type"] for m in after["spec"]["metrics"]] == ["Resource", "Pods"]
    assert after["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 75
    (event,) = drain(w)
    assert event["object"]["apiVersion"] == "autoscaling/v1"
    assert event["object"]["spec"]["targetCPUUtilizationPercentage"] == 75
    defaulted = store.create(v2, {"metadata": {"name": "d"}, "spec": {"maxReplicas": 3}})
    assert defaulted["spec"]["minReplicas"] == 1
    assert defaulted["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 80


def test_watch_from_future_rv_is_too_large() -> None:
    store = make_store()
    with pytest.raises(ApiError) as exc:
        store.watch("pods", resource_version=str(store.resource_version + 100))
    assert exc.value.code == 504 and exc.value.reason == "Timeout"
    assert exc.value.message == (f"Too large resource version: {store.resource_version + 100}, "
                                 f"current: {store.resource_version}")
