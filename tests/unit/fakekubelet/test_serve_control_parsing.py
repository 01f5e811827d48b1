"""Input validation of the control endpoint: durations, instants, fault merges."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakekubelet.control import BadRequest, merge_faults, parse_duration, parse_instant
from fakekubelet.model import FAULT_NAMES, Faults


@given(st.integers(0, 48), st.integers(0, 59), st.integers(0, 59), st.integers(0, 999))
def test_go_durations_parse_to_seconds(h: int, m: int, s: int, ms: int) -> None:
    text = f"{h}h{m}m{s}s" if not ms else f"{h}h{m}m{s}s{ms}ms"
    assert parse_duration(text, "w") == pytest.approx(h * 3600 + m * 60 + s + ms / 1000)


@pytest.mark.parametrize("bad", ["", "15", "s", "1x", "1s2", "-1s", True, None, [1]])
def test_bad_durations_name_the_field(bad: object) -> None:
    with pytest.raises(BadRequest, match=r"^window: expected seconds or a duration"):
        parse_duration(bad, "window")


def test_instants_accept_unix_seconds_and_rfc3339() -> None:
    assert parse_instant("1711467615.5") == 1711467615.5
    assert parse_instant("2024-03-26T15:40:15Z") == 1711467615.0
    stamp = datetime.datetime(2024, 3, 26, 15, 40, 15, tzinfo=datetime.UTC).timestamp()
    assert parse_instant("2024-03-26T15:40:15+00:00") == stamp
    with pytest.raises(BadRequest, match=r"^at: expected Unix seconds or an RFC 3339 time"):
        parse_instant("yesterday")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


@given(st.sampled_from(FAULT_NAMES), st.booleans())
def test_every_fault_accepts_snake_and_camel_case(name: str, camel: bool) -> None:
    default = getattr(Faults(), name)
    value: object = not default if isinstance(default, bool) else default
    if name == "http_status":
        value = 500
    key = _camel(name) if camel else name
    assert merge_faults(Faults(), {key: value}) == {name: value}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nope": 1}, "faults.nope: unknown fault"),
        ({"hang": 1}, "faults.hang: expected bool"),
        ({"latencySeconds": "2s"}, "faults.latencySeconds: expected float"),
        ({"latencySeconds": -0.5}, "faults.latencySeconds: must not be negative"),
        ({"httpStatus": 700}, "faults.httpStatus: expected an HTTP status"),
        ({"hang": None}, "faults.hang: must not be null"),
        ("hang", "body: expected a JSON object"),
    ],
)
def test_bad_fault_changes_name_the_field(changes: object, message: str) -> None:
    with pytest.raises(BadRequest) as err:
        merge_faults(Faults(), changes)
    assert str(err.value).startswith(message)
