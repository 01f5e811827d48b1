"""Typed readers for the case dict: each checks one value and raises :class:`CaseError` with
the path it was found at and what was expected, so bad input fails with one precise line.

Times accept RFC 3339 text (and the datetimes a YAML loader with timestamps makes); durations
accept Go duration text (``5m``, ``1m30s``) or a number of seconds.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

from . import gotime
from .model import CaseError
from .quantities import Quantity, QuantityError, parse_quantity


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__


def read_mapping(value: object, path: str, *, optional: bool = True) -> Mapping[str, Any]:
    if value is None and optional:
        return {}
    if not isinstance(value, Mapping):
        raise CaseError(path, f"expected a mapping, got {type_name(value)}")
    return value


def read_list(value: object, path: str) -> Sequence[Any]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise CaseError(path, f"expected a list, got {type_name(value)}")
    return value


def check_known(obj: Mapping[str, Any], allowed: Sequence[str], path: str) -> None:
    for key in obj:
        if key not in allowed:
            raise CaseError(f"{path}.{key}" if path else str(key),
                            "unknown key; expected one of " + ", ".join(allowed))


def read_str(value: object, path: str, *, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise CaseError(path, f"expected a string, got {type_name(value)}")
    return value


def read_int(value: object, path: str, *, minimum: int | None = None,
         default: int | None = None) -> int:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise CaseError(path, f"expected an integer, got {type_name(value)}")
    if minimum is not None and value < minimum:
        raise CaseError(path, f"must be greater than or equal to {minimum}, got {value}")
    if not -(1 << 31) <= value < (1 << 31):
        raise CaseError(path, f"must fit in an int32, got {value}")
    return value


def read_float(value: object, path: str, *, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CaseError(path, f"expected a number, got {type_name(value)}")
    result = float(value)
    if minimum is not None and result < minimum:
        raise CaseError(path, f"must be greater than or equal to {minimum:g}, got {value!r}")
    return result


def read_quantity(value: object, path: str) -> Quantity:
    try:
        return parse_quantity(value)
    except QuantityError as err:
        raise CaseError(path, f"{err} (got {type_name(value)})") from None


def read_time(value: object, path: str) -> int:
    if isinstance(value, _dt.datetime):
        return gotime.from_datetime(value)
    if isinstance(value, _dt.date):
        return gotime.from_datetime(_dt.datetime(value.year, value.month, value.day))
    if not isinstance(value, str):
        raise CaseError(path, f"expected an RFC 3339 time such as 2025-06-01T12:00:00Z, got "
                              f"{type_name(value)}")
    try:
        return gotime.parse_rfc3339(value)
    except gotime.TimeFormatError as err:
        raise CaseError(path, str(err)) from None


def read_optional_time(value: object, path: str) -> int | None:
    return None if value is None else read_time(value, path)


def read_duration(value: object, path: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool):
        raise CaseError(path, f"expected a duration such as 5m or 30s, got {type_name(value)}")
    if isinstance(value, int | float):
        if value < 0:
            raise CaseError(path, f"must not be negative, got {value!r}")
        return round(value * gotime.SECOND)
    if not isinstance(value, str):
        raise CaseError(path, f"expected a duration such as 5m or 30s, got {type_name(value)}")
    try:
        ns = gotime.parse_duration(value)
    except gotime.TimeFormatError as err:
        raise CaseError(path, str(err)) from None
    if ns < 0:
        raise CaseError(path, f"must not be negative, got {value!r}")
    return ns


def read_resources(value: object, path: str) -> dict[str, Quantity]:
    return {str(k): read_quantity(v, f"{path}.{k}") for k, v in read_mapping(value, path).items()}


def read_labels(value: object, path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in read_mapping(value, path).items():
        out[str(k)] = read_str(v, f"{path}.{k}") if not isinstance(v, int | float) else str(v)
    return out
