"""Deployment → ReplicaSet → Pods: names, labels, owners, rolling updates, status."""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fakeapiserver.controllers.common import KUBE_ALPHANUMS
from fakeapiserver.controllers.deployments import int_or_percent, surge_and_unavailable
from fakeapiserver.controllers.podtemplate import safe_encode, template_hash
from tests.unit.fakeapiserver.ctrl_support import (
    apply_all,
    make_manager,
    make_store,
    names,
    pods,
    render,
    set_ready,
)

NS = "kube-system"


def deployment(replicas: int | None = None, strategy: dict[str, Any] | None = None,
               args: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "web", "image": "nginx:1",
                                              "args": args or []}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    if strategy is not None:
        spec["strategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": NS}, "spec": spec}


def change_args(store: Any, args: list[str], name: str = "web") -> None:
    def apply(obj: dict[str, Any]) -> None:
        obj["spec"]["template"]["spec"]["containers"][0]["args"] = args

    store.mutate("deployments", name, NS, apply)


def test_deployment_creates_replicaset_and_pod_with_names_labels_and_owners() -> None:
    store = make_store()
    manager = make_manager(store)
    store.create("deployments", deployment())
    manager.run_until_idle()
    d = store.get("deployments", "web", NS)
    [rs] = store.list("replicasets", NS)
    value = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{value}"
    assert value == template_hash(d["spec"]["template"])
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": value}}
    assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web",
                                                            "pod-template-hash": value}
    assert rs["spec"]["replicas"] == 1
    assert rs["metadata"]["ownerReferences"] == [{
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
        "uid": d["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    [pod] = pods(store)
    assert re.fullmatch(rf"web-{value}-[{KUBE_ALPHANUMS}]{{5}}", pod["metadata"]["name"])
    assert pod["metadata"]["generateName"] == f"web-{value}-"
    assert pod["metadata"]["labels"] == {"app": "web", "pod-template-hash": value}
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
    assert pod["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
    assert pod["spec"]["containers"][0]["image"] == "nginx:1"
    assert pod["spec"]["nodeName"] in ("node-1", "node-2")


def test_pod_names_repeat_with_the_same_seed_and_differ_with_another() -> None:
    def run(seed: int) -> list[str]:
        store = make_store()
        manager = make_manager(store, seed=seed)
        store.create("deployments", deployment(replicas=3))
        manager.run_until_idle()
        return names(pods(store))

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_status_and_conditions_follow_readiness() -> None:
    store = make_store()
    manager = make_manager(store)
    store.create("deployments", deployment(replicas=2))
    manager.run_until_idle()
    status = store.get("deployments", "web", NS)["status"]
    assert status["observedGeneration"] == 1
    assert status["replicas"] == 2 and status["updatedReplicas"] == 2
    assert status["unavailableReplicas"] == 2
    assert "availableReplicas" not in status and "readyReplicas" not in status
    conds = {c["type"]: c for c in status["conditions"]}
    assert conds["Available"]["status"] == "False"
    assert conds["Available"]["reason"] == "MinimumReplicasUnavailable"
    rs_name = store.list("replicasets", NS)[0]["metadata"]["name"]
    # as upstream right after creation: Available appended, then Progressing moved last
    assert [c["type"] for c in status["conditions"]] == ["Available", "Progressing"]
    assert (conds["Progressing"]["reason"], conds["Progressing"]["message"]) == (
        "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')
    for pod in pods(store):
        set_ready(store, NS, pod["metadata"]["name"])
    manager.run_until_idle()
    d = store.get("deployments", "web", NS)
    status = d["status"]
    assert status["readyReplicas"] == 2 and status["availableReplicas"] == 2
    assert "unavailableReplicas" not in status
    conds = {c["type"]: c for c in status["conditions"]}
    assert conds["Available"] == {**conds["Available"], "status": "True",
                                  "reason": "MinimumReplicasAvailable",
                                  "message": "Deployment has minimum availability."}
    assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert conds["Progressing"]["message"] == f'ReplicaSet "{rs_name}" has successfully progressed.'
    rs = store.list("replicasets", NS)[0]
    assert rs["status"] == {"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2,
                            "availableReplicas": 2, "observedGeneration": 1}


def test_template_change_with_max_unavailable_zero_waits_for_the_new_pod() -> None:
    store = make_store()
    manager = make_manager(store)
    store.create("deployments", deployment(strategy={"rollingUpdate": {"maxUnavailable": 0}}))
    manager.run_until_idle()
    [old_pod] = pods(store)
    set_ready(store, NS, old_pod["metadata"]["name"])
    manager.run_until_idle()
    change_args(store, ["--kubelet-insecure-tls"])
    manager.run_until_idle()
    sets = {rs["metadata"]["name"]: rs for rs in store.list("replicasets", NS)}
    assert len(sets) == 2
    new_rs = next(rs for rs in sets.values() if rs["spec"]["template"]["spec"]["containers"][0]
                  ["args"] == ["--kubelet-insecure-tls"])
    assert new_rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    current = {p["metadata"]["name"]: p for p in pods(store)}
    assert len(current) == 2 and old_pod["metadata"]["name"] in current  # surge, old kept
    new_pod = next(n for n in current if n != old_pod["metadata"]["name"])
    assert store.get("deployments", "web", NS)["status"]["updatedReplicas"] == 1
    set_ready(store, NS, new_pod)
    manager.run_until_idle()
    assert names(pods(store)) == [new_pod]
    old_rs = next(rs for rs in store.list("replicasets", NS)
                  if rs["metadata"]["name"] != new_rs["metadata"]["name"])
    assert old_rs["spec"]["replicas"] == 0
    status = store.get("deployments", "web", NS)["status"]
    assert status["observedGeneration"] == 2
    assert (status["replicas"], status["updatedReplicas"], status["availableReplicas"]) == (
        1, 1, 1)
    messages = [e["message"] for e in store.list("events", NS) if e["reason"] ==
                "ScalingReplicaSet"]
    assert f"Scaled down replica set {old_rs['metadata']['name']} to 0 from 1" in messages


def test_unready_old_pod_is_replaced_only_when_the_new_one_is_ready() -> None:
    """The walkthrough: the first pod never gets Ready; the fixed one replaces it."""
    store = make_store()
    manager = make_manager(store)
    store.create("deployments", deployment(strategy={"rollingUpdate": {"maxUnavailable": 0}}))
    manager.run_until_idle()
    [old_pod] = names(pods(store))
    change_args(store, ["--fixed"])
    manager.run_until_idle()
    assert len(pods(store)) == 2
    [new_pod] = [n for n in names(pods(store)) if n != old_pod]
    set_ready(store, NS, new_pod)
    manager.run_until_idle()
    assert names(pods(store)) == [new_pod]


def test_max_unavailable_allows_removing_the_old_pod_at_once() -> None:
    store = make_store(nodes=3)
    manager = make_manager(store)
    store.create("deployments", deployment(
        replicas=2, strategy={"rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}))
    manager.run_until_idle()
    for name in names(pods(store)):
        set_ready(store, NS, name)
    manager.run_until_idle()
    before = set(names(pods(store)))
    change_args(store, ["--v=4"])
    manager.run_until_idle()
    after = set(names(pods(store)))
    assert len(after) == 2 and len(before & after) == 1  # one old pod gone, one new created


def test_recreate_removes_old_pods_before_creating_new_ones() -> None:
    store = make_store()
    manager = make_manager(store)
    store.create("deployments", deployment(replicas=2, strategy={"type": "Recreate"}))
    manager.run_until_idle()
    before = set(names(pods(store)))
    change_args(store, ["--v=2"])
    manager.run_until_idle()
    after = set(names(pods(store)))
    assert len(after) == 2 and not before & after


def test_scaling_and_deleting_pods_is_repaired() -> None:
    store = make_store()
    manager = make_manager(store)
    store.create("deployments", deployment(replicas=1))
    manager.run_until_idle()
    store.mutate("deployments", "web", NS, lambda o: o["spec"].update(replicas=3))
    manager.run_until_idle()
    assert len(pods(store)) == 3
    victim = names(pods(store))[0]
    store.delete("pods", victim, NS)
    manager.run_until_idle()
    assert len(pods(store)) == 3 and victim not in names(pods(store))
    store.mutate("deployments", "web", NS, lambda o: o["spec"].update(replicas=1))
    manager.run_until_idle()
    assert len(pods(store)) == 1


def test_deleting_the_deployment_removes_replicasets_and_pods() -> None:
    store = make_store()
    manager = make_manager(store)
    store.create("deployments", deployment(replicas=2))
    manager.run_until_idle()
    store.delete("deployments", "web", NS)
    manager.run_until_idle()
    assert store.list("replicasets", NS) == [] and pods(store) == []


def test_missing_service_account_blocks_pods_until_it_exists() -> None:
    store = make_store()
    manager = make_manager(store)
    body = deployment()
    body["spec"]["template"]["spec"]["serviceAccountName"] = "metrics-server"
    store.create("deployments", body)
    manager.run_until_idle()
    assert pods(store) == []
    [failed] = [e for e in store.list("events", NS) if e["reason"] == "FailedCreate"]
    rs_name = store.list("replicasets", NS)[0]["metadata"]["name"]
    assert failed["message"] == (
        f'Error creating: pods "{rs_name}-" is forbidden: error looking up service account '
        'kube-system/metrics-server: serviceaccount "metrics-server" not found')
    store.create("serviceaccounts", {"metadata": {"name": "metrics-server", "namespace": NS}})
    manager.run_until_idle()
    assert len(pods(store)) == 1


def test_rendered_base_manifests_make_one_pod_from_the_template() -> None:
    store = make_store()
    manager = make_manager(store)
    docs = render("base")
    apply_all(store, docs)
    manager.run_until_idle()
    [pod] = pods(store)
    dep = next(d for d in docs if d["kind"] == "Deployment")
    template = dep["spec"]["template"]
    assert pod["spec"]["containers"] == template["spec"]["containers"]
    assert pod["spec"]["serviceAccountName"] == "metrics-server"
    assert pod["metadata"]["labels"]["k8s-app"] == "metrics-server"
    assert pod["status"]["podIP"].startswith("127.200.")


def test_ha_overlay_spreads_two_replicas_over_two_nodes_and_rolls() -> None:
    store = make_store(nodes=2)
    manager = make_manager(store)
    apply_all(store, render("ha"))
    manager.run_until_idle()
    first = pods(store)
    assert sorted(p["spec"]["nodeName"] for p in first) == ["node-1", "node-2"]
    for p in first:
        set_ready(store, NS, p["metadata"]["name"])
    manager.run_until_idle()

    def add_arg(obj: dict[str, Any]) -> None:
        obj["spec"]["template"]["spec"]["containers"][0]["args"].append("--v=4")

    store.mutate("deployments", "metrics-server", NS, add_arg)
    for _ in range(6):  # each round: the newest pods get Ready, the rollout moves on
        manager.run_until_idle()
        for p in pods(store):
            if p["spec"].get("nodeName"):
                set_ready(store, NS, p["metadata"]["name"])
        manager.run_until_idle()
    final = pods(store)
    assert len(final) == 2
    assert all("--v=4" in p["spec"]["containers"][0]["args"] for p in final)
    assert sorted(p["spec"]["nodeName"] for p in final) == ["node-1", "node-2"]


@given(st.text(alphabet="0123456789", min_size=1, max_size=10))
def test_safe_encoding_of_decimal_hashes_uses_the_kube_alphabet(text: str) -> None:
    encoded = safe_encode(text)
    assert len(encoded) == len(text)
    assert set(encoded) <= set("456789bcdf")


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.text(max_size=5), max_size=3))
def test_template_hash_is_deterministic_and_ignores_the_hash_label(labels: dict[str, str]
                                                                   ) -> None:
    template: dict[str, Any] = {"metadata": {"labels": dict(labels)},
                                "spec": {"containers": [{"name": "x"}]}}
    labelled = copy.deepcopy(template)
    labelled["metadata"]["labels"]["pod-template-hash"] = "whatever"
    assert template_hash(template) == template_hash(labelled)
    assert template_hash(template) != template_hash(template, collision_count=1)
    changed = copy.deepcopy(template)
    changed["spec"]["containers"][0]["args"] = ["--v=4"]
    assert template_hash(changed) != template_hash(template)


def test_surge_and_unavailable_rounding() -> None:
    assert int_or_percent("25%", 1, True) == 1 and int_or_percent("25%", 1, False) == 0
    assert int_or_percent("50%", 3, True) == 2 and int_or_percent(2, 3, True) == 2
    d = deployment(strategy={"rollingUpdate": {"maxUnavailable": 0}})
    assert surge_and_unavailable(d) == (1, 0)
    d = deployment(replicas=4, strategy={"rollingUpdate": {"maxSurge": 0,
                                                           "maxUnavailable": "10%"}})
    assert surge_and_unavailable(d) == (0, 1)  # both zero → one may be unavailable


def test_ha_pod_disruption_budget_status() -> None:
    store = make_store(nodes=2)
    manager = make_manager(store)
    apply_all(store, render("ha"))
    manager.run_until_idle()
    pdb = store.get("poddisruptionbudgets", "metrics-server", NS)
    status = pdb["status"]
    assert (status["expectedPods"], status["currentHealthy"], status["desiredHealthy"],
            status["disruptionsAllowed"]) == (2, 0, 1, 0)
    assert status["conditions"][0]["reason"] == "InsufficientPods"
    for p in pods(store):
        set_ready(store, NS, p["metadata"]["name"])
    manager.run_until_idle()
    status = store.get("poddisruptionbudgets", "metrics-server", NS)["status"]
    assert (status["currentHealthy"], status["disruptionsAllowed"]) == (2, 1)
    assert status["conditions"][0]["status"] == "True"
    assert status["conditions"][0]["reason"] == "SufficientPods"


def test_pdb_with_max_unavailable_percent_uses_the_deployment_scale() -> None:
    store = make_store(nodes=2)
    manager = make_manager(store)
    store.create("deployments", deployment(replicas=4))
    store.create("poddisruptionbudgets", {
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"maxUnavailable": "50%", "selector": {"matchLabels": {"app": "web"}}}})
    manager.run_until_idle()
    for p in pods(store)[:3]:
        set_ready(store, NS, p["metadata"]["name"])
    manager.run_until_idle()
    status = store.get("poddisruptionbudgets", "web", NS)["status"]
    assert (status["expectedPods"], status["desiredHealthy"], status["currentHealthy"],
            status["disruptionsAllowed"]) == (4, 2, 3, 1)


def test_rolling_back_to_an_old_template_reuses_its_replicaset_with_a_new_revision() -> None:
    store = make_store()
    manager = make_manager(store)
    store.create("deployments", deployment(strategy={"rollingUpdate": {"maxUnavailable": 1}}))
    manager.run_until_idle()
    [first] = store.list("replicasets", NS)
    change_args(store, ["--v=4"])
    manager.run_until_idle()
    change_args(store, [])  # back to the first template (kubectl rollout undo does this)
    manager.run_until_idle()
    sets = {rs["metadata"]["name"]: rs for rs in store.list("replicasets", NS)}
    assert len(sets) == 2
    again = sets[first["metadata"]["name"]]
    assert again["metadata"]["uid"] == first["metadata"]["uid"]
    assert again["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert again["spec"]["replicas"] == 1
    d = store.get("deployments", "web", NS)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


def test_revision_history_limit_deletes_the_oldest_idle_replicasets() -> None:
    store = make_store()
    manager = make_manager(store)
    body = deployment(strategy={"rollingUpdate": {"maxUnavailable": 1}})
    body["spec"]["revisionHistoryLimit"] = 1
    store.create("deployments", body)
    manager.run_until_idle()
    for i in range(3):
        change_args(store, [f"--v={i}"])
        manager.run_until_idle()
    revisions = sorted(int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
                       for rs in store.list("replicasets", NS))
    assert revisions == [3, 4]
