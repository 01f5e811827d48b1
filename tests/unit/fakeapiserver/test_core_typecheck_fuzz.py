"""Random mutations of valid objects, written as an API client writes them (create, merge /
strategic / apply patch): either a well-typed object is stored, or the write is refused with a
4xx Status and nothing changes — never an internal error; and afterwards every list, every
Table and every controller still works."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakeapiserver.controllers import ControllerManager, PodIPAllocator
from fakeapiserver.store import ApiError, Store
from fakeapiserver.tables import table_bytes
from fakeapiserver.validation import type_root
from fakeapiserver.validation.jsondecode import Number, first_error
from tests.unit.fakeapiserver.typed_support import VALID, make_store, snapshot, valid

Obj = dict[str, Any]

FIELD_NAMES = ["replicas", "selector", "matchLabels", "matchExpressions", "template",
               "containers", "ports", "containerPort", "image", "name", "labels", "metrics",
               "target", "averageUtilization", "averageValue", "minReplicas", "maxReplicas",
               "behavior", "policies", "type", "value", "periodSeconds", "resources", "limits",
               "requests", "cpu", "port", "targetPort", "spec", "status", "metadata",
               "strategy", "rollingUpdate", "maxSurge", "nodeName", "conditions", "taints",
               "service", "caBundle", "data", "creationTimestamp", "ownerReferences", "env"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40),
                    st.floats(allow_nan=False, allow_infinity=False, width=32),
                    st.text(max_size=8), st.sampled_from(["100m", "1Gi", "25%", "Always",
                                                          "2025-06-15T15:06:40Z", "web", ""]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=4), inner, max_size=3)),
    max_leaves=8)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Obj]:
    plural = draw(st.sampled_from(sorted(VALID)))
    obj = valid(plural)
    for _ in range(draw(st.integers(1, 3))):
        candidates = [p for p in paths(obj) if p and p[0] not in ("apiVersion", "kind")]
        if not candidates:
            break
        where = draw(st.sampled_from(candidates))
        *parents, last = where
        parent: Any = obj
        for step in parents:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "insert"]))
        if action == "delete":
            del parent[last]
        elif action == "insert" and isinstance(parent[last], dict):
            parent[last][draw(st.sampled_from(FIELD_NAMES))] = draw(json_values)
        else:
            parent[last] = draw(json_values)
    return plural, obj


def controller_failures() -> list[logging.LogRecord]:
    """Collects controller sync failures that are not API refusals (those are legitimate)."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            exc = record.args[-1] if isinstance(record.args, tuple) and record.args else None
            if "failed" in record.msg and not isinstance(exc, ApiError):
                records.append(record)

    logging.getLogger("fakeapiserver.controllers.manager").addHandler(Collect())
    return records


FAILURES = controller_failures()


def check_everything_still_works(store: Store) -> None:
    for kind in store.registry:
        if kind.virtual:
            continue
        items = store.list_stored(kind).items
        table_bytes(kind, items, 1_750_000_100.0, store.resource_version)
        root = type_root(kind.group, kind.version, kind.kind)
        for stored in items:
            view = store.view(kind, stored)
            if root is not None:  # what a client reads back decodes into the Go types
                assert first_error(json.loads(view.raw, parse_float=Number), root) is None, (
                    kind.kind, view.obj)


def run_controllers(store: Store) -> None:
    FAILURES.clear()
    manager = ControllerManager(store, allocator=PodIPAllocator(
        "127.200.0.0/16", is_free=lambda ip, p: True))
    manager.start()  # (no loop: run_until_idle drains; the store is dropped afterwards)
    manager.run_until_idle(limit=2000)
    assert not FAILURES, [r.getMessage() for r in FAILURES]


def attempt(store: Store, write: Any) -> None:
    before = snapshot(store)
    try:
        with store.api_request():
            write()
    except ApiError as err:
        assert 400 <= err.code < 500, err.status()
        assert err.status()["kind"] == "Status"
        assert snapshot(store) == before


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_creates_store_well_typed_objects_or_refuse(case: tuple[str, Obj]) -> None:
    plural, obj = case
    store = make_store()
    attempt(store, lambda: store.create(plural, copy.deepcopy(obj), "default"))
    check_everything_still_works(store)
    run_controllers(store)
    check_everything_still_works(store)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated(), st.sampled_from(["application/merge-patch+json",
                                   "application/strategic-merge-patch+json",
                                   "application/apply-patch+yaml"]))
def test_mutated_patches_store_well_typed_objects_or_refuse(case: tuple[str, Obj],
                                                            patch_type: str) -> None:
    plural, obj = case
    store = make_store()
    with store.api_request():
        stored = store.create(plural, valid(plural), "default")
    name = stored["metadata"]["name"]
    patch = copy.deepcopy(obj)
    if isinstance(patch.get("metadata"), dict):
        patch["metadata"]["name"] = name
    attempt(store, lambda: store.patch(plural, name, patch, patch_type, "default"))
    check_everything_still_works(store)
    run_controllers(store)
    check_everything_still_works(store)
