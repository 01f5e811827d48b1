"""The image's entrypoint, without Docker: metricsd as a non-root user on a read-only filesystem.

kind/Dockerfile runs `metricsd` as user 65534 with the working directory on a read-only root
filesystem, and the manifests give it `--cert-dir=/tmp` on an emptyDir — as upstream. Here the
same command runs under `setpriv` as uid 65534 with a read-only working directory. The process
keeps CAP_DAC_READ_SEARCH only so that it can read the interpreter, which on this machine lives
under /root (mode 700); in the image it is under /usr/local and world-readable. It can write
nowhere except where the directory's owner lets uid 65534 write.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakekubelet.addresses import free_loopback_base, free_port

SETPRIV = shutil.which("setpriv")
NOBODY = 65534
METRICSD = str(Path(sys.executable).parent / "metricsd")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to uid 65534"),
    pytest.mark.skipif(SETPRIV is None, reason="setpriv (util-linux) not installed"),
]


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    state = tmp_path_factory.mktemp("cp")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakeapiserver", "--state-dir", str(state), "--nodes", "1",
         "--pods-per-node", "1", "--cert-mode", "ca-signed",
         "--address-base", free_loopback_base(1)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.strip() == "fakeapiserver: ready":
                break
        else:
            pytest.fail(f"fakeapiserver exited with {proc.wait()}")
        yield state
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_as_nobody(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    assert SETPRIV is not None
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.Popen(
        [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", METRICSD, *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def read_only_dir(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    root.mkdir()
    root.chmod(0o555)  # owned by root: uid 65534 can list it, not write to it
    return root


def wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float = 60) -> list[str]:
    """stderr lines up to the first containing ``text`` (fails if the process exits first)."""
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    for line in proc.stderr:
        seen.append(line)
        if text in line:
            return seen
        assert time.monotonic() < deadline, "".join(seen[-20:])
    pytest.fail(f"metricsd exited ({proc.wait()}) before {text!r}:\n" + "".join(seen[-20:]))


def test_serves_as_nobody_with_cert_dir_on_a_writable_tmp(
    control_plane: Path, tmp_path: Path
) -> None:
    rootfs = read_only_dir(tmp_path)
    cert_dir = tmp_path / "tmp-volume"  # the emptyDir at /tmp
    cert_dir.mkdir()
    os.chown(cert_dir, NOBODY, NOBODY)
    proc = run_as_nobody(
        ["--cert-dir=" + str(cert_dir), "--secure-port=" + str(free_port()),
         "--bind-address=127.0.0.1", "--kubeconfig=" + str(control_plane / "kubeconfig"),
         "--kubelet-insecure-tls", "--metric-resolution=15s"],
        cwd=rootfs,
    )
    try:
        lines = wait_for_line(proc, "Serving securely on 127.0.0.1:")
        status = Path(f"/proc/{proc.pid}/status").read_text()
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        assert uid_line.split()[1:] == [str(NOBODY)] * 4
        assert any(
            f"Generated self-signed cert ({cert_dir}/apiserver.crt, {cert_dir}/apiserver.key)"
            in line for line in lines
        )
        for name in ("apiserver.crt", "apiserver.key"):
            assert (cert_dir / name).stat().st_uid == NOBODY
        assert list(rootfs.iterdir()) == []  # nothing written to the read-only side
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_without_cert_dir_fails_like_upstream_on_a_read_only_root(
    control_plane: Path, tmp_path: Path
) -> None:
    rootfs = read_only_dir(tmp_path)
    proc = run_as_nobody(
        ["--secure-port=" + str(free_port()), "--bind-address=127.0.0.1",
         "--kubeconfig=" + str(control_plane / "kubeconfig"), "--kubelet-insecure-tls"],
        cwd=rootfs,
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert err.splitlines()[0] == (
        "Error: error creating self-signed certificates: "
        "mkdir apiserver.local.config: permission denied"
    )
