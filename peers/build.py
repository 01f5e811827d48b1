#!/usr/bin/env python3
"""Build the test peers — upstream binaries metricsd is compared with — into a cache.

Usage::

    python3 peers/build.py                 # build (or verify) every peer; prints each path
    python3 peers/build.py --print-path    # only the paths, one a line (nothing is built)
    python3 peers/build.py --check         # exit 1 unless every peer is built and intact
    python3 peers/build.py --force         # rebuild even when the cache is intact

Why a cache outside the work tree: the binaries are test oracles, never part of metricsd (not
in the wheel, not in the image, never imported), and a build takes minutes cold, so it is done
once per machine and kept in ``${XDG_CACHE_HOME:-~/.cache}/metricsd/peers/<name>-<version>/``
beside a ``stamp.json`` that says what was built and how. A warm run only reads the stamp and
hashes the binary (well under a second) and never starts ``go``.

Why these exact settings: the peer must be the binary users run. Upstream's v0.7.1 image is
built by its Dockerfile from ``golang:1.21.8`` with its Makefile's ``CGO_ENABLED=0 go build
-mod=readonly -trimpath -ldflags "-w -X …gitVersion -X …gitCommit -X …buildDate"``. Go's TLS
defaults, x509 error texts and GODEBUG defaults depend on the toolchain and on the main
module's ``go`` line, so the toolchain is selected with ``GOTOOLCHAIN=go1.21.8`` (the go
command on PATH, ≥ 1.21, downloads it from the Go module proxy) and the wrapper module
(``peers/metrics-server/go.mod``) says ``go 1.21`` like upstream's. ``buildDate`` is fixed to
the release commit's time (upstream stamps the wall clock) so that two builds give the same
bytes.

Only the standard library is used: the script runs before anything is installed (``.ci/run``).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

HERE = Path(__file__).resolve().parent
PROG = "peers"
#: The oldest go command that understands GOTOOLCHAIN (and so can fetch the pinned toolchain).
MIN_LOCAL_GO = (1, 21)
STAMP = "stamp.json"


@dataclass(frozen=True)
class Peer:
    """One upstream binary: the wrapper module that pins it and upstream's build recipe."""

    name: str
    version: str
    module_dir: str  # under peers/
    package: str
    toolchain: str
    #: ``-X`` values of upstream's Makefile (package-qualified variable → value).
    ldflags_x: tuple[tuple[str, str], ...]
    #: what precedes the -X values in upstream's LDFLAGS
    ldflags_head: tuple[str, ...] = ("-w",)

    @property
    def ldflags(self) -> str:
        return " ".join([*self.ldflags_head, *(f"-X {k}={v}" for k, v in self.ldflags_x)])

    @property
    def binary_name(self) -> str:
        return self.name


_CLIENT_GO_VERSION = "k8s.io/client-go/pkg/version"

PEERS: dict[str, Peer] = {
    "metrics-server": Peer(
        name="metrics-server",
        version="v0.7.1",
        module_dir="metrics-server",
        package="sigs.k8s.io/metrics-server/cmd/metrics-server",
        # upstream's Dockerfile at v0.7.1: FROM golang:1.21.8
        toolchain="go1.21.8",
        ldflags_x=(
            (f"{_CLIENT_GO_VERSION}.gitVersion", "v0.7.1"),
            # The commit the published v0.7.1 tag points to and the release image was built
            # from ("cut release 0.7.1"). The module proxy cached the tag's first position,
            # 89490cb8 (its .info Origin.Hash); the two trees differ only in README.md and the
            # release kustomization, so the Go code built here is the release's, and the
            # User-Agent ends in kubernetes/e78ebc4 as the released binary's does.
            (f"{_CLIENT_GO_VERSION}.gitCommit", "e78ebc4ffc86b2809f8831947562ac55ac3940eb"),
            # that commit's time, not the wall clock upstream's Makefile stamps: reproducible
            (f"{_CLIENT_GO_VERSION}.buildDate", "2024-03-26T15:40:10Z"),
        ),
    ),
}


class BuildError(Exception):
    """A failure the user can act on: printed as one line, exit status 1."""


# ------------------------------------------------------------------------------- locations


def cache_root(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or str(Path.home()),
                                                      ".cache")
    return Path(base) / "metricsd" / "peers"


def peer_dir(peer: Peer, env: dict[str, str] | None = None) -> Path:
    return cache_root(env) / f"{peer.name}-{peer.version}"


def binary_path(peer: Peer, env: dict[str, str] | None = None) -> Path:
    return peer_dir(peer, env) / peer.binary_name


def go_platform() -> tuple[str, str]:
    """GOOS/GOARCH of this machine (without asking go: the warm path never starts it)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
            "ppc64le": "ppc64le", "s390x": "s390x"}.get(machine)
    if arch is None:
        raise BuildError(f"unsupported machine {platform.machine()!r} for the Go peers")
    return sys.platform if sys.platform != "linux2" else "linux", arch


# ---------------------------------------------------------------------------------- recipe


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recipe(peer: Peer) -> dict[str, object]:
    """Everything the binary's bytes depend on; a stamp with another recipe is stale."""
    goos, goarch = go_platform()
    module = HERE / peer.module_dir
    return {
        "peer": peer.name,
        "version": peer.version,
        "package": peer.package,
        "toolchain": peer.toolchain,
        "goos": goos,
        "goarch": goarch,
        "env": build_env_overrides(goarch),
        "argv": build_argv(peer, "OUTPUT"),
        "go.mod": sha256_file(module / "go.mod"),
        "go.sum": sha256_file(module / "go.sum"),
    }


def build_env_overrides(goarch: str) -> dict[str, str]:
    """The environment go runs with, over the caller's (which keeps GOPROXY, GOMODCACHE,
    GOCACHE, proxies): GOFLAGS is set (not unset) so a user's ``go env -w GOFLAGS`` does not
    leak into the build; GOAMD64=v1 is Go's default and what upstream's images use."""
    env = {"CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly -buildvcs=false", "GOWORK": "off",
           "GO111MODULE": "on"}
    if goarch == "amd64":
        env["GOAMD64"] = "v1"
    return env


def build_argv(peer: Peer, output: str) -> list[str]:
    return ["go", "build", "-mod=readonly", "-trimpath", "-ldflags", peer.ldflags, "-o", output,
            peer.package]


# ---------------------------------------------------------------------------------- output


class Progress:
    """Progress lines on stderr: one rewritten line on a terminal, sparse lines otherwise."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream: TextIO = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self._transient = False

    def line(self, text: str) -> None:
        if self.quiet:
            return
        self._clear()
        print(f"{PROG}: {text}", file=self.stream, flush=True)

    def transient(self, text: str) -> None:
        """A line that the next one replaces (terminal only; elsewhere it is dropped)."""
        if self.quiet or not self.tty:
            return
        width = shutil.get_terminal_size((100, 20)).columns - 1
        shown = f"{PROG}: {text}"[:width]
        self.stream.write("\r\x1b[K" + shown)
        self.stream.flush()
        self._transient = True

    def _clear(self) -> None:
        if self._transient:
            self.stream.write("\r\x1b[K")
            self._transient = False


# -------------------------------------------------------------------------------- go runner


def parse_go_version(text: str) -> tuple[int, int] | None:
    match = re.search(r"\bgo(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


_DOWNLOADING = re.compile(r"^go: downloading (\S+) (\S+)")


def explain_go_failure(stderr: str, what: str, env: dict[str, str]) -> str:
    """One line out of go's error output: what failed and why, and what to do."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    proxy = env.get("GOPROXY") or "https://proxy.golang.org,direct (default)"
    network = [ln for ln in lines if re.search(
        r"dial tcp|connection refused|no such host|i/o timeout|TLS handshake|"
        r"GOPROXY=off|module lookup disabled|Get \"https?://|reading https?://|"
        r"unrecognized import path|410 Gone|404 Not Found", ln)]
    if network:
        cause = network[-1]
        reason = re.search(r"(dial tcp [^:]+(:\d+)?: [^\"]+|module lookup disabled by "
                           r"GOPROXY=off|no such host|i/o timeout|\d{3} [A-Z][a-z]+[^:]*)$",
                           cause)
        short = reason.group(1) if reason else cause
        return (f"cannot {what}: the Go module proxy is not reachable (GOPROXY={proxy}): "
                f"{short}. Point GOPROXY at a reachable Go module proxy, or run where one is.")
    last = lines[-1] if lines else "(no output)"
    return f"cannot {what}: {last}"


def run_go(argv: Sequence[str], env: dict[str, str], cwd: Path, what: str,
           on_line: Callable[[str], None] | None = None) -> str:
    """Run go, streaming stderr lines to ``on_line``; BuildError (one line) on failure."""
    try:
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, bufsize=1)
    except FileNotFoundError:
        raise BuildError(no_go_message()) from None
    assert proc.stderr is not None and proc.stdout is not None
    err_lines: list[str] = []
    out_chunks: list[str] = []
    stdout = proc.stdout
    reader = threading.Thread(target=lambda: out_chunks.append(stdout.read()), daemon=True)
    reader.start()
    for raw in proc.stderr:
        line = raw.rstrip("\n")
        err_lines.append(line)
        if on_line is not None:
            on_line(line)
    code = proc.wait()
    reader.join()
    if code != 0:
        raise BuildError(explain_go_failure("\n".join(err_lines), what, env))
    return "".join(out_chunks)


def no_go_message() -> str:
    return ("Go is not installed: no `go` command on PATH. Install Go ≥ 1.21 (this machine "
            "kind ships it in /usr/local/go/bin); it then fetches the pinned toolchain itself "
            "through the Go module proxy.")


def find_go(env: dict[str, str]) -> str:
    go = shutil.which("go", path=env.get("PATH"))
    if go is None:
        raise BuildError(no_go_message())
    return go


# ---------------------------------------------------------------------------------- stamps


def read_stamp(peer: Peer, env: dict[str, str] | None = None) -> dict[str, object] | None:
    try:
        data = json.loads((peer_dir(peer, env) / STAMP).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def verify(peer: Peer, env: dict[str, str] | None = None) -> tuple[bool, str]:
    """(intact, why not): the binary exists, its stamp has today's recipe and its sha256."""
    binary = binary_path(peer, env)
    stamp = read_stamp(peer, env)
    if not binary.is_file():
        return False, f"{binary} does not exist"
    if stamp is None:
        return False, f"{peer_dir(peer, env) / STAMP} is missing or unreadable"
    if stamp.get("recipe") != recipe(peer):
        return False, "the build recipe changed since it was built (go.mod, go.sum or flags)"
    actual = sha256_file(binary)
    if actual != stamp.get("sha256"):
        return False, f"{binary} has sha256 {actual}, the stamp says {stamp.get('sha256')}"
    return True, ""


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """One build per cache directory at a time (parallel CI jobs, two terminals)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ----------------------------------------------------------------------------------- build


def build(peer: Peer, progress: Progress, force: bool = False) -> Path:
    """Build ``peer`` unless the cache already holds it intact; returns the binary's path."""
    target = binary_path(peer)
    with locked(peer_dir(peer)):
        if not force:
            ok, why = verify(peer)
            if ok:
                stamp = read_stamp(peer) or {}
                progress.line(f"{peer.name} {peer.version} is up to date "
                              f"(sha256 {str(stamp.get('sha256'))[:16]}…, "
                              f"{stamp.get('go_version')})")
                return target
            if target.exists() or read_stamp(peer) is not None:
                progress.line(f"{peer.name} {peer.version}: rebuilding: {why}")
        return _build(peer, progress, target)


def _build(peer: Peer, progress: Progress, target: Path) -> Path:
    env = dict(os.environ)
    go = find_go(env)
    module = HERE / peer.module_dir
    goos, goarch = go_platform()
    env.update(build_env_overrides(goarch))
    env.update(GOOS=goos, GOARCH=goarch)
    started = time.monotonic()
    phases: dict[str, float] = {}

    # 1. the local go must understand GOTOOLCHAIN
    local = subprocess.run([go, "env", "GOVERSION"], env={**env, "GOTOOLCHAIN": "local"},
                           capture_output=True, text=True, cwd=module)
    local_version = local.stdout.strip() or local.stderr.strip()
    parsed = parse_go_version(local_version)
    if local.returncode != 0 or parsed is None:
        raise BuildError(f"cannot run {go}: {local_version or 'no output'}")
    if parsed < MIN_LOCAL_GO:
        raise BuildError(
            f"{go} is {local_version}, too old to fetch {peer.toolchain} by GOTOOLCHAIN (needs "
            f"go ≥ {MIN_LOCAL_GO[0]}.{MIN_LOCAL_GO[1]}); install a newer Go first")

    # 2. the pinned toolchain (downloaded into GOMODCACHE on first use)
    env["GOTOOLCHAIN"] = peer.toolchain
    progress.line(f"{peer.name} {peer.version}: selecting Go toolchain {peer.toolchain} "
                  f"(local go is {local_version}; the proxy serves it on first use)")

    def show_toolchain(line: str) -> None:
        if line.startswith("go: downloading"):
            progress.line(f"  {line[4:]}")

    version = run_go([go, "env", "GOVERSION"], env, module,
                     f"download Go toolchain {peer.toolchain}", show_toolchain).strip()
    if version != peer.toolchain:
        raise BuildError(f"GOTOOLCHAIN={peer.toolchain} gave {version!r}: the go command did "
                         "not switch toolchains (is GOTOOLCHAIN overridden by go.env?)")
    phases["toolchain"] = time.monotonic() - started

    # 3. modules: list the packages the binary is made of (downloads what is missing)
    mark = time.monotonic()
    progress.line(f"{peer.name} {peer.version}: resolving packages (downloads missing "
                  "modules from the Go module proxy)")
    downloads = 0

    def show_download(line: str) -> None:
        nonlocal downloads
        match = _DOWNLOADING.match(line)
        if match:
            downloads += 1
            progress.line(f"  downloading {match.group(1)} {match.group(2)} ({downloads})")

    listed = run_go([go, "list", "-mod=readonly", "-deps", "-f", "{{.ImportPath}}",
                     peer.package], env, module,
                    f"download the modules of {peer.package}", show_download)
    packages = [p for p in listed.split() if p]
    phases["modules"] = time.monotonic() - mark
    progress.line(f"{peer.name} {peer.version}: {len(packages)} packages"
                  + (f", {downloads} modules downloaded" if downloads else
                     ", every module already in GOMODCACHE"))

    # 4. compile (go build -v names each package it compiles; cached ones are not named)
    mark = time.monotonic()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    argv = build_argv(peer, str(tmp))
    argv[0] = go
    argv.insert(2, "-v")
    progress.line(f"{peer.name} {peer.version}: compiling with {peer.toolchain} "
                  f"(CGO_ENABLED=0 -trimpath -ldflags \"{peer.ldflags}\")")
    compiled = 0
    step = max(1, len(packages) // 10)

    def show_compile(line: str) -> None:
        nonlocal compiled
        if line.startswith(("go:", "#")) or " " in line.strip():
            progress.line(f"  {line}")
            return
        compiled += 1
        progress.transient(f"  compiling [{compiled}/{len(packages)}] {line}")
        if not progress.tty and compiled % step == 0:
            progress.line(f"  compiled {compiled}/{len(packages)} packages "
                          f"({time.monotonic() - mark:.0f}s)")

    try:
        run_go(argv, env, module, f"build {peer.package}", show_compile)
        phases["compile"] = time.monotonic() - mark
        digest = sha256_file(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    total = time.monotonic() - started
    stamp = {
        "recipe": recipe(peer),
        "go_version": version,
        "sha256": digest,
        "size": target.stat().st_size,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": {k: round(v, 1) for k, v in {**phases, "total": total}.items()},
        "packages": len(packages),
        "modules_downloaded": downloads,
    }
    stamp_tmp = target.with_name(f".{STAMP}.{os.getpid()}.tmp")
    stamp_tmp.write_text(json.dumps(stamp, indent=2) + "\n")
    os.replace(stamp_tmp, target.parent / STAMP)
    progress.line(f"{peer.name} {peer.version}: built in {total:.0f}s, sha256 {digest}")
    return target


# ------------------------------------------------------------------------------------- cli


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="peers/build.py",
        description="Build the upstream test peers (never part of metricsd) into "
        f"{cache_root()}.",
        epilog="Environment: GOPROXY, GOMODCACHE, GOCACHE and XDG_CACHE_HOME are honoured; "
        "the toolchain, CGO_ENABLED, GOFLAGS, GOOS/GOARCH are set by the script.",
    )
    parser.add_argument("peers", nargs="*", metavar="PEER",
                        help=f"which peers (default: all: {', '.join(PEERS)})")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--print-path", action="store_true",
                      help="print where each binary is (or would be) and exit; builds nothing")
    mode.add_argument("--check", action="store_true",
                      help="exit 1 unless each binary is built and matches its stamp")
    mode.add_argument("--force", action="store_true", help="rebuild even if intact")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    unknown = [name for name in args.peers if name not in PEERS]
    if unknown:
        parser.error(f"unknown peer {unknown[0]!r} (known: {', '.join(PEERS)})")
    chosen = [PEERS[name] for name in (args.peers or PEERS)]
    progress = Progress(quiet=args.quiet)
    if args.print_path:
        for peer in chosen:
            print(binary_path(peer))
        return 0
    try:
        if args.check:
            failed = False
            for peer in chosen:
                ok, why = verify(peer)
                if not ok:
                    print(f"{PROG}: {peer.name} {peer.version} is not built: {why} "
                          f"(run python3 peers/build.py)", file=sys.stderr)
                    failed = True
                else:
                    print(binary_path(peer))
            return 1 if failed else 0
        for peer in chosen:
            print(build(peer, progress, force=args.force), flush=True)
    except BuildError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
