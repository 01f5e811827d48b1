"""client-go's error text for a failed API request, derived from the HTTP answer.

Why: the HPA controller (and kubectl) never see the answer itself, only the error client-go
builds from it, and that text is what users paste into issues. Two paths decide it
(``rest.Request.transformResponse`` and ``Result.Error``):

1. the body is a ``metav1.Status`` with ``status: Failure`` that the client can decode: the
   error is that Status, and its text is the Status's ``message``, exactly as sent;
2. anything else (a ``text/plain`` body such as the aggregator's ``service unavailable`` or
   kube-apiserver's ``404 page not found``, an undecodable JSON document, a Status without
   ``status: Failure``): apimachinery's ``NewGenericServerResponse`` makes one up from the
   code — ``the server is currently unable to handle the request`` for 503, ``the server
   could not find the requested resource`` for 404 … — and a typed request appends
   ``(<verb> <resource>.<group>[ <name>])``: ``… (get pods.metrics.k8s.io)``.

The server's own text survives in case 2 only where apimachinery keeps it (403, 406, 415 and
the 5xx codes without a text of their own), and only from a ``text/*`` body (or one without
a Content-Type); a JSON body counts as ``unknown`` there. Decoding is modelled for JSON (what
every server here answers); a protobuf or YAML body is treated as undecodable.

metricsd has its own, smaller helper (``metricsd.kubeconfig.api_status_message``: case 1
only, for its informers); fakeapiserver may not import metricsd, and the test table checks
that the two agree where both apply.
"""

from __future__ import annotations

import json

__all__ = ["generic_server_response", "is_text_response", "response_error"]

#: client-go caps the body text it copies into an unstructured error.
MAX_UNSTRUCTURED_TEXT = 2048

_GENERIC = {
    400: "the server rejected our request for an unknown reason",
    401: "the server has asked for the client to provide credentials",
    404: "the server could not find the requested resource",
    405: "the server does not allow this method on the requested resource",
    409: "the server reported a conflict",
    422: "the server rejected our request due to an error in our request",
    429: "the server has received too many requests and has asked us to try again later",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be "
         "processing the request",
}
_DECODABLE = ("application/json",)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_text_response(content_type: str) -> bool:
    """``isTextResponse``: no Content-Type at all, or a ``text/*`` media type."""
    if not content_type:
        return True
    return _media_type(content_type).startswith("text/")


def generic_server_response(code: int, verb: str, group: str, resource: str, name: str,
                            server_message: str) -> str:
    """apimachinery's ``NewGenericServerResponse(...).Error()``."""
    if code == 403 or code == 415:
        message = server_message
    elif code == 406:
        message = (server_message if server_message and server_message != "unknown" else
                   "the server was unable to respond with a content type that the client "
                   "supports")
    elif code in _GENERIC:
        message = _GENERIC[code]
    elif code >= 500:
        message = (f"an error on the server ({json.dumps(server_message, ensure_ascii=False)})"
                   " has prevented the request from succeeding")
    else:
        message = (f"the server responded with the status code {code} but did not return "
                   "more information")
    if resource:
        qualified = f"{resource}.{group}" if group else resource
        suffix = f"{verb.lower()} {qualified}" + (f" {name}" if name else "")
        message = f"{message} ({suffix})"
    return message


def _failure_status_message(body: bytes) -> str | None:
    """The message of a decodable ``metav1.Status`` with ``status: Failure``, else None."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("kind") != "Status":
        return None
    if doc.get("apiVersion") not in (None, "", "v1"):
        return None
    if doc.get("status") != "Failure":
        return None
    message = doc.get("message")
    return message if isinstance(message, str) else ""


def response_error(code: int, content_type: str, body: bytes, *, verb: str = "GET",
                   group: str = "", resource: str = "", name: str = "") -> str:
    """The ``err.Error()`` a client-go request for ``resource.group`` gets from this answer.

    ``resource`` empty means an untyped request (``AbsPath``, ``kubectl get --raw``): no
    ``(verb resource)`` suffix. Only for non-2xx answers.
    """
    media = _media_type(content_type) if content_type else "application/json"
    if body and media in _DECODABLE:
        message = _failure_status_message(body)
        if message is not None:
            return message
    server_message = "unknown"
    if is_text_response(content_type):
        server_message = body[:MAX_UNSTRUCTURED_TEXT].decode("utf-8", "replace").strip()
    return generic_server_response(code, verb, group, resource, name, server_message)
