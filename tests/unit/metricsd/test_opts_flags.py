"""Flags: names, defaults, help lines, pflag syntax and error texts."""

from dataclasses import fields

import pytest

from metricsd.durations import SECOND
from metricsd.flagset import FlagError
from metricsd.options import Options, build_flagset, help_text, parse_args, usage_text

SECTIONS = [
    "Metrics server",
    "Kubelet client",
    "Apiserver secure serving",
    "Apiserver authentication",
    "Apiserver authorization",
    "Apiserver audit log",
    "Features",
    "Logging",
    "Metricsd-only (not upstream)",
]


def test_sections_in_upstream_order() -> None:
    assert [title for title, _ in build_flagset().sections] == SECTIONS
    text = help_text()
    positions = [text.index(f"\n{title} flags:\n\n") for title in SECTIONS]
    assert positions == sorted(positions)


def test_help_header() -> None:
    assert help_text().startswith("Launch metrics-server\n\nUsage:\n   [flags]\n\nMetrics server")
    assert usage_text().startswith("Usage:\n   [flags]\n\nMetrics server flags:\n\n")


def test_every_flag_lands_in_options_with_its_default() -> None:
    flags = build_flagset().flags
    assert {f.attr for f in flags} == {f.name for f in fields(Options)}
    defaults = Options()
    for flag in flags:
        assert getattr(defaults, flag.attr) == flag.default, flag.name
    options, _ = parse_args([])
    assert options == defaults


# (help line prefix up to the type, default as printed) — upstream v0.7.1 --help
HELP_LINES = [
    ("      --kubeconfig string ", None),
    ("      --metric-resolution duration ", "1m0s"),
    ("      --version ", None),
    ("      --deprecated-kubelet-completely-insecure ", None),
    ("      --kubelet-certificate-authority string ", None),
    ("      --kubelet-client-certificate string ", None),
    ("      --kubelet-client-key string ", None),
    ("      --kubelet-insecure-tls ", None),
    ("      --kubelet-port int ", "10250"),
    ("      --kubelet-preferred-address-types strings ",
     "[Hostname,InternalDNS,InternalIP,ExternalDNS,ExternalIP]"),
    ("      --kubelet-request-timeout duration ", "10s"),
    ("      --kubelet-use-node-status-port ", None),
    ("  -l, --node-selector string ", None),
    ("      --bind-address ip ", "0.0.0.0"),
    ("      --cert-dir string ", '"apiserver.local.config/certificates"'),
    ("      --secure-port int ", "443"),
    ("      --tls-sni-cert-key namedCertKey ", "[]"),
    ("      --authentication-token-webhook-cache-ttl duration ", "10s"),
    ("      --requestheader-username-headers strings ", "[x-remote-user]"),
    ("      --requestheader-group-headers strings ", "[x-remote-group]"),
    ("      --requestheader-extra-headers-prefix strings ", "[x-remote-extra-]"),
    ("      --authorization-always-allow-paths strings ", "[/healthz,/readyz,/livez]"),
    ("      --authorization-webhook-cache-authorized-ttl duration ", "10s"),
    ("      --authorization-webhook-cache-unauthorized-ttl duration ", "10s"),
    ("      --audit-log-batch-max-size int ", "1"),
    ("      --audit-log-mode string ", '"blocking"'),
    ("      --audit-webhook-batch-max-size int ", "400"),
    ("      --audit-webhook-batch-max-wait duration ", "30s"),
    ("      --audit-webhook-mode string ", '"batch"'),
    ("      --audit-log-version string ", '"audit.k8s.io/v1"'),
    ("      --profiling ", "true"),
    ("      --log-flush-frequency duration ", "5s"),
    ("      --logging-format string ", '"text"'),
    ("  -v, --v Level ", None),
    ("      --vmodule pattern=N,... ", None),
    ("      --simulation-min-metric-resolution duration ", "10s"),
    ("      --kubelet-max-body-size quantity ", "64Mi"),
]


@pytest.mark.parametrize(("prefix", "default"), HELP_LINES)
def test_help_line(prefix: str, default: str | None) -> None:
    lines = [line for line in help_text().splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, prefix
    if default is None:
        assert "(default " not in lines[0]
    else:
        assert lines[0].endswith(f"(default {default})")


def test_help_alignment_three_spaces_after_longest() -> None:
    assert (
        "      --metric-resolution duration   The resolution at which metrics-server will retain "
        "metrics, must set value at least 10s. (default 1m0s)\n"
    ) in help_text()
    assert (
        "  -v, --v Level                              number for the log level verbosity\n"
    ) in help_text()


def test_multiline_usage_is_indented() -> None:
    text = help_text()
    start = text.index("      --tls-cipher-suites strings")
    block = text[start:].splitlines()[:3]
    indent = block[0].index("Comma-separated")
    assert block[1].startswith(" " * indent + "Preferred values: TLS_AES_128_GCM_SHA256")
    assert block[2].startswith(" " * indent + "Insecure values: ")


def test_non_upstream_flags_are_marked() -> None:
    for flag in build_flagset().sections[-1][1]:
        assert flag.usage.startswith("(metricsd only, not upstream)")


@pytest.mark.parametrize(
    ("argv", "attr", "value"),
    [
        (["--metric-resolution=15s"], "metric_resolution", 15 * SECOND),
        (["--metric-resolution", "1m30s"], "metric_resolution", 90 * SECOND),
        (["--kubelet-insecure-tls"], "kubelet_insecure_tls", True),
        (["--kubelet-insecure-tls=false"], "kubelet_insecure_tls", False),
        (["--kubelet-insecure-tls=1"], "kubelet_insecure_tls", True),
        (["-v", "6"], "v", 6),
        (["-v=6"], "v", 6),
        (["-v6"], "v", 6),
        (["--v=6"], "v", 6),
        (["--v", "2"], "v", 2),
        (["-l", "a=b,c!=d"], "node_selector", "a=b,c!=d"),
        (["-l=x=y"], "node_selector", "x=y"),
        (["--node-selector=metrics-server-skip!=true"], "node_selector",
         "metrics-server-skip!=true"),
        (["--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname"],
         "kubelet_preferred_address_types", ("InternalIP", "ExternalIP", "Hostname")),
        (["--authorization-always-allow-paths=/healthz", "--authorization-always-allow-paths",
          "/x,/y"], "authorization_always_allow_paths", ("/healthz", "/x", "/y")),
        (["--authorization-always-allow-paths="], "authorization_always_allow_paths", ()),
        (["--kubelet-port=0x10"], "kubelet_port", 16),
        (["--secure-port", "4443"], "secure_port", 4443),
        (["--bind-address=127.0.0.1"], "bind_address", "127.0.0.1"),
        (["--bind-address", "::"], "bind_address", "::"),
        (["--vmodule=scraper=4,server*=2"], "vmodule", (("scraper", 4), ("server*", 2))),
        (["--tls-sni-cert-key=a.crt,a.key:foo.com,*.bar"], "tls_sni_cert_key",
         (("a.crt", "a.key", ("foo.com", "*.bar")),)),
        (["--audit-webhook-batch-throttle-qps=2.5"], "audit_webhook_batch_throttle_qps", 2.5),
        (["--storage-readiness=v0.9"], "storage_readiness", "v0.9"),
        (["--kubelet-max-body-size=1Gi"], "kubelet_max_body_size", "1Gi"),
        (["--kubelet-max-body-size", "0"], "kubelet_max_body_size", "0"),
    ],
)
def test_parse_values(argv: list[str], attr: str, value: object) -> None:
    options, _ = parse_args(argv)
    assert getattr(options, attr) == value


def test_positional_arguments_and_double_dash() -> None:
    _, result = parse_args(["extra", "--", "--metric-resolution=abc"])
    assert result.args == ["extra", "--metric-resolution=abc"]


def test_bool_does_not_consume_next_argument() -> None:
    options, result = parse_args(["--kubelet-insecure-tls", "false"])
    assert options.kubelet_insecure_tls is True
    assert result.args == ["false"]


def test_help_flags() -> None:
    assert parse_args(["--help"])[1].help
    assert parse_args(["-h"])[1].help
    assert not parse_args(["--help=false"])[1].help


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--foo"], "unknown flag: --foo"),
        (["--foo=bar"], "unknown flag: --foo"),
        (["-x"], "unknown shorthand flag: 'x' in -x"),
        (["---v"], "bad flag syntax: ---v"),
        (["--metric-resolution"], "flag needs an argument: --metric-resolution"),
        (["-l"], "flag needs an argument: 'l' in -l"),
        (["--metric-resolution=abc"],
         'invalid argument "abc" for "--metric-resolution" flag: time: invalid duration "abc"'),
        (["--metric-resolution", "10"],
         'invalid argument "10" for "--metric-resolution" flag: '
         'time: missing unit in duration "10"'),
        (["--kubelet-request-timeout=10x"],
         'invalid argument "10x" for "--kubelet-request-timeout" flag: '
         'time: unknown unit "x" in duration "10x"'),
        (["--kubelet-port=abc"],
         'invalid argument "abc" for "--kubelet-port" flag: '
         'strconv.ParseInt: parsing "abc": invalid syntax'),
        (["--kubelet-insecure-tls=yes"],
         'invalid argument "yes" for "--kubelet-insecure-tls" flag: '
         'strconv.ParseBool: parsing "yes": invalid syntax'),
        (["-v", "abc"],
         'invalid argument "abc" for "-v, --v" flag: '
         'strconv.ParseUint: parsing "abc": invalid syntax'),
        (["--v=-1"],
         'invalid argument "-1" for "-v, --v" flag: '
         'strconv.ParseUint: parsing "-1": invalid syntax'),
        (["--bind-address=1.2.3"],
         'invalid argument "1.2.3" for "--bind-address" flag: failed to parse IP: "1.2.3"'),
        (["--vmodule=abc"],
         'invalid argument "abc" for "--vmodule" flag: "abc" does not have the pattern=N format'),
        (["--tls-sni-cert-key=onlyone"],
         'invalid argument "onlyone" for "--tls-sni-cert-key" flag: '
         "expected comma separated certificate and key file paths"),
    ],
)
def test_parse_errors(argv: list[str], message: str) -> None:
    with pytest.raises(FlagError) as err:
        parse_args(argv)
    assert str(err.value) == message


def test_first_bad_flag_wins() -> None:
    with pytest.raises(FlagError) as err:
        parse_args(["--metric-resolution=abc", "--foo"])
    assert str(err.value).startswith('invalid argument "abc"')


@pytest.mark.parametrize(
    ("value", "size"),
    [("64Mi", 64 << 20), ("1Gi", 1 << 30), ("100M", 100_000_000), ("512Ki", 512 << 10),
     ("4096", 4096), ("1e6", 1_000_000), ("0", 0)],
)
def test_kubelet_max_body_size_in_bytes(value: str, size: int) -> None:
    options, _ = parse_args([f"--kubelet-max-body-size={value}"])
    assert options.kubelet_max_body_bytes == size


def test_kubelet_max_body_size_default_is_64_mebibytes() -> None:
    assert parse_args([])[0].kubelet_max_body_bytes == 64 << 20


def test_kubelet_max_body_size_syntax_error_is_plags() -> None:
    from metricsd.flagset import FlagError

    with pytest.raises(FlagError) as info:
        parse_args(["--kubelet-max-body-size=lots"])
    assert str(info.value) == (
        'invalid argument "lots" for "--kubelet-max-body-size" flag: quantities must match the '
        "regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
