# ruff: noqa: E501
"""Sample kubelet /metrics/resource payloads in each release's shape: what the fleet renders, what the decoder reads."""

PAYLOAD_A = """\
# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web-5d9c7b8f6-abcde"} 45.25 1711467601200
container_cpu_usage_seconds_total{container="kube-proxy",namespace="kube-system",pod="kube-proxy-x7k2p"} 12.004181 1711467599870
container_cpu_usage_seconds_total{container="sidecar",namespace="default",pod="web-5d9c7b8f6-abcde"} 3 1711467601200
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="app",namespace="default",pod="web-5d9c7b8f6-abcde"} 1.048576e+08 1711467601200
container_memory_working_set_bytes{container="kube-proxy",namespace="kube-system",pod="kube-proxy-x7k2p"} 2.2016e+07 1711467599870
container_memory_working_set_bytes{container="sidecar",namespace="default",pod="web-5d9c7b8f6-abcde"} 1.3041664e+07 1711467601200
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="app",namespace="default",pod="web-5d9c7b8f6-abcde"} 1.711460000123e+09
container_start_time_seconds{container="kube-proxy",namespace="kube-system",pod="kube-proxy-x7k2p"} 1.7114512e+09
container_start_time_seconds{container="sidecar",namespace="default",pod="web-5d9c7b8f6-abcde"} 1.711460001e+09
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 1200.5 1711467600000
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 1.932193792e+09 1711467600000
# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds
# TYPE pod_cpu_usage_seconds_total counter
pod_cpu_usage_seconds_total{namespace="default",pod="web-5d9c7b8f6-abcde"} 48.31 1711467601500
pod_cpu_usage_seconds_total{namespace="kube-system",pod="kube-proxy-x7k2p"} 12.05 1711467599000
# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes
# TYPE pod_memory_working_set_bytes gauge
pod_memory_working_set_bytes{namespace="default",pod="web-5d9c7b8f6-abcde"} 1.181e+08 1711467601500
pod_memory_working_set_bytes{namespace="kube-system",pod="kube-proxy-x7k2p"} 2.2544e+07 1711467599000
# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 0
"""

PAYLOAD_B = """\
# HELP container_cpu_usage_seconds_total [ALPHA] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="coredns",namespace="kube-system",pod="coredns-5d78c9869d-8kq2v"} 7.112304 1695632412873
# HELP container_memory_working_set_bytes [ALPHA] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="coredns",namespace="kube-system",pod="coredns-5d78c9869d-8kq2v"} 1.4811136e+07 1695632412873
# HELP container_start_time_seconds [ALPHA] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="coredns",namespace="kube-system",pod="coredns-5d78c9869d-8kq2v"} 1.6956298e+09 1695629800000
# HELP node_cpu_usage_seconds_total [ALPHA] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 83.441529 1695632410112
# HELP node_memory_working_set_bytes [ALPHA] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 6.53619e+08 1695632410112
# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE scrape_error gauge
scrape_error 0
"""

PAYLOAD_C = """\
# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 1
# HELP scrape_error [ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise
# TYPE scrape_error gauge
scrape_error 1
"""

PAYLOAD_D = """\
node_cpu_usage_seconds_total 357.35491
node_memory_working_set_bytes 1.616273408e+09
container_cpu_usage_seconds_total{container="c1",namespace="ns",pod="p"} 4.710169
container_memory_working_set_bytes{container="c1",namespace="ns",pod="p"} 0
container_cpu_usage_seconds_total{container="c2",namespace="ns",pod="p"} 1.5
container_memory_working_set_bytes{container="c2",namespace="ns",pod="p"} 2.5e+07
"""


T0_MS = 1711467600000  # 2024-03-26T15:40:00Z


def second_scrape_a() -> str:
    """Payload A 15 s later, with the cumulative values of a second scrape."""
    lines = []
    for line in PAYLOAD_A.splitlines():
        if line and not line.startswith("#"):
            parts = line.rsplit(" ", 2)
            if len(parts) == 3 and parts[2].isdigit() and len(parts[2]) == 13:
                line = f"{parts[0]} {parts[1]} {int(parts[2]) + 15000}"
        lines.append(line)
    text = "\n".join(lines) + "\n"
    for old, new in (
        ("node_cpu_usage_seconds_total 1200.5 ", "node_cpu_usage_seconds_total 1203.125 "),
        ('pod="web-5d9c7b8f6-abcde"} 45.25 ', 'pod="web-5d9c7b8f6-abcde"} 45.85 '),
        ('container="sidecar",namespace="default",pod="web-5d9c7b8f6-abcde"} 3 ',
         'container="sidecar",namespace="default",pod="web-5d9c7b8f6-abcde"} 3.0375 '),
        ('pod="kube-proxy-x7k2p"} 12.004181 ', 'pod="kube-proxy-x7k2p"} 12.019361 '),
    ):
        assert old in text, old
        text = text.replace(old, new)
    return text
