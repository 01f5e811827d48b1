"""`python -m scenarios`: run scenario files against the simulation or a kind cluster.

Exit status: 0 every expectation held, 1 one failed, 2 schema or usage error, 3 the backend
cannot be reached; 130 or 143 stopped by SIGINT or SIGTERM (everything it started is stopped).

Paths given on the command line are made absolute here, once: the processes a run starts (the
simulated control plane, metricsd's pods) work in other directories, where a relative path
would name another file.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from scenarios import stopping
from scenarios.backends.base import Backend, BackendUnreachable
from scenarios.kubectl import kubectl_versions
from scenarios.peers import SERVERS, PeerMissing, metrics_server_binary
from scenarios.progress import Progress, Quiet, Status
from scenarios.report import failure_text, write_junit
from scenarios.runner import Runner, ScenarioResult
from scenarios.schema import Scenario, load_scenario
from scenarios.yamlschema import SchemaError

SHIPPED = Path(__file__).resolve().parent / "files"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

BackendFactory = Callable[[Scenario, Path, int], Backend]

EXAMPLES = """\
examples:
  python -m scenarios list
  python -m scenarios run scenarios/files/01-no-metrics-server.yaml
  python -m scenarios run scenarios/files/*.yaml --kubectl all --junit-xml out/junit.xml
  python -m scenarios run --backend kind --artifacts out/ scenarios/files/03-insecure-tls-fix.yaml
  python -m scenarios run --server upstream --kubectl 1.30 scenarios/files   # the real one
  python -m scenarios experiment scenarios/experiments/php-apache.yaml --out out/php-apache
"""


def shipped_files() -> list[Path]:
    return sorted(SHIPPED.glob("*.yaml"))


def absolute_path(text: str) -> Path:
    """A path argument, absolute against the directory the command was typed in."""
    return Path(os.path.abspath(text))


def _at_least_one(text: str) -> int:
    """``--parallel``: a semaphore of 0 would wait forever, a negative one is meaningless."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scenarios",
        description="Run metricsd scenario files against the simulated cluster or a kind cluster.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run scenario files", epilog=EXAMPLES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("files", nargs="+", type=Path,
                     help="scenario YAML files, or directories of them")
    run.add_argument("--backend", choices=["sim", "kind"], default="sim")
    run.add_argument("--server", choices=SERVERS, default=None,
                     help="which metrics server the manifests run (overrides the files): "
                     "metricsd, or upstream — the real metrics-server v0.7.1 built by "
                     "peers/build.py (sim only; a missing build is an error)")
    run.add_argument("--kubectl", metavar="VERSION|all",
                     help="kubectl version for every kubectl step (overrides the files)")
    run.add_argument("--junit-xml", type=absolute_path, metavar="PATH")
    run.add_argument("--artifacts", type=absolute_path, metavar="DIR",
                     help="keep every log, kubeconfig and output here "
                          "(default: artifacts/scenarios)")
    run.add_argument("--parallel", type=_at_least_one, default=4, metavar="N",
                     help="scenario files run at once (default 4)")
    sub.add_parser("list", help="print the shipped scenarios, one per line: name: description")
    from scenarios.experiment.cli import add_parser as add_experiment

    add_experiment(sub)
    return parser


def with_server(scenario: Scenario, server: str) -> Scenario:
    """The scenario with its metrics server replaced (``--server``)."""
    return dataclasses.replace(scenario, metricsd={**scenario.metricsd, "server": server})


def default_backend_factory(backend: str, kubectl: str | None = None) -> BackendFactory:
    """Backends whose own kubectl calls (install, uninstall, logs, ...) use ``--kubectl``."""
    if backend == "kind":
        from scenarios.backends.kind import KindBackend

        return lambda scenario, artifacts, slot: KindBackend(scenario, artifacts, kubectl=kubectl)
    from scenarios.backends.sim import SimBackend

    return lambda scenario, artifacts, slot: SimBackend(scenario, artifacts, slot,
                                                        kubectl=kubectl)


async def run_files(
    scenarios: list[Scenario],
    factory: BackendFactory,
    artifacts: Path,
    kubectl_versions: list[str],
    kubectl_override: str | None,
    parallel: int,
    progress: Callable[[str], None],
    status: Status | None = None,
) -> tuple[list[ScenarioResult], bool]:
    """Run scenarios concurrently; returns the results and whether a backend was unreachable."""
    semaphore = asyncio.Semaphore(max(1, parallel))
    unreachable = False
    shown: Status = status if status is not None else Quiet()

    async def one(slot: int, scenario: Scenario) -> ScenarioResult:
        nonlocal unreachable
        async with semaphore:
            backend = factory(scenario, artifacts / scenario.name, slot)
            server = "" if scenario.metricsd.get("server", "metricsd") == "metricsd" else (
                " with the real metrics-server")
            progress(f"[{scenario.name}] starting on {backend.name}{server}: "
                     f"{scenario.description}")
            try:  # stopped whatever happens, a cancellation (Ctrl-C) during start included
                shown.waiting(scenario.name, f"[{scenario.name}]",
                              f"the {backend.name} cluster to start")
                try:
                    await backend.start()
                except BackendUnreachable as err:
                    unreachable = True
                    return ScenarioResult(scenario, backend.name, error=str(err))
                finally:
                    shown.done(scenario.name)
                runner = Runner(scenario, backend, kubectl_versions, kubectl_override, progress,
                                status=shown)
                result = await runner.run()
                result.log_file = await keep_metricsd_log(backend)
                return result
            finally:
                await backend.stop()

    results = await asyncio.gather(*(one(i, s) for i, s in enumerate(scenarios)))
    return list(results), unreachable


async def keep_metricsd_log(backend: Backend) -> Path:
    """Save metricsd's log beside the other artifacts (best effort: the cluster may be gone)."""
    try:
        log = await backend.metricsd_log()
    except Exception as err:
        log = f"(could not read metricsd's log: {err})\n"
    backend.artifacts.mkdir(parents=True, exist_ok=True)
    path = backend.artifacts / "metricsd.log"
    path.write_text(log)
    return path


def main(argv: Sequence[str] | None = None, factory: BackendFactory | None = None) -> int:
    try:
        return _main(argv, factory)
    except KeyboardInterrupt:  # Ctrl-C before the run started (nothing to stop yet)
        print("scenarios: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT


def _main(argv: Sequence[str] | None, factory: BackendFactory | None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "experiment":
        from scenarios.experiment.cli import main as experiment_main

        return experiment_main(args)
    if args.command == "list":
        for path in shipped_files():
            try:
                s = load_scenario(path)
            except SchemaError as err:
                print(f"scenarios: {err}", file=sys.stderr)
                return EXIT_USAGE
            print(f"{s.name}: {s.description}")
        return EXIT_OK
    scenarios = []
    files: list[Path] = []
    for path in args.files:
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    for path in files:
        try:
            scenarios.append(load_scenario(path))
        except SchemaError as err:
            print(f"scenarios: {err}", file=sys.stderr)
            return EXIT_USAGE
    if args.server is not None:
        scenarios = [with_server(s, args.server) for s in scenarios]
    if any(s.metricsd.get("server") == "upstream" for s in scenarios):
        if args.backend != "sim":
            print("scenarios: the upstream server runs on the sim backend only (on kind, "
                  "install upstream's own components.yaml)", file=sys.stderr)
            return EXIT_USAGE
        try:
            metrics_server_binary()
        except PeerMissing as err:
            print(f"scenarios: --server upstream: {err}", file=sys.stderr)
            return EXIT_USAGE
    versions = kubectl_versions()
    if args.kubectl and args.kubectl not in ("all", "default") and args.kubectl not in versions:
        print(f"scenarios: kubectl {args.kubectl} is not installed (have: "
              f"{', '.join(versions) or 'none'})", file=sys.stderr)
        return EXIT_USAGE
    runnable = [s for s in scenarios if args.backend in s.backends]
    for s in scenarios:
        if s not in runnable:
            print(f"[{s.name}] skipped: not meant for the {args.backend} backend")
    artifacts = args.artifacts or absolute_path(os.path.join("artifacts", "scenarios"))
    helpers = args.kubectl if args.kubectl not in (None, "all") else None
    chosen = factory or default_backend_factory(args.backend, helpers)
    display = Progress(sys.stdout)

    async def go() -> tuple[list[ScenarioResult], bool]:
        async with display:
            return await run_files(runnable, chosen, artifacts, versions, args.kubectl,
                                   args.parallel, display.line, display)

    def note(text: str) -> None:
        display.close()  # the live line first: the note goes to the same terminal
        print(f"scenarios: {text}", file=sys.stderr, flush=True)

    outcome = stopping.run(go(), note)
    if outcome.signal is not None:
        print(f"scenarios: stopped by {stopping.signal_name(outcome.signal)} before the end; "
              "no verdict", file=sys.stderr)
        return outcome.exit_status
    assert outcome.value is not None
    results, unreachable = outcome.value
    if args.junit_xml:
        write_junit(results, args.junit_xml)
    failed = [r for r in results if not r.passed]
    for result in failed:
        print(failure_text(result), file=sys.stderr)
    passed = len(results) - len(failed)
    print(f"scenarios: {passed} passed, {len(failed)} failed")
    if unreachable:
        return EXIT_UNREACHABLE
    return EXIT_FAILED if failed else EXIT_OK
