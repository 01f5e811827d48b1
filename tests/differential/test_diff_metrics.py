"""``/metrics`` of both servers, scoped to the ``metrics_server_*`` and ``process_*``
families: names, types, HELP, label sets and histogram buckets, parsed with
prometheus_client's parser. Values are the servers' own (CPU, memory, request counts and
durations differ between any two processes), except the storage gauge, which depends only on
the payloads both scraped."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.differential.pair import METRICSD, UPSTREAM
from tests.differential.record import PHASES, Recording

pytestmark = [pytest.mark.differential, pytest.mark.xdist_group("differential"),
              pytest.mark.timeout(900)]

SCOPE = ("metrics_server_", "process_")
#: values that follow from the scraped payloads alone
EXACT_VALUES = ("metrics_server_storage_points",)


def shape(text: str) -> dict[str, Any]:
    """family → (type, HELP, {sample name, labels without le} → sorted buckets, values);
    under ``"order"`` the families in the order they are exposed."""
    out: dict[str, Any] = {"order": []}
    for family in text_string_to_metric_families(text):
        if not family.name.startswith(SCOPE):
            continue
        series: dict[tuple[str, tuple[tuple[str, str], ...]], list[str]] = {}
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
            bucket = series.setdefault((sample.name, labels), [])
            if "le" in sample.labels:
                bucket.append(sample.labels["le"])
            elif family.name in EXACT_VALUES:
                bucket.append(repr(sample.value))
        out["order"].append(family.name)
        out[family.name] = (family.type, family.documentation,
                            {f"{name}{dict(labels)}": v for (name, labels), v in
                             sorted(series.items())})
    return out


@pytest.mark.parametrize("phase", PHASES)
def test_self_metrics(recording: Recording, phase: str) -> None:
    by = recording.queries[phase]["metrics"]
    assert (by[METRICSD].status, by[UPSTREAM].status) == (200, 200)
    ours, theirs = shape(by[METRICSD].body), shape(by[UPSTREAM].body)
    assert ours == theirs, f"{phase}: metricsd (left) != metrics-server (right)"


def test_the_scope_is_not_empty(recording: Recording) -> None:
    theirs = shape(recording.queries["failures"]["metrics"][UPSTREAM].body)
    assert sum(name.startswith("metrics_server_") for name in theirs["order"]) == 6
    assert sum(name.startswith("process_") for name in theirs["order"]) == 7
