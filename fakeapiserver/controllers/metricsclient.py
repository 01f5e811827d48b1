"""The HPA's resource metrics client: a LIST of ``pods.metrics.k8s.io`` over HTTPS.

Why over HTTPS to our own URL instead of a call into metricsd: kube-controller-manager's HPA
reads metrics exactly like ``kubectl top`` — ``GET /apis/metrics.k8s.io/v1beta1/namespaces/
<ns>/pods?labelSelector=<scale selector>`` through kube-apiserver, which authenticates and
authorizes the controller's identity and proxies to the APIService's backend. Going the same
way, every failure on that path reaches the HPA as users see it: no APIService (kube-apiserver
answers ``404 page not found``) becomes ``the server could not find the requested resource
(get pods.metrics.k8s.io)``, an unavailable one (``503 service unavailable``) becomes ``the
server is currently unable to handle the request (get pods.metrics.k8s.io)``, a missing RBAC
rule the API server's Forbidden text, and metricsd's own Status errors pass through as sent
(:mod:`fakeapiserver.controllers.apierrors`).

The identity is upstream's with ``--use-service-account-credentials``:
``system:serviceaccount:kube-system:horizontal-pod-autoscaler``, bound to the bootstrap
ClusterRole ``system:controller:horizontal-pod-autoscaler`` (:mod:`fakeapiserver.rbac`).
One keep-alive connection pool per controller, as client-go's transport. client-go's
retries (only for 429/5xx answers carrying ``Retry-After``, which the aggregator never
sends) are not modelled.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp

from fakeapiserver.aggregation import go_error_text
from fakeapiserver.controllers.apierrors import response_error

__all__ = ["METRICS_GROUP", "ResourceMetricsClient", "user_agent"]

METRICS_GROUP = "metrics.k8s.io"
METRICS_VERSION = "v1beta1"
#: kube-controller-manager's client has no overall deadline; ours bounds a stuck proxy.
DEFAULT_TIMEOUT = 30.0


def user_agent(kube_version: tuple[int, int], identity: str) -> str:
    """client-go's ``DefaultKubernetesUserAgent`` plus the controller's name, as
    ``ClientBuilder.ConfigOrDie`` sets it."""
    major, minor = kube_version
    return (f"kube-controller-manager/v{major}.{minor}.0 (linux/amd64) kubernetes/0000000/"
            f"{identity}")


class ResourceMetricsClient:
    """``PodMetricses(ns).List(labelSelector)`` against the control plane's own URL.

    ``token()`` is called per request (a refreshed token after a 401 is retried once: a long
    virtual-time run can outlive a token). The answer is the decoded PodMetricsList, or the
    error text client-go would return.
    """

    def __init__(self, base_url: str, ca_pem: bytes, token: Callable[[bool], str], *,
                 user_agent: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self._ssl = ssl.create_default_context(cadata=ca_pem.decode())
        self._token = token
        self._user_agent = user_agent
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        #: requests sent (tests and diagnostics)
        self.requests = 0

    def url(self, namespace: str, selector: str) -> str:
        path = (f"/apis/{METRICS_GROUP}/{METRICS_VERSION}/namespaces/"
                f"{quote(namespace, safe='')}/pods")
        query = urlencode({"labelSelector": selector}) if selector else ""
        return self.base_url + path + (f"?{query}" if query else "")

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl),
                timeout=aiohttp.ClientTimeout(total=self._timeout))
        return self._session

    async def list_pods(self, namespace: str, selector: str) -> dict[str, Any] | str:
        """The PodMetricsList (a dict) or client-go's error text (a str)."""
        url = self.url(namespace, selector)
        refreshed = False
        while True:
            headers = {"Accept": "application/json, */*", "User-Agent": self._user_agent,
                       "Authorization": f"Bearer {self._token(refreshed)}"}
            self.requests += 1
            try:
                async with self._client().get(aiohttp.client.URL(url, encoded=True),
                                              headers=headers) as resp:
                    body = await resp.read()
                    status = resp.status
                    content_type = resp.headers.get("Content-Type", "")
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                return go_error_text(url, exc)
            if status == 401 and not refreshed:
                refreshed = True
                continue
            break
        if not 200 <= status <= 206:
            return response_error(status, content_type, body, verb="GET",
                                  group=METRICS_GROUP, resource="pods")
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return f"couldn't get version/kind; json parse error: {exc}"
        if doc is None:
            return "Object 'Kind' is missing in 'null'"
        if not isinstance(doc, dict):
            go_type = {list: "array", str: "string", bool: "bool"}.get(type(doc), "number")
            return ("couldn't get version/kind; json parse error: json: cannot unmarshal "
                    f"{go_type} into Go value of type struct")
        return doc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
