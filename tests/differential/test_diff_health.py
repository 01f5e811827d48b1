"""``/livez``, ``/readyz``, ``/healthz`` of both servers: plain (as the kubelet probes, no
credentials), ``?verbose``, ``?exclude=``, each check on its own (as the admin) — before the
first scrape, after one, after two, with failing nodes and with every kubelet failing."""

from __future__ import annotations

import pytest

from tests.differential.normalise import answer
from tests.differential.pair import METRICSD, UPSTREAM
from tests.differential.record import HEALTH_ENDPOINTS, PHASES, Recording, query_ids

pytestmark = [pytest.mark.differential, pytest.mark.xdist_group("differential"),
              pytest.mark.timeout(900)]

HEALTH_IDS = [q for q in query_ids() if q.split("/")[0].split("-")[0] in HEALTH_ENDPOINTS
              or q.startswith("anonymous-livez")]


@pytest.mark.parametrize("qid", HEALTH_IDS)
@pytest.mark.parametrize("phase", PHASES)
def test_health_answer(recording: Recording, phase: str, qid: str) -> None:
    by = recording.queries[phase][qid]
    ours, theirs = answer(by[METRICSD], "health"), answer(by[UPSTREAM], "health")
    assert ours == theirs, f"{phase} {qid}: metricsd (left) != metrics-server (right)"


#: the real one's /readyz and /livez status per phase (so the phases mean what they say)
EXPECTED = {"before": (500, 200), "one": (200, 200), "two": (200, 200),
            "failures": (200, 200), "all-failing": (500, 200)}


@pytest.mark.parametrize("phase", PHASES)
def test_the_phase_is_what_it_says(recording: Recording, phase: str) -> None:
    got = (recording.queries[phase]["readyz"][UPSTREAM].status,
           recording.queries[phase]["livez"][UPSTREAM].status)
    assert got == EXPECTED[phase]
