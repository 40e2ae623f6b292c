"""FIFO queues' deduplication window (pure): a MessageDeduplicationId (given, or the SHA-256 of
the body with ContentBasedDeduplication) seen in the last five minutes makes SendMessage answer as
it did the first time, without storing the message again.

The window is kept in memory. A restart rebuilds it from the messages the queue still holds
(``Queues.load``): a send retried after a crash is still recognised while its first copy waits in
the queue, though not once that copy has been received and deleted (SQS's window is exactly five
minutes; Lamina's is at most that).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Generic, TypeVar

WINDOW_MS = 5 * 60 * 1000
T = TypeVar("T")


def content_id(body: str) -> str:
    """The deduplication id ContentBasedDeduplication gives a body: its SHA-256, in hex."""
    return hashlib.sha256(body.encode()).hexdigest()


def key(dedup_id: str, group_id: str | None, scope: str) -> str:
    """The window's key: per queue, or per message group with DeduplicationScope ``messageGroup``."""
    return f"{group_id}\x00{dedup_id}" if scope == "messageGroup" else dedup_id


@dataclass(slots=True)
class _Entry(Generic[T]):
    value: T
    until_ms: int


class Window(Generic[T]):
    """What was answered for each deduplication key in the last ``WINDOW_MS``."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry[T]] = {}  # insertion order is expiry order

    def seen(self, dedup_key: str, now_ms: int) -> T | None:
        self._prune(now_ms)
        entry = self._entries.get(dedup_key)
        return entry.value if entry is not None else None

    def remember(self, dedup_key: str, value: T, now_ms: int) -> None:
        self._entries.pop(dedup_key, None)
        self._entries[dedup_key] = _Entry(value, now_ms + WINDOW_MS)

    def forget(self, dedup_key: str) -> None:
        self._entries.pop(dedup_key, None)

    def _prune(self, now_ms: int) -> None:
        while self._entries:
            first = next(iter(self._entries))
            if self._entries[first].until_ms > now_ms:
                return
            del self._entries[first]
