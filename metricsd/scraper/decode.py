"""Decode a kubelet ``/metrics/resource`` body into a :class:`MetricsBatch`, as metrics-server does.

Upstream runs the Prometheus text parser over the body and keeps five families
(``node_cpu_usage_seconds_total``, ``node_memory_working_set_bytes``,
``container_cpu_usage_seconds_total``, ``container_memory_working_set_bytes``,
``container_start_time_seconds``); everything else is ignored, but any parse error anywhere
fails the whole node with ``failed parsing metrics: <err>``.

Two parsers live here and must agree:

* a **fast path** that handles the lines a kubelet actually writes with one compiled regex
  per line (plus a per-batch cache of label blocks), and
* a **faithful path** that emulates the Prometheus lexer/parser state by state (whitespace
  rules, label-value escapes spanning lines, NUL as end of input, ``foo-1`` lexing as name
  ``foo`` with value ``-1``, Go's float/int syntax and its error texts).

The fast path hands the whole body to the faithful path as soon as a line is not of the
simple shape, so unusual-but-valid input decodes identically and errors carry the parser's
text.  Neither path raises anything but :class:`DecodeError`.

The fast path itself first tries the optional compiled accelerator ``metricsd.scraper._scan``
(``_scan.c``, built by ``setup.py``): it yields exactly the fast path's result or declines, and
then the Python code below runs unchanged.  :data:`ACCELERATED` says whether it is in use;
``METRICSD_PURE_PYTHON=1`` (read at import) turns it off.  See ``docs/metricsd-decoder.md``.

Deliberate choices where upstream's behaviour is undefined (documented in
``docs/metricsd-storage-and-api.md``): NaN/±Inf/negative CPU or memory values count as 0
(so the node/pod is dropped as incomplete, as on arm64); finite values beyond ``2^64`` saturate;
a container series whose label block lacks ``container="``/``pod="``/``namespace="`` such that
Go would slice out of bounds (a panic upstream) fails the node with a clear error instead.
"""

from __future__ import annotations

import importlib
import math
import os
import re
from collections.abc import Callable, Iterator

from metricsd.goquote import quote
from metricsd.scraper.batch import (
    ZERO_TIME_NS,
    LogFn,
    MetricsBatch,
    MetricsPoint,
    PodKey,
    PodMetricsPoint,
    no_log,
    pod_ref,
)

__all__ = ["ACCELERATED", "DecodeError", "clear_caches", "decode_batch", "go_quote_bytes"]

NODE_CPU = "node_cpu_usage_seconds_total"
NODE_MEM = "node_memory_working_set_bytes"
CONTAINER_CPU = "container_cpu_usage_seconds_total"
CONTAINER_MEM = "container_memory_working_set_bytes"
CONTAINER_START = "container_start_time_seconds"

_F_NODE_CPU, _F_NODE_MEM, _F_CPU, _F_MEM, _F_START = range(5)
_FAMILIES: dict[str, int] = {
    NODE_CPU: _F_NODE_CPU,
    NODE_MEM: _F_NODE_MEM,
    CONTAINER_CPU: _F_CPU,
    CONTAINER_MEM: _F_MEM,
    CONTAINER_START: _F_START,
}

_U64_MAX = (1 << 64) - 1
_I64_MAX = (1 << 63) - 1
_I64_MIN = -(1 << 63)
_TWO64 = float(1 << 64)
_TWO63 = float(1 << 63)
_INF = math.inf
_NINF = -math.inf
_NAMES = (NODE_CPU, NODE_MEM, CONTAINER_CPU, CONTAINER_MEM, CONTAINER_START)


class DecodeError(ValueError):
    """The body could not be decoded; ``str()`` is upstream's ``failed parsing metrics: …``."""


class _ParseError(Exception):
    """A Prometheus-parser error (text without the ``failed parsing metrics:`` prefix)."""


class _Fallback(Exception):
    """The fast path met a line it does not handle: rerun the faithful parser."""


# ---------------------------------------------------------------------------------------------
# Go quoting and number parsing


go_quote_bytes = quote  # strconv.Quote of a byte string (surrogate escapes = raw bytes)


_GO_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GO_INF = re.compile(r"[+-]?(?:inf|infinity)", re.IGNORECASE)
_GO_NAN = re.compile(r"nan", re.IGNORECASE)


def _go_parse_float(s: str) -> float:
    """Prometheus' ``parseFloat``: Go ``strconv.ParseFloat`` minus hex floats and underscores."""
    if "p" in s or "P" in s or "_" in s:
        raise _ParseError("unsupported character in float")
    if _GO_DECIMAL.fullmatch(s):
        v = float(s)
        if math.isinf(v):
            quoted = go_quote_bytes(s)
            raise _ParseError(f"strconv.ParseFloat: parsing {quoted}: value out of range")
        return v
    if _GO_INF.fullmatch(s):
        return -math.inf if s[0] == "-" else math.inf
    if _GO_NAN.fullmatch(s):
        return math.nan
    raise _ParseError(f"strconv.ParseFloat: parsing {go_quote_bytes(s)}: invalid syntax")


def _go_parse_int64(s: str) -> int:
    v = int(s)  # the lexer only lets ASCII digits through
    if v > _I64_MAX:
        raise _ParseError(f"strconv.ParseInt: parsing {go_quote_bytes(s)}: value out of range")
    return v


def _ms_to_ns(ms: int) -> int:
    """``time.Unix(0, ms*1e6)`` including Go's int64 wrap-around for absurd timestamps."""
    ns = ms * 1_000_000
    if ns > _I64_MAX:
        ns = (ns - _I64_MIN) % (1 << 64) + _I64_MIN
    return ns


def _to_u64_ns(value: float) -> int:
    """``uint64(value * 1e9)`` with the arm64-like choice: NaN/±Inf/negative → 0, saturate."""
    if value != value or value <= 0.0 or value == math.inf:
        return 0
    x = value * 1e9
    if x >= _TWO64:
        return _U64_MAX
    return int(x)


def _to_u64(value: float) -> int:
    """``uint64(value)`` with the same choice as :func:`_to_u64_ns`."""
    if value != value or value <= 0.0 or value == math.inf:
        return 0
    if value >= _TWO64:
        return _U64_MAX
    return int(value)


def _to_i64_ns(value: float) -> int:
    """``int64(value * 1e9)`` for start times: NaN/±Inf → 0, saturate to the int64 range."""
    if value != value or value in (math.inf, -math.inf):
        return 0
    x = value * 1e9
    if x >= _TWO63:
        return _I64_MAX
    if x < -_TWO63:
        return _I64_MIN
    return int(x)


# ---------------------------------------------------------------------------------------------
# Label lookup, as upstream: substring search in the raw label block, no unescaping.

_TAG_CONTAINER = 'container="'
_TAG_POD = 'pod="'
_TAG_NAMESPACE = 'namespace="'


def _go_label(labels: str, tag: str, family: int) -> str:
    """``labels[i:i+j]`` after Go's ``bytes.Index``; a missing tag reads garbage as upstream.

    Where Go would slice out of bounds (a panic upstream) the node fails instead.
    """
    i = labels.find(tag)
    i = (i if i >= 0 else -1) + len(tag)
    j = labels.find('"', i) if i <= len(labels) else -1
    if j < 0:
        series = go_quote_bytes(_NAMES[family] + labels)
        raise DecodeError(f"failed parsing metrics: series {series} has no {tag[:-2]} label")
    return labels[i:j]


_CANONICAL_BLOCK = re.compile(r'\{container="([^"]*)",namespace="([^"]*)",pod="([^"]*)"\}')


def _container_ref(labels: str, family: int) -> tuple[PodKey, str]:
    m = _CANONICAL_BLOCK.fullmatch(labels)
    if m is not None:  # the kubelet's own shape: same answer as the substring search
        return (m.group(2), m.group(3)), m.group(1)
    container = _go_label(labels, _TAG_CONTAINER, family)
    pod = _go_label(labels, _TAG_POD, family)
    namespace = _go_label(labels, _TAG_NAMESPACE, family)
    return (namespace, pod), container


# ---------------------------------------------------------------------------------------------
# The decoder


class _Acc:
    """Accumulates samples in arrival order (later lines overwrite, as upstream)."""

    __slots__ = ("default_ms", "node", "node_seen", "pods", "refs")

    def __init__(self, default_ms: int) -> None:
        self.default_ms = default_ms
        self.node = MetricsPoint()
        self.node_seen = False
        self.pods: dict[PodKey, dict[str, MetricsPoint]] = {}
        self.refs: dict[str, tuple[PodKey, str]] = {}

    def container(self, labels: str, family: int) -> MetricsPoint:
        ref = self.refs.get(labels)
        if ref is None:
            ref = self.refs[labels] = _container_ref(labels, family)
        key, name = ref
        containers = self.pods.get(key)
        if containers is None:
            containers = self.pods[key] = {}
        point = containers.get(name)
        if point is None:
            point = containers[name] = MetricsPoint()
        return point

    def apply(self, family: int, labels: str, value: float, ts_ms: int | None) -> None:
        ts = _ms_to_ns(self.default_ms if ts_ms is None else ts_ms)
        if family == _F_NODE_CPU:
            self.node.cumulative_cpu_used = _to_u64_ns(value)
            self.node.timestamp = ts
            self.node_seen = True
        elif family == _F_NODE_MEM:
            self.node.memory_usage = _to_u64(value)
            self.node.timestamp = ts
            self.node_seen = True
        else:
            point = self.container(labels, family)
            if family == _F_CPU:
                point.cumulative_cpu_used = _to_u64_ns(value)
                point.timestamp = ts
            elif family == _F_MEM:
                point.memory_usage = _to_u64(value)
                point.timestamp = ts
            else:
                point.start_time = _to_i64_ns(value)

    def finish(self, node_name: str, log: LogFn) -> MetricsBatch:
        batch = MetricsBatch()
        node = self.node
        if not self.node_seen or node.cumulative_cpu_used == 0 or node.memory_usage == 0:
            log(1, "Failed getting complete node metric", node=node_name, metric=node.go_json())
        else:
            batch.nodes[node_name] = node
        pods = batch.pods
        for key, containers in self.pods.items():
            complete = True
            for cname, point in containers.items():
                if point.cumulative_cpu_used == 0 or point.memory_usage == 0:
                    log(
                        1,
                        "Failed getting complete container metric",
                        containerName=cname,
                        containerMetric=point.go_json(),
                    )
                    complete = False
                    break
            if complete:
                pods[key] = PodMetricsPoint(containers)
            else:
                log(1, "Failed getting complete Pod metric", pod=pod_ref(key))
        return batch


# The fast line shape: a loose label block (checked strictly once per distinct block below).
_FAST_LINE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9eE.+-]+)(?: ([0-9]{1,18}))?")
_FAST_BLOCK = re.compile(r'\{(?:[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*",?)*\}')
_MNAME_FULL = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_TYPES = frozenset(("counter", "gauge", "histogram", "summary", "untyped"))


def _fast_comment_ok(line: str) -> bool:
    """True when a ``#`` line is certainly accepted as-is (else the faithful path decides)."""
    if line.startswith("# TYPE "):
        parts = line[7:].split(" ")
        return len(parts) == 2 and _MNAME_FULL.fullmatch(parts[0]) is not None and (
            parts[1] in _TYPES
        )
    if line.startswith("# HELP "):
        name = line[7:].split(" ", 1)[0]
        return _MNAME_FULL.fullmatch(name) is not None
    # Any other comment is skipped, unless it could be a HELP/TYPE with odd spacing.
    if len(line) > 1 and line[1] in " \t":
        rest = line[1:].lstrip(" \t")
        return not (rest.startswith("HELP") or rest.startswith("TYPE"))
    return True


# Caches shared across scrapes: the same comment lines and label blocks come back every tick,
# so their (pure) validation and label lookup is done once.  Bounded by a crude reset.
_CACHE_LIMIT = 500_000
_GOOD_COMMENTS: set[str] = set()
_GOOD_BLOCKS: set[str] = set()
_REFS: dict[str, tuple[PodKey, str]] = {}


def clear_caches() -> None:
    """Forget the cross-scrape caches (benchmarks use it to time a cold first scrape)."""
    _GOOD_BLOCKS.clear()
    _REFS.clear()
    _GOOD_COMMENTS.clear()


def _trim_caches() -> None:
    if len(_GOOD_BLOCKS) > _CACHE_LIMIT or len(_REFS) > _CACHE_LIMIT:
        _GOOD_BLOCKS.clear()
        _REFS.clear()
    if len(_GOOD_COMMENTS) > _CACHE_LIMIT:
        _GOOD_COMMENTS.clear()


# The compiled accelerator: scan(text, default_ms, refs, ref_fn, point_cls, zero_time) returns
# (node_seen, node_cpu, node_memory, node_timestamp, pods) or None to decline.
_ScanResult = tuple[bool, int, int, int, dict[PodKey, dict[str, MetricsPoint]]] | None
_ScanFn = Callable[
    [
        str,
        int,
        dict[str, tuple[PodKey, str]],
        Callable[[str, int], tuple[PodKey, str]],
        type[MetricsPoint],
        int,
    ],
    _ScanResult,
]


def _load_accelerator() -> _ScanFn | None:
    """The C ``scan`` unless ``METRICSD_PURE_PYTHON`` is set (not ``0``) or it was not built."""
    if os.environ.get("METRICSD_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        module = importlib.import_module("metricsd.scraper._scan")
    except ImportError:
        return None
    scan: _ScanFn = module.scan
    return scan


_accel: _ScanFn | None = _load_accelerator()
ACCELERATED: bool = _accel is not None
"""Whether the compiled accelerator decodes kubelet bodies (fixed at import)."""


def _decode_fast(text: str, acc: _Acc) -> None:
    """The hot loop: everything inlined, one regex per line, cached label-block work.

    The accelerator, when loaded, does the same work in C; when it declines (unusual input)
    the loop below runs as if it did not exist.
    """
    _trim_caches()
    accel = _accel
    if accel is not None:
        found = accel(text, acc.default_ms, _REFS, _container_ref, MetricsPoint, ZERO_TIME_NS)
        if found is not None:
            seen, cpu, memory, timestamp, acc.pods = found
            if seen:
                node = acc.node
                node.cumulative_cpu_used = cpu
                node.memory_usage = memory
                node.timestamp = timestamp
                acc.node_seen = True
            return
    fast = _FAST_LINE.fullmatch
    block_ok = _FAST_BLOCK.fullmatch
    families = _FAMILIES
    good_comments = _GOOD_COMMENTS
    good_blocks = _GOOD_BLOCKS
    refs = _REFS
    pods = acc.pods
    points: dict[str, MetricsPoint] = {}
    node = acc.node
    default_ns = _ms_to_ns(acc.default_ms)
    two64 = _TWO64
    i64max = _I64_MAX
    f_cpu, f_mem, f_start, f_node_cpu = _F_CPU, _F_MEM, _F_START, _F_NODE_CPU
    for line in text.split("\n"):
        if not line:
            continue
        if line[0] == "#":
            if line in good_comments:
                continue
            if _fast_comment_ok(line):
                good_comments.add(line)
                continue
            raise _Fallback
        m = fast(line)
        if m is None:
            raise _Fallback
        name, labels, value_text, ts_text = m.groups()
        if labels is not None and labels not in good_blocks:
            if block_ok(labels) is None:
                raise _Fallback
            good_blocks.add(labels)
        try:
            value = float(value_text)
        except ValueError:
            raise _Fallback from None
        if value - value != 0.0:
            raise _Fallback  # ±Inf from 1e400: the faithful path words the range error
        family = families.get(name)
        if family is None:
            continue
        if ts_text is None:
            ts = default_ns
        else:
            ts = int(ts_text) * 1_000_000
            if ts > i64max:
                ts = _ms_to_ns(int(ts_text))
        if family <= _F_NODE_MEM:  # the two node families come first
            if family == f_node_cpu:
                x = value * 1e9
                node.cumulative_cpu_used = (int(x) if x < two64 else _U64_MAX) if x > 0 else 0
            else:
                node.memory_usage = (int(value) if value < two64 else _U64_MAX) if value > 0 else 0
            node.timestamp = ts
            acc.node_seen = True
            continue
        block = labels or ""
        point = points.get(block)
        if point is None:
            ref = refs.get(block)
            if ref is None:
                ref = refs[block] = _container_ref(block, family)
            key, cname = ref
            containers = pods.get(key)
            if containers is None:
                containers = pods[key] = {}
            point = containers.get(cname)
            if point is None:
                point = containers[cname] = MetricsPoint()
            points[block] = point
        if family == f_cpu:
            x = value * 1e9
            point.cumulative_cpu_used = (int(x) if x < two64 else _U64_MAX) if x > 0 else 0
            point.timestamp = ts
        elif family == f_mem:
            point.memory_usage = (int(value) if value < two64 else _U64_MAX) if value > 0 else 0
            point.timestamp = ts
        elif family == f_start:
            point.start_time = _to_i64_ns(value)


# ---------------------------------------------------------------------------------------------
# The faithful path: Prometheus text lexer/parser emulation (model/textparse promlex/promparse).

_WS = re.compile(r"[ \t]*")
_MNAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LNAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_LVALUE = re.compile(r'"(?:\\.|[^\\"])*"', re.DOTALL)
_VALUE = re.compile(r"[^{ \t\n]+")
_DIGITS = re.compile(r"[0-9]+")
_HELP_TYPE = re.compile(r"(HELP|TYPE)[ \t]+")
_HASH_WS = re.compile(r"#[ \t]+")


class _Lexer:
    """Just enough of promlex to reproduce its tokens for the parser's error messages."""

    __slots__ = ("buf", "n")

    def __init__(self, buf: str) -> None:
        self.buf = buf
        self.n = len(buf)

    def skip_ws(self, pos: int) -> int:
        m = _WS.match(self.buf, pos)
        return m.end() if m else pos

    def token_at(self, state: str, pos: int) -> tuple[str, int]:
        """The token the lexer would return at ``pos`` in ``state``: (name, end)."""
        buf = self.buf
        if pos >= self.n:
            return "EOF", pos
        c = buf[pos]
        if state == "labels":
            if c == "}":
                return "BCLOSE", pos + 1
            if c == "=":
                return "EQUAL", pos + 1
            if c == ",":
                return "COMMA", pos + 1
            m = _LNAME.match(buf, pos)
            if m:
                return "LNAME", m.end()
        elif state == "lvalue":
            m = _LVALUE.match(buf, pos)
            if m:
                return "LVALUE", m.end()
        elif state == "value":
            if c == "{":
                return "BOPEN", pos + 1
            m = _VALUE.match(buf, pos)
            if m:
                return "VALUE", m.end()
        elif state == "timestamp":
            if c == "\n":
                return "LINEBREAK", pos + 1
            m = _DIGITS.match(buf, pos)
            if m:
                return "TIMESTAMP", m.end()
        elif state == "meta1":
            m = _MNAME.match(buf, pos)
            if m:
                return "MNAME", m.end()
        elif state == "init":
            if c == "\n":
                return "LINEBREAK", pos + 1
            if c == "\x00":
                return "EOF", pos
            m = _MNAME.match(buf, pos)
            if m:
                return "MNAME", m.end()
        return "INVALID", pos

    def error(self, exp: str, state: str, tok_start: int, line_start: int) -> _ParseError:
        name, end = self.token_at(state, tok_start)
        i = end if name != "INVALID" else tok_start
        e = min(self.n, i + 1)
        got = self.buf[tok_start:e]
        return _ParseError(
            f"{exp}, got {go_quote_bytes(got)} ({go_quote_bytes(name)}) "
            f"while parsing: {go_quote_bytes(self.buf[line_start:e])}"
        )


def _has_bad_utf8(s: str) -> bool:
    return any(0xDC80 <= ord(ch) <= 0xDCFF for ch in s)


def _parse_faithful(text: str) -> Iterator[tuple[str, float, int | None]]:
    """Yield ``(series, value, timestamp_ms|None)`` for every sample; raise :class:`_ParseError`."""
    buf = text + "\n"
    lx = _Lexer(buf)
    n = len(buf)
    pos = 0
    while True:
        start = pos
        pos = lx.skip_ws(pos)
        if pos >= n or buf[pos] == "\x00":
            return
        c = buf[pos]
        if c == "\n":
            pos += 1
            continue
        if c == "#":
            pos = _parse_comment(lx, start, pos)
            if pos < 0:
                return
            continue
        m = _MNAME.match(buf, pos)
        if m is None:
            raise lx.error("expected a valid start token", "init", pos, start)
        p = lx.skip_ws(m.end())
        if p < n and buf[p] == "{":
            p = _parse_labels(lx, p + 1, start)
            series_end = p
            p = lx.skip_ws(p)
        else:
            series_end = m.end()
        series = buf[start:series_end]
        vm = _VALUE.match(buf, p) if p < n and buf[p] != "{" else None
        if vm is None:
            raise lx.error("expected value after metric", "value", p, start)
        try:
            value = _go_parse_float(vm.group())
        except _ParseError as err:
            line = go_quote_bytes(buf[start : vm.end()])
            raise _ParseError(f"{err} while parsing: {line}") from None
        p = lx.skip_ws(vm.end())
        ts: int | None = None
        if buf[p] == "\n":
            pos = p + 1
        else:
            dm = _DIGITS.match(buf, p)
            if dm is None:
                raise lx.error("expected timestamp or new record", "timestamp", p, start)
            try:
                ts = _go_parse_int64(dm.group())
            except _ParseError as err:
                raise _ParseError(
                    f"{err} while parsing: {go_quote_bytes(buf[start:dm.end()])}"
                ) from None
            p = lx.skip_ws(dm.end())
            if buf[p] != "\n":
                raise lx.error("expected next entry after timestamp", "timestamp", p, start)
            pos = p + 1
        yield series, value, ts


def _parse_labels(lx: _Lexer, p: int, start: int) -> int:
    """Parse the label block after ``{``; returns the position after ``}``."""
    buf = lx.buf
    p = lx.skip_ws(p)
    while True:
        if buf[p] == "}":
            return p + 1
        m = _LNAME.match(buf, p)
        if m is None:
            raise lx.error("expected label name", "labels", p, start)
        p = lx.skip_ws(m.end())
        if buf[p] != "=":
            raise lx.error("expected equal", "labels", p, start)
        p = lx.skip_ws(p + 1)
        vm = _LVALUE.match(buf, p)
        if vm is None:
            raise lx.error("expected label value", "lvalue", p, start)
        if _has_bad_utf8(vm.group()):
            raise _ParseError(f"invalid UTF-8 label value: {go_quote_bytes(vm.group())}")
        p = lx.skip_ws(vm.end())
        if buf[p] == ",":
            p = lx.skip_ws(p + 1)


def _parse_comment(lx: _Lexer, start: int, pos: int) -> int:
    """Handle a ``#`` line; returns the next line's position, or -1 for end of input."""
    buf = lx.buf
    eol = buf.find("\n", pos)
    hm = _HASH_WS.match(buf, pos)
    if hm is None:
        # A bare '#': consumeComment in the initial state, where a NUL byte means EOF.
        return -1 if "\x00" in buf[pos:eol] else eol + 1
    km = _HELP_TYPE.match(buf, hm.end())
    if km is None:
        return eol + 1  # an ordinary comment
    kind = km.group(1)
    nm = _MNAME.match(buf, km.end())
    if nm is None:
        raise lx.error(f"expected metric name after {kind}", "meta1", km.end(), start)
    rest = buf[nm.end():eol]
    text = "" if rest.strip(" \t") == "" else rest[1:]
    if kind == "TYPE":
        if text not in _TYPES:
            raise _ParseError(f"invalid metric type {go_quote_bytes(text)}")
    elif _has_bad_utf8(text):
        raise _ParseError(f"help text {go_quote_bytes(text)} is not a valid utf8 string")
    return eol + 1


def _decode_faithful(text: str, acc: _Acc) -> None:
    families = _FAMILIES
    for series, value, ts in _parse_faithful(text):
        # Upstream's exact-match rule on the raw series text.
        brace = series.find("{")
        name = series if brace < 0 else series[:brace]
        family = families.get(name)
        if family is None:
            continue
        acc.apply(family, series[len(name):], value, ts)


def decode_batch(
    body: bytes,
    default_time_ns: int,
    node_name: str,
    log: LogFn = no_log,
) -> MetricsBatch:
    """Decode one kubelet response.

    ``default_time_ns`` is the request time; samples without their own timestamp get it
    truncated to milliseconds.  The batch holds the node (keyed by ``node_name``) if it has
    non-zero CPU and memory, and every pod whose containers all have non-zero CPU and memory.
    Raises :class:`DecodeError` (``failed parsing metrics: …``) on any parse error.
    """
    default_ms = default_time_ns // 1_000_000
    acc = _Acc(default_ms)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", "surrogateescape")
        fast = False
    else:
        fast = "\x00" not in text
    try:
        if fast:
            try:
                _decode_fast(text, acc)
            except _Fallback:
                acc = _Acc(default_ms)
                _decode_faithful(text, acc)
        else:
            _decode_faithful(text, acc)
    except _ParseError as err:
        raise DecodeError(f"failed parsing metrics: {err}") from None
    except DecodeError:
        raise
    except Exception as err:  # pragma: no cover - defensive: never crash the scraper
        raise DecodeError(f"failed parsing metrics: {type(err).__name__}: {err}") from None
    return acc.finish(node_name, log)
