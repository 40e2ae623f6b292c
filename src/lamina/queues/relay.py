"""Outbox messages addressed to this server's queues, delivered to them.

What Lamina could not deliver itself before it had queues waits in the store's outbox under the
target's ARN: Lambda's asynchronous-invocation records for an SQS destination and dead letters for
an SQS DLQ (``invoke/queue.py``, with Lambda's message attributes RequestID, ErrorCode,
ErrorMessage), event-bus rules' events for an SQS target and their dead letters
(``events/delivery.py``), schedules' dead letters (``schedules/delivery.py``). This owned task
(``lamina-queues-relay``, an ``OutboxFollower``) looks at the outbox every
``Settings.events_outbox_poll_seconds`` and sends each message for a queue this server has to it, removing it from the outbox in the
transaction that stores the message. A message for a queue that does not exist stays in the outbox
(logged once a target), and is delivered if the queue is created later.

A message for another account's queue is sent there only if ``crosses`` says so (a function's dead
letter or destination record its role may send there now, the queue's policy allowing it:
iam/destinations.py; nothing else, so a rule's or a bucket's messages never bypass the policy
their service principal needs): to that account's cell's queue, found with ``queues_of``
(cells/crossings.py), and then removed from this cell's outbox: two stores, so a crash between the
two sends it again (at least once, as SQS delivers).

A FIFO queue needs a group: an outbox message goes in the group of the function (or rule) it comes
from, deduplicated by its outbox id.
"""

from __future__ import annotations

import logging
from typing import Callable

from lamina.errors import ApiError
from lamina.outbox import OutboxFollower
from lamina.queues import messages
from lamina.queues.service import Queues
from lamina.settings import Settings
from lamina.store.base import OutboxMessage
from lamina.store.aggregates import OutboxStore

log = logging.getLogger(__name__)
SQS_ARN = "arn:aws:sqs:"


class OutboxRelay(OutboxFollower):
    def __init__(self, store: OutboxStore, queues: Queues, settings: Settings,
                 queues_of: Callable[[str], Queues | None] = lambda arn: None,
                 crosses: Callable[[OutboxMessage], bool] = lambda message: False) -> None:  # fmt: skip
        """``queues_of``: the queues of another cell a queue ARN names; ``crosses``: whether a
        message may go there (by default nothing leaves this cell)."""
        super().__init__(store, settings.events_outbox_poll_seconds, "lamina-queues-relay")
        self._queues = queues
        self._queues_of = queues_of
        self._crosses = crosses
        self._generation = queues.generation  # queues created since: look at the whole outbox again
        self._reported: set[str] = set()  # targets whose absence was logged

    async def relay_once(self) -> int:
        if self._generation != self._queues.generation:
            self._generation = self._queues.generation
            self.rewind()
        return await super().relay_once()

    async def take(self, message: OutboxMessage) -> None:
        if message.target.startswith(SQS_ARN):
            await self._deliver(message)

    async def _deliver(self, message: OutboxMessage) -> None:
        queues: Queues | None = self._queues
        queue = self._queues.by_arn(message.target)
        if queue is None and self._crosses(message):
            queues = self._queues_of(message.target)
            queue = queues.by_arn(message.target) if queues is not None else None
        if queues is None or queue is None:
            if message.target not in self._reported:
                self._reported.add(message.target)
                log.warning("outbox messages for queue %s wait: it does not exist", message.target)
            return
        attributes = {
            name: messages.MessageAttribute(str(value.get("DataType", "String")), string_value=value.get("StringValue"))
            for name, value in message.attributes.items() if value.get("StringValue")
        }  # fmt: skip
        group = (message.function or "lamina") if queue.fifo else None
        here = queues is self._queues  # the outbox message goes in the transaction that stores the message
        try:
            await queues.send_message(
                queue, message.body.decode(errors="replace"), attributes, group_id=group,
                deduplication_id=f"outbox-{message.id}" if queue.fifo else None,
                consumed_outbox=[message.id] if here else (),
            )  # fmt: skip
        except ApiError as exc:  # too large for the queue, ...: it stays where it is
            log.warning("outbox message %d for queue %s not delivered: %s", message.id, message.target, exc.message)
            return
        if not here:
            await self._store.delete_outbox([message.id])
