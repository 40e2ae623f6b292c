"""Waking the outbox's followers: which relays a committed change wakes (plain values), the object
store calls its hook with what each change committed (and only then), a woken follower takes a
new message at once though its poll is an hour away, and the functions' relay invokes a batch
together."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Sequence

from lamina.invoke.service import InvokeRequest
from lamina.objects.change import ObjectChange
from lamina.objects.files import Bodies
from lamina.objects.model import Attributes, Bucket, StoredObject
from lamina.objects.notifications.relay import NotificationRelay
from lamina.objects.notifications.wakes import BUS, FUNCTION, QUEUE, Wakes, relays_for
from lamina.objects.service import Caller, ObjectStore
from lamina.outbox import OutboxFollower
from lamina.settings import Settings
from lamina.store.base import NOTIFICATION, OutboxMessage
from lamina.store.aggregates import Store
from lamina.store.memory import MemoryStore

FN = "arn:aws:lambda:us-east-1:000000000000:function:thumbs"
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:uploads"
BUS_ARN = "arn:aws:events:us-east-1:000000000000:event-bus/default"
CALLER = Caller("REQ1", "127.0.0.1", "000000000000")


def message(target: str) -> OutboxMessage:
    return OutboxMessage(target, NOTIFICATION, "", "REQ1", b"{}", {}, 0)


def test_relays_for_names_the_relays_of_the_targets() -> None:
    prefixes = [FUNCTION, QUEUE, BUS]
    assert relays_for([FN, FN], prefixes) == {FUNCTION}
    assert relays_for([QUEUE_ARN, BUS_ARN], prefixes) == {QUEUE, BUS}
    assert relays_for(["arn:aws:sns:us-east-1:000000000000:alerts"], prefixes) == set()
    assert relays_for([], prefixes) == set()


class Counter:
    def __init__(self) -> None:
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1


def test_wakes_wakes_each_relay_once_per_change() -> None:
    functions, queues, buses = Counter(), Counter(), Counter()
    wakes = Wakes(functions=functions, queues=queues, buses=buses)
    wakes([message(FN), message(FN + "2"), message(BUS_ARN)])
    assert (functions.woken, queues.woken, buses.woken) == (1, 0, 1)
    wakes([message(QUEUE_ARN)])
    assert (functions.woken, queues.woken, buses.woken) == (1, 1, 1)


class ToFunction:
    """Owes one message for a function per change of a key under ``notify/``."""

    def messages(self, change: ObjectChange) -> list[OutboxMessage]:
        return [message(FN)] if change.key.startswith("notify/") else []


def test_the_object_store_calls_its_hook_after_a_change_that_owed_messages(tmp_path: Path) -> None:
    async def scenario() -> None:
        memory = MemoryStore()
        store = ObjectStore(memory, Bodies(tmp_path / "objects"), ToFunction())
        await store.load()
        seen: list[tuple[int, int]] = []  # (messages given, messages in the outbox when called)

        def hook(messages: Sequence[OutboxMessage]) -> None:
            seen.append((len(messages), len(outbox)))

        outbox: list[OutboxMessage] = []
        store.on_committed(hook)
        await store.create_bucket(Bucket("bkt", "us-east-1", "000000000000", 1))
        for key in ("quiet/a", "notify/b"):
            body = store.bodies.start()
            body.write(b"x")
            outbox = await memory.list_outbox(None, 0, 100)
            await store.put(StoredObject("bkt", key, body.name, 1, "e", 1, Attributes(), ""), body, CALLER,
                            "ObjectCreated:Put")
            outbox = await memory.list_outbox(None, 0, 100)
        assert seen == [(1, 0)]  # the quiet key owed nothing: no call
        await store.delete("bkt", ["notify/b", "quiet/a"], CALLER)
        assert len(seen) == 2 and seen[1][0] == 1
        assert len(await memory.list_outbox(None, 0, 100)) == 2  # committed before the hook was called

    asyncio.run(scenario())


class Taking(OutboxFollower):
    def __init__(self, store: Store) -> None:
        super().__init__(store, poll_seconds=3600.0, name="test-follower")
        self.taken: asyncio.Queue[OutboxMessage] = asyncio.Queue()

    async def take(self, message: OutboxMessage) -> None:
        await self.taken.put(message)


def test_a_woken_follower_takes_a_new_message_before_its_poll(tmp_path: Path) -> None:
    async def scenario() -> None:
        memory = MemoryStore()
        await memory.add_outbox([message(FN)])
        follower = Taking(memory)
        await follower.start()
        try:
            first = await asyncio.wait_for(follower.taken.get(), 30)  # the look at start
            assert first.target == FN
            await memory.add_outbox([message(QUEUE_ARN)])
            for _ in range(20):  # the follower runs, and sleeps: the new message waits for an hour
                await asyncio.sleep(0)
            assert follower.taken.empty()
            follower.wake()
            second = await asyncio.wait_for(follower.taken.get(), 30)  # an hour's poll away without the wake
            assert second.target == QUEUE_ARN
            follower.wake()  # a wake with nothing new: the follower looks and finds nothing
            await memory.add_outbox([message(BUS_ARN)])
            follower.wake()
            third = await asyncio.wait_for(follower.taken.get(), 30)
            assert third.target == BUS_ARN
        finally:
            await follower.close()

    asyncio.run(scenario())


class Together:
    """An invoker whose invocations return only once ``expected`` of them have begun."""

    def __init__(self, expected: int) -> None:
        self.functions: list[str] = []
        self._expected = expected
        self._all = asyncio.Event()

    async def invoke(self, request: InvokeRequest) -> object:
        self.functions.append(request.function)
        if len(self.functions) == self._expected:
            self._all.set()
        await self._all.wait()
        return None


def test_the_functions_relay_invokes_a_batch_together_and_removes_it_after() -> None:
    async def scenario() -> None:
        memory = MemoryStore()
        await memory.add_outbox([message(f"{FN}{i}") for i in range(5)] + [message(QUEUE_ARN)])
        invoker = Together(5)
        relay = NotificationRelay(memory, invoker, Settings(account_id="000000000000", region="us-east-1"))
        assert await asyncio.wait_for(relay.relay_once(), 30) == 6  # one at a time, it would wait for ever
        assert sorted(invoker.functions) == [f"thumbs{i}" for i in range(5)]
        assert [m.target for m in await memory.list_outbox(None, 0, 100)] == [QUEUE_ARN]  # the queues' relay's

    asyncio.run(scenario())
