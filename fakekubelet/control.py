"""The fleet's loopback control endpoint: the Python operations over HTTP + JSON.

Every route validates its whole input before changing anything; bad input answers
``400 {"error": "<field>: <reason>"}`` and leaves the cluster untouched; an unknown node or
pod answers ``404 {"error": ...}``. Routes (documented with examples in docs/fakekubelet.md):

====== ============================================== ===========================================
GET    /healthz                                        ``ok``
GET    /nodes                                          every node with address, port, faults
GET    /nodes/{name}                                   one node
POST   /nodes                                          add a node
DELETE /nodes/{name}                                   remove a node (its listener closes)
PUT    /nodes/{name}/faults                            JSON merge into the node's faults
PUT    /nodes/{name}/address                           ``{"address": "127.x.y.z"}`` (rebinds)
POST   /pods                                           add a pod
DELETE /pods/{namespace}/{name}                        remove a pod
PUT    /pods/{namespace}/{name}/containers/{c}/workload  replace a container's workload
PUT    /pods/{namespace}/{name}/containers/{c}/usage     drive its CPU/memory from now on
PUT    /usage                                          the same for many containers at once
POST   /pods/{namespace}/{name}/containers/{c}/restart   restart a container
PUT    /churn                                          replace the churn settings
POST   /clock/advance                                  ``{"seconds": s}`` (virtual clock only)
GET    /truth?at=<unix seconds|RFC 3339>               true usage of nodes, pods, containers
POST   /truth/window                                   mean CPU over a window, memory at its end
====== ============================================== ===========================================
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import json
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from fakekubelet.fleet import Fleet

__all__ = ["BadRequest", "ControlServer", "NotFound", "churn_changes", "merge_faults"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadRequest(Exception):
    """Invalid input: answered 400 with ``{"error": str(self)}``."""


class NotFound(Exception):
    """Unknown node or pod: answered 404."""


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data, indent=1) + "\n", content_type="application/json"
    )


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.title() for p in rest)


def to_jsonable(value: Any) -> Any:
    """Dataclasses and enums as JSON with camelCase keys."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            _camel(f.name): to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "value") and type(value).__module__ != "builtins":
        return to_jsonable(value.value)
    return value


def _check_type(field: str, type_text: str, value: Any) -> Any:
    """Validate ``value`` against a dataclass field's (string) annotation."""
    options = [t.strip() for t in str(type_text).split("|")]
    if value is None:
        if "None" in options or "Optional" in str(type_text):
            return None
        raise BadRequest(f"{field}: must not be null")
    for option in options:
        if option == "bool" and isinstance(value, bool):
            return value
        if option == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option == "float" and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if option == "str" and isinstance(value, str):
            return value
        if option.startswith(("list", "tuple", "frozenset", "set")) and isinstance(value, list):
            return type(value)(value) if option.startswith("list") else tuple(value)
    raise BadRequest(f"{field}: expected {type_text}, got {json.dumps(value)}")


def merge_faults(current: Any, changes: Any) -> dict[str, Any]:
    """Validate a JSON merge of ``changes`` into the faults dataclass ``current``.

    Keys may be snake_case (``latency_seconds``) or camelCase (``latencySeconds``). Returns the
    validated snake_case changes; raises ``BadRequest`` naming the first bad field.
    """
    if not isinstance(changes, dict):
        raise BadRequest("body: expected a JSON object of fault settings")
    if not dataclasses.is_dataclass(current):
        raise BadRequest("faults: this node's faults cannot be changed")
    fields = {f.name: f for f in dataclasses.fields(current)}
    out: dict[str, Any] = {}
    for key, value in changes.items():
        name = key if key in fields else _snake(key)
        if name not in fields:
            known = ", ".join(_camel(n) for n in fields)
            raise BadRequest(f"faults.{key}: unknown fault; expected one of {known}")
        value = _check_type(f"faults.{key}", str(fields[name].type), value)
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise BadRequest(f"faults.{key}: must not be negative, got {value}")
        out[name] = value
    status = out.get("http_status")
    if status is not None and not 100 <= int(status) <= 599:
        raise BadRequest(f"faults.httpStatus: expected an HTTP status 100-599, got {status}")
    return out


def churn_changes(body: Any) -> tuple[str | None, dict[str, Any]]:
    """Validate a ``PUT /churn`` body: ``(group or None, snake_case changes)``.

    Keys may be snake_case or camelCase; raises ``BadRequest`` naming the first bad field.
    """
    from fakekubelet.churn import ChurnSpec

    if not isinstance(body, dict):
        raise BadRequest("body: expected a JSON object of churn settings")
    group = body.get("group")
    if group is not None and not isinstance(group, str):
        raise BadRequest(f"group: expected a string, got {json.dumps(group)}")
    fields = {f.name: f for f in dataclasses.fields(ChurnSpec)}
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key == "group":
            continue
        name = key if key in fields else _snake(key)
        if name not in fields:
            known = ", ".join(_camel(n) for n in fields)
            raise BadRequest(f"churn.{key}: unknown setting; expected one of {known}")
        changes[name] = _check_type(f"churn.{key}", str(fields[name].type), value)
    return group, changes


def parse_instant(text: str, field: str = "at") -> float:
    """Unix seconds from ``1711467600.5`` or RFC 3339 ``2024-03-26T15:40:00Z``."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"{field}: expected Unix seconds or an RFC 3339 time, got {json.dumps(text)}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: Any, field: str) -> float:
    """Seconds from a number or a Go duration string (``15s``, ``1m0s``, ``14.998s``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value:
        pos, total = 0, 0.0
        for match in _DURATION.finditer(value):
            if match.start() != pos:
                break
            total += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if pos == len(value):
            return total
    raise BadRequest(
        f"{field}: expected seconds or a duration such as 15s, got {json.dumps(value)}"
    )


async def _body(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BadRequest(f"body: not valid JSON ({err})") from None


class Unsupported(Exception):
    """The cluster model offers no such operation: answered 501."""


_NODE_KEYS = {
    "group": str,
    "name": str,
    "address": str,
    "withPods": bool,
    "certMode": str,
    "kubeletVersion": str,
    "port": int,
    "labels": dict,
    "metricsPath": str,
    "faults": dict,
}


def _typed(body: Any, allowed: dict[str, type], what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest(f"body: expected a JSON object describing the {what}")
    for key, value in body.items():
        kind = allowed.get(key)
        if kind is None:
            raise BadRequest(f"{key}: unknown field; expected one of {', '.join(allowed)}")
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            raise BadRequest(f"{key}: expected {kind.__name__}, got {json.dumps(value)}")
    return dict(body)


def _container_json(c: Any) -> dict[str, Any]:
    return {
        "name": c.name,
        "kind": getattr(c, "kind", "regular"),
        "state": getattr(c, "state", None),
        "startTime": getattr(c, "start_time", None),
        "restartCount": getattr(c, "restart_count", 0),
        "workload": repr(getattr(c, "workload", None)),
    }


def pod_json(pod: Any) -> dict[str, Any]:
    """A pod as the control endpoint shows it."""
    return {
        "namespace": pod.namespace,
        "name": pod.name,
        "uid": pod.uid,
        "node": pod.node_name,
        "phase": pod.phase,
        "startTime": pod.start_time,
        "labels": dict(pod.labels),
        "containers": [_container_json(c) for c in pod.all_containers()],
    }


class ClusterOps:
    """The operations, validated, on the fleet's cluster (the same ones Python callers use).

    Each validates its input completely before the cluster changes; the cluster's own
    ``ValueError``s (raised before it mutates anything) become 400s, ``KeyError``s 404s.
    """

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.cluster = fleet.cluster

    def _get_node(self, name: str) -> Any:
        node = self.cluster.nodes.get(name)
        if node is None:
            raise NotFound(f'node "{name}" not found')
        return node

    def _get_pod(self, namespace: str, name: str) -> Any:
        pod = self.cluster.pods.get(f"{namespace}/{name}")
        if pod is None:
            raise NotFound(f'pod "{namespace}/{name}" not found')
        return pod

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(self.cluster, method, None)
        if fn is None:
            raise Unsupported(f"the cluster model has no {method}()")
        try:
            return fn(*args, **kwargs)
        except KeyError as err:
            what = err.args[0] if err.args else str(err)
            raise NotFound(f"{what} not found") from None
        except (ValueError, TypeError) as err:
            raise BadRequest(str(err)) from None

    # ------------------------------------------------------------------- nodes

    def node(self, name: str) -> dict[str, Any]:
        node = self._get_node(name)
        return {
            "name": name,
            "address": self.fleet.node_address(name),
            "port": self.fleet.node_port(name),
            "certMode": self.fleet.node_cert_mode(name),
            "listening": self.fleet.server.is_listening(name),
            "url": self.fleet.url(name),
            "kubeletVersion": getattr(node, "kubelet_version", None),
            "group": getattr(node, "group", None),
            "pods": sorted(getattr(node, "pods", {}) or {}),
            "faults": to_jsonable(getattr(node, "faults", None)),
        }

    def nodes(self) -> list[dict[str, Any]]:
        return [self.node(name) for name in sorted(self.cluster.nodes)]

    def add_node(self, body: Any) -> str:
        data = _typed(body, _NODE_KEYS, "node")
        if "address" in data:
            _check_loopback(data["address"])
        fields: dict[str, Any] = {}
        for key in ("certMode", "kubeletVersion", "port", "labels", "metricsPath"):
            if key in data:
                fields[_snake(key)] = data[key]
        if "faults" in data:
            from fakekubelet.model import Faults

            fields["faults"] = Faults(**merge_faults(Faults(), data["faults"]))
        node = self._call(
            "add_node",
            data.get("group"),
            name=data.get("name"),
            address=data.get("address"),
            with_pods=data.get("withPods", True),
            **fields,
        )
        return str(node.name)

    def remove_node(self, name: str) -> None:
        self._get_node(name)
        self._call("remove_node", name)

    def set_faults(self, name: str, changes: Any) -> None:
        node = self._get_node(name)
        valid = merge_faults(node.faults, changes)
        if hasattr(self.cluster, "set_faults"):
            self._call("set_faults", name, **valid)
        else:
            for key, value in valid.items():
                setattr(node.faults, key, value)

    def set_address(self, name: str, address: str) -> None:
        self._get_node(name)
        self._call("set_node_address", name, address)

    # -------------------------------------------------------------------- pods

    def add_pod(self, body: Any) -> Any:
        data = _typed(body, {"node": str, "name": str, "template": dict}, "pod")
        if "node" not in data:
            raise BadRequest("node: required (the node to put the pod on)")
        self._get_node(data["node"])
        pod = self._call("add_pod", data["node"], data.get("template"), name=data.get("name"))
        return pod_json(pod)

    def remove_pod(self, namespace: str, name: str) -> None:
        self._get_pod(namespace, name)
        self._call("remove_pod", namespace, name)

    def set_workload(self, namespace: str, name: str, container: str, body: Any) -> Any:
        pod = self._get_pod(namespace, name)
        if container not in {c.name for c in pod.all_containers()}:
            raise NotFound(f'container "{container}" of pod "{namespace}/{name}" not found')
        if not isinstance(body, dict):
            raise BadRequest('body: expected a workload object such as {"cpu": "250m"}')
        c = self._call("set_workload", namespace, name, container, body)
        return _container_json(c)

    def usage_items(self, body: Any) -> list[tuple[str, str, str, float | None, float | None]]:
        """Validate ``{"items": [{"namespace", "pod", "container", "cpu", "memory"}, ...]}``
        (cpu in cores or a quantity, memory in bytes or a quantity; container default: the
        pod's first) completely: ``(namespace, pod, container, cores, bytes)`` each."""
        from fakekubelet.quantity import parse_cpu, parse_memory

        if not isinstance(body, dict) or set(body) != {"items"} or not isinstance(
                body["items"], list):
            raise BadRequest('body: expected {"items": [{"namespace", "pod", "container", '
                             '"cpu", "memory"}, ...]}')
        out = []
        allowed = {"namespace", "pod", "container", "cpu", "memory"}
        for i, item in enumerate(body["items"]):
            where = f"items[{i}]"
            if not isinstance(item, dict):
                raise BadRequest(f"{where}: expected an object")
            unknown = sorted(set(item) - allowed)
            if unknown:
                raise BadRequest(f"{where}.{unknown[0]}: unknown field; expected one of "
                                 "namespace, pod, container, cpu, memory")
            for key in ("namespace", "pod"):
                if not isinstance(item.get(key), str) or not item[key]:
                    raise BadRequest(f"{where}.{key}: required (a string)")
            pod = self._get_pod(item["namespace"], item["pod"])
            container = item.get("container")
            if container is None:
                container = pod.containers[0].name
            elif not isinstance(container, str) or container not in {
                    c.name for c in pod.all_containers()}:
                raise NotFound(f'container {json.dumps(container)} of pod '
                               f'"{item["namespace"]}/{item["pod"]}" not found')
            levels: list[float | None] = []
            for key, parse in (("cpu", parse_cpu), ("memory", parse_memory)):
                if item.get(key) is None:
                    levels.append(None)
                    continue
                try:
                    levels.append(parse(item[key]))
                except ValueError as err:
                    raise BadRequest(f"{where}.{key}: {err}") from None
            out.append((item["namespace"], item["pod"], container, levels[0], levels[1]))
        return out

    def set_usage(self, body: Any) -> Any:
        """Drive containers' usage (``Cluster.drive``); all items checked before any is set."""
        items = self.usage_items(body)
        for namespace, pod, container, cpu, memory in items:
            self._call("drive", namespace, pod, container, cpu=cpu, memory=memory)
        return {"items": [{"namespace": ns, "pod": pod, "container": c, "cpu": cpu,
                           "memory": mem} for ns, pod, c, cpu, mem in items]}

    def restart(self, namespace: str, name: str, container: str) -> Any:
        pod = self._get_pod(namespace, name)
        if container not in {c.name for c in pod.all_containers()}:
            raise NotFound(f'container "{container}" of pod "{namespace}/{name}" not found')
        return _container_json(self._call("restart_container", namespace, name, container))

    # ------------------------------------------------------------ churn & time

    def set_churn(self, body: Any) -> Any:
        group, changes = churn_changes(body)
        result = self._call("set_churn", group, **changes)
        return {g: to_jsonable(spec) for g, spec in result.items()}

    def advance(self, seconds: float) -> Any:
        from fakekubelet.clock import VirtualClock

        if not isinstance(getattr(self.cluster, "clock", None), VirtualClock):
            raise BadRequest(
                "seconds: the fleet runs on the real clock; only a virtual clock advances"
            )
        return {"time": self._call("advance", seconds)}

    def truth(self, at: float | None) -> Any:
        truth = getattr(self.cluster, "truth", None)
        if truth is None:
            raise Unsupported("the cluster model has no ground truth")
        try:
            return truth.snapshot(at)
        except ValueError as err:
            raise BadRequest(f"at: {err}") from None

    def truth_window(self, kind: str, namespace: str, name: str, start: float, end: float) -> Any:
        truth = getattr(self.cluster, "truth", None)
        if truth is None:
            raise Unsupported("the cluster model has no ground truth")
        entity = name if kind == "node" else f"{namespace}/{name}"
        start, end = self.served_window(kind, namespace, name, start, end)
        try:
            return truth.window(entity, start, end)
        except KeyError as err:
            raise NotFound(f"{err.args[0] if err.args else err} not found") from None
        except ValueError as err:
            raise BadRequest(f"timestamp: {err}") from None


    def served_window(
        self, kind: str, namespace: str, name: str, start: float, end: float
    ) -> tuple[float, float]:
        """Snap a reported window to two payloads the node really served.

        The Metrics API truncates its timestamp to whole seconds but gives the window exactly,
        so among the node's served sample times the pair (t0, t1) with t1 in [end, end + 1s)
        and t1 - t0 equal to the window is the one the rate came from. Without such a pair
        (stats periods, replayed payloads) the window is used as given.
        """
        node: str | None
        if kind == "node":
            node = name
        else:
            node_of = getattr(self.cluster, "node_of", None)
            if node_of is not None:
                node = node_of(namespace, name)
            else:
                pod = self.cluster.pods.get(f"{namespace}/{name}")
                node = getattr(pod, "node_name", None) if pod is not None else None
        served = getattr(self.fleet, "served_sample_times", None)
        if node is None or served is None:
            return start, end
        times = served(node)
        window_ms = round((end - start) * 1000)
        end_ms = round(end * 1000)
        known = set(times)
        for t1 in reversed(times):
            if end_ms <= t1 < end_ms + 1000 and t1 - window_ms in known:
                return (t1 - window_ms) / 1000, t1 / 1000
        return start, end


def _check_loopback(address: str) -> None:
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        raise BadRequest(f"address: expected an IPv4 address, got {json.dumps(address)}") from None
    if not ip.is_loopback:
        raise BadRequest(f"address: must be in 127.0.0.0/8, got {json.dumps(address)}")


class ControlServer:
    """The aiohttp app behind ``control.json``; cluster operations go through ``ops``."""

    def __init__(self, fleet: Fleet, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fleet = fleet
        self.ops = ClusterOps(fleet)
        self.host = host
        self.port = port
        self.url = ""
        app = web.Application(middlewares=[self._errors])
        r = app.router
        r.add_get("/healthz", self._healthz)
        r.add_get("/nodes", self._nodes)
        r.add_post("/nodes", self._add_node)
        r.add_get("/nodes/{name}", self._node)
        r.add_delete("/nodes/{name}", self._remove_node)
        r.add_put("/nodes/{name}/faults", self._faults)
        r.add_put("/nodes/{name}/address", self._address)
        r.add_post("/pods", self._add_pod)
        r.add_delete("/pods/{namespace}/{name}", self._remove_pod)
        r.add_put("/pods/{namespace}/{name}/containers/{container}/workload", self._workload)
        r.add_put("/pods/{namespace}/{name}/containers/{container}/usage", self._usage_one)
        r.add_put("/usage", self._usage)
        r.add_post("/pods/{namespace}/{name}/containers/{container}/restart", self._restart)
        r.add_put("/churn", self._churn)
        r.add_post("/clock/advance", self._advance)
        r.add_get("/truth", self._truth)
        r.add_post("/truth/window", self._truth_window)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)

    async def start(self) -> str:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])
        self.url = f"http://{self.host}:{self.port}"
        return self.url

    async def stop(self) -> None:
        await self._runner.cleanup()

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except BadRequest as err:
            return _json({"error": str(err)}, 400)
        except NotFound as err:
            return _json({"error": str(err)}, 404)
        except Unsupported as err:
            return _json({"error": str(err)}, 501)

    async def _settle(self) -> None:
        self.fleet.changed()
        await self.fleet.settled()

    # ------------------------------------------------------------------ routes

    async def _healthz(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    async def _nodes(self, request: web.Request) -> web.StreamResponse:
        return _json(self.ops.nodes())

    async def _node(self, request: web.Request) -> web.StreamResponse:
        return _json(self.ops.node(request.match_info["name"]))

    async def _add_node(self, request: web.Request) -> web.StreamResponse:
        name = self.ops.add_node(await _body(request))
        await self._settle()
        return _json(self.ops.node(name), 201)

    async def _remove_node(self, request: web.Request) -> web.StreamResponse:
        self.ops.remove_node(request.match_info["name"])
        await self._settle()
        return _json({"deleted": request.match_info["name"]})

    async def _faults(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.ops.set_faults(name, await _body(request))
        await self._settle()
        return _json(self.ops.node(name))

    async def _address(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        body = await _body(request)
        address = body.get("address") if isinstance(body, dict) else None
        if not isinstance(address, str):
            raise BadRequest('address: expected a string such as "127.1.0.9"')
        try:
            ip = ipaddress.IPv4Address(address)
        except ValueError:
            raise BadRequest(
                f"address: expected an IPv4 address, got {json.dumps(address)}"
            ) from None
        if not ip.is_loopback:
            raise BadRequest(f"address: must be in 127.0.0.0/8, got {json.dumps(address)}")
        self.ops.set_address(name, address)
        await self._settle()
        return _json(self.ops.node(name))

    async def _add_pod(self, request: web.Request) -> web.StreamResponse:
        pod = self.ops.add_pod(await _body(request))
        await self._settle()
        return _json(pod, 201)

    async def _remove_pod(self, request: web.Request) -> web.StreamResponse:
        ns, name = request.match_info["namespace"], request.match_info["name"]
        self.ops.remove_pod(ns, name)
        await self._settle()
        return _json({"deleted": f"{ns}/{name}"})

    async def _workload(self, request: web.Request) -> web.StreamResponse:
        m = request.match_info
        result = self.ops.set_workload(
            m["namespace"], m["name"], m["container"], await _body(request)
        )
        return _json(result)

    async def _usage_one(self, request: web.Request) -> web.StreamResponse:
        m = request.match_info
        body = await _body(request)
        if not isinstance(body, dict):
            raise BadRequest('body: expected {"cpu": ..., "memory": ...}')
        item = {"namespace": m["namespace"], "pod": m["name"], "container": m["container"],
                **body}
        return _json(self.ops.set_usage({"items": [item]})["items"][0])

    async def _usage(self, request: web.Request) -> web.StreamResponse:
        return _json(self.ops.set_usage(await _body(request)))

    async def _restart(self, request: web.Request) -> web.StreamResponse:
        m = request.match_info
        return _json(self.ops.restart(m["namespace"], m["name"], m["container"]))

    async def _churn(self, request: web.Request) -> web.StreamResponse:
        return _json(self.ops.set_churn(await _body(request)))

    async def _advance(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        if not isinstance(body, dict) or "seconds" not in body:
            raise BadRequest("seconds: required (number of seconds or a duration such as 15s)")
        seconds = parse_duration(body["seconds"], "seconds")
        if seconds < 0:
            raise BadRequest(f"seconds: must not be negative, got {body['seconds']}")
        result = self.ops.advance(seconds)
        await self._settle()
        return _json(result)

    async def _truth(self, request: web.Request) -> web.StreamResponse:
        at = request.query.get("at")
        instant = parse_instant(at) if at else None
        return _json(self.ops.truth(instant))

    async def _truth_window(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        if not isinstance(body, dict):
            raise BadRequest("body: expected a JSON object")
        kind = body.get("kind")
        if kind not in ("node", "pod"):
            raise BadRequest(f'kind: expected "node" or "pod", got {json.dumps(kind)}')
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequest("name: required")
        namespace = body.get("namespace") or ""
        if kind == "pod" and not namespace:
            raise BadRequest("namespace: required for a pod")
        if "timestamp" not in body:
            raise BadRequest("timestamp: required")
        end = parse_instant(str(body["timestamp"]), "timestamp")
        window = parse_duration(body.get("window"), "window")
        return _json(self.ops.truth_window(kind, namespace, name, end - window, end))
