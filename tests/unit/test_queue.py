"""The asynchronous queue over the in-memory store, with a runner that throttles every attempt."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from lamina.errors import TooManyRequests
from lamina.invoke.queue import AsyncQueue, ContentSource
from lamina.model import EventInvokeConfig, FunctionConfig
from lamina.settings import Settings
from lamina.store.base import EventContent, QueuedEvent
from lamina.store.memory import MemoryStore

if TYPE_CHECKING:
    from lamina.sandbox.provider import Outcome


class Throttled:
    """A runner whose functions never have a free slot: every attempt is throttled before it would
    ask for its event's content."""

    def __init__(self) -> None:
        self.attempted: list[str] = []

    async def attempt(self, event: QueuedEvent, content: ContentSource) -> tuple[FunctionConfig, Outcome]:
        self.attempted.append(event.request_id)
        raise TooManyRequests("Rate Exceeded.", reason="ReservedFunctionConcurrentInvocationLimitExceeded")

    def configuration(self, event: QueuedEvent) -> FunctionConfig | None:
        return None

    def turned_off(self, function: str) -> bool:
        return False


class CountingStore(MemoryStore):
    """The in-memory store, counting how many times an event's content is read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def read_event_content(self, seq: int) -> EventContent | None:
        self.reads += 1
        return await super().read_event_content(seq)


class NoConfigs:
    def event_invoke_config(self, function: str, qualifier: str = "$LATEST") -> EventInvokeConfig | None:
        return None


def test_quota_counts_what_an_earlier_run_left_per_function_and_throttles_read_no_payload() -> None:
    async def scenario() -> None:
        store = CountingStore()
        now = int(time.time() * 1000)
        for i in range(2):  # left by an earlier run
            await store.enqueue_event(QueuedEvent(f"old-{i}", "f", None, now, now), EventContent(b"{}"))
        runner = Throttled()
        settings = Settings(async_queue_events=3, async_queue_bytes=100, async_workers=1)
        queue = AsyncQueue(store, runner, NoConfigs(), settings)
        await queue.start()
        try:
            await queue.accept("f", None, b'{"n": 1}', "new-1", None)
            with pytest.raises(TooManyRequests) as refused:
                await queue.accept("f", None, b"{}", "new-2", None)  # a fourth event of f
            assert refused.value.reason == "FunctionInvocationRateLimitExceeded"
            await queue.accept("g", None, b"{}", "g-1", None)  # g's quota is its own
            with pytest.raises(TooManyRequests):
                await queue.accept("g", None, b'"' + b"x" * 97 + b'"', "g-2", None)  # 2 + 99 bytes > 100
            await queue.accept("g", None, b'"' + b"x" * 96 + b'"', "g-3", None)  # 2 + 98 bytes: exactly 100
            stored = [e.request_id for e in await store.list_queued_events()]
            assert stored == ["old-0", "old-1", "new-1", "g-1", "g-3"]
            while not runner.attempted:
                await asyncio.sleep(0.01)
            assert runner.attempted[0] == "old-0"
            assert store.reads == 0  # a throttled attempt does not read its event's payload
        finally:
            await queue.close()

    asyncio.run(scenario())
