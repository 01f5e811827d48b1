"""The lines metrics-server's libraries print, for the things metricsd does too.

metrics-server is mostly k8s.io/apiserver and client-go (v0.29.2); at ``-v`` ≥ 1 most of what
a user reads comes from them: kubeconfig loading, the informers' reflectors, every request to
the API server (``--v=6``), the serving certificate and client CAs being loaded, the
authentication ConfigMap's controllers, the health checkers, the graceful-termination steps.
Each method here prints one such line — text, verbosity and ``file:line`` as the real binary
prints them (read off its output by ``tests/differential``) — and is called where metricsd
does the same thing, so a line is never printed for something that did not happen.

Not printed, because metricsd has no such machinery (``docs/peer-deviations.md``): the
max-in-flight limiter's and flow-control metrics' start-up lines, the loopback client's SNI
certificate, the storage object count tracker, Go's watch-stream read errors at shutdown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from metricsd import klog
from metricsd.goquote import quote

__all__ = ["REFLECTOR_NAME", "LibraryLog", "go_time", "human_cert_detail"]

#: how client-go names a reflector built by an informer factory
REFLECTOR_NAME = "k8s.io/client-go@v0.29.2/tools/cache/reflector.go:229"
REQUEST_HEADER_CONTROLLER = "RequestHeaderAuthRequestController"
CLIENT_CA_NAMES = (
    "client-ca::kube-system::extension-apiserver-authentication::client-ca-file",
    "client-ca::kube-system::extension-apiserver-authentication::requestheader-client-ca-file",
)


def go_time(moment: datetime) -> str:
    """Go's ``time.Time.String()`` in UTC: ``2024-03-26 15:40:10.5 +0000 UTC``."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + " +0000 UTC"


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def human_cert_detail(cert: x509.Certificate, now: datetime | None = None) -> str:
    """dynamiccertificates.GetHumanCertDetail: CN, usages, groups, names, issuer, validity."""
    subject, issuer = _common_name(cert.subject), _common_name(cert.issuer)
    if subject == issuer:
        issuer = "<self>"
    usages: list[str] = []
    try:
        for usage in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value:
            usages.append({ExtendedKeyUsageOID.CLIENT_AUTH: "client",
                           ExtendedKeyUsageOID.SERVER_AUTH: "serving"}.get(usage, "?"))
    except x509.ExtensionNotFound:
        pass
    names: list[str] = []
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names += [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
        names += list(sans.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        pass
    groups = [str(a.value) for a in cert.subject.get_attributes_for_oid(
        NameOID.ORGANIZATION_NAME)]
    text = f"{quote(subject)} [{','.join(usages)}]"
    if groups:
        text += f" groups=[{','.join(groups)}]"
    if names:
        text += f" validServingFor=[{','.join(names)}]"
    now = now or datetime.now(UTC)
    return (f"{text} issuer={quote(issuer)} ({go_time(cert.not_valid_before_utc)} to "
            f"{go_time(cert.not_valid_after_utc)} (now={go_time(now)}))")


def _certs(pem: bytes) -> list[x509.Certificate]:
    try:
        return list(x509.load_pem_x509_certificates(pem))
    except ValueError:
        return []


class LibraryLog:
    """Library lines on one klog logger."""

    def __init__(self, log: klog.Logger | None = None) -> None:
        self.log = log or klog.logger

    # -- client-go ---------------------------------------------------------------------------
    def kubeconfig_loaded(self, path: str) -> None:
        # klog.V(6).Infoln("Config loaded from file: ", filename): Infoln adds a space
        self.log.infof(f"Config loaded from file:  {path}", v=6, at="clientcmd/loader.go:395")

    def request_enabled(self) -> bool:
        return self.log.enabled(6, "transport/round_trippers.go:553")

    def request(self, method: str, url: str, status: int, reason: str, seconds: float) -> None:
        """The ``DebugURLTiming`` line of one API request (after its response headers)."""
        self.log.infof(f"{method} {url} {status} {reason} in {int(seconds * 1000)} milliseconds",
                       v=6, at="transport/round_trippers.go:553")

    def reflector_starting(self, kind: str, resync: str) -> None:
        self.log.infof(f"Starting reflector {kind} ({resync}) from {REFLECTOR_NAME}", v=3,
                       at="cache/reflector.go:289")

    def reflector_listing(self, kind: str) -> None:
        self.log.infof(f"Listing and watching {kind} from {REFLECTOR_NAME}", v=3,
                       at="cache/reflector.go:325")

    def reflector_populated(self, kind: str) -> None:
        self.log.infof(f"Caches populated for {kind} from {REFLECTOR_NAME}", v=2,
                       at="cache/reflector.go:351")

    def reflector_stopping(self, kind: str, resync: str) -> None:
        self.log.infof(f"Stopping reflector {kind} ({resync}) from {REFLECTOR_NAME}", v=3,
                       at="cache/reflector.go:295")

    def waiting_for_caches(self, name: str) -> None:
        self.log.infof(f"Waiting for caches to sync for {name}", at="cache/shared_informer.go:311")

    def caches_synced(self, name: str) -> None:
        self.log.infof(f"Caches are synced for {name}", at="cache/shared_informer.go:318")

    # -- k8s.io/apiserver: serving and its certificates ----------------------------------------
    def serving_pair_loaded(self, name: str) -> None:
        self.log.info("Loaded a new cert/key pair", "name", name, v=2,
                      at="dynamiccertificates/dynamic_serving_content.go:113")

    def serving_cert_loaded(self, name: str, cert_pem: bytes) -> None:
        if not self.log.enabled(2, "dynamiccertificates/tlsconfig.go:200"):
            return
        for cert in _certs(cert_pem)[:1]:
            self.log.info("Loaded serving cert", "certName", name, "certDetail",
                          human_cert_detail(cert), v=2, at="dynamiccertificates/tlsconfig.go:200")

    def client_cas_loaded(self, bundles: Sequence[tuple[str, bytes]]) -> None:
        """The union bundle of the client CAs, one line per certificate."""
        if not self.log.enabled(2, "dynamiccertificates/tlsconfig.go:178"):
            return
        name = ",".join(n for n, pem in bundles if pem)
        certs = [c for _, pem in bundles for c in _certs(pem)]
        for index, cert in enumerate(certs):
            self.log.info("Loaded client CA", "index", index, "certName", name, "certDetail",
                          human_cert_detail(cert), v=2, at="dynamiccertificates/tlsconfig.go:178")

    def serving_controllers_starting(self, serving_cert_name: str | None) -> None:
        """The authentication ConfigMap's controllers and the serving certificate's, as the
        generic apiserver starts them when it begins to serve."""
        self.log.infof(f"Starting {REQUEST_HEADER_CONTROLLER}",
                       at="headerrequest/requestheader_controller.go:169")
        self.waiting_for_caches(REQUEST_HEADER_CONTROLLER)
        for name in CLIENT_CA_NAMES:
            self.log.info("Starting controller", "name", name,
                          at="dynamiccertificates/configmap_cafile_content.go:202")
            self.waiting_for_caches(name)
        if serving_cert_name is not None:
            self.log.info("Starting controller", "name", serving_cert_name,
                          at="dynamiccertificates/dynamic_serving_content.go:132")

    def auth_caches_synced(self) -> None:
        for name in (*CLIENT_CA_NAMES, REQUEST_HEADER_CONTROLLER):
            self.caches_synced(name)

    def request_header_loaded(self) -> None:
        self.log.infof(f"Loaded a new request header values for {REQUEST_HEADER_CONTROLLER}",
                       v=2, at="headerrequest/requestheader_controller.go:244")

    def configmap_forbidden(self) -> None:
        self.log.warningf(
            "Unable to get configmap/extension-apiserver-authentication in kube-system.  "
            "Usually fixed by 'kubectl create rolebinding -n kube-system ROLEBINDING_NAME "
            "--role=extension-apiserver-authentication-reader "
            "--serviceaccount=YOUR_NS:YOUR_SA'",
            at="headerrequest/requestheader_controller.go:193")

    def lookup_tolerated(self, err: str) -> None:
        self.log.warningf(f"Error looking up in-cluster authentication configuration: {err}",
                          at="options/authentication.go:368")
        self.log.warningf("Continuing without authentication configuration. This may treat all "
                          "requests as anonymous.", at="options/authentication.go:369")
        self.log.warningf("To require authentication configuration lookup to succeed, set "
                          "--authentication-tolerate-lookup-failure=false",
                          at="options/authentication.go:370")

    # -- k8s.io/apiserver: the API and the server's life -------------------------------------
    def group_version_added(self) -> None:
        self.log.infof("Adding GroupVersion metrics.k8s.io v1beta1 to ResourceManager",
                       at="aggregated/handler.go:275")

    def health_checkers(self, endpoint: str, names: Iterable[str]) -> None:
        quoted = ",".join(quote(name) for name in names)
        self.log.infof(f"Installing health checkers for (/{endpoint}): {quoted}", v=5,
                       at="healthz/healthz.go:176")

    def mux_complete(self) -> None:
        self.log.infof("MuxAndDiscoveryComplete has all endpoints registered and discovery "
                       "information is complete", v=1, at="server/genericapiserver.go:523")

    def waiting_for_shutdown(self) -> None:
        self.log.infof("[graceful-termination] waiting for shutdown to be initiated", v=1,
                       at="server/genericapiserver.go:671")

    def _event(self, name: str, at: str) -> None:
        self.log.info("[graceful-termination] shutdown event", "name", name, v=1,
                      at=f"server/genericapiserver.go:{at}")

    def shutdown_begins(self) -> None:
        """SIGTERM: the lifecycle signals up to the listener closing."""
        self.log.info("[graceful-termination] pre-shutdown hooks completed", "name",
                      "PreShutdownHooksStopped", v=1, at="server/genericapiserver.go:679")
        self._event("ShutdownInitiated", "536")
        self._event("AfterShutdownDelayDuration", "539")
        self._event("NotAcceptingNewRequest", "603")
        self.log.info("[graceful-termination] not going to wait for active watch request(s) to "
                      "drain", v=1, at="server/genericapiserver.go:637")
        self.log.infof("[graceful-termination] in-flight non long-running request(s) have "
                       "drained", v=1, at="server/genericapiserver.go:628")
        self._event("InFlightRequestsDrained", "669")

    def stopped_listening(self, address: str) -> None:
        self.log.infof(f"Stopped listening on {address}", at="server/secure_serving.go:258")
        self._event("HTTPServerStoppedListening", "586")

    def controllers_stopping(self, serving_cert_name: str | None) -> None:
        self.log.info("Shutting down DynamicServingCertificateController",
                      at="dynamiccertificates/tlsconfig.go:255")
        for name in CLIENT_CA_NAMES:
            self.log.info("Shutting down controller", "name", name,
                          at="dynamiccertificates/configmap_cafile_content.go:223")
        self.log.infof(f"Shutting down {REQUEST_HEADER_CONTROLLER}",
                       at="headerrequest/requestheader_controller.go:183")
        if serving_cert_name is not None:
            self.log.info("Shutting down controller", "name", serving_cert_name,
                          at="dynamiccertificates/dynamic_serving_content.go:146")

    def exiting(self) -> None:
        self.log.infof("[graceful-termination] apiserver is exiting", v=1,
                       at="server/genericapiserver.go:699")
