"""Arbitrary JSON bodies never crash the store: they succeed or raise ApiError untouched."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakeapiserver.store import ApiError, Store

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=12)
field_names = st.sampled_from(["metadata", "spec", "status", "data", "kind", "apiVersion",
                               "name", "labels", "subsets", "rules", "roleRef", "ports"])
bodies = st.dictionaries(field_names, json_values, max_size=5) | st.fixed_dictionaries({
    "metadata": st.dictionaries(st.sampled_from(["name", "generateName", "namespace",
                                                 "labels", "annotations",
                                                 "resourceVersion", "uid"]),
                                json_values, max_size=4)})
kinds = st.sampled_from(["pods", "configmaps", "services", "deployments", "apiservices",
                         "clusterroles", "namespaces", "secrets", "hpa", "events"])
patch_types = st.sampled_from(["application/merge-patch+json",
                               "application/strategic-merge-patch+json",
                               "application/json-patch+json", "application/apply-patch+yaml"])


def fresh() -> Store:
    store = Store(clock=lambda: 1_700_000_000.0)
    store.create("namespaces", {"metadata": {"name": "default"}})
    store.create("configmaps", {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    return store


def snapshot(store: Store) -> str:
    return json.dumps({k: sorted((key, s.raw.decode()) for key, s in bucket.items())
                       for k, bucket in store._objects.items() if bucket}, sort_keys=True)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(kinds, bodies)
def test_create_and_update_never_crash(kind: str, body: dict[str, Any]) -> None:
    store = fresh()
    for op in (store.create, store.update):
        before, rv = snapshot(store), store.resource_version
        try:
            op(kind, body)
        except ApiError as err:
            assert 400 <= err.code < 500, err.status()
            assert snapshot(store) == before and store.resource_version == rv


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(bodies, st.lists(json_values, max_size=3), json_values), patch_types)
def test_patch_never_crashes(patch: Any, content_type: str) -> None:
    store = fresh()
    before, rv = snapshot(store), store.resource_version
    try:
        store.patch("configmaps", "cm", patch, content_type, "default")
    except ApiError as err:
        assert 400 <= err.code < 500, err.status()
        assert snapshot(store) == before and store.resource_version == rv


@settings(max_examples=300)
@given(st.text(alphabet="abc=!,() in notin\\/.-_", max_size=20))
def test_selector_parsers_only_raise_selector_errors(text: str) -> None:
    from fakeapiserver.kinds import REGISTRY
    from fakeapiserver.selectors import (
        SelectorError,
        parse_field_selector,
        parse_label_selector,
    )

    try:
        parse_label_selector(text).matches({"a": "b"})
    except SelectorError:
        pass
    try:
        parse_field_selector(text, REGISTRY.lookup("pods")).matches({"metadata": {"name": "a"}})
    except SelectorError:
        pass
