"""A small pflag-like command-line parser: upstream's flag syntax, error texts and help layout.

Users paste metrics-server command lines and compare its error messages, so the parser follows
spf13/pflag (as driven by cobra) rather than argparse: ``--flag=value`` and ``--flag value``,
bools as ``--flag`` / ``--flag=false``, one-letter shorthands (``-v 6``, ``-v=6``, ``-v6``),
string slices as CSV that replace the default on first use and append afterwards, and errors
such as ``unknown flag: --foo`` or ``invalid argument "abc" for "--metric-resolution" flag: …``.
Help lines are laid out the way pflag's ``FlagUsages`` does (sorted, aligned, no wrapping).
"""

from __future__ import annotations

import csv
import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from metricsd.durations import DurationError, parse_duration
from metricsd.klog import go_quote

__all__ = [
    "Flag",
    "FlagError",
    "FlagSet",
    "HelpRequested",
    "ParseResult",
    "go_parse_bool",
    "go_parse_int",
    "go_parse_uint",
]


class FlagError(Exception):
    """A command line pflag would reject; ``str()`` is pflag's message."""


class HelpRequested(Exception):
    """``-h``/``--help`` was given (cobra prints the help on stdout and exits 0)."""


class _ValueError(Exception):
    """A flag value's own parse error (wrapped into pflag's ``invalid argument`` text)."""


def _num_error(func: str, text: str, reason: str) -> _ValueError:
    return _ValueError(f'strconv.{func}: parsing "{_go_strconv_quote(text)}": {reason}')


def _go_strconv_quote(text: str) -> str:
    """The inside of Go's ``strconv.Quote`` (what ``%q`` prints between the quotes)."""
    return go_quote(text)[1:-1]


def go_parse_bool(text: str) -> bool:
    """``strconv.ParseBool``."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise _num_error("ParseBool", text, "invalid syntax")


_BASE_PREFIX = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}


def _parse_uint_digits(func: str, orig: str, text: str, base: int, limit: int) -> int:
    if base == 0:
        base = 10
        underscores_ok = False
        if text[:2] in _BASE_PREFIX and len(text) > 2:
            base = _BASE_PREFIX[text[:2]]
            text = text[2:]
            underscores_ok = True
        elif text.startswith("0") and len(text) > 1:
            base = 8
            text = text[1:]
            underscores_ok = True
        if "_" in text:
            if not underscores_ok or text.startswith("_") or text.endswith("_") or "__" in text:
                raise _num_error(func, orig, "invalid syntax")
            text = text.replace("_", "")
    if not text:
        raise _num_error(func, orig, "invalid syntax")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"[:base]
    value = 0
    for ch in text.lower():
        pos = digits.find(ch)
        if pos < 0:
            raise _num_error(func, orig, "invalid syntax")
        value = value * base + pos
    if value > limit:
        raise _num_error(func, orig, "value out of range")
    return value


def go_parse_int(text: str, base: int = 0, bits: int = 64) -> int:
    """``strconv.ParseInt`` (base 0 understands ``0x``, ``0o``, ``0b``, leading-zero octal)."""
    if not text:
        raise _num_error("ParseInt", text, "invalid syntax")
    neg = text[0] == "-"
    body = text[1:] if text[0] in "+-" else text
    magnitude = _parse_uint_digits("ParseInt", text, body, base, 1 << (bits - 1))
    if not neg and magnitude > (1 << (bits - 1)) - 1:
        raise _num_error("ParseInt", text, "value out of range")
    return -magnitude if neg else magnitude


def go_parse_uint(text: str, base: int = 10, bits: int = 64) -> int:
    """``strconv.ParseUint`` (no sign allowed)."""
    if not text:
        raise _num_error("ParseUint", text, "invalid syntax")
    return _parse_uint_digits("ParseUint", text, text, base, (1 << bits) - 1)


_FLOAT_RE = re.compile(
    r"^[+-]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$",
    re.IGNORECASE,
)


def go_parse_float(text: str) -> float:
    """``strconv.ParseFloat`` for decimal input (hex floats are not supported here)."""
    if not _FLOAT_RE.match(text):
        raise _num_error("ParseFloat", text, "invalid syntax")
    return float(text.replace("_", ""))


# --- value types -------------------------------------------------------------------------


def _bool_value(text: str, current: Any, first: bool) -> bool:
    return go_parse_bool(text)


def _string_value(text: str, current: Any, first: bool) -> str:
    return text


def _int_value(text: str, current: Any, first: bool) -> int:
    return go_parse_int(text, 0, 64)


def _float32_value(text: str, current: Any, first: bool) -> float:
    return go_parse_float(text)


def _duration_value(text: str, current: Any, first: bool) -> int:
    try:
        return parse_duration(text)
    except DurationError as err:
        raise _ValueError(str(err)) from None


def _split_csv(text: str) -> list[str]:
    if text == "":
        return []
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as err:
        raise _ValueError(str(err)) from None
    return rows[0] if rows else []


def _strings_value(text: str, current: Any, first: bool) -> tuple[str, ...]:
    items = tuple(_split_csv(text))
    return items if first else tuple(current) + items


def _ip_value(text: str, current: Any, first: bool) -> str:
    candidate = text.strip()
    try:
        if "%" in candidate:
            raise ValueError(candidate)
        addr = ipaddress.ip_address(candidate)
    except ValueError:
        raise _ValueError(f'failed to parse IP: "{text}"') from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def _named_cert_key_value(text: str, current: Any, first: bool) -> tuple[Any, ...]:
    names: tuple[str, ...] = ()
    keycert, sep, rest = text.partition(":")
    keycert = keycert.strip()
    if sep:
        if rest.strip() == "":
            raise _ValueError("empty names list is not allowed")
        names = tuple(name.strip() for name in rest.strip().split(","))
    parts = keycert.split(",")
    if len(parts) != 2:
        raise _ValueError("expected comma separated certificate and key file paths")
    entry = (parts[0].strip(), parts[1].strip(), names)
    return (entry,) if first else (*current, entry)


_QUANTITY_RE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")


def _quantity_value(text: str, current: Any, first: bool) -> str:
    if not _QUANTITY_RE.match(text.strip()):
        raise _ValueError(
            "quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    return text.strip()


def _level_value(text: str, current: Any, first: bool) -> int:
    return go_parse_uint(text, 10, 31)


def _vmodule_value(text: str, current: Any, first: bool) -> tuple[tuple[str, int], ...]:
    items: list[tuple[str, int]] = [] if first else list(current)
    for pat in text.split(","):
        if not pat:
            continue
        parts = pat.split("=")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise _ValueError(f'"{pat}" does not have the pattern=N format')
        try:
            level = go_parse_uint(parts[1], 10, 31)
        except _ValueError as err:
            raise _ValueError(f'parsing verbosity in "{pat}": {err}') from None
        items.append((parts[0], level))
    return tuple(items)


ValueParser = Callable[[str, Any, bool], Any]

#: Go type name shown in help → parser for ``--flag=value`` text.
VALUE_TYPES: dict[str, ValueParser] = {
    "bool": _bool_value,
    "string": _string_value,
    "int": _int_value,
    "float32": _float32_value,
    "duration": _duration_value,
    "strings": _strings_value,
    "ip": _ip_value,
    "namedCertKey": _named_cert_key_value,
    "quantity": _quantity_value,
    "Level": _level_value,
    "pattern=N,...": _vmodule_value,
}


@dataclass(frozen=True)
class Flag:
    """One flag: its name, Go type, default and help, and where its value lands.

    ``default_text`` is what pflag prints as ``(default …)``; ``None`` when the default is the
    type's zero value (pflag then prints nothing).
    """

    name: str
    type: str
    default: Any
    usage: str
    attr: str
    shorthand: str = ""
    default_text: str | None = None
    implemented: bool = True
    note: str = ""

    def __post_init__(self) -> None:
        if self.type not in VALUE_TYPES:
            raise ValueError(f"flag --{self.name}: unknown type {self.type!r}")

    @property
    def display_name(self) -> str:
        """How pflag names the flag in ``invalid argument`` errors."""
        return f"-{self.shorthand}, --{self.name}" if self.shorthand else f"--{self.name}"

    def parse(self, text: str, current: Any, first: bool) -> Any:
        try:
            return VALUE_TYPES[self.type](text, current, first)
        except _ValueError as err:
            raise FlagError(
                f'invalid argument "{_go_strconv_quote(text)}" for "{self.display_name}" '
                f"flag: {err}"
            ) from None


@dataclass
class ParseResult:
    """Values by attribute name, which flags were given, and the positional arguments."""

    values: dict[str, Any]
    changed: set[str] = field(default_factory=set)
    args: list[str] = field(default_factory=list)
    help: bool = False


@dataclass
class _Section:
    title: str
    flags: list[Flag]


class FlagSet:
    """Named sections of flags (cobra's ``NamedFlagSets``), a parser and the help printer."""

    def __init__(self) -> None:
        self._sections: list[_Section] = []
        self._by_name: dict[str, Flag] = {}
        self._by_short: dict[str, Flag] = {}

    def section(self, title: str, flags: Iterable[Flag]) -> None:
        flag_list = list(flags)
        for flag in flag_list:
            if flag.name in self._by_name or flag.name == "help":
                raise ValueError(f"flag redefined: {flag.name}")
            self._by_name[flag.name] = flag
            if flag.shorthand:
                if flag.shorthand in self._by_short or flag.shorthand == "h":
                    raise ValueError(f"shorthand redefined: {flag.shorthand}")
                self._by_short[flag.shorthand] = flag
        self._sections.append(_Section(title, flag_list))

    @property
    def flags(self) -> list[Flag]:
        return [flag for section in self._sections for flag in section.flags]

    @property
    def sections(self) -> list[tuple[str, list[Flag]]]:
        return [(s.title, list(s.flags)) for s in self._sections]

    def lookup(self, name: str) -> Flag | None:
        return self._by_name.get(name)

    # --- parsing ---------------------------------------------------------------------------

    def parse(self, argv: Sequence[str]) -> ParseResult:
        """Parse like pflag: first error wins and is raised as :class:`FlagError`."""
        result = ParseResult(values={flag.attr: flag.default for flag in self.flags})
        args = list(argv)
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if len(arg) < 2 or arg[0] != "-":
                result.args.append(arg)
                continue
            if arg == "--":
                result.args.extend(args[i:])
                break
            if arg.startswith("--"):
                i = self._parse_long(arg, args, i, result)
            else:
                i = self._parse_short(arg, args, i, result)
        return result

    def _set(self, flag: Flag, text: str, result: ParseResult) -> None:
        first = flag.name not in result.changed
        result.values[flag.attr] = flag.parse(text, result.values[flag.attr], first)
        result.changed.add(flag.name)

    def _parse_long(self, arg: str, args: list[str], i: int, result: ParseResult) -> int:
        name = arg[2:]
        if not name or name[0] in "-=":
            raise FlagError(f"bad flag syntax: {arg}")
        name, has_value, value = name.partition("=")
        flag = self._by_name.get(name)
        if flag is None:
            if name == "help":
                if has_value:
                    try:
                        result.help = go_parse_bool(value)
                    except _ValueError as err:
                        raise FlagError(
                            f'invalid argument "{_go_strconv_quote(value)}" for "-h, --help" '
                            f"flag: {err}"
                        ) from None
                else:
                    result.help = True
                return i
            raise FlagError(f"unknown flag: --{name}")
        if has_value:
            self._set(flag, value, result)
        elif flag.type == "bool":
            self._set(flag, "true", result)
        elif i < len(args):
            self._set(flag, args[i], result)
            i += 1
        else:
            raise FlagError(f"flag needs an argument: {arg}")
        return i

    def _parse_short(self, arg: str, args: list[str], i: int, result: ParseResult) -> int:
        shorthands = arg[1:]
        while shorthands:
            c = shorthands[0]
            flag = self._by_short.get(c)
            if flag is None:
                if c == "h":
                    result.help = True
                    shorthands = shorthands[1:]
                    continue
                raise FlagError(f"unknown shorthand flag: '{c}' in -{shorthands}")
            rest = shorthands[1:]
            if rest.startswith("="):
                self._set(flag, rest[1:], result)
                return i
            if flag.type == "bool":
                self._set(flag, "true", result)
                shorthands = rest
                continue
            if rest:
                self._set(flag, rest, result)
                return i
            if i < len(args):
                self._set(flag, args[i], result)
                return i + 1
            raise FlagError(f"flag needs an argument: '{c}' in -{shorthands}")
        return i

    # --- help ------------------------------------------------------------------------------

    @staticmethod
    def usage_lines(flags: Iterable[Flag]) -> str:
        """pflag's ``FlagUsages`` for one section: sorted, aligned, multi-line usage indented."""
        rows: list[tuple[str, str]] = []
        for flag in sorted(flags, key=lambda f: f.name):
            if flag.shorthand:
                left = f"  -{flag.shorthand}, --{flag.name}"
            else:
                left = f"      --{flag.name}"
            if flag.type != "bool":
                left += " " + flag.type
            usage = flag.usage
            if flag.default_text is not None:
                usage += f" (default {flag.default_text})"
            rows.append((left, usage))
        width = max((len(left) for left, _ in rows), default=0) + 1
        out = []
        for left, usage in rows:
            usage = usage.replace("\n", "\n" + " " * (width + 2))
            out.append(f"{left}{' ' * (width - len(left) + 1)} {usage}\n")
        return "".join(out)

    def sections_text(self) -> str:
        """Every section as cobra's ``PrintSections`` lays it out (no terminal wrapping)."""
        parts = []
        for section in self._sections:
            if not section.flags:
                continue
            parts.append(f"\n{section.title} flags:\n\n{self.usage_lines(section.flags)}")
        return "".join(parts)

