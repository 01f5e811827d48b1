"""Validation: upstream's checks, order, first error only, exact texts; exit via the CLI."""

import os
import subprocess
import sys

import pytest

from metricsd.options import parse_args, validate, validation_errors

CA = "--kubelet-certificate-authority=/ca.crt"
INSECURE = "--kubelet-insecure-tls"
CERT = "--kubelet-client-certificate=/c.crt"
KEY = "--kubelet-client-key=/c.key"
COMPLETELY = "--deprecated-kubelet-completely-insecure"

MSG_CA_INSECURE = "cannot use both --kubelet-certificate-authority and --kubelet-insecure-tls"
MSG_PAIR = "need both --kubelet-client-key and --kubelet-client-certificate"
MSG_KEY_CI = "cannot use both --kubelet-client-key and --deprecated-kubelet-completely-insecure"
MSG_CERT_CI = (
    "cannot use both --kubelet-client-certificate and --deprecated-kubelet-completely-insecure"
)
MSG_INSECURE_CI = (
    "cannot use both --kubelet-insecure-tls and --deprecated-kubelet-completely-insecure"
)
MSG_CA_CI = (
    "cannot use both --kubelet-certificate-authority and --deprecated-kubelet-completely-insecure"
)
MSG_TIMEOUT = "kubelet-request-timeout should be positive"


def res_min(res: str) -> str:
    return f"metric-resolution should be a time duration at least 10s, but value {res} provided"


def res_timeout(res: str, timeout: str) -> str:
    return (
        "metric-resolution should be larger than kubelet-request-timeout, but metric-resolution "
        f"value {res} kubelet-request-timeout value {timeout} provided"
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], None),
        (["--metric-resolution=15s"], None),
        (["--metric-resolution=12s"], None),
        (["--metric-resolution=11.111111112s"], None),
        (["--metric-resolution=11.111111111s"], res_timeout("11.111111111s", "10s")),
        (["--metric-resolution=10s"], res_timeout("10s", "10s")),
        (["--metric-resolution=11s"], res_timeout("11s", "10s")),
        (["--metric-resolution=10s", "--kubelet-request-timeout=9s"], None),
        (["--metric-resolution=9s"], res_min("9s")),
        (["--metric-resolution=9.5s", "--kubelet-request-timeout=1s"], res_min("9.5s")),
        (["--metric-resolution=500ms"], res_min("500ms")),
        (["--metric-resolution=1m", "--kubelet-request-timeout=55s"], res_timeout("1m0s", "55s")),
        (["--kubelet-request-timeout=0s"], MSG_TIMEOUT),
        (["--kubelet-request-timeout=-1s"], MSG_TIMEOUT),
        ([CA, INSECURE], MSG_CA_INSECURE),
        ([CERT], MSG_PAIR),
        ([KEY], MSG_PAIR),
        ([CERT, KEY], None),
        ([CERT, KEY, COMPLETELY], MSG_KEY_CI),
        ([CERT, COMPLETELY], MSG_PAIR),
        ([INSECURE, COMPLETELY], MSG_INSECURE_CI),
        ([CA, COMPLETELY], MSG_CA_CI),
        # first error wins: kubelet checks come before resolution checks
        ([CA, INSECURE, "--metric-resolution=1s"], MSG_CA_INSECURE),
        (["--kubelet-request-timeout=0s", "--metric-resolution=1s"], MSG_TIMEOUT),
        (["--metric-resolution=1s", "--logging-format=xml"], res_min("1s")),
        (["--logging-format=xml"], 'format: Invalid value: "xml": Unsupported log format'),
        (["--logging-format=json"], None),
        (["--logging-format=json", "--vmodule=a=1"],
         "vmodule: Forbidden: Only supported for text log format"),
        # metricsd-only flags
        (["--simulation-min-metric-resolution=1s", "--metric-resolution=2s",
          "--kubelet-request-timeout=1s"], None),
        (["--simulation-min-metric-resolution=1s", "--metric-resolution=500ms",
          "--kubelet-request-timeout=100ms"],
         "metric-resolution should be a time duration at least 1s, but value 500ms provided"),
        (["--storage-readiness=v1"],
         'storage-readiness must be "v0.7" or "v0.9", but value "v1" provided'),
        (["--kubelet-max-body-size=1Ki"], None),
        (["--kubelet-max-body-size=0"], None),
        (["--kubelet-max-body-size=-1"],
         "kubelet-max-body-size must be 0 (no bound) or a whole number of bytes, but value "
         '"-1" provided'),
        (["--kubelet-max-body-size=1.5"],
         "kubelet-max-body-size must be 0 (no bound) or a whole number of bytes, but value "
         '"1.5" provided'),
        (["--kubelet-max-body-size=100m"],
         "kubelet-max-body-size must be 0 (no bound) or a whole number of bytes, but value "
         '"100m" provided'),
    ],
)
def test_first_error(argv: list[str], expected: str | None) -> None:
    options, _ = parse_args(argv)
    assert validate(options) == expected


def test_all_kubelet_errors_in_order() -> None:
    options, _ = parse_args([CA, INSECURE, KEY, COMPLETELY, "--kubelet-request-timeout=0s"])
    assert validation_errors(options)[:6] == [
        MSG_CA_INSECURE, MSG_PAIR, MSG_KEY_CI, MSG_INSECURE_CI, MSG_CA_CI, MSG_TIMEOUT,
    ]


def test_integer_nanosecond_rule_at_the_boundary() -> None:
    # 11111111112ns * 9 / 10 = 10000000000.8 -> truncates to 10s == timeout: accepted
    ok, _ = parse_args(["--metric-resolution=11111111112ns"])
    bad, _ = parse_args(["--metric-resolution=11111111111ns"])
    assert validate(ok) is None
    assert validate(bad) is not None


def test_readiness_mapping() -> None:
    assert parse_args([])[0].ready_semantics == "or"
    assert parse_args(["--storage-readiness=v0.9"])[0].ready_semantics == "and"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.run([sys.executable, "-m", "metricsd", *args], capture_output=True,
                          text=True, timeout=60, env=env, check=False)


def test_exit_status_2_with_error_and_usage_on_stderr() -> None:
    proc = _run("--metric-resolution=10s")
    assert proc.returncode == 2
    assert proc.stdout == ""
    first, rest = proc.stderr.split("\n", 1)
    assert first == "Error: " + res_timeout("10s", "10s")
    assert rest.startswith("Usage:\n   [flags]\n\nMetrics server flags:\n")
    # then main's panic with the same error, as the release binary prints it
    usage, panic = rest.split("\n\npanic: ", 1)
    assert usage.endswith("(default \"v0.7\")")  # the usage's last flag line
    assert panic == (res_timeout("10s", "10s") + "\n\ngoroutine 1 [running]:\nmain.main()\n"
                     "\tsigs.k8s.io/metrics-server@v0.7.1/cmd/metrics-server/metrics-server.go:37"
                     " +0x8b\n")


def test_bad_flag_exit_status_2() -> None:
    proc = _run("--foo")
    assert proc.returncode == 2
    assert proc.stderr.startswith("Error: unknown flag: --foo\nUsage:\n")


def test_version_exits_0_before_validation() -> None:
    from metricsd.version import VERSION

    proc = _run("--version", "--metric-resolution=1s")
    assert proc.returncode == 0
    assert proc.stdout == VERSION + "\n"
    assert VERSION.startswith("v0.7.1+metricsd.")


def test_help_exits_0_on_stdout() -> None:
    proc = _run("--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("Launch metrics-server\n\nUsage:\n")
    assert proc.stderr == ""
