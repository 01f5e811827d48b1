"""Backends a scenario runs against: `sim` (simulated cluster on loopback) and `kind`."""
