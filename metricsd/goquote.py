"""Go's ``strconv.Quote`` (what ``%q`` prints), used wherever upstream quotes a string.

Log values, Status messages, selector errors and parser errors all quote the same way; one
implementation keeps them identical. Surrogate escapes (``\\udc80``-``\\udcff``, how Python
decodes bytes that are not UTF-8 with ``surrogateescape``) stand for raw bytes and print as
``\\xNN``, as Go prints invalid UTF-8.
"""

from __future__ import annotations

_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\v": "\\v", '"': '\\"', "\\": "\\\\"}


def quote(text: str) -> str:
    """``strconv.Quote(text)``: printable characters kept, the rest escaped Go-style."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = ['"']
    for ch in text:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
            continue
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not valid UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)
