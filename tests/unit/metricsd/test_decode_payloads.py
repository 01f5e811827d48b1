"""Moved to tests/reference_payloads.py (shared with the fleet's payload tests)."""

from tests.reference_payloads import (
    PAYLOAD_A,
    PAYLOAD_B,
    PAYLOAD_C,
    PAYLOAD_D,
    T0_MS,
    second_scrape_a,
)

__all__ = ["PAYLOAD_A", "PAYLOAD_B", "PAYLOAD_C", "PAYLOAD_D", "T0_MS", "second_scrape_a"]
