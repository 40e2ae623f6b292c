"""What invocations cost, for the console's charts (pure): the server's price table's first tier
(metering/prices.py: AWS's list prices unless LAMINA_PRICES says otherwise) per GB-second of the
architecture, and its price per request. A chart's minute is an estimate at those prices; what an
account owes, with tiers and the free tier, is ``lamina usage``'s answer."""

from __future__ import annotations

from dataclasses import dataclass

from lamina.metering.prices import Prices
from lamina.store.base import InvocationRecord


@dataclass(frozen=True)
class Price:
    gb_second: float  # per GB-second of billed duration
    request: float  # per request


def price_of(prices: Prices, architecture: str) -> Price:
    tiers = prices.duration.get(architecture) or prices.duration["x86_64"]
    return Price(gb_second=float(tiers[0].per_gb_second), request=float(prices.requests_per_million) / 1_000_000)


def cost(record: InvocationRecord, price: Price) -> float:
    """One invocation's cost: its billed GB-seconds and the request."""
    gb_seconds = (record.memory_mb / 1024) * (record.billed_ms / 1000)
    return gb_seconds * price.gb_second + price.request
