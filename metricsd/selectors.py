"""Kubernetes label and field selectors with apimachinery's grammar, errors and canonical text.

Label selectors (``labels.Parse``): ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``,
``k notin (a,b)``, ``k``, ``!k``, ``k>1``, ``k<1``; a comma means AND.  Keys and values are
validated as qualified names / label values, and errors read like apimachinery's
(``unable to parse requirement: …``, ``found 'x', expected: …``).  ``str()`` gives the
canonical form (requirements sorted by key, ``in`` values sorted), which is what upstream logs
as ``nodeSelector="…"``.

Field selectors (``fields.ParseSelector``) support ``=``, ``==`` and ``!=`` with backslash
escapes; the generic API server accepts only ``metadata.name`` and ``metadata.namespace`` for
the metrics resources (:func:`check_metadata_fields`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from metricsd.goquote import quote

__all__ = [
    "FieldSelector",
    "FieldTerm",
    "LabelSelector",
    "Requirement",
    "SelectorError",
    "check_metadata_fields",
    "parse_field_selector",
    "parse_label_selector",
]


class SelectorError(ValueError):
    """A selector apimachinery rejects; ``str()`` is its error text."""


# --------------------------------------------------------------------------- validation texts

_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_RE = re.compile(_QNAME_FMT)
_QNAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)
_LVALUE_FMT = "(" + _QNAME_FMT + ")?"
_LVALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character"
)
_DNS1123_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123_RE = re.compile(_DNS1123_FMT)
_DNS1123_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character"
)


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    text = msg + " (e.g. "
    for i, ex in enumerate(examples):
        if i > 0:
            text += " or "
        text += f"'{ex}', "
    return text + f"regex used for validation is '{fmt}')"


_go_q = quote


def _qualified_name_errors(value: str) -> list[str]:
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            if len(prefix) > 253:
                errs.append("prefix part must be no more than 253 characters")
            if not _DNS1123_RE.fullmatch(prefix):
                errs.append(
                    "prefix part " + _regex_error(_DNS1123_MSG, _DNS1123_FMT, "example.com")
                )
    else:
        return [
            "a qualified name "
            + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _QNAME_RE.fullmatch(name):
        errs.append(
            "name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def _label_value_errors(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if value and not _QNAME_RE.fullmatch(value):
        errs.append(_regex_error(_LVALUE_MSG, _LVALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def _invalid(path: str, value: str, detail: str) -> str:
    return f"{path}: Invalid value: {_go_q(value)}: {detail}"


# --------------------------------------------------------------------------- label selectors

_OPS_WITH_VALUES = ("in", "notin", "=", "==", "!=", "gt", "lt")
_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One requirement: ``operator`` is one of in, notin, =, ==, !=, exists, !, gt, lt."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in ("in", "=", "=="):
            return self.key in labels and labels[self.key] in self.values
        if op in ("notin", "!="):
            return self.key not in labels or labels[self.key] not in self.values
        if op == "exists":
            return self.key in labels
        if op == "!":
            return self.key not in labels
        if self.key not in labels or len(self.values) != 1:
            return False
        try:
            have = _go_int64(labels[self.key])
            want = _go_int64(self.values[0])
        except ValueError:
            return False
        return have > want if op == "gt" else have < want

    def __str__(self) -> str:
        op = self.operator
        if op == "!":
            return "!" + self.key
        if op == "exists":
            return self.key
        sym = {"=": "=", "==": "==", "!=": "!=", "in": " in ", "notin": " notin ", "gt": ">",
               "lt": "<"}[op]
        vals = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op in ("in", "notin"):
            return f"{self.key}{sym}({vals})"
        return f"{self.key}{sym}{vals}"


def _go_int64(s: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        raise ValueError(s)
    v = int(s)
    if not -(1 << 63) <= v < (1 << 63):
        raise ValueError(s)
    return v


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A conjunction of requirements, sorted by key as ``labels.Parse`` leaves them."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        return not self.requirements

    def and_(self, other: LabelSelector) -> LabelSelector:
        """``Selector.Add``: both selectors' requirements, re-sorted by key."""
        reqs = list(self.requirements) + list(other.requirements)
        reqs.sort(key=lambda r: r.key)
        return LabelSelector(tuple(reqs))

    def equals_value(self, key: str) -> str | None:
        """The value of an ``=``/``==``/single ``in`` requirement on ``key`` (for indexes)."""
        for r in self.requirements:
            if r.key == key and r.operator in ("=", "==", "in") and len(r.values) == 1:
                return r.values[0]
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


_SPECIAL = set("=!(),><")
_WHITESPACE = " \t\r\n"
_STOP = frozenset(_WHITESPACE) | _SPECIAL | {"\x00"}
_SPECIAL_TOKENS = {")": ")", ",": ",", "!": "!", "==": "==", "=": "=", ">": ">", "<": "<",
                   "!=": "!=", "(": "("}


def _lex(text: str) -> list[tuple[str, str]]:
    """Tokens as ``(kind, literal)``: kind is ID, IN, NOTIN, EOS, ERROR or the symbol itself."""
    toks: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if i >= n or text[i] == "\x00":
            toks.append(("EOS", ""))
            return toks
        ch = text[i]
        if ch in _SPECIAL:
            buf = ""
            last: tuple[str, str] | None = None
            j = i
            while j < n and text[j] in _SPECIAL:
                buf += text[j]
                if buf in _SPECIAL_TOKENS:
                    last = (_SPECIAL_TOKENS[buf], buf)
                    j += 1
                elif last is not None:
                    break
                else:
                    j += 1
            if last is None:
                toks.append(("ERROR", f"error expected: keyword found '{buf}'"))
                i = j
            else:
                toks.append(last)
                i += len(last[1])
            continue
        j = i
        while j < n and text[j] not in _STOP:
            j += 1
        word = text[i:j]
        kind = "IN" if word == "in" else "NOTIN" if word == "notin" else "ID"
        toks.append((kind, word))
        i = j


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _lex(text)
        self.pos = 0

    def _get(self, values_mode: bool, advance: bool) -> tuple[str, str]:
        kind, lit = self.toks[min(self.pos, len(self.toks) - 1)]
        if advance:
            self.pos += 1
        if values_mode and kind in ("IN", "NOTIN"):
            kind = "ID"
        return kind, lit

    def lookahead(self, values_mode: bool = True) -> tuple[str, str]:
        return self._get(values_mode, False)

    def consume(self, values_mode: bool = True) -> tuple[str, str]:
        return self._get(values_mode, True)

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            kind, lit = self.lookahead()
            if kind in ("ID", "!"):
                try:
                    reqs.append(self.requirement())
                except SelectorError as err:
                    raise SelectorError(f"unable to parse requirement: {err}") from None
                k2, l2 = self.consume()
                if k2 == "EOS":
                    return reqs
                if k2 == ",":
                    k3, l3 = self.lookahead()
                    if k3 not in ("ID", "!"):
                        raise SelectorError(f"found '{l3}', expected: identifier after ','")
                    continue
                raise SelectorError(f"found '{l2}', expected: ',' or 'end of string'")
            if kind == "EOS":
                return reqs
            raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        kind, lit = self.consume()
        operator = ""
        if kind == "!":
            operator = "!"
            kind, lit = self.consume()
        if kind != "ID":
            raise SelectorError(f"found '{lit}', expected: identifier")
        key = lit
        errs = _qualified_name_errors(key)
        if errs:
            raise SelectorError(_invalid("<nil>", key, "; ".join(errs)))
        nk, _ = self.lookahead()
        if nk in ("EOS", ",") and operator != "!":
            operator = "exists"
        if operator in ("exists", "!"):
            return Requirement(key, operator)
        ok, olit = self.consume(values_mode=False)
        op_map = {"IN": "in", "NOTIN": "notin", "=": "=", "==": "==", "!=": "!=", ">": "gt",
                  "<": "lt"}
        if ok not in op_map:
            raise SelectorError(f"found '{olit}', expected: {_BINARY_OPERATORS}")
        operator = op_map[ok]
        values = self.values_list() if operator in ("in", "notin") else self.exact_value()
        return _new_requirement(key, operator, sorted(values))

    def values_list(self) -> set[str]:
        kind, lit = self.consume()
        if kind != "(":
            raise SelectorError(f"found '{lit}' expected: '('")
        kind, lit = self.lookahead()
        if kind in ("ID", ","):
            vals = self.identifiers()
            k2, _ = self.consume()
            if k2 != ")":
                raise SelectorError(f"found '{lit}', expected: ')'")
            return vals
        if kind == ")":
            self.consume()
            return {""}
        raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")

    def identifiers(self) -> set[str]:
        vals: set[str] = set()
        while True:
            kind, lit = self.consume()
            if kind == "ID":
                vals.add(lit)
                k2, l2 = self.lookahead()
                if k2 == ",":
                    continue
                if k2 == ")":
                    return vals
                raise SelectorError(f"found '{l2}', expected: ',' or ')'")
            if kind == ",":
                if not vals:
                    vals.add("")
                k2, _ = self.lookahead()
                if k2 == ")":
                    vals.add("")
                    return vals
                if k2 == ",":
                    self.consume()
                    vals.add("")
                continue
            raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        kind, _ = self.lookahead()
        if kind in ("EOS", ","):
            return {""}
        kind, lit = self.consume()
        if kind == "ID":
            return {lit}
        raise SelectorError(f"found '{lit}', expected: identifier")


def _new_requirement(key: str, operator: str, values: list[str]) -> Requirement:
    errs: list[str] = []
    kerrs = _qualified_name_errors(key)
    if kerrs:
        errs.append(_invalid("key", key, "; ".join(kerrs)))
    if operator in ("in", "notin") and not values:
        errs.append("values: Invalid value: []string{}: for 'in', 'notin' operators, values set "
                    "can't be empty")
    if operator in ("=", "==", "!=") and len(values) != 1:
        errs.append("values: Invalid value: exact-match compatibility requires one single value")
    if operator in ("gt", "lt"):
        if len(values) != 1:
            errs.append("values: Invalid value: for 'Gt', 'Lt' operators, exactly one value is "
                        "required")
        for i, v in enumerate(values):
            try:
                _go_int64(v)
            except ValueError:
                errs.append(_invalid(f"values[{i}]", v,
                                     "for 'Gt', 'Lt' operators, the value must be an integer"))
    for i, v in enumerate(values):
        verrs = _label_value_errors(v)
        if verrs:
            errs.append(_invalid(f"values[{i}][{key}]", v, "; ".join(verrs)))
    if len(errs) == 1:
        raise SelectorError(errs[0])
    if errs:
        raise SelectorError("[" + ", ".join(errs) + "]")
    return Requirement(key, operator, tuple(values))


def parse_label_selector(text: str) -> LabelSelector:
    """``labels.Parse``: raises :class:`SelectorError` with apimachinery's message."""
    reqs = _Parser(text).parse()
    reqs.sort(key=lambda r: r.key)
    return LabelSelector(tuple(reqs))


# --------------------------------------------------------------------------- field selectors


@dataclass(frozen=True, slots=True)
class FieldTerm:
    field: str
    value: str
    negated: bool = False

    def matches(self, fields: Mapping[str, str]) -> bool:
        have = fields.get(self.field, "")
        return (have != self.value) if self.negated else (have == self.value)

    def __str__(self) -> str:
        return f"{self.field}{'!=' if self.negated else '='}{_escape_field_value(self.value)}"


@dataclass(frozen=True, slots=True)
class FieldSelector:
    terms: tuple[FieldTerm, ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(t.matches(fields) for t in self.terms)

    def empty(self) -> bool:
        return not self.terms

    def value_of(self, field: str) -> str | None:
        """The required value of ``field`` when an ``=`` term pins it (for fast paths)."""
        for t in self.terms:
            if t.field == field and not t.negated:
                return t.value
        return None

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)


def _escape_field_value(s: str) -> str:
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _split_terms(text: str) -> list[str]:
    terms: list[str] = []
    start = 0
    escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    escaped = False
    for i, ch in enumerate(term):
        if escaped:
            escaped = False
            continue
        if ch == "\\":
            escaped = True
            continue
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
    return None


def _unescape_field_value(s: str) -> str:
    """``fields.UnescapeValue``: backslash escapes only for backslash, comma and equals."""
    if "\\" not in s and "=" not in s and "," not in s:
        return s
    out = []
    escaped = False
    for ch in s:
        if escaped:
            if ch not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            raise SelectorError(f"invalid field selector: unescaped character '{ch}'")
        else:
            out.append(ch)
    if escaped:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_field_selector(text: str) -> FieldSelector:
    """``fields.ParseSelector``: terms sorted, ``=``/``==``/``!=`` with backslash escapes."""
    parts = sorted(_split_terms(text))
    terms: list[FieldTerm] = []
    for part in parts:
        if part == "":
            continue
        split = _split_term(part)
        if split is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        lhs, op, rhs = split
        terms.append(FieldTerm(lhs, _unescape_field_value(rhs), negated=(op == "!=")))
    return FieldSelector(tuple(terms))


def check_metadata_fields(selector: FieldSelector) -> None:
    """The generic server's field-label conversion for kinds with no custom fields."""
    for t in selector.terms:
        if t.field not in ("metadata.name", "metadata.namespace"):
            raise SelectorError(
                f'"{t.field}" is not a known field selector: only "metadata.name", '
                '"metadata.namespace"'
            )
