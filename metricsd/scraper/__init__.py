"""The scraper stage: fetch every kubelet's ``/metrics/resource`` and decode it into a batch.

``decode`` (the kubelet text format → :class:`~metricsd.scraper.batch.MetricsBatch`) and
``batch`` (the plain data types and the per-tick merge) are pure and synchronous; the
transport lives in the client and scraper modules next to them.
"""
