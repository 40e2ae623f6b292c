"""A Kafka mapping's source while its brokers are away (mappings/kafka/source.py), driven in the
test's own event loop with real aiokafka, a clock of the test's (so the pacing is counted in
attempts, never timed) and a host of plain values: a broker address nothing listens on is tried
once, then again only as the backoff allows (1 s, doubling to 30 s), whichever worker asks; a broker
lost after the start closes the consumer (no more reconnection attempts of aiokafka's own), which
is started again at that pace, and reads on from where it was once the broker is back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from lamina.mappings.batching import BatchLimits
from lamina.mappings.kafka.options import KafkaOptions
from lamina.mappings.kafka.source import CONNECTION_ERROR, KafkaSource, start_delay
from lamina.mappings.source import SourceUnavailable
from tests.brokers import free_port
from tests.kafka import Kafka, create_topic, make_kafka, produce  # noqa: F401

LIMITS = BatchLimits(max_records=10, window_seconds=0.0)


class Host:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.options = KafkaOptions(bootstrap_servers=(bootstrap,), topic=topic, starting_position="TRIM_HORIZON",
                                    consumer_group_id=f"outage-{topic}", window_given=True)  # fmt: skip

    def kafka_options(self, uuid: str) -> tuple[KafkaOptions, int, str]:
        return self.options, 0, "arn:aws:lambda:us-east-1:000000000000:function:f"

    async def send_failure(self, destination: str, body: str) -> None:
        raise AssertionError("nothing is given up here")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _unavailable(source: KafkaSource) -> str:
    with pytest.raises(SourceUnavailable) as raised:
        await source.fetch(LIMITS)
    return str(raised.value)


def test_the_backoff_is_one_second_doubling_to_thirty() -> None:
    assert [start_delay(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_a_broker_nothing_listens_on_is_tried_only_as_the_backoff_allows() -> None:
    async def run() -> None:
        clock = Clock()
        source = KafkaSource("outage", Host(f"127.0.0.1:{free_port()}", "orders"), clock=clock)  # type: ignore[arg-type]
        try:
            assert await _unavailable(source) == CONNECTION_ERROR
            assert source.start_attempts == 1
            # Every worker asking meanwhile hears the same, and no connection is attempted.
            for _ in range(20):
                assert await _unavailable(source) == CONNECTION_ERROR
            assert source.start_attempts == 1
            for failures in range(1, 7):
                clock.now += start_delay(failures) - 0.01
                await _unavailable(source)
                assert source.start_attempts == failures  # not yet
                clock.now += 0.01
                await _unavailable(source)
                assert source.start_attempts == failures + 1
        finally:
            await source.close()

    asyncio.run(run())


def test_a_broker_lost_after_the_start_closes_the_consumer_and_is_reconnected_at_the_backoffs_pace(
        make_kafka: Callable[[], Kafka]) -> None:  # fmt: skip
    broker = make_kafka()
    create_topic(broker.bootstrap, "lost")
    produce(broker.bootstrap, "lost", ["before"])

    async def run() -> None:
        clock = Clock()
        source = KafkaSource("lost", Host(broker.bootstrap, "lost"), clock=clock, poll_seconds=0.5)  # type: ignore[arg-type]
        try:
            batch = await source.fetch(LIMITS)
            assert [r.record["value"] for r in batch] == ["YmVmb3Jl"]  # base64 of "before"
            await source.acknowledge(batch)
            assert source.start_attempts == 1
            await asyncio.to_thread(broker.stop)
            # Reads come back empty until the source finds no broker: then it closes the consumer.
            for _ in range(60):
                try:
                    await source.fetch(LIMITS)
                except SourceUnavailable as exc:
                    assert str(exc) == CONNECTION_ERROR
                    break
            else:
                raise AssertionError("the lost broker was never noticed")
            assert source.start_attempts == 1
            for _ in range(10):  # no attempt before the backoff allows
                assert await _unavailable(source) == CONNECTION_ERROR
            assert source.start_attempts == 1
            clock.now += start_delay(1)
            await _unavailable(source)  # tried once: still away
            assert source.start_attempts == 2
            await asyncio.to_thread(broker.start)
            await asyncio.to_thread(produce, broker.bootstrap, "lost", ["after"])
            clock.now += start_delay(2)
            got: list[object] = []
            for _ in range(60):
                got = [r.record["value"] for r in await source.fetch(LIMITS)]
                if got:
                    break
            assert got == ["YWZ0ZXI="]  # "after": what was acknowledged before is not read again
            assert source.start_attempts == 3
        finally:
            await source.close()

    asyncio.run(run())
