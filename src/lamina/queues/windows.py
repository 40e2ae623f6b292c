"""FIFO queues' windows as the store keeps them, so that they outlive a restart for their five
minutes: what SendMessage answered for a deduplication key (resource kind ``sqs/dedup``), and what a
receive with a ReceiveRequestAttemptId delivered (kind ``sqs/attempt``); keys
``<queue id>/<SHA-256 of the window's key>``. Each document says when its window ends
(``until``, epoch ms); ``Expiries`` tracks the stored ones so each is removed once it has ended.

A send's entry is written after its message is stored (and before SendMessage answers): should the
server stop in between, a restart rebuilds the entry from the message, which nobody can have
received yet. A receive attempt's is written before its messages' new states: should the server
stop in between, the entry does not match the messages after the restart (``fifo.retried``), so a
retry is a receive of its own, which finds them. Never an answer for something that was not done.
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass
from typing import Mapping

from lamina.queues import fifo
from lamina.store.base import Resource

DEDUP_KIND = "sqs/dedup"
ATTEMPT_KIND = "sqs/attempt"
KINDS = (DEDUP_KIND, ATTEMPT_KIND)


@dataclass(frozen=True, slots=True)
class SentEntry:
    queue_id: str
    key: str  # fifo.key(...)
    message_id: str
    sequence_number: str | None
    until_ms: int


@dataclass(frozen=True, slots=True)
class AttemptEntry:
    queue_id: str
    attempt_id: str
    attempt: fifo.Attempt
    until_ms: int


def _key(queue_id: str, key: str) -> str:
    return f"{queue_id}/{hashlib.sha256(key.encode()).hexdigest()}"


def sent_resource(entry: SentEntry) -> Resource:
    return Resource(DEDUP_KIND, _key(entry.queue_id, entry.key),
                    {"queue": entry.queue_id, "key": entry.key, "messageId": entry.message_id,
                     "sequenceNumber": entry.sequence_number, "until": entry.until_ms})  # fmt: skip


def attempt_resource(entry: AttemptEntry) -> Resource:
    return Resource(ATTEMPT_KIND, _key(entry.queue_id, entry.attempt_id),
                    {"queue": entry.queue_id, "id": entry.attempt_id, "until": entry.until_ms,
                     "taken": [list(t) for t in entry.attempt.taken]})  # fmt: skip


def parse_sent(doc: Mapping[str, object]) -> SentEntry | None:
    """A stored ``sqs/dedup`` document; None if it is not one."""
    queue, key, message_id, until = doc.get("queue"), doc.get("key"), doc.get("messageId"), doc.get("until")
    sequence = doc.get("sequenceNumber")
    if not (isinstance(queue, str) and isinstance(key, str) and isinstance(message_id, str)
            and isinstance(until, int) and (sequence is None or isinstance(sequence, str))):  # fmt: skip
        return None
    return SentEntry(queue, key, message_id, sequence, until)


def parse_attempt(doc: Mapping[str, object]) -> AttemptEntry | None:
    """A stored ``sqs/attempt`` document; None if it is not one."""
    queue, attempt_id, until, taken = doc.get("queue"), doc.get("id"), doc.get("until"), doc.get("taken")
    if not (isinstance(queue, str) and isinstance(attempt_id, str) and isinstance(until, int)
            and isinstance(taken, list)):  # fmt: skip
        return None
    triples = []
    for t in taken:
        if not (isinstance(t, list) and len(t) == 3 and all(isinstance(n, int) for n in t)):
            return None
        triples.append((t[0], t[1], t[2]))
    return AttemptEntry(queue, attempt_id, fifo.Attempt(tuple(triples)), until)


class Expiries:
    """When each stored window entry ends, so that it is removed then (with the next write)."""

    def __init__(self) -> None:
        self._until: dict[tuple[str, str], int] = {}  # (kind, key) -> until_ms, the latest written
        self._heap: list[tuple[int, str, str]] = []

    def add(self, kind: str, key: str, until_ms: int) -> None:
        self._until[(kind, key)] = until_ms
        heapq.heappush(self._heap, (until_ms, kind, key))

    def due(self, now_ms: int) -> list[tuple[str, str]]:
        """The entries that have ended by ``now_ms`` (forgotten here: the caller removes them)."""
        ended = []
        while self._heap and self._heap[0][0] <= now_ms:
            until, kind, key = heapq.heappop(self._heap)
            if self._until.get((kind, key)) == until:  # not written again since, with a later end
                del self._until[(kind, key)]
                ended.append((kind, key))
        return ended
