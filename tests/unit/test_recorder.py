"""The recorder's batched writes: nothing buffered is lost when it stops, even mid-write."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from lamina.metering.recorder import Recorder
from lamina.store.base import InvocationRecord, LogRecord
from lamina.store.memory import MemoryStore


class SlowStore(MemoryStore):
    """Writing log lines takes a while, and says when it has begun."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = asyncio.Event()
        self.invocations: list[InvocationRecord] = []

    async def append_logs(self, records: Sequence[LogRecord], *, max_function_bytes: int | None = None) -> None:
        self.writing.set()
        await asyncio.sleep(0.2)
        await super().append_logs(records, max_function_bytes=max_function_bytes)

    async def record_invocations(self, records: Sequence[InvocationRecord]) -> None:
        self.invocations += records
        await super().record_invocations(records)


def test_stopping_while_a_batch_is_written_loses_nothing() -> None:
    async def scenario() -> None:
        store = SlowStore()
        recorder = Recorder(store, interval=0.01)
        await recorder.start()
        recorder.log(LogRecord("f", "stream", 1, "a line"))
        recorder.invocation(InvocationRecord("r1", "f", "$LATEST", 1, 1.0, 1, 128, 10, None, "success"))
        await asyncio.wait_for(store.writing.wait(), 5)  # the writer is in the middle of its batch
        await recorder.close()
        assert [r.request_id for r in store.invocations] == ["r1"]
        assert [e.message for e in await store.read_logs("f", 0, 10)] == ["a line"]

    asyncio.run(scenario())


def test_counted_events_are_written_by_minute_with_the_next_batch() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        recorder = Recorder(store, interval=0.01)
        await recorder.start()
        for qualifier in (None, None, "live"):
            recorder.count("Throttles", "f", qualifier)
        await recorder.close()
        counts = sorted(await store.read_metric_counts(0, 2**62), key=lambda c: c.qualifier)
        assert [(c.function, c.qualifier, c.metric, c.count) for c in counts] == [
            ("f", "", "Throttles", 2), ("f", "live", "Throttles", 1)]
        assert all(c.minute_ms % 60_000 == 0 for c in counts)

    asyncio.run(scenario())
