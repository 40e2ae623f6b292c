"""Message move tasks' decisions (pure): which messages a task moves next and where, how long it
waits before the next batch, and a task as it is stored.

A task covers the messages its source (a dead-letter queue) held when it started: those with a
``seq`` up to ``through_seq``. A message moved gets a new ``seq`` in its destination, and one that
comes back to the dead-letter queue later gets a new one there, so no task moves a message twice
(a task resumed after a restart included). The task moves its messages as they are available (not
in flight, not delayed), in batches of a second's worth (at most ``BATCH``), oldest first, each to ``destination_arn``
if the task names one, else back to the queue it came from (``DeadLetterQueueSourceArn``). It is
COMPLETED when none it covers is available any more; FAILED, with SQS's reason, at the first
message with no queue to go to (that message and those after it stay).
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from lamina.queues import messages
from lamina.queues.receiving import Held

SOURCE_ATTRIBUTE = "DeadLetterQueueSourceArn"
MAX_RATE = 500  # MaxNumberOfMessagesPerSecond's maximum
# Without MaxNumberOfMessagesPerSecond SQS picks a "system-optimized" pace; Lamina's is its maximum.
DEFAULT_RATE = MAX_RATE
BATCH = 10  # messages moved in one store transaction, at most
KEPT_TASKS = 10  # a queue's tasks ListMessageMoveTasks can list (its MaxResults' maximum)

RUNNING, CANCELLING, CANCELLED, COMPLETED, FAILED = "RUNNING", "CANCELLING", "CANCELLED", "COMPLETED", "FAILED"
NO_QUEUE = "AWS.SimpleQueueService.NonExistentQueue"  # the destination does not exist (any more)
NO_SOURCE = "CouldNotDetermineMessageSource"  # a message that did not come from a queue, and no destination


@dataclass(frozen=True, slots=True)
class MoveTask:
    handle: str
    source_arn: str
    destination_arn: str | None
    rate: int | None  # as asked (None: DEFAULT_RATE)
    started_ms: int
    to_move: int
    through_seq: int  # the last message of the source the task covers
    moved: int = 0
    status: str = RUNNING
    failure: str | None = None

    @property
    def active(self) -> bool:
        return self.status in (RUNNING, CANCELLING)

    def doc(self) -> Mapping[str, object]:
        return {"handle": self.handle, "source": self.source_arn, "destination": self.destination_arn,
                "rate": self.rate, "started": self.started_ms, "toMove": self.to_move, "through": self.through_seq,
                "moved": self.moved, "status": self.status, "failure": self.failure}  # fmt: skip

    @staticmethod
    def from_doc(doc: Mapping[str, object]) -> MoveTask:
        def text(name: str) -> str | None:
            value = doc.get(name)
            return value if isinstance(value, str) else None

        def number(name: str) -> int:
            value = doc.get(name)
            return value if isinstance(value, int) else 0

        rate = doc.get("rate")
        return MoveTask(
            handle=str(doc["handle"]), source_arn=str(doc["source"]), destination_arn=text("destination"),
            rate=rate if isinstance(rate, int) else None, started_ms=number("started"), to_move=number("toMove"),
            through_seq=number("through"), moved=number("moved"), status=text("status") or FAILED,
            failure=text("failure"),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Step:
    moves: list[tuple[Held, str]] = field(default_factory=list)  # each message and the ARN it goes to
    failure: str | None = None  # the task fails (after these moves)
    done: bool = False  # nothing the task covers is available after these moves


def covered(held: Iterable[Held], now_ms: int, through_seq: int) -> list[Held]:
    """The messages a task that covers up to ``through_seq`` can move now, oldest first."""
    return [h for h in held if h.seq <= through_seq and h.visible_ms <= now_ms]


def step(held: Iterable[Held], now_ms: int, through_seq: int, destination_arn: str | None,
         exists: Callable[[str], bool], limit: int = BATCH) -> Step:  # fmt: skip
    """The next batch of a task: up to ``limit`` messages and where each goes."""
    available = covered(held, now_ms, through_seq)
    moves: list[tuple[Held, str]] = []
    for message in available[:limit]:
        target = destination_arn or messages.system_of(message.stored.attributes).get(SOURCE_ATTRIBUTE)
        if target is None:
            return Step(moves, NO_SOURCE)
        if not exists(target):
            return Step(moves, NO_QUEUE)
        moves.append((message, target))
    return Step(moves, done=len(available) <= limit)


def batch(rate: int | None) -> int:
    """How many messages a task moves at once: a second's worth, up to ``BATCH``."""
    return min(BATCH, rate or DEFAULT_RATE)


def pause_s(moved: int, rate: int | None) -> float:
    """How long a task waits after moving ``moved`` messages, to keep to ``rate`` a second."""
    return moved / (rate or DEFAULT_RATE)


def task_handle(source_arn: str) -> str:
    raw = json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def source_of_handle(handle: str) -> str | None:
    """The source queue ARN a task handle names; None if it is not a handle."""
    try:
        doc = json.loads(base64.b64decode(handle.encode(), validate=True))
    except ValueError:
        return None
    source = doc.get("sourceArn") if isinstance(doc, dict) else None
    return source if isinstance(source, str) else None
