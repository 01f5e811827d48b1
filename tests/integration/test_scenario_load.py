"""A scenario's ``load:`` step against the real simulated cluster (fakeapiserver process,
metricsd installed from the manifests, real time): a Deployment of 2 pods at 1 core total
shows ≈500m each in ``kubectl top pods`` (checked against the ground truth); scaled to 4 it
shows ≈250m each once the new pods are Ready."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from scenarios.kubectl import kubectl_versions
from scenarios.report import failure_text
from scenarios.runner import Runner
from scenarios.schema import load_scenario

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not kubectl_versions(), reason="no kubectl.1.NN installed")]

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: php-apache, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: php-apache}}
  template:
    metadata: {labels: {app: php-apache}}
    spec:
      containers:
      - name: php-apache
        image: registry.k8s.io/hpa-example
        resources: {requests: {cpu: 200m}, limits: {cpu: 500m}}
        readinessProbe: {httpGet: {path: /, port: 80}, initialDelaySeconds: 2, periodSeconds: 1}
"""

SCENARIO = f"""\
name: load-split
description: a load step at 1 core on 2 pods, then 4 pods
cluster:
  fleet:
    seed: 2
    images: [{{pattern: "registry.k8s.io/hpa-example*", startupSeconds: 1, cpu: 1m,
               memory: 20Mi}}]
    nodeGroups: [{{name: node, count: 2, pods: [], capacity: {{cpu: 4, memory: 8Gi}}}}]
metricsd:
  args:
    add: [--kubelet-insecure-tls, --simulation-min-metric-resolution=1s,
          --kubelet-request-timeout=1s]
    set: {{--metric-resolution: 2s}}
  installed: true
steps:
- wait: {{apiservice: {{available: "True"}}}}
  timeout: 120s
- kubectl:
    args: [apply, -f, -]
    stdin: |
{"".join("      " + line + chr(10) for line in DEPLOYMENT.splitlines())}
- kubectl: {{args: [rollout, status, deployment/php-apache, --timeout=60s]}}
- load: {{deployment: php-apache, cores: 1, baseline: {{cpu: 0, memory: 20Mi}}}}
- kubectl: {{args: [top, pods, -l, app=php-apache]}}
  timeout: 60s
  expect:
    top: {{rowCount: 2}}
    stdout: {{regex: '^NAME .*\\n(php-apache-\\S+\\s+(499|50[0-2])m\\s+20Mi\\s*\\n){{2}}$'}}
- kubectl: {{args: [scale, deployment/php-apache, --replicas=4]}}
- kubectl: {{args: [rollout, status, deployment/php-apache, --timeout=60s]}}
- kubectl: {{args: [top, pods, -l, app=php-apache]}}
  timeout: 60s
  expect:
    top: {{rowCount: 4}}
    stdout: {{regex: '^NAME .*\\n(php-apache-\\S+\\s+(249|25[0-2])m\\s+20Mi\\s*\\n){{4}}$'}}
"""


async def test_load_step_splits_among_ready_pods() -> None:
    from scenarios.backends.sim import SimBackend

    tmp = Path(tempfile.mkdtemp(prefix="scenario-load-"))
    path = tmp / "load.yaml"
    path.write_text(SCENARIO)
    scenario = load_scenario(path)
    lines: list[str] = []
    backend = SimBackend(scenario, tmp / "artifacts")
    await backend.start()
    try:
        result = await Runner(scenario, backend, kubectl_versions(),
                              progress=lines.append).run()
    finally:
        await backend.stop()
    assert result.passed, "\n".join(lines) + "\n" + failure_text(result)
