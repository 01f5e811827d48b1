"""HPA status conditions and events, with upstream's reasons, messages and update rules.

``setCondition`` keeps the first-insertion order of condition types, replaces reason and
message on every call, and moves ``lastTransitionTime`` to now only when the status flips
(or the condition is new). Events are ``{type, reason, message}`` in the order upstream's
recorder would emit them during one reconcile.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Conditions", "event"]

ABLE_TO_SCALE = "AbleToScale"
SCALING_ACTIVE = "ScalingActive"
SCALING_LIMITED = "ScalingLimited"

SUCCEEDED_GET_SCALE = "the HPA controller was able to get the target's current scale"
FAILED_GET_SCALE = "the HPA controller was unable to get the target's current scale: {}"
SUCCEEDED_RESCALE = "the HPA controller was able to update the target scale to {}"
FAILED_UPDATE_SCALE = "the HPA controller was unable to update the target scale: {}"
VALID_METRIC_FOUND = "the HPA was able to successfully calculate a replica count from {}"
UNABLE_TO_COMPUTE = "the HPA was unable to compute the replica count: {}"
SCALING_DISABLED = "scaling is disabled since the replica count of the target is zero"
MISSING_SELECTOR = "the HPA target's scale is missing a selector"


class Conditions:
    """A mutable copy of ``status.conditions`` updated with ``setCondition``'s rules."""

    def __init__(self, existing: list[dict[str, Any]], now: str) -> None:
        self.items = [dict(c) for c in existing]
        self.now = now

    def set(self, ctype: str, status: str, reason: str, message: str) -> None:
        for cond in self.items:
            if cond.get("type") == ctype:
                break
        else:
            cond = {"type": ctype}
            self.items.append(cond)
        if cond.get("status") != status:
            cond["lastTransitionTime"] = self.now
        cond["status"] = status
        cond["reason"] = reason
        cond["message"] = message

    def get(self, ctype: str) -> dict[str, Any] | None:
        return next((c for c in self.items if c.get("type") == ctype), None)

    def as_list(self) -> list[dict[str, Any]]:
        keys = ("type", "status", "lastTransitionTime", "reason", "message")
        out = []
        for cond in self.items:
            ordered = {k: cond[k] for k in keys if cond.get(k) is not None}
            ordered.update({k: v for k, v in cond.items() if k not in keys})
            out.append(ordered)
        return out


def event(etype: str, reason: str, message: str) -> dict[str, str]:
    return {"type": etype, "reason": reason, "message": message}
