"""kubectl's pod-age branches of `kubectl top pod`, through the whole chain as processes
(fakeapiserver + fleet → metricsd behind the aggregation layer → every installed kubectl).

With an empty pod metrics list kubectl lists the pods itself and, for the first pod older than
two minutes (``metricsCreationDelay``), fails with ``Metrics not available for pod NS/NAME,
age: <Go duration since creationTimestamp>``; when every listed pod is younger it says
``metrics not available yet``. The fleet gives both: pods of a template with ``ageSeconds``
on a node whose kubelet reports none of its pods (``missingPods: 1.0``), and young pods there.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import pytest
import yaml

from fakekubelet.addresses import free_loopback_base
from tests.e2e.chain import started_chain
from tests.kubectl_bins import kubectl_versions

pytestmark = [pytest.mark.kubectl, pytest.mark.slow]

VERSIONS = kubectl_versions()
if not VERSIONS:
    pytest.skip("no kubectl.1.XX binaries next to the kubectl on PATH", allow_module_level=True)
AGE = 600  # seconds

FLEET = {
    "seed": 3,
    "nodeGroups": [
        {"name": "node", "count": 1,
         "pods": [{"name": "web", "count": 2, "ageSeconds": AGE,
                   "containers": [{"name": "app", "cpu": "50m", "memory": "64Mi"}]}]},
        {"name": "quiet", "count": 1, "faults": {"missingPods": 1.0},
         "pods": [{"name": "legacy", "namespace": "legacy", "ageSeconds": AGE,
                   "containers": [{"name": "app"}]},
                  {"name": "fresh", "namespace": "fresh", "containers": [{"name": "app"}]}]},
    ],
}

GO_DURATION = r"(?:(\d+)h)?(?:(\d+)m)?(\d+(?:\.\d+)?)s"


def go_seconds(text: str) -> float:
    m = re.fullmatch(GO_DURATION, text)
    assert m is not None, text
    hours, minutes, seconds = m.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


async def test_metrics_not_available_for_an_old_pod(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(yaml.safe_dump({**FLEET, "addressBase": free_loopback_base(2, 10250)}))
    began = time.time()
    async with started_chain(tmp_path, "--fleet-config", str(fleet)) as c:
        # metrics flow for the reporting node's pods (two scrapes needed), so the empty
        # lists below are the quiet kubelet's doing, not a cold metrics server
        code, out, err = await c.kubectl("wait", "--for=condition=Ready", "pod", "--all",
                                         "--timeout=60s")  # fleet pods are Ready
        assert code == 0, err
        for _ in range(60):
            code, out, err = await c.kubectl("top", "pod", "--no-headers")
            if code == 0:
                break
            await asyncio.sleep(1)
        assert code == 0, err
        assert sorted(line.split()[0][:4] for line in out.splitlines()) == ["web-", "web-"]
        code, out, _ = await c.kubectl("get", "pods", "-n", "legacy", "-o", "json")
        (legacy,) = json.loads(out)["items"]
        name = legacy["metadata"]["name"]
        code, out, _ = await c.kubectl("get", "pods", "-n", "legacy", "--no-headers")
        assert out.split()[4] == "10m"  # AGE from the model's creation time
        for version in VERSIONS:
            code, out, err = await c.kubectl("top", "pod", "-n", "legacy", version=version)
            assert (code, out) == (1, ""), (version, err)
            m = re.fullmatch(rf"error: Metrics not available for pod legacy/{name}, "
                             rf"age: ({GO_DURATION})\n", err)
            assert m is not None, (version, err)
            age = go_seconds(m.group(1))
            # creationTimestamp is whole seconds: the age is at least AGE since our start
            assert AGE - 1 <= age <= AGE + (time.time() - began) + 1, (version, err)
            code, out, err = await c.kubectl("top", "pod", "-n", "fresh", version=version)
            assert (code, out, err) == (1, "", "error: metrics not available yet\n"), version
