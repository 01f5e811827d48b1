"""Graceful pod deletion: deletionTimestamp for pods a kubelet stand-in runs, at once else."""

from __future__ import annotations

from typing import Any

import pytest

from fakeapiserver.store import Store

NOW = 1_700_000_000.0


def make_store(terminator: Any = lambda pod: True) -> Store:
    store = Store(clock=lambda: NOW)
    store.create("namespaces", {"metadata": {"name": "default"}})
    store.pod_terminator = terminator
    return store


def pod(name: str, node: str | None = "n1", phase: str = "Running",
        grace: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "img"}]}
    if node:
        spec["nodeName"] = node
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec,
            "status": {"phase": phase}}


@pytest.mark.parametrize(
    ("obj", "requested", "terminator", "grace"),
    [
        (pod("a"), None, True, 30),                    # the pod's default (30 s)
        (pod("a", grace=5), None, True, 5),            # its terminationGracePeriodSeconds
        (pod("a", grace=5), 2, True, 2),               # the request's gracePeriodSeconds
        (pod("a"), 0, True, None),                     # --grace-period=0 --force: at once
        (pod("a", node=None), None, True, None),       # never bound: at once
        (pod("a", phase="Succeeded"), None, True, None),  # finished: at once
        (pod("a"), None, False, None),                 # no kubelet will finish it: at once
        (pod("a", grace=0), None, True, None),
    ],
)
def test_grace_period_rules(obj: dict[str, Any], requested: int | None, terminator: bool,
                            grace: int | None) -> None:
    store = make_store(lambda p: terminator)
    store.create("pods", obj)
    changes: list[str] = []
    store.subscribe(lambda c: changes.append(c.type), ["pods"])
    result = store.delete("pods", "a", "default", grace_seconds=requested)
    if grace is None:
        assert changes == ["DELETED"] and store.try_get("pods", "a", "default") is None
        return
    assert changes == ["MODIFIED"]
    kept = store.get("pods", "a", "default")
    assert kept["metadata"]["deletionGracePeriodSeconds"] == grace
    assert kept["metadata"]["deletionTimestamp"] == result["metadata"]["deletionTimestamp"]
    from fakeapiserver.store import parse_rfc3339

    assert parse_rfc3339(kept["metadata"]["deletionTimestamp"]) == NOW + grace


def test_second_delete_only_shortens_and_force_deletes() -> None:
    store = make_store()
    store.create("pods", pod("a"))
    first = store.delete("pods", "a", "default")
    rv = first["metadata"]["resourceVersion"]
    again = store.delete("pods", "a", "default", grace_seconds=60)   # longer: unchanged
    assert again["metadata"]["resourceVersion"] == rv
    shorter = store.delete("pods", "a", "default", grace_seconds=3)
    assert shorter["metadata"]["deletionGracePeriodSeconds"] == 3
    # status writes (the kubelet's) keep the deletion fields
    store.mutate("pods", "a", "default", lambda o: o["status"].update(phase="Running"))
    assert store.get("pods", "a", "default")["metadata"]["deletionGracePeriodSeconds"] == 3
    store.delete("pods", "a", "default", grace_seconds=0)
    assert store.try_get("pods", "a", "default") is None


def test_without_a_terminator_pods_go_at_once() -> None:
    store = make_store(None)
    store.create("pods", pod("a"))
    store.delete("pods", "a", "default")
    assert store.try_get("pods", "a", "default") is None


def test_cascade_deletes_owned_pods_gracefully() -> None:
    store = make_store()
    rs = store.create("replicasets.apps", {"metadata": {"name": "rs", "namespace": "default"},
                                           "spec": {"selector": {"matchLabels": {"a": "b"}}}})
    owned = pod("a")
    owned["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                             "name": "rs", "uid": rs["metadata"]["uid"],
                                             "controller": True}]
    store.create("pods", owned)
    store.delete("replicasets.apps", "rs", "default")
    assert store.get("pods", "a", "default")["metadata"]["deletionTimestamp"]
