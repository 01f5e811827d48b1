"""Which encoding an answer gets: the generic apiserver's content negotiation (v0.29.2).

The Accept header is parsed as ``munnerz/goautoneg`` parses it (clauses ordered by ``q``, then
concrete types before wildcards, by Go's insertion sort for short lists), and the first clause
that one of the server's media types — JSON, YAML, protobuf, in that order — can serve wins:

* an object answer (NodeMetrics, lists) may be converted: ``as=Table;g=meta.k8s.io;v=v1``
  (or ``v1beta1``) in a JSON clause asks for a Table; other conversions skip the clause;
* an error Status may not (``DefaultEndpointRestrictions``): a clause with ``as``/``g``/``v``
  or ``sv`` is skipped, and when no clause is left the Status is written indented with
  ``Content-Type: application/json`` whatever was asked (``WriteRawJSON``) — which is what
  ``kubectl get`` sees for a 404 of a Table request;
* no clause at all → the first media type (JSON); clauses none of which fit → 406.

``pretty`` is the indented JSON serializer: ``?pretty=`` with a true value (Go's ParseBool),
``pretty=1`` in the clause, or a User-Agent starting ``curl``, ``Wget`` or ``Mozilla/5.0``.
YAML is listed because upstream lists it (the 406 text names it); metricsd answers a YAML
clause with JSON (never asked by kubectl or the HPA).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["JSON", "NOT_ACCEPTABLE", "PROTOBUF", "Media", "is_pretty", "negotiate",
           "negotiate_error"]

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
SUPPORTED = (JSON, YAML, PROTOBUF)
NOT_ACCEPTABLE = ("only the following media types are accepted: "
                  + ", ".join(SUPPORTED))
TABLE_VERSIONS = ("v1", "v1beta1")
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_PRETTY_AGENTS = ("curl", "Wget", "Mozilla/5.0")


@dataclass(frozen=True)
class Media:
    """The chosen encoding: ``json`` or ``protobuf``, a Table version, indentation."""

    kind: str = "json"
    table: str | None = None
    pretty: bool = False

    @property
    def content_type(self) -> str:
        return PROTOBUF if self.kind == "protobuf" else JSON


@dataclass
class _Clause:
    type: str
    subtype: str
    q: float
    params: dict[str, str]


def _parse_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def parse_accept(header: str) -> list[_Clause]:
    """goautoneg.ParseAccept: clauses, sorted as its (unstable) sort leaves short lists."""
    clauses: list[_Clause] = []
    for part in header.split(","):
        part = part.strip(" ")
        pieces = part.split(";")
        media_range = pieces[0].split("/")
        ctype = media_range[0].strip(" ")
        if len(media_range) == 1 and ctype == "*":
            subtype = "*"
        elif len(media_range) == 2:
            subtype = media_range[1].strip(" ")
        else:
            continue
        clause = _Clause(ctype, subtype, 1.0, {})
        for param in pieces[1:]:
            key, sep, value = param.partition("=")
            if not sep or "=" in value:
                continue
            key = key.strip(" ")
            if key == "q":
                clause.q = _parse_float(value)
            else:
                clause.params[key] = value.strip(" ")
        clauses.append(clause)

    def less(a: _Clause, b: _Clause) -> bool:
        return (a.q > b.q or (a.type != "*" and b.type == "*")
                or (a.subtype != "*" and b.subtype == "*"))

    for i in range(1, len(clauses)):  # Go's insertionSort (pdqsort below 13 elements)
        j = i
        while j > 0 and less(clauses[j], clauses[j - 1]):
            clauses[j], clauses[j - 1] = clauses[j - 1], clauses[j]
            j -= 1
    return clauses


def is_pretty(query: Mapping[str, str], user_agent: str) -> bool:
    """negotiation.isPrettyPrint: ``?pretty=<bool>`` decides when given, else the agent."""
    value = query.get("pretty")
    if value:
        return value in _TRUE
    return user_agent.startswith(_PRETTY_AGENTS)


def _served(clause: _Clause) -> list[str]:
    return [m for m in SUPPORTED
            if (clause.type, clause.subtype) in ((m.split("/")[0], m.split("/")[1]),
                                                 (m.split("/")[0], "*"), ("*", "*"))]


def _media(mime: str, pretty: bool, clause: _Clause | None, table: str | None = None) -> Media:
    pretty = pretty or (clause is not None and clause.params.get("pretty") == "1")
    return Media("protobuf" if mime == PROTOBUF else "json", table, pretty and mime != PROTOBUF)


def negotiate(accept: str | None, pretty: bool = False) -> Media | None:
    """The encoding of an object answer (a Table when asked); ``None``: 406."""
    if not accept:
        return Media("json", None, pretty)
    for clause in parse_accept(accept):
        for mime in _served(clause):
            params = clause.params
            if params.get("sv"):
                continue
            stream = params.get("stream", "")
            if stream and stream != "watch":
                continue
            if any(k in params for k in ("as", "g", "v")):
                if (mime == JSON and params.get("as") == "Table"
                        and params.get("g") == "meta.k8s.io"
                        and params.get("v") in TABLE_VERSIONS):
                    return _media(mime, pretty, clause, params["v"])
                continue
            return _media(mime, pretty, clause)
    return None


def negotiate_error(accept: str | None, pretty: bool = False) -> Media | None:
    """The encoding of an error Status; ``None``: written indented as plain JSON."""
    if not accept:
        return Media("json", None, pretty)
    for clause in parse_accept(accept):
        for mime in _served(clause):
            params = clause.params
            if any(k in params for k in ("as", "g", "v")) or params.get("sv"):
                continue
            stream = params.get("stream", "")
            if stream and stream != "watch":
                continue
            return _media(mime, pretty, clause)
    return None
