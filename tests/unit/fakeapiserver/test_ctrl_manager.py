"""The controller manager: queued keys are folded, drained in order, failures retried."""

from __future__ import annotations

import asyncio
from typing import Any

from fakeapiserver.controllers.common import Controller, Key
from fakeapiserver.controllers.manager import MAX_ATTEMPTS
from tests.unit.fakeapiserver.ctrl_support import make_manager, make_store


class Recorder(Controller):
    name = "recorder"
    kinds = ("configmaps",)

    def __init__(self, *args: Any, fail: int = 0) -> None:
        super().__init__(*args)
        self.synced: list[Key] = []
        self.fail = fail

    def on_change(self, change: Any) -> None:
        self.enqueue((change.new.namespace, change.new.name))

    def sync(self, key: Key) -> None:
        self.synced.append(key)
        if self.fail:
            self.fail -= 1
            raise RuntimeError("boom")


def cm(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default"}, "data": {"a": "1"}}


def add_recorder(manager: Any, fail: int = 0) -> Recorder:
    rec = Recorder(manager.store, manager.clock, manager.enqueue, fail=fail)
    manager.controllers[rec.name] = rec
    manager._unsubscribe.append(manager.store.subscribe(rec.on_change, rec.kinds))
    return rec


def test_changes_queue_keys_that_are_folded_and_synced_in_order() -> None:
    store = make_store(nodes=0)
    manager = make_manager(store)
    rec = add_recorder(manager)
    store.create("configmaps", cm("b"))
    store.create("configmaps", cm("a"))
    store.mutate("configmaps", "b", "default", lambda o: o["data"].update(a="2"))
    assert rec.synced == []  # no event loop: nothing runs until drained
    assert manager.run_until_idle() == 2
    assert rec.synced == [("default", "b"), ("default", "a")]
    assert manager.idle


def test_failing_syncs_are_retried_then_dropped() -> None:
    store = make_store(nodes=0)
    manager = make_manager(store)
    rec = add_recorder(manager, fail=100)
    store.create("configmaps", cm("x"))
    manager.run_until_idle()
    assert len(rec.synced) == MAX_ATTEMPTS
    assert manager.errors[-1] == ("recorder", ("default", "x"), "boom")
    rec.fail = 1
    store.mutate("configmaps", "x", "default", lambda o: o["data"].update(a="3"))
    manager.run_until_idle()
    assert len(rec.synced) == MAX_ATTEMPTS + 2  # one failure, one success


async def test_with_an_event_loop_writes_are_reconciled_without_being_asked() -> None:
    store = make_store(nodes=0)
    manager = make_manager(store)
    rec = add_recorder(manager)
    store.create("configmaps", cm("x"))
    assert rec.synced == []
    await asyncio.sleep(0)  # the drain was scheduled by the write itself
    assert rec.synced == [("default", "x")]
    await manager.stop()
    store.create("configmaps", cm("y"))
    await manager.settle()
    assert rec.synced == [("default", "x")]  # unsubscribed
