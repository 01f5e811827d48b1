"""RFC 3339 instants and Go durations with nanosecond precision."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podautoscaler import gotime


@pytest.mark.parametrize(("text", "ns"), [
    ("1970-01-01T00:00:00Z", 0),
    ("1970-01-01T00:00:01.5Z", 1_500_000_000),
    ("1970-01-01T00:00:00.000000001Z", 1),
    ("1970-01-01T01:00:00+01:00", 0),
    ("1969-12-31T23:00:00-01:00", 0),
    ("2025-06-01T12:00:00Z", 1748779200 * 10**9),
], ids=lambda v: str(v))
def test_parse_rfc3339(text: str, ns: int) -> None:
    assert gotime.parse_rfc3339(text) == ns


def test_zero_time_of_upstream_tests_parses() -> None:
    zero = gotime.parse_rfc3339("0001-01-01T00:00:00Z")
    assert gotime.format_rfc3339(zero) == "0001-01-01T00:00:00Z"
    assert zero + 10 * gotime.SECOND > zero


@pytest.mark.parametrize("text", ["2025-06-01", "2025-06-01 12:00:00Z", "2025-13-01T00:00:00Z",
                                  "2025-06-01T24:00:00Z", "2025-06-01T12:00:00", "noon"])
def test_parse_rfc3339_rejects(text: str) -> None:
    with pytest.raises(gotime.TimeFormatError):
        gotime.parse_rfc3339(text)


def test_formats() -> None:
    ns = gotime.parse_rfc3339("2025-06-01T12:00:00.123400Z")
    assert gotime.format_rfc3339(ns) == "2025-06-01T12:00:00Z"  # metav1.Time: whole seconds
    assert gotime.format_rfc3339_nano(ns) == "2025-06-01T12:00:00.1234Z"


def test_from_datetime_naive_is_utc() -> None:
    assert gotime.from_datetime(dt.datetime(1970, 1, 1, 0, 0, 1)) == gotime.SECOND
    aware = dt.datetime(1970, 1, 1, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert gotime.from_datetime(aware) == 0


@given(st.integers(-62135596800 * 10**9, 253402300799 * 10**9))
def test_nano_format_round_trips(ns: int) -> None:
    assert gotime.parse_rfc3339(gotime.format_rfc3339_nano(ns)) == ns


@pytest.mark.parametrize(("text", "ns"), [
    ("0", 0), ("5m", 300 * 10**9), ("30s", 30 * 10**9), ("1m30s", 90 * 10**9),
    ("1.5s", 1_500_000_000), ("250ms", 250_000_000), ("1h", 3600 * 10**9), ("10us", 10_000),
    ("10µs", 10_000), ("-1s", -(10**9)),
], ids=lambda v: str(v))
def test_parse_duration(text: str, ns: int) -> None:
    assert gotime.parse_duration(text) == ns


@pytest.mark.parametrize(("text", "message"), [
    ("", 'time: invalid duration ""'),
    ("5", 'time: missing unit in duration "5"'),
    ("1m30", 'time: missing unit in duration "1m30"'),
    ("5x", 'time: unknown unit "x" in duration "5x"'),
    ("5M", 'time: unknown unit "M" in duration "5M"'),
    ("m", 'time: invalid duration "m"'),
    ("1..5s", 'time: missing unit in duration "1..5s"'),
    (".s", 'time: invalid duration ".s"'),
    ("s5", 'time: invalid duration "s5"'),
    ("-", 'time: invalid duration "-"'),
])
def test_parse_duration_rejects_with_gos_text(text: str, message: str) -> None:
    with pytest.raises(gotime.TimeFormatError) as err:
        gotime.parse_duration(text)
    assert str(err.value) == message


@pytest.mark.parametrize(("ns", "text"), [
    (0, "0s"), (300 * 10**9, "5m0s"), (30 * 10**9, "30s"), (90 * 10**9, "1m30s"),
    (3600 * 10**9, "1h0m0s"), (1_500_000_000, "1.5s"), (250_000_000, "250ms"),
    (1500, "1.5µs"), (7, "7ns"), (-(10**9), "-1s"), (3723_500_000_000, "1h2m3.5s"),
], ids=lambda v: str(v))
def test_format_duration_like_go(ns: int, text: str) -> None:
    assert gotime.format_duration(ns) == text


@given(st.integers(0, 10**15))
def test_duration_format_parses_back(ns: int) -> None:
    assert gotime.parse_duration(gotime.format_duration(ns)) == ns
