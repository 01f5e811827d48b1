"""Properties of the Go value formatting used by klog and the self-metrics exposition."""

import math

from hypothesis import given
from hypothesis import strategies as st

from metricsd.klog import go_format_float, go_quote


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_text_round_trips(value: float) -> None:
    text = go_format_float(value)
    assert float(text) == value
    assert math.copysign(1, float(text)) == math.copysign(1, value)


@given(st.floats(min_value=1e-4, max_value=999999, allow_nan=False))
def test_no_exponent_in_go_plain_range(value: float) -> None:
    assert "e" not in go_format_float(value)


@given(st.floats(min_value=1e6, max_value=1e300))
def test_exponent_from_one_million(value: float) -> None:
    assert "e+" in go_format_float(value)


@given(st.text())
def test_quote_is_one_line_and_delimited(text: str) -> None:
    quoted = go_quote(text)
    assert quoted.startswith('"') and quoted.endswith('"')
    assert "\n" not in quoted
