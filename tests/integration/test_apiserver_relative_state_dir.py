"""fakeapiserver started with a relative ``--state-dir`` runs metricsd's pod as with an absolute
one: the pod's process works in a directory of its own, and the paths it is handed (its
ServiceAccount kubeconfig) must not be relative to fakeapiserver's working directory. Before
the fix the pod crash-looped on ``stat cp/pods/…/serviceaccount/kubeconfig: no such file``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fakekubelet.addresses import free_loopback_base
from tests.kubectl_bins import kubectl_binary, kubectl_versions

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.kubectl,
              pytest.mark.skipif("1.30" not in kubectl_versions(), reason="no kubectl.1.30")]


def test_a_relative_state_dir_gives_a_running_metricsd_pod(tmp_path: Path) -> None:
    plane = subprocess.Popen(
        [sys.executable, "-m", "fakeapiserver", "--state-dir", "cp", "--nodes", "1",
         "--pods-per-node", "1", "--address-base", free_loopback_base(10, 10250)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        assert plane.stdout is not None
        assert plane.stdout.readline() == "fakeapiserver: ready\n"
        kubectl = [kubectl_binary("1.30"), f"--kubeconfig={tmp_path / 'cp' / 'kubeconfig'}"]
        env = dict(os.environ, HOME=str(tmp_path))
        rendered = subprocess.run([*kubectl, "kustomize",
                                   str(ROOT / "kind/manifests/overlays/insecure-tls")],
                                  capture_output=True, text=True, check=True, env=env).stdout
        subprocess.run([*kubectl, "apply", "-f", "-"], input=rendered, capture_output=True,
                       text=True, check=True, env=env)
        deadline, log, pods = time.monotonic() + 90, "", {}
        while time.monotonic() < deadline and "Serving securely" not in log:
            time.sleep(0.25)
            pods = json.loads(subprocess.run(
                [*kubectl, "get", "pods", "-n", "kube-system", "-l", "k8s-app=metrics-server",
                 "-o", "json"], capture_output=True, text=True, env=env).stdout or "{}")
            if pods.get("items"):
                name = pods["items"][0]["metadata"]["name"]
                log = subprocess.run([*kubectl, "logs", "-n", "kube-system", name],
                                     capture_output=True, text=True, env=env).stdout
        assert "Serving securely" in log, (log[:2000], pods)
        assert "no such file or directory" not in log
        statuses = pods["items"][0]["status"]["containerStatuses"]
        assert statuses[0]["restartCount"] == 0
    finally:
        plane.terminate()
        _, err = plane.communicate(timeout=60)
    assert plane.returncode == 0, err
    assert f"state in {tmp_path / 'cp'}" in err  # the absolute path, as it is used
