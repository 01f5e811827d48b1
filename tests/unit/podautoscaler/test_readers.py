"""The typed readers: every reader accepts its shape and names the path and the value otherwise."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from podautoscaler import gotime, readers
from podautoscaler.model import CaseError
from podautoscaler.quantities import parse_quantity

T0 = gotime.parse_rfc3339("2025-06-01T12:00:00Z")


@pytest.mark.parametrize(("reader", "value", "expected"), [
    (lambda v: readers.read_mapping(v, "p"), None, {}),
    (lambda v: readers.read_mapping(v, "p"), {"a": 1}, {"a": 1}),
    (lambda v: readers.read_list(v, "p"), None, []),
    (lambda v: readers.read_list(v, "p"), [1, 2], [1, 2]),
    (lambda v: readers.read_str(v, "p", default="d"), None, "d"),
    (lambda v: readers.read_int(v, "p", default=3), None, 3),
    (lambda v: readers.read_int(v, "p", minimum=0), 0, 0),
    (lambda v: readers.read_int(v, "p"), (1 << 31) - 1, (1 << 31) - 1),
    (lambda v: readers.read_float(v, "p"), 2, 2.0),
    (lambda v: readers.read_quantity(v, "p"), "250m", parse_quantity("250m")),
    (lambda v: readers.read_quantity(v, "p"), 2, parse_quantity("2")),
    (lambda v: readers.read_time(v, "p"), "2025-06-01T12:00:00Z", T0),
    (lambda v: readers.read_time(v, "p"), dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC), T0),
    (lambda v: readers.read_time(v, "p"), dt.date(2025, 6, 1), T0 - 12 * gotime.HOUR),
    (lambda v: readers.read_optional_time(v, "p"), None, None),
    (lambda v: readers.read_duration(v, "p", 7), None, 7),
    (lambda v: readers.read_duration(v, "p", 7), "1m30s", 90 * gotime.SECOND),
    (lambda v: readers.read_duration(v, "p", 7), 1.5, 1500 * gotime.SECOND // 1000),
    (lambda v: readers.read_resources(v, "p"), {"cpu": "1"}, {"cpu": parse_quantity("1")}),
    (lambda v: readers.read_labels(v, "p"), {"a": "b", "n": 1}, {"a": "b", "n": "1"}),
], ids=lambda x: "" if callable(x) else repr(x))
def test_readers_accept(reader: Callable[[Any], Any], value: Any, expected: Any) -> None:
    assert reader(value) == expected


@pytest.mark.parametrize(("reader", "value", "message"), [
    (lambda v: readers.read_mapping(v, "p"), [1], "expected a mapping, got a list"),
    (lambda v: readers.read_mapping(v, "p", optional=False), None, "expected a mapping, got null"),
    (lambda v: readers.read_list(v, "p"), "abc", "expected a list, got the string 'abc'"),
    (lambda v: readers.read_list(v, "p"), {"a": 1}, "expected a list, got a mapping"),
    (lambda v: readers.read_str(v, "p"), 5, "expected a string, got the number 5"),
    (lambda v: readers.read_int(v, "p"), True, "expected an integer, got a boolean"),
    (lambda v: readers.read_int(v, "p"), 1.5, "expected an integer, got the number 1.5"),
    (lambda v: readers.read_int(v, "p", minimum=1), 0,
     "must be greater than or equal to 1, got 0"),
    (lambda v: readers.read_int(v, "p"), 1 << 31, "must fit in an int32, got 2147483648"),
    (lambda v: readers.read_float(v, "p", minimum=0), -0.5,
     "must be greater than or equal to 0, got -0.5"),
    (lambda v: readers.read_float(v, "p"), "1", "expected a number, got the string '1'"),
    (lambda v: readers.read_time(v, "p"), 5,
     "expected an RFC 3339 time such as 2025-06-01T12:00:00Z, got the number 5"),
    (lambda v: readers.read_duration(v, "p", 0), -1, "must not be negative, got -1"),
    (lambda v: readers.read_duration(v, "p", 0), "-5s", "must not be negative, got '-5s'"),
    (lambda v: readers.read_duration(v, "p", 0), False,
     "expected a duration such as 5m or 30s, got a boolean"),
], ids=lambda x: "" if callable(x) else repr(x))
def test_readers_reject_with_the_path(reader: Callable[[Any], Any], value: Any,
                                      message: str) -> None:
    with pytest.raises(CaseError) as info:
        reader(value)
    assert (info.value.path, info.value.message) == ("p", message)


def test_quantity_and_time_errors_keep_the_parsers_reason() -> None:
    with pytest.raises(CaseError) as info:
        readers.read_quantity("1.5.5", "p.cpu")
    assert info.value.path == "p.cpu" and info.value.message.endswith("(got the string '1.5.5')")
    with pytest.raises(CaseError) as info:
        readers.read_time("yesterday", "p.t")
    assert info.value.path == "p.t" and info.value.message


def test_unknown_keys_list_the_allowed_ones() -> None:
    with pytest.raises(CaseError) as info:
        readers.check_known({"tolerence": 1}, ("tolerance", "syncPeriod"), "controller")
    assert str(info.value) == ("controller.tolerence: unknown key; expected one of "
                               "tolerance, syncPeriod")
    with pytest.raises(CaseError) as info:
        readers.check_known({"x": 1}, ("now",), "")
    assert info.value.path == "x"
