"""Runs one scenario's steps against a backend and judges every expectation.

A step does one thing (install, wait, run kubectl, call the API, change a fault, ...) and then
checks its `expect:` block. A step with a `timeout` and an `expect` is retried until the
expectations hold or the time is up, which is how a user waits for something eventually true
("kubectl top prints the node"); `wait` steps poll their condition the same way.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios.args import apply_changes
from scenarios.backends.base import Backend, CommandResult, HttpResult, Unsupported
from scenarios.expectations import (
    Failure,
    check_json,
    check_metrics,
    check_text,
    metric_value,
    text_matches,
)
from scenarios.kubectl import DEFAULT_KUBECTL
from scenarios.load.steps import LoadSteps
from scenarios.progress import Quiet, Status
from scenarios.schema import SIM_ONLY_STEPS, Scenario
from scenarios.steptext import (
    indent,
    pretty,
    show_command,
    step_title,
    wait_target,
    wrap,
)
from scenarios.toptable import Tolerance, TopTableError, cpu_matches, memory_matches, parse_top

DEFAULT_WAIT = 120.0
POLL_INTERVAL = 0.25


@dataclass
class StepResult:
    index: int
    title: str
    status: str  # passed | failed | skipped | error
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    message: str = ""
    outputs: list[str] = field(default_factory=list)


@dataclass
class ScenarioResult:
    scenario: Scenario
    backend: str
    steps: list[StepResult] = field(default_factory=list)
    error: str = ""
    log: str = ""  # metricsd's whole log, read when the scenario failed
    log_file: Path | None = None  # where the run kept it (the artifacts), when it did

    @property
    def passed(self) -> bool:
        return not self.error and all(s.status in ("passed", "skipped") for s in self.steps)


class Runner:
    """Executes a scenario on a started backend. ``progress`` receives one line per event;
    ``status`` is told what a waiting step waits for and what it sees (scenarios.progress)."""

    def __init__(
        self,
        scenario: Scenario,
        backend: Backend,
        kubectl_versions: list[str],
        kubectl_override: str | None = None,
        progress: Callable[[str], None] = print,
        echo: bool = False,
        status: Status | None = None,
    ) -> None:
        self.scenario = scenario
        self.backend = backend
        self.installed_versions = kubectl_versions
        self.kubectl_override = kubectl_override
        self.progress = progress
        self.echo = echo
        self.status: Status = status if status is not None else Quiet()
        self.args: list[str] = []
        self._label = ""  # the current step, as its waits are shown
        self.loads = LoadSteps(backend)

    # -- kubectl version choice -------------------------------------------------------------

    def versions_for(self, step_version: str | None, once: bool = False) -> list[str]:
        """The kubectl versions a step runs with: ``--kubectl`` first, then the step's
        ``version``, then the file's ``kubectl``. A ``once`` step (a command that changes the
        cluster, such as ``kubectl autoscale``, cannot be repeated) runs with one kubectl
        whatever asks for ``all``: the first of those choices that names a version, else the
        default one."""
        choices = [self.kubectl_override, step_version, self.scenario.kubectl]
        if once:
            choices = [c for c in choices if c not in (None, "all")] or ["default"]
        wanted = next(c for c in choices if c)
        if wanted == "all":
            return list(self.installed_versions)
        if wanted == "default":
            wanted = DEFAULT_KUBECTL
        return [wanted]

    # -- running ----------------------------------------------------------------------------

    async def run(self) -> ScenarioResult:
        try:
            return await self._run()
        finally:
            await self.loads.stop()

    async def _run(self) -> ScenarioResult:
        result = ScenarioResult(self.scenario, self.backend.name)
        total = len(self.scenario.steps)
        base = await self.backend.base_args()
        self.args = apply_changes(base, self.scenario.metricsd.get("args"))
        if self.scenario.metricsd.get("installed"):
            await self.backend.install(self.args)
        for index, step in enumerate(self.scenario.steps, start=1):
            title = step_title(step)
            if self.echo and step.get("say"):
                self.progress("\n" + wrap(str(step["say"])))
            started = time.monotonic()
            outcome = StepResult(index, title, "passed")
            self._label = (
                "   " if self.echo else f"[{self.scenario.name}] step {index}/{total} {title}"
            )
            only = step.get("only")
            if only and only != self.backend.name:
                outcome.status = "skipped"
                outcome.message = f"runs on {only} only"
            elif self.backend.name != "sim" and step["kind"] in SIM_ONLY_STEPS:
                outcome.status = "skipped"
                outcome.message = f"{step['kind']} steps need the simulation"
            else:
                try:
                    await self._run_step(step, outcome)
                except Unsupported as err:
                    outcome.status = "skipped"
                    outcome.message = str(err)
                except Exception as err:  # a broken step must not hide the others' verdicts
                    outcome.status = "error"
                    outcome.message = f"{type(err).__name__}: {err}"
                finally:
                    self.status.done(self.scenario.name)
            outcome.seconds = time.monotonic() - started
            result.steps.append(outcome)
            mark = {"passed": "ok", "failed": "FAILED", "skipped": "skipped", "error": "ERROR"}
            note = f" ({outcome.message})" if outcome.message else ""
            if self.echo:
                self.progress(f"  [{mark[outcome.status]}] {title} ({outcome.seconds:.1f}s){note}")
            else:
                self.progress(
                    f"[{self.scenario.name}] step {index}/{total} {title} ... "
                    f"{mark[outcome.status]} ({outcome.seconds:.1f}s){note}"
                )
            if self.echo and outcome.outputs:
                self.progress(indent(outcome.outputs[-1]))
            if outcome.status in ("failed", "error"):
                break
        if not result.passed:
            try:
                result.log = await self.backend.metricsd_log()
            except Exception as err:
                result.log = f"(could not read metricsd's log: {err})"
        return result

    async def _run_step(self, step: dict[str, Any], outcome: StepResult) -> None:
        kind = step["kind"]
        body = step[kind]
        expect = step.get("expect") or {}
        timeout = step.get("timeout")
        if kind == "wait":
            await self._wait(body, timeout or DEFAULT_WAIT, outcome)
            if outcome.status == "failed" or not expect:
                return
            timeout = None

        async def attempt() -> list[Failure]:
            outcome.outputs.clear()
            return await self._act_and_check(kind, body, expect, outcome)

        failures = await attempt()
        if failures and timeout and kind not in ("install", "uninstall", "sleep"):
            deadline = time.monotonic() + timeout
            key = self.scenario.name
            self.status.waiting(key, self._label, f"its expectations to hold (up to {timeout:g}s)")
            while failures and time.monotonic() < deadline:
                self.status.observed(key, f"{failures[0].where}: got {failures[0].actual}")
                await asyncio.sleep(POLL_INTERVAL * 4)
                failures = await attempt()
        if failures:
            outcome.status = "failed"
            outcome.failures = failures

    async def _act_and_check(
        self, kind: str, body: Any, expect: dict[str, Any], outcome: StepResult
    ) -> list[Failure]:
        failures: list[Failure] = []
        if kind == "install":
            args = apply_changes(self.args, body.get("args"))
            self.args = args
            res = await self.backend.install(args)
            outcome.outputs.append(show_command(res))
            failures += self._check_command(expect, res, "")
            if res.exit_code != 0 and "exitCode" not in expect:
                failures.append(Failure("install", "kubectl apply to succeed", res.stderr.strip()))
        elif kind == "uninstall":
            res = await self.backend.uninstall()
            outcome.outputs.append(show_command(res))
            failures += self._check_command(expect, res, "")
        elif kind == "kubectl":
            for version in self.versions_for(body.get("version"), bool(body.get("once"))):
                res = await self.backend.kubectl(body["args"], version, body.get("stdin"))
                outcome.outputs.append(show_command(res))
                tag = f"[kubectl {version}] "
                failures += self._check_command(expect, res, tag)
                if "top" in expect and expect["top"] is not None:
                    failures += await self._check_top(body["args"], expect["top"], res, tag)
        elif kind in ("metricsApi", "probe"):
            if kind == "probe":
                http = await self.backend.probe(body["path"])
            else:
                http = await self.backend.metrics_api(body["path"], body["via"])
            outcome.outputs.append(f"GET {body['path']}\nHTTP {http.status}\n{pretty(http.body)}")
            failures += self._check_http(expect, http)
        elif kind == "fault":
            nodes = [body["node"]] if body.get("node") else list(body["nodes"])
            await self.backend.set_faults(nodes, body["set"])
        elif kind == "workload":
            await self.backend.set_workload(body["pod"], body["container"], body["set"])
        elif kind == "churn":
            await self.backend.set_churn(body["set"])
        elif kind == "load":
            await self.loads.apply(body)
        elif kind == "sleep":
            await asyncio.sleep(float(body))
        failures += await self._check_cluster(expect)
        return failures

    # -- expectations -----------------------------------------------------------------------

    def _check_command(self, expect: dict[str, Any], res: CommandResult, tag: str) -> list[Failure]:
        failures: list[Failure] = []
        if expect.get("exitCode") is not None and res.exit_code != expect["exitCode"]:
            failures.append(
                Failure(f"{tag}exit code", str(expect["exitCode"]),
                        f"{res.exit_code} (stderr: {res.stderr.strip()[:300]!r})")
            )
        for stream in ("stdout", "stderr"):
            if expect.get(stream) is not None:
                failures += check_text(f"{tag}{stream}", expect[stream], getattr(res, stream))
        return failures

    def _check_http(self, expect: dict[str, Any], http: HttpResult) -> list[Failure]:
        failures: list[Failure] = []
        if expect.get("status") is not None and http.status != expect["status"]:
            failures.append(Failure("HTTP status", str(expect["status"]), str(http.status)))
        if expect.get("body") is not None:
            failures += check_text("body", expect["body"], http.body)
        if expect.get("json") is not None:
            try:
                document = json.loads(http.body)
            except ValueError:
                failures.append(Failure("json", "a JSON body", repr(http.body[:200])))
            else:
                failures += check_json(expect["json"], document)
        if expect.get("metrics") is not None:
            failures += check_metrics(expect["metrics"], http.body)
        return failures

    async def _check_cluster(self, expect: dict[str, Any]) -> list[Failure]:
        failures: list[Failure] = []
        if expect.get("log") is not None:
            failures += check_text("metricsd log", expect["log"], await self.backend.metricsd_log())
        if expect.get("events") is not None:
            failures += check_text("events", expect["events"], await self.backend.events())
        if expect.get("apiservice") is not None:
            failures += self._check_condition(
                expect["apiservice"], await self.backend.apiservice_condition()
            )
        if expect.get("pod") is not None:
            failures += self._check_pod(expect["pod"], await self.backend.pod_state())
        return failures

    @staticmethod
    def _check_condition(want: dict[str, Any], cond: dict[str, Any] | None) -> list[Failure]:
        shown = "no APIService v1beta1.metrics.k8s.io" if cond is None else json.dumps(cond)
        failures = []
        if want.get("available") is not None and (cond or {}).get("status") != want["available"]:
            failures.append(Failure("APIService Available", want["available"], shown))
        if want.get("reason") is not None and (cond or {}).get("reason") != want["reason"]:
            failures.append(Failure("APIService reason", want["reason"], shown))
        if want.get("message") is not None:
            failures += check_text("APIService message", want["message"],
                                   str((cond or {}).get("message", "")))
        return failures

    @staticmethod
    def _check_pod(want: dict[str, Any], pod: Any) -> list[Failure]:
        if pod is None:
            return [Failure("metricsd pod", json.dumps(want), "no metricsd pod")]
        shown = f"READY {pod.ready}, STATUS {pod.status}, RESTARTS {pod.restarts}"
        failures = []
        if want.get("ready") is not None and pod.ready != want["ready"]:
            failures.append(Failure("pod READY", want["ready"], shown))
        if want.get("status") is not None and pod.status != want["status"]:
            failures.append(Failure("pod STATUS", want["status"], shown))
        if want.get("minRestarts") is not None and pod.restarts < want["minRestarts"]:
            failures.append(Failure("pod RESTARTS", f">= {want['minRestarts']}", shown))
        return failures

    async def _check_top(
        self, args: list[str], want: dict[str, Any], res: CommandResult, tag: str
    ) -> list[Failure]:
        try:
            table = parse_top(res.stdout)
        except TopTableError as err:
            return [Failure(f"{tag}top table", "a kubectl top table", str(err))]
        failures: list[Failure] = []
        names = [r.name for r in table.rows]
        if want.get("rowCount") is not None and len(table.rows) != want["rowCount"]:
            failures.append(
                Failure(f"{tag}top rows", f"{want['rowCount']} row(s)", f"{len(names)}: {names}")
            )
        for name in want.get("rows") or []:
            if name not in names:
                failures.append(Failure(f"{tag}top rows", f"a row {name!r}", str(names)))
        if self.backend.name != "sim":
            # No ground truth on a real cluster: what must hold of any healthy node instead.
            for row in table.rows:
                label = f"{tag}{row.namespace + '/' if row.namespace else ''}{row.name}"
                if row.cpu_millicores is None or row.memory_mib is None:
                    failures.append(Failure(label, "CPU and memory figures", str(row.cells)))
                for column in ("CPU%", "MEMORY%"):
                    percent = row.percent(column)
                    if percent is not None and not 0 <= percent <= 100:
                        failures.append(Failure(f"{label} {column}", "0-100%", f"{percent}%"))
            return failures
        if not want.get("groundTruth", True):
            return failures
        kind = "nodes" if args[:2] in (["top", "node"], ["top", "nodes"], ["top", "no"]) else "pods"
        keys = [(r.namespace, r.pod or r.name) if kind == "pods" else (None, r.name)
                for r in table.rows]
        truth = await self.backend.top_truth(kind, keys)
        tol_spec = want.get("tolerance") or {}
        tol = Tolerance(
            cpu_millicores=tol_spec.get("cpuMillicores", 2.0),
            cpu_relative=tol_spec.get("cpuRelative", 0.02),
            memory_mib=tol_spec.get("memoryMiB", 1.0),
            memory_relative=tol_spec.get("memoryRelative", 0.01),
        )
        if table.rows and "POD" in table.columns:
            return [*failures, Failure(f"{tag}top", "pod rows (not --containers)", "containers")]
        for row, key in zip(table.rows, keys, strict=True):
            if row.cpu_millicores is None and row.memory_mib is None:
                continue  # `<unknown>`: kubectl lists a node the Metrics API has no figures for
            true = truth.get(key)
            label = f"{tag}{row.namespace + '/' if row.namespace else ''}{row.name}"
            if true is None:
                failures.append(Failure(label, "a row the fleet knows", "unknown to the fleet"))
                continue
            cpu = row.cpu_millicores
            if cpu is None or not cpu_matches(cpu, true.cpu_cores, tol):
                failures.append(Failure(f"{label} CPU", f"≈{true.cpu_cores * 1000:.1f}m (truth)",
                                        f"{row.cells['CPU(cores)']}"))
            if row.memory_mib is None or not memory_matches(
                row.memory_mib, true.memory_bytes, tol
            ):
                failures.append(
                    Failure(f"{label} memory", f"≈{true.memory_bytes / 1048576:.1f}Mi (truth)",
                            f"{row.cells['MEMORY(bytes)']}")
                )
        return failures

    # -- waiting ----------------------------------------------------------------------------

    async def _wait(self, body: dict[str, Any], timeout: float, outcome: StepResult) -> None:
        what = next(k for k, v in body.items() if v is not None)
        want = body[what]
        last = ""
        check: Callable[[], Awaitable[tuple[bool, str]]]
        if what == "apiservice":

            async def check() -> tuple[bool, str]:
                cond = await self.backend.apiservice_condition()
                ok = not self._check_condition(want, cond)
                return ok, json.dumps(cond) if cond else "no APIService"

        elif what == "pod":

            async def check() -> tuple[bool, str]:
                pod = await self.backend.pod_state()
                if pod is None:
                    return False, "no metricsd pod"
                crit = {}
                if want.get("ready") is not None:
                    crit["ready"] = "1/1" if want["ready"] else "0/1"
                if want.get("status") is not None:
                    crit["status"] = want["status"]
                if want.get("minRestarts") is not None:
                    crit["minRestarts"] = want["minRestarts"]
                ok = not self._check_pod(crit, pod)
                return ok, f"READY {pod.ready}, STATUS {pod.status}, RESTARTS {pod.restarts}"

        elif what == "probe":

            async def check() -> tuple[bool, str]:
                http = await self.backend.probe(want["path"])
                return http.status == want["status"], f"HTTP {http.status}: {http.body[:200]!r}"

        elif what == "log":

            async def check() -> tuple[bool, str]:
                log = await self.backend.metricsd_log()
                lines = log.rstrip("\n").splitlines()
                if not lines:
                    return text_matches(want, log), "no log yet"
                return text_matches(want, log), (
                    f"{len(lines)} log line(s), the last: {lines[-1][:300]}")

        else:  # scrapes
            base = await self._ticks()

            async def check() -> tuple[bool, str]:
                now = await self._ticks()
                return now >= base + want, f"{now - base} scrape cycle(s) completed"

        deadline = time.monotonic() + timeout
        key = self.scenario.name
        self.status.waiting(key, self._label, wait_target(body))
        while True:
            try:
                ok, last = await check()
            except Unsupported:
                raise
            except Exception as err:  # the cluster may be mid-change; keep polling
                ok, last = False, f"{type(err).__name__}: {err}"
            if ok:
                return
            self.status.observed(key, last)
            if time.monotonic() >= deadline:
                outcome.status = "failed"
                outcome.failures = [
                    Failure(f"wait for {what}", json.dumps(want), f"after {timeout:g}s: {last}")
                ]
                return
            await asyncio.sleep(POLL_INTERVAL)

    async def _ticks(self) -> int:
        http = await self.backend.probe("/metrics")
        if http.status != 200:
            return 0
        value = metric_value(http.body, "metrics_server_manager_tick_duration_seconds_count")
        return int(value or 0)
