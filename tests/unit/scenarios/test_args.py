"""Args changes as a user edits components.yaml; the order is the one docs/scenarios.md states."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scenarios.args import apply_changes, flag_name
from scenarios.backends.base import CommandResult
from scenarios.runner import Runner
from scenarios.schema import load_scenario

BASE = [
    "--cert-dir=/tmp",
    "--secure-port=10250",
    "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
    "--kubelet-use-node-status-port",
    "--metric-resolution=15s",
]


def test_add_appends_like_editing_components_yaml() -> None:
    assert apply_changes(BASE, {"add": ["--kubelet-insecure-tls"]}) == [
        *BASE,
        "--kubelet-insecure-tls",
    ]


def test_add_with_value_replaces_the_old_value() -> None:
    out = apply_changes(BASE, {"add": ["--metric-resolution=10s"]})
    assert out == [*BASE[:4], "--metric-resolution=10s"]


def test_set_replaces_in_place_and_remove_drops() -> None:
    out = apply_changes(
        [*BASE, "-v=4"], {"set": {"--v": "6"}, "remove": ["--kubelet-use-node-status-port"]}
    )
    assert out == [BASE[0], BASE[1], BASE[2], BASE[4], "--v=6"]


def test_no_change_is_a_copy() -> None:
    out = apply_changes(BASE, None)
    assert out == BASE and out is not BASE


@given(st.lists(st.sampled_from(["--a", "--b=1", "--c=2", "-v=3"]), max_size=6))
def test_remove_leaves_no_trace(args: list[str]) -> None:
    out = apply_changes(args, {"remove": ["--b", "--v"]})
    assert all(flag_name(a) not in ("--b", "--v") for a in out)


# -- the order docs/scenarios.md ("How args changes combine") documents -------------------------

@pytest.mark.parametrize(("change", "result"), [
    # remove, then set: the value set after a removal is appended
    ({"remove": ["--v"], "set": {"--v": "6"}}, [*BASE, "--v=6"]),
    # set, then add: add comes last and wins, at the end of the list
    ({"set": {"--metric-resolution": "30s"}, "add": ["--metric-resolution=20s"]},
     [*BASE[:4], "--metric-resolution=20s"]),
    # remove, then add: the added flag survives its own removal
    ({"add": ["--kubelet-insecure-tls"], "remove": ["--kubelet-insecure-tls"]},
     [*BASE, "--kubelet-insecure-tls"]),
    # set replaces the first occurrence in place and drops the others
    ({"set": {"-v": "2"}}, ["--cert-dir=/tmp", "--v=2", *BASE[1:]]),
    # a bare flag is not added twice
    ({"add": ["--kubelet-use-node-status-port"]}, BASE),
])
def test_remove_then_set_then_add(change: dict[str, Any], result: list[str]) -> None:
    args = [BASE[0], "--v=4", *BASE[1:], "-v=5"] if "-v" in change.get("set", {}) else BASE
    assert apply_changes(args, change) == result
    # the order of the keys in the file does not matter
    assert apply_changes(args, dict(reversed(list(change.items())))) == result


class Recording:
    """Just enough backend for the runner's install path."""

    name = "sim"

    def __init__(self) -> None:
        self.installs: list[list[str]] = []

    async def base_args(self) -> list[str]:
        return list(BASE)

    async def install(self, args: list[str]) -> CommandResult:
        self.installs.append(args)
        return CommandResult(["kubectl", "apply"], 0, "", "")


async def test_install_changes_accumulate_on_the_scenario_args() -> None:
    scenario = load_scenario("s.yaml", text=(
        "name: x\ndescription: d\ncluster: {}\n"
        "metricsd: {args: {set: {--v: '4'}}}\n"
        "steps:\n"
        "- install: {args: {add: [--kubelet-insecure-tls]}}\n"
        "- install: {args: {set: {--v: '6'}, remove: [--kubelet-use-node-status-port]}}\n"))
    backend = Recording()
    runner = Runner(scenario, backend, [], progress=lambda _: None)  # type: ignore[arg-type]
    result = await runner.run()
    assert result.passed
    assert backend.installs == [
        [*BASE, "--v=4", "--kubelet-insecure-tls"],
        [*BASE[:3], BASE[4], "--v=6", "--kubelet-insecure-tls"],
    ]
