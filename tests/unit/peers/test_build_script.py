"""peers/build.py: the warm path never starts go, and every failure is one actionable line.

The cold build itself (minutes) is not run here; ``.ci/run`` runs it, and docs/peers.md records
its figures. These tests drive the script as a user does (a subprocess with a chosen PATH,
cache and proxy) and its pure parts directly.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "peers" / "build.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("peers_build_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


build = load()
PEER = build.PEERS["metrics-server"]


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True,
                          text=True, timeout=120)


def base_env(tmp_path: Path, path: str) -> dict[str, str]:
    return {"PATH": path, "HOME": str(tmp_path / "home"),
            "XDG_CACHE_HOME": str(tmp_path / "cache")}


def fake_go(tmp_path: Path, script: str) -> str:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    go = bin_dir / "go"
    go.write_text("#!/bin/sh\n" + script)
    go.chmod(0o755)
    return f"{bin_dir}:/usr/bin:/bin"


def plant(tmp_path: Path, content: bytes = b"\x7fELF fake peer") -> Path:
    """A binary and a stamp as a finished build leaves them (for this machine's recipe)."""
    env = base_env(tmp_path, "")
    target = build.binary_path(PEER, env)
    target.parent.mkdir(parents=True)
    target.write_bytes(content)
    target.chmod(0o755)
    stamp = {"recipe": build.recipe(PEER), "go_version": "go1.21.8",
             "sha256": build.sha256_file(target)}
    (target.parent / "stamp.json").write_text(json.dumps(stamp))
    return target


def test_the_pinned_recipe_is_upstreams_makefile() -> None:
    assert PEER.toolchain == "go1.21.8"  # upstream's Dockerfile: FROM golang:1.21.8
    assert build.build_argv(PEER, "OUT") == [
        "go", "build", "-mod=readonly", "-trimpath", "-ldflags",
        "-w -X k8s.io/client-go/pkg/version.gitVersion=v0.7.1"
        " -X k8s.io/client-go/pkg/version.gitCommit=e78ebc4ffc86b2809f8831947562ac55ac3940eb"
        " -X k8s.io/client-go/pkg/version.buildDate=2024-03-26T15:40:10Z",
        "-o", "OUT", "sigs.k8s.io/metrics-server/cmd/metrics-server"]
    assert build.build_env_overrides("amd64")["CGO_ENABLED"] == "0"
    # the commit and build date metricsd's /version shows (its User-Agent: kubernetes/e78ebc4)
    from metricsd.version import UPSTREAM_BUILD_DATE, UPSTREAM_COMMIT

    assert dict(PEER.ldflags_x)["k8s.io/client-go/pkg/version.gitCommit"] == UPSTREAM_COMMIT
    assert dict(PEER.ldflags_x)["k8s.io/client-go/pkg/version.buildDate"] == UPSTREAM_BUILD_DATE
    gomod = (ROOT / "peers" / "metrics-server" / "go.mod").read_text()
    assert "\ngo 1.21\n" in gomod  # upstream's go line: the same GODEBUG defaults
    assert "require sigs.k8s.io/metrics-server v0.7.1\n" in gomod


def test_a_warm_cache_is_verified_without_go(tmp_path: Path) -> None:
    target = plant(tmp_path)
    res = run(base_env(tmp_path, "/nonexistent"))  # no go anywhere on PATH
    assert res.returncode == 0, res.stderr
    assert res.stdout == f"{target}\n"
    assert res.stderr.startswith("peers: metrics-server v0.7.1 is up to date (sha256 ")
    check = run(base_env(tmp_path, "/nonexistent"), "--check")
    assert (check.returncode, check.stdout) == (0, f"{target}\n")


def test_a_tampered_binary_is_rebuilt_and_go_missing_is_one_line(tmp_path: Path) -> None:
    target = plant(tmp_path)
    target.write_bytes(b"something else")
    res = run(base_env(tmp_path, "/nonexistent"))
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert lines[0].startswith(f"peers: metrics-server v0.7.1: rebuilding: {target} has sha256 ")
    assert lines[1:] == ["peers: error: Go is not installed: no `go` command on PATH. Install "
                         "Go ≥ 1.21 (this machine kind ships it in /usr/local/go/bin); it then "
                         "fetches the pinned toolchain itself through the Go module proxy."]
    check = run(base_env(tmp_path, "/nonexistent"), "--check")
    assert check.returncode == 1 and "is not built: " in check.stderr


def test_a_stale_recipe_is_rebuilt(tmp_path: Path) -> None:
    target = plant(tmp_path)
    stamp_path = target.parent / "stamp.json"
    stamp = json.loads(stamp_path.read_text())
    stamp["recipe"]["toolchain"] = "go1.22.0"
    stamp_path.write_text(json.dumps(stamp))
    assert build.verify(PEER, base_env(tmp_path, "")) == (
        False, "the build recipe changed since it was built (go.mod, go.sum or flags)")


def test_an_old_go_is_refused_before_anything_runs(tmp_path: Path) -> None:
    path = fake_go(tmp_path, 'echo go1.19.8\n')
    res = run(base_env(tmp_path, path))
    assert res.returncode == 1
    assert res.stderr.splitlines()[-1] == (
        f"peers: error: {tmp_path}/fakebin/go is go1.19.8, too old to fetch go1.21.8 by "
        "GOTOOLCHAIN (needs go ≥ 1.21); install a newer Go first")


def test_print_path_builds_nothing(tmp_path: Path) -> None:
    res = run(base_env(tmp_path, "/nonexistent"), "--print-path")
    assert res.returncode == 0
    assert res.stdout == (f"{tmp_path}/cache/metricsd/peers/metrics-server-v0.7.1/"
                          "metrics-server\n")
    assert not (tmp_path / "cache").exists()
    bad = run(base_env(tmp_path, "/nonexistent"), "kube-apiserver")
    assert bad.returncode == 2 and "unknown peer 'kube-apiserver'" in bad.stderr


@pytest.mark.skipif(shutil.which("go") is None, reason="no go on PATH")
def test_an_unreachable_proxy_is_one_line(tmp_path: Path) -> None:
    """The real go command, an empty module cache and a proxy on a closed loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**base_env(tmp_path, os.environ["PATH"]), "GOPROXY": f"http://127.0.0.1:{port}",
           "GOMODCACHE": str(tmp_path / "mod"), "GOPATH": str(tmp_path / "gopath"),
           "GOCACHE": str(tmp_path / "gocache")}
    res = run(env)
    assert res.returncode == 1
    assert res.stderr.splitlines()[-1] == (
        "peers: error: cannot download Go toolchain go1.21.8: the Go module proxy is not "
        f"reachable (GOPROXY=http://127.0.0.1:{port}): dial tcp 127.0.0.1:{port}: connect: "
        "connection refused. Point GOPROXY at a reachable Go module proxy, or run where one is.")


@pytest.mark.parametrize(("stderr", "expected"), [
    ('go: downloading k8s.io/api v0.29.2\ngo: k8s.io/api@v0.29.2: Get '
     '"https://proxy.example/k8s.io/api/@v/v0.29.2.zip": dial tcp: lookup proxy.example: no '
     'such host',
     "cannot X: the Go module proxy is not reachable (GOPROXY=https://proxy.example): no such "
     "host. Point GOPROXY at a reachable Go module proxy, or run where one is."),
    ("go: k8s.io/api@v0.29.2: module lookup disabled by GOPROXY=off",
     "cannot X: the Go module proxy is not reachable (GOPROXY=https://proxy.example): module "
     "lookup disabled by GOPROXY=off. Point GOPROXY at a reachable Go module proxy, or run where "
     "one is."),
    ("# k8s.io/x\n./a.go:1:1: syntax error", "cannot X: ./a.go:1:1: syntax error"),
    ("", "cannot X: (no output)"),
])
def test_go_failures_are_explained_in_one_line(stderr: str, expected: str) -> None:
    assert build.explain_go_failure(stderr, "X", {"GOPROXY": "https://proxy.example"}) == expected
