"""Hostile and odd request bodies over HTTPS: media types (415), size (413), nesting and YAML
tricks (400), bad types (400) and invalid objects (422) — each a Status, never a 500, and the
store unchanged: no resourceVersion bump, no watch event."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from fakeapiserver.app import APIServer
from fakeapiserver.requestbody import MAX_BODY_BYTES, MAX_DEPTH, json_depth_error
from tests.unit.fakeapiserver.test_core_rest import admin, call, server
from tests.unit.fakeapiserver.typed_support import valid

__all__ = ["admin", "server"]  # the fixtures, reused

DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
OBJECT_415 = ("the body of the request was in an unknown format - accepted media types "
              "include: application/json, application/yaml, application/vnd.kubernetes.protobuf")


@pytest.fixture
async def watched(server: APIServer, admin: aiohttp.ClientSession
                  ) -> AsyncIterator[tuple[APIServer, aiohttp.ClientSession]]:
    """A server holding one Deployment, and the proof afterwards that nothing changed."""
    status, _, _ = await call(admin, "POST", DEPLOYS, valid("deployments"))
    assert status == 201
    rv = server.store.resource_version
    watcher = server.store.watch("deployments", resource_version=str(rv))
    yield server, admin
    assert server.store.resource_version == rv
    assert watcher.queue.empty()
    watcher.close()


async def raw(session: aiohttp.ClientSession, method: str, path: str, data: bytes,
              content_type: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    skip = ["Content-Type"] if content_type is None else []
    async with session.request(method, path, data=data, headers=headers,
                               skip_auto_headers=skip) as resp:
        body = await resp.read()
        assert resp.headers["Content-Type"] == "application/json", body[:200]
        return resp.status, json.loads(body)


def _status(code: int, reason: str, message: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Failure", "message": message, "reason": reason}
    body.update(extra)
    body["code"] = code
    return body


BODY = json.dumps(valid("deployments")).encode()


@pytest.mark.parametrize(("method", "path", "content_type", "expected"), [
    ("POST", DEPLOYS, "text/plain", _status(415, "UnsupportedMediaType", OBJECT_415)),
    ("POST", DEPLOYS, "text/plain; charset=utf-8",
     _status(415, "UnsupportedMediaType", OBJECT_415)),
    ("POST", DEPLOYS, "text/yaml", _status(415, "UnsupportedMediaType", OBJECT_415)),
    ("POST", DEPLOYS, "application/cbor", _status(415, "UnsupportedMediaType", OBJECT_415)),
    ("POST", DEPLOYS, "not a media type", _status(415, "UnsupportedMediaType", OBJECT_415)),
    ("PUT", f"{DEPLOYS}/web", "text/plain", _status(415, "UnsupportedMediaType", OBJECT_415)),
    ("PUT", f"{DEPLOYS}/web/status", "text/plain",
     _status(415, "UnsupportedMediaType", OBJECT_415)),
    ("PATCH", f"{DEPLOYS}/web", "text/plain",
     _status(415, "UnsupportedMediaType", "415: Unsupported Media Type", details={})),
    ("PATCH", f"{DEPLOYS}/web", "application/json",
     _status(415, "UnsupportedMediaType", "415: Unsupported Media Type", details={})),
    ("PATCH", f"{DEPLOYS}/web", None,
     _status(415, "UnsupportedMediaType", "415: Unsupported Media Type", details={})),
    ("PATCH", f"{DEPLOYS}/web/scale", "text/plain",
     _status(415, "UnsupportedMediaType", "415: Unsupported Media Type", details={})),
])
async def test_unsupported_media_types_are_415(
        watched: tuple[APIServer, aiohttp.ClientSession], method: str, path: str,
        content_type: str | None, expected: dict[str, Any]) -> None:
    _, admin = watched
    assert await raw(admin, method, path, BODY, content_type) == (expected["code"], expected)


async def test_a_missing_content_type_means_json(server: APIServer,
                                                 admin: aiohttp.ClientSession) -> None:
    status, body = await raw(admin, "POST", DEPLOYS, BODY, None)
    assert status == 201 and body["kind"] == "Deployment"


TOO_LARGE = _status(413, "RequestEntityTooLarge",
                    f"Request entity too large: limit is {MAX_BODY_BYTES}")


@pytest.mark.parametrize(("method", "path", "content_type"), [
    ("POST", DEPLOYS, "application/json"),
    ("PUT", f"{DEPLOYS}/web", "application/json"),
    ("PATCH", f"{DEPLOYS}/web", "application/merge-patch+json"),
    ("PATCH", f"{DEPLOYS}/web", "application/apply-patch+yaml"),
    ("DELETE", f"{DEPLOYS}/web", "application/json"),
    ("POST", "/apis/authentication.k8s.io/v1/tokenreviews", "application/json"),
])
async def test_bodies_over_3_mib_are_413(watched: tuple[APIServer, aiohttp.ClientSession],
                                         method: str, path: str, content_type: str) -> None:
    _, admin = watched
    obj = valid("deployments")
    obj["metadata"]["annotations"] = {"big": "x" * MAX_BODY_BYTES}
    assert await raw(admin, method, path, json.dumps(obj).encode(), content_type) == (
        413, TOO_LARGE)


async def test_a_body_of_exactly_the_limit_is_read(server: APIServer,
                                                   admin: aiohttp.ClientSession) -> None:
    data = json.dumps(valid("configmaps")).encode()
    at_limit = data + b" " * (MAX_BODY_BYTES - len(data))  # JSON allows trailing space
    status, body = await raw(admin, "POST", "/api/v1/namespaces/default/configmaps", at_limit,
                             "application/json")
    assert status == 201, body
    status, body = await raw(admin, "PUT", "/api/v1/namespaces/default/configmaps/settings",
                             at_limit + b" ", "application/json")
    assert (status, body) == (413, TOO_LARGE)


def nested(depth: int, open_: str = '{"a":', close: str = "}") -> bytes:
    return (open_ * depth + "1" + close * depth).encode()


async def test_deep_json_is_400_in_gos_words(watched: tuple[APIServer, aiohttp.ClientSession]
                                             ) -> None:
    _, admin = watched
    for data in (nested(200_000), nested(MAX_DEPTH + 1), b'{"spec":' + b"[" * 150_000):
        status, body = await raw(admin, "POST", DEPLOYS, data, "application/json")
        assert status == 400 and body["reason"] == "BadRequest"
        char = "[" if data.startswith(b'{"spec":[') else "{"
        assert body["message"] == (
            "the object provided is unrecognized (must be of type Deployment): couldn't get "
            f"version/kind; json parse error: invalid character '{char}' exceeded max depth "
            f"({data[:30].decode()} ...)")
    status, body = await raw(admin, "PATCH", f"{DEPLOYS}/web", nested(200_000),
                             "application/merge-patch+json")
    assert (status, body["message"]) == (400, "error decoding patch: invalid character '{' "
                                              "exceeded max depth")
    status, body = await raw(admin, "PATCH", f"{DEPLOYS}/web", nested(200_000),
                             "application/strategic-merge-patch+json")
    assert (status, body["message"]) == (400, "invalid character '{' exceeded max depth")
    status, body = await raw(admin, "PATCH", f"{DEPLOYS}/web", nested(200_000),
                             "application/apply-patch+yaml")
    assert (status, body["message"]) == (400, "error decoding YAML: error converting YAML to "
                                              f"JSON: yaml: exceeded max depth of {MAX_DEPTH}")


async def test_deep_yaml_is_400(watched: tuple[APIServer, aiohttp.ClientSession]) -> None:
    _, admin = watched
    flow = b"[" * 200_000 + b"]" * 200_000
    block = b"".join(b"  " * i + b"a:\n" for i in range(MAX_DEPTH + 5)) + b"  " * 200 + b"b: 1\n"
    for data in (flow, block):
        status, body = await raw(admin, "POST", DEPLOYS, data, "application/yaml")
        assert status == 400, body
        assert body["message"].startswith("the object provided is unrecognized (must be of type"
                                          f" Deployment): yaml: exceeded max depth of "
                                          f"{MAX_DEPTH} (")
        assert body["message"].endswith(f"({data[:30].hex()} ...)")
    status, body = await raw(admin, "PATCH", f"{DEPLOYS}/web", flow,
                             "application/apply-patch+yaml")
    assert status == 400 and "exceeded max depth" in body["message"]


async def test_nesting_at_the_limit_is_accepted(server: APIServer,
                                                admin: aiohttp.ClientSession) -> None:
    obj = valid("configmaps")
    deep: Any = 1
    for _ in range(MAX_DEPTH - 1):
        deep = {"x": deep}
    obj["extra"] = deep  # an unknown field: kept, as everything unknown is
    status, body = await raw(admin, "POST", "/api/v1/namespaces/default/configmaps",
                             json.dumps(obj).encode(), "application/json")
    assert status == 201, body
    assert json_depth_error(json.dumps(obj).encode()) is None
    assert json_depth_error(json.dumps({"a": obj}).encode()) is not None


async def test_yaml_aliases_are_bounded(watched: tuple[APIServer, aiohttp.ClientSession]
                                        ) -> None:
    _, admin = watched
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    lines.append("metadata: {name: bomb, annotations: {x: y}}\nspec: *a8")
    status, body = await raw(admin, "POST", DEPLOYS, "\n".join(lines).encode(),
                             "application/yaml")
    assert status == 400 and "yaml: document contains excessive aliasing (" in body["message"]


@pytest.mark.parametrize(("data", "content_type", "message"), [
    (b'{"metadata":{"name":"n"},"spec":{"replicas":NaN}}', "application/json",
     "invalid character 'N' looking for beginning of value"),
    (b'{"metadata":{"name":"n"},"x":-Infinity}', "application/json",
     "invalid character 'I' in numeric literal"),
    (b'{"metadata":{"name":"n"},"x":1e400}', "application/json",
     "json: cannot unmarshal number 1e400 into Go value of type float64"),
    (b"metadata: {name: n}\nx: .inf\n", "application/yaml", "json: unsupported value: +Inf"),
    (b'[1, 2]', "application/json",
     'json: cannot unmarshal array into Go value of type struct { APIVersion string '
     '"json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'),
    (b'{"apiVersion": 5}', "application/json",
     "json: cannot unmarshal number into Go struct field .apiVersion of type string"),
])
async def test_values_json_cannot_hold_are_400(watched: tuple[APIServer, aiohttp.ClientSession],
                                               data: bytes, content_type: str,
                                               message: str) -> None:
    _, admin = watched
    status, body = await raw(admin, "POST", DEPLOYS, data, content_type)
    assert status == 400 and message in body["message"], body


async def test_yaml_extras_become_json(server: APIServer, admin: aiohttp.ClientSession) -> None:
    data = (b"metadata: {name: odd}\ndata:\n  when: 2024-01-01\n  raw: !!binary aGk=\n"
            b"  t: 2024-01-01T00:00:00Z\n")
    status, body = await raw(admin, "POST", "/api/v1/namespaces/default/configmaps", data,
                             "application/yaml")
    assert status == 201, body
    assert body["data"] == {"when": "2024-01-01", "raw": "aGk=", "t": "2024-01-01T00:00:00Z"}


async def test_lone_surrogates_become_replacement_characters(server: APIServer,
                                                             admin: aiohttp.ClientSession
                                                             ) -> None:
    data = b'{"metadata":{"name":"s"},"data":{"k":"a\\ud800b"}}'
    status, body = await raw(admin, "POST", "/api/v1/namespaces/default/configmaps", data,
                             "application/json")
    assert status == 201 and body["data"]["k"] == "a\ufffdb"
    status, listing, _ = await call(admin, "GET", "/api/v1/namespaces/default/configmaps")
    assert status == 200 and any(i["metadata"]["name"] == "s" for i in listing["items"])


async def test_bad_types_and_invalid_objects_over_http(
        watched: tuple[APIServer, aiohttp.ClientSession]) -> None:
    _, admin = watched
    bad = valid("deployments")
    bad["spec"]["replicas"] = "banana"
    status, body, _ = await call(admin, "POST", DEPLOYS, bad)
    assert (status, body["message"]) == (400, (
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal '
        "string into Go struct field DeploymentSpec.spec.replicas of type int32"))
    negative = valid("deployments")
    negative["metadata"]["name"] = "web2"
    negative["spec"]["replicas"] = -1
    status, body, _ = await call(admin, "POST", DEPLOYS, negative)
    assert status == 422 and body == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Deployment.apps "web2" is invalid: spec.replicas: Invalid value: -1: must '
                   "be greater than or equal to 0",
        "reason": "Invalid",
        "details": {"name": "web2", "group": "apps", "kind": "Deployment", "causes": [
            {"reason": "FieldValueInvalid",
             "message": "Invalid value: -1: must be greater than or equal to 0",
             "field": "spec.replicas"}]},
        "code": 422}
    for content_type, patch in (
            ("application/merge-patch+json", {"spec": {"replicas": "x"}}),
            ("application/strategic-merge-patch+json", {"spec": {"replicas": "x"}}),
            ("application/json-patch+json",
             [{"op": "replace", "path": "/spec/replicas", "value": "x"}]),
            ("application/apply-patch+yaml",
             {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"replicas": "x"}}),
            ("application/merge-patch+json", {"spec": {"replicas": -3}})):
        status, body, _ = await call(admin, "PATCH", f"{DEPLOYS}/web?fieldManager=t", patch,
                                     headers={"Content-Type": content_type})
        assert status in (400, 422) and body["kind"] == "Status", (content_type, body)
    status, body, _ = await call(admin, "PUT", f"{DEPLOYS}/web/scale",
                                 {"spec": {"replicas": "3"}})
    assert (status, body["message"]) == (400, (
        'Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal string into '
        "Go struct field ScaleSpec.spec.replicas of type int32"))
    status, body, _ = await call(admin, "PUT", f"{DEPLOYS}/web/scale",
                                 {"spec": {"replicas": -1}})
    assert (status, body["message"]) == (422, (
        'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater '
        "than or equal to 0"))
    status, body, _ = await call(admin, "POST", DEPLOYS + "?dryRun=All", negative)
    assert status == 422


async def test_empty_bodies(watched: tuple[APIServer, aiohttp.ClientSession]) -> None:
    _, admin = watched
    status, body = await raw(admin, "POST", DEPLOYS, b"", "application/json")
    assert (status, body["message"]) == (400, (
        "the object provided is unrecognized (must be of type Deployment): couldn't get "
        "version/kind; json parse error: unexpected end of JSON input (<empty>)"))
    status, body = await raw(admin, "PATCH", f"{DEPLOYS}/web", b"",
                             "application/merge-patch+json")
    assert (status, body["message"]) == (400, "error decoding patch: unexpected end of JSON "
                                              "input")
