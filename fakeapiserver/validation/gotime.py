"""Go's ``time.Parse`` for the two layouts metav1 decodes, with Go's error messages.

``metav1.Time`` parses RFC 3339 (``2006-01-02T15:04:05Z07:00``) and ``metav1.MicroTime``
``2006-01-02T15:04:05.000000Z07:00``; a bad timestamp in a body is refused with, e.g.,
``parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as
"2006"``. Go's parser is lenient in its own ways (one-digit hours, fractional seconds the
layout does not mention), which this port keeps.
"""

from __future__ import annotations

import re

RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"

#: Each layout as Go's nextStdChunk splits it: (literal prefix, std element).
_CHUNKS = {
    RFC3339: [("", "2006"), ("-", "01"), ("-", "02"), ("T", "15"), (":", "04"), (":", "05"),
              ("", "Z07:00")],
    RFC3339_MICRO: [("", "2006"), ("-", "01"), ("-", "02"), ("T", "15"), (":", "04"),
                    (":", "05"), ("", ".000000"), ("", "Z07:00")],
}
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class TimeError(ValueError):
    """A timestamp Go refuses; ``str()`` is Go's ``*time.ParseError`` text."""


def go_quote(text: str) -> str:
    """time's own quoting: ASCII kept, ``"`` and ``\\`` escaped, the rest as ``\\xNN``."""
    out = ['"']
    for ch in text:
        if ch >= "\x80" or ch < " ":
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            out.append("\\" + ch if ch in '"\\' else ch)
    out.append('"')
    return "".join(out)


class _Bad(Exception):
    pass


def _getnum(s: str, fixed: bool) -> tuple[int, str]:
    if not s[:1].isdigit() or not s[:1].isascii():
        raise _Bad
    if len(s) < 2 or not ("0" <= s[1] <= "9"):
        if fixed:
            raise _Bad
        return int(s[0]), s[1:]
    return int(s[:2]), s[2:]


def _days_in(month: int, year: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS[month - 1]


_USUAL = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?"
                   r"(Z|[+-]\d{2}:\d{2})")


def _usual(layout: str, value: str) -> bool:
    """The common shape, checked in one regex (Go has a fast path for it too)."""
    m = _USUAL.fullmatch(value)
    if m is None or not value.isascii():
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction = m.group(7)
    if layout == RFC3339_MICRO and (fraction is None or len(fraction) != 7):
        return False
    tz = m.group(8)
    return (1 <= month <= 12 and 1 <= day <= _days_in(month, year) and hour < 24
            and minute < 60 and second < 60 and (tz == "Z" or (int(tz[1:3]) <= 24
                                                  and int(tz[4:6]) <= 60)))


def parse_time(layout: str, value: str) -> None:
    """Raise :class:`TimeError` where Go's ``time.Parse(layout, value)`` fails."""
    if _usual(layout, value):
        return
    original = value
    month, day, year = -1, -1, 0

    def fail(elem: str, at: str, message: str = "") -> TimeError:
        if message:
            return TimeError(f"parsing time {go_quote(original)}{message}")
        return TimeError(f"parsing time {go_quote(original)} as {go_quote(layout)}: cannot "
                         f"parse {go_quote(at)} as {go_quote(elem)}")

    chunks = _CHUNKS[layout]
    for index, (prefix, std) in enumerate(chunks):
        for ch in prefix:
            if not value or value[0] != ch:
                raise fail(prefix, value)
            value = value[1:]
        hold, range_error = value, ""
        try:
            if std == "2006":
                digits = value[:4]
                if len(value) < 4 or not value[0].isdigit() or not (
                        digits.isascii() and digits.isdigit()):
                    raise _Bad
                year, value = int(digits), value[4:]
            elif std == "01":
                month, value = _getnum(value, True)
                if not 1 <= month <= 12:
                    range_error = "month"
            elif std == "02":
                day, value = _getnum(value, True)
            elif std == "15":
                hour, value = _getnum(value, False)
                if hour >= 24:
                    range_error = "hour"
            elif std == "04":
                minute, value = _getnum(value, True)
                if minute >= 60:
                    range_error = "minute"
            elif std == "05":
                second, value = _getnum(value, True)
                if second >= 60:
                    range_error = "second"
                elif (len(value) >= 2 and value[0] in ".," and value[1].isdigit()
                      and chunks[index + 1][1] != ".000000"):
                    n = 2
                    while n < len(value) and "0" <= value[n] <= "9":
                        n += 1
                    value = value[n:]  # a fraction the layout does not mention is fine
            elif std == ".000000":
                if len(value) < 7 or value[0] not in ".," or not all(
                        "0" <= c <= "9" for c in value[1:7]):
                    raise _Bad
                value = value[7:]
            else:  # Z07:00
                if value[:1] == "Z":
                    value = value[1:]
                else:
                    if len(value) < 6 or value[3] != ":":
                        raise _Bad
                    sign, hh, mm, value = value[0], value[1:3], value[4:6], value[6:]
                    hours, _ = _getnum(hh, True)
                    minutes, _ = _getnum(mm, True)
                    if hours > 24:
                        range_error = "time zone offset hour"
                    if minutes > 60:
                        range_error = "time zone offset minute"
                    if sign not in "+-":
                        raise _Bad
        except _Bad:
            if range_error:
                raise fail(std, value, f": {range_error} out of range") from None
            raise fail(std, hold) from None
        if range_error:
            raise fail(std, value, f": {range_error} out of range")
    if value:
        raise fail("", value, f": extra text: {go_quote(value)}")
    if day < 1 or day > _days_in(month, year):
        raise fail("", value, ": day out of range")
