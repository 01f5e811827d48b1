"""Request bodies as kube-apiserver takes them: media type, size, decoding, nesting.

In kube-apiserver's order and words:

1. the media type — an object body must be ``application/json``, ``application/yaml`` or
   ``application/vnd.kubernetes.protobuf`` (415 ``the body of the request was in an unknown
   format - accepted media types include: …``); a PATCH must carry one of the four patch
   types (go-restful's 415 ``415: Unsupported Media Type``);
2. the size — more than 3 MiB (``MaxRequestBodyBytes``) is a 413 ``Request entity too
   large: limit is 3145728``, found while reading, without reading further;
3. decoding — JSON numbers keep their text (Go's messages quote it), lone UTF-16
   surrogates become U+FFFD as in Go; YAML is read without PyYAML's extras (timestamps stay
   strings, ``!!binary`` stays text, keys become strings) and alias expansion is bounded as
   go-yaml bounds it (``yaml: document contains excessive aliasing``);
4. nesting — Go's JSON scanner stops at 10000 levels (``invalid character '{' exceeded max
   depth``) and go-yaml at 10000 (``yaml: exceeded max depth of 10000``). **Deliberate
   deviation:** we stop at :data:`MAX_DEPTH` (100) with the same words (and our number for
   YAML): our handlers recurse, and no built-in kind nests past ~15 levels — deeper values can
   only be unknown fields, which kube-apiserver drops or, with ``fieldValidation=Strict``
   (kubectl's default), refuses anyway.

A refused body never reaches the store.
"""

from __future__ import annotations

import itertools
import json
import math
import operator
import re
from typing import Any

import yaml
from aiohttp import web

from .protobuf import ProtobufError, decode_object
from .store import ApiError
from .validation import gofmt
from .validation.jsondecode import Number, json_kind

#: kube-apiserver's ``--max-request-body-bytes`` default (``MaxRequestBodyBytes``).
MAX_BODY_BYTES = 3 * 1024 * 1024
#: Our nesting limit (kube-apiserver's decoders allow 10000; see the module docstring).
MAX_DEPTH = 100

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
OBJECT_MEDIA_TYPES = (JSON, YAML, PROTOBUF)
PATCH_MEDIA_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                     "application/strategic-merge-patch+json", "application/apply-patch+yaml")

_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_KEEP_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN_AS_2 = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_FIND_KIND = ('struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
              'Kind string "json:\\"kind,omitempty\\"" }')


class BodyError(ValueError):
    """A body that does not decode; ``str()`` is the decoder's text (Go's where we can)."""

    def __init__(self, message: str, *, yaml_error: bool = False) -> None:
        super().__init__(message)
        self.yaml_error = yaml_error


# ---------------------------------------------------------------------------- media types
def media_type(content_type: str | None) -> str:
    """``mime.ParseMediaType``'s type, lower-cased; "" when it does not parse."""
    main = (content_type or "").split(";", 1)[0].strip()
    return main.lower() if _MEDIA_TYPE.fullmatch(main) else ""


def object_media_type(content_type: str | None) -> str:
    """The media type of an object body (create, update, delete options), or 415."""
    if not (content_type or "").strip():
        return JSON
    media = media_type(content_type)
    if media not in OBJECT_MEDIA_TYPES:
        raise ApiError(415, "UnsupportedMediaType",
                       "the body of the request was in an unknown format - accepted media "
                       "types include: " + ", ".join(OBJECT_MEDIA_TYPES))
    return media


def patch_media_type(content_type: str | None) -> str:
    """The patch type of a PATCH, or go-restful's 415 (exact match, parameters ignored)."""
    media = (content_type or "").split(";", 1)[0].strip()
    if media not in PATCH_MEDIA_TYPES:
        raise ApiError(415, "UnsupportedMediaType", "415: Unsupported Media Type", {})
    return media


# ---------------------------------------------------------------------------- reading
def too_large() -> ApiError:
    return ApiError(413, "RequestEntityTooLarge",
                    f"Request entity too large: limit is {MAX_BODY_BYTES}")


async def read_body(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, or 413 as soon as it is known to exceed ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)


# ---------------------------------------------------------------------------- JSON
def json_depth_error(raw: bytes, limit: int = MAX_DEPTH) -> str | None:
    """Go's scanner error when ``raw`` nests deeper than ``limit``, else None (cheap for
    ordinary bodies: only bodies with more than ``limit`` brackets are scanned)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return None
    brackets = _STRING.sub(b"", raw).translate(None, _KEEP_BRACKETS)
    # depth after the i-th bracket = 2·opens - i  (opens weigh 2, closes 0)
    depths = map(operator.sub, itertools.accumulate(brackets.translate(_OPEN_AS_2)),
                 itertools.count(1))
    for index, depth in enumerate(depths):
        if depth > limit:
            return f"invalid character '{chr(brackets[index])}' exceeded max depth"
    return None


def _reject_constant(name: str) -> Any:
    if name.startswith("-"):
        raise BodyError(f"invalid character '{name[1]}' in numeric literal")
    raise BodyError(f"invalid character '{name[0]}' looking for beginning of value")


def _finite(text: str) -> Number:
    number = Number(text)
    if math.isinf(number):
        raise BodyError(f"json: cannot unmarshal number {text} into Go value of type float64")
    return number


def _fix_surrogates(value: Any) -> Any:
    """Lone UTF-16 surrogates → U+FFFD, as Go's decoder does (nesting is already bounded)."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_fix_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_fix_surrogates(k): _fix_surrogates(v) for k, v in value.items()}
    return value


def load_json(raw: bytes) -> Any:
    """Decode JSON; BodyError (with Go's depth text where it applies) when it can't be."""
    depth = json_depth_error(raw)
    if depth is not None:
        raise BodyError(depth)
    try:
        value = json.loads(raw, parse_float=_finite, parse_constant=_reject_constant)
    except BodyError:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BodyError(_first_line(exc)) from None
    if _SURROGATE_ESCAPE.search(raw):
        value = _fix_surrogates(value)
    return value


# ---------------------------------------------------------------------------- YAML
class _Loader(yaml.SafeLoader):
    """SafeLoader without PyYAML's extras that JSON cannot hold."""


_Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _scalar_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)  # type: ignore[arg-type]


def _set_as_mapping(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _scalar_text)
_Loader.add_constructor("tag:yaml.org,2002:binary", _scalar_text)
_Loader.add_constructor("tag:yaml.org,2002:set", _set_as_mapping)


def _alias_ratio(count: int) -> float:
    """go-yaml's allowedAliasRatio."""
    if count <= 400_000:
        return 0.99
    if count >= 4_000_000:
        return 0.10
    return 0.99 - 0.89 * (count - 400_000) / 3_600_000


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return _LONE_SURROGATE.sub("\ufffd", key)
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _json_ready(value: Any, limit: int = MAX_DEPTH) -> Any:
    """A JSON-shaped copy of what PyYAML built: nesting bounded, aliases counted as go-yaml
    counts them, keys as strings, no non-finite floats. Iterative (no recursion limits)."""
    decoded = aliased = 0
    seen: set[int] = set()
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int, bool]] = [(value, root, 0, 1, False)]
    while stack:
        item, parent, slot, depth, via_alias = stack.pop()
        decoded += 1
        if isinstance(item, (dict, list, tuple)):
            if id(item) in seen:
                via_alias = True
            seen.add(id(item))
        if via_alias:
            aliased += 1
        if aliased > 100 and decoded > 1000 and aliased / decoded > _alias_ratio(decoded):
            raise BodyError("yaml: document contains excessive aliasing", yaml_error=True)
        if isinstance(item, dict):
            if depth > limit:
                raise BodyError(f"yaml: exceeded max depth of {limit}", yaml_error=True)
            out: dict[str, Any] = {}
            parent[slot] = out
            for key, child in item.items():
                out[_key_text(key)] = None
                stack.append((child, out, _key_text(key), depth + 1, via_alias))
        elif isinstance(item, (list, tuple)):
            if depth > limit:
                raise BodyError(f"yaml: exceeded max depth of {limit}", yaml_error=True)
            items: list[Any] = [None] * len(item)
            parent[slot] = items
            stack.extend((child, items, i, depth + 1, via_alias)
                         for i, child in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            raise BodyError(f"json: unsupported value: {gofmt.float_text(item)}",
                            yaml_error=True)
        elif isinstance(item, str):
            parent[slot] = _LONE_SURROGATE.sub("\ufffd", item)
        elif isinstance(item, bytes):
            parent[slot] = item.decode("utf-8", "replace")
        else:
            parent[slot] = item
    return root[0]


def load_yaml(raw: bytes) -> Any:
    """Decode YAML (one document); BodyError with go-yaml's words where we know them."""
    try:
        value = yaml.load(raw, Loader=_Loader)  # a SafeLoader subclass
    except RecursionError:
        raise BodyError(f"yaml: exceeded max depth of {MAX_DEPTH}", yaml_error=True) from None
    except (yaml.YAMLError, ValueError, UnicodeDecodeError) as exc:
        raise BodyError(f"yaml: {_first_line(exc)}", yaml_error=True) from None
    return _json_ready(value)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# ---------------------------------------------------------------------------- bodies
def summarize(raw: bytes, limit: int = 30) -> str:
    """kube-apiserver's summarizeData: the start of the body (hex unless it starts with {)."""
    if not raw:
        return "<empty>"
    head = raw[:limit]
    more = " ..." if len(raw) > limit else ""
    if raw[:1] == b"{":
        return head.decode("utf-8", "replace") + more
    return head.hex() + more


def unrecognized(kind: str, raw: bytes, why: str) -> ApiError:
    return ApiError.bad_request(f"the object provided is unrecognized (must be of type {kind}):"
                                f" {why} ({summarize(raw)})")


def decode_object_body(raw: bytes, media: str, kind: str, version: str) -> dict[str, Any]:
    """An object body (create, update, a subresource body) as a dict, or the 400
    kube-apiserver answers (``the object provided is unrecognized (must be of type …)``)."""
    if media == PROTOBUF:
        try:
            body: Any = decode_object(raw)
        except ProtobufError as exc:
            raise ApiError.bad_request(f"the object provided is unrecognized (must be of type "
                                       f"{kind}): {exc}") from None
    else:
        if not raw.strip():
            raise unrecognized(kind, raw, "couldn't get version/kind; json parse error: "
                                          "unexpected end of JSON input")
        try:
            body = load_yaml(raw) if media == YAML else load_json(raw)
        except BodyError as exc:
            if exc.yaml_error:
                raise unrecognized(kind, raw, str(exc)) from None
            if str(exc).startswith("json: cannot unmarshal number"):
                raise ApiError.bad_request(f'{kind} in version "{version}" cannot be handled '
                                           f"as a {kind}: {exc}") from None
            raise unrecognized(kind, raw, f"couldn't get version/kind; json parse error: "
                                          f"{exc}") from None
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise unrecognized(kind, raw, "couldn't get version/kind; json parse error: json: "
                                      f"cannot unmarshal {json_kind(body)} into Go value of "
                                      f"type {_FIND_KIND}")
    for field in ("apiVersion", "kind"):
        value = body.get(field)
        if value is not None and not isinstance(value, str):
            raise unrecognized(kind, raw, "couldn't get version/kind; json parse error: json: "
                                          f"cannot unmarshal {json_kind(value)} into Go struct "
                                          f"field .{field} of type string")
    return body


def decode_patch_body(raw: bytes, patch_type: str) -> Any:
    """A patch body; 400 in the words of kube-apiserver's patcher for that patch type."""
    if patch_type == "application/apply-patch+yaml":
        try:
            if raw.lstrip()[:1] in (b"{", b"["):
                try:
                    return load_json(raw)
                except BodyError as exc:
                    if "exceeded max depth" in str(exc):
                        raise BodyError(f"yaml: exceeded max depth of {MAX_DEPTH}",
                                        yaml_error=True) from None
            return load_yaml(raw)
        except BodyError as exc:
            raise ApiError.bad_request(
                f"error decoding YAML: error converting YAML to JSON: {exc}") from None
    try:
        if not raw.strip():
            raise BodyError("unexpected end of JSON input")
        return load_json(raw)
    except BodyError as exc:
        if patch_type == "application/strategic-merge-patch+json":
            raise ApiError.bad_request(str(exc)) from None
        raise ApiError.bad_request(f"error decoding patch: {exc}") from None


async def read_object(request: web.Request, kind: str, version: str) -> dict[str, Any]:
    """Media type (415), size (413) and decoding (400) of an object body, in that order."""
    media = object_media_type(request.headers.get("Content-Type"))
    return decode_object_body(await read_body(request), media, kind, version)


async def read_patch(request: web.Request) -> tuple[str, Any]:
    """(patch type, patch) of a PATCH request: 415, 413, 400 as kube-apiserver orders them."""
    patch_type = patch_media_type(request.headers.get("Content-Type"))
    return patch_type, decode_patch_body(await read_body(request), patch_type)
