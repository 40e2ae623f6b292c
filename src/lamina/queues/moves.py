"""Message move tasks (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask): a
dead-letter queue's messages moved back to the queues they came from (their
DeadLetterQueueSourceArn), or to one queue named.

Lamina moves a task's messages at once, in one store transaction, when the task starts: the
messages available in the dead-letter queue then (not those in flight or delayed) go, keeping
their ids, bodies and attributes, and the task is COMPLETED before StartMessageMoveTask answers
(MaxNumberOfMessagesPerSecond is accepted and reported, not needed). A message whose destination
no longer exists stays, and the task is FAILED saying why. A queue's tasks are kept in memory,
the most recent first (a restart forgets them); there is nothing running to cancel.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from dataclasses import dataclass
from typing import Callable, Iterable

from lamina.queues import messages, model
from lamina.queues.errors import InvalidParameterValue, ResourceNotFoundException
from lamina.queues.queue import Queue
from lamina.queues.receiving import Held
from lamina.queues.registry import Registry

SOURCE_ATTRIBUTE = "DeadLetterQueueSourceArn"
MAX_RATE = 500  # MaxNumberOfMessagesPerSecond's maximum
KEPT_TASKS = 10  # a queue's tasks ListMessageMoveTasks can list (its MaxResults' maximum)


@dataclass(frozen=True, slots=True)
class MoveTask:
    handle: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    started_ms: int
    to_move: int
    moved: int
    status: str  # COMPLETED or FAILED (Lamina's tasks are done when they start)
    failure: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    moves: list[tuple[Held, str]]  # each message to move and the ARN of the queue it goes to
    stranded: list[Held]  # messages whose destination does not exist: they stay


def plan(held: Iterable[Held], now_ms: int, destination_arn: str | None, exists: Callable[[str], bool]) -> Plan:
    """Where each message available at ``now_ms`` goes: to ``destination_arn`` if given, else back
    to the queue it came from."""
    moves, stranded = [], []
    for message in held:
        if message.visible_ms > now_ms:
            continue
        target = destination_arn or messages.system_of(message.stored.attributes).get(SOURCE_ATTRIBUTE)
        if target is not None and exists(target):
            moves.append((message, target))
        else:
            stranded.append(message)
    return Plan(moves, stranded)


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


class Moves(Registry):
    def _source(self, arn: str) -> Queue:
        queue = self.by_arn(arn)
        if queue is None:
            raise ResourceNotFoundException("The resource that you specified for the SourceArn parameter doesn't "
                                            "exist.")  # fmt: skip
        return queue

    async def start_move(self, source_arn: str, destination_arn: str | None, rate: int | None) -> MoveTask:
        source = self._source(source_arn)
        if not any(self._is_source_of(other, source) for other in self._queues.values()):
            raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
        destination = None
        if destination_arn is not None:
            destination = self.by_arn(destination_arn)
            if destination is None:
                raise ResourceNotFoundException("The resource that you specified for the DestinationArn parameter "
                                                "doesn't exist.")  # fmt: skip
            if destination is source:
                raise InvalidParameterValue("Value for parameter DestinationArn is invalid. Reason: The destination "
                                            "can't be the source queue.")  # fmt: skip
        now = self._now_ms()
        chosen = plan(source.messages.values(), now, destination_arn, lambda arn: self.by_arn(arn) is not None)
        adds = []
        for held, target in chosen.moves:
            queue = self.by_arn(target)
            assert queue is not None
            source.messages.pop(held.seq, None)
            attributes = messages.without_system(held.stored.attributes, SOURCE_ATTRIBUTE)
            adds.append((queue, dataclasses.replace(held.stored, queue=queue.id, visible_ms=now, receive_count=0,
                                                    first_receive_ms=0, seq=0, attributes=attributes)))  # fmt: skip
        if adds:
            deletes = [h.seq for h, _ in chosen.moves]
            seqs = await self._store.change_queue_messages([m for _, m in adds], deletes=deletes)
            for (queue, stored), seq in zip(adds, seqs):
                if not queue.deleted:
                    queue.add(Held(dataclasses.replace(stored, seq=seq), now))
                    queue.waiters.wake(1)
        failure = None
        if chosen.stranded:
            failure = (f"{len(chosen.stranded)} messages were not moved: the queue they came from does not exist, "
                       "or they did not come from one.")  # fmt: skip
        task = MoveTask(task_handle(source.arn), source.arn, destination_arn, rate, now,
                        len(chosen.moves) + len(chosen.stranded), len(chosen.moves),
                        "FAILED" if failure else "COMPLETED", failure)  # fmt: skip
        source.move_tasks = [task, *source.move_tasks][:KEPT_TASKS]
        return task

    def _is_source_of(self, queue: Queue, dead_letter_queue: Queue) -> bool:
        policy = model.redrive_policy(queue.attributes)
        return policy is not None and policy.dead_letter_arn == dead_letter_queue.arn

    def move_tasks(self, source_arn: str) -> list[MoveTask]:
        """The source queue's tasks, the most recent first."""
        return list(self._source(source_arn).move_tasks)

    def cancel_move(self, handle: str) -> None:
        """CancelMessageMoveTask: refused, as SQS refuses a task that is no longer running (Lamina's
        are done when they start); ResourceNotFoundException for a handle of no task."""
        source_arn = source_of_handle(handle)
        queue = self.by_arn(source_arn) if source_arn else None
        found = next((t for t in queue.move_tasks if t.handle == handle), None) if queue is not None else None
        if found is None:
            raise ResourceNotFoundException("Task does not exist.")
        raise InvalidParameterValue(f"Value {handle} for parameter TaskHandle is invalid. Reason: Only active tasks "
                                    "can be cancelled.")  # fmt: skip
