"""``--kubectl VERSION`` is the kubectl of EVERY call: the steps', and the backend's own
(kustomize and apply to install, delete to uninstall, the pod, its log, events, the APIService).

Recorded with stand-in ``kubectl.1.NN`` scripts in a ``KUBECTL_DIR``: each appends its own name
and arguments to a file and answers like a cluster without a metricsd pod. The same check on the
simulation, with the real binaries, is in tests/integration/test_scenarios_cli_processes.py.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from scenarios.cli import main

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: metrics-server, namespace: kube-system}
spec:
  template:
    spec:
      containers:
      - name: metrics-server
        args: [--cert-dir=/tmp, --secure-port=10250]
"""

POD = ('{"items": [{"metadata": {"name": "metrics-server-x"}, "spec": {"containers": '
       '[{"name": "metrics-server"}]}, "status": {"phase": "Running", "containerStatuses": '
       '[{"ready": false, "restartCount": 0, "state": {"running": {}}}]}}]}')

STANDIN = """#!/bin/sh
echo "$(basename "$0") $*" >> "$KUBECTL_RECORD"
case "$*" in
  *kustomize*) cat "$KUBECTL_MANIFEST" ;;
  *"get --raw /version"*) echo '{"major": "1", "minor": "30"}' ;;
  *"get pods -n kube-system -l k8s-app=metrics-server -o json"*) echo "$POD" ;;
  *"-o json"*) echo '{"items": []}' ;;
esac
exit 0
"""

SCENARIO = """\
name: choice
description: every kubectl call
cluster: {kubernetesVersion: "1.30"}
steps:
- uninstall: {}
- install: {args: {add: [--kubelet-insecure-tls]}}
- kubectl: {args: [get, nodes]}
- kubectl: {args: [get, pods], version: "1.33"}
- wait: {apiservice: {available: "Unknown"}}
  timeout: 5s
  expect: {events: {notContains: Warning}, log: {notContains: x}}
"""


@pytest.fixture
def standins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bins = tmp_path / "bin"
    bins.mkdir()
    for version in ("1.27", "1.30", "1.33"):
        script = bins / f"kubectl.{version}"
        script.write_text(STANDIN)
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "manifest.yaml").write_text(MANIFEST)
    record = tmp_path / "record"
    monkeypatch.setenv("KUBECTL_DIR", str(bins))
    monkeypatch.setenv("KUBECTL_RECORD", str(record))
    monkeypatch.setenv("KUBECTL_MANIFEST", str(tmp_path / "manifest.yaml"))
    monkeypatch.setenv("POD", POD)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return record


def calls(record: Path) -> list[tuple[str, str]]:
    out = []
    for line in record.read_text().splitlines():
        binary, _, args = line.partition(" ")
        out.append((binary, args))
    return out


def run(tmp_path: Path, *flags: str) -> int:
    path = tmp_path / "choice.yaml"
    path.write_text(SCENARIO)
    return main(["run", "--backend", "kind", "--artifacts", str(tmp_path / "art"), *flags,
                 str(path)])


def test_kubectl_version_overrides_every_call(tmp_path: Path, standins: Path) -> None:
    assert run(tmp_path, "--kubectl", "1.27") == 0
    made = calls(standins)
    assert {binary for binary, _ in made} == {"kubectl.1.27"}, made
    done = " | ".join(args for _, args in made)
    for what in ("get --raw /version", "kustomize", "delete --ignore-not-found",
                 "apply --validate=false", "get nodes", "get pods", "get apiservice",
                 "get events", "get pods -n kube-system -l k8s-app=metrics-server -o json",
                 "logs -n kube-system metrics-server-x"):
        assert what in done, what


def test_without_it_the_steps_and_the_backend_choose(tmp_path: Path, standins: Path) -> None:
    assert run(tmp_path) == 0
    made = calls(standins)
    by_step = [binary for binary, args in made if args in ("get nodes", "get pods")]
    assert by_step == ["kubectl.1.30", "kubectl.1.33"]  # the file's default, the step's own
    assert {binary for binary, args in made if args not in ("get nodes", "get pods")} == {
        "kubectl.1.30"}  # the cluster's minor version


def test_kubectl_default_is_1_30_everywhere(tmp_path: Path, standins: Path) -> None:
    assert run(tmp_path, "--kubectl", "default") == 0
    assert {binary for binary, _ in calls(standins)} == {"kubectl.1.30"}


def test_kubectl_all_runs_each_kubectl_step_once_per_version(tmp_path: Path,
                                                             standins: Path) -> None:
    assert run(tmp_path, "--kubectl", "all") == 0
    made = calls(standins)
    assert [b for b, args in made if args == "get nodes"] == [
        "kubectl.1.27", "kubectl.1.30", "kubectl.1.33"]
    assert {b for b, args in made if args not in ("get nodes", "get pods")} == {"kubectl.1.30"}


def test_an_uninstalled_version_is_a_usage_error(tmp_path: Path, standins: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, "--kubectl", "1.29") == 2
    assert capsys.readouterr().err == (
        "scenarios: kubectl 1.29 is not installed (have: 1.27, 1.30, 1.33)\n")
    assert not standins.exists()


def test_the_demo_refuses_an_uninstalled_version(standins: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from scenarios.demo.__main__ import main as demo

    assert demo(["--kubectl", "1.29"]) == 2
    assert capsys.readouterr().err == (
        "demo: kubectl 1.29 is not installed (have: 1.27, 1.30, 1.33)\n")
    assert not standins.exists()
    assert os.environ["KUBECTL_DIR"].endswith("bin")


ONCE = """\
name: once
description: a command that changes the cluster runs once
cluster: {kubernetesVersion: "1.30"}
kubectl: KUBECTL
steps:
- kubectl: {args: [autoscale, deployment, web, --max=10], once: true}
- kubectl: {args: [create, namespace, demo], version: "1.33", once: true}
- kubectl: {args: [get, hpa]}
"""


@pytest.mark.parametrize(("file_kubectl", "flags", "autoscale", "create", "get"), [
    # --kubectl all repeats every step but the once ones: they keep the step's or the file's
    ("default", ["--kubectl", "all"], ["1.30"], ["1.33"], ["1.27", "1.30", "1.33"]),
    ("all", ["--kubectl", "all"], ["1.30"], ["1.33"], ["1.27", "1.30", "1.33"]),
    ("all", [], ["1.30"], ["1.33"], ["1.27", "1.30", "1.33"]),
    ("1.27", ["--kubectl", "all"], ["1.27"], ["1.33"], ["1.27", "1.30", "1.33"]),
    # one version on the command line is still every call's
    ("all", ["--kubectl", "1.27"], ["1.27"], ["1.27"], ["1.27"]),
    ("default", [], ["1.30"], ["1.33"], ["1.30"]),
])
def test_a_once_step_runs_one_kubectl(tmp_path: Path, standins: Path, file_kubectl: str,
                                      flags: list[str], autoscale: list[str],
                                      create: list[str], get: list[str]) -> None:
    path = tmp_path / "once.yaml"
    path.write_text(ONCE.replace("KUBECTL", file_kubectl))
    assert main(["run", "--backend", "kind", "--artifacts", str(tmp_path / "art"), *flags,
                 str(path)]) == 0
    made = calls(standins)

    def used(command: str) -> list[str]:
        return [b.removeprefix("kubectl.") for b, args in made if args.startswith(command)]

    assert (used("autoscale"), used("create"), used("get hpa")) == (autoscale, create, get)
