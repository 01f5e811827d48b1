"""Local images: the image map, the rewrites (exact argv for the kind manifests), hand-off."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from fakeapiserver.controllers import ClusterAccess, Launch, LocalImages
from fakeapiserver.controllers.localimages import (
    container_env,
    expand,
    plan_launch,
    remove_flag,
    rewrite_path,
)
from tests.unit.fakeapiserver.ctrl_support import (
    apply_all,
    make_manager,
    make_store,
    render,
    set_ready,
)

NS = "kube-system"


def base_pod() -> dict[str, Any]:
    dep = next(d for d in render("base") if d["kind"] == "Deployment")
    template = dep["spec"]["template"]
    return {"metadata": {"name": "metrics-server-abc-xyz12", "namespace": NS, "uid": "u-1",
                         "labels": template["metadata"]["labels"]},
            "spec": {**template["spec"], "nodeName": "node-1"},
            "status": {"podIP": "127.200.0.7"}}


def test_base_manifest_args_are_rewritten_exactly() -> None:
    launch = plan_launch(base_pod(), ["python3", "-m", "metricsd"], pod_dir="/p", base_env={})
    assert launch.argv == [
        "python3", "-m", "metricsd",
        "--cert-dir=/p/volumes/tmp-dir",
        "--secure-port=10250",
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
        "--kubelet-use-node-status-port",
        "--metric-resolution=15s",
        "--bind-address=127.200.0.7",
        "--kubeconfig=/p/serviceaccount/kubeconfig",
        "--authentication-kubeconfig=/p/serviceaccount/kubeconfig",
        "--authorization-kubeconfig=/p/serviceaccount/kubeconfig",
    ]
    assert launch.cwd == "/p/root"
    assert launch.dirs == ["/p/root", "/p/volumes/tmp-dir", "/p/serviceaccount"]
    assert launch.kubeconfig == "/p/serviceaccount/kubeconfig"
    assert launch.env == {}


def test_the_kubernetes_service_variables_point_at_the_api_server() -> None:
    """As the kubelet sets them in every pod; the container's own env still wins."""
    pod = base_pod()
    launch = plan_launch(pod, ["ms"], pod_dir="/p", base_env={"KUBERNETES_SERVICE_HOST": "x"},
                         server_url="https://127.0.0.1:6443")
    assert launch.env == {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                          "KUBERNETES_SERVICE_PORT": "6443",
                          "KUBERNETES_SERVICE_PORT_HTTPS": "6443"}
    pod["spec"]["containers"][0]["env"] = [{"name": "KUBERNETES_SERVICE_PORT", "value": "1"}]
    env = plan_launch(pod, ["ms"], pod_dir="/p", base_env={},
                      server_url="https://127.0.0.1:6443").env
    assert env["KUBERNETES_SERVICE_PORT"] == "1"


def test_test_overlay_args_are_kept_and_existing_flags_respected() -> None:
    pod = base_pod()
    container = pod["spec"]["containers"][0]
    container["args"] += ["--kubelet-insecure-tls", "--bind-address=0.0.0.0",
                          "--kubeconfig", "/etc/kc", "/tmp/extra"]
    launch = plan_launch(pod, ["ms"], pod_dir="/p", base_env={})
    assert launch.argv[-7:] == ["--kubelet-insecure-tls", "--kubeconfig", "/etc/kc",
                                "/p/volumes/tmp-dir/extra", "--bind-address=127.200.0.7",
                                "--authentication-kubeconfig=/p/serviceaccount/kubeconfig",
                                "--authorization-kubeconfig=/p/serviceaccount/kubeconfig"]
    assert "--bind-address=0.0.0.0" not in launch.argv
    without = plan_launch(pod, ["ms"], pod_dir="/p", with_kubeconfig=False, base_env={})
    assert not any(a.startswith("--authentication-kubeconfig") for a in without.argv)


def test_command_replaces_the_entrypoint_and_env_expands() -> None:
    pod = base_pod()
    container = pod["spec"]["containers"][0]
    container["command"] = ["/metrics-server", "--v=$(LEVEL)"]
    container["args"] = ["--cert-dir=$(DIR)", "$$(LEVEL)", "$(MISSING)"]
    container["env"] = [{"name": "LEVEL", "value": "4"}, {"name": "DIR", "value": "/tmp/c"},
                        {"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]
    launch = plan_launch(pod, ["ms"], pod_dir="/p", with_kubeconfig=False, base_env={"A": "1"})
    assert launch.argv == ["ms", "--v=4", "--cert-dir=/p/volumes/tmp-dir/c", "$(LEVEL)",
                           "$(MISSING)", "--bind-address=127.200.0.7"]
    assert launch.env == {"A": "1", "LEVEL": "4", "DIR": "/tmp/c", "ME": pod["metadata"]["name"],
                          "IP": "127.200.0.7"}
    assert container_env(pod, container)["ME"] == "metrics-server-abc-xyz12"


def test_helpers() -> None:
    assert expand("a$(X)b$$c", {"X": "1"}) == "a1b$c"
    assert remove_flag(["--a=1", "--b", "2", "--c"], "--b") == ["--a=1", "--c"]
    mounts = {"/tmp": "/L/tmp", "/tmp/deeper": "/L/deep"}
    assert rewrite_path("--x=/tmp", mounts) == "--x=/L/tmp"
    assert rewrite_path("--x=/tmpfoo", mounts) == "--x=/tmpfoo"
    assert rewrite_path("--x=/tmp/deeper/f", mounts) == "--x=/L/deep/f"
    assert rewrite_path("--flag", mounts) == "--flag"
    assert rewrite_path("/tmp/a", mounts) == "/L/tmp/a"


def test_image_map() -> None:
    images = LocalImages()
    cmd = [sys.executable, "-m", "metricsd"]
    for image in ("metricsd:dev", "metricsd", "example.com/metricsd:v1",
                  "registry.k8s.io/metrics-server/metrics-server:v0.7.1"):
        assert images.command_for(image) == cmd, image
    assert images.command_for("nginx:1") is None
    custom = LocalImages.from_mapping({"stand-in:*": ["sleep", "100"]})
    assert custom.command_for("stand-in:1") == ["sleep", "100"]
    assert custom.command_for("metricsd:dev") == cmd
    only = LocalImages.from_mapping({"x": ["y"]}, include_defaults=False)
    assert only.command_for("metricsd:dev") is None
    images.add("metricsd:dev", ["other"])
    assert images.command_for("metricsd:dev") == ["other"]


def read_yaml(path: str) -> Any:
    return yaml.safe_load(Path(path).read_text())


def is_dir(path: str) -> bool:
    return Path(path).is_dir()


class FakeRunner:
    def __init__(self) -> None:
        self.started: list[tuple[dict[str, Any], Launch, str, str, str]] = []
        self.stopped: list[tuple[str, str]] = []

    def start(self, pod: dict[str, Any], launch: Launch, *, pod_ip: str, node_name: str,
              host_ip: str) -> None:
        self.started.append((pod, launch, pod_ip, node_name, host_ip))

    async def stop(self, namespace: str, name: str) -> None:
        self.stopped.append((namespace, name))


async def test_bound_pods_are_handed_to_the_runner_with_a_service_account_kubeconfig(
        tmp_path: Path) -> None:
    store = make_store(nodes=1)
    runner = FakeRunner()
    issued: list[tuple[str, str, str]] = []

    def tokens(ns: str, account: str, pod: dict[str, Any]) -> str:
        issued.append((ns, account, pod["metadata"]["name"]))
        return "tok-123"

    access = ClusterAccess("https://127.0.0.1:6443", b"CA PEM", tokens)
    manager = make_manager(store, runner=runner, access=access, workdir=tmp_path)
    apply_all(store, render("base"))
    await manager.settle()
    [(pod, launch, pod_ip, node_name, host_ip)] = runner.started
    name = pod["metadata"]["name"]
    assert (pod_ip, node_name, host_ip) == (pod["status"]["podIP"], "node-1", "127.1.0.1")
    assert issued == [(NS, "metrics-server", name)]
    assert launch.kubeconfig is not None
    kubeconfig = read_yaml(launch.kubeconfig)
    assert kubeconfig["users"][0]["user"]["token"] == "tok-123"
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert is_dir(launch.cwd)
    assert f"--bind-address={pod_ip}" in launch.argv
    assert (launch.env["KUBERNETES_SERVICE_HOST"], launch.env["KUBERNETES_SERVICE_PORT"]) == (
        "127.0.0.1", "6443")
    # a status write by the "kubelet" does not start it twice
    set_ready(store, NS, name)
    await manager.settle()
    assert len(runner.started) == 1

    # a template change rolls: a second process starts, the old one stops once the new is Ready
    def add_arg(obj: dict[str, Any]) -> None:
        obj["spec"]["template"]["spec"]["containers"][0]["args"].append("--kubelet-insecure-tls")

    store.mutate("deployments", "metrics-server", NS, add_arg)
    await manager.settle()
    assert len(runner.started) == 2
    new_pod, new_launch = runner.started[1][0], runner.started[1][1]
    assert "--kubelet-insecure-tls" in new_launch.argv
    assert runner.stopped == []
    set_ready(store, NS, new_pod["metadata"]["name"])
    await manager.settle()
    assert runner.stopped == [(NS, name)]
    assert not is_dir(launch.cwd)
    await manager.stop()
    assert runner.stopped == [(NS, name), (NS, new_pod["metadata"]["name"])]


async def test_unmapped_images_are_not_run(tmp_path: Path) -> None:
    store = make_store(nodes=1)
    runner = FakeRunner()
    manager = make_manager(store, runner=runner, workdir=tmp_path)
    store.create("pods", {"metadata": {"name": "web", "namespace": "default"},
                          "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}})
    await manager.settle()
    assert runner.started == []
    pod = store.get("pods", "web", "default")
    assert pod["spec"]["nodeName"] == "node-1"
    assert pod["status"]["phase"] == "Pending"
    [cs] = pod["status"]["containerStatuses"]
    assert cs["state"]["waiting"]["reason"] == "ErrImagePull"
    assert '"nginx:1"' in cs["state"]["waiting"]["message"]
    reasons = sorted((e["reason"], e["message"].split(":")[0])
                     for e in store.list("events", "default") if e["source"]["component"] ==
                     "kubelet")
    assert reasons == [("Failed", "Error"), ("Failed", 'Failed to pull image "nginx'),
                       ("Pulling", 'Pulling image "nginx')]
    await manager.settle()
    assert len(store.list("events", "default")) == 4  # Scheduled + the three, no repeats
    await manager.stop()


async def test_an_unpullable_pod_shows_the_kubelets_conditions(tmp_path: Path) -> None:
    """Every container waits; Initialized True; Ready and ContainersReady False with the
    unready names as Go prints a []string (``[app side]``, no comma); PodScheduled kept."""
    store = make_store(nodes=1)
    manager = make_manager(store, runner=FakeRunner(), workdir=tmp_path)
    store.create("pods", {"metadata": {"name": "web", "namespace": "default"},
                          "spec": {"containers": [{"name": "app", "image": "nginx:1"},
                                                  {"name": "side", "image": "nginx:1"}]}})
    await manager.settle()
    st = store.get("pods", "web", "default")["status"]
    assert [cs["state"]["waiting"]["reason"] for cs in st["containerStatuses"]] == [
        "ErrImagePull", "ErrImagePull"]
    conds = {c["type"]: c for c in st["conditions"]}
    assert sorted(conds) == ["ContainersReady", "Initialized", "PodScheduled", "Ready"]
    assert conds["Initialized"]["status"] == "True"
    for ctype in ("Ready", "ContainersReady"):
        assert (conds[ctype]["status"], conds[ctype]["reason"], conds[ctype]["message"]) == (
            "False", "ContainersNotReady", "containers with unready status: [app side]")
    await manager.stop()


async def test_fleet_pods_are_never_started_even_with_a_metricsd_image(tmp_path: Path) -> None:
    store = make_store(nodes=1)
    runner = FakeRunner()
    manager = make_manager(store, runner=runner, workdir=tmp_path)
    for name, extra in (("annotated", {"metadata": {"annotations": {"fakekubelet/uid": "u"}}}),
                        ("foreign", {"status": {"containerStatuses": [
                            {"name": "c", "containerID": "containerd://x"}]}})):
        body: dict[str, Any] = {
            "metadata": {"name": name, "namespace": "default", **extra.get("metadata", {})},
            "spec": {"nodeName": "node-1", "containers": [
                {"name": "c", "image": "registry.k8s.io/metrics-server/metrics-server:v0.7.1"}]},
            "status": {"phase": "Running", "podIP": "127.1.5.5", **extra.get("status", {})}}
        store.create("pods", body)
    await manager.settle()
    assert runner.started == []
    await manager.stop()


def test_serviceaccount_paths_point_at_the_projected_volume() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "kube-system"},
        "spec": {"containers": [{"name": "c", "image": "metricsd:dev", "args": [
            "--kubelet-certificate-authority=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
        ]}]},
        "status": {"podIP": "127.200.0.9"},
    }
    launch = plan_launch(pod, ["python", "-m", "metricsd"], pod_dir="/p")
    assert "--kubelet-certificate-authority=/p/serviceaccount/ca.crt" in launch.argv
    assert launch.dirs == ["/p/root", "/p/serviceaccount"]
    bare = plan_launch(pod, ["python", "-m", "metricsd"], pod_dir="/p", with_kubeconfig=False)
    assert (
        "--kubelet-certificate-authority=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
        in bare.argv
    )


def test_local_image_flags_keep_their_order_and_split_like_a_shell(tmp_path: Path) -> None:
    from fakeapiserver.cli import parse_args

    args = parse_args(["--state-dir", str(tmp_path), "--local-image", "peer*=sleep '1 0'",
                       "--local-image", f"metricsd*={sys.executable} -c pass"])
    assert args.local_image == [("peer*", ["sleep", "1 0"]),
                                ("metricsd*", [sys.executable, "-c", "pass"])]


async def test_the_control_plane_puts_given_images_before_the_defaults(tmp_path: Path) -> None:
    from fakeapiserver.cli import ControlPlane

    plane = ControlPlane(tmp_path / "cp", local_images={"metricsd*": ["/bin/true", "x"]})
    await plane.start()
    try:
        images = plane.controllers.images
        assert images.command_for("metricsd:dev") == ["/bin/true", "x"]
        # the other default rules still run metricsd
        assert images.command_for("registry.k8s.io/metrics-server/metrics-server:v0.7.1") == [
            sys.executable, "-m", "metricsd"]
    finally:
        await plane.stop()
