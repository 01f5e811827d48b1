"""Label selectors (apimachinery labels): the scale's selector string and metav1.LabelSelector."""

from __future__ import annotations

import pytest

from podautoscaler import selectors


@pytest.mark.parametrize(("text", "labels", "match"), [
    ("name=test-pod", {"name": "test-pod"}, True),
    ("name==test-pod", {"name": "test-pod"}, True),
    ("name=test-pod", {"name": "other"}, False),
    ("name!=x", {}, True),
    ("app=web,tier=front", {"app": "web", "tier": "front"}, True),
    ("app=web,tier=front", {"app": "web"}, False),
    ("env in (prod, staging)", {"env": "staging"}, True),
    ("env notin (prod)", {"env": "dev"}, True),
    ("env notin (prod)", {}, True),
    ("canary", {"canary": ""}, True),
    ("!canary", {"canary": "1"}, False),
    ("gen>2", {"gen": "3"}, True),
    ("gen<2", {"gen": "3"}, False),
    ("app=", {"app": ""}, True),
    ("", {"anything": "x"}, True),
], ids=lambda v: str(v))
def test_parse_and_match__s6(text: str, labels: dict[str, str], match: bool) -> None:
    assert selectors.parse(text).matches(labels) is match


@pytest.mark.parametrize(("text", "message"), [
    ("cheddar cheese", "unable to parse requirement: found 'cheese', expected: in, notin, =, "
                       "==, !=, gt, lt"),
    ("a=b,", "found '', expected: identifier after ','"),
    ("=b", "found '=', expected: !, identifier, or 'end of string'"),
    ("a in b", "unable to parse requirement: found 'b' expected: '('"),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("gen>x", "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an "
              "integer, got 'x'"),
], ids=lambda v: str(v))
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(selectors.SelectorError) as err:
        selectors.parse(text)
    assert str(err.value) == message


def test_from_label_selector() -> None:
    sel = selectors.from_label_selector({"matchLabels": {"a": "b"}, "matchExpressions": [
        {"key": "c", "operator": "In", "values": ["x", "y"]}]})
    assert sel is not None
    assert sel.matches({"a": "b", "c": "y"})
    assert not sel.matches({"a": "b"})
    assert selectors.from_label_selector(None) is None  # labels.Nothing()


@pytest.mark.parametrize(("sel", "text"), [
    (None, "nil"),
    ({}, "&LabelSelector{MatchLabels:map[string]string{},"
         "MatchExpressions:[]LabelSelectorRequirement{},}"),
    ({"matchLabels": {"kube_container_name": "nginx"}},
     "&LabelSelector{MatchLabels:map[string]string{kube_container_name: nginx,},"
     "MatchExpressions:[]LabelSelectorRequirement{},}"),
    ({"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [
        {"key": "k", "operator": "In", "values": ["x", "y"]}]},
     "&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:"
     "[]LabelSelectorRequirement{LabelSelectorRequirement{Key:k,Operator:In,Values:[x y],},},}"),
], ids=["nil", "empty", "labels", "sorted+expr"])
def test_format_label_selector_like_go_plus_v__s4_3(sel: object, text: str) -> None:
    assert selectors.format_label_selector(sel) == text  # type: ignore[arg-type]
