"""One queue's state in memory: its attributes and tags, its messages (in ``seq`` order, with their
receive state), its FIFO deduplication windows (of sends and of receive attempts), and the
receives waiting for a message."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

from lamina.queues import fifo, model
from lamina.queues.receiving import Held
from lamina.tasks import Waiters

if TYPE_CHECKING:
    from lamina.queues.moves import MoveTask


@dataclass(frozen=True, slots=True)
class Sent:
    """What SendMessage answers for a message (and again for a duplicate within the window)."""

    message_id: str
    sequence_number: str | None = None


@dataclass(eq=False)
class Queue:
    id: str  # what its stored messages name it by: a queue deleted and created again is another
    name: str
    arn: str
    attributes: dict[str, str]  # the settable ones, as set (defaults applied when read)
    tags: dict[str, str]
    created_s: int
    modified_s: int
    messages: dict[int, Held] = field(default_factory=dict)  # by seq, in seq order
    waiters: Waiters = field(default_factory=Waiters)
    deduplication: fifo.Window[asyncio.Future[Sent]] = field(default_factory=fifo.Window)
    attempts: fifo.Window[fifo.Attempt] = field(default_factory=fifo.Window)  # by ReceiveRequestAttemptId
    move_tasks: list[MoveTask] = field(default_factory=list)  # as a dead-letter queue, the most recent first
    purged_at: float | None = None  # time.monotonic() of the last PurgeQueue
    deleted: bool = False

    @property
    def fifo(self) -> bool:
        return self.name.endswith(model.FIFO_SUFFIX)

    def attribute(self, name: str) -> str | None:
        found = self.attributes.get(name)
        if found is not None:
            return found
        return model.FIFO_DEFAULTS.get(name) if self.fifo and name in model.FIFO_DEFAULTS else model.DEFAULTS.get(name)

    def number(self, name: str) -> int:
        return int(self.attribute(name) or 0)

    def add(self, held: Held) -> None:
        """Hold a stored message; one stored after a later one (sends race) is put in its place."""
        self.messages[held.seq] = held
        if len(self.messages) > 1 and next(reversed(self.messages)) != held.seq:
            self.messages = dict(sorted(self.messages.items()))

    def doc(self) -> Mapping[str, object]:
        """The stored document (``Store`` resource kind ``sqs/queue``, key: the name)."""
        return {"id": self.id, "name": self.name, "attributes": self.attributes, "tags": self.tags,
                "created": self.created_s, "modified": self.modified_s}  # fmt: skip

    @staticmethod
    def from_doc(doc: Mapping[str, object], arn: str) -> Queue:
        attributes, tags = doc.get("attributes"), doc.get("tags")
        created, modified = doc.get("created"), doc.get("modified")
        return Queue(
            id=str(doc.get("id") or doc["name"]), name=str(doc["name"]), arn=arn,
            attributes={str(k): str(v) for k, v in attributes.items()} if isinstance(attributes, dict) else {},
            tags={str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {},
            created_s=created if isinstance(created, int) else int(time.time()),
            modified_s=modified if isinstance(modified, int) else int(time.time()),
        )  # fmt: skip
