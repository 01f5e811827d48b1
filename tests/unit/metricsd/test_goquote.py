"""One strconv.Quote for logs, Status messages, selector and parser errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricsd.goquote import quote


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("kind-worker", '"kind-worker"'),
        ('Get "https://x"', '"Get \\"https://x\\""'),
        ("a\\b", '"a\\\\b"'),
        ("tab\there\n", '"tab\\there\\n"'),
        ("\a\b\f\v\r", '"\\a\\b\\f\\v\\r"'),
        ("\x00\x7f", '"\\x00\\x7f"'),
        ("µs é", '"µs é"'),
        ("\u200b", '"\\u200b"'),
        ("\U000e0001", '"\\U000e0001"'),
        (b"ok\xff".decode("utf-8", "surrogateescape"), '"ok\\xff"'),
    ],
)
def test_like_go(text: str, quoted: str) -> None:
    assert quote(text) == quoted


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_printable_ascii_reads_back_as_json(text: str) -> None:
    # For printable ASCII Go's quoting and JSON's agree, so json can read it back.
    assert json.loads(quote(text)) == text
