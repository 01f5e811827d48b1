"""metrics-server v0.7.1's command line: every flag, parsed once into a frozen :class:`Options`.

Names, types, defaults, help texts and help sections are upstream's (``--help`` of v0.7.1), so
manifests and runbooks written for metrics-server work unchanged.  :func:`validate` applies
upstream's checks once, in upstream's order, and reports only the first failure with upstream's
text.  Three flags are metricsd's own; they live in a separate help section whose title and every
help line say "metricsd only, not upstream":

* ``--simulation-min-metric-resolution`` (default ``10s``, upstream's fixed minimum) lowers the
  smallest accepted ``--metric-resolution`` so simulations can tick faster;
* ``--storage-readiness`` (``v0.7`` default: storage is ready when nodes OR pods have a rate;
  ``v0.9``: nodes AND pods, as metrics-server v0.9.0);
* ``--kubelet-max-body-size`` (quantity, default ``64Mi``; ``0`` = no bound, as upstream) bounds
  every kubelet response body, as received and after gzip, so a hostile kubelet cannot make
  metricsd inflate gigabytes (metrics-server has no such bound).

Flags that upstream accepts but metricsd does not act on (audit log, profiling, SNI certs,
HTTP/2 stream limits, …) are accepted and listed in ``docs/metricsd-flags.md``. The serving
flags (``--tls-cipher-suites``, ``--tls-min-version``, ``--secure-port``) are checked where
upstream checks them, in the serving options' ``ApplyTo`` right after the listener is created
(:func:`metricsd.servingcerts.server_ssl_context`, :mod:`metricsd.tlsciphers`), not here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from metricsd.durations import SECOND, format_duration
from metricsd.flagset import Flag, FlagSet, ParseResult
from metricsd.quantity import QuantityError, parse_quantity

__all__ = [
    "READINESS_V07",
    "READINESS_V09",
    "Options",
    "StartupError",
    "build_flagset",
    "help_text",
    "parse_args",
    "usage_text",
    "validate",
    "validation_errors",
]

READINESS_V07 = "v0.7"
READINESS_V09 = "v0.9"

#: cobra's ``Long`` text printed first by ``--help``.
LONG_DESCRIPTION = "Launch metrics-server"
#: cobra's usage header: the command's ``Use`` is empty, so the use line is `` [flags]``.
USAGE_HEADER = "Usage:\n   [flags]\n"

METRICSD_ONLY = "(metricsd only, not upstream)"
#: ``--kubelet-max-body-size``'s default: far above the ~20 KB a 30-pod kubelet sends.
DEFAULT_KUBELET_MAX_BODY_SIZE = "64Mi"


class StartupError(Exception):
    """A failure before serving that upstream reports as ``Error: <message>`` + usage, exit 2.

    Raised by config completion and server start-up (self-signed certificates, listeners,
    kubeconfig); ``str()`` is the upstream-shaped message.
    """


_CIPHERS_HELP = (
    "Comma-separated list of cipher suites for the server. If omitted, the default Go cipher "
    "suites will be used. \n"  # upstream's text: a space before each newline
    "Preferred values: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, "
    "TLS_CHACHA20_POLY1305_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, "
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305, "
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, TLS_RSA_WITH_AES_128_CBC_SHA, "
    "TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_CBC_SHA, "
    "TLS_RSA_WITH_AES_256_GCM_SHA384. \n"
    "Insecure values: TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, "
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA, TLS_RSA_WITH_3DES_EDE_CBC_SHA, "
    "TLS_RSA_WITH_AES_128_CBC_SHA256, TLS_RSA_WITH_RC4_128_SHA."
)

_SNI_HELP = (
    "A pair of x509 certificate and private key file paths, optionally suffixed with a list of "
    "domain patterns which are fully qualified domain names, possibly with prefixed wildcard "
    "segments. The domain patterns also allow IP addresses, but IPs should only be used if the "
    "apiserver has visibility to the IP address requested by a client. If no domain patterns "
    "are provided, the names of the certificate are extracted. Non-wildcard matches trump over "
    "wildcard matches, explicit domain patterns trump over extracted names. For multiple "
    "key/certificate pairs, use the --tls-sni-cert-key multiple times. Examples: "
    '"example.crt,example.key" or "foo.crt,foo.key:*.foo.com,foo.com".'
)

_BATCH = "Only used in batch mode."
_MODES = (
    "Strategy for sending audit events. Blocking indicates sending events should block server "
    "responses. Batch causes the backend to buffer and write events asynchronously. Known modes "
    "are batch,blocking,blocking-strict."
)
_TRUNC_BATCH = (
    "Maximum size of the batch sent to the underlying backend. Actual serialized size can be "
    "several hundreds of bytes greater. If a batch exceeds this limit, it is split into several "
    "batches of smaller size."
)
_TRUNC_EVENT = (
    "Maximum size of the audit event sent to the underlying backend. If the size of an event is "
    "greater than this number, first request and response are removed, and if this doesn't "
    "reduce the size enough, event is discarded."
)


def _f(name: str, type_: str, default: Any, usage: str, default_text: str | None = None,
       *, shorthand: str = "", implemented: bool = True, note: str = "") -> Flag:
    return Flag(name=name, type=type_, default=default, usage=usage,
                attr=name.replace("-", "_"), shorthand=shorthand, default_text=default_text,
                implemented=implemented, note=note)


def _audit_flags() -> list[Flag]:
    flags: list[Flag] = []
    for kind, dest in (("log", "log"), ("webhook", "webhook")):
        webhook = kind == "webhook"
        p = f"audit-{kind}"
        flags += [
            _f(f"{p}-batch-buffer-size", "int", 10000,
               f"The size of the buffer to store events before batching and writing. {_BATCH}",
               "10000"),
            _f(f"{p}-batch-max-size", "int", 400 if webhook else 1,
               f"The maximum size of a batch. {_BATCH}", "400" if webhook else "1"),
            _f(f"{p}-batch-max-wait", "duration", 30 * SECOND if webhook else 0,
               "The amount of time to wait before force writing the batch that hadn't reached "
               f"the max size. {_BATCH}", "30s" if webhook else None),
            _f(f"{p}-batch-throttle-burst", "int", 15 if webhook else 0,
               "Maximum number of requests sent at the same moment if ThrottleQPS was not "
               f"utilized before. {_BATCH}", "15" if webhook else None),
            _f(f"{p}-batch-throttle-enable", "bool", webhook,
               f"Whether batching throttling is enabled. {_BATCH}", "true" if webhook else None),
            _f(f"{p}-batch-throttle-qps", "float32", 10.0 if webhook else 0.0,
               f"Maximum average number of batches per second. {_BATCH}",
               "10" if webhook else None),
            _f(f"{p}-mode", "string", "batch" if webhook else "blocking", _MODES,
               '"batch"' if webhook else '"blocking"'),
            _f(f"{p}-truncate-enabled", "bool", False,
               "Whether event and batch truncating is enabled."),
            _f(f"{p}-truncate-max-batch-size", "int", 10485760, _TRUNC_BATCH, "10485760"),
            _f(f"{p}-truncate-max-event-size", "int", 102400, _TRUNC_EVENT, "102400"),
            _f(f"{p}-version", "string", "audit.k8s.io/v1",
               "API group and version used for serializing audit events written to "
               f"{dest}.", '"audit.k8s.io/v1"'),
        ]
    flags += [
        _f("audit-log-compress", "bool", False,
           "If set, the rotated log files will be compressed using gzip."),
        _f("audit-log-format", "string", "json",
           'Format of saved audits. "legacy" indicates 1-line text format for each event. "json" '
           "indicates structured json format. Known formats are legacy,json.", '"json"'),
        _f("audit-log-maxage", "int", 0,
           "The maximum number of days to retain old audit log files based on the timestamp "
           "encoded in their filename."),
        _f("audit-log-maxbackup", "int", 0,
           "The maximum number of old audit log files to retain. Setting a value of 0 will mean "
           "there's no restriction on the number of files."),
        _f("audit-log-maxsize", "int", 0,
           "The maximum size in megabytes of the audit log file before it gets rotated."),
        _f("audit-log-path", "string", "",
           "If set, all requests coming to the apiserver will be logged to this file.  '-' "
           "means standard out."),
        _f("audit-policy-file", "string", "",
           "Path to the file that defines the audit policy configuration."),
        _f("audit-webhook-config-file", "string", "",
           "Path to a kubeconfig formatted file that defines the audit webhook configuration."),
        _f("audit-webhook-initial-backoff", "duration", 10 * SECOND,
           "The amount of time to wait before retrying the first failed request.", "10s"),
    ]
    return [
        Flag(**{**_flag_kwargs(f), "implemented": False, "note": "accepted; no audit log"})
        for f in flags
    ]


def _flag_kwargs(flag: Flag) -> dict[str, Any]:
    return {f.name: getattr(flag, f.name) for f in fields(flag)}


def build_flagset() -> FlagSet:
    """Every flag, in upstream's help sections (plus metricsd's own section last)."""
    fs = FlagSet()
    fs.section("Metrics server", [
        _f("kubeconfig", "string", "",
           "The path to the kubeconfig used to connect to the Kubernetes API server and the "
           "Kubelets (defaults to in-cluster config)"),
        _f("metric-resolution", "duration", 60 * SECOND,
           "The resolution at which metrics-server will retain metrics, must set value at "
           "least 10s.", "1m0s"),
        _f("version", "bool", False, "Show version"),
    ])
    fs.section("Kubelet client", [
        _f("deprecated-kubelet-completely-insecure", "bool", False,
           "DEPRECATED: Do not use any encryption, authorization, or authentication when "
           "communicating with the Kubelet. This is rarely the right option, since it leaves "
           "kubelet communication completely insecure.  If you encounter auth errors, make sure "
           "you've enabled token webhook auth on the Kubelet, and if you're in a test cluster "
           "with self-signed Kubelet certificates, consider using kubelet-insecure-tls instead."),
        _f("kubelet-certificate-authority", "string", "",
           "Path to the CA to use to validate the Kubelet's serving certificates."),
        _f("kubelet-client-certificate", "string", "", "Path to a client cert file for TLS."),
        _f("kubelet-client-key", "string", "", "Path to a client key file for TLS."),
        _f("kubelet-insecure-tls", "bool", False,
           "Do not verify CA of serving certificates presented by Kubelets.  For testing "
           "purposes only."),
        _f("kubelet-port", "int", 10250, "The port to use to connect to Kubelets.", "10250"),
        _f("kubelet-preferred-address-types", "strings",
           ("Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP"),
           "The priority of node address types to use when determining which address to use to "
           "connect to a particular node",
           "[Hostname,InternalDNS,InternalIP,ExternalDNS,ExternalIP]"),
        _f("kubelet-request-timeout", "duration", 10 * SECOND,
           "The length of time to wait before giving up on a single request to Kubelet. "
           "Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h).", "10s"),
        _f("kubelet-use-node-status-port", "bool", False,
           "Use the port in the node status. Takes precedence over --kubelet-port flag."),
        _f("node-selector", "string", "",
           "Selector (label query) to filter on, not including uninitialized ones, supports "
           "'=', '==', and '!='.(e.g. -l key1=value1,key2=value2).", shorthand="l"),
    ])
    fs.section("Apiserver secure serving", [
        _f("bind-address", "ip", "0.0.0.0",
           "The IP address on which to listen for the --secure-port port. The associated "
           "interface(s) must be reachable by the rest of the cluster, and by CLI/web clients. "
           "If blank or an unspecified address (0.0.0.0 or ::), all interfaces and IP address "
           "families will be used.",
           "0.0.0.0"),
        _f("cert-dir", "string", "apiserver.local.config/certificates",
           "The directory where the TLS certs are located. If --tls-cert-file and "
           "--tls-private-key-file are provided, this flag will be ignored.",
           '"apiserver.local.config/certificates"'),
        _f("http2-max-streams-per-connection", "int", 0,
           "The limit that the server gives to clients for the maximum number of streams in an "
           "HTTP/2 connection. Zero means to use golang's default.",
           implemented=False, note="accepted; aiohttp serves HTTP/1.1"),
        _f("permit-address-sharing", "bool", False,
           "If true, SO_REUSEADDR will be used when binding the port. This allows binding to "
           "wildcard IPs like 0.0.0.0 and specific IPs in parallel, and it avoids waiting for "
           "the kernel to release sockets in TIME_WAIT state. [default=false]"),
        _f("permit-port-sharing", "bool", False,
           "If true, SO_REUSEPORT will be used when binding the port, which allows more than one "
           "instance to bind on the same address and port. [default=false]"),
        _f("secure-port", "int", 443,
           "The port on which to serve HTTPS with authentication and authorization. If 0, don't "
           "serve HTTPS at all.", "443"),
        _f("tls-cert-file", "string", "",
           "File containing the default x509 Certificate for HTTPS. (CA cert, if any, "
           "concatenated after server cert). If HTTPS serving is enabled, and --tls-cert-file "
           "and --tls-private-key-file are not provided, a self-signed certificate and key are "
           "generated for the public address and saved to the directory specified by "
           "--cert-dir."),
        _f("tls-cipher-suites", "strings", (), _CIPHERS_HELP),
        _f("tls-min-version", "string", "",
           "Minimum TLS version supported. Possible values: VersionTLS10, VersionTLS11, "
           "VersionTLS12, VersionTLS13"),
        _f("tls-private-key-file", "string", "",
           "File containing the default x509 private key matching --tls-cert-file."),
        _f("tls-sni-cert-key", "namedCertKey", (), _SNI_HELP, "[]",
           implemented=False, note="accepted; SNI certificates are not served"),
    ])
    fs.section("Apiserver authentication", [
        _f("authentication-kubeconfig", "string", "",
           "kubeconfig file pointing at the 'core' kubernetes server with enough rights to "
           "create tokenreviews.authentication.k8s.io."),
        _f("authentication-skip-lookup", "bool", False,
           "If false, the authentication-kubeconfig will be used to lookup missing "
           "authentication configuration from the cluster."),
        _f("authentication-token-webhook-cache-ttl", "duration", 10 * SECOND,
           "The duration to cache responses from the webhook token authenticator.", "10s"),
        _f("authentication-tolerate-lookup-failure", "bool", False,
           "If true, failures to look up missing authentication configuration from the cluster "
           "are not considered fatal. Note that this can result in authentication that treats "
           "all requests as anonymous."),
        _f("client-ca-file", "string", "",
           "If set, any request presenting a client certificate signed by one of the "
           "authorities in the client-ca-file is authenticated with an identity corresponding "
           "to the CommonName of the client certificate."),
        _f("requestheader-allowed-names", "strings", (),
           "List of client certificate common names to allow to provide usernames in headers "
           "specified by --requestheader-username-headers. If empty, any client certificate "
           "validated by the authorities in --requestheader-client-ca-file is allowed."),
        _f("requestheader-client-ca-file", "string", "",
           "Root certificate bundle to use to verify client certificates on incoming requests "
           "before trusting usernames in headers specified by --requestheader-username-headers. "
           "WARNING: generally do not depend on authorization being already done for incoming "
           "requests."),
        _f("requestheader-extra-headers-prefix", "strings", ("x-remote-extra-",),
           "List of request header prefixes to inspect. X-Remote-Extra- is suggested.",
           "[x-remote-extra-]"),
        _f("requestheader-group-headers", "strings", ("x-remote-group",),
           "List of request headers to inspect for groups. X-Remote-Group is suggested.",
           "[x-remote-group]"),
        _f("requestheader-username-headers", "strings", ("x-remote-user",),
           "List of request headers to inspect for usernames. X-Remote-User is common.",
           "[x-remote-user]"),
    ])
    fs.section("Apiserver authorization", [
        _f("authorization-always-allow-paths", "strings", ("/healthz", "/readyz", "/livez"),
           "A list of HTTP paths to skip during authorization, i.e. these are authorized without "
           "contacting the 'core' kubernetes server.", "[/healthz,/readyz,/livez]"),
        _f("authorization-kubeconfig", "string", "",
           "kubeconfig file pointing at the 'core' kubernetes server with enough rights to "
           "create subjectaccessreviews.authorization.k8s.io."),
        _f("authorization-webhook-cache-authorized-ttl", "duration", 10 * SECOND,
           "The duration to cache 'authorized' responses from the webhook authorizer.", "10s"),
        _f("authorization-webhook-cache-unauthorized-ttl", "duration", 10 * SECOND,
           "The duration to cache 'unauthorized' responses from the webhook authorizer.", "10s"),
    ])
    fs.section("Apiserver audit log", _audit_flags())
    not_applied = "accepted; not applied (upstream does not apply it either)"
    fs.section("Features", [
        _f("contention-profiling", "bool", False,
           "Enable block profiling, if profiling is enabled",
           implemented=False, note=not_applied),
        _f("debug-socket-path", "string", "",
           "Use an unprotected (no authn/authz) unix-domain socket for profiling with the given "
           "path", implemented=False, note=not_applied),
        _f("enable-priority-and-fairness", "bool", True,
           "If true, replace the max-in-flight handler with an enhanced one that queues and "
           "dispatches with priority and fairness", "true",
           implemented=False, note=not_applied),
        _f("profiling", "bool", True,
           "Enable profiling via web interface host:port/debug/pprof/", "true",
           implemented=False, note=not_applied),
    ])
    fs.section("Logging", [
        _f("log-flush-frequency", "duration", 5 * SECOND,
           "Maximum number of seconds between log flushes", "5s",
           implemented=False, note="accepted; metricsd writes every line unbuffered"),
        _f("log-json-info-buffer-size", "quantity", "0",
           "[Alpha] In JSON format with split output streams, the info messages can be buffered "
           "for a while to increase performance. The default value of zero bytes disables "
           "buffering. The size can be specified as number of bytes (512), multiples of 1000 "
           "(1K), multiples of 1024 (2Ki), or powers of those (3M, 4G, 5Mi, 6Gi). Enable the "
           "LoggingAlphaOptions feature gate to use this.",
           implemented=False, note="accepted; rejected by validation as upstream (alpha gate)"),
        _f("log-json-split-stream", "bool", False,
           "[Alpha] In JSON format, write error messages to stderr and info messages to stdout. "
           "The default is to write a single stream to stdout. Enable the LoggingAlphaOptions "
           "feature gate to use this.",
           implemented=False, note="accepted; rejected by validation as upstream (alpha gate)"),
        _f("logging-format", "string", "text",
           'Sets the log format. Permitted formats: "json" (gated by LoggingBetaOptions), '
           '"text".', '"text"'),
        _f("v", "Level", 0, "number for the log level verbosity", shorthand="v"),
        _f("vmodule", "pattern=N,...", (),
           "comma-separated list of pattern=N settings for file-filtered logging (only works "
           "for text log format)"),
    ])
    fs.section("Metricsd-only (not upstream)", [
        _f("simulation-min-metric-resolution", "duration", 10 * SECOND,
           f"{METRICSD_ONLY} Smallest --metric-resolution accepted by validation; lower it "
           "only to run simulations faster than a real cluster would allow.", "10s"),
        _f("storage-readiness", "string", READINESS_V07,
           f"{METRICSD_ONLY} When metric-storage-ready passes: \"v0.7\" once node OR pod "
           "metrics are stored (metrics-server v0.7.1), \"v0.9\" once node AND pod metrics are "
           "stored (metrics-server v0.9.0).", f'"{READINESS_V07}"'),
        _f("kubelet-max-body-size", "quantity", DEFAULT_KUBELET_MAX_BODY_SIZE,
           f"{METRICSD_ONLY} Largest kubelet response body accepted, counted as received and "
           "again after gzip decompression; a larger one fails that node's scrape. Bytes as a "
           "quantity (512Ki, 64Mi, 1G); 0 means no bound, as metrics-server.",
           DEFAULT_KUBELET_MAX_BODY_SIZE),
    ])
    return fs


@dataclass(frozen=True)
class Options:
    """The parsed command line; durations are integer nanoseconds, lists are tuples."""

    # Metrics server
    kubeconfig: str = ""
    metric_resolution: int = 60 * SECOND
    version: bool = False
    # Kubelet client
    deprecated_kubelet_completely_insecure: bool = False
    kubelet_certificate_authority: str = ""
    kubelet_client_certificate: str = ""
    kubelet_client_key: str = ""
    kubelet_insecure_tls: bool = False
    kubelet_port: int = 10250
    kubelet_preferred_address_types: tuple[str, ...] = (
        "Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP",
    )
    kubelet_request_timeout: int = 10 * SECOND
    kubelet_use_node_status_port: bool = False
    node_selector: str = ""
    # Apiserver secure serving
    bind_address: str = "0.0.0.0"
    cert_dir: str = "apiserver.local.config/certificates"
    http2_max_streams_per_connection: int = 0
    permit_address_sharing: bool = False
    permit_port_sharing: bool = False
    secure_port: int = 443
    tls_cert_file: str = ""
    tls_cipher_suites: tuple[str, ...] = ()
    tls_min_version: str = ""
    tls_private_key_file: str = ""
    #: (cert file, key file, names) per ``--tls-sni-cert-key``
    tls_sni_cert_key: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    # Apiserver authentication
    authentication_kubeconfig: str = ""
    authentication_skip_lookup: bool = False
    authentication_token_webhook_cache_ttl: int = 10 * SECOND
    authentication_tolerate_lookup_failure: bool = False
    client_ca_file: str = ""
    requestheader_allowed_names: tuple[str, ...] = ()
    requestheader_client_ca_file: str = ""
    requestheader_extra_headers_prefix: tuple[str, ...] = ("x-remote-extra-",)
    requestheader_group_headers: tuple[str, ...] = ("x-remote-group",)
    requestheader_username_headers: tuple[str, ...] = ("x-remote-user",)
    # Apiserver authorization
    authorization_always_allow_paths: tuple[str, ...] = ("/healthz", "/readyz", "/livez")
    authorization_kubeconfig: str = ""
    authorization_webhook_cache_authorized_ttl: int = 10 * SECOND
    authorization_webhook_cache_unauthorized_ttl: int = 10 * SECOND
    # Apiserver audit log (accepted, not implemented)
    audit_log_batch_buffer_size: int = 10000
    audit_log_batch_max_size: int = 1
    audit_log_batch_max_wait: int = 0
    audit_log_batch_throttle_burst: int = 0
    audit_log_batch_throttle_enable: bool = False
    audit_log_batch_throttle_qps: float = 0.0
    audit_log_compress: bool = False
    audit_log_format: str = "json"
    audit_log_maxage: int = 0
    audit_log_maxbackup: int = 0
    audit_log_maxsize: int = 0
    audit_log_mode: str = "blocking"
    audit_log_path: str = ""
    audit_log_truncate_enabled: bool = False
    audit_log_truncate_max_batch_size: int = 10485760
    audit_log_truncate_max_event_size: int = 102400
    audit_log_version: str = "audit.k8s.io/v1"
    audit_policy_file: str = ""
    audit_webhook_batch_buffer_size: int = 10000
    audit_webhook_batch_max_size: int = 400
    audit_webhook_batch_max_wait: int = 30 * SECOND
    audit_webhook_batch_throttle_burst: int = 15
    audit_webhook_batch_throttle_enable: bool = True
    audit_webhook_batch_throttle_qps: float = 10.0
    audit_webhook_config_file: str = ""
    audit_webhook_initial_backoff: int = 10 * SECOND
    audit_webhook_mode: str = "batch"
    audit_webhook_truncate_enabled: bool = False
    audit_webhook_truncate_max_batch_size: int = 10485760
    audit_webhook_truncate_max_event_size: int = 102400
    audit_webhook_version: str = "audit.k8s.io/v1"
    # Features (accepted, not applied — as upstream)
    contention_profiling: bool = False
    debug_socket_path: str = ""
    enable_priority_and_fairness: bool = True
    profiling: bool = True
    # Logging
    log_flush_frequency: int = 5 * SECOND
    log_json_info_buffer_size: str = "0"
    log_json_split_stream: bool = False
    logging_format: str = "text"
    v: int = 0
    vmodule: tuple[tuple[str, int], ...] = ()
    # metricsd only, not upstream
    simulation_min_metric_resolution: int = 10 * SECOND
    storage_readiness: str = READINESS_V07
    kubelet_max_body_size: str = DEFAULT_KUBELET_MAX_BODY_SIZE

    @property
    def metric_resolution_seconds(self) -> float:
        return self.metric_resolution / SECOND

    @property
    def kubelet_request_timeout_seconds(self) -> float:
        return self.kubelet_request_timeout / SECOND

    @property
    def kubelet_max_body_bytes(self) -> int:
        """``--kubelet-max-body-size`` in bytes (0: no bound); valid after :func:`validate`."""
        size = _whole_bytes(self.kubelet_max_body_size)
        return size if size is not None else 0

    @property
    def ready_semantics(self) -> str:
        """``"or"`` (v0.7) or ``"and"`` (v0.9), the value ``metricsd.storage.Storage`` takes."""
        return "and" if self.storage_readiness == READINESS_V09 else "or"


def parse_args(argv: Sequence[str]) -> tuple[Options, ParseResult]:
    """Parse a command line into :class:`Options` (raises ``FlagError`` / never validates)."""
    result = build_flagset().parse(argv)
    return Options(**result.values), result


# --- validation ----------------------------------------------------------------------------


def _go_mul_div(value: int, mul: int, div: int) -> int:
    """``value*mul/div`` on Go int64: the product wraps, the division truncates toward zero."""
    product = ((value * mul + (1 << 63)) % (1 << 64)) - (1 << 63)
    quotient = abs(product) // div
    return -quotient if product < 0 else quotient


def _kubelet_errors(o: Options) -> list[str]:
    errors = []
    completely_insecure = o.deprecated_kubelet_completely_insecure
    if o.kubelet_certificate_authority and o.kubelet_insecure_tls:
        errors.append(
            "cannot use both --kubelet-certificate-authority and --kubelet-insecure-tls"
        )
    if bool(o.kubelet_client_key) != bool(o.kubelet_client_certificate):
        errors.append("need both --kubelet-client-key and --kubelet-client-certificate")
    if o.kubelet_client_key and completely_insecure:
        errors.append(
            "cannot use both --kubelet-client-key and --deprecated-kubelet-completely-insecure"
        )
    if o.kubelet_client_certificate and completely_insecure:
        errors.append(
            "cannot use both --kubelet-client-certificate and "
            "--deprecated-kubelet-completely-insecure"
        )
    if o.kubelet_insecure_tls and completely_insecure:
        errors.append(
            "cannot use both --kubelet-insecure-tls and --deprecated-kubelet-completely-insecure"
        )
    if o.kubelet_certificate_authority and completely_insecure:
        errors.append(
            "cannot use both --kubelet-certificate-authority and "
            "--deprecated-kubelet-completely-insecure"
        )
    if o.kubelet_request_timeout <= 0:
        errors.append("kubelet-request-timeout should be positive")
    return errors


def _resolution_errors(o: Options) -> list[str]:
    errors = []
    minimum = o.simulation_min_metric_resolution
    if o.metric_resolution < minimum:
        errors.append(
            f"metric-resolution should be a time duration at least {format_duration(minimum)}, "
            f"but value {format_duration(o.metric_resolution)} provided"
        )
    if _go_mul_div(o.metric_resolution, 9, 10) < o.kubelet_request_timeout:
        errors.append(
            "metric-resolution should be larger than kubelet-request-timeout, but "
            f"metric-resolution value {format_duration(o.metric_resolution)} "
            f"kubelet-request-timeout value {format_duration(o.kubelet_request_timeout)} provided"
        )
    return errors


def _logging_errors(o: Options) -> list[str]:
    # component-base validates the whole logging config and returns one aggregate error.
    errs = []
    if o.logging_format not in ("text", "json"):
        errs.append(f'format: Invalid value: "{o.logging_format}": Unsupported log format')
    if o.vmodule and o.logging_format != "text":
        errs.append("vmodule: Forbidden: Only supported for text log format")
    if o.log_json_split_stream:
        errs.append(
            "options.json.splitStream: Forbidden: Feature LoggingAlphaOptions is disabled"
        )
    if o.log_json_info_buffer_size.lstrip("+") not in ("0", "0.0", ""):
        errs.append(
            "options.json.infoBufferSize: Forbidden: Feature LoggingAlphaOptions is disabled"
        )
    if not errs:
        return []
    if len(errs) == 1:
        return errs
    return ["[" + ", ".join(errs) + "]"]


def _whole_bytes(quantity: str) -> int | None:
    """A quantity as a non-negative whole number of bytes, or None when it is not one."""
    try:
        value = parse_quantity(quantity)
    except QuantityError:
        return None
    if value < 0 or value.denominator != 1:
        return None
    return int(value)


def _metricsd_errors(o: Options) -> list[str]:
    errors = []
    if o.storage_readiness not in (READINESS_V07, READINESS_V09):
        errors.append(
            f'storage-readiness must be "{READINESS_V07}" or "{READINESS_V09}", but value '
            f'"{o.storage_readiness}" provided'
        )
    if _whole_bytes(o.kubelet_max_body_size) is None:
        errors.append(
            "kubelet-max-body-size must be 0 (no bound) or a whole number of bytes, but value "
            f'"{o.kubelet_max_body_size}" provided'
        )
    return errors


def validation_errors(o: Options) -> list[str]:
    """All validation failures in upstream's order (kubelet, resolution, logging, metricsd's)."""
    return _kubelet_errors(o) + _resolution_errors(o) + _logging_errors(o) + _metricsd_errors(o)


def validate(o: Options) -> str | None:
    """The one error upstream reports (the first), or ``None`` when the options are valid."""
    errors = validation_errors(o)
    return errors[0] if errors else None


# --- help ----------------------------------------------------------------------------------


def usage_text(fs: FlagSet | None = None) -> str:
    """What cobra's usage function prints (to stderr, after ``Error: …``)."""
    return USAGE_HEADER + (fs or build_flagset()).sections_text()


EXAMPLES = """
Examples (metricsd; upstream's help ends before this block):

  # against a kubeconfig, serving on loopback with a generated certificate
  metricsd --kubeconfig DIR/kubeconfig --bind-address 127.0.0.1 --secure-port 4443 \\
    --cert-dir DIR/certs --kubelet-insecure-tls --metric-resolution 15s

  # as the release manifests run it (in-cluster config)
  metricsd --cert-dir=/tmp --secure-port=10250 \\
    --kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname \\
    --kubelet-use-node-status-port --metric-resolution=15s

  # a fast simulation (not accepted by upstream)
  metricsd --metric-resolution=2s --kubelet-request-timeout=1s \\
    --simulation-min-metric-resolution=1s
"""


def help_text(fs: FlagSet | None = None) -> str:
    """What ``--help`` prints on stdout: upstream's help, then metricsd's examples."""
    return f"{LONG_DESCRIPTION}\n\n" + usage_text(fs) + EXAMPLES
