"""The deviations document and the comparisons' rules name each other one to one."""

from __future__ import annotations

import pytest

# every module that registers rules, so that this test holds when it runs alone too
import tests.differential.normalise
import tests.differential.test_diff_api
import tests.differential.test_diff_flags
import tests.differential.test_diff_kubectl
import tests.differential.test_diff_logs  # noqa: F401
from tests.differential.deviations import RULES, SURFACES, entries

pytestmark = [pytest.mark.differential]


def test_every_entry_of_a_compared_surface_has_a_rule() -> None:
    used = {r.id for r in RULES}
    stale = [e.id for e in entries().values()
             if set(e.surface.split("/")) & set(SURFACES) and e.id not in used]
    assert stale == [], "entries no comparison uses (remove them, or the difference is gone)"


def test_every_rule_is_for_a_surface_its_entry_names() -> None:
    for r in RULES:
        assert r.surface in entries()[r.id].surface.split("/"), r
