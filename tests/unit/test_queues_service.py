"""``Queues`` through the seam other parts use (by ARN: event source mappings, destinations), on the
in-memory store and a clock the test moves: visibility, redrive, FIFO groups, restarts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Awaitable, Callable

import pytest

from lamina.queues import QueueDoesNotExist
from lamina.queues.errors import InvalidParameterValue, QueueDeletedRecently
from lamina.queues.moves import MoveTask
from lamina.queues.service import MessageAttribute, Queues, queue_arn_parts
from lamina.settings import Settings
from lamina.store.aggregates import Store
from lamina.store.memory import MemoryStore
from lamina.store.sqlite import SqliteStore

ARN = "arn:aws:sqs:us-east-1:000000000000:"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def run(scenario: Callable[[MemoryStore, Queues, Clock], Awaitable[None]]) -> None:
    async def main() -> None:
        store, clock = MemoryStore(), Clock()
        queues = Queues(store, Settings(), base_url="http://localhost:9000", clock=clock)
        await queues.load()
        await scenario(store, queues, clock)

    asyncio.run(main())


def test_the_seam_sends_receives_hides_and_deletes_by_arn() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        await queues.create_queue("jobs", {"VisibilityTimeout": "10"}, {})
        info = queues.get(ARN + "jobs")
        assert info is not None and (info.name, info.fifo, info.visibility_timeout) == ("jobs", False, 10)
        assert info.url == "http://localhost:9000/000000000000/jobs"
        assert queues.get(ARN + "absent") is None and queues.get("arn:aws:sqs:eu-west-1:000000000000:jobs") is None
        assert queue_arn_parts(ARN + "jobs") == ("us-east-1", "000000000000", "jobs")

        ids = [await queues.send(ARN + "jobs", f"m{i}", attributes={"k": MessageAttribute("String", "v")})
               for i in range(3)]  # fmt: skip
        first = await queues.receive(ARN + "jobs", 2, 0)
        assert [r.message_id for r in first] == ids[:2]
        assert first[0].attributes["ApproximateReceiveCount"] == "1"
        assert first[0].message_attributes == {"k": MessageAttribute("String", "v")}
        assert first[0].md5_of_message_attributes is not None
        assert [r.message_id for r in await queues.receive(ARN + "jobs", 10, 0)] == ids[2:]
        assert await queues.receive(ARN + "jobs", 10, 0) == []  # all in flight

        await queues.delete(ARN + "jobs", [first[0].receipt_handle, "not-a-handle", first[0].receipt_handle])
        await queues.change_visibility(ARN + "jobs", first[1].receipt_handle, 0)
        (again,) = await queues.receive(ARN + "jobs", 10, 0)
        assert again.message_id == ids[1] and again.attributes["ApproximateReceiveCount"] == "2"
        await queues.change_visibility(ARN + "jobs", first[1].receipt_handle, 0)  # stale now: ignored
        assert await queues.receive(ARN + "jobs", 10, 0) == []
        clock.now += 10  # every visibility timeout has ended
        assert sorted(r.message_id for r in await queues.receive(ARN + "jobs", 10, 0)) == sorted(ids[1:])
        assert len(await store.list_queue_messages()) == 2

    run(scenario)


def test_deleting_a_batch_fails_only_the_handles_that_are_not_this_queues() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        queue = await queues.create_queue("jobs", {"VisibilityTimeout": "10"}, {})
        for i in range(3):
            await queues.send(ARN + "jobs", f"m{i}")
        first, second, third = await queues.receive(ARN + "jobs", 3, 0)
        await queues.delete(ARN + "jobs", [third.receipt_handle])
        outcomes = await queues.delete_messages(queue, [first.receipt_handle, "not-a-handle", third.receipt_handle,
                                                        second.receipt_handle])  # fmt: skip
        assert [type(o).__name__ for o in outcomes] == ["NoneType", "ReceiptHandleIsInvalid", "NoneType", "NoneType"]
        assert queue.messages == {} and await store.list_queue_messages() == []

    run(scenario)


def test_backlog_by_arn_says_what_waits_what_is_in_flight_and_how_old_the_oldest_is() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        await queues.create_queue("jobs", {"VisibilityTimeout": "10"}, {})
        assert queues.backlog(ARN + "jobs") == (0, 0, None)
        assert queues.backlog(ARN + "absent") is None
        for i in range(3):
            await queues.send(ARN + "jobs", f"m{i}")
        clock.now += 4
        await queues.receive(ARN + "jobs", 1, 0)
        assert queues.backlog(ARN + "jobs") == (2, 1, 4.0)
        clock.now += 10  # its visibility timeout ended: waiting again
        assert queues.backlog(ARN + "jobs") == (3, 0, 14.0)

    run(scenario)


def test_a_long_poll_is_woken_by_a_send_and_a_deleted_queue_ends_it() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        await queues.create_queue("waits", {}, {})
        polling = asyncio.create_task(queues.receive(ARN + "waits", 1, 20))
        await asyncio.sleep(0)  # the poll is parked (a wake-up, not a timer, must end it)
        sent = await queues.send(ARN + "waits", "hello")
        (got,) = await asyncio.wait_for(polling, 5)
        assert got.message_id == sent

        polling = asyncio.create_task(queues.receive(ARN + "waits", 1, 20))
        await asyncio.sleep(0)
        await queues.delete_queue(queues.named("waits"))
        with pytest.raises(QueueDoesNotExist):
            await asyncio.wait_for(polling, 5)
        with pytest.raises(QueueDoesNotExist):
            await queues.send(ARN + "waits", "x")

    run(scenario)


def test_closing_answers_long_polls_at_once() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        await queues.create_queue("idle", {}, {})
        polling = asyncio.create_task(queues.receive(ARN + "idle", 1, 20))
        await asyncio.sleep(0)
        await queues.close()
        assert await asyncio.wait_for(polling, 5) == []

    run(scenario)


def test_redrive_moves_a_message_after_max_receive_count_receives() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        await queues.create_queue("dlq", {}, {})
        policy = json.dumps({"deadLetterTargetArn": ARN + "dlq", "maxReceiveCount": 2})
        await queues.create_queue("work", {"RedrivePolicy": policy, "VisibilityTimeout": "5"}, {})
        sent = await queues.send(ARN + "work", "poison")
        for _ in range(2):
            assert len(await queues.receive(ARN + "work", 1, 0)) == 1
            clock.now += 5
        assert await queues.receive(ARN + "work", 1, 0) == []
        (moved,) = await queues.receive(ARN + "dlq", 1, 0)
        assert moved.message_id == sent and moved.body == "poison"
        assert moved.attributes["DeadLetterQueueSourceArn"] == ARN + "work"
        assert [m.queue for m in await store.list_queue_messages()] == [queues.named("dlq").id]

    run(scenario)


def test_fifo_groups_wait_for_their_message_in_flight_and_duplicates_are_not_stored() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        await queues.create_queue("orders.fifo", {"FifoQueue": "true"}, {})
        arn = ARN + "orders.fifo"
        a1 = await queues.send(arn, "a1", group_id="a", deduplication_id="1")
        assert await queues.send(arn, "a1 again", group_id="a", deduplication_id="1") == a1
        await queues.send(arn, "a2", group_id="a", deduplication_id="2")
        await queues.send(arn, "b1", group_id="b", deduplication_id="3")
        first = await queues.receive(arn, 1, 0)
        assert [r.body for r in first] == ["a1"]
        assert first[0].attributes["MessageGroupId"] == "a" and first[0].attributes["SequenceNumber"]
        assert [r.body for r in await queues.receive(arn, 10, 0)] == ["b1"]  # a waits behind a1
        await queues.delete(arn, [first[0].receipt_handle])
        assert [r.body for r in await queues.receive(arn, 10, 0)] == ["a2"]
        assert len(await store.list_queue_messages()) == 2  # the duplicate was never stored
        clock.now += 301  # the deduplication window has passed
        assert await queues.send(arn, "a1 later", group_id="a", deduplication_id="1") != a1

    run(scenario)


def test_a_restart_reads_back_queues_and_messages_in_flight() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        await queues.create_queue("kept", {"VisibilityTimeout": "30"}, {})
        await queues.send(ARN + "kept", "one")
        (got,) = await queues.receive(ARN + "kept", 1, 0)
        restarted = Queues(store, Settings(), base_url="http://localhost:9000", clock=clock)
        await restarted.load()
        assert await restarted.receive(ARN + "kept", 1, 0) == []  # still in flight
        clock.now += 30
        (again,) = await restarted.receive(ARN + "kept", 1, 0)
        assert again.message_id == got.message_id and again.attributes["ApproximateReceiveCount"] == "2"

    run(scenario)


def test_a_fifo_send_retried_after_a_restart_is_recognised_even_once_its_first_copy_is_gone() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        await queues.create_queue("orders.fifo", {"FifoQueue": "true"}, {})
        first = await queues.send(ARN + "orders.fifo", "one", group_id="g", deduplication_id="d1")
        second = await queues.send(ARN + "orders.fifo", "two", group_id="g", deduplication_id="d2")
        (taken,) = await queues.receive(ARN + "orders.fifo", 1, 0)
        await queues.delete(ARN + "orders.fifo", [taken.receipt_handle])  # "one" is gone

        restarted = Queues(store, Settings(), base_url="http://localhost:9000", clock=clock)
        await restarted.load()
        retried = await restarted.send(ARN + "orders.fifo", "two", group_id="g", deduplication_id="d2")
        assert retried == second  # answered as the first time
        assert await restarted.send(ARN + "orders.fifo", "one", group_id="g", deduplication_id="d1") == first
        assert [r.body for r in await restarted.receive(ARN + "orders.fifo", 10, 0)] == ["two"]  # stored once

        clock.now += 5 * 60 + 1
        later = Queues(store, Settings(), base_url="http://localhost:9000", clock=clock)
        await later.load()
        assert await store.list_resources("sqs/dedup") == []  # ended: removed
        assert await later.send(ARN + "orders.fifo", "two", group_id="g", deduplication_id="d2") != second
        assert await later.send(ARN + "orders.fifo", "one", group_id="g", deduplication_id="d1") != first
        assert [r.body for r in await later.receive(ARN + "orders.fifo", 10, 0)] == ["two", "two", "one"]

    run(scenario)


def test_a_fifo_send_stored_without_its_window_entry_is_still_recognised_after_a_restart() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        await queues.create_queue("orders.fifo", {"FifoQueue": "true"}, {})
        sent = await queues.send(ARN + "orders.fifo", "one", group_id="g", deduplication_id="d1")
        # As if the server had stopped between storing the message and its window entry.
        await store.change_resources(delete_prefixes=[("sqs/dedup", "")])
        restarted = Queues(store, Settings(), base_url="http://localhost:9000", clock=clock)
        await restarted.load()
        assert await restarted.send(ARN + "orders.fifo", "one", group_id="g", deduplication_id="d1") == sent

    run(scenario)


def test_a_receive_attempt_retried_after_a_restart_gets_the_same_messages() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        queue = await queues.create_queue("jobs.fifo", {"FifoQueue": "true", "VisibilityTimeout": "30"}, {})
        for n in range(3):
            await queues.send(queue.arn, f"job {n}", group_id="g", deduplication_id=f"j{n}")
        taken = await queues.receive_from(queue, 2, 0, attempt_id="a1")
        restarted = Queues(store, Settings(), base_url="http://localhost:9000", clock=clock)
        await restarted.load()
        again = await restarted.receive_from(restarted.named("jobs.fifo"), 2, 0, attempt_id="a1")
        assert [(r.message_id, r.receipt_handle) for r in again] == [(r.message_id, r.receipt_handle) for r in taken]
        await restarted.delete(queue.arn, [again[0].receipt_handle])

        later = Queues(store, Settings(), base_url="http://localhost:9000", clock=clock)
        await later.load()
        clock.now += 30  # "job 1" visible again
        own = await later.receive_from(later.named("jobs.fifo"), 2, 0, attempt_id="a1")  # one of them was deleted
        assert [r.body for r in own] == ["job 1", "job 2"] and own[0].receipt_handle != again[1].receipt_handle
        clock.now += 5 * 60
        await later.send(queue.arn, "job 3", group_id="h", deduplication_id="j3")  # a write removes what ended
        assert await store.list_resources("sqs/attempt") == []

    run(scenario)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_deleted_queue_s_name_is_usable_again_a_minute_later_across_a_restart(kind: str, tmp_path: Path) -> None:
    async def main() -> None:
        store: Store = MemoryStore() if kind == "memory" else SqliteStore(tmp_path / "lamina.db")
        await store.open()
        clock = Clock()

        async def started() -> Queues:
            queues = Queues(store, Settings(), base_url="http://localhost:9000", clock=clock)
            await queues.load()
            return queues

        queues = await started()
        await queues.create_queue("reborn", {}, {})
        await queues.send(ARN + "reborn", "of the deleted queue")
        await queues.delete_queue(queues.named("reborn"))
        with pytest.raises(QueueDeletedRecently):
            await queues.create_queue("reborn", {}, {})
        await queues.create_queue("other", {}, {})  # other names are not held
        clock.now += 59
        queues = await started()  # the wait is stored
        with pytest.raises(QueueDeletedRecently):
            await queues.create_queue("reborn", {}, {})
        clock.now += 1
        await queues.create_queue("reborn", {}, {})  # another queue: the old one's message is not its
        assert await queues.receive(ARN + "reborn", 10, 0) == []
        assert await store.list_resources("sqs/deleted") == []  # the record went with the name's reuse

        await queues.delete_queue(queues.named("other"))
        clock.now += 60
        queues = await started()
        assert await store.list_resources("sqs/deleted") == []  # past its minute: forgotten at load
        await queues.create_queue("other", {}, {})
        await store.close()

    asyncio.run(main())


def test_a_fifo_receive_retried_with_its_attempt_id_gets_the_same_messages_and_handles() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        queue = await queues.create_queue("orders.fifo", {"FifoQueue": "true", "VisibilityTimeout": "30"}, {})
        for body, group in [("a1", "a"), ("a2", "a"), ("b1", "b")]:
            await queues.send(queue.arn, body, group_id=group, deduplication_id=body)
        first = await queues.receive_from(queue, 2, 0, attempt_id="try-1")
        assert [r.body for r in first] == ["a1", "a2"]
        clock.now += 20
        again = await queues.receive_from(queue, 10, 0, attempt_id="try-1")
        assert again == first  # the same messages, receipt handles and receive counts
        clock.now += 20  # 40 s after the first receive: the retry started the visibility timeout anew
        assert [r.body for r in await queues.receive_from(queue, 10, 0, attempt_id="try-2")] == ["b1"]
        assert await queues.receive_from(queue, 10, 0) == []  # group a is still in flight
        (stored_a1,) = [m for m in await store.list_queue_messages() if m.body == "a1"]
        assert stored_a1.visible_ms == (clock.now - 20 + 30) * 1000  # the new timeout is stored

        await queues.delete_message(queue, first[0].receipt_handle)
        assert await queues.receive_from(queue, 10, 0, attempt_id="try-1") == []  # a receive of its own now
        await queues.change_message_visibility(queue, first[1].receipt_handle, 0)
        (a2,) = await queues.receive_from(queue, 10, 0, attempt_id="try-3")
        assert a2.body == "a2" and a2.attributes["ApproximateReceiveCount"] == "2"
        await queues.change_message_visibility(queue, a2.receipt_handle, 5)  # its visibility changed
        assert await queues.receive_from(queue, 10, 0, attempt_id="try-3") == []

        clock.now += 5 * 60 + 1  # every visibility timeout and the attempts' window have passed
        (later,) = await queues.receive_from(queue, 1, 0, attempt_id="try-2")
        assert later.body == "a2" and later.attributes["ApproximateReceiveCount"] == "3"

        standard = await queues.create_queue("jobs", {}, {})  # the id counts on FIFO queues only
        await queues.send(standard.arn, "j1")
        assert len(await queues.receive_from(standard, 1, 0, attempt_id="try-1")) == 1
        assert await queues.receive_from(standard, 1, 0, attempt_id="try-1") == []

    run(scenario)


async def finished(queues: Queues, arn: str) -> MoveTask:
    """The source's latest move task, once it has ended (it runs in the background)."""
    while (task := queues.move_tasks(arn)[0]).active:
        await asyncio.sleep(0.01)
    return task


def test_a_move_task_sends_a_dead_letter_queue_s_messages_back_where_they_came_from() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        dlq = await queues.create_queue("dlq", {}, {})
        for name in ("work", "other"):
            policy = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 1})
            await queues.create_queue(name, {"RedrivePolicy": policy, "VisibilityTimeout": "5"}, {})
            await queues.send(ARN + name, f"poison of {name}")
            await queues.receive(ARN + name, 1, 0)
        clock.now += 5
        for name in ("work", "other"):
            assert await queues.receive(ARN + name, 1, 0) == []  # moved to the dead-letter queue instead
        (held,) = await queues.receive(ARN + "dlq", 1, 0, visibility_timeout=30)  # in flight: it stays

        started = await queues.start_move(dlq.arn, None, 10)
        assert (started.status, started.to_move, started.moved, started.rate) == ("RUNNING", 1, 0, 10)
        task = await finished(queues, dlq.arn)
        assert (task.status, task.to_move, task.moved, task.rate) == ("COMPLETED", 1, 1, 10)
        assert queues.move_tasks(dlq.arn) == [task]
        back = await queues.receive(ARN + "other", 10, 0) + await queues.receive(ARN + "work", 10, 0)
        assert [(r.body, r.attributes["ApproximateReceiveCount"]) for r in back] == [("poison of other", "1")]
        assert "DeadLetterQueueSourceArn" not in back[0].attributes
        assert held.body == "poison of work" and len(dlq.messages) == 1

        orphan = await queues.create_queue("orphan", {}, {})
        await queues.send(dlq.arn, "sent to the dead-letter queue itself")  # it came from no queue
        clock.now += 30
        await queues.start_move(dlq.arn, None, None)
        failed = await finished(queues, dlq.arn)
        assert failed.failure == "CouldNotDetermineMessageSource"  # the first had a queue to go to
        assert (failed.status, failed.to_move, failed.moved) == ("FAILED", 2, 1) and failed.failure
        assert [r.body for r in await queues.receive(ARN + "work", 10, 0)] == ["poison of work"]
        await queues.start_move(dlq.arn, orphan.arn, None)
        to_one = await finished(queues, dlq.arn)
        assert (to_one.status, to_one.moved) == ("COMPLETED", 1)
        assert [r.body for r in await queues.receive(orphan.arn, 10, 0)] == ["sent to the dead-letter queue itself"]
        assert queues.move_tasks(dlq.arn) == [to_one, failed, task]
        assert len(await store.list_queue_messages()) == 3 and dlq.messages == {}

    run(scenario)


def test_a_visibility_timeout_may_not_end_more_than_twelve_hours_after_its_receive() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        queue = await queues.create_queue("slow", {}, {})
        await queues.send(queue.arn, "long job")
        (got,) = await queues.receive(queue.arn, 1, 0, visibility_timeout=7200)
        clock.now += 3600
        await queues.change_message_visibility(queue, got.receipt_handle, 43200 - 3600)  # ends 12 h after the receive
        with pytest.raises(InvalidParameterValue, match=r"Total VisibilityTimeout for the message is beyond the limit"):
            await queues.change_message_visibility(queue, got.receipt_handle, 43200 - 3599)
        await queues.change_visibility(queue.arn, got.receipt_handle, 43200)  # the seam is not held to it

        restarted = Queues(store, Settings(), base_url="http://localhost:9000", clock=clock)
        await restarted.load()  # a first receive's time is known again from the store
        with pytest.raises(InvalidParameterValue):
            await restarted.change_message_visibility(restarted.named("slow"), got.receipt_handle, 43200)

    run(scenario)


def test_a_message_keeps_its_enqueue_time_in_a_standard_dead_letter_queue_and_not_in_a_fifo_one() -> None:
    async def scenario(store: MemoryStore, queues: Queues, clock: Clock) -> None:
        for suffix, extra in (("", {}), (".fifo", {"FifoQueue": "true"})):
            dlq = await queues.create_queue(f"dlq{suffix}", {**extra, "MessageRetentionPeriod": "120"}, {})
            policy = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 1})
            work = await queues.create_queue(f"work{suffix}", {**extra, "RedrivePolicy": policy,
                                                               "VisibilityTimeout": "100"}, {})  # fmt: skip
            ids = {"group_id": "g", "deduplication_id": "d"} if suffix else {}
            await queues.send(work.arn, "old", **ids)
        sent_s = clock.now
        for suffix in ("", ".fifo"):
            await queues.receive(ARN + f"work{suffix}", 1, 0)
        clock.now += 100
        for suffix in ("", ".fifo"):
            assert await queues.receive(ARN + f"work{suffix}", 1, 0) == []  # moved
        clock.now += 30  # 130 s after it was sent, 30 s after it was moved
        assert await queues.receive(ARN + "dlq", 1, 0) == []  # past the dead-letter queue's retention: expired
        (fifo_message,) = await queues.receive(ARN + "dlq.fifo", 1, 0)
        assert int(fifo_message.attributes["SentTimestamp"]) == int((sent_s + 100) * 1000)

    run(scenario)
