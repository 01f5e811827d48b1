from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scenarios.args import apply_changes, flag_name

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
