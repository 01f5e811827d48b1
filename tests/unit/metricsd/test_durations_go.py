"""Go duration grammar and Duration.String() formatting."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricsd.durations import (
    HOUR,
    MILLISECOND,
    SECOND,
    DurationError,
    format_duration,
    format_seconds,
    parse_duration,
)

MAX = (1 << 63) - 1


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("0", 0),
        ("+0", 0),
        ("-0", 0),
        ("15s", 15 * SECOND),
        ("1m0s", 60 * SECOND),
        ("1.5s", 1500 * MILLISECOND),
        ("500ms", 500 * MILLISECOND),
        ("1h2m", HOUR + 2 * 60 * SECOND),
        ("-1s", -SECOND),
        ("1ns", 1),
        ("1us", 1000),
        ("1µs", 1000),
        ("1μs", 1000),
        (".5s", 500 * MILLISECOND),
        ("1.s", SECOND),
        ("1.0000000001s", SECOND),
        ("1.5h", 90 * 60 * SECOND),
        ("1.25m", 75 * SECOND),
        ("1h1h", 2 * HOUR),
        ("2562047h47m16.854775807s", MAX),
        ("-2562047h47m16.854775808s", -(1 << 63)),
        ("9223372036854775807ns", MAX),
    ],
)
def test_parse_table(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", 'time: invalid duration "abc"'),
        ("", 'time: invalid duration ""'),
        ("-", 'time: invalid duration "-"'),
        (".s", 'time: invalid duration ".s"'),
        ("1s ", 'time: unknown unit "s " in duration "1s "'),
        ("10", 'time: missing unit in duration "10"'),
        ("1.5", 'time: missing unit in duration "1.5"'),
        ("10x", 'time: unknown unit "x" in duration "10x"'),
        ("3sec", 'time: unknown unit "sec" in duration "3sec"'),
        ("1é", 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"'),
        ('1"', 'time: unknown unit "\\"" in duration "1\\""'),
        ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
        ("2562047h47m16.854775808s", 'time: invalid duration "2562047h47m16.854775808s"'),
        ("99999999999999999999s", 'time: invalid duration "99999999999999999999s"'),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(DurationError) as err:
        parse_duration(text)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (999, "999ns"),
        (1000, "1µs"),
        (1500, "1.5µs"),
        (500 * MILLISECOND, "500ms"),
        (31839410, "31.83941ms"),
        (15 * SECOND, "15s"),
        (60 * SECOND, "1m0s"),
        (1500 * MILLISECOND, "1.5s"),
        (14998 * MILLISECOND, "14.998s"),
        (HOUR, "1h0m0s"),
        (HOUR + 1, "1h0m0.000000001s"),
        (-SECOND, "-1s"),
        (-1500, "-1.5µs"),
        (11111111112, "11.111111112s"),
        (MAX, "2562047h47m16.854775807s"),
        (-(1 << 63), "-2562047h47m16.854775808s"),
    ],
)
def test_format_table(ns: int, text: str) -> None:
    assert format_duration(ns) == text


def test_micro_sign_is_u00b5() -> None:
    assert format_duration(1000).encode() == b"1\xc2\xb5s"


def test_format_seconds_rounds_to_ns() -> None:
    assert format_seconds(0.03183941) == "31.83941ms"


@given(st.integers(min_value=-(1 << 63), max_value=MAX))
def test_round_trip(ns: int) -> None:
    assert parse_duration(format_duration(ns)) == ns


@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(["h", "m", "s", "ms", "us", "ns"])),
        min_size=1,
        max_size=5,
    ),
    st.booleans(),
)
def test_parse_sums_integer_components(parts: list[tuple[int, str]], neg: bool) -> None:
    units = {"h": HOUR, "m": 60 * SECOND, "s": SECOND, "ms": MILLISECOND, "us": 1000, "ns": 1}
    text = ("-" if neg else "") + "".join(f"{n}{u}" for n, u in parts)
    total = sum(n * units[u] for n, u in parts)
    assert parse_duration(text) == (-total if neg else total)


@given(st.text(max_size=12))
def test_parse_never_raises_other_errors(text: str) -> None:
    try:
        parse_duration(text)
    except DurationError as err:
        assert str(err).startswith("time: ")
