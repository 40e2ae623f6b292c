"""The asynchronous queue, the outbox, bus events and queue messages in memory (``EventQueueStore``,
``OutboxStore``, ``BusStore``, ``MessageStore``)."""

from __future__ import annotations

import dataclasses
from typing import Sequence

from lamina.store.base import BusEvent, Delivery, EventContent, MessageState, NewEvent, OutboxMessage, QueuedEvent
from lamina.store.base import QueueMessage
from lamina.store.memory.state import MemoryState


class MemoryEventQueue(MemoryState):
    async def enqueue_event(self, event: QueuedEvent, content: EventContent) -> int:
        self._last_seq += 1
        self._events[self._last_seq] = dataclasses.replace(event, seq=self._last_seq, size=content.size)
        self._contents[self._last_seq] = content
        return self._last_seq

    async def list_queued_events(self) -> list[QueuedEvent]:
        return [self._events[seq] for seq in sorted(self._events)]

    async def read_event_content(self, seq: int) -> EventContent | None:
        return self._contents.get(seq)

    async def reschedule_event(self, seq: int, attempts: int, next_ms: int) -> None:
        if seq in self._events:
            self._events[seq] = dataclasses.replace(self._events[seq], attempts=attempts, next_ms=next_ms)

    async def finish_event(
        self, seq: int, follow_ups: Sequence[NewEvent] = (), messages: Sequence[OutboxMessage] = ()
    ) -> list[int]:
        if self._events.pop(seq, None) is None:
            return []
        del self._contents[seq]
        self._put_outbox(messages)
        return [await self.enqueue_event(event, content) for event, content in follow_ups]



class MemoryOutbox(MemoryState):
    async def add_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        self._put_outbox(messages)

    async def list_outbox(self, target: str | None, after: int, limit: int) -> list[OutboxMessage]:
        found = [m for i, m in sorted(self._outbox.items()) if i > after and target in (None, m.target)]
        return found[:limit]

    async def delete_outbox(self, ids: Sequence[int]) -> int:
        return sum(self._outbox.pop(i, None) is not None for i in ids)



class MemoryBus(MemoryState):
    def _insert_bus_events(self, events: Sequence[BusEvent]) -> list[int]:
        seqs = []
        for event in events:
            self._last_bus_seq += 1
            self._bus_events[self._last_bus_seq] = dataclasses.replace(event, seq=self._last_bus_seq)
            seqs.append(self._last_bus_seq)
        return seqs

    async def add_bus_events(self, events: Sequence[BusEvent], consumed_outbox: Sequence[int] = ()) -> list[int]:
        for i in consumed_outbox:
            self._outbox.pop(i, None)
        return self._insert_bus_events(events)

    async def list_bus_events(self) -> list[BusEvent]:
        return [dataclasses.replace(self._bus_events[seq], envelope=b"") for seq in sorted(self._bus_events)]

    async def read_bus_envelope(self, seq: int) -> bytes | None:
        event = self._bus_events.get(seq)
        return event.envelope if event is not None else None

    async def settle_bus_event(
        self, seq: int, owed: Sequence[Delivery], forwards: Sequence[BusEvent] = (),
        messages: Sequence[OutboxMessage] = (),
    ) -> list[int]:  # fmt: skip
        if seq not in self._bus_events:
            return []
        if owed:
            self._bus_events[seq] = dataclasses.replace(self._bus_events[seq], deliveries=tuple(owed))
        else:
            del self._bus_events[seq]
        self._put_outbox(messages)
        return self._insert_bus_events(forwards)



class MemoryMessages(MemoryState):
    async def change_queue_messages(
        self, adds: Sequence[QueueMessage] = (), updates: Sequence[MessageState] = (), deletes: Sequence[int] = (),
        consumed_outbox: Sequence[int] = (),
    ) -> list[int]:  # fmt: skip
        for i in consumed_outbox:
            self._outbox.pop(i, None)
        for seq in deletes:
            self._queue_messages.pop(seq, None)
        for u in updates:
            if u.seq in self._queue_messages:
                self._queue_messages[u.seq] = dataclasses.replace(
                    self._queue_messages[u.seq], visible_ms=u.visible_ms, receive_count=u.receive_count,
                    first_receive_ms=u.first_receive_ms,
                )  # fmt: skip
        seqs = []
        for message in adds:
            self._last_message_seq += 1
            self._queue_messages[self._last_message_seq] = dataclasses.replace(message, seq=self._last_message_seq)
            seqs.append(self._last_message_seq)
        return seqs

    async def list_queue_messages(self) -> list[QueueMessage]:
        return [self._queue_messages[seq] for seq in sorted(self._queue_messages)]

    async def purge_queue_messages(self, queue: str, through_seq: int | None = None) -> int:
        gone = [seq for seq, m in self._queue_messages.items()
                if m.queue == queue and (through_seq is None or seq <= through_seq)]  # fmt: skip
        for seq in gone:
            del self._queue_messages[seq]
        return len(gone)
