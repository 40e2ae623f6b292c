"""The usage ledger and metric counts in memory (``LedgerStore``)."""

from __future__ import annotations

import dataclasses
from typing import Sequence

from lamina.store.base import InvocationRecord, MeterRun, MetricCount, ProvisionedAllocation, open_allocations
from lamina.store.memory.state import MemoryState


class MemoryLedger(MemoryState):
    async def record_invocations(self, records: Sequence[InvocationRecord]) -> None:
        self._invocations.extend(records)

    async def list_invocations(self, function: str, since_ms: int = 0) -> list[InvocationRecord]:
        return sorted((r for r in self._invocations if r.function == function and r.started_ms >= since_ms),
                      key=lambda r: r.started_ms)  # fmt: skip

    async def list_ledger(self, from_ms: int, to_ms: int) -> list[InvocationRecord]:
        return sorted((r for r in self._invocations if from_ms <= r.started_ms < to_ms), key=lambda r: r.started_ms)

    async def record_allocations(self, allocations: Sequence[ProvisionedAllocation]) -> None:
        self._allocations.extend(allocations)

    async def list_allocations(self, before_ms: int) -> list[ProvisionedAllocation]:
        return sorted((a for a in self._allocations if a.at_ms < before_ms), key=lambda a: a.at_ms)

    async def begin_metering(self, now_ms: int) -> MeterRun | None:
        return None  # a memory store outlives no run: there is never a previous one

    async def end_metering(self, now_ms: int) -> None:
        self._allocations.extend(
            dataclasses.replace(a, environments=0, at_ms=max(a.at_ms, now_ms)) for a in open_allocations(self._allocations)
        )

    async def read_invocations(self, since_ms: int, until_ms: int,
                               function: str | None = None) -> list[InvocationRecord]:  # fmt: skip
        return sorted((r for r in self._invocations if since_ms <= r.started_ms < until_ms
                       and function in (None, r.function)), key=lambda r: r.started_ms)  # fmt: skip

    async def invocation_series(self, since_ms: int) -> list[tuple[str, str | None, str]]:
        return sorted({(r.function, r.qualifier, r.version) for r in self._invocations if r.started_ms >= since_ms},
                      key=str)  # fmt: skip

    async def add_metric_counts(self, counts: Sequence[MetricCount]) -> None:
        for c in counts:
            key = (c.function, c.qualifier, c.metric, c.minute_ms)
            self._metric_counts[key] = self._metric_counts.get(key, 0) + c.count

    async def read_metric_counts(self, since_ms: int, until_ms: int) -> list[MetricCount]:
        return sorted((MetricCount(*key, count) for key, count in self._metric_counts.items()
                       if since_ms <= key[3] < until_ms), key=lambda c: c.minute_ms)  # fmt: skip
