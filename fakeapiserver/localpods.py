"""Pods whose workload runs as a local process: the control plane plays their kubelet.

Why: in the simulation metricsd is a real process on this machine, yet users expect to see it
the way a cluster shows metrics-server — ``0/1 Running`` while its readiness probe fails,
``Readiness probe failed: HTTP probe failed with statuscode: 500`` events, ``CrashLoopBackOff``
with a growing restart count when it exits, ``kubectl logs`` with its output, and Endpoints
whose ready addresses follow readiness (which in turn drives the APIService's
``MissingEndpoints``). This module does what the kubelet and the endpoints controller do for
such a pod:

* start the process (argv, env) and capture its output for ``pods/log`` (``--previous``,
  ``tailLines``, ``timestamps``, ``follow``);
* run readiness and liveness HTTP(S) probes from the container spec (``initialDelaySeconds``,
  ``periodSeconds``, ``timeoutSeconds``, ``failureThreshold``, ``successThreshold``; HTTPS
  without certificate verification, as the kubelet); a liveness failure streak kills the
  process;
* restart an exited process with the kubelet's back-off: the first restart at once, then
  10 s doubling to a 300 s cap while the container keeps crashing (``CrashLoopBackOff``), reset
  once 10 minutes pass without a crash (the kubelet's back-off entry expiry, 2 × the cap);
* write ``status`` (phase, podIP = the process's loopback bind address, conditions,
  containerStatuses with state/lastState/restartCount/ready/started) and Events with the
  kubelet's reasons and messages, aggregated by count;
* keep Endpoints and EndpointSlices of every Service selecting the pod in step
  (:class:`EndpointsController`, which works for any pod with a podIP).

Time (probe periods, delays, back-off) comes from an injectable clock; processes run in real
time. Probers are injectable so tests can drive readiness without a server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from fakeapiserver.aggregation import go_error_text

log = logging.getLogger(__name__)

Obj = dict[str, Any]

BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 300.0
BACKOFF_RESET = 2 * BACKOFF_MAX  # the kubelet forgets a back-off entry after 10 minutes
LOG_LINES_KEPT = 10_000
KUBELET = "kubelet"


class Clock(Protocol):
    """Wall time, monotonic time and sleeping (RealClock or a VirtualClock)."""

    def now(self) -> float: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class ProcessObserver(Protocol):
    """Told when a local pod's process starts and exits, and when the pod stops (the fleet's
    kubelet serves such processes: :mod:`fakeapiserver.localmetrics`)."""

    def process_started(self, pod: LocalPod) -> None: ...

    def process_exited(self, pod: LocalPod) -> None: ...

    def pod_stopped(self, pod: LocalPod) -> None: ...


class RealClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}000Z"


# ------------------------------------------------------------------------------------ probes


@dataclass(frozen=True)
class ProbeSpec:
    """One HTTP(S) probe resolved against the pod: URL plus the kubelet's timing knobs."""

    url: str
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    failure_threshold: int = 3
    success_threshold: int = 1

    @classmethod
    def from_probe(
        cls, probe: Mapping[str, Any], container: Mapping[str, Any], pod_ip: str
    ) -> ProbeSpec | None:
        """From ``readinessProbe``/``livenessProbe``; None for non-HTTP probes."""
        get = probe.get("httpGet")
        if not isinstance(get, Mapping):
            return None
        port: Any = get.get("port", 80)
        if isinstance(port, str) and not port.isdigit():
            named = [p for p in container.get("ports") or [] if p.get("name") == port]
            if not named:
                return None
            port = named[0].get("containerPort")
        scheme = str(get.get("scheme") or "HTTP").lower()
        host = str(get.get("host") or pod_ip)
        path = str(get.get("path") or "/")
        if not path.startswith("/"):
            path = "/" + path
        return cls(
            url=f"{scheme}://{host}:{int(port)}{path}",
            initial_delay=float(probe.get("initialDelaySeconds") or 0),
            period=float(probe.get("periodSeconds") or 10),
            timeout=float(probe.get("timeoutSeconds") or 1),
            failure_threshold=int(probe.get("failureThreshold") or 3),
            success_threshold=int(probe.get("successThreshold") or 1),
        )


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    output: str = ""


#: Runs one probe: (url, timeout seconds) → result.
Prober = Callable[[str, float], Awaitable[ProbeResult]]

_INSECURE = ssl.create_default_context()
_INSECURE.check_hostname = False
_INSECURE.verify_mode = ssl.CERT_NONE


async def http_probe(url: str, timeout: float) -> ProbeResult:
    """The kubelet's HTTP prober: 2xx/3xx succeed; HTTPS skips verification."""
    headers = {"User-Agent": "kube-probe/1.30", "Accept": "*/*"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(url, headers=headers, ssl=_INSECURE, allow_redirects=False) as resp,
        ):
            await resp.read()
            if 200 <= resp.status < 400:
                return ProbeResult(True)
            return ProbeResult(False, f"HTTP probe failed with statuscode: {resp.status}")
    except Exception as exc:
        return ProbeResult(False, go_error_text(url, exc))


# ----------------------------------------------------------------------------------- back-off


@dataclass
class BackOff:
    """The kubelet's per-container restart back-off (client-go flowcontrol.Backoff)."""

    initial: float = BACKOFF_INITIAL
    cap: float = BACKOFF_MAX
    reset_after: float = BACKOFF_RESET
    current: float = 0.0  # 0: no entry
    last_update: float = 0.0

    def delay_after_exit(self, finished_at: float) -> float:
        """Seconds to wait before restarting a container that exited at ``finished_at``.

        0 means "restart now" (and arms the next back-off), as the kubelet's
        ``IsInBackOffSince`` + ``Next`` pair does.
        """
        if self.current and finished_at - self.last_update > self.reset_after:
            self.current = 0.0
        if not self.current:
            self.current = self.initial
            self.last_update = finished_at
            return 0.0
        return self.current

    def advance(self, now: float) -> None:
        """After a back-off wait: the next one doubles (up to the cap)."""
        self.current = min(self.cap, self.current * 2)
        self.last_update = now


# ---------------------------------------------------------------------------------- the logs


@dataclass
class LogBuffer:
    """Output lines of one container run, with their wall-clock timestamps."""

    lines: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=LOG_LINES_KEPT))
    closed: bool = False
    _waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def append(self, ts: float, line: str) -> None:
        self.lines.append((ts, line))
        self._wake()

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()

    async def wait(self) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        await fut

    def render(self, tail: int | None = None, timestamps: bool = False) -> str:
        items = list(self.lines)
        if tail is not None:
            items = items[-tail:] if tail > 0 else []
        return "".join(_log_line(ts, line, timestamps) for ts, line in items)


def _log_line(ts: float, line: str, timestamps: bool) -> str:
    return (rfc3339_nano(ts) + " " if timestamps else "") + line + "\n"


# ---------------------------------------------------------------------------------- the pod


@dataclass
class ContainerState:
    name: str
    image: str
    restart_count: int = 0
    ready: bool = False
    started: bool = False
    running_since: float | None = None
    waiting_reason: str = "ContainerCreating"
    waiting_message: str = ""
    last_terminated: Obj | None = None
    container_id: str = ""


class LocalPod:
    """One pod whose (single) container is a local process supervised like a kubelet would."""

    def __init__(
        self,
        store: Any,
        pod: Obj,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        pod_ip: str = "127.0.0.1",
        node_name: str = "",
        host_ip: str = "",
        clock: Clock | None = None,
        prober: Prober = http_probe,
        grace_seconds: float = 5.0,
        observer: ProcessObserver | None = None,
    ) -> None:
        self.store = store
        self.observer = observer
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.pod_ip = pod_ip
        self.host_ip = host_ip or pod_ip
        self.node_name = node_name
        self.clock: Clock = clock or RealClock()
        self.prober = prober
        self.grace_seconds = grace_seconds
        meta = pod.get("metadata") or {}
        self.namespace = str(meta.get("namespace") or "default")
        self.name = str(meta["name"])
        spec = pod.setdefault("spec", {})
        if node_name:
            spec["nodeName"] = node_name
        containers = spec.get("containers") or []
        if not containers:
            raise ValueError(f"pod {self.namespace}/{self.name}: spec.containers is empty")
        self.container: Obj = containers[0]
        existing = store.try_get("pods", self.name, self.namespace)
        if existing is None:
            existing = store.create("pods", pod, self.namespace)
        self.uid = str(existing["metadata"]["uid"])
        self.state = ContainerState(
            name=str(self.container.get("name", "")),
            image=str(self.container.get("image", "")),
        )
        self.backoff = BackOff()
        self.logs = LogBuffer()
        self.previous_logs: LogBuffer | None = None
        self.process: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._probe_tasks: list[asyncio.Task[Any]] = []
        self._stopping = False
        self._run_id = 0
        self._liveness_killed = False
        self.exits = 0
        self._changed = asyncio.Event()
        self._write_status()

    # -- identity -------------------------------------------------------------------------
    @property
    def pod_ref(self) -> str:
        """``<pod>_<ns>(<uid>)``, the kubelet's pod naming in messages."""
        return f"{self.name}_{self.namespace}({self.uid})"

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._supervise(), name=f"localpod-{self.name}"))

    async def stop(self) -> None:
        self._stopping = True
        await self._kill()
        self._notify("pod_stopped")
        for task in [*self._tasks, *self._probe_tasks]:
            task.cancel()
        for task in [*self._tasks, *self._probe_tasks]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._probe_tasks.clear()

    async def wait_changed(self) -> None:
        """Wait for the next status write (tests use this instead of sleeping)."""
        self._changed.clear()
        await self._changed.wait()

    async def _kill(self) -> None:
        proc = self.process
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), self.grace_seconds)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def _supervise(self) -> None:
        while not self._stopping:
            started = await self._start_process()
            if started:
                assert self.process is not None
                code = await self._run_until_exit()
            else:
                code = 128
            if self._stopping:
                return
            finished_at = self.clock.monotonic()
            self._record_exit(code)
            policy = self._pod_spec().get("restartPolicy") or "Always"
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                self._write_status(phase="Succeeded" if code == 0 else "Failed")
                return
            delay = self.backoff.delay_after_exit(finished_at)
            if delay > 0:
                msg = (
                    f"back-off {_go_seconds(delay)} restarting failed "
                    f"container={self.state.name} pod={self.pod_ref}"
                )
                self.state.waiting_reason = "CrashLoopBackOff"
                self.state.waiting_message = msg
                self._write_status()
                self.record_event(
                    "Warning",
                    "BackOff",
                    f"Back-off restarting failed container {self.state.name} in pod {self.pod_ref}",
                )
                await self.clock.sleep(delay)
                self.backoff.advance(self.clock.monotonic())
            self.state.restart_count += 1

    def _pod_spec(self) -> Obj:
        pod = self.store.try_get("pods", self.name, self.namespace) or {}
        spec: Obj = pod.get("spec") or {}
        return spec

    async def _start_process(self) -> bool:
        self._run_id += 1
        if self.exits > 0:
            self.previous_logs = self.logs
            self.logs = LogBuffer()
        self.state.container_id = (
            "local://"
            + hashlib.sha256(f"{self.uid}/{self.state.name}/{self._run_id}".encode()).hexdigest()
        )
        env = dict(os.environ) if self.env is None else dict(self.env)
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=self.cwd,
                start_new_session=True,
            )
        except OSError as exc:
            self.logs.append(self.clock.now(), f"failed to start: {exc}")
            self.state.waiting_reason = "RunContainerError"
            self.state.waiting_message = str(exc)
            self.record_event("Warning", "Failed", f"Error: {exc}")
            return False
        if self._run_id == 1:
            self.record_event(
                "Normal",
                "Pulled",
                f'Container image "{self.state.image}" already present on machine',
            )
        self.record_event("Normal", "Created", f"Created container {self.state.name}")
        self.record_event("Normal", "Started", f"Started container {self.state.name}")
        self.state.running_since = self.clock.now()
        self.state.started = True
        self.state.ready = self._readiness_spec() is None
        self.state.waiting_reason = ""
        self.state.waiting_message = ""
        self._liveness_killed = False
        self._write_status(phase="Running")
        self._notify("process_started")
        self._start_probes()
        return True

    def _notify(self, what: str) -> None:
        if self.observer is not None:
            try:
                getattr(self.observer, what)(self)
            except Exception:
                log.exception("process observer failed on %s of %s/%s", what, self.namespace,
                              self.name)

    async def _run_until_exit(self) -> int:
        proc = self.process
        assert proc is not None and proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            self.logs.append(self.clock.now(), line.decode("utf-8", "replace").rstrip("\n"))
        code = await proc.wait()
        self._notify("process_exited")
        self.logs.close()
        for task in self._probe_tasks:
            task.cancel()
        self._probe_tasks.clear()
        return code

    def _record_exit(self, code: int) -> None:
        self.exits += 1
        now = self.clock.now()
        exit_code = code if code >= 0 else 128 - code
        reason = "Completed" if exit_code == 0 else "Error"
        self.state.last_terminated = {
            "terminated": {
                "exitCode": exit_code,
                "reason": reason,
                "startedAt": rfc3339(self.state.running_since or now),
                "finishedAt": rfc3339(now),
                "containerID": self.state.container_id,
            }
        }
        self.state.running_since = None
        self.state.ready = False
        self.state.started = False
        self.state.waiting_reason = "ContainerCreating"
        self._write_status()

    # -- probes ---------------------------------------------------------------------------
    def _readiness_spec(self) -> ProbeSpec | None:
        probe = self.container.get("readinessProbe")
        return ProbeSpec.from_probe(probe, self.container, self.pod_ip) if probe else None

    def _liveness_spec(self) -> ProbeSpec | None:
        probe = self.container.get("livenessProbe")
        return ProbeSpec.from_probe(probe, self.container, self.pod_ip) if probe else None

    def _start_probes(self) -> None:
        readiness = self._readiness_spec()
        liveness = self._liveness_spec()
        run = self._run_id
        if readiness is not None:
            self._probe_tasks.append(
                asyncio.create_task(self._probe_loop("Readiness", readiness, run))
            )
        if liveness is not None:
            self._probe_tasks.append(
                asyncio.create_task(self._probe_loop("Liveness", liveness, run))
            )

    async def _probe_loop(self, kind: str, spec: ProbeSpec, run: int) -> None:
        await self.clock.sleep(spec.initial_delay)
        successes = 0
        failures = 0
        while run == self._run_id and not self._stopping:
            result = await self.prober(spec.url, spec.timeout)
            if run != self._run_id or self._stopping:
                return
            if result.ok:
                successes += 1
                failures = 0
                if (
                    kind == "Readiness"
                    and not self.state.ready
                    and (successes >= spec.success_threshold)
                ):
                    self.state.ready = True
                    self._write_status()
            else:
                failures += 1
                successes = 0
                self.record_event("Warning", "Unhealthy", f"{kind} probe failed: {result.output}")
                if failures >= spec.failure_threshold:
                    if kind == "Readiness" and self.state.ready:
                        self.state.ready = False
                        self._write_status()
                    if kind == "Liveness" and not self._liveness_killed:
                        self._liveness_killed = True
                        self.record_event(
                            "Normal",
                            "Killing",
                            f"Container {self.state.name} failed liveness probe, will be restarted",
                        )
                        asyncio.get_running_loop().create_task(self._kill())
                        return
            await self.clock.sleep(spec.period)

    # -- status and events ----------------------------------------------------------------
    def container_status(self) -> Obj:
        st = self.state
        status: Obj = {
            "name": st.name,
            "image": st.image,
            "imageID": f"local-process://{st.image}",
            "ready": st.ready,
            "restartCount": st.restart_count,
            "started": st.started,
        }
        if st.container_id and st.running_since is not None:
            status["containerID"] = st.container_id
        if st.running_since is not None:
            status["state"] = {"running": {"startedAt": rfc3339(st.running_since)}}
        else:
            waiting: Obj = {"reason": st.waiting_reason or "ContainerCreating"}
            if st.waiting_message:
                waiting["message"] = st.waiting_message
            status["state"] = {"waiting": waiting}
        status["lastState"] = dict(st.last_terminated) if st.last_terminated else {}
        return status

    def _write_status(self, phase: str | None = None) -> None:
        now = rfc3339(self.clock.now())
        ready = self.state.ready

        def apply(obj: Obj) -> None:
            status = obj.setdefault("status", {})
            if phase is not None:
                status["phase"] = phase
            status.setdefault("phase", "Pending")
            if status["phase"] == "Pending" and self.state.running_since is not None:
                status["phase"] = "Running"
            status["podIP"] = self.pod_ip
            status["podIPs"] = [{"ip": self.pod_ip}]
            status["hostIP"] = self.host_ip
            status["hostIPs"] = [{"ip": self.host_ip}]
            status.setdefault("startTime", now)
            status.setdefault("qosClass", _qos_class(obj.get("spec") or {}))
            old = {c.get("type"): c for c in status.get("conditions") or []}
            wanted = {
                "PodReadyToStartContainers": True,
                "Initialized": True,
                "Ready": ready,
                "ContainersReady": ready,
                "PodScheduled": True,
            }
            conds = []
            for ctype, value in wanted.items():
                text = "True" if value else "False"
                prev = old.get(ctype)
                cond: Obj = {"type": ctype, "status": text, "lastProbeTime": None}
                if prev is not None and prev.get("status") == text:
                    cond["lastTransitionTime"] = prev.get("lastTransitionTime") or now
                else:
                    cond["lastTransitionTime"] = now
                if ctype in ("Ready", "ContainersReady") and not value:
                    cond["reason"] = "ContainersNotReady"
                    cond["message"] = f"containers with unready status: [{self.state.name}]"
                conds.append(cond)
            status["conditions"] = conds
            status["containerStatuses"] = [self.container_status()]

        try:
            self.store.mutate("pods", self.name, self.namespace, apply)
        except Exception as exc:  # the pod may have been deleted under us
            log.debug("pod %s/%s status not written: %s", self.namespace, self.name, exc)
        self._changed.set()

    def record_event(self, type_: str, reason: str, message: str) -> None:
        """Create or bump (count, lastTimestamp) an Event as the kubelet's recorder does."""
        record_event(
            self.store,
            self.clock.now(),
            involved={
                "kind": "Pod",
                "namespace": self.namespace,
                "name": self.name,
                "uid": self.uid,
                "apiVersion": "v1",
                "fieldPath": f"spec.containers{{{self.state.name}}}",
            },
            type_=type_,
            reason=reason,
            message=message,
            host=self.node_name,
        )

    # -- logs -----------------------------------------------------------------------------
    async def log_response(self, request: web.Request) -> web.StreamResponse:
        """``GET pods/<name>/log`` (``previous``, ``tailLines``, ``timestamps``, ``follow``)."""
        q = request.query
        previous = q.get("previous") in ("1", "t", "T", "true", "True", "TRUE")
        timestamps = q.get("timestamps") in ("1", "t", "T", "true", "True", "TRUE")
        follow = q.get("follow") in ("1", "t", "T", "true", "True", "TRUE")
        tail = int(q["tailLines"]) if q.get("tailLines", "").lstrip("-").isdigit() else None
        container = q.get("container") or self.state.name
        if container != self.state.name:
            return _status(
                400, "BadRequest", f"container {container} is not valid for pod {self.name}"
            )
        if previous:
            if self.previous_logs is None:
                return _status(
                    400,
                    "BadRequest",
                    f'previous terminated container "{container}" in pod "{self.name}" not found',
                )
            buf = self.previous_logs
            follow = False
        else:
            buf = self.logs
        resp = web.StreamResponse(status=200)
        resp.headers["Content-Type"] = "text/plain"
        await resp.prepare(request)
        await resp.write(buf.render(tail, timestamps).encode())
        if follow:
            sent = len(buf.lines)
            while not buf.closed:
                await buf.wait()
                lines = list(buf.lines)
                for ts, line in lines[sent:]:
                    await resp.write(_log_line(ts, line, timestamps).encode())
                sent = len(lines)
        await resp.write_eof()
        return resp


def _status(code: int, reason: str, message: str) -> web.Response:
    import json

    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return web.Response(status=code, text=json.dumps(body), content_type="application/json")


def _go_seconds(seconds: float) -> str:
    """Go's Duration.String for whole seconds ≥ 1 (10s, 1m20s, 5m0s)."""
    total = int(seconds)
    minutes, secs = divmod(total, 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def _qos_class(spec: Obj) -> str:
    containers = spec.get("containers") or []
    requests_any = False
    guaranteed = bool(containers)
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            requests_any = True
        for r in ("cpu", "memory"):
            if r not in lim or (r in req and req[r] != lim[r]):
                guaranteed = False
    if guaranteed:
        return "Guaranteed"
    return "Burstable" if requests_any else "BestEffort"


def record_event(
    store: Any,
    now: float,
    *,
    involved: Obj,
    type_: str,
    reason: str,
    message: str,
    host: str = "",
    component: str = KUBELET,
) -> None:
    """Create an Event, or bump count/lastTimestamp of the identical one (event correlator)."""
    ns = involved.get("namespace") or "default"
    key = "|".join(
        [
            involved.get("uid", ""),
            involved.get("fieldPath", ""),
            type_,
            reason,
            message,
            component,
            host,
        ]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    name = f"{involved.get('name', '')}.{digest}"
    ts = rfc3339(now)
    existing = store.try_get("events", name, ns)
    if existing is not None:

        def bump(obj: Obj) -> None:
            obj["count"] = int(obj.get("count") or 1) + 1
            obj["lastTimestamp"] = ts

        with contextlib.suppress(Exception):
            store.mutate("events", name, ns, bump)
        return
    source: Obj = {"component": component}
    if host:
        source["host"] = host
    event = {
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": dict(involved),
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": ts,
        "lastTimestamp": ts,
        "count": 1,
        "type": type_,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": host,
    }
    with contextlib.suppress(Exception):
        store.create("events", event, ns)


# ----------------------------------------------------------------------- endpoints controller


def _selector_matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _pod_ready(pod: Obj) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def _target_port(svc_port: Obj, pod: Obj) -> int | None:
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target:
                return int(p.get("containerPort") or 0)
    return None


class EndpointsController:
    """Endpoints and EndpointSlices for Services with a selector, from pod readiness.

    The same job as kube-controller-manager's endpoints and endpointslice controllers: ready
    pods become ``addresses`` (slice condition ``ready: true``), running-but-unready pods
    ``notReadyAddresses`` (``ready: false``). Objects are rewritten only when their content
    changes, so watchers see one event per real change.
    """

    def __init__(self, store: Any, write_slices: bool = True) -> None:
        self.store = store
        self.write_slices = write_slices
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        self._unsubscribe = self.store.subscribe(self._on_change, ["pods", "services"])
        for stored in self.store.list_stored("services").items:
            self.sync_service(stored.namespace, stored.name)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_change(self, change: Any) -> None:
        ns = change.new.namespace
        if change.kind.plural == "services":
            if change.type == "DELETED":
                return
            self.sync_service(ns, change.new.name)
            return
        labels = [change.new.labels]
        if change.old is not None:
            labels.append(change.old.labels)
        for stored in self.store.list_stored("services", ns).items:
            selector = (stored.obj.get("spec") or {}).get("selector") or {}
            if any(_selector_matches(selector, lab) for lab in labels):
                self.sync_service(ns, stored.name)

    def sync_service(self, namespace: str, name: str) -> None:
        svc = self.store.try_get("services", name, namespace)
        if svc is None:
            return
        selector = (svc.get("spec") or {}).get("selector") or {}
        if not selector:
            return
        pods = [
            s.obj
            for s in self.store.list_stored("pods", namespace).items
            if _selector_matches(selector, s.labels)
            and (s.obj.get("status") or {}).get("podIP")
            and (s.obj.get("status") or {}).get("phase") in ("Running", "Pending")
            and not (s.obj.get("metadata") or {}).get("deletionTimestamp")
        ]
        ports = (svc.get("spec") or {}).get("ports") or []
        self._write_endpoints(namespace, name, pods, ports)
        if self.write_slices:
            self._write_slice(namespace, name, pods, ports)

    def _write_endpoints(self, ns: str, name: str, pods: list[Obj], ports: list[Obj]) -> None:
        groups: dict[tuple[tuple[str, int, str], ...], tuple[list[Obj], list[Obj]]] = {}
        for pod in sorted(pods, key=lambda p: p["status"]["podIP"]):
            key: list[tuple[str, int, str]] = []
            for sp in ports:
                tp = _target_port(sp, pod)
                if tp is not None:
                    key.append((str(sp.get("name") or ""), tp, str(sp.get("protocol") or "TCP")))
            ready, not_ready = groups.setdefault(tuple(key), ([], []))
            addr = {
                "ip": pod["status"]["podIP"],
                "targetRef": {
                    "kind": "Pod",
                    "namespace": ns,
                    "name": pod["metadata"]["name"],
                    "uid": pod["metadata"].get("uid", ""),
                },
            }
            node = (pod.get("spec") or {}).get("nodeName")
            if node:
                addr["nodeName"] = node
            (ready if _pod_ready(pod) else not_ready).append(addr)
        subsets = []
        for ports_key, (ready, not_ready) in groups.items():
            subset: Obj = {}
            if ready:
                subset["addresses"] = ready
            if not_ready:
                subset["notReadyAddresses"] = not_ready
            subset["ports"] = [
                {"name": n, "port": p, "protocol": proto} for n, p, proto in ports_key
            ]
            subsets.append(subset)
        body: Obj = {"metadata": {"name": name, "namespace": ns}}
        if subsets:
            body["subsets"] = subsets
        existing = self.store.try_get("endpoints", name, ns)
        if existing is None:
            self.store.create("endpoints", body, ns)
        elif existing.get("subsets") != body.get("subsets"):

            def apply(obj: Obj) -> None:
                if subsets:
                    obj["subsets"] = subsets
                else:
                    obj.pop("subsets", None)

            self.store.mutate("endpoints", name, ns, apply)

    def _write_slice(self, ns: str, name: str, pods: list[Obj], ports: list[Obj]) -> None:
        slice_name = f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:5]}"
        endpoints = []
        slice_ports: list[Obj] = []
        for pod in sorted(pods, key=lambda p: p["status"]["podIP"]):
            ready = _pod_ready(pod)
            ep: Obj = {
                "addresses": [pod["status"]["podIP"]],
                "conditions": {"ready": ready, "serving": ready, "terminating": False},
                "targetRef": {
                    "kind": "Pod",
                    "namespace": ns,
                    "name": pod["metadata"]["name"],
                    "uid": pod["metadata"].get("uid", ""),
                },
            }
            node = (pod.get("spec") or {}).get("nodeName")
            if node:
                ep["nodeName"] = node
            endpoints.append(ep)
            if not slice_ports:
                for sp in ports:
                    tp = _target_port(sp, pod)
                    if tp is not None:
                        slice_ports.append(
                            {
                                "name": str(sp.get("name") or ""),
                                "port": tp,
                                "protocol": str(sp.get("protocol") or "TCP"),
                            }
                        )
        body: Obj = {
            "metadata": {
                "name": slice_name,
                "namespace": ns,
                "labels": {
                    "kubernetes.io/service-name": name,
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                },
            },
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": slice_ports,
        }
        kind = "endpointslices.discovery.k8s.io"
        existing = self.store.try_get(kind, slice_name, ns)
        if existing is None:
            self.store.create(kind, body, ns)
        elif (existing.get("endpoints"), existing.get("ports")) != (endpoints, slice_ports):

            def apply(obj: Obj) -> None:
                obj["endpoints"] = endpoints
                obj["ports"] = slice_ports

            self.store.mutate(kind, slice_name, ns, apply)


# ----------------------------------------------------------------------------- the manager


class LocalPods:
    """All local-process pods of one control plane, and their ``pods/log`` handler."""

    def __init__(self, store: Any, clock: Clock | None = None, prober: Prober = http_probe,
                 observer: ProcessObserver | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or RealClock()
        self.prober = prober
        self.observer = observer
        self.pods: dict[tuple[str, str], LocalPod] = {}

    def add(self, pod: Obj, argv: Sequence[str], **kwargs: Any) -> LocalPod:
        """Create (or adopt) the pod object and start supervising its process."""
        kwargs.setdefault("clock", self.clock)
        kwargs.setdefault("prober", self.prober)
        kwargs.setdefault("observer", self.observer)
        local = LocalPod(self.store, pod, argv, **kwargs)
        self.pods[(local.namespace, local.name)] = local
        local.start()
        return local

    def get(self, namespace: str, name: str) -> LocalPod | None:
        return self.pods.get((namespace, name))

    async def stop(self) -> None:
        for local in list(self.pods.values()):
            await local.stop()

    async def log_handler(self, ctx: Any) -> web.StreamResponse:
        """Subresource handler for ``pods/log`` (``ctx`` is rest.RequestContext)."""
        info = ctx.info
        local = self.get(info.namespace, info.name)
        if local is None:
            # a pod this control plane does not run (e.g. a fleet pod): it exists, no output
            self.store.get_stored("pods", info.name, info.namespace)  # 404 when absent
            resp = web.Response(text="")
            resp.headers["Content-Type"] = "text/plain"
            return resp
        return await local.log_response(ctx.request)
