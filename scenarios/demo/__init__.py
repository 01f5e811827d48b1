"""The demo: the metrics-server installation story, narrated, on a simulated cluster."""
