"""metricsd: a Python reference implementation of the Kubernetes Metrics Server (v0.7.1 behaviour).

Stages, one module (or small package) each, in data-flow order: ``options`` (flags → config,
validated once), ``informers`` (list/watch of nodes and pods), ``scraper`` (HTTPS to every
kubelet's ``/metrics/resource`` and the decoder), ``storage`` (rates from cumulative counters),
``api`` (the ``metrics.k8s.io/v1beta1`` resources), ``server`` (composition, health, serving).
metricsd imports no simulator: it sees only HTTP, TLS and Kubernetes objects.
"""
