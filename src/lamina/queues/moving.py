"""Message move tasks (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask) run as
SQS runs them: StartMessageMoveTask answers at once with the task's handle, and the task moves the
dead-letter queue's messages in the background (an owned asyncio task per running move task,
named after its handle, cancelled when the server stops), at MaxNumberOfMessagesPerSecond or
``moves.DEFAULT_RATE``. What it moves and where is decided in moves.py.

Each batch is moved in one store transaction: the messages added to their destinations and
removed from the source together, so a crash never loses one nor leaves it in both queues. Tasks
are stored (resource kind ``sqs/move-task``, key ``<source queue id>/<handle>``) when they start,
after each batch and when they end; a queue keeps its last ``KEPT_TASKS``. A task RUNNING when the
server stopped (or was killed) resumes when it starts again: it covers the same messages, those it
moved already are no longer among them, and its count of moved messages is the one stored last
(approximate, as SQS's is, by at most one batch after a kill). One CANCELLING then is CANCELLED.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from lamina.queues import messages, model, moves
from lamina.queues.errors import InvalidParameterValue, ResourceNotFoundException
from lamina.queues.moves import MoveTask
from lamina.queues.queue import Queue
from lamina.queues.receiving import Held
from lamina.queues.registry import MOVE_TASK_KIND as TASK_KIND
from lamina.queues.registry import Registry
from lamina.store.base import Resource
from lamina.tasks import cancel_and_wait, wait_set

log = logging.getLogger(__name__)
RETRY_S = 1.0  # after a batch the store failed to move


class Moves(Registry):
    def _source(self, arn: str) -> Queue:
        queue = self.by_arn(arn)
        if queue is None:
            raise ResourceNotFoundException("The resource that you specified for the SourceArn parameter doesn't "
                                            "exist.")  # fmt: skip
        return queue

    async def start_move(self, source_arn: str, destination_arn: str | None, rate: int | None) -> MoveTask:
        """Check the request, store the task RUNNING and start moving; returns the task at once."""
        source = self._source(source_arn)
        if not any(self._is_source_of(other, source) for other in self._queues.values()):
            raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
        if destination_arn is not None:
            destination = self.by_arn(destination_arn)
            if destination is None:
                raise ResourceNotFoundException("The resource that you specified for the DestinationArn parameter "
                                                "doesn't exist.")  # fmt: skip
            if destination is source:
                raise InvalidParameterValue("Value for parameter DestinationArn is invalid. Reason: The destination "
                                            "can't be the source queue.")  # fmt: skip
        if any(t.active for t in source.move_tasks):
            raise InvalidParameterValue("There is already a task running. Only one active task is allowed for a "
                                        "source queue arn at a given time.")  # fmt: skip
        now = self._now_ms()
        through = next(reversed(source.messages), 0)
        task = MoveTask(moves.task_handle(source.arn), source.arn, destination_arn, rate, now,
                        len(moves.covered(source.messages.values(), now, through)), through)  # fmt: skip
        kept = [task, *source.move_tasks]
        source.move_tasks = kept[: moves.KEPT_TASKS]
        await self._store.change_resources(puts=[self._task_resource(source, task)],
                                           deletes=[(TASK_KIND, f"{source.id}/{t.handle}")
                                                    for t in kept[moves.KEPT_TASKS :]])  # fmt: skip
        self._run_move(source, task)
        return task

    def _is_source_of(self, queue: Queue, dead_letter_queue: Queue) -> bool:
        policy = model.redrive_policy(queue.attributes)
        return policy is not None and policy.dead_letter_arn == dead_letter_queue.arn

    def move_tasks(self, source_arn: str) -> list[MoveTask]:
        """The source queue's tasks, the most recent first."""
        return list(self._source(source_arn).move_tasks)

    async def cancel_move(self, handle: str) -> MoveTask:
        """CancelMessageMoveTask: a RUNNING task becomes CANCELLING, and CANCELLED once its batch in
        progress is moved. As SQS answers: InvalidParameterValue for what is not a task handle, or a
        task no longer running; ResourceNotFoundException for a handle of a queue, or a task, that
        does not exist."""
        source_arn = moves.source_of_handle(handle)
        if source_arn is None:
            raise InvalidParameterValue("Value for parameter TaskHandle is invalid.")
        queue = self._source(source_arn)
        found = next((t for t in queue.move_tasks if t.handle == handle), None)
        if found is None:
            raise ResourceNotFoundException("Task does not exist.")
        if found.status != moves.RUNNING:
            raise InvalidParameterValue(f"Value {handle} for parameter TaskHandle is invalid. Reason: Only active "
                                        "tasks can be cancelled.")  # fmt: skip
        found = await self._put_task(queue, dataclasses.replace(found, status=moves.CANCELLING))
        wake = self._move_wakes.get(handle)
        if wake is not None:
            wake.set()
        return found

    # -- running -----------------------------------------------------------------------------

    def load_move_task(self, queue: Queue, task: MoveTask) -> None:
        """Hold a stored task of ``queue`` (call in order, the most recent last); resume it if it was running."""
        queue.move_tasks = [task, *queue.move_tasks][: moves.KEPT_TASKS]
        if task.active:
            self._run_move(queue, task)

    def _run_move(self, queue: Queue, task: MoveTask) -> None:
        self._move_wakes[task.handle] = asyncio.Event()
        runner = asyncio.get_running_loop().create_task(self._move(queue, task.handle),
                                                        name=f"sqs message move task {task.handle}")  # fmt: skip
        self._movers[task.handle] = runner
        runner.add_done_callback(lambda _: self._forget_mover(task.handle))

    def _forget_mover(self, handle: str) -> None:
        self._movers.pop(handle, None)
        self._move_wakes.pop(handle, None)

    async def stop_moves(self) -> None:
        """Cancel every running task's mover (the server is stopping; they resume when it starts)."""
        for runner in list(self._movers.values()):
            await cancel_and_wait(runner)

    async def _move(self, queue: Queue, handle: str) -> None:
        """Move the task's batches until it ends; a batch the store fails to move is tried again."""
        while not queue.deleted:
            try:
                pause = await self._move_once(queue, handle)
            except Exception:
                log.exception("message move task %s: a batch was not moved; trying again", handle)
                pause = RETRY_S
            if pause is None:
                return
            wake = self._move_wakes.get(handle)
            if wake is not None:
                await wait_set(wake, pause)
            else:
                await asyncio.sleep(pause)

    async def _move_once(self, queue: Queue, handle: str) -> float | None:
        """Move the task's next batch; how long to wait before the next one (None: the task has ended)."""
        task = next((t for t in queue.move_tasks if t.handle == handle), None)
        if task is None or not task.active:
            return None
        if task.status == moves.CANCELLING:
            await self._put_task(queue, dataclasses.replace(task, status=moves.CANCELLED))
            return None
        now = self._now_ms()
        chosen = moves.step(queue.messages.values(), now, task.through_seq, task.destination_arn,
                            lambda arn: self.by_arn(arn) is not None, moves.batch(task.rate))  # fmt: skip
        moved = await self._move_batch(queue, chosen.moves, now)
        task = next((t for t in queue.move_tasks if t.handle == handle), task)  # cancelled meanwhile?
        status = moves.FAILED if chosen.failure else moves.COMPLETED if chosen.done else task.status
        if moved or status != task.status:
            task = await self._put_task(queue, dataclasses.replace(task, moved=task.moved + moved, status=status,
                                                                   failure=chosen.failure))  # fmt: skip
        return moves.pause_s(max(moved, 1), task.rate) if task.active else None

    async def _move_batch(self, source: Queue, chosen: list[tuple[Held, str]], now: int) -> int:
        """Move these messages in one store transaction; how many were moved."""
        adds = []
        for held, target in chosen:
            queue = self.by_arn(target)
            if queue is None or source.messages.pop(held.seq, None) is None:
                continue
            attributes = messages.without_system(held.stored.attributes, moves.SOURCE_ATTRIBUTE)
            moved = dataclasses.replace(held.stored, queue=queue.id, visible_ms=now, receive_count=0,
                                        first_receive_ms=0, seq=0, attributes=attributes)  # fmt: skip
            adds.append((held, queue, moved))
        if not adds:
            return 0
        try:
            seqs = await self._store.change_queue_messages([m for _, _, m in adds],
                                                           deletes=[h.seq for h, _, _ in adds])  # fmt: skip
        except BaseException:
            if not source.deleted:  # not moved: still the source's
                for held, _, _ in adds:
                    source.add(held)
            raise
        for (_, queue, stored), seq in zip(adds, seqs):
            if not queue.deleted:
                queue.add(Held(dataclasses.replace(stored, seq=seq), now))
                queue.waiters.wake(1)
        return len(adds)

    async def _put_task(self, queue: Queue, task: MoveTask) -> MoveTask:
        queue.move_tasks = [task if t.handle == task.handle else t for t in queue.move_tasks]
        if not queue.deleted:
            await self._store.change_resources(puts=[self._task_resource(queue, task)])
        return task

    def _task_resource(self, queue: Queue, task: MoveTask) -> Resource:
        return Resource(TASK_KIND, f"{queue.id}/{task.handle}", task.doc())
