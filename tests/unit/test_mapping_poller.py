"""The poller engine against a fake Source and a fake host (no queue, no functions): batches,
scaling with the backlog, throttles retried, failures given back, stopping."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from lamina.errors import ResourceNotFound, TooManyRequests
from lamina.mappings.batching import BatchLimits
from lamina.mappings.model import EventSourceMapping, SourceKind, State
from lamina.mappings.poller import FUNCTION_FAILED, THROTTLED, Poller
from lamina.mappings.source import Lag, Record

UUID = "5d1f4c1e-8d5e-4f57-9d39-1c8a0c1f7d10"


def _record(n: int, group: str | None = None) -> Record:
    body = {"n": n}
    return Record(id=f"id-{n}", token=f"t-{n}", record=body, view=body, size=10, group=group)


class FakeSource:
    """Records in memory: ``fetch`` hands out what is pending (waiting briefly when nothing is),
    ``fail`` and ``release`` put records back at the front."""

    def __init__(self, records: Sequence[Record], *, ordered: bool = False) -> None:
        self.pending = list(records)
        self.acknowledged: list[str] = []
        self.failed: list[str] = []
        self._ordered = ordered
        self.arrived = asyncio.Event()

    @property
    def ordered(self) -> bool:
        return self._ordered

    async def fetch(self, limits: BatchLimits) -> list[Record]:
        if not self.pending:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), 0.01)
            except TimeoutError:
                return []
        batch, self.pending = self.pending[: limits.max_records], self.pending[limits.max_records :]
        return batch

    async def acknowledge(self, records: Sequence[Record]) -> None:
        self.acknowledged += [r.id for r in records]

    async def fail(self, records: Sequence[Record]) -> None:
        self.failed += [r.id for r in records]
        self.pending[:0] = records
        self.arrived.set()

    async def release(self, records: Sequence[Record]) -> None:
        self.pending[:0] = records
        self.arrived.set()

    def event(self, records: Sequence[Record]) -> bytes:
        return json.dumps({"Records": [r.record for r in records]}).encode()

    def lag(self) -> Lag:
        return Lag(len(self.pending), None)


@dataclass
class Answer:
    payload: bytes = b""
    function_error: str | None = None


class FakeHost:
    def __init__(self, invoke: Callable[[bytes], Awaitable[Answer]], *, cap: int = 1000, **mapping: object) -> None:
        values: dict[str, object] = dict(
            uuid=UUID, kind=SourceKind.SQS, source_arn="arn:aws:sqs:us-east-1:000000000000:q", function="f",
            qualifier=None, function_arn="arn:aws:lambda:us-east-1:000000000000:function:f", batch_size=2,
            batching_window=0, enabled=True, state=State.ENABLED, last_modified=0.0,
        )  # fmt: skip
        values.update(mapping)
        self.current = EventSourceMapping(**values)  # type: ignore[arg-type]
        self.results: list[str] = []
        self._invoke = invoke
        self._cap = cap

    def mapping(self, uuid: str) -> EventSourceMapping | None:
        return self.current

    async def invoke(self, mapping: EventSourceMapping, payload: bytes) -> Answer:
        return await self._invoke(payload)

    def report(self, uuid: str, result: str) -> None:
        self.results.append(result)

    def cap(self, mapping: EventSourceMapping) -> int:
        return self._cap


async def _until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.001)


def _numbers(payload: bytes) -> list[int]:
    return [int(r["n"]) for r in json.loads(payload)["Records"]]


async def _no_pause(seconds: float) -> None:
    await asyncio.sleep(0)


def test_full_batches_widen_the_poller_to_its_cap_and_empty_ones_narrow_it() -> None:
    async def scenario() -> tuple[int, int, list[str]]:
        widths: list[int] = []
        poller: Poller | None = None

        async def invoke(payload: bytes) -> Answer:
            assert poller is not None
            widths.append(poller.width)
            await asyncio.sleep(0)
            return Answer(b"null")

        source = FakeSource([_record(n) for n in range(200)])
        host = FakeHost(invoke, cap=7)
        seconds = itertools.count()  # a second passes at every reading: each full batch may widen it
        poller = Poller(UUID, source, host, sleep=_no_pause, clock=lambda: float(next(seconds)))
        poller.start()
        await _until(lambda: len(source.acknowledged) == 200)
        await _until(lambda: poller is not None and poller.width == 1)  # nothing left: one worker keeps polling
        await poller.stop()
        return max(widths), len(set(source.acknowledged)), host.results

    widest, acknowledged, results = asyncio.run(scenario())
    assert widest == 7 and acknowledged == 200 and set(results) == {"OK"}


def test_throttled_invocations_are_retried_with_backoff_never_dropped() -> None:
    async def scenario() -> tuple[list[str], list[str], list[float], list[str]]:
        throttles = iter(range(4))
        pauses: list[float] = []

        async def invoke(payload: bytes) -> Answer:
            if next(throttles, None) is not None:
                raise TooManyRequests("Rate Exceeded.", reason="ReservedFunctionConcurrentInvocationLimitExceeded")
            return Answer()

        async def pause(seconds: float) -> None:
            pauses.append(seconds)
            await asyncio.sleep(0)

        source = FakeSource([_record(1)])
        host = FakeHost(invoke, cap=1)
        poller = Poller(UUID, source, host, sleep=pause)
        poller.start()
        await _until(lambda: source.acknowledged == ["id-1"])
        await poller.stop()
        return source.acknowledged, source.failed, pauses, host.results

    acknowledged, failed, pauses, results = asyncio.run(scenario())
    assert acknowledged == ["id-1"] and failed == []
    assert pauses == [0.5, 1.0, 2.0, 4.0]
    assert results == [THROTTLED, "OK"]


def test_a_function_error_gives_the_batch_back_and_the_next_attempt_finishes_it() -> None:
    async def scenario() -> tuple[list[str], list[str], list[str]]:
        calls = 0

        async def invoke(payload: bytes) -> Answer:
            nonlocal calls
            calls += 1
            return Answer(function_error="Unhandled") if calls == 1 else Answer()

        source = FakeSource([_record(1), _record(2)])
        host = FakeHost(invoke, cap=1)
        poller = Poller(UUID, source, host, sleep=_no_pause)
        poller.start()
        await _until(lambda: len(source.acknowledged) == 2)
        await poller.stop()
        return source.acknowledged, source.failed, host.results

    acknowledged, failed, results = asyncio.run(scenario())
    assert sorted(acknowledged) == ["id-1", "id-2"] and sorted(failed) == ["id-1", "id-2"]
    assert results == [FUNCTION_FAILED, "OK"]


def test_a_missing_function_is_reported_and_its_batch_given_back() -> None:
    async def scenario() -> tuple[list[str], list[str], list[str]]:
        async def invoke(payload: bytes) -> Answer:
            raise ResourceNotFound("Function not found: arn:aws:lambda:us-east-1:000000000000:function:f")

        source = FakeSource([_record(1)])
        host = FakeHost(invoke, cap=1)
        poller = Poller(UUID, source, host, sleep=_no_pause)
        poller.start()
        await _until(lambda: len(source.failed) >= 2)
        await poller.stop()
        return source.acknowledged, source.failed, host.results

    acknowledged, failed, results = asyncio.run(scenario())
    assert acknowledged == [] and set(failed) == {"id-1"}
    assert results[0] == "PROBLEM: Function not found: arn:aws:lambda:us-east-1:000000000000:function:f"


def test_filters_drop_records_and_batch_item_failures_hold_back_a_fifo_group() -> None:
    async def scenario() -> tuple[list[list[int]], list[str], list[str]]:
        seen: list[list[int]] = []

        async def invoke(payload: bytes) -> Answer:
            numbers = _numbers(payload)
            seen.append(numbers)
            if len(seen) == 1:
                return Answer(json.dumps({"batchItemFailures": [{"itemIdentifier": "id-2"}]}).encode())
            return Answer(b"{}")

        records = [_record(1, "a"), _record(2, "a"), _record(3, "b"), _record(4, "a"), _record(5, "b")]
        source = FakeSource(records, ordered=True)
        host = FakeHost(invoke, cap=1, batch_size=10, response_types=("ReportBatchItemFailures",),
                        filters=('{"n": [{"anything-but": [5]}]}',))  # fmt: skip
        poller = Poller(UUID, source, host, sleep=_no_pause)
        poller.start()
        await _until(lambda: len(source.acknowledged) == 5)
        await poller.stop()
        return seen, source.acknowledged, source.failed

    seen, acknowledged, failed = asyncio.run(scenario())
    assert seen == [[1, 2, 3, 4], [2, 4]]  # 5 dropped by the filter; 4 held back behind 2 in group a
    assert acknowledged == ["id-5", "id-1", "id-3", "id-2", "id-4"]
    assert failed == ["id-2", "id-4"]


def test_stop_ends_waiting_workers_at_once_and_lets_a_batch_in_flight_finish() -> None:
    async def scenario() -> tuple[bool, list[str]]:
        running, finish = asyncio.Event(), asyncio.Event()

        async def invoke(payload: bytes) -> Answer:
            running.set()
            await finish.wait()
            return Answer()

        source = FakeSource([_record(1)])
        poller = Poller(UUID, source, FakeHost(invoke, cap=3), sleep=_no_pause)
        poller.start()
        await running.wait()
        stopping = asyncio.create_task(poller.stop())
        for _ in range(20):
            await asyncio.sleep(0)
        waited = not stopping.done()
        finish.set()
        await stopping
        return waited, source.acknowledged

    waited, acknowledged = asyncio.run(scenario())
    assert waited and acknowledged == ["id-1"]


def test_stop_cuts_a_batch_off_at_its_deadline_and_acknowledges_nothing_of_it() -> None:
    async def scenario() -> list[str]:
        running = asyncio.Event()

        async def invoke(payload: bytes) -> Answer:
            running.set()
            await asyncio.Event().wait()  # never answers
            return Answer()

        source = FakeSource([_record(1)])
        poller = Poller(UUID, source, FakeHost(invoke, cap=1), sleep=_no_pause)
        poller.start()
        await running.wait()
        await poller.stop(deadline=time.monotonic())
        return source.acknowledged

    assert asyncio.run(scenario()) == []


def test_full_batches_widen_the_poller_once_a_second_at_most() -> None:
    async def scenario() -> int:
        widths: list[int] = []
        poller: Poller | None = None

        async def invoke(payload: bytes) -> Answer:
            assert poller is not None
            widths.append(poller.width)
            if _numbers(payload)[0] >= 100:
                now[0] = 1.0  # half way, a second later: one more batch at once, and only one
            await asyncio.sleep(0)
            return Answer(b"null")

        source = FakeSource([_record(n) for n in range(200)])
        now = [0.0]
        poller = Poller(UUID, source, FakeHost(invoke, cap=50), sleep=_no_pause, clock=lambda: now[0])
        poller.start()
        await _until(lambda: len(source.acknowledged) == 200)
        await poller.stop()
        return max(widths)

    assert asyncio.run(scenario()) == 6  # 100 full batches, five at once to begin with
