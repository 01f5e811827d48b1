"""The command line of both servers: ``--help``, ``--version``, every validation case of
the options' ``Validate`` (upstream's ``cmd/metrics-server/app/options/options.go``, in its
order) and bad flag values — exit status, stdout and stderr, byte for byte after the rules of
``docs/peer-deviations.md``. No cluster is needed: each case fails (or exits) before
anything is contacted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fakekubelet.addresses import free_port
from tests.differential.deviations import rule, rules
from tests.differential.pair import METRICSD, UPSTREAM
from tests.peers import metrics_server_binary

pytestmark = [pytest.mark.differential]

# N1, N2: start-up errors come after klog's "Generated self-signed cert" line
rule("N1", "flags", r"(?m)^([IWEF])\d{4} \d\d:\d\d:\d\d\.\d{6} ", r"\1<time> ")
rule("N2", "flags", r"(?m)^([IWEF])<time> +\d+ ", r"\1<time> <pid> ")
# D7: metricsd's own flags (a section of the usage) and the examples ending --help
rule("D7", "flags", r"\nMetricsd-only \(not upstream\) flags:\n\n(?:      --.*\n)+")
rule("D7", "flags", r"\nExamples \(metricsd; upstream's help ends before this block\):\n"
     r"(?:\n|  .*\n)+\Z")
# D8: --version
rule("D8", "flags", r"\Av0\.7\.1\+metricsd\.[0-9A-Za-z.+-]+\n\Z", "v0.7.1\n")

SERVING = ["--bind-address=127.0.0.1", "--secure-port={port}"]
DELEGATION = ["--authentication-kubeconfig={kubeconfig}",
              "--authorization-kubeconfig={kubeconfig}"]
#: a kubeconfig whose server refuses connections (nothing listens on port 1)
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""

CASES = {
    "help": ["--help"],
    "help-short": ["-h"],
    "version": ["--version"],
    "version-with-bad-flags": ["--version", "--metric-resolution=1s"],
    # the kubelet client's checks, in upstream's order
    "ca-and-insecure": ["--kubelet-certificate-authority=/ca.crt", "--kubelet-insecure-tls"],
    "key-without-cert": ["--kubelet-client-key=/k.key"],
    "cert-without-key": ["--kubelet-client-certificate=/c.crt"],
    "key-and-completely-insecure": ["--kubelet-client-key=/k.key",
                                    "--kubelet-client-certificate=/c.crt",
                                    "--deprecated-kubelet-completely-insecure"],
    "cert-and-completely-insecure": ["--kubelet-client-certificate=/c.crt",
                                     "--kubelet-client-key=/k.key",
                                     "--deprecated-kubelet-completely-insecure"],
    "insecure-and-completely-insecure": ["--kubelet-insecure-tls",
                                         "--deprecated-kubelet-completely-insecure"],
    "ca-and-completely-insecure": ["--kubelet-certificate-authority=/ca.crt",
                                   "--deprecated-kubelet-completely-insecure"],
    "timeout-zero": ["--kubelet-request-timeout=0s"],
    "timeout-negative": ["--kubelet-request-timeout=-1s"],
    "first-error-only": ["--kubelet-request-timeout=0s", "--metric-resolution=1s"],
    # resolution
    "resolution-below-10s": ["--metric-resolution=9s"],
    "resolution-10s": ["--metric-resolution=10s"],
    "resolution-11s": ["--metric-resolution=11s"],
    "resolution-1.5s": ["--metric-resolution=1.5s"],
    "resolution-500ms": ["--metric-resolution=500ms", "--kubelet-request-timeout=100ms"],
    "resolution-vs-timeout": ["--metric-resolution=20s", "--kubelet-request-timeout=19s"],
    # logging options
    "logging-format-bad": ["--logging-format=xml"],
    "vmodule-bad": ["--vmodule=x"],
    # bad values and flags (pflag's messages)
    "resolution-not-a-duration": ["--metric-resolution=abc"],
    "port-not-a-number": ["--kubelet-port=x"],
    "bool-with-value": ["--kubelet-insecure-tls=maybe"],
    "unknown-flag": ["--no-such-flag"],
    "unknown-shorthand": ["-x"],
    "missing-value": ["--metric-resolution"],
    "verbosity-bad": ["--v=high"],
    "bind-address-bad": ["--bind-address=localhost"],
    # start-up, in upstream's order (serving, authentication, the ConfigMap lookup,
    # authorization, the lister's config, the node selector); {kubeconfig} points at a
    # server nobody listens on, {port} is a free loopback port
    "authn-kubeconfig-missing": ["--authentication-kubeconfig=/nonexistent", *SERVING],
    "authz-kubeconfig-missing": ["--authentication-kubeconfig={kubeconfig}",
                                 "--authentication-skip-lookup",
                                 "--authorization-kubeconfig=/nonexistent", *SERVING],
    "configmap-unreachable": [*DELEGATION, "--kubeconfig={kubeconfig}", *SERVING],
    "kubeconfig-missing": [*DELEGATION, "--authentication-skip-lookup",
                           "--kubeconfig=/nonexistent", *SERVING],
    "node-selector-bad": [*DELEGATION, "--authentication-skip-lookup", "--node-selector=a b",
                          "--kubeconfig={kubeconfig}", *SERVING],
    "tls-cert-missing": ["--tls-cert-file=/nonexistent.crt",
                         "--tls-private-key-file=/nonexistent.key", *SERVING],
    "kubeconfig-without-delegation": ["--kubeconfig=/nonexistent", *SERVING],
    "kubeconfig-only": ["--kubeconfig={kubeconfig}", *SERVING],
    "tls-min-version-bad": ["--tls-min-version=VersionTLS99"],
    "positional-argument": ["extra"],
}


def run(server: str, args: list[str], cwd: str) -> tuple[int, str, str]:
    argv = ([sys.executable, "-m", "metricsd"] if server == METRICSD
            else [str(metrics_server_binary())])
    kubeconfig = Path(cwd) / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    port = str(free_port())
    args = [a.replace("{kubeconfig}", str(kubeconfig)).replace("{port}", port) for a in args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    done = subprocess.run(argv + args, capture_output=True, text=True, timeout=60, cwd=cwd,
                          env=env)
    out = (done.returncode, done.stdout,
           done.stderr.replace(str(kubeconfig), "<kubeconfig>").replace(f":{port}", ":<port>"))
    for r in rules("flags"):
        out = (out[0], r.sub(out[1]), r.sub(out[2]))
    return out


#: cases whose outcome is an accepted difference, and what the real one prints instead
ACCEPTED = {
    "kubeconfig-only": (rule("D9", "flags", "failed to get delegated authentication kubeconfig: "
                             "failed to get delegated authentication kubeconfig: unable to "
                             "load in-cluster configuration", only_in=UPSTREAM), 2),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_command_line(case: str, tmp_path: Path) -> None:
    metrics_server_binary()  # skip, or fail under METRICSD_REQUIRE_PEERS=1
    # each in a directory of its own: the default --cert-dir is relative
    (tmp_path / METRICSD).mkdir()
    (tmp_path / UPSTREAM).mkdir()
    ours = run(METRICSD, CASES[case], str(tmp_path / METRICSD))
    theirs = run(UPSTREAM, CASES[case], str(tmp_path / UPSTREAM))
    if case in ACCEPTED:  # exactly the entry's difference: the real one fails, metricsd not
        expected, status = ACCEPTED[case]
        assert theirs[0] == status and expected.pattern.search(theirs[2]), theirs
        assert not expected.pattern.search(ours[2]), ours
        return
    assert ours == theirs, f"{case}: metricsd (left) != metrics-server (right)"
