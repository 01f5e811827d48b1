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

    def _start_container(self, pod: Pod, c: Container, t: float) -> None:
        run = Run(
            pod.node_name, pod.key, c.name, start=t, epoch=self.epoch, pieces=[(t, c.workload)]
        )
        c.run = run
        c.state = "running"
        c.start_time = t
        pod.runs.append(run)
        self._ledgers[pod.node_name].open.append(run)

    def _stop_container(self, pod: Pod, c: Container, t: float) -> None:
        if c.run is not None:
            c.run.end = t
            led = self._ledgers.get(pod.node_name)
            if led is not None and c.run in led.open:
                led.close(c.run)
            c.run = None
        if c.state == "running":
            c.state = "terminated"

    def _start_pod(self, pod: Pod, gen: int, t: float) -> None:
        if not self._alive(pod, gen):
            return
        pod.start_time = t
        for c in pod.sidecars:
            self._start_container(pod, c, t)
        if pod.init_containers:
            self._run_init(pod, gen, 0, t)
        else:
            self._start_main(pod, gen, t)

    def _run_init(self, pod: Pod, gen: int, i: int, t: float) -> None:
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
            self._run_init(pod, gen, i + 1, t)
        else:
            self._start_main(pod, gen, t)

    def _start_main(self, pod: Pod, gen: int, t: float) -> None:
        for c in pod.containers:
            self._start_container(pod, c, t)
        pod.initialized_time = t
        self._set_ready(pod, True, t)
        pod.phase = "Running"
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

    @staticmethod
    def _set_ready(pod: Pod, ready: bool, t: float) -> None:
        """Record a Ready transition (the model has no readiness probes: a pod is ready while
        its regular containers run)."""
        if pod.ready != ready or pod.ready_time is None:
            pod.ready = ready
            pod.ready_time = t

    def _restart(self, pod: Pod, c: Container, t: float) -> None:
        self._stop_container(pod, c, t)
        self._start_container(pod, c, t)
        c.restart_count += 1
        if pod.ready and c.kind != "init":  # not ready for an instant, ready again now
            pod.ready_time = t
        self._emit(PodUpdated(t, pod))
