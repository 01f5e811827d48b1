"""fakekubelet: a fleet of simulated kubelets, each on its own loopback address.

To a metrics server the fleet is indistinguishable, over the network, from real kubelets:
per-node serving certificates (CA-signed, without IP SANs, self-signed, expired, ...),
``/metrics/resource`` in the exact format of the node's kubelet version, webhook-style
authentication and authorization, pods that churn, workloads that drive CPU and memory,
injectable faults, and a ground truth to check any reported figure against.
"""
