"""client-go's error texts from HTTP answers (rest.Request.transformResponse/Result.Error and
apimachinery's NewGenericServerResponse), as the HPA's metrics client reports them."""

from __future__ import annotations

import json

import pytest

from fakeapiserver.controllers.apierrors import generic_server_response, response_error
from metricsd.kubeconfig import api_status_message

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
SUFFIX = " (get pods.metrics.k8s.io)"


def status(message: str, code: int, reason: str = "", status_: str = "Failure") -> bytes:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": status_,
            "message": message, "reason": reason, "code": code}
    return json.dumps(body).encode()


FORBIDDEN = ('pods.metrics.k8s.io is forbidden: User "system:serviceaccount:kube-system:'
             'horizontal-pod-autoscaler" cannot list resource "pods" in API group '
             '"metrics.k8s.io" in the namespace "default"')


@pytest.mark.parametrize(
    ("code", "content_type", "body", "expected"),
    [
        # the aggregator's answer for an unavailable APIService (Go http.Error)
        (503, TEXT, b"service unavailable\n",
         "the server is currently unable to handle the request" + SUFFIX),
        # kube-apiserver's chain end when no APIService serves the group (http.NotFound)
        (404, TEXT, b"404 page not found\n",
         "the server could not find the requested resource" + SUFFIX),
        # a proxy error is a 503 whose text only goes into the causes
        (503, TEXT, b"dial tcp 127.0.0.1:4443: connect: connection refused\n",
         "the server is currently unable to handle the request" + SUFFIX),
        # a decodable Failure Status: its message, as sent, no suffix
        (403, JSON, status(FORBIDDEN, 403, "Forbidden"), FORBIDDEN),
        (404, JSON, status("the server could not find the requested resource", 404),
         "the server could not find the requested resource"),
        (500, JSON, status("unable to fetch pod metrics", 500, "InternalError"),
         "unable to fetch pod metrics"),
        (401, JSON, status("Unauthorized", 401, "Unauthorized"), "Unauthorized"),
        # a Status that is not a Failure is not taken as the error
        (500, JSON, status("oops", 500, status_="Success"),
         'an error on the server ("unknown") has prevented the request from succeeding'
         + SUFFIX),
        # JSON that is no Status: the server's text counts as "unknown"
        (403, JSON, b'{"items": []}', "unknown" + SUFFIX),
        (500, JSON, b"not json", 'an error on the server ("unknown") has prevented the '
         "request from succeeding" + SUFFIX),
        # text bodies keep their (trimmed) text where apimachinery keeps it
        (502, TEXT, b"  bad gateway \n", 'an error on the server ("bad gateway") has '
         "prevented the request from succeeding" + SUFFIX),
        (403, TEXT, b"forbidden by proxy\n", "forbidden by proxy" + SUFFIX),
        (500, "", b"no content type", 'an error on the server ("no content type") has '
         "prevented the request from succeeding" + SUFFIX),
        (406, TEXT, b"", "the server was unable to respond with a content type that the "
         "client supports" + SUFFIX),
        (401, TEXT, b"nope", "the server has asked for the client to provide credentials"
         + SUFFIX),
        (429, TEXT, b"slow down", "the server has received too many requests and has asked "
         "us to try again later" + SUFFIX),
        (504, TEXT, b"", "the server was unable to return a response in the time allotted, "
         "but may still be processing the request" + SUFFIX),
        (418, TEXT, b"teapot", "the server responded with the status code 418 but did not "
         "return more information" + SUFFIX),
        # a protobuf body is not decoded here: treated as undecodable
        (404, "application/vnd.kubernetes.protobuf", b"k8s\x00",
         "the server could not find the requested resource" + SUFFIX),
    ],
)
def test_response_error(code: int, content_type: str, body: bytes, expected: str) -> None:
    assert response_error(code, content_type, body, group="metrics.k8s.io",
                          resource="pods") == expected


def test_untyped_and_named_requests() -> None:
    assert response_error(503, TEXT, b"service unavailable\n") == (
        "the server is currently unable to handle the request")
    assert generic_server_response(404, "GET", "metrics.k8s.io", "pods", "web-1", "") == (
        "the server could not find the requested resource (get pods.metrics.k8s.io web-1)")
    assert generic_server_response(404, "LIST", "", "pods", "", "") == (
        "the server could not find the requested resource (list pods)")


def test_long_text_bodies_are_capped() -> None:
    text = response_error(500, TEXT, b"x" * 5000, group="metrics.k8s.io", resource="pods")
    assert text.count("x") == 2048


@pytest.mark.parametrize("code", [401, 403, 404, 500, 503])
@pytest.mark.parametrize("message", [FORBIDDEN, 'configmaps "x" is forbidden', "Unauthorized"])
def test_agrees_with_metricsd_helper_on_failure_statuses(code: int, message: str) -> None:
    """metricsd.kubeconfig.api_status_message covers the Status case (its informers'); both
    give the Status's message for a Failure Status body."""
    body = status(message, code)
    assert response_error(code, JSON, body) == api_status_message(body, code) == message
