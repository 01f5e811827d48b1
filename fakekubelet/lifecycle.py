"""Pod lifecycles on a node: start-up, init containers, readiness, the end of a pod.

Why apart from ``cluster``: these are the kubelet's decisions about one pod (what runs when,
when it is Ready), scheduled as exact-time events on the cluster's queue; ``Cluster`` owns
the queue, the nodes and the subscribers, and mixes this in. Every step checks the pod's
``lifecycle_gen`` so a step made obsolete (the pod was removed, restarted, terminated) does
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fakekubelet.model import Container, Event, Pod, PodUpdated, Run
from fakekubelet.probes import ready_time
from fakekubelet.truth import NodeLedger

DEFAULT_INIT_SECONDS = 1.0


class PodLifecycle:
    """The lifecycle half of :class:`fakekubelet.cluster.Cluster` (a mixin)."""

    _pods: dict[str, Pod]
    _ledgers: dict[str, NodeLedger]
    epoch: float

    def _push(self, t: float, fn: Callable[..., None], *args: Any) -> None:
        raise NotImplementedError

    def _emit(self, event: Event) -> None:
        raise NotImplementedError

    def _alive(self, pod: Pod, gen: int) -> bool:
        return self._pods.get(pod.key) is pod and pod.lifecycle_gen == gen

    def _later(self, t: float, delay: float, fn: Callable[..., None], *args: Any) -> None:
        """``fn(*args, t + delay)`` now when there is no delay (same order as before delays
        existed), else as an event at that time."""
        if delay > 0:
            self._push(t + delay, fn, *args)
        else:
            fn(*args, t)

    def _start_container(self, pod: Pod, c: Container, t: float) -> None:
        run = Run(
            pod.node_name, pod.key, c.name, start=t, epoch=self.epoch, pieces=[(t, c.workload)]
        )
        c.run = run
        c.state = "running"
        c.start_time = t
        c.ready = False
        pod.runs.append(run)
        self._ledgers[pod.node_name].open.append(run)
        if c.kind == "init":
            return
        worker = pod.start_time if pod.start_time is not None else t
        ready_at = ready_time(c.readiness, worker, t)
        if ready_at <= t:
            c.ready = True
        else:
            self._push(ready_at, self._container_ready, pod, pod.lifecycle_gen, c, run)

    def _container_ready(self, pod: Pod, gen: int, c: Container, run: Run, t: float) -> None:
        if not self._alive(pod, gen) or c.run is not run:
            return
        c.ready = True
        self._refresh_ready(pod, t)
        self._emit(PodUpdated(t, pod))  # the container's ready flag (and maybe the pod's)

    def _stop_container(self, pod: Pod, c: Container, t: float) -> None:
        if c.run is not None:
            c.run.end = t
            led = self._ledgers.get(pod.node_name)
            if led is not None and c.run in led.open:
                led.close(c.run)
            c.run = None
        c.ready = False
        if c.state == "running":
            c.state = "terminated"

    def _start_pod(self, pod: Pod, gen: int, t: float) -> None:
        if not self._alive(pod, gen):
            return
        pod.start_time = t
        # not Ready from the kubelet's first status on (its lastTransitionTime: the HPA tells
        # "never ready yet" from "was ready" by it)
        self._set_ready(pod, False, t)
        first = [*pod.sidecars, *pod.init_containers, *pod.containers][:1]
        if first and first[0].startup_seconds > 0:
            self._emit(PodUpdated(t, pod))  # startTime set, containers still being created
        self._start_sidecar(pod, gen, 0, t)

    def _start_sidecar(self, pod: Pod, gen: int, i: int, t: float) -> None:
        """Sidecars (restartable init containers) start first, one after another."""
        if i == len(pod.sidecars):
            if pod.init_containers:
                self._later(t, pod.init_containers[0].startup_seconds, self._run_init, pod,
                            gen, 0)
            else:
                self._begin_main(pod, gen, t)
            return
        c = pod.sidecars[i]
        self._later(t, c.startup_seconds, self._sidecar_started, pod, gen, i)

    def _sidecar_started(self, pod: Pod, gen: int, i: int, t: float) -> None:
        if not self._alive(pod, gen):
            return
        self._start_container(pod, pod.sidecars[i], t)
        if pod.sidecars[i].startup_seconds > 0:
            self._emit(PodUpdated(t, pod))
        self._start_sidecar(pod, gen, i + 1, t)

    def _run_init(self, pod: Pod, gen: int, i: int, t: float) -> None:
        if not self._alive(pod, gen):
            return
        c = pod.init_containers[i]
        self._start_container(pod, c, t)
        self._emit(PodUpdated(t, pod))
        duration = c.run_seconds if c.run_seconds is not None else DEFAULT_INIT_SECONDS
        self._push(t + duration, self._init_done, pod, gen, i)

    def _init_done(self, pod: Pod, gen: int, i: int, t: float) -> None:
        if not self._alive(pod, gen):
            return
        self._stop_container(pod, pod.init_containers[i], t)
        if i + 1 < len(pod.init_containers):
            nxt = pod.init_containers[i + 1]
            self._later(t, nxt.startup_seconds, self._run_init, pod, gen, i + 1)
        else:
            self._begin_main(pod, gen, t)

    def _begin_main(self, pod: Pod, gen: int, t: float) -> None:
        """Init containers done: the regular containers start, one after another."""
        pod.initialized_time = t
        if not pod.containers:
            self._start_main(pod, gen, t)
            return
        if pod.init_containers and pod.containers[0].startup_seconds > 0:
            self._emit(PodUpdated(t, pod))  # Initialized, containers being created
        self._later(t, pod.containers[0].startup_seconds, self._start_regular, pod, gen, 0)

    def _start_regular(self, pod: Pod, gen: int, i: int, t: float) -> None:
        if not self._alive(pod, gen):
            return
        c = pod.containers[i]
        self._start_container(pod, c, t)
        if i + 1 == len(pod.containers):
            self._start_main(pod, gen, t)
            return
        nxt = pod.containers[i + 1]
        if nxt.startup_seconds > 0:
            self._emit(PodUpdated(t, pod))  # one container runs, the next is being created
        self._later(t, nxt.startup_seconds, self._start_regular, pod, gen, i + 1)

    def _start_main(self, pod: Pod, gen: int, t: float) -> None:
        """Every regular container runs: the phase is Running (the kubelet keeps a pod
        Pending while any of its containers waits)."""
        if pod.initialized_time is None:
            pod.initialized_time = t
        pod.phase = "Running"
        self._refresh_ready(pod, t)
        self._emit(PodUpdated(t, pod))
        if pod.run_seconds is not None:
            self._push(t + pod.run_seconds, self._end_pod, pod, gen)

    def _end_pod(self, pod: Pod, gen: int, t: float) -> None:
        if not self._alive(pod, gen):
            return
        for c in pod.all_containers():
            self._stop_container(pod, c, t)
        self._set_ready(pod, False, t)
        pod.phase = pod.final_phase
        self._emit(PodUpdated(t, pod))

    def _refresh_ready(self, pod: Pod, t: float) -> bool:
        """Pod readiness from its containers (``ContainersReady``: Running, every sidecar and
        regular container ready); returns whether it changed."""
        ready = pod.phase == "Running" and all(
            c.ready for c in (*pod.sidecars, *pod.containers))
        changed = pod.ready != ready or pod.ready_time is None
        self._set_ready(pod, ready, t)
        return changed

    @staticmethod
    def _set_ready(pod: Pod, ready: bool, t: float) -> None:
        """Record a Ready transition (at the instant it happens)."""
        if pod.ready != ready or pod.ready_time is None:
            pod.ready = ready
            pod.ready_time = t

    def _restart(self, pod: Pod, c: Container, t: float) -> None:
        self._stop_container(pod, c, t)
        self._start_container(pod, c, t)
        c.restart_count += 1
        if c.kind != "init":
            if c.ready and pod.ready:
                pod.ready_time = t  # not ready for an instant, ready again now
            else:
                self._refresh_ready(pod, t)  # not ready until its probe passes
        self._emit(PodUpdated(t, pod))

    # -- termination ---------------------------------------------------------------------
    def _terminate(self, pod: Pod, t: float, grace: float) -> None:
        """A graceful delete: every running container gets SIGTERM now and exits after its
        ``termination_seconds`` (at the latest when the grace period ends: SIGKILL); what
        had not started never starts. The pod goes when its last container has stopped."""
        deadline = t + max(0.0, grace)
        if pod.deletion_time is not None and pod.grace_seconds is not None:
            current = pod.deletion_time + pod.grace_seconds
            if deadline >= current:
                return  # already terminating, at least as soon: nothing changes
        else:
            pod.deletion_time = t
        pod.grace_seconds = deadline - pod.deletion_time
        pod.lifecycle_gen += 1  # pending starts, probes, the run's end, older exits are off
        gen = pod.lifecycle_gen
        running = [c for c in pod.all_containers() if c.state == "running"]
        for c in pod.all_containers():
            if c.state == "waiting":
                c.state = "terminated"
        if not running:
            self._remove_pod(pod, t)
            return
        for c in running:  # SIGTERM was sent at deletion_time; SIGKILL at the deadline
            exits = deadline if c.termination_seconds is None else (
                pod.deletion_time + c.termination_seconds)
            self._push(max(t, min(exits, deadline)), self._container_exited, pod, gen, c)
        self._emit(PodUpdated(t, pod))

    def _container_exited(self, pod: Pod, gen: int, c: Container, t: float) -> None:
        if not self._alive(pod, gen):
            return
        self._stop_container(pod, c, t)
        if any(x.state == "running" for x in pod.all_containers()):
            self._emit(PodUpdated(t, pod))
            return
        self._remove_pod(pod, t)

    def _remove_pod(self, pod: Pod, t: float) -> None:
        raise NotImplementedError
