"""What the runner needs from a cluster, whichever cluster it is.

Both backends answer the same questions — run kubectl, read metricsd's log, probe it, read the
APIService condition — so one scenario file gives a verdict on either. Operations only the
simulation can do (faults, workloads, churn, ground truth) raise `Unsupported` on kind, and the
runner skips those steps with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class BackendUnreachable(RuntimeError):
    """The backend cannot be reached or started (exit status 3)."""


class Unsupported(RuntimeError):
    """The backend cannot do this (e.g. inject a fault on a real kubelet)."""


@dataclass(frozen=True)
class CommandResult:
    argv: list[str]
    exit_code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class HttpResult:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PodState:
    """The metricsd pod as `kubectl get pods` shows it (READY, STATUS, RESTARTS)."""

    name: str
    ready: str
    status: str
    restarts: int


@dataclass(frozen=True)
class Truth:
    """Ground truth for one `kubectl top` row: mean CPU cores over the sample window, memory."""

    cpu_cores: float
    memory_bytes: float


class Backend(Protocol):
    name: str
    artifacts: Path

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def install(self, args: list[str]) -> CommandResult: ...

    async def uninstall(self) -> CommandResult: ...

    async def base_args(self) -> list[str]: ...

    async def kubectl(self, args: list[str], version: str, stdin: str | None) -> CommandResult: ...

    async def metrics_api(self, path: str, via: str) -> HttpResult: ...

    async def probe(self, path: str) -> HttpResult: ...

    async def metricsd_log(self) -> str: ...

    async def apiservice_condition(self) -> dict[str, Any] | None: ...

    async def pod_state(self) -> PodState | None: ...

    async def events(self) -> str: ...

    async def set_faults(self, nodes: list[str], changes: dict[str, Any]) -> None: ...

    async def set_workload(self, pod: str, container: str, workload: Any) -> None: ...

    async def set_churn(self, churn: Any) -> None: ...

    async def load_io(self, namespace: str, deployment: str, container: str | None) -> Any: ...

    async def top_truth(
        self, kind: str, names: list[tuple[str | None, str]]
    ) -> dict[tuple[str | None, str], Truth]: ...
