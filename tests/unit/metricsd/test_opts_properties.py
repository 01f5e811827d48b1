"""Properties of flag parsing: durations, ints and string lists survive the command line."""

from hypothesis import given
from hypothesis import strategies as st

from metricsd.durations import format_duration
from metricsd.flagset import go_parse_int
from metricsd.options import parse_args

MAX = (1 << 63) - 1


@given(st.integers(min_value=-(1 << 63), max_value=MAX), st.booleans())
def test_duration_flags_round_trip(ns: int, separate: bool) -> None:
    text = format_duration(ns)
    argv = ["--kubelet-request-timeout", text] if separate else [
        f"--kubelet-request-timeout={text}"]
    assert parse_args(argv)[0].kubelet_request_timeout == ns


@given(st.integers(min_value=-(1 << 63), max_value=MAX))
def test_int_flags_decimal_hex_octal(value: int) -> None:
    assert go_parse_int(str(value)) == value
    sign = "-" if value < 0 else ""
    assert go_parse_int(f"{sign}0x{abs(value):x}") == value
    assert go_parse_int(f"{sign}0{abs(value):o}") == value


@given(st.lists(st.text(alphabet="abcXYZ/._-:=0123456789", min_size=1), min_size=1,
                max_size=5))
def test_string_list_flags(items: list[str]) -> None:
    options, _ = parse_args([f"--kubelet-preferred-address-types={','.join(items)}"])
    assert options.kubelet_preferred_address_types == tuple(items)
