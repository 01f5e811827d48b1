"""apimachinery's ``field.Error`` and ``errors.NewInvalid``: the 422 ``Invalid`` Status.

kube-apiserver reports validation failures as a list of field errors, e.g. ``spec.replicas:
Invalid value: -1: must be greater than or equal to 0``, collected into ``Deployment.apps "web"
is invalid: <error>`` (several become ``[<e1>, <e2>]``), with one ``details.causes`` entry per
error whose ``message`` leaves the field out (kubectl prints ``<field>: <message>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import gofmt

#: ErrorType → (cause reason, the words ErrorBody starts with).
_TYPES = {
    "NotFound": ("FieldValueNotFound", "Not found"),
    "Required": ("FieldValueRequired", "Required value"),
    "Duplicate": ("FieldValueDuplicate", "Duplicate value"),
    "Invalid": ("FieldValueInvalid", "Invalid value"),
    "NotSupported": ("FieldValueNotSupported", "Unsupported value"),
    "Forbidden": ("FieldValueForbidden", "Forbidden"),
    "TooLong": ("FieldValueTooLong", "Too long"),
    "TooMany": ("FieldValueTooMany", "Too many"),
}
_NO_VALUE = {"Required", "Forbidden", "TooLong"}


@dataclass(frozen=True)
class FieldError:
    """One ``field.Error``; ``value`` is Python data or a :class:`gofmt.GoValue`."""

    type: str
    field: str
    value: Any = None
    detail: str = ""
    omit_value: bool = False

    def body(self) -> str:
        """``ErrorBody()``: the message without the field."""
        words = _TYPES[self.type][1]
        if self.type in _NO_VALUE or self.omit_value:
            text = words
        else:
            text = f"{words}: {format_value(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"


def format_value(value: Any) -> str:
    """How ErrorBody prints a bad value: simple types ``%v``, strings ``%q``, else ``%#v``."""
    if isinstance(value, gofmt.GoValue):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, str):
        return gofmt.quote(value)
    if isinstance(value, dict):
        return gofmt.string_map(value)
    return gofmt.v(value)


# -- constructors with upstream's wording ---------------------------------------------------------
def required(field: str, detail: str = "") -> FieldError:
    return FieldError("Required", field, detail=detail)


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError("Invalid", field, value, detail)


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError("Forbidden", field, detail=detail)


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError("Duplicate", field, value)


def not_supported(field: str, value: Any, valid: tuple[str, ...] | list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(gofmt.quote(str(v)) for v in valid) if valid else ""
    return FieldError("NotSupported", field, value, detail)


def too_long(field: str, limit: int) -> FieldError:
    return FieldError("TooLong", field, detail=f"must have at most {limit} bytes")


def non_negative(value: int, field: str) -> list[FieldError]:
    """``ValidateNonnegativeField``."""
    if value < 0:
        return [invalid(field, value, "must be greater than or equal to 0")]
    return []


def aggregate(errors: list[FieldError]) -> str:
    """``ErrorList.ToAggregate().Error()``: duplicates dropped, several in brackets."""
    seen: list[str] = []
    for err in errors:
        text = str(err)
        if text not in seen:
            seen.append(text)
    return seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"


def invalid_status(group: str, kind: str, name: str, errors: list[FieldError]) -> dict[str, Any]:
    """The body of ``errors.NewInvalid(GroupKind{group, kind}, name, errors)``."""
    qualified = f"{kind}.{group}" if group else kind
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    details["causes"] = [{"reason": _TYPES[e.type][0], "message": e.body(), "field": e.field}
                         for e in errors]
    message = f"{qualified} {gofmt.quote(name)} is invalid"
    if errors:
        message += f": {aggregate(errors)}"
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": "Invalid", "details": details, "code": 422}
