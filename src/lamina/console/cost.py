"""What invocations cost at AWS Lambda's list prices (pure).

The seam for a price table: ``price_of`` answers one architecture's prices; once Lamina keeps its
own table (metering/prices.py, per region and tier), ``price_of`` reads it instead of
``LIST_PRICES``, and nothing else here changes."""

from __future__ import annotations

from dataclasses import dataclass

from lamina.store.base import InvocationRecord


@dataclass(frozen=True)
class Price:
    gb_second: float  # USD per GB-second of billed duration
    request: float  # USD per request


# AWS's on-demand list prices in us-east-1, first tier (per GB-second; $0.20 per million requests).
LIST_PRICES = {
    "x86_64": Price(gb_second=0.0000166667, request=0.20 / 1_000_000),
    "arm64": Price(gb_second=0.0000133334, request=0.20 / 1_000_000),
}


def price_of(architecture: str) -> Price:
    return LIST_PRICES.get(architecture, LIST_PRICES["x86_64"])


def cost(record: InvocationRecord, price: Price) -> float:
    """One invocation's cost in USD: its billed GB-seconds and the request."""
    gb_seconds = (record.memory_mb / 1024) * (record.billed_ms / 1000)
    return gb_seconds * price.gb_second + price.request
