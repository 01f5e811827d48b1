"""``kubectl top`` through the aggregation layer, the APIService's Service pointed at one
server and then the other, for every installed kubectl (1.27–1.33): ``nodes``/``pods``,
``-A``, ``-n``, ``--containers``, ``-l``, ``--sort-by``, ``--no-headers``, a missing pod, an
empty namespace — exit status, stdout and stderr."""

from __future__ import annotations

import re

import pytest

from scenarios.kubectl import kubectl_versions
from tests.differential.deviations import rule
from tests.differential.pair import METRICSD, UPSTREAM
from tests.differential.record import TOP_COMMANDS, Recording

pytestmark = [pytest.mark.differential, pytest.mark.xdist_group("differential"),
              pytest.mark.timeout(900), pytest.mark.kubectl,
              pytest.mark.skipif(not kubectl_versions(), reason="no kubectl.1.NN installed")]

#: N5: with --containers, one pod's rows come in the API's container order (Go's map order)
CONTAINER_ROWS = rule("N5", "kubectl", "")


def normalised(stdout: str, containers: bool) -> str:
    """With ``--containers``: each pod's rows sorted (CONTAINER_ROWS), pods kept in order."""
    if not containers:
        return stdout
    lines = stdout.splitlines(True)
    head, rows = lines[:1], lines[1:]
    groups: dict[str, list[str]] = {}
    order: list[str] = []
    for row in rows:
        fields = row.split()
        pod = " ".join(fields[:-4]) if len(fields) > 4 else fields[0]
        if pod not in groups:
            order.append(pod)
        groups.setdefault(pod, []).append(row)
    return "".join(head + [r for pod in order for r in sorted(groups[pod])])


@pytest.mark.parametrize("command", [" ".join(c) for c in TOP_COMMANDS])
@pytest.mark.parametrize("version", kubectl_versions())
def test_kubectl_top(recording: Recording, version: str, command: str) -> None:
    by = recording.kubectl[version][command]
    containers = "--containers" in command
    ours = (by[METRICSD][0], normalised(by[METRICSD][1], containers), by[METRICSD][2])
    theirs = (by[UPSTREAM][0], normalised(by[UPSTREAM][1], containers), by[UPSTREAM][2])
    assert ours == theirs, f"kubectl {version} {command}: metricsd (left) != metrics-server"
    if command in ("top nodes", "top pods -A"):
        assert theirs[0] == 0 and re.search(r"\d+m", theirs[1]), theirs
