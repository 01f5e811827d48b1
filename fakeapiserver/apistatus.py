"""The failure every layer of the control plane raises: a ``metav1.Status`` in waiting.

Why a module of its own: validation (:mod:`fakeapiserver.validation`) refuses writes in
kube-apiserver's words and the store (:mod:`fakeapiserver.store`) answers with them, but the
store imports validation, so neither can hold the class the other needs. Both derive from
:class:`StatusError` here (``Rejected`` and ``ApiError``), which imports nothing first-party.
"""

from __future__ import annotations

from typing import Any, Self


class StatusError(Exception):
    """A failure with the metav1.Status fields kube-apiserver answers: code, reason, message,
    details."""

    def __init__(self, code: int, reason: str, message: str,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    @classmethod
    def bad_request(cls, message: str) -> Self:
        return cls(400, "BadRequest", message)

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                "status": "Failure", "message": self.message,
                                "reason": self.reason}
        if self.details is not None:  # (an empty one is sent as {}, as Go sends it)
            body["details"] = self.details
        body["code"] = self.code
        return body
