"""Label and field selectors: apimachinery's grammar, error texts, canonical strings, matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricsd.selectors import (
    SelectorError,
    check_metadata_fields,
    parse_field_selector,
    parse_label_selector,
)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("", ""),
        ("a=b", "a=b"),
        ("a==b", "a==b"),
        ("a!=b", "a!=b"),
        ("  a = b  ", "a=b"),
        ("b in (y,x),a", "a,b in (x,y)"),
        ("x notin (b, a)", "x notin (a,b)"),
        ("!c,a!=1", "a!=1,!c"),
        ("k>1,k<5", "k>1,k<5"),
        ("a in (,)", "a in ()"),
        ("a=", "a="),
        ("example.com/role=web", "example.com/role=web"),
        ("in=notin", "in=notin"),
        ("role=a,metrics-server-skip!=true", "metrics-server-skip!=true,role=a"),
    ],
)
def test_canonical_strings(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical


QNAME_EX = (
    "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        ("a in x", "unable to parse requirement: found 'x' expected: '('"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        (",a", "found ',', expected: !, identifier, or 'end of string'"),
        ("a,", "found '', expected: identifier after ','"),
        ("a in (,,)", "unable to parse requirement: found ')', expected: ',', or identifier"),
        ("a in (x y)", "unable to parse requirement: found 'y', expected: ',' or ')'"),
        ("x>a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' "
                "operators, the value must be an integer"),
        ("-a=b", "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must "
                 "consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                 "with an alphanumeric character " + QNAME_EX),
        ("a=b$", "unable to parse requirement: values[0][a]: Invalid value: \"b$\": a valid "
                 "label must be an empty string or consist of alphanumeric characters, '-', "
                 "'_' or '.', and must start and end with an alphanumeric character (e.g. "
                 "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                 "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as err:
        parse_label_selector(text)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("", {}, True),
        ("a=b", {"a": "b"}, True),
        ("a=b", {"a": "c"}, False),
        ("a=b", {}, False),
        ("a!=b", {}, True),
        ("a notin (b)", {}, True),
        ("a in (b,c)", {"a": "c"}, True),
        ("a", {"a": ""}, True),
        ("!a", {"a": ""}, False),
        ("k>1", {"k": "2"}, True),
        ("k>1", {"k": "x"}, False),
        ("k<1", {}, False),
        ("a=b,c", {"a": "b"}, False),
        ("a=", {"a": ""}, True),
    ],
)
def test_matches(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_label_selector(text).matches(labels) is expected


def test_and_combines_request_and_node_selector() -> None:
    sel = parse_label_selector("role=a").and_(parse_label_selector("metrics-server-skip!=true"))
    assert str(sel) == "metrics-server-skip!=true,role=a"
    assert sel.matches({"role": "a"})
    assert not sel.matches({"role": "a", "metrics-server-skip": "true"})


keys = st.from_regex(r"[a-z][a-z0-9]{0,5}(\.[a-z]{1,3}/[a-z][a-z0-9]{0,4})?", fullmatch=True)
vals = st.from_regex(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,4}[A-Za-z0-9])?)?", fullmatch=True)
reqs = st.one_of(
    st.tuples(keys, st.sampled_from(["=", "==", "!="]), vals).map(lambda t: "".join(t)),
    # (apimachinery itself rejects "(,,)", so in-lists use non-empty values)
    st.tuples(keys, st.sampled_from([" in ", " notin "]),
              st.lists(vals.filter(bool), min_size=1, max_size=3))
    .map(lambda t: f"{t[0]}{t[1]}({','.join(t[2])})"),
    keys,
    keys.map(lambda k: "!" + k),
)


@given(st.lists(reqs, max_size=4))
def test_canonical_string_reparses_to_an_equivalent_selector(parts: list[str]) -> None:
    sel = parse_label_selector(",".join(parts))
    again = parse_label_selector(str(sel))
    assert str(again) == str(sel)
    assert again == sel or sorted(map(str, again.requirements)) == sorted(
        map(str, sel.requirements))


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("metadata.name=x", "metadata.name=x"),
        ("metadata.namespace!=y,metadata.name==z", "metadata.name=z,metadata.namespace!=y"),
        ("metadata.name=a\\,b", "metadata.name=a\\,b"),
        ("", ""),
    ],
)
def test_field_selectors(text: str, canonical: str) -> None:
    sel = parse_field_selector(text)
    check_metadata_fields(sel)
    assert str(sel) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("spec.nodeName=a", '"spec.nodeName" is not a known field selector: only '
                            '"metadata.name", "metadata.namespace"'),
        ("a", "invalid selector: 'a'; can't understand 'a'"),
        ("metadata.name=b=c", "invalid field selector: unescaped character '='"),
        ("metadata.name=b\\x", "invalid field selector: invalid escape sequence: \\x"),
    ],
)
def test_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as err:
        check_metadata_fields(parse_field_selector(text))
    assert str(err.value) == message


def test_field_matching_treats_missing_fields_as_empty() -> None:
    sel = parse_field_selector("metadata.namespace=x")
    assert not sel.matches({"metadata.name": "n"})
    assert parse_field_selector("metadata.namespace!=x").matches({"metadata.name": "n"})
