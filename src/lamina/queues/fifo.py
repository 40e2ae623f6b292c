"""FIFO queues' deduplication windows (pure): a MessageDeduplicationId (given, or the SHA-256 of
the body with ContentBasedDeduplication) seen in the last five minutes makes SendMessage answer as
it did the first time, without storing the message again; a ReceiveRequestAttemptId seen in the
last five minutes makes ReceiveMessage give the same messages and receipt handles again, if none
of them was deleted, received again or had its visibility changed since (``retried``).

The windows are kept in memory and written through the store (windows.py), so a restart reads
them back for what is left of their five minutes (``Queues.load``), and rebuilds a send's from the
message itself if the server stopped between storing the message and its window entry.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Generic, Iterable, Mapping, TypeVar

from lamina.queues.errors import InvalidParameterValue
from lamina.queues.receiving import Held

WINDOW_MS = 5 * 60 * 1000
T = TypeVar("T")
_ID = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")


def content_id(body: str) -> str:
    """The deduplication id ContentBasedDeduplication gives a body: its SHA-256, in hex."""
    return hashlib.sha256(body.encode()).hexdigest()


def key(dedup_id: str, group_id: str | None, scope: str) -> str:
    """The window's key: per queue, or per message group with DeduplicationScope ``messageGroup``."""
    return f"{group_id}\x00{dedup_id}" if scope == "messageGroup" else dedup_id


def check_id(parameter: str, value: str) -> None:
    """A MessageGroupId, MessageDeduplicationId or ReceiveRequestAttemptId: 1 to 128 alphanumeric
    characters and punctuation."""
    if not _ID.fullmatch(value):
        raise InvalidParameterValue(
            f"Value {value} for parameter {parameter} is invalid. Reason: {parameter} can only include "
            "alphanumeric and punctuation characters. 1 to 128 in length."
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """What a receive with a ReceiveRequestAttemptId delivered: each message's ``(seq, receive
    count, visible_ms)`` as that receive left it."""

    taken: tuple[tuple[int, int, int], ...]


def attempt(delivered: Iterable[Held]) -> Attempt:
    return Attempt(tuple((h.seq, h.receive_count, h.visible_ms) for h in delivered))


def retried(earlier: Attempt, messages: Mapping[int, Held]) -> list[Held] | None:
    """The messages a retried receive gets again (in the order first given), or None when one of
    them was deleted, received again or had its visibility changed since: then the retry is a
    receive of its own."""
    again = []
    for seq, count, visible_ms in earlier.taken:
        held = messages.get(seq)
        if held is None or held.receive_count != count or held.visible_ms != visible_ms:
            return None
        again.append(held)
    return again


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
        return entry.value if entry is not None and entry.until_ms > now_ms else None

    def remember(self, dedup_key: str, value: T, now_ms: int) -> None:
        self._entries.pop(dedup_key, None)
        self._entries[dedup_key] = _Entry(value, now_ms + WINDOW_MS)

    def restore(self, dedup_key: str, value: T, until_ms: int) -> None:
        """Hold an entry read back from the store, its window ending at ``until_ms`` (restore them in
        the order their windows end)."""
        self._entries.pop(dedup_key, None)
        self._entries[dedup_key] = _Entry(value, until_ms)

    def until(self, dedup_key: str) -> int | None:
        """When the key's window ends (None: it is not held)."""
        entry = self._entries.get(dedup_key)
        return entry.until_ms if entry is not None else None

    def update(self, dedup_key: str, value: T) -> None:
        """Answer ``value`` for a key from now on, until the key's window ends as it would have."""
        entry = self._entries.get(dedup_key)
        if entry is not None:
            entry.value = value

    def forget(self, dedup_key: str) -> None:
        self._entries.pop(dedup_key, None)

    def _prune(self, now_ms: int) -> None:
        while self._entries:
            first = next(iter(self._entries))
            if self._entries[first].until_ms > now_ms:
                return
            del self._entries[first]
