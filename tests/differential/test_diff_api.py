"""The Metrics API of both servers, query by query and phase by phase.

Every field of NodeMetrics/PodMetrics (usage values to the digit, ``window``, ``timestamp``,
labels, item order), label and field selectors, namespaces, Table output, protobuf, Status
texts for bad names and selectors, discovery — compared as status, headers and body with
only the rules of ``docs/peer-deviations.md`` applied (:func:`normalise.answer`).
"""

from __future__ import annotations

import json

import pytest

from tests.differential.deviations import rule
from tests.differential.normalise import answer
from tests.differential.pair import METRICSD, UPSTREAM
from tests.differential.record import PHASES, Recording, query_ids

pytestmark = [pytest.mark.differential, pytest.mark.xdist_group("differential"),
              pytest.mark.timeout(900)]

API_IDS = [q for q in query_ids() if q.split("/")[0].split("-")[0] not in (
    "livez", "readyz", "healthz", "metrics") and not q.startswith("anonymous-livez")]


#: queries whose answers are an accepted difference: only the real one's side is checked
ACCEPTED = {
    "openapi-v2": rule("D10", "api", r"/openapi/v2", only_in=UPSTREAM),
    "openapi-v3": rule("D10", "api", r"/openapi/v3", only_in=UPSTREAM),
    "debug-pprof": rule("D11", "api", r"/debug/pprof/", only_in=UPSTREAM),
}


@pytest.mark.parametrize("qid", API_IDS)
@pytest.mark.parametrize("phase", PHASES)
def test_api_answer(recording: Recording, phase: str, qid: str) -> None:
    by = recording.queries[phase][qid]
    if qid in ACCEPTED:  # the entry says the real one serves it: hold it to that
        assert by[UPSTREAM].status == 200, ACCEPTED[qid]
        return
    ours, theirs = answer(by[METRICSD]), answer(by[UPSTREAM])
    assert ours == theirs, f"{phase} {qid}: metricsd (left) != metrics-server (right)"


#: what the real one serves in each phase — the comparison above is only as good as this
NODES_SERVED = {"before": 0, "one": 0, "two": 11, "failures": 3, "all-failing": 0}


@pytest.mark.parametrize("phase", PHASES)
def test_the_phase_is_what_it_says(recording: Recording, phase: str) -> None:
    nodes = recording.queries[phase]["nodes"][UPSTREAM]
    assert nodes.status == 200
    assert len(json.loads(nodes.body)["items"]) == NODES_SERVED[phase]
    pods = json.loads(recording.queries[phase]["pods"][UPSTREAM].body)["items"]
    if phase == "one":  # the fresh-container shortcut: only pods started 10–15 s before
        assert pods and {p["metadata"]["labels"]["app"] for p in pods} == {"fresh"}
        assert {p["window"] for p in pods} == {"12s"}
    if phase == "two":
        assert {p["window"] for p in pods} == {"15s"}
        assert len(pods) == 17
