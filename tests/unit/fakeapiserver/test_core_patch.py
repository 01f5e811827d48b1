"""Patch invariants (hypothesis) and the strategic-merge directives kubectl apply sends."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakeapiserver.patch import (
    PatchError,
    apply_patch,
    json_merge_patch,
    json_patch,
    strategic_merge_patch,
)

keys = st.sampled_from(["a", "b", "c", "d"])
scalars = st.one_of(st.integers(-3, 3), st.text("xyz", max_size=2), st.booleans())
docs = st.recursive(scalars, lambda inner: st.dictionaries(keys, inner, max_size=3),
                    max_leaves=8)
maps = st.dictionaries(keys, docs, max_size=4)
patches = st.recursive(st.one_of(scalars, st.none()),
                       lambda inner: st.dictionaries(keys, inner, max_size=3), max_leaves=8)


@given(maps, st.dictionaries(keys, patches, max_size=4))
def test_merge_patch_is_idempotent_and_pure(target: dict, patch: dict) -> None:
    before = copy.deepcopy(target)
    once = json_merge_patch(target, patch)
    assert target == before
    assert json_merge_patch(once, patch) == once


@given(maps, st.dictionaries(keys, patches, max_size=4))
def test_strategic_equals_merge_without_lists(target: dict, patch: dict) -> None:
    assert strategic_merge_patch(target, patch) == json_merge_patch(target, patch)


def test_kubectl_apply_directives() -> None:
    target: dict[str, Any] = {"spec": {
        "containers": [{"name": "a", "image": "a:1", "ports": [{"containerPort": 80}]},
                       {"name": "b", "image": "b:1"}],
        "volumes": [{"name": "v1"}, {"name": "v2"}]},
        "metadata": {"finalizers": ["x"]}}
    patch = {
        "metadata": {"finalizers": ["y"], "$deleteFromPrimitiveList/finalizers": ["x"]},
        "spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                 "containers": [{"name": "a", "ports": [{"containerPort": 81}]}],
                 "volumes": [{"name": "v3"}, {"$patch": "replace"}]}}
    out = strategic_merge_patch(target, patch)
    assert [c["name"] for c in out["spec"]["containers"]] == ["b", "a"]
    assert out["spec"]["containers"][1]["ports"] == [{"containerPort": 80},
                                                      {"containerPort": 81}]
    assert out["spec"]["volumes"] == [{"name": "v3"}]
    assert out["metadata"]["finalizers"] == ["y"]


def test_service_ports_merge_on_port() -> None:
    svc = {"spec": {"ports": [{"port": 443, "name": "https"}, {"port": 80, "name": "http"}]}}
    out = strategic_merge_patch(svc, {"spec": {"ports": [{"port": 80, "$patch": "delete"}]}})
    assert out["spec"]["ports"] == [{"port": 443, "name": "https"}]


@pytest.mark.parametrize(("patch", "ct"), [
    ({"spec": {"containers": [{"image": "no-name"}]}}, "application/strategic-merge-patch+json"),
    ({"$patch": "explode"}, "application/strategic-merge-patch+json"),
    ([{"op": "test", "path": "/a", "value": 2}], "application/json-patch+json"),
    ([{"op": "move", "from": "/missing", "path": "/b"}], "application/json-patch+json"),
    ({"a": 1}, "text/plain"),
])
def test_invalid_patches_raise(patch: Any, ct: str) -> None:
    with pytest.raises(PatchError):
        apply_patch({"a": 1, "spec": {"containers": []}}, patch, ct)


def test_json_patch_ops() -> None:
    doc = {"a": {"b": [1, 2]}}
    out = json_patch(doc, [{"op": "add", "path": "/a/b/-", "value": 3},
                           {"op": "copy", "from": "/a/b", "path": "/c"},
                           {"op": "remove", "path": "/a/b/0"},
                           {"op": "replace", "path": "/a/b/0", "value": 9},
                           {"op": "test", "path": "/c", "value": [1, 2, 3]}])
    assert out == {"a": {"b": [9, 3]}, "c": [1, 2, 3]} and doc == {"a": {"b": [1, 2]}}
