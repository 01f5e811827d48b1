"""Shared fixtures for the controller tests: a store with namespaces and nodes, the rendered
kind manifests, and a kubelet stand-in that flips readiness."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakeapiserver.controllers import ControllerManager, PodIPAllocator
from fakeapiserver.store import Store

ROOT = Path(__file__).resolve().parents[3]
T0 = 1_750_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def kubectl_binary() -> str | None:
    found = shutil.which("kubectl")
    if found is None:
        return None
    base = Path(os.path.realpath(found)).parent
    versions = sorted(base.glob("kubectl.1.*"))
    return str(versions[-1]) if versions else found


def render(overlay: str = "base") -> list[dict[str, Any]]:
    """``kubectl kustomize kind/manifests/<overlay>`` as objects."""
    kubectl = kubectl_binary()
    if kubectl is None:
        pytest.skip("no kubectl to render the kustomize manifests")
    path = ROOT / "kind" / "manifests" / (overlay if overlay == "base" else f"overlays/{overlay}")
    with tempfile.TemporaryDirectory() as home:
        out = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True,
                             check=True, env={**os.environ, "HOME": home}, timeout=60).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def node(name: str, ip: str, labels: dict[str, str] | None = None, ready: bool = True,
         taints: list[dict[str, str]] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                              "kubernetes.io/os": "linux", **(labels or {})}},
        "spec": {},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                   "addresses": [{"type": "InternalIP", "address": ip},
                                 {"type": "Hostname", "address": name}]}}
    if taints:
        obj["spec"]["taints"] = taints
    return obj


def make_store(nodes: int = 2, clock: Clock | None = None) -> Store:
    store = Store(clock=clock or Clock())
    for ns in ("default", "kube-system"):
        store.create("namespaces", {"metadata": {"name": ns}})
    for i in range(nodes):
        store.create("nodes", node(f"node-{i + 1}", f"127.1.0.{i + 1}"))
    return store


def make_manager(store: Store, **kwargs: Any) -> ControllerManager:
    kwargs.setdefault("allocator", PodIPAllocator("127.200.0.0/16", is_free=lambda ip, p: True))
    manager = ControllerManager(store, **kwargs)
    manager.start()
    manager.run_until_idle()
    return manager


def apply_all(store: Store, docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        kind = store.registry.by_kind(doc["apiVersion"], doc["kind"])
        assert kind is not None, doc["kind"]
        store.create(kind, doc)


def set_ready(store: Store, ns: str, name: str, ready: bool = True) -> None:
    """What the kubelet writes when the readiness probe passes (or stops passing)."""
    def apply(obj: dict[str, Any]) -> None:
        st = obj.setdefault("status", {})
        st["phase"] = "Running"
        conds = [c for c in st.get("conditions") or [] if c.get("type") != "Ready"]
        conds.append({"type": "Ready", "status": "True" if ready else "False",
                      "lastTransitionTime": "2025-06-15T15:06:40Z"})
        st["conditions"] = conds

    store.mutate("pods", name, ns, apply)


def pods(store: Store, ns: str = "kube-system") -> list[dict[str, Any]]:
    return store.list("pods", ns)


def names(objs: list[dict[str, Any]]) -> list[str]:
    return sorted(o["metadata"]["name"] for o in objs)
