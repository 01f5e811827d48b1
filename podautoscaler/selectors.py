"""Label selectors: the scale subresource's selector string and ``metav1.LabelSelector``.

The controller lists pods with ``labels.Parse(scale.status.selector)`` — every pod matching
the labels, even one owned by another workload — and prints an External metric's selector
with Go's ``%+v`` (``&LabelSelector{MatchLabels:map[string]string{…},…}``) inside its error
texts and metric descriptions. This is a compact ``labels.Parse`` (``k=v``, ``k==v``,
``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k``, ``!k``, ``k>1``, ``k<1``; a comma
means AND) with apimachinery's main error texts. (metricsd and fakeapiserver keep fuller
parsers; this package may not import them, see ARCHITECTURE.md.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Requirement", "Selector", "SelectorError", "format_label_selector", "parse"]

_OPERATORS = "in, notin, =, ==, !=, gt, lt"
_SPECIAL = "=!(),<>"
_KEY_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_KEY_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


class SelectorError(ValueError):
    """A selector ``labels.Parse`` rejects; ``str()`` is the error text."""


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "==", "in"):
            return present and labels[self.key] in self.values
        if self.operator in ("!=", "notin"):
            return not present or labels[self.key] not in self.values
        if not present:
            return False
        try:
            have, want = int(labels[self.key]), int(self.values[0])
        except ValueError:
            return False
        return have > want if self.operator == "gt" else have < want


@dataclass(frozen=True)
class Selector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        present = labels or {}
        return all(r.matches(present) for r in self.requirements)


def _lex(text: str) -> list[str]:
    tokens: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in _SPECIAL:
            two = text[i:i + 2]
            if two in ("==", "!="):
                tokens.append(two)
                i += 2
            else:
                tokens.append(ch)
                i += 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in _SPECIAL:
                j += 1
            tokens.append(text[i:j])
            i = j
    return tokens


def _is_identifier(token: str | None) -> bool:
    return token is not None and token not in _SPECIAL and token not in ("==", "!=")


def _check_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _KEY_PREFIX.fullmatch(prefix)):
        raise SelectorError(f"invalid label key {key!r}: prefix part must be a DNS-1123 "
                            "subdomain")
    if not name or len(name) > 63 or not _KEY_NAME.fullmatch(name):
        raise SelectorError(f"invalid label key {key!r}: name part must consist of alphanumeric "
                            "characters, '-', '_' or '.', and must start and end with an "
                            "alphanumeric character")


def _check_value(key: str, value: str) -> None:
    if len(value) > 63 or not _VALUE.fullmatch(value):
        raise SelectorError(f"invalid label value: {value!r}: at key: {key!r}: a valid label must "
                            "be an empty string or consist of alphanumeric characters, '-', '_' "
                            "or '.', and must start and end with an alphanumeric character")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.pos += 1
        return token

    def selector(self) -> Selector:
        requirements: list[Requirement] = []
        while self.peek() is not None:
            token = self.peek()
            if token != "!" and not _is_identifier(token):
                raise SelectorError(f"found '{token}', expected: !, identifier, or "
                                    "'end of string'")
            try:
                requirements.append(self.requirement())
            except SelectorError as err:
                raise SelectorError(f"unable to parse requirement: {err}") from None
            after = self.take()
            if after is None:
                break
            if after != ",":
                raise SelectorError(f"found '{after}', expected: ',' or 'end of string'")
            if self.peek() != "!" and not _is_identifier(self.peek()):
                raise SelectorError(f"found '{self.peek() or ''}', expected: identifier after ','")
        requirements.sort(key=lambda r: r.key)
        return Selector(tuple(requirements))

    def requirement(self) -> Requirement:
        token = self.take()
        negated = token == "!"
        if negated:
            token = self.take()
        if not _is_identifier(token) or token is None:
            raise SelectorError(f"found '{token or ''}', expected: identifier")
        key = token
        _check_key(key)
        if negated:
            return Requirement(key, "!")
        if self.peek() in (None, ","):
            return Requirement(key, "exists")
        op = self.take()
        mapping = {"in": "in", "notin": "notin", "=": "=", "==": "==", "!=": "!=", ">": "gt",
                   "<": "lt"}
        if op not in mapping:
            raise SelectorError(f"found '{op}', expected: {_OPERATORS}")
        operator = mapping[op]
        values = self.values() if operator in ("in", "notin") else self.exact_value()
        for value in values:
            _check_value(key, value)
        if operator in ("gt", "lt"):
            try:
                int(values[0])
            except ValueError:
                raise SelectorError(f"for 'Gt', 'Lt' operators, the value must be an integer, "
                                    f"got {values[0]!r}") from None
        return Requirement(key, operator, tuple(sorted(values)))

    def values(self) -> list[str]:
        opening = self.take()
        if opening != "(":
            raise SelectorError(f"found '{opening or ''}' expected: '('")
        values: list[str] = []
        expect_value = True
        while True:
            token = self.take()
            if token == ")":
                if expect_value and values:
                    values.append("")
                break
            if token == ",":
                if expect_value:
                    values.append("")
                expect_value = True
                continue
            if not _is_identifier(token) or token is None or not expect_value:
                raise SelectorError(f"found '{token or ''}', expected: ',', ')' or identifier")
            values.append(token)
            expect_value = False
        if not values:
            raise SelectorError("for 'in', 'notin' operators, values set can't be empty")
        return values

    def exact_value(self) -> list[str]:
        if self.peek() in (None, ","):
            return [""]
        token = self.take()
        if not _is_identifier(token) or token is None:
            raise SelectorError(f"found '{token}', expected: identifier")
        return [token]


def parse(text: str) -> Selector:
    """``labels.Parse``: the requirements, sorted by key; raises :class:`SelectorError`."""
    return _Parser(text).selector()


def from_label_selector(sel: Mapping[str, Any] | None) -> Selector | None:
    """``metav1.LabelSelectorAsSelector``; ``None`` stands for ``labels.Nothing()``."""
    if sel is None:
        return None
    labels = sel.get("matchLabels") or {}
    requirements = [Requirement(k, "=", (str(v),)) for k, v in labels.items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in sel.get("matchExpressions") or []:
        op = ops.get(str(expr.get("operator")), "in")
        requirements.append(Requirement(str(expr.get("key", "")), op,
                                        tuple(str(v) for v in expr.get("values") or [])))
    requirements.sort(key=lambda r: r.key)
    return Selector(tuple(requirements))


def format_label_selector(sel: Mapping[str, Any] | None) -> str:
    """Go's ``%+v`` of a ``*metav1.LabelSelector`` (its generated ``String()``)."""
    if sel is None:
        return "nil"
    labels = sel.get("matchLabels") or {}
    label_text = "".join(f"{k}: {labels[k]}," for k in sorted(labels))
    exprs: Sequence[Mapping[str, Any]] = sel.get("matchExpressions") or []
    expr_text = "".join(
        "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},".format(
            e.get("key", ""), e.get("operator", ""),
            " ".join(str(v) for v in e.get("values") or []))
        for e in exprs)
    return ("&LabelSelector{MatchLabels:map[string]string{" + label_text + "},"
            "MatchExpressions:[]LabelSelectorRequirement{" + expr_text + "},}")
