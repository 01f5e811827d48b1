"""The Go library behaviour the error texts depend on: resource.ParseQuantity and
Quantity.String, time.Parse, base64 offsets, fmt's verbs, apimachinery's name validators."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakeapiserver.validation import gofmt
from fakeapiserver.validation.gotime import RFC3339, RFC3339_MICRO, TimeError, parse_time
from fakeapiserver.validation.jsondecode import base64_error
from fakeapiserver.validation.quantity import (
    FORMAT_WRONG,
    NUMERIC,
    SUFFIX,
    QuantityError,
    canonical,
    parse_quantity,
)
from fakeapiserver.validation.rules import names, other


@pytest.mark.parametrize(("text", "value"), [
    ("1", 1), ("100m", Fraction(1, 10)), ("1.5Gi", 1536 * 2**20), ("1e3", 1000),
    ("1E+3", 1000), ("1e-3", Fraction(1, 1000)), (".", 0), ("1.", 1), ("Ki", 0), ("+1", 1),
    ("-2", -2), ("0.5", Fraction(1, 2)), ("007", 7),
])
def test_parse_quantity(text: str, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(("text", "message"), [
    ("", FORMAT_WRONG), ("5x", FORMAT_WRONG), ("abc", FORMAT_WRONG), ("1 k", FORMAT_WRONG),
    ("1.5.5", FORMAT_WRONG), ("5K", SUFFIX), ("e", SUFFIX), ("1e", SUFFIX), ("1ee5", SUFFIX),
    ("-.e-20", NUMERIC),
])
def test_parse_quantity_errors(text: str, message: str) -> None:
    with pytest.raises(QuantityError) as err:
        parse_quantity(text)
    assert str(err.value) == message


@pytest.mark.parametrize(("text", "expected"), [
    ("2", "2"), ("500m", "500m"), ("0.5", "500m"), ("1000", "1k"), ("1024Mi", "1Gi"),
    ("1.5Gi", "1536Mi"), ("1e3", "1e3"), ("0", "0"), ("-1", "-1"), ("0.1", "100m"),
    ("1500m", "1500m"), ("512", "512"), ("1Ki", "1Ki"), ("1023", "1023"), ("0.5Ki", "512"),
])
def test_canonical_quantity(text: str, expected: str) -> None:
    assert canonical(text) == expected


@given(st.integers(0, 10**12), st.sampled_from(["", "m", "k", "M", "Ki", "Mi", "Gi"]))
def test_canonical_keeps_the_value(amount: int, suffix: str) -> None:
    text = f"{amount}{suffix}"
    assert parse_quantity(canonical(text)) == parse_quantity(text)


@pytest.mark.parametrize(("layout", "value", "message"), [
    (RFC3339, "2025-06-15T15:06:40Z", None),
    (RFC3339, "2025-06-15T15:06:40.123456Z", None),  # a fraction Go does not mind
    (RFC3339, "2025-06-15T5:06:40+02:00", None),  # one-digit hours are fine to Go
    (RFC3339, "yesterday", 'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot '
                           'parse "yesterday" as "2006"'),
    (RFC3339, "", 'parsing time "" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "2006"'),
    (RFC3339, "2025-13-01T00:00:00Z", 'parsing time "2025-13-01T00:00:00Z": month out of range'),
    (RFC3339, "2025-02-29T00:00:00Z", 'parsing time "2025-02-29T00:00:00Z": day out of range'),
    (RFC3339, "2024-02-29T00:00:00Z", None),
    (RFC3339, "2025-06-15 15:06:40Z", 'parsing time "2025-06-15 15:06:40Z" as '
                                      '"2006-01-02T15:04:05Z07:00": cannot parse " 15:06:40Z" '
                                      'as "T"'),
    (RFC3339, "2025-06-15T15:06:40", 'parsing time "2025-06-15T15:06:40" as '
                                     '"2006-01-02T15:04:05Z07:00": cannot parse "" as '
                                     '"Z07:00"'),
    (RFC3339, "2025-06-15T15:06:40Zjunk", 'parsing time "2025-06-15T15:06:40Zjunk": extra '
                                          'text: "junk"'),
    (RFC3339, "2025-06-15T25:06:40Z", 'parsing time "2025-06-15T25:06:40Z": hour out of range'),
    (RFC3339, "2025-06-15T15:06:40Zé", 'parsing time "2025-06-15T15:06:40Z\\xc3\\xa9": extra '
                                       'text: "\\xc3\\xa9"'),
    (RFC3339_MICRO, "2025-06-15T15:06:40.000001Z", None),
    (RFC3339_MICRO, "2025-06-15T15:06:40Z", 'parsing time "2025-06-15T15:06:40Z" as '
                                            '"2006-01-02T15:04:05.000000Z07:00": cannot parse '
                                            '"Z" as ".000000"'),
])
def test_time_parse(layout: str, value: str, message: str | None) -> None:
    if message is None:
        parse_time(layout, value)
        return
    with pytest.raises(TimeError) as err:
        parse_time(layout, value)
    assert str(err.value) == message


@pytest.mark.parametrize(("text", "error"), [
    ("c2VjcmV0", None), ("aGk=", None), ("aA==", None), ("", None), ("c2Vj\ncmV0", None),
    ("not base64!", 3), ("aGk", 0), ("a", 0), ("aGk==", 4), ("aG=k", 2), ("aGk=x", 4),
    ("a===", 1), ("é", 0),
])
def test_base64_offsets(text: str, error: int | None) -> None:
    expected = None if error is None else f"illegal base64 data at input byte {error}"
    assert base64_error(text) == expected


@pytest.mark.parametrize(("value", "v", "sharp"), [
    ({"b": [1, "x"], "a": None}, "map[a:<nil> b:[1 x]]",
     'map[string]interface {}{"a":interface {}(nil), "b":[]interface {}{1, "x"}}'),
    (1e6, "1e+06", "1e+06"), (123456.0, "123456", "123456"), (1.5, "1.5", "1.5"),
    (0.0001, "0.0001", "0.0001"), (0.00001, "1e-05", "1e-05"), (True, "true", "true"),
    ("tab\there", "tab\there", '"tab\\there"'),
])
def test_go_verbs(value: object, v: str, sharp: str) -> None:
    assert (gofmt.v(value), gofmt.sharp_v(value)) == (v, sharp)


def test_quote_escapes_like_strconv() -> None:
    assert gofmt.quote('a"b\\c\n\x01\x7fé\u200b') == '"a\\"b\\\\c\\n\\x01\\x7fé\\u200b"'


@pytest.mark.parametrize(("fn", "value", "messages"), [
    (names.is_dns1123_label, "a.b", ["must not contain dots"]),
    (names.is_dns1123_label, "x" * 64, ["must be no more than 63 characters"]),
    (names.name_is_dns_subdomain, "web-", ["a lowercase RFC 1123 subdomain must consist of "
                                           "lower case alphanumeric characters, '-' or '.', and "
                                           "must start and end with an alphanumeric character "
                                           "(e.g. 'example.com', regex used for validation is "
                                           r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]"
                                           r"([-a-z0-9]*[a-z0-9])?)*')"]),
    (names.is_valid_port_name, "--", ["must contain at least one letter (a-z)",
                                      "must not contain consecutive hyphens",
                                      "must not begin or end with a hyphen"]),
    (names.is_valid_path_segment_name, "..", ["may not be '..'"]),
    (names.is_valid_path_segment_name, "a/b%", ["may not contain '/'", "may not contain '%'"]),
    (names.is_qualified_name, "/x", ["prefix part must be non-empty"]),
    # names that read as a directory change, for env var names and config keys alike
    (names.is_env_var_name, ".", ["must not be '.'"]),
    (names.is_env_var_name, "..", ["must not be '..'"]),
    (names.is_env_var_name, "..A", ["must not start with '..'"]),
    (names.is_env_var_name, ".A", []),
    (other.is_config_map_key, ".", ["must not be '.'"]),
    (other.is_config_map_key, "..", ["must not be '..'"]),
    (other.is_config_map_key, "..key", ["must not start with '..'"]),
    (other.is_config_map_key, "key..", []),
])
def test_name_validators(fn: object, value: str, messages: list[str]) -> None:
    if fn is names.name_is_dns_subdomain:
        assert names.name_is_dns_subdomain(value, False) == messages
        assert names.name_is_dns_subdomain(value, True) == []  # a generateName prefix
        return
    assert fn(value) == messages  # type: ignore[operator]
