"""The whole chain as processes: `fakeapiserver` (fleet registered, APIService for a backend)
→ the real metricsd behind the aggregation layer → `kubectl top`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakekubelet.addresses import free_loopback_base
from tests.e2e.chain import started_chain
from tests.kubectl_bins import kubectl_versions

pytestmark = [pytest.mark.kubectl, pytest.mark.slow]

VERSIONS = kubectl_versions()
if not VERSIONS:
    pytest.skip("no kubectl.1.XX binaries next to the kubectl on PATH", allow_module_level=True)


async def test_kubectl_top_through_fakeapiserver_and_metricsd(tmp_path: Path) -> None:
    async with started_chain(tmp_path, "--nodes", "2", "--pods-per-node", "2",
                             "--address-base", free_loopback_base(2, 10250)) as c:
        nodes = json.loads((c.state / "nodes.json").read_text())
        code, out, err = await c.kubectl("top", "node", "--no-headers")
        assert code == 0, err
        names = sorted(line.split()[0] for line in out.splitlines())
        assert names == sorted(n["name"] for n in nodes)
        assert all(line.split()[1].endswith("m") for line in out.splitlines())
