"""The HPA controller: kube-controller-manager's ``horizontal.go`` loop around ``reconcile``.

Why a thin loop: the decision of one sync — conditions, events, the new replica count, the
history — is :func:`podautoscaler.reconcile`, a pure function shared with ``explain`` and the
experiments. This module only does what upstream's controller does *around* it, with the
same inputs and the same effects:

- **when**: every HPA key is queued with a fixed per-item delay of the sync period
  (:class:`~fakeapiserver.controllers.delayqueue.DelayingQueue`), from creation on, so a new
  HPA is first reconciled one period after it appears, then once per period; spec changes
  are seen at the next due time (duplicates collapse). ``concurrent_syncs`` workers.
- **reads**: the HPA (the store's autoscaling/v2 view: the informer), its target's Scale
  (:mod:`fakeapiserver.scale`, the ``/scale`` semantics; a kind without ``/scale`` or an
  unknown kind gives upstream's FailedGetScale texts), the pods of its namespace that the
  scale's ``status.selector`` matches (the pod informer: every matching pod, even one of
  another workload), and — only when the sync reaches the metrics (the target is within
  [minReplicas, maxReplicas] and not at zero) and a Resource/ContainerResource metric is
  asked for — one LIST of ``pods.metrics.k8s.io`` over HTTPS through the aggregation layer
  (:mod:`~fakeapiserver.controllers.metricsclient`), so metricsd's failures reach the HPA as
  text. Upstream lists once per such metric; with two resource metrics we list once.
- **writes**: the rescale through the Scale (the resourceVersion read is sent: a workload
  changed in between is a Conflict, so ``FailedRescale`` — then the case is run again with
  ``scaleUpdateError``, as upstream's reconcile continues after the failed update); the
  events ``reconcile`` returns, recorded like client-go's recorder (source
  ``horizontal-pod-autoscaler``, identical events counted); the status, only when it changed,
  with the resourceVersion read (a Conflict is a ``FailedUpdateStatus`` event).
- **memory**: recommendations and scale events per namespace/name, as ``reconcile`` returns
  them, wiped when a sync finds the HPA gone and on restart (a new controller); the target
  selectors of the HPAs reconciled so far, for ``AmbiguousSelector``.

Time: ``now()`` and ``sleep()`` are injected (default: the store's clock and
``asyncio.sleep``); the only wait on time is the queue's scheduler, so a virtual clock drives
the whole loop. Custom and external metrics APIs are not served: those metrics fail with
upstream's "no … API registered" texts.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import podautoscaler
from fakeapiserver.controllers.common import event, meta, spec
from fakeapiserver.controllers.delayqueue import DelayingQueue
from fakeapiserver.controllers.hpaconfig import HPAControllerConfig
from fakeapiserver.scale import scale_kind, scale_object, update_scale
from fakeapiserver.store import ApiError, Obj
from podautoscaler import gotime
from podautoscaler import selectors as labels

__all__ = ["COMPONENT", "HorizontalController", "MetricsSource"]

log = logging.getLogger(__name__)

#: The event source of upstream's HPA controller.
COMPONENT = "horizontal-pod-autoscaler"
HPA = "horizontalpodautoscalers.autoscaling"
_RESOURCE_METRICS = ("Resource", "ContainerResource")

Key = tuple[str, str]


class MetricsSource(Protocol):
    """What the controller needs from the metrics client (a test may pass its own)."""

    async def list_pods(self, namespace: str, selector: str) -> dict[str, Any] | str: ...

    async def close(self) -> None: ...


def _rfc3339_nano(now: float) -> str:
    return gotime.format_rfc3339_nano(round(now * 1_000_000) * 1000)


def _wants_resource_metrics(hpa: Obj) -> bool:
    metrics = spec(hpa).get("metrics") or []
    if not metrics:
        return True  # the API default: cpu at 80 %
    return any(isinstance(m, dict) and m.get("type") in _RESOURCE_METRICS for m in metrics)


def _reaches_metrics(hpa: Obj, scale: Obj) -> bool:
    """Whether this sync computes metrics (upstream reads them only then)."""
    current = int(scale["spec"]["replicas"])
    hpa_spec = spec(hpa)
    minimum = hpa_spec.get("minReplicas")
    minimum = 1 if minimum is None else int(minimum)
    maximum = int(hpa_spec.get("maxReplicas", 0))
    if current == 0 and minimum != 0:
        return False
    return minimum <= current <= maximum and bool(scale["status"]["selector"])


def _go_status(new: Obj) -> Obj:
    """The status as the v2 Go type serialises it (``currentReplicas`` omitempty,
    ``currentMetrics`` always present, ``conditions`` omitempty)."""
    out: Obj = {}
    if new.get("lastScaleTime"):
        out["lastScaleTime"] = new["lastScaleTime"]
    if new.get("currentReplicas"):
        out["currentReplicas"] = new["currentReplicas"]
    out["desiredReplicas"] = new.get("desiredReplicas", 0)
    out["currentMetrics"] = new.get("currentMetrics")
    if new.get("conditions"):
        out["conditions"] = new["conditions"]
    return out


class HorizontalController:
    """One HPA controller over a store; :meth:`start` needs a running event loop."""

    name = COMPONENT

    def __init__(
        self,
        store: Any,
        metrics: MetricsSource,
        *,
        config: HPAControllerConfig | None = None,
        kube_version: tuple[int, int] = (1, 30),
        now: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.config = config or HPAControllerConfig()
        self.kube_version = kube_version
        self.now: Callable[[], float] = now or store.clock
        self.queue: DelayingQueue[Key] = DelayingQueue(
            self.config.sync_period_seconds, now=self.now, sleep=sleep)
        self.history: dict[Key, dict[str, Any]] = {}
        self.selectors: dict[Key, str] = {}
        self.hpa_kind = store.kind(HPA)  # the stored (autoscaling/v2) version
        self._unsubscribe: Callable[[], None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        #: the last result per key (tests, diagnostics); not used by the loop
        self.last_result: dict[Key, dict[str, Any]] = {}
        self.syncs = 0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Watch HPAs, queue the existing ones, start the scheduler and the workers."""
        if self._tasks:
            return
        self._unsubscribe = self.store.subscribe(self.on_change, [self.hpa_kind])
        for stored in self.store.list_stored(self.hpa_kind).items:
            self.queue.add_rate_limited((stored.namespace, stored.name))
        self._tasks.append(asyncio.create_task(self.queue.run(), name="hpa-queue"))
        for i in range(self.config.concurrent_syncs):
            self._tasks.append(asyncio.create_task(self._worker(), name=f"hpa-worker-{i}"))

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.queue.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.metrics.close()

    async def settle(self) -> None:
        """Wait until no sync is due or running (tests; with a virtual clock)."""
        await self.queue.settle()

    def on_change(self, change: Any) -> None:
        key = (change.new.namespace, change.new.name)
        if change.type == "DELETED":
            # the selector goes now; the history when the next sync finds the HPA gone
            self.selectors.pop(key, None)
            return
        self.queue.add_rate_limited(key)

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                deleted = await self.sync(key)
            except Exception:  # one broken HPA must not stop the loop
                log.exception("horizontal-pod-autoscaler: syncing %s/%s failed", *key)
                deleted = False
            finally:
                self.queue.done(key)
            if not deleted:
                self.queue.add_rate_limited(key)

    # -- one sync ---------------------------------------------------------------------------
    def _stored(self, key: Key) -> Any:
        try:
            return self.store.get_stored(self.hpa_kind, key[1], key[0])
        except ApiError:
            return None

    def _read_scale(self, hpa: Obj) -> tuple[Any, Obj | str]:
        """(target kind, Scale) or (None, the error text the scale client would give)."""
        ref = spec(hpa).get("scaleTargetRef") or {}
        api_version = str(ref.get("apiVersion", ""))
        if api_version.count("/") > 1:
            return None, ""  # reconcile reports the invalid group version itself
        try:
            kind = scale_kind(self.store.registry, api_version, str(ref.get("kind", "")))
            stored = self.store.get_stored(kind, str(ref.get("name", "")),
                                           meta(hpa).get("namespace"))
        except ApiError as err:
            return None, err.message
        return kind, scale_object(stored.obj)

    def _pods(self, namespace: str, selector: str) -> list[Obj]:
        """The pod informer's pods for this selector (all of the namespace if it does not
        parse: reconcile reports the selector error)."""
        items = [s.obj for s in self.store.list_stored("pods", namespace).items]
        try:
            parsed = labels.parse(selector) if selector else None
        except labels.SelectorError:
            return items
        if parsed is None:
            return items
        return [p for p in items if parsed.matches(meta(p).get("labels") or {})]

    def _ambiguous(self, key: Key, pods: list[Obj]) -> bool:
        """Another HPA's selector matches one of these pods: reconcile stops at
        AmbiguousSelector before any metric is read, so none is fetched."""
        for other in self._other_hpas(key):
            with contextlib.suppress(labels.SelectorError):
                parsed = labels.parse(other["selector"])
                if any(parsed.matches(meta(p).get("labels") or {}) for p in pods):
                    return True
        return False

    def _other_hpas(self, key: Key) -> list[dict[str, str]]:
        return [{"name": name, "namespace": ns, "selector": sel}
                for (ns, name), sel in sorted(self.selectors.items())
                if ns == key[0] and name != key[1]]

    def case(self, hpa: Obj, scale: Obj | str, pods: list[Obj], pod_metrics: Any,
             now: float) -> dict[str, Any]:
        key = (meta(hpa).get("namespace", ""), meta(hpa).get("name", ""))
        case: dict[str, Any] = {
            "now": _rfc3339_nano(now),
            "controller": self.config.case_controller(self.kube_version),
            "hpa": hpa,
            "scale": scale,
            "pods": pods,
            "otherHPAs": self._other_hpas(key),
        }
        if pod_metrics is not None:
            case["podMetrics"] = pod_metrics
        if key in self.history:
            case["history"] = self.history[key]
        return case

    async def sync(self, key: Key) -> bool:
        """Reconcile one HPA; True when it no longer exists (its history is wiped)."""
        namespace, name = key
        stored = self._stored(key)
        if stored is None:
            self.history.pop(key, None)
            self.last_result.pop(key, None)
            return True
        self.syncs += 1
        hpa = copy.deepcopy(stored.obj)
        target_kind, scale = self._read_scale(hpa)
        pods: list[Obj] = []
        pod_metrics: Any = None
        if isinstance(scale, dict):
            selector = scale["status"]["selector"]
            pods = self._pods(namespace, selector)
            if _reaches_metrics(hpa, scale):
                # validateAndParseSelector registers the selector before any metric is read
                with contextlib.suppress(labels.SelectorError):
                    labels.parse(selector)
                    self.selectors[key] = selector
                if _wants_resource_metrics(hpa) and not self._ambiguous(key, pods):
                    pod_metrics = await self.metrics.list_pods(namespace, selector)
        now = self.now()
        case = self.case(hpa, scale, pods, pod_metrics, now)
        try:
            result = podautoscaler.reconcile(case)
        except podautoscaler.CaseError as err:
            log.warning("horizontal-pod-autoscaler: %s/%s: cannot reconcile: %s", namespace,
                        name, err)
            return False
        rescale = result["scale"]
        if rescale is not None and isinstance(scale, dict):
            update = {"metadata": scale["metadata"], "spec": {"replicas": rescale["to"]}}
            try:
                update_scale(self.store, target_kind, scale["metadata"].get("name", ""),
                             namespace, update)
            except ApiError as err:
                case["scaleUpdateError"] = err.message
                result = podautoscaler.reconcile(case)
            else:
                log.info("horizontal-pod-autoscaler: successful rescale of %s/%s from %d to "
                         "%d", namespace, name, rescale["from"], rescale["to"])
        self._remember(key, result)
        for ev in result["events"]:
            event(self.store, self.now, hpa, ev["type"], ev["reason"], ev["message"], COMPONENT)
        if result["error"]:
            log.debug("horizontal-pod-autoscaler: %s/%s: %s", namespace, name, result["error"])
        if result["statusChanged"]:
            self._write_status(hpa, stored.rv, result["status"])
        return False

    def _remember(self, key: Key, result: dict[str, Any]) -> None:
        if self._stored(key) is None:
            return  # deleted meanwhile: nothing to keep
        self.history[key] = result["history"]
        self.last_result[key] = result

    def _write_status(self, hpa: Obj, rv: int, new_status: Obj) -> None:
        body = copy.deepcopy(hpa)
        body["metadata"]["resourceVersion"] = str(rv)
        body["status"] = _go_status(new_status)
        try:
            self.store.update_stored(self.hpa_kind, body, "status")
        except ApiError as err:
            log.warning("horizontal-pod-autoscaler: failed to update status for %s/%s: %s",
                        meta(hpa).get("namespace"), meta(hpa).get("name"), err.message)
            event(self.store, self.now, hpa, "Warning", "FailedUpdateStatus", err.message,
                  COMPONENT)
