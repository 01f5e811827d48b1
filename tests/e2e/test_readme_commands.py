"""The README's commands, run as a new user runs them: in a fresh clone, from its root.

Everything else in the suite runs from this checkout with absolute paths (tox passes
``--artifacts {envtmpdir}/…``), which is how `python -m scenarios run FILE` could fail for every
user — a relative state directory, and metricsd's pod process running in another working
directory — while CI stayed green. Here the repository under test is cloned (``git clone`` of
its committed HEAD: commit before running this) into a temporary directory, and the commands
are run there exactly as the README prints them, parsed out of the README so that they cannot
drift from what users read:

* ``./demo.sh`` once (it creates the clone's ``.venv`` with pip, as on a user's first run;
  pip's own cache under ``$HOME`` is reused, so only a fresh machine downloads the wheels);
* ``. .venv/bin/activate`` then ``python -m scenarios list``, ``python -m scenarios run
  scenarios/files/03-insecure-tls-fix.yaml`` (on a pseudo-terminal: the live progress line) and
  the same with ``--artifacts out/`` (through a pipe: a progress line every 5 s);
* the blocks of "The parts alone", each run by bash as pasted. The only change made to their
  text: ``/tmp/`` becomes this test's temporary directory, metricsd's port 4443 a free port and
  the kubelets' ``127.1.0.1`` a free block (also given as ``--address-base`` to a simulator
  that relies on the default), so that two runs on one machine (or this test and
  the rest of the suite) do not share state, a port or an address; and the one-liners the parts
  table prints for podautoscaler, accelerated time and the HPA experiments.

Not run here: tox, kind, bench, ``--kubectl all`` over a directory; ``pytest scenarios/`` only
collects (each of its tests is a whole scenario, which tox runs anyway).

The decoder accelerator: the clone's is BUILT, by demo.sh's own ``pip install -e '.[test]'``
(setup.py compiles ``metricsd/scraper/_scan.c`` when gcc is there, as .ci/run ensures). When the
suite runs with ``METRICSD_REQUIRE_ACCEL=1`` (tox) the test checks that the clone's metricsd has
it, so the clone runs the same decoder as the rest of the suite; the variable itself is not
passed to the clone's commands, as a user would not have it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fakekubelet.addresses import free_loopback_base, free_port
from tests.kubectl_bins import kubectl_versions

REPO = Path(__file__).resolve().parents[2]
SCENARIO = "scenarios/files/03-insecure-tls-fix.yaml"
RUN = f"python -m scenarios run {SCENARIO}"
ACTIVATE = ". .venv/bin/activate"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.kubectl,
    pytest.mark.xdist_group("readme-clone"),  # one clone and one demo for the whole module
    pytest.mark.skipif(not kubectl_versions(), reason="no kubectl.1.NN installed"),
    pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(),
                       reason="needs git and a git checkout to clone"),
]


# -- the README, parsed -----------------------------------------------------------------------


def code_blocks(text: str) -> list[str]:
    """The bodies of the ```sh fenced blocks of a Markdown text, in order."""
    return re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)


def commands(block: str) -> list[str]:
    """A block's commands, one per line, comments and alignment spaces dropped."""
    out = []
    for line in block.splitlines():
        command = re.sub(r"\s+#.*$", "", line).strip()
        if command and not command.startswith("#"):
            out.append(command)
    return out


def section(text: str, heading: str) -> str:
    """From ``heading`` (a whole line) to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = text.index(f"\n{heading}\n") + 1
    rest = text[start + len(heading):]
    ends = [m.start() for m in re.finditer(r"^(#+) ", rest, re.M)
            if len(m.group(1)) <= len(level)]
    return text[start:start + len(heading) + (ends[0] if ends else len(rest))]


def readme() -> str:
    return (REPO / "README.md").read_text()


def test_the_parser_reads_the_readme_as_printed() -> None:
    text = readme()
    opening = commands(code_blocks(text)[0])
    assert opening[0] == "./demo.sh"
    scenario_lines = commands(code_blocks(section(text, "## Scenarios"))[0])
    assert scenario_lines[:4] == [ACTIVATE, "python -m scenarios list", RUN,
                                  f"{RUN} --artifacts out/"]
    parts = code_blocks(section(text, "### The parts alone"))
    assert [commands(b)[0].split()[0] for b in parts] == ["fakekubelet", "fakeapiserver",
                                                          "fakeapiserver", "fakeapiserver"]
    assert "--kubelet-preferred-address-types=InternalIP" in parts[1]
    assert "--apiservice-backend 127.0.0.1:4443" in parts[1]
    assert section("x\n## A\na\n### B\nb\n## C\nc\n", "## A") == "## A\na\n### B\nb\n"


# -- the clone ---------------------------------------------------------------------------------


@dataclass
class Clone:
    root: Path
    env: dict[str, str]
    demo: subprocess.CompletedProcess[str]


def user_env(home: Path | None = None) -> dict[str, str]:
    """The environment of a user's shell: none of this test's virtualenv or tox settings."""
    ours = {str(Path(sys.prefix) / "bin"), str(Path(sys.executable).parent)}
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in ours]
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "KUBECONFIG",
                        "METRICSD_REQUIRE_ACCEL", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST",
                        "COLUMNS", "LINES")  # pytest's width would override the terminal's
           and not k.startswith(("TOX_", "PYTEST_"))}
    env["PATH"] = os.pathsep.join(path)
    if home is not None:
        env["HOME"] = str(home)
    return env


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clone]:
    root = tmp_path_factory.mktemp("fresh") / "metricsd"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(root)],
                   check=True, timeout=120)
    env = user_env()
    demo = subprocess.run(["./demo.sh"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=900, stdin=subprocess.DEVNULL)
    yield Clone(root, env, demo)


def shell(clone: Clone, command: str, timeout: float = 300,
          **kw: object) -> subprocess.CompletedProcess[str]:
    """``command`` in bash at the clone's root, the environment activated as the README says."""
    return subprocess.run(["bash", "-c", f"{ACTIVATE} && {command}"], cwd=clone.root,
                          env=clone.env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]


def shown(res: subprocess.CompletedProcess[str]) -> str:
    return (f"exit {res.returncode}\n--- stdout\n{res.stdout[-6000:]}\n"
            f"--- stderr\n{res.stderr[-6000:]}")


@pytest.mark.timeout(1200)
def test_demo_sh_installs_and_tells_the_walkthrough(clone: Clone) -> None:
    res = clone.demo
    assert res.returncode == 0, shown(res)
    assert "demo: installing into .venv (first run only) ..." in res.stdout
    assert res.stdout.rstrip().endswith("demo: every expectation held."), shown(res)
    assert "$ kubectl.1.30 top nodes\n" in res.stdout
    # not a terminal: while the pod becomes Ready, a progress line every 5 s
    waits = re.findall(r"^    \.\.\. waiting for (.+), (\d+)s so far; last seen: (.+)$",
                       res.stdout, re.M)
    assert any(what == "pod ready=True" and "READY 0/1" in last for what, _, last in waits), (
        res.stdout[-4000:])
    assert all(int(seconds) % 5 == 0 for _, seconds, _ in waits)
    assert "\r" not in res.stdout and "\x1b[" not in res.stdout
    assert not settled(clone.root)


@pytest.mark.timeout(1200)
def test_the_clones_decoder_is_accelerated_when_the_suite_requires_it(clone: Clone) -> None:
    assert clone.demo.returncode == 0, shown(clone.demo)
    res = shell(clone, "python -c 'from metricsd.scraper import decode; "
                       "print(decode.ACCELERATED)'", timeout=60)
    assert res.returncode == 0, shown(res)
    if os.environ.get("METRICSD_REQUIRE_ACCEL") == "1":
        assert res.stdout.strip() == "True", "demo.sh's install did not build the accelerator"


@pytest.mark.timeout(1200)
def test_scenarios_list(clone: Clone) -> None:
    res = shell(clone, "python -m scenarios list", timeout=120)
    assert res.returncode == 0, shown(res)
    names = [line.split(":", 1)[0] for line in res.stdout.splitlines()]
    shipped = sorted(p.stem for p in (clone.root / "scenarios" / "files").glob("*.yaml"))
    # every shipped file is listed once, by the name its number prefix and file name give
    assert len(names) == len(shipped) >= 12, res.stdout
    assert [stem.split("-", 1)[1] for stem in shipped] == names, res.stdout
    assert "insecure-tls-fix" in names


@pytest.mark.timeout(1200)
def test_the_readme_pytest_lines_run_in_the_clones_environment(clone: Clone) -> None:
    """``pytest scenarios/`` after ``. .venv/bin/activate``: the pytest of the environment
    demo.sh made, with the project's test tools (once, there was none, and the shell's own pytest
    could not import the project)."""
    assert "pytest scenarios/" in readme()
    res = shell(clone, "command -v pytest && pytest scenarios/ --collect-only -q", timeout=300)
    assert res.returncode == 0, shown(res)
    assert res.stdout.splitlines()[0] == str(clone.root / ".venv" / "bin" / "pytest"), shown(res)
    shipped = list((clone.root / "scenarios" / "files").glob("*.yaml"))
    assert f"{len(shipped)} tests collected" in res.stdout, shown(res)


def run_on_a_terminal(clone: Clone, command: str, timeout: float) -> tuple[int, str]:
    """``command`` with a pseudo-terminal (200 columns) as its stdin, stdout and stderr."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    proc = subprocess.Popen(["bash", "-c", f"{ACTIVATE} && {command}"], cwd=clone.root,
                            env=dict(clone.env, TERM="xterm"), stdin=slave, stdout=slave,
                            stderr=slave, start_new_session=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every holder of the slave side has exited
                break
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return code, b"".join(chunks).decode(errors="replace")


@pytest.mark.timeout(1200)
def test_scenario_run_as_written_on_a_terminal(clone: Clone) -> None:
    assert clone.demo.returncode == 0, shown(clone.demo)
    code, out = run_on_a_terminal(clone, RUN, timeout=400)
    assert code == 0, out[-6000:]
    assert "scenarios: 1 passed, 0 failed" in out
    # one live line, rewritten in place: carriage return + erase line, then what it waits for
    live = re.findall(r"\r\x1b\[K([^\r\n]*)", out)
    assert any(re.search(r"waiting for pod ready=True, \d+s so far; last seen: READY 0/1", text)
               for text in live), out[-4000:]
    assert all(len(text) < 200 for text in live)  # never wider than the terminal
    assert (clone.root / "artifacts" / "scenarios" / "insecure-tls-fix" / "commands.log").is_file()
    assert not settled(clone.root)


@pytest.mark.timeout(1200)
def test_scenario_run_with_relative_artifacts(clone: Clone) -> None:
    assert clone.demo.returncode == 0, shown(clone.demo)
    res = shell(clone, f"{RUN} --artifacts out/", timeout=400)
    assert res.returncode == 0, shown(res)
    assert res.stdout.rstrip().endswith("scenarios: 1 passed, 0 failed")
    kept = clone.root / "out" / "insecure-tls-fix"
    assert (kept / "state" / "kubeconfig").is_file()
    log = (kept / "commands.log").read_text()
    binaries = set(re.findall(r"^\$ (\S+)", log, re.M))
    assert binaries and all(os.path.basename(b).startswith("kubectl.1.") for b in binaries)
    assert not settled(clone.root)


# -- "The parts alone" --------------------------------------------------------------------------


def localized(block: str, tmp: Path, port: int) -> str:
    """The block with /tmp/, metricsd's port 4443 and the kubelets' 127.1.0.1 replaced by free
    ones (see the module docstring): other tests run beside this one.

    A simulator started without ``--address-base`` gets one too: its default (127.1.0.1 when
    free) is checked before it binds, and the suite's other worker starts fleets on 127.1.0.1
    at any moment, so the block would race it for the same addresses."""
    base = free_loopback_base(3, 10250)
    text = block.replace("/tmp/", f"{tmp}/").replace("4443", str(port)).replace("127.1.0.1", base)
    return re.sub(r"^(fakeapiserver|fakekubelet) (?!.*--address-base)",
                  rf"\1 --address-base {base} ", text, flags=re.M)


def leftovers(*markers: Path) -> list[str]:
    """Live (not zombie) processes whose command line or working directory names a marker.

    A pod's process runs in a session of its own (not in the block's process group), so what
    is still running is found by what it points at: the clone's .venv, a state dir in tmp.
    """
    found = []
    wanted = [str(m) for m in markers]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if stat[stat.rindex(")") + 2:].split()[0] == "Z":
            continue
        if any(m in cmdline or cwd == m or cwd.startswith(m + "/") for m in wanted):
            found.append(f"{entry.name}: {cmdline.strip()} (in {cwd})")
    return found


def settled(*markers: Path, within: float = 30.0) -> list[str]:
    """What is still running after ``within`` seconds (servers get their clean stop)."""
    deadline = time.monotonic() + within
    while (left := leftovers(*markers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def run_block(clone: Clone, block: str, tmp: Path,
              timeout: float) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run a pasted block in bash; returns the result and what it left running (then killed)."""
    proc = subprocess.Popen(["bash", "-c", f"{ACTIVATE}\n{block}"], cwd=clone.root, env=clone.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    left = settled(tmp, clone.root)  # the block's last line, `kill %1`, stopped its servers
    for line in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), left


def run_it_alone(part: str) -> str:
    """The command of the parts table's "run it alone" cell for ``part`` (e.g. podautoscaler/)."""
    for row in section(readme(), "## The parts").splitlines():
        cells = [c.strip() for c in row.strip("|").split("|")]
        if cells and cells[0].startswith(f"`{part}`"):
            return re.findall(r"`([^`]+)`", cells[1])[0]
    raise AssertionError(f"no row for {part} in the parts table")


def parts_blocks() -> list[str]:
    return code_blocks(section(readme(), "### The parts alone"))


def run_part(clone: Clone, index: int, tmp: Path,
             timeout: float) -> subprocess.CompletedProcess[str]:
    """Block ``index`` of "The parts alone", pasted into bash (localized): it must exit 0 and
    leave nothing running."""
    assert clone.demo.returncode == 0, shown(clone.demo)
    res, left = run_block(clone, localized(parts_blocks()[index], tmp, free_port()), tmp,
                          timeout)
    assert res.returncode == 0, shown(res)
    assert not left
    return res


def run_alone(clone: Clone, part: str, starts: str,
              timeout: float) -> subprocess.CompletedProcess[str]:
    """The parts table's one-liner for ``part`` (it begins with ``starts``), run at the clone's
    root: it must exit 0 and leave nothing running."""
    command = run_it_alone(part)
    assert command.startswith(starts)
    res = shell(clone, command, timeout=timeout)
    assert res.returncode == 0, shown(res)
    assert not settled(clone.root)
    return res


@pytest.mark.timeout(1200)
def test_part_fakekubelet_alone(clone: Clone, tmp_path: Path) -> None:
    res = run_part(clone, 0, tmp_path, 120)
    assert re.search(r"^node_cpu_usage_seconds_total \d", res.stdout, re.M), shown(res)
    assert re.search(r"^node_memory_working_set_bytes \d", res.stdout, re.M), shown(res)


@pytest.mark.timeout(1200)
def test_part_metricsd_beside_fakeapiserver(clone: Clone, tmp_path: Path) -> None:
    res = run_part(clone, 1, tmp_path, 240)
    assert re.search(r"^node-1\s+Ready\s", res.stdout, re.M), shown(res)  # kubectl get nodes
    rows = re.findall(r"^(node-\d)\s+(\d+)m\s+\d+%\s+(\d+)Mi\s+\d+%", res.stdout, re.M)
    assert sorted(name for name, _, _ in rows) == ["node-1", "node-2", "node-3"], shown(res)
    assert "no such host" not in (tmp_path / "metricsd.log").read_text()


@pytest.mark.timeout(1200)
def test_part_metricsd_installed_into_fakeapiserver(clone: Clone, tmp_path: Path) -> None:
    res = run_part(clone, 2, tmp_path, 240)  # nothing left: metricsd's pod stopped with it
    assert "deployment.apps/metrics-server created" in res.stdout
    rows = re.findall(r"^(node-\d)\s+(\d+)m\s+\d+%\s+(\d+)Mi\s+\d+%", res.stdout, re.M)
    assert sorted(name for name, _, _ in rows) == ["node-1", "node-2", "node-3"], shown(res)


@pytest.mark.timeout(1200)
def test_part_hpa_controller_in_fakeapiserver(clone: Clone, tmp_path: Path) -> None:
    res = run_part(clone, 3, tmp_path, 240)
    assert re.search(r"^web\s+Deployment/web\s+cpu: <unknown>/50%\s+1\s+10\s+1\s", res.stdout,
                     re.M), shown(res)
    assert re.search(r"ScalingActive\s+False\s+FailedGetResourceMetric\s+the HPA was unable to "
                     r"compute the replica count: .* the server could not find the requested "
                     r"resource \(get pods\.metrics\.k8s\.io\)$", res.stdout, re.M), shown(res)


@pytest.mark.timeout(1200)
def test_part_podautoscaler_alone(clone: Clone) -> None:
    res = run_alone(clone, "podautoscaler/", "python -m podautoscaler explain ", 120)
    assert res.stdout.strip(), shown(res)


@pytest.mark.timeout(1200)
def test_part_simtime_alone(clone: Clone) -> None:
    res = run_alone(clone, "scenarios/simtime/", "python -m scenarios.simtime ", 600)
    assert "simtime: 600/600 s simulated" in res.stderr, shown(res)
    csv = (clone.root / "probe.csv").read_text().splitlines()
    assert csv[0] == "elapsed_s,pod,truth_cores,api_cores,api_time_s,window_s,scrapes,status"
    assert len(csv) == 1 + 40 * 100  # every 15 s for 600 s, 100 pods
    assert csv[-1].endswith(",ok")


@pytest.mark.timeout(1200)
def test_part_experiment_alone(clone: Clone) -> None:
    """The HPA experiment one-liner in a fresh clone: its core install has no matplotlib, so
    the CLI says how to get the charts and still writes the CSV, the report and the table."""
    # exit 0: the walkthrough's bounds hold
    res = run_alone(clone, "scenarios/experiment/", "python -m scenarios experiment ", 600)
    assert "[php-apache/walkthrough] done: 1200 simulated s" in res.stderr, shown(res)
    assert re.search(r"^peak replicas +7$", res.stdout, re.M), shown(res)
    assert "bounds: 7 of 7 held" in res.stdout, shown(res)
    out = clone.root / "out" / "php-apache"
    assert "pip install -e '.[plots]'" in res.stdout, shown(res)
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "summary.json",
                                                     "summary.txt", "walkthrough.csv"]
