"""Label and field selectors, parsed once and matched against stored objects.

Parsing errors raise :class:`SelectorError` (a ``ValueError``); the REST layer turns them into
400 ``BadRequest`` Status objects with the message text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .kinds import Kind


class SelectorError(ValueError):
    """A selector string that cannot be parsed or names an unsupported field."""


# ---------------------------------------------------------------------------- label selectors

_KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                     r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        # "!=" and "notin" match objects without the key too
        return not present or labels[self.key] not in self.values


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside ``( … )``."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _check_key(key: str) -> str:
    if not key or len(key) > 317 or not _KEY_RE.match(key):
        raise SelectorError(
            f"unable to parse requirement: invalid label key \"{key}\": name part must consist "
            "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character")
    return key


def _check_value(value: str) -> str:
    if len(value) > 63 or not _VALUE_RE.match(value):
        raise SelectorError(
            f"unable to parse requirement: values[0][{value}]: Invalid value: \"{value}\": "
            "a valid label must be an empty string or consist of alphanumeric characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character")
    return value


_SET_RE = re.compile(r"^\s*(\S+?)\s+(in|notin)\s*\((.*)\)\s*$")


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse kube's label selector syntax (``a=b,c!=d,e in (x,y),!f,g``)."""
    if text is None or not text.strip():
        return LabelSelector()
    reqs: list[Requirement] = []
    for raw in _split_top_level(text):
        part = raw.strip()
        if not part:
            raise SelectorError("found '', expected: !, identifier, or 'end of string'")
        m = _SET_RE.match(part)
        if m:
            key, op, inner = m.group(1), m.group(2), m.group(3)
            values = tuple(sorted({_check_value(v.strip()) for v in inner.split(",")}))
            if op == "in" and values == ("",) and inner.strip() == "":
                raise SelectorError("for 'in', 'notin' operators, values set can't be empty")
            reqs.append(Requirement(_check_key(key), op, values))
            continue
        if part.startswith("!"):
            key = part[1:].strip()
            if any(c in key for c in "=!() "):
                raise SelectorError(f"unable to parse requirement: {part}")
            reqs.append(Requirement(_check_key(key), "!"))
            continue
        for token, op in (("!=", "!="), ("==", "="), ("=", "=")):
            if token in part:
                key, _, value = part.partition(token)
                key, value = key.strip(), value.strip()
                if any(c in value for c in "=!(),"):
                    raise SelectorError(f"unable to parse requirement: {part}")
                reqs.append(Requirement(_check_key(key), op, (_check_value(value),)))
                break
        else:
            if any(c in part for c in "()<> "):
                raise SelectorError(f"unable to parse requirement: {part}")
            reqs.append(Requirement(_check_key(part), "exists"))
    return LabelSelector(tuple(reqs))


def selector_from_match_labels(match: Mapping[str, Any] | None) -> LabelSelector:
    """A selector from a ``metav1.LabelSelector`` object (matchLabels + matchExpressions)."""
    if not match:
        return LabelSelector()
    reqs = [Requirement(k, "=", (str(v),)) for k, v in (match.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in match.get("matchExpressions") or []:
        op = ops.get(expr.get("operator", ""))
        if op is None:
            raise SelectorError(f"{expr.get('operator')!r} is not a valid label selector operator")
        reqs.append(Requirement(expr.get("key", ""), op, tuple(expr.get("values") or ())))
    if "matchLabels" not in match and "matchExpressions" not in match:
        # a plain map selector such as Service.spec.selector
        reqs = [Requirement(k, "=", (str(v),)) for k, v in match.items()]
    return LabelSelector(tuple(reqs))


# ---------------------------------------------------------------------------- field selectors


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    op: str  # "=" or "!="
    value: str


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: Mapping[str, Any]) -> bool:
        for req in self.requirements:
            actual = field_value(obj, req.field)
            if (actual == req.value) != (req.op == "="):
                return False
        return True

    def exact(self, name: str) -> str | None:
        """The value of an ``=`` requirement on ``name`` (for index lookups), else None."""
        for req in self.requirements:
            if req.field == name and req.op == "=":
                return req.value
        return None


def _unescape_split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` honouring backslash escapes (``\\,`` ``\\=`` ``\\\\``)."""
    out: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(ch + text[i + 1])
            i += 2
            continue
        if text.startswith(sep, i):
            out.append("".join(cur))
            cur = []
            i += len(sep)
            continue
        cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_field_selector(text: str | None, kind: Kind | None = None) -> FieldSelector:
    """Parse ``a=b,c!=d,e==f``; with ``kind``, reject labels that kind does not support."""
    if text is None or not text.strip():
        return FieldSelector()
    reqs: list[FieldRequirement] = []
    for part in _unescape_split(text, ","):
        if not part:
            continue
        parsed = None
        for token, op in (("!=", "!="), ("==", "="), ("=", "=")):
            pieces = _unescape_split(part, token)
            if len(pieces) == 2:
                parsed = (pieces[0].strip(), op, _unescape(pieces[1]))
                break
        if parsed is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = parsed
        if kind is not None and not kind.supports_field(field):
            raise SelectorError(f"field label not supported: {field}")
        reqs.append(FieldRequirement(field, op, value))
    return FieldSelector(tuple(reqs))


def _get_path(obj: Mapping[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


def _stringify(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_SPECIAL: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "status.podIPs": lambda o: ",".join(
        str(p.get("ip", "")) for p in (_get_path(o, "status.podIPs") or [])),
    "source": lambda o: _stringify(_get_path(o, "source.component")
                                   or o.get("reportingComponent")),
    "spec.unschedulable": lambda o: _stringify(bool(_get_path(o, "spec.unschedulable"))),
    "spec.hostNetwork": lambda o: _stringify(bool(_get_path(o, "spec.hostNetwork"))),
}


def field_value(obj: Mapping[str, Any], field: str) -> str:
    """The string kube-apiserver compares a field selector against (missing → empty)."""
    special = _SPECIAL.get(field)
    if special is not None:
        return special(obj)
    return _stringify(_get_path(obj, field))
