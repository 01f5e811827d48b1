"""Timestamps and durations with Go's grammar and nanosecond precision.

Every comparison the HPA makes is on ``time.Time`` values (``Before``/``After`` are strict),
so instants are kept as integer nanoseconds since the Unix epoch, never as floats.
Timestamps parse as RFC 3339 (``2025-06-01T12:00:00Z``, fractional seconds and offsets
allowed; year 1 works, as upstream's tests use the zero time). ``metav1.Time`` serialises at
whole seconds (:func:`format_rfc3339`); the history a controller feeds back keeps
nanoseconds (:func:`format_rfc3339_nano`). Durations accept ``time.ParseDuration`` text
(``5m``, ``1m30s``, ``250ms``) and print like ``Duration.String()`` (``5m0s``).
"""

from __future__ import annotations

import datetime as _dt
import re
from fractions import Fraction

SECOND = 1_000_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})")


class TimeFormatError(ValueError):
    """A timestamp or duration that Go would not parse; ``str()`` says what was expected."""


def parse_rfc3339(text: str) -> int:
    """RFC 3339 text to nanoseconds since the epoch (UTC)."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise TimeFormatError(f"expected an RFC 3339 time such as 2025-06-01T12:00:00Z, "
                              f"got {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7), m.group(8)
    try:
        ordinal = _dt.date(year, month, day).toordinal()
    except ValueError as err:
        raise TimeFormatError(f"invalid date in {text!r}: {err}") from None
    if hour > 23 or minute > 59 or second > 59:
        raise TimeFormatError(f"invalid time of day in {text!r}")
    ns = (((ordinal - _EPOCH_ORDINAL) * 24 + hour) * 60 + minute) * 60 + second
    ns = ns * SECOND + (int(frac.ljust(9, "0")) if frac else 0)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = (int(zone[1:3]) * 60 + int(zone[4:6])) * MINUTE
        ns -= sign * offset
    return ns


def from_datetime(value: _dt.datetime) -> int:
    """A ``datetime`` (naive means UTC, as YAML loaders produce) to epoch nanoseconds."""
    if value.tzinfo is not None:
        value = value.astimezone(_dt.UTC).replace(tzinfo=None)
    days = value.date().toordinal() - _EPOCH_ORDINAL
    secs = (days * 24 + value.hour) * 3600 + value.minute * 60 + value.second
    return secs * SECOND + value.microsecond * 1000


def _civil(ns: int) -> tuple[str, int]:
    secs, frac = divmod(ns, SECOND)
    days, rem = divmod(secs, 86400)
    date = _dt.date.fromordinal(days + _EPOCH_ORDINAL)
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    return f"{date.year:04d}-{date.month:02d}-{date.day:02d}T{hh:02d}:{mm:02d}:{ss:02d}", frac


def format_rfc3339(ns: int) -> str:
    """``metav1.Time`` JSON: UTC, whole seconds (the fraction is dropped, as Go formats it)."""
    text, _ = _civil(ns)
    return text + "Z"


def format_rfc3339_nano(ns: int) -> str:
    """``time.RFC3339Nano``: UTC with the fraction's trailing zeros removed."""
    text, frac = _civil(ns)
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


_DURATION_UNITS = {"ns": 1, "us": 1000, "µs": 1000, "μs": 1000, "ms": 1_000_000,
                   "s": SECOND, "m": MINUTE, "h": HOUR}
_DIGITS = re.compile(r"[0-9]*")


def parse_duration(text: str) -> int:
    """``time.ParseDuration``: ``5m``, ``1m30s``, ``1.5s``, ``0`` … to integer nanoseconds,
    refusing with Go's texts (``time: missing unit in duration "15"``, ``time: unknown unit
    "x" in duration "5x"``, ``time: invalid duration "m"``)."""
    quoted = f'"{text}"'
    bad = TimeFormatError(f"time: invalid duration {quoted}")
    s = text
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise bad
    total = Fraction(0)
    while s:
        if not (s[0] == "." or s[0].isdigit()):
            raise bad
        whole = _DIGITS.match(s).group()  # type: ignore[union-attr]
        s = s[len(whole):]
        frac = ""
        if s[:1] == ".":
            frac = _DIGITS.match(s, 1).group()  # type: ignore[union-attr]
            s = s[1 + len(frac):]
        if not whole and not frac:
            raise bad  # no digits, e.g. ".s"
        end = 0
        while end < len(s) and not (s[end] == "." or s[end].isdigit()):
            end += 1
        if end == 0:
            raise TimeFormatError(f"time: missing unit in duration {quoted}")
        unit_text, s = s[:end], s[end:]
        unit = _DURATION_UNITS.get(unit_text)
        if unit is None:
            raise TimeFormatError(f'time: unknown unit "{unit_text}" in duration {quoted}')
        total += (int(whole or "0") + (Fraction(int(frac), 10 ** len(frac)) if frac else 0)) \
            * unit
    return sign * int(total)


def _fraction_text(value: int, digits: int) -> str:
    whole, frac = divmod(value, 10**digits)
    tail = f"{frac:0{digits}d}".rstrip("0")
    return f"{whole}.{tail}" if tail else str(whole)


def format_duration(ns: int) -> str:
    """``Duration.String()``: ``0s``, ``250ms``, ``30s``, ``5m0s``, ``1h2m3.5s``."""
    if ns == 0:
        return "0s"
    u = abs(ns)
    if u < SECOND:
        if u < 1000:
            text = f"{u}ns"
        elif u < 1_000_000:
            text = _fraction_text(u, 3) + "µs"
        else:
            text = _fraction_text(u, 6) + "ms"
    else:
        secs, frac = divmod(u, SECOND)
        text = _fraction_text((secs % 60) * SECOND + frac, 9) + "s"
        minutes = secs // 60
        if minutes:
            text = f"{minutes % 60}m" + text
            if minutes // 60:
                text = f"{minutes // 60}h" + text
    return "-" + text if ns < 0 else text


def seconds(ns: int) -> float:
    """A duration in seconds, for human-readable traces."""
    return ns / SECOND
