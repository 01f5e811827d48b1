"""The /scale subresource: the Scale view (selector text) and updates through it."""

from __future__ import annotations

import pytest

from fakeapiserver.scale import label_selector_string, scale_kind, scale_object, update_scale
from fakeapiserver.store import ApiError
from tests.unit.fakeapiserver.test_core_store import make_store


@pytest.mark.parametrize(("selector", "text"), [
    ({"matchLabels": {"app": "web"}}, "app=web"),
    ({"matchLabels": {"tier": "front", "app": "web"}}, "app=web,tier=front"),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "track", "operator": "In", "values": ["stable", "canary"]},
        {"key": "beta", "operator": "NotIn", "values": ["x"]},
        {"key": "zone", "operator": "Exists"},
        {"key": "legacy", "operator": "DoesNotExist"}]},
     "app=web,beta notin (x),!legacy,track in (canary,stable),zone"),
    ({}, ""),
    (None, ""),
])
def test_selector_text_is_label_selector_as_selector_string(selector: dict | None,
                                                            text: str) -> None:
    assert label_selector_string(selector) == text


def deployment(replicas: int = 2) -> dict:
    return {"metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "a", "image": "i"}]}}},
            "status": {"replicas": 1}}


def test_update_through_scale_checks_the_resource_version() -> None:
    store = make_store()
    store.create("deployments", deployment())
    kind = scale_kind(store.registry, "apps/v1", "Deployment")
    scale = scale_object(store.get("deployments", "web", "default"))
    assert scale["spec"] == {"replicas": 2}
    assert scale["status"] == {"replicas": 1, "selector": "app=web"}
    store.mutate("deployments", "web", "default", lambda d: d["metadata"].update(labels={"a": "b"}))
    with pytest.raises(ApiError) as err:
        update_scale(store, kind, "web", "default", {**scale, "spec": {"replicas": 4}})
    assert err.value.code == 409 and err.value.message == (
        'Operation cannot be fulfilled on deployments.apps "web": the object has been '
        "modified; please apply your changes to the latest version and try again")
    fresh = scale_object(store.get("deployments", "web", "default"))
    rv = store.resource_version
    out = update_scale(store, kind, "web", "default", {**fresh, "spec": {"replicas": 4}})
    assert out["spec"]["replicas"] == 4 and store.resource_version == rv + 1
    with pytest.raises(ApiError) as err:
        update_scale(store, kind, "web", "default", {"spec": {"replicas": -1}})
    assert err.value.code == 422


@pytest.mark.parametrize(("api_version", "kind", "message"), [
    ("apps/v1", "Frob", 'no matches for kind "Frob" in group "apps"'),
    ("apps/v1", "DaemonSet", "the server could not find the requested resource"),
    ("v1", "Deployment", 'no matches for kind "Deployment" in group ""'),
])
def test_scale_kind_errors(api_version: str, kind: str, message: str) -> None:
    with pytest.raises(ApiError) as err:
        scale_kind(make_store().registry, api_version, kind)
    assert err.value.message == message


def test_any_version_of_the_group_maps_to_the_stored_kind() -> None:
    registry = make_store().registry
    assert scale_kind(registry, "apps/v1beta2", "ReplicaSet").plural == "replicasets"
