"""The control plane's local-process pods in their node's kubelet payload.

Why: on a cluster the kubelet reports the metrics-server pod like any other, so ``kubectl top
pods -A`` lists it. In the simulation that pod is a process :mod:`fakeapiserver.localpods`
supervises on a fleet node; this bridge tells the fleet's cluster model about each process as
it starts, exits and goes (``Cluster.attach_process`` / ``detach_process`` /
``remove_process_pod``), and the node's kubelet then serves it with the process's real CPU
and memory read from ``/proc`` (figures and reasons in :mod:`fakekubelet.processes`). The
ground truth reads the same samples.

Real clock only: on a virtual fleet clock the cluster declines and such pods are absent; the
control plane installs the bridge only when its own clock is real too. The dependency points
the allowed way: fakeapiserver calls fakekubelet, never the reverse.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


class FleetProcessMetrics:
    """A :class:`fakeapiserver.localpods.ProcessObserver` feeding a fakekubelet cluster."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster

    def process_started(self, pod: Any) -> None:
        proc, since = pod.process, pod.state.running_since
        if not pod.node_name or proc is None or since is None:
            return
        try:
            attached = self.cluster.attach_process(
                pod.node_name, pod.namespace, pod.name, pod.state.name, pid=proc.pid,
                start_time=since,
            )
        except (KeyError, ValueError) as exc:  # not a fleet node, or a fleet pod's name
            log.debug("pod %s/%s not served by a fleet kubelet: %s", pod.namespace, pod.name,
                      exc)
            return
        if not attached:
            log.debug("pod %s/%s not served: the fleet runs on a virtual clock", pod.namespace,
                      pod.name)

    def process_exited(self, pod: Any) -> None:
        self.cluster.detach_process(pod.namespace, pod.name, pod.state.name)

    def pod_stopped(self, pod: Any) -> None:
        self.cluster.remove_process_pod(pod.namespace, pod.name)
