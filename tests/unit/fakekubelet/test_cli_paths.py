"""``--state-dir`` of fakekubelet and fakeapiserver is made absolute as it is parsed.

What reads the state dir later is not always in the directory the flag was typed in: the
control plane's pods (metricsd) run in a working directory of their own and are handed paths
inside it (their kubeconfig), so a relative path named a file that was not there and the pod
crash-looped (issue 10, item 1). The end-to-end check is
tests/integration/test_apiserver_relative_state_dir.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fakeapiserver.cli import parse_args as apiserver_args
from fakekubelet.cli import absolute_path
from fakekubelet.cli import parse_args as kubelet_args


@pytest.mark.parametrize("parse", [apiserver_args, kubelet_args])
@pytest.mark.parametrize(("typed", "expected"), [
    ("cp", "{cwd}/cp"),
    ("./out/cp/", "{cwd}/out/cp"),
    ("../cp", "{parent}/cp"),
    ("/abs/cp", "/abs/cp"),
])
def test_state_dir_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parse: object,
                               typed: str, expected: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    args = parse(["--state-dir", typed])  # type: ignore[operator]
    assert args.state_dir == expected.format(cwd=work, parent=tmp_path)
    assert os.path.isabs(args.state_dir)


def test_absolute_path_keeps_what_the_user_typed_but_anchors_it(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert absolute_path("link/cp") == f"{tmp_path}/link/cp"  # no symlink resolution
