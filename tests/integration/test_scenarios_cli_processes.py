"""The runner and the demo as real processes: stopping them stops everything they started, and
``--kubectl VERSION`` is the binary of every kubectl call they make.

Stopping is checked by PID: the runner's fakeapiserver (a child in a session of its own) and
metricsd's pod processes (the control plane's children, each in a session of its own) are
collected from /proc while a step waits; after SIGINT (sent to the runner's process group, as
a Ctrl-C typed at its terminal is) or SIGTERM (to its PID) every one of them must be gone, the
exit status must be 128 + the signal, and no traceback printed.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scenarios.backends.sim import child_pids
from tests.kubectl_bins import kubectl_versions
from tests.unit.scenarios.test_sim_stop import alive

pytestmark = [
    pytest.mark.slow,
    pytest.mark.kubectl,
    pytest.mark.skipif(not {"1.27", "1.30"} <= set(kubectl_versions()),
                       reason="needs kubectl.1.27 and kubectl.1.30"),
]

LONG_WAIT = """\
name: long-wait
description: metricsd installed, then a wait that only a signal ends
cluster:
  fleet:
    nodeGroups: [{name: node, count: 2}]
metricsd:
  args: {add: [--kubelet-insecure-tls]}
steps:
- install: {}
- wait: {log: {contains: this line never comes}}
  timeout: 300s
"""

EVERY_CALL = """\
name: every-call
description: install, a kubectl step, the pod, its log, events, uninstall
cluster:
  fleet:
    nodeGroups: [{name: node, count: 1}]
steps:
- uninstall: {}
- install: {args: {add: [--kubelet-insecure-tls]}}
- kubectl: {args: [get, nodes]}
- wait: {log: {contains: Serving securely}}
  timeout: 60s
  expect: {pod: {status: Running}, events: {notContains: this is not there}}
- uninstall: {}
"""


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def started_by(runner: int, timeout: float = 120) -> tuple[int, list[int]]:
    """fakeapiserver's PID and its metricsd pods' PIDs, once at least one pod runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        planes = [p for p in child_pids(runner) if "-m fakeapiserver" in cmdline(p)]
        if planes:
            pods = [p for p in child_pids(planes[0]) if "-m metricsd" in cmdline(p)]
            if pods:
                return planes[0], pods
        time.sleep(0.1)
    raise AssertionError("no metricsd pod process started")


def start(argv: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, stdin=subprocess.DEVNULL)


def read_until(proc: subprocess.Popen[str], text: str, timeout: float = 120) -> str:
    """What the process printed up to the first line containing ``text`` (so a signal is sent
    after that line, not racing it on a loaded machine). Reads the pipe's descriptor itself,
    so nothing is left in a Python buffer that ``communicate`` would not see."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        seen += chunk
        complete_lines = seen.decode(errors="replace").rpartition("\n")[0]
        if text in complete_lines:
            return seen.decode(errors="replace")
    raise AssertionError(f"never printed {text!r}; printed: {seen.decode()[-2000:]}")


def stop_and_check(proc: subprocess.Popen[str], signo: int, group: bool,
                   after: str) -> tuple[str, str]:
    """Wait for the line ``after``, then signal ``proc`` and check that everything it started
    is gone; returns everything printed on stdout and stderr."""
    before = read_until(proc, after)
    plane, pods = started_by(proc.pid)
    assert all(alive(p) for p in [plane, *pods])
    if group:
        os.killpg(proc.pid, signo)
    else:
        proc.send_signal(signo)
    out, err = proc.communicate(timeout=90)
    out = before + out
    assert proc.returncode == 128 + signo, err
    assert "Traceback" not in out + err, err
    left = [p for p in [plane, *pods] if alive(p)]
    assert not left, f"still running: {[cmdline(p) for p in left]}"
    return out, err


@pytest.mark.parametrize(("signo", "group"), [(signal.SIGINT, True), (signal.SIGTERM, False)])
def test_a_signal_stops_the_runner_and_everything_it_started(tmp_path: Path, signo: int,
                                                             group: bool) -> None:
    (tmp_path / "long.yaml").write_text(LONG_WAIT)
    proc = start([sys.executable, "-m", "scenarios", "run", "--artifacts", "out", "long.yaml"],
                 tmp_path)
    out, err = stop_and_check(proc, signo, group, after="[long-wait] step 1/2 install ... ok")
    name = signal.Signals(signo).name
    assert f"scenarios: {name}: stopping what this run started ...\n" in err
    assert err.endswith(f"scenarios: stopped by {name} before the end; no verdict\n")
    assert "[long-wait] step 1/2 install ... ok" in out
    assert (tmp_path / "out" / "long-wait" / "state" / "kubeconfig").is_file()  # relative: here


def test_sigterm_stops_the_demo_and_everything_it_started(tmp_path: Path) -> None:
    proc = start([sys.executable, "-m", "scenarios.demo", "--artifacts", "demo-out"], tmp_path)
    out, err = stop_and_check(proc, signal.SIGTERM, group=False, after="[ok] install")
    assert "[ok] install" in out
    assert "demo: SIGTERM: stopping what this run started ...\n" in err
    assert err.endswith("demo: stopped by SIGTERM\n")
    assert (tmp_path / "demo-out" / "commands.log").is_file()


def test_kubectl_version_is_the_binary_of_every_call_on_sim(tmp_path: Path) -> None:
    (tmp_path / "every.yaml").write_text(EVERY_CALL)
    res = subprocess.run(
        [sys.executable, "-m", "scenarios", "run", "--kubectl", "1.27", "--artifacts", "out",
         "every.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    log = (tmp_path / "out" / "every-call" / "commands.log").read_text()
    made = re.findall(r"^\$ (\S+) (?:--kubeconfig=\S+ )?(.*)$", log, re.M)
    assert {os.path.basename(binary) for binary, _ in made} == {"kubectl.1.27"}, made
    done = " | ".join(args for _, args in made)
    for what in ("kustomize", "delete --ignore-not-found", "apply --validate=false", "get nodes",
                 "get pods -n kube-system -l k8s-app=metrics-server -o json",
                 "logs -n kube-system metrics-server-", "get events -n kube-system"):
        assert what in done, what
