"""Go ``time.Duration`` parsing and formatting on integer nanoseconds.

Flags, validation messages, log lines and API windows all show durations the way Go prints
them (``1m0s``, ``14.998s``, ``500ms``); users compare those strings against upstream's, so
the grammar, the rounding and the error texts follow Go's ``time`` package exactly.
Integer nanoseconds (never floats) keep comparisons such as ``resolution*9/10 < timeout``
exact.
"""

from __future__ import annotations

__all__ = [
    "HOUR",
    "MICROSECOND",
    "MILLISECOND",
    "MINUTE",
    "NANOSECOND",
    "SECOND",
    "DurationError",
    "format_duration",
    "format_seconds",
    "go_quote",
    "parse_duration",
]

NANOSECOND = 1
MICROSECOND = 1000 * NANOSECOND
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_MAX_INT64 = (1 << 63) - 1
_LIMIT = 1 << 63  # Go accumulates into a uint64 bounded by 1<<63

_UNITS: dict[str, int] = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "µs": MICROSECOND,  # U+00B5 micro sign
    "μs": MICROSECOND,  # U+03BC Greek small letter mu
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}


class DurationError(ValueError):
    """A duration string Go's ``time.ParseDuration`` would reject; ``str()`` is Go's text."""


def go_quote(s: str) -> str:
    """Quote ``s`` the way Go's ``time`` package does in its error messages.

    Printable ASCII is kept (``"`` and ``\\`` escaped); control characters and every byte of a
    non-ASCII character become ``\\xNN``.
    """
    out = ['"']
    for ch in s:
        if ord(ch) >= 0x80 or ch < " ":
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            if ch in ('"', "\\"):
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


def _invalid(orig: str) -> DurationError:
    return DurationError("time: invalid duration " + go_quote(orig))


def _is_digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def parse_duration(text: str) -> int:
    """Parse a Go duration (``[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+`` or ``0``) to nanoseconds.

    Raises :class:`DurationError` with Go's exact message on bad input.
    """
    orig = text
    s = text
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise _invalid(orig)
    total = 0
    while s:
        if not (s[0] == "." or _is_digit(s[0])):
            raise _invalid(orig)
        # leading integer
        i = 0
        v = 0
        while i < len(s) and _is_digit(s[i]):
            if v > _LIMIT // 10:
                raise _invalid(orig)
            v = v * 10 + (ord(s[i]) - 48)
            if v > _LIMIT:
                raise _invalid(orig)
            i += 1
        pre = i > 0
        s = s[i:]
        # optional fraction
        f = 0
        scale = 1.0
        post = False
        if s and s[0] == ".":
            s = s[1:]
            i = 0
            overflow = False
            while i < len(s) and _is_digit(s[i]):
                if not overflow:
                    if f > _MAX_INT64 // 10:
                        overflow = True
                    else:
                        y = f * 10 + (ord(s[i]) - 48)
                        if y > _LIMIT:
                            overflow = True
                        else:
                            f = y
                            scale *= 10
                i += 1
            post = i > 0
            s = s[i:]
        if not pre and not post:
            raise _invalid(orig)
        # unit: everything up to the next digit or dot
        i = 0
        while i < len(s) and not (s[i] == "." or _is_digit(s[i])):
            i += 1
        if i == 0:
            raise DurationError("time: missing unit in duration " + go_quote(orig))
        unit_text = s[:i]
        s = s[i:]
        unit = _UNITS.get(unit_text)
        if unit is None:
            raise DurationError(
                "time: unknown unit " + go_quote(unit_text) + " in duration " + go_quote(orig)
            )
        if v > _LIMIT // unit:
            raise _invalid(orig)
        v *= unit
        if f > 0:
            # Go does this step in float64, truncating toward zero; so do we.
            v += int(float(f) * (float(unit) / scale))
            if v > _LIMIT:
                raise _invalid(orig)
        total += v
        if total > _LIMIT:
            raise _invalid(orig)
    if neg:
        return -total
    if total > _MAX_INT64:
        raise _invalid(orig)
    return total


def _frac(u: int, prec: int) -> tuple[str, int]:
    """Go's fmtFrac: ``.ddd`` of ``u / 10**prec`` without trailing zeros, and the quotient."""
    digits = []
    printed = False
    for _ in range(prec):
        digit = u % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        u //= 10
    if printed:
        return "." + "".join(reversed(digits)), u
    return "", u


def format_duration(ns: int) -> str:
    """Format integer nanoseconds exactly like Go's ``Duration.String()``.

    ``0`` → ``0s``; below one second the largest fitting unit of ns/µs/ms is used
    (``500ms``, ``1.5µs``); otherwise ``[<h>h][<m>m]<s>[.<frac>]s`` (``1m0s``, ``1h0m0s``).
    Values are taken modulo int64 like a Go ``Duration``.
    """
    ns = ((ns + _LIMIT) % (1 << 64)) - _LIMIT  # wrap to int64
    neg = ns < 0
    u = -ns if neg else ns
    if u == 0:
        return "0s"
    if u < SECOND:
        if u < MICROSECOND:
            text = f"{u}ns"
        elif u < MILLISECOND:
            frac, whole = _frac(u, 3)
            text = f"{whole}{frac}µs"
        else:
            frac, whole = _frac(u, 6)
            text = f"{whole}{frac}ms"
    else:
        frac, secs = _frac(u, 9)
        text = f"{secs % 60}{frac}s"
        minutes = secs // 60
        if minutes > 0:
            text = f"{minutes % 60}m{text}"
            hours = minutes // 60
            if hours > 0:
                text = f"{hours}h{text}"
    return "-" + text if neg else text


def format_seconds(seconds: float) -> str:
    """Format float seconds (e.g. a measured latency) as Go would print the Duration."""
    return format_duration(round(seconds * SECOND))
