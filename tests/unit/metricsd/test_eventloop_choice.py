"""metricsd.eventloop: uvloop by default, the standard loop on request, a clear error otherwise."""

from __future__ import annotations

import asyncio

import pytest

from metricsd import eventloop


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_default_is_uvloop_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")
    monkeypatch.delenv(eventloop.ENV, raising=False)
    assert eventloop.loop_name() == "uvloop"
    assert eventloop.run(_loop_module()).startswith("uvloop")


def test_standard_loop_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(eventloop.ENV, "asyncio")
    assert eventloop.loop_name() == "asyncio"
    assert eventloop.run(_loop_module()) == "asyncio.unix_events"


def test_unknown_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(eventloop.ENV, "trio")
    with pytest.raises(ValueError, match="METRICSD_EVENT_LOOP='trio': expected 'uvloop' or "):
        eventloop.loop_name()


def test_falls_back_when_uvloop_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_uvloop(name: str, *args: object, **kwargs: object) -> object:
        if name == "uvloop":
            raise ImportError("No module named 'uvloop'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.delenv(eventloop.ENV, raising=False)
    monkeypatch.setattr(builtins, "__import__", no_uvloop)
    assert eventloop.loop_name() == "asyncio"


def test_cli_reports_a_bad_choice_before_starting(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from metricsd import cli

    monkeypatch.setenv(eventloop.ENV, "trio")
    started: list[object] = []
    monkeypatch.setattr(cli, "_load_server_run", lambda: started.append)
    assert cli.main(["--kubelet-insecure-tls"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("Error: METRICSD_EVENT_LOOP='trio': expected 'uvloop' or 'asyncio'\n")
    assert started == []
