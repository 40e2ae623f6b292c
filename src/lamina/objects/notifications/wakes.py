"""Waking the relays that deliver what an object change owed, once it is committed.

The object store commits a change's notifications in the outbox with the change, then calls its
``on_committed`` hooks with them. ``Wakes`` is such a hook: it wakes the relay that takes each
message's destination (functions: ``notifications/relay.py``, queues: ``queues/relay.py``, event
buses: ``events/relay.py``; each an ``outbox.OutboxFollower``), so a notification is delivered at
once rather than at the relay's next poll, which stays the fallback (what a crash left).
Which relays is decided without I/O (``relays_for``).
"""

from __future__ import annotations

from typing import Iterable, Protocol, Sequence

from lamina.store.base import OutboxMessage

FUNCTION, QUEUE, BUS = "arn:aws:lambda:", "arn:aws:sqs:", "arn:aws:events:"


class Wakeable(Protocol):
    def wake(self) -> None: ...


def relays_for(targets: Iterable[str], prefixes: Iterable[str]) -> set[str]:
    """The prefixes some target starts with: the relays to wake."""
    wanted = tuple(prefixes)
    return {prefix for target in targets for prefix in wanted if target.startswith(prefix)}


class Wakes:
    def __init__(self, *, functions: Wakeable, queues: Wakeable, buses: Wakeable) -> None:
        self._relays = {FUNCTION: functions, QUEUE: queues, BUS: buses}

    def __call__(self, messages: Sequence[OutboxMessage]) -> None:
        for prefix in relays_for((m.target for m in messages), self._relays):
            self._relays[prefix].wake()
