"""The Horizontal Pod Autoscaler's algorithm, exactly as kube-controller-manager runs it.

A pure package (no I/O, no clock, no network): one entry point, :func:`reconcile`, takes a
*case* — the HPA, its target's Scale, the pods, the PodMetricsList, ``now``, the controller's
flags and the history the controller keeps in memory — and returns the decision of one sync:
the new status with upstream's conditions, the events, the rescale if any, the updated
history and a trace of every intermediate value. ``python -m podautoscaler explain CASE.yaml``
prints the trace as a step-by-step explanation. Formats: ``docs/podautoscaler.md``; the
facts it follows: kube-controller-manager's pkg/controller/podautoscaler (horizontal.go,
replica_calculator.go, metrics/) and its tests.

    >>> result = reconcile(case)            # doctest: +SKIP
    >>> result["scale"], result["events"]   # doctest: +SKIP
    ({'from': 1, 'to': 4}, [{'type': 'Normal', 'reason': 'SuccessfulRescale', ...}])
"""

from .case import CaseError
from .reconcile import reconcile
from .trace import TRACE_VERSION
from .validation import FieldError, validate_hpa

__all__ = ["TRACE_VERSION", "CaseError", "FieldError", "reconcile", "validate_hpa"]
