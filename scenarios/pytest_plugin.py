"""pytest integration: every shipped scenario file is a test, and a fixture gives a cluster.

`pytest scenarios/` collects each `scenarios/files/*.yaml` as one test that runs the scenario on
the `sim` backend and fails with the runner's report. Tests elsewhere can ask for `sim_cluster`:
a started simulated cluster (control plane, fleet, kubectl access) whose metricsd is installed
with the default manifests and `--kubelet-insecure-tls`.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from scenarios.kubectl import kubectl_versions
from scenarios.report import failure_text
from scenarios.runner import Runner
from scenarios.schema import Scenario, load_scenario


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        scenario = load_scenario(self.path)
        yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)


class ScenarioFailed(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        if "sim" not in self.scenario.backends:
            pytest.skip("scenario is not meant for the sim backend")
        from scenarios.backends.sim import SimBackend

        tmp = Path(tempfile.mkdtemp(prefix=f"scenario-{self.scenario.name}-"))
        lines: list[str] = []

        async def go() -> Any:
            backend = SimBackend(self.scenario, tmp / "artifacts")
            await backend.start()
            try:
                return await Runner(self.scenario, backend, kubectl_versions(),
                                    progress=lines.append).run()
            finally:
                await backend.stop()

        result = asyncio.run(go())
        if not result.passed:
            raise ScenarioFailed("\n".join(lines) + "\n" + failure_text(result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.scenario.name}"


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix == ".yaml" and file_path.parent.name == "files" and (
        file_path.parent.parent.name == "scenarios"
    ):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


@contextlib.asynccontextmanager
async def started_sim_cluster(directory: Path, server: str = "metricsd",
                              args: tuple[str, ...] = ("--kubelet-insecure-tls",),
                              wait: str = "{apiservice: {available: 'True'}}",
                              ) -> AsyncIterator[Any]:
    """A simulated cluster (2 nodes) with ``server`` (metricsd, or upstream: the real
    metrics-server) installed from the default manifests plus ``args``, once ``wait`` (a
    scenario wait condition) holds; yields the started :class:`SimBackend`."""
    from scenarios.backends.sim import SimBackend

    add = ", ".join(args)
    scenario = load_scenario(
        directory / "fixture.yaml",
        text=(
            "name: fixture\ndescription: sim_cluster fixture\n"
            "cluster:\n  fleet:\n    nodeGroups:\n    - {name: node, count: 2}\n"
            f"metricsd:\n  installed: true\n  server: {server}\n  args: {{add: [{add}]}}\n"
            f"steps:\n- wait: {wait}\n"
        ),
    )
    backend = SimBackend(scenario, directory / "artifacts")
    await backend.start()
    try:
        result = await Runner(scenario, backend, kubectl_versions(), progress=lambda _: None).run()
        if not result.passed:
            raise RuntimeError("sim_cluster did not become ready:\n" + failure_text(result))
        yield backend
    finally:
        await backend.stop()


@pytest.fixture
async def sim_cluster(tmp_path: Path) -> AsyncIterator[Any]:
    """A simulated cluster (2 nodes, CA-signed kubelets) with metricsd installed and Available."""
    async with started_sim_cluster(tmp_path) as backend:
        yield backend
