"""Which messages a receive takes (pure): the decision ReceiveMessage makes over a queue's messages
at a time ``now_ms``, tested with plain values.

A message is available once its ``visible_ms`` has passed (its delay, or the visibility timeout of
its last receive). A standard queue serves available messages oldest first. A FIFO queue serves a
message group strictly in order: a group whose oldest message is in flight (or still delayed) is
skipped whole, so nothing overtakes it; and, as SQS does, a receive takes as many messages of one
group as it can before the next group's (groups in the order of their oldest message, looking
``GROUPING_REACH`` times the receive's limit ahead), so that other consumers can take the other
groups. Messages past the retention period are expired, not served;
those received ``max_receive_count`` times already are moved to the dead-letter queue instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

from lamina.store.base import QueueMessage

# A FIFO receive looks at up to this many times its limit of available messages for more of one
# group (SQS "attempts" to fill a receive from one group): a long backlog of many groups is not
# read whole by every receive.
GROUPING_REACH = 10


@dataclass(slots=True)
class Held:
    """A message as its queue holds it in memory: what was stored, and its receive state."""

    stored: QueueMessage
    visible_ms: int
    receive_count: int = 0
    first_receive_ms: int = 0
    received_ms: int = 0  # when its latest receive was (in memory only: 0 when not known)

    @property
    def seq(self) -> int:
        return self.stored.seq

    def in_flight(self, now_ms: int) -> bool:
        return self.receive_count > 0 and self.visible_ms > now_ms


@dataclass(frozen=True, slots=True)
class Choice:
    deliver: list[Held] = field(default_factory=list)
    redrive: list[Held] = field(default_factory=list)  # to the dead-letter queue
    expire: list[Held] = field(default_factory=list)  # past the retention period


def choose(
    messages: Iterable[Held], now_ms: int, limit: int, *, fifo: bool, retention_ms: int,
    max_receive_count: int | None,
) -> Choice:  # fmt: skip
    """Up to ``limit`` messages to deliver (in ``messages``' order, which is the queue's), and the
    messages met on the way that expire or go to the dead-letter queue."""
    choice = Choice()
    blocked: set[str | None] = set()
    by_group: dict[str | None, list[Held]] = {}  # FIFO: what each group can deliver, groups in order
    available = 0
    for held in messages:
        if held.stored.sent_ms + retention_ms <= now_ms:
            choice.expire.append(held)
            continue
        group = held.stored.group_id
        if fifo and group in blocked:
            continue
        if held.visible_ms > now_ms:
            if fifo:
                blocked.add(group)
            continue
        if max_receive_count is not None and held.receive_count >= max_receive_count:
            choice.redrive.append(held)
            continue
        if fifo:
            by_group.setdefault(group, []).append(held)
            available += 1
            if len(by_group[group]) == limit or available == limit * GROUPING_REACH:
                break  # this group fills the receive, or the look for more of a group has gone far enough
            continue
        choice.deliver.append(held)
        if len(choice.deliver) == limit:
            break  # what lies beyond is for the next receive (expiring included)
    for grouped in by_group.values():
        choice.deliver.extend(grouped[: limit - len(choice.deliver)])
    return choice


def next_visible_ms(messages: Iterable[Held], now_ms: int) -> int | None:
    """When the next message now delayed or in flight becomes available (None: none is)."""
    return min((h.visible_ms for h in messages if h.visible_ms > now_ms), default=None)


@dataclass(frozen=True, slots=True)
class Counts:
    visible: int
    not_visible: int
    delayed: int


class Backlog(NamedTuple):
    visible: int  # waiting to be received
    in_flight: int  # received, not yet deleted, their visibility timeout still running
    oldest_age_s: float | None  # age of the oldest visible message (None: none is visible)


def backlog(messages: Iterable[Held], now_ms: int) -> Backlog:
    """How far behind a queue's consumers are at ``now_ms``; delayed messages count as neither."""
    visible = in_flight = 0
    oldest: int | None = None
    for h in messages:
        if h.visible_ms <= now_ms:
            visible += 1
            oldest = h.stored.sent_ms if oldest is None else min(oldest, h.stored.sent_ms)
        elif h.receive_count:
            in_flight += 1
    return Backlog(visible, in_flight, None if oldest is None else max(0, now_ms - oldest) / 1000)


def counts(messages: Iterable[Held], now_ms: int) -> Counts:
    visible = not_visible = delayed = 0
    for h in messages:
        if h.visible_ms <= now_ms:
            visible += 1
        elif h.receive_count:
            not_visible += 1
        else:
            delayed += 1
    return Counts(visible, not_visible, delayed)
