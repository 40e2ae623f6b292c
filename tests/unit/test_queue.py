"""The asynchronous queue over the in-memory store, with a runner that throttles every attempt."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from lamina.errors import ResourceNotFound, ServiceError, TooManyRequests
from lamina.invoke.queue import AsyncQueue, ContentSource, FreshContent
from lamina.model import Code, EventInvokeConfig, FunctionConfig
from lamina.settings import Settings
from lamina.store.base import DESTINATION, EventContent, QueuedEvent
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


class Reading:
    """A runner that takes its event's content, then finds the function gone (the event is dropped)."""

    def __init__(self) -> None:
        self.payloads: dict[str, bytes] = {}

    async def attempt(self, event: QueuedEvent, content: ContentSource) -> tuple[FunctionConfig, Outcome]:
        self.payloads[event.request_id] = (await content()).payload
        raise ResourceNotFound("Function not found")

    def configuration(self, event: QueuedEvent) -> FunctionConfig | None:
        return None

    def turned_off(self, function: str) -> bool:
        return False


def test_an_event_accepted_here_is_delivered_without_reading_the_store_back() -> None:
    async def scenario() -> None:
        store = CountingStore()
        now = int(time.time() * 1000)
        await store.enqueue_event(QueuedEvent("old", "f", None, now, now), EventContent(b'"stored"'))
        runner = Reading()
        queue = AsyncQueue(store, runner, NoConfigs(), Settings(async_workers=1))
        await queue.start()
        try:
            await queue.accept("f", None, b'"fresh"', "new", None)
            while len(runner.payloads) < 2 or await store.list_queued_events():
                await asyncio.sleep(0.01)
            assert runner.payloads == {"old": b'"stored"', "new": b'"fresh"'}
            assert store.reads == 1  # the event an earlier run left; the one accepted here came from memory
        finally:
            await queue.close()

    asyncio.run(scenario())


def test_fresh_content_is_bounded_and_drops_the_oldest_first() -> None:
    fresh = FreshContent(limit=160)
    for seq in range(1, 5):
        fresh.keep(seq, EventContent(b"x" * 8))  # 8 bytes each: an event may have 10 (a sixteenth of 160)
    fresh.keep(5, EventContent(b"x" * 11))  # more than a sixteenth of the limit: never kept
    assert fresh.take(5) is None and fresh.bytes == 32
    for seq in range(6, 30):
        fresh.keep(seq, EventContent(b"x" * 8))
    assert fresh.bytes <= 160
    assert fresh.take(1) is None  # the oldest went first
    assert fresh.take(29) == EventContent(b"x" * 8)
    assert fresh.take(29) is None  # taken once


DLQ, RECORDS = "arn:aws:sqs:us-east-1:000000000000:dlq", "arn:aws:sqs:us-east-1:000000000000:records"


class Failing:
    """A runner whose function cannot run (a fault of the service): its events are given up on at once."""

    fn = FunctionConfig(name="f", runtime="python3.11", handler="app.handler", role="arn:aws:iam::0:role/r",
                        code=Code("d", "s", 1), dead_letter_target=DLQ)  # fmt: skip

    async def attempt(self, event: QueuedEvent, content: ContentSource) -> tuple[FunctionConfig, Outcome]:
        raise ServiceError("the function cannot run")

    def configuration(self, event: QueuedEvent) -> FunctionConfig | None:
        return self.fn

    def turned_off(self, function: str) -> bool:
        return False


class NoRetries:
    def event_invoke_config(self, function: str, qualifier: str = "$LATEST") -> EventInvokeConfig | None:
        return EventInvokeConfig(function, qualifier, maximum_retry_attempts=0, on_failure=RECORDS)


def test_what_the_role_may_not_send_is_lost_and_counted_the_rest_is_sent() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        asked: list[tuple[str, str]] = []

        def may_send(role: str, target: str) -> bool:
            asked.append((role, target))
            return target != DLQ  # the role may send the record, not the dead letter

        queue = AsyncQueue(store, Failing(), NoRetries(), Settings(async_workers=1))
        queue.check_sends_with(may_send)
        counted: list[tuple[str, str, str | None]] = []
        queue.count_metrics_with(lambda metric, function, qualifier: counted.append((metric, function, qualifier)))
        await queue.start()
        try:
            for n in range(2):
                await queue.accept("f", None, b"{}", f"r-{n}", None)
            while await store.list_queued_events():
                await asyncio.sleep(0.01)
            sent = await store.list_outbox(None, 0, 10)
            assert sorted((m.target, m.kind, m.request_id) for m in sent) == [
                (RECORDS, DESTINATION, "r-0"), (RECORDS, DESTINATION, "r-1")]  # fmt: skip
            assert queue.lost() == [{"function": "f", "DeadLetterErrors": 2}]
            assert sorted(counted) == [("AsyncEventsReceived", "f", None)] * 2 + [("DeadLetterErrors", "f", None)] * 2
            assert set(asked) == {(Failing.fn.role, RECORDS), (Failing.fn.role, DLQ)}
        finally:
            await queue.close()

    asyncio.run(scenario())
