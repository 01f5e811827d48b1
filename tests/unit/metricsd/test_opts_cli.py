"""cli.main: validation → klog configuration → server.run, and start-up errors as upstream."""

import pytest

from metricsd import cli, klog
from metricsd.options import Options, StartupError


def test_startup_error_prints_error_and_usage(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    def run(options: Options) -> int:
        raise StartupError(
            "error creating self-signed certificates: mkdir apiserver.local.config: "
            "permission denied"
        )

    monkeypatch.setattr(cli, "_load_server_run", lambda: run)
    assert cli.main(["--metric-resolution=15s"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "Error: error creating self-signed certificates: mkdir apiserver.local.config: "
        "permission denied\nUsage:\n   [flags]\n"
    )


def test_runs_server_with_parsed_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Options] = []

    async def run(options: Options) -> int:
        seen.append(options)
        return 0

    monkeypatch.setattr(cli, "_load_server_run", lambda: run)
    saved = (klog.logger.verbosity, klog.logger.vmodule, klog.logger.fmt)
    try:
        assert cli.main(["--metric-resolution=15s", "-v", "3", "--vmodule=scraper=6"]) == 0
        assert klog.logger.verbosity == 3
        assert klog.logger.vmodule == (("scraper", 6),)
    finally:
        klog.logger.configure(verbosity=saved[0], vmodule=saved[1], fmt=saved[2])
    assert len(seen) == 1
    assert seen[0].metric_resolution == 15_000_000_000


def test_missing_server_module_exits_1(monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "_load_server_run", lambda: None)
    assert cli.main([]) == 1
    assert "metricsd.server.run" in capsys.readouterr().err


def test_unexpected_error_is_reported_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(options: Options) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "_load_server_run", lambda: run)
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: RuntimeError: boom\nUsage:\n")
    assert "Traceback" not in err
