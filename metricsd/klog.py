"""klog-shaped logging: the text lines (and JSON lines) metrics-server users grep for.

Text format, one line per entry (multi-line string values continue on tab-indented lines)::

    I0716 09:29:40.218833       1 scraper.go:149] "Failed to scrape node" err="Get …" node="n1"

severity letter (I/W/E), MMDD, local time with microseconds, the process id right-aligned in
7 columns (klog prints ``os.Getpid()``, which is ``1`` in a container; we print ours), the
caller ``file:line`` and ``]``, then either a printf-style text or a quoted message with
``key=value`` pairs rendered as klog does: strings, errors and stringers Go-quoted, numbers
and bools bare, lists as ``["a","b"]`` (klog's ``KObjSlice`` rendering, which is what metricsd
logs lists for), :class:`GoDuration` as ``"31.83941ms"``, :class:`Raw` verbatim.

Callers name upstream's location (``at="scraper/scraper.go:149"``) so our lines carry
upstream's file names and line numbers; the text format prints the base name, the JSON format
(``--logging-format=json``) the ``dir/file`` caller as component-base's zap logger does.  When
``at`` is omitted, known upstream messages get their upstream location from
:data:`UPSTREAM_CALLERS`, anything else the Python caller's ``file.py:line``.

Verbosity is checked first (``-v``, ``--vmodule`` globs on the caller's file name without
extension), so a gated-off call costs one comparison.  Output goes to stderr as upstream;
tests pass their own stream or use :func:`capture`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Any, TextIO

from metricsd.durations import format_duration
from metricsd.goquote import quote

__all__ = [
    "UPSTREAM_CALLERS",
    "GoDuration",
    "Logger",
    "ObjectRef",
    "Raw",
    "capture",
    "configure",
    "error",
    "go_format_float",
    "go_quote",
    "info",
    "infof",
    "logger",
    "route_python_logging",
]

try:  # one "pre-rendered value" type shared with the decoder/storage sink
    from metricsd.scraper.batch import Raw as Raw
except ImportError:  # pragma: no cover - the scraper package is another helper's

    class Raw(str):  # type: ignore[no-redef]
        """A value already rendered: printed without quoting."""

        __slots__ = ()


class GoDuration(int):
    """Integer nanoseconds that log as a Go ``time.Duration`` (``"1m30s"``)."""

    __slots__ = ()

    def __str__(self) -> str:
        return format_duration(int(self))


class ObjectRef:
    """``klog.KObj``/``KRef``: prints ``name`` or ``namespace/name``."""

    __slots__ = ("name", "namespace")

    def __init__(self, namespace: str, name: str) -> None:
        self.namespace = namespace
        self.name = name

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


#: Upstream (v0.7.1) call sites of the messages metricsd logs, by message text.  Where the same
#: message is logged in two places the first entry is the scraper's, the second the storage's.
UPSTREAM_CALLERS: Mapping[str, tuple[str, ...]] = {
    "Scraping metrics": ("server/server.go:136",),
    "Storing metrics": ("server/server.go:139",),
    "Scraping cycle complete": ("server/server.go:144",),
    "Failed to list nodes": ("scraper/scraper.go:119",),
    "Scraping metrics from nodes": ("scraper/scraper.go:121",),
    "Scraping node": ("scraper/scraper.go:143",),
    "Failed to scrape node, timeout to access kubelet": ("scraper/scraper.go:147",),
    "Failed to scrape node": ("scraper/scraper.go:149",),
    "Got duplicate node point": ("scraper/scraper.go:168", "storage/node.go:76"),
    "Got duplicate pod point": ("scraper/scraper.go:175", "storage/pod.go:109"),
    "Scrape finished": ("scraper/scraper.go:182",),
    "Failed getting complete node metric": ("resource/decode.go:90",),
    "Failed getting complete Pod metric": ("resource/decode.go:104",),
    "Failed getting complete container metric": ("resource/decode.go:196",),
    "Skipping node usage metric": ("storage/node.go:54",),
    "Found new node metrics point is older than stored previous, drop previous": (
        "storage/node.go:91",
    ),
    "Skipping container usage metric": ("storage/pod.go:74",),
    "Got duplicate Container point": ("storage/pod.go:117",),
    "Found new containerName metrics point is older than stored previous , drop previous": (
        "storage/pod.go:138",
    ),
    "Found unexpectedly large resource value, losing precision to fit in scaled "
    "resource.Quantity": ("storage/types.go:79",),
    "Failed reading nodes metrics": ("api/node.go:89",),
    "Failed listing nodes": ("api/node.go:105",),
    "Failed getting node": ("api/node.go:122",),
    "Failed reading node metrics": ("api/node.go:130",),
    "Failed reading pods metrics": ("api/pod.go:88",),
    "Failed listing pods": ("api/pod.go:103",),
    "Failed getting pod": ("api/pod.go:122",),
    "Failed reading pod metrics": ("api/pod.go:131",),
    "HTTP": ("httplog/httplog.go:132",),
}


# --- Go value formatting -------------------------------------------------------------------

go_quote = quote  # strconv.Quote


def go_format_float(value: float) -> str:
    """``strconv.FormatFloat(v, 'g', -1, 64)``, which is also what ``%v`` prints."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    sign, digits_t, exp = Decimal(repr(value)).as_tuple()
    assert isinstance(exp, int)
    digits = "".join(map(str, digits_t)).rstrip("0") or "0"
    exp += len("".join(map(str, digits_t))) - len(digits)
    nd = len(digits)
    dp = nd + exp  # position of the decimal point relative to the digits
    x = dp - 1
    neg = "-" if sign else ""
    if x < -4 or x >= 6:  # shortest 'g' uses precision 6 for the %e decision
        mant = digits[0] + ("." + digits[1:] if nd > 1 else "")
        esign = "-" if x < 0 else "+"
        return f"{neg}{mant}e{esign}{abs(x):02d}"
    if dp <= 0:
        return f"{neg}0.{'0' * (-dp)}{digits}"
    if dp >= nd:
        return f"{neg}{digits}{'0' * (dp - nd)}"
    return f"{neg}{digits[:dp]}.{digits[dp:]}"


def _format_value(value: Any) -> str:
    """klog's text rendering of one value, including the leading ``=``."""
    if isinstance(value, Raw):
        return "=" + str(value)
    if isinstance(value, bool):
        return "=true" if value else "=false"
    if isinstance(value, GoDuration):
        return "=" + go_quote(str(value))
    if isinstance(value, int):
        return f"={value}"
    if isinstance(value, float):
        return "=" + go_format_float(value)
    if value is None:
        return "=<nil>"
    if isinstance(value, list | tuple):
        return "=[" + ",".join(go_quote(str(item)) for item in value) + "]"
    text = value if isinstance(value, str) else str(value)
    if "\n" not in text:
        return "=" + go_quote(text)
    lines = text.split("\n")
    body = "".join(f"\t{line}\n" for line in lines[:-1])
    if lines[-1]:
        body += f"\t{lines[-1]}\n"
    return "=<\n" + body + " >"


def _json_value(value: Any) -> Any:
    if isinstance(value, Raw):
        try:
            return json.loads(value)
        except ValueError:
            return str(value)
    if isinstance(value, bool | int | float) and not isinstance(value, GoDuration):
        return value
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return str(value)


# --- the logger ----------------------------------------------------------------------------


def _pairs(args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[tuple[str, Any]]:
    pairs = [(str(args[i]), args[i + 1] if i + 1 < len(args) else Raw('"(MISSING)"'))
             for i in range(0, len(args), 2)]
    pairs.extend(kwargs.items())
    return pairs


class Logger:
    """A klog-style logger with ``-v``/``--vmodule`` gating; thread-safe writes."""

    def __init__(
        self,
        *,
        verbosity: int = 0,
        vmodule: Sequence[tuple[str, int]] = (),
        fmt: str = "text",
        stream: TextIO | None = None,
        now: Callable[[], float] = time.time,
        pid: int | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._now = now
        self.pid = os.getpid() if pid is None else pid
        self._stream = stream
        self.configure(verbosity=verbosity, vmodule=vmodule, fmt=fmt)

    def configure(
        self,
        *,
        verbosity: int | None = None,
        vmodule: Sequence[tuple[str, int]] | None = None,
        fmt: str | None = None,
        stream: TextIO | None = None,
    ) -> None:
        """Change settings (e.g. from the parsed ``-v``, ``--vmodule``, ``--logging-format``)."""
        if verbosity is not None:
            self.verbosity = verbosity
        if vmodule is not None:
            self.vmodule = tuple(vmodule)
            self._vmodule_cache: dict[str, int] = {}
        if fmt is not None:
            if fmt not in ("text", "json"):
                raise ValueError(f"unsupported log format {fmt!r}")
            self.fmt = fmt
        if stream is not None:
            self._stream = stream
        self._max_v = max([self.verbosity, *(lvl for _, lvl in self.vmodule)])

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    # -- gating --

    def enabled(self, v: int, at: str | None = None) -> bool:
        """Whether a ``V(v)`` line from ``at`` would be written."""
        if v <= self.verbosity:
            return True
        if v > self._max_v or not self.vmodule:
            return False
        location = at or "?"
        level = self._vmodule_cache.get(location)
        if level is None:
            base = location.rsplit("/", 1)[-1].split(":", 1)[0]
            stem = base.rsplit(".", 1)[0]
            level = self.verbosity
            for pattern, lvl in self.vmodule:
                if fnmatchcase(stem, pattern) or fnmatchcase(location.split(":", 1)[0], pattern):
                    level = lvl
                    break
            self._vmodule_cache[location] = level
        return v <= level

    # -- structured --

    def info(self, msg: str, /, *kvs: Any, v: int = 0, at: str | None = None, **kw: Any) -> None:
        """``klog.V(v).InfoS(msg, kvs...)``; keys with dashes go in ``*kvs`` pairs."""
        if v > self.verbosity and v > self._max_v:
            return
        at = at or self._caller(msg, 0)
        if not self.enabled(v, at):
            return
        self._emit("I", at, msg, _pairs(kvs, kw), v, structured=True)

    def error(self, msg: str, /, *kvs: Any, err: Any = None, at: str | None = None,
              **kw: Any) -> None:
        """``klog.ErrorS(err, msg, kvs...)``: ``err`` first when not None; never gated."""
        at = at or self._caller(msg, 0)
        pairs = _pairs(kvs, kw)
        if err is not None:
            pairs.insert(0, ("err", err))
        self._emit("E", at, msg, pairs, None, structured=True)

    def warning(self, msg: str, /, *kvs: Any, at: str | None = None, **kw: Any) -> None:
        at = at or self._caller(msg, 0)
        self._emit("W", at, msg, _pairs(kvs, kw), None, structured=True)

    # -- printf style (library lines such as "Serving securely on [::]:10250") --

    def infof(self, text: str, /, *, v: int = 0, at: str | None = None) -> None:
        if v > self.verbosity and v > self._max_v:
            return
        at = at or self._caller(text, 0)
        if self.enabled(v, at):
            self._emit("I", at, text, [], v, structured=False)

    def warningf(self, text: str, /, *, at: str | None = None) -> None:
        self._emit("W", at or self._caller(text, 0), text, [], None, structured=False)

    def errorf(self, text: str, /, *, at: str | None = None) -> None:
        self._emit("E", at or self._caller(text, 0), text, [], None, structured=False)

    def http_request(self, verb: str, uri: str, latency_ns: int, user_agent: str,
                     audit_id: str, src_ip: str, status: int, *, v: int = 3) -> None:
        """The apiserver's per-request line (``httplog.go:132``), logged at V(3) and above::

            "HTTP" verb="LIST" URI="/apis/metrics.k8s.io/v1beta1/nodes" latency="715.296µs"
            userAgent="kubectl/v1.26.0 (linux/amd64) kubernetes/b46a3f8" audit-ID="…"
            srcIP="10.244.0.1:25364" resp=200
        """
        if not self.enabled(v, "httplog/httplog.go:132"):
            return
        self.info("HTTP", "verb", verb, "URI", uri, "latency", GoDuration(latency_ns),
                  "userAgent", user_agent, "audit-ID", audit_id, "srcIP", src_ip,
                  "resp", status, v=v, at="httplog/httplog.go:132")

    # -- adapters --

    def logfn(self, which: int = 0) -> Callable[..., None]:
        """A ``LogFn`` for the decoder/storage (``log(level, msg, **kv)``, level -1 = error).

        ``which`` picks the upstream call site when a message exists in two places
        (0: scraper, 1: storage — see :data:`UPSTREAM_CALLERS`).
        """

        def log(level: int, msg: str, /, **kv: Any) -> None:
            sites = UPSTREAM_CALLERS.get(msg)
            at = sites[min(which, len(sites) - 1)] if sites else None
            if level < 0:
                err = kv.pop("err", None)
                self.error(msg, err=err, at=at, **kv)
            else:
                self.info(msg, v=level, at=at, **kv)

        return log

    # -- internals --

    @staticmethod
    def _caller(msg: str, which: int) -> str:
        sites = UPSTREAM_CALLERS.get(msg)
        if sites:
            return sites[min(which, len(sites) - 1)]
        frame = sys._getframe(2)
        # skip frames inside this module (adapters)
        while frame.f_back is not None and frame.f_code.co_filename == __file__:
            frame = frame.f_back
        return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"

    def _emit(self, severity: str, at: str, msg: str, pairs: list[tuple[str, Any]],
              v: int | None, *, structured: bool) -> None:
        ts = self._now()
        if self.fmt == "json":
            line = self._json_line(severity, ts, at, msg, pairs, v)
        else:
            line = self._text_line(severity, ts, at, msg, pairs, structured)
        with self._lock:
            stream = self.stream
            stream.write(line)
            with contextlib.suppress(Exception):
                stream.flush()

    def _text_line(self, severity: str, ts: float, at: str, msg: str,
                   pairs: list[tuple[str, Any]], structured: bool) -> str:
        moment = datetime.fromtimestamp(ts)
        header = (
            f"{severity}{moment:%m%d %H:%M:%S}.{moment.microsecond:06d} "
            f"{self.pid:>7} {at.rsplit('/', 1)[-1]}] "
        )
        if not structured:
            return header + msg + ("" if msg.endswith("\n") else "\n")
        body = go_quote(msg) + "".join(f" {k}{_format_value(val)}" for k, val in pairs)
        return header + body + "\n"

    def _json_line(self, severity: str, ts: float, at: str, msg: str,
                   pairs: list[tuple[str, Any]], v: int | None) -> str:
        record: dict[str, Any] = {"ts": round(ts * 1000, 6), "caller": at, "msg": msg}
        if severity == "I":
            record["v"] = v or 0
        for key, val in pairs:
            record[key] = _json_value(val)
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


#: The process-wide logger the server's modules use.
logger = Logger()


def configure(*, verbosity: int = 0, vmodule: Sequence[tuple[str, int]] = (),
              fmt: str = "text", stream: TextIO | None = None) -> Logger:
    """Apply ``-v``/``--vmodule``/``--logging-format`` to the process-wide logger."""
    logger.configure(verbosity=verbosity, vmodule=vmodule, fmt=fmt, stream=stream)
    return logger


def info(msg: str, /, *kvs: Any, v: int = 0, at: str | None = None, **kw: Any) -> None:
    """Structured info line on the process-wide logger (see :meth:`Logger.info`)."""
    logger.info(msg, *kvs, v=v, at=at, **kw)


def error(msg: str, /, *kvs: Any, err: Any = None, at: str | None = None, **kw: Any) -> None:
    """Structured error line on the process-wide logger (see :meth:`Logger.error`)."""
    logger.error(msg, *kvs, err=err, at=at, **kw)


def infof(text: str, /, *, v: int = 0, at: str | None = None) -> None:
    """printf-style info line on the process-wide logger."""
    logger.infof(text, v=v, at=at)


class _PythonLogging(logging.Handler):
    """Python ``logging`` records (asyncio, aiohttp, uvloop, warnings) as one klog line each:
    warnings and errors at their severity, the rest at ``-v=4``; an exception as its type and
    message (``err="SSLError: …"``), never a multi-line traceback."""

    def __init__(self, target: Logger) -> None:
        super().__init__(logging.DEBUG)
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        try:
            at = f"{record.filename}:{record.lineno}"
            pairs: dict[str, Any] = {"logger": record.name}
            exc = record.exc_info[1] if record.exc_info else None
            if exc is not None:
                pairs["err"] = f"{type(exc).__name__}: {exc}"
            text = record.getMessage()
            if record.levelno >= logging.ERROR:
                err = pairs.pop("err", None)
                self.target.error(text, err=err, at=at, **pairs)
            elif record.levelno >= logging.WARNING:
                self.target.warning(text, at=at, **pairs)
            else:
                self.target.info(text, v=4, at=at, **pairs)
        except Exception:  # logging must never raise into the caller
            pass


def route_python_logging(target: Logger | None = None) -> None:
    """Send Python ``logging`` (and ``warnings``) through ``target`` (the process-wide logger):
    without it, a library's ``logger.exception`` reaches stderr as a bare traceback."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _PythonLogging):
            root.removeHandler(handler)
    root.addHandler(_PythonLogging(target or logger))
    logging.captureWarnings(True)


@contextlib.contextmanager
def capture(verbosity: int | None = None, fmt: str | None = None) -> Iterator[io.StringIO]:
    """Redirect the process-wide logger into a buffer (tests), restoring settings after."""
    buf = io.StringIO()
    saved = (logger._stream, logger.verbosity, logger.vmodule, logger.fmt)
    logger.configure(stream=buf, verbosity=verbosity, fmt=fmt)
    try:
        yield buf
    finally:
        logger._stream = saved[0]
        logger.configure(verbosity=saved[1], vmodule=saved[2], fmt=saved[3])
