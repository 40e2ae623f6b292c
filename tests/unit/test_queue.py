"""The asynchronous queue's quota over the in-memory store, with a runner that throttles every attempt."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from lamina.errors import TooManyRequests
from lamina.invoke.queue import AsyncQueue
from lamina.model import EventInvokeConfig, FunctionConfig
from lamina.settings import Settings
from lamina.store.base import EventContent, QueuedEvent
from lamina.store.memory import MemoryStore

if TYPE_CHECKING:
    from lamina.sandbox.environment import Outcome


class Throttled:
    """A runner whose functions never have a free slot: every attempt is throttled."""

    def __init__(self) -> None:
        self.attempted: list[tuple[str, bytes]] = []

    async def attempt(self, event: QueuedEvent, content: EventContent) -> tuple[FunctionConfig, Outcome]:
        self.attempted.append((event.request_id, content.payload))
        raise TooManyRequests("Rate Exceeded.", reason="ReservedFunctionConcurrentInvocationLimitExceeded")

    def configuration(self, event: QueuedEvent) -> FunctionConfig | None:
        return None

    def turned_off(self, function: str) -> bool:
        return False


class NoConfigs:
    def event_invoke_config(self, function: str, qualifier: str = "$LATEST") -> EventInvokeConfig | None:
        return None


def test_the_quota_counts_what_an_earlier_run_left_and_each_function_has_its_own() -> None:
    async def scenario() -> None:
        store = MemoryStore()
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
            while not runner.attempted:  # the worker reads each attempt's payload from the store
                await asyncio.sleep(0.01)
            assert runner.attempted[0] == ("old-0", b"{}")
        finally:
            await queue.close()

    asyncio.run(scenario())
