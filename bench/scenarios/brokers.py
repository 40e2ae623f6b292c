"""What the broker scenarios (``kafka.py``, ``rabbitmq.py``) measure, in one shape: records per
second delivered through a mapping to a no-op function, by batch size, beside the raw rate the
same client library reaches on the same broker with no function (issue 13's target: at least half
of it with batches of 100)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.stats import ratio

BATCH_SIZES = (10, 100)


@dataclass(frozen=True)
class BrokerResult:
    broker: str  # "Kafka", "RabbitMQ"
    records: int  # per measurement
    raw: str  # what the raw reference does, as the report says it
    raw_per_s: float
    runs: dict[int, float] = field(default_factory=dict)  # records/s delivered, by batch size
    bare: str | None = None  # a second raw figure, for information (Kafka: reading alone)
    bare_per_s: float | None = None

    def per_s(self, batch_size: int) -> float | None:
        return self.runs.get(batch_size)

    @property
    def ratio(self) -> float | None:
        """Records per second through the mapping at batch 100, over the raw rate."""
        return ratio(self.per_s(100), self.raw_per_s)
