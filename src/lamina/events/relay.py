"""Lambda's destination records for event buses, taken from the outbox and put on their bus.

The asynchronous queue (``invoke/queue.py``) writes the invocation record of an event whose
OnSuccess or OnFailure destination is an event bus ARN to the outbox, in the transaction that
finishes the event. This owned task (``lamina-events-relay``) looks at the outbox every
``Settings.events_outbox_poll_seconds``, puts each such record on its bus as Lambda does (source
``lambda``, detail-type ``Lambda Function Invocation Result - Success`` or ``- Failure``, the record
as detail; ``envelope.destination_record``) and removes it from the outbox in the same transaction.
A record for a bus that does not exist (or of another region or account) stays in the outbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import datetime, timezone

from lamina.events import envelope, model
from lamina.events.bus import EventBus
from lamina.events.service import EventBusService
from lamina.settings import Settings
from lamina.store.base import DESTINATION, Store
from lamina.tasks import cancel_and_wait

log = logging.getLogger(__name__)
BATCH = 100


class DestinationRelay:
    def __init__(self, store: Store, control: EventBusService, bus: EventBus, settings: Settings) -> None:
        self._store = store
        self._control = control
        self._bus = bus
        self._settings = settings
        self._after = 0  # outbox ids up to here were looked at (those left are not ours to take)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="lamina-events-relay")

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                while await self.relay_once() == BATCH:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relaying destination records to event buses failed; trying again")
            await asyncio.sleep(self._settings.events_outbox_poll_seconds)

    async def relay_once(self) -> int:
        """Put the destination records for this server's buses waiting in the outbox on their bus;
        returns how many outbox messages were looked at."""
        messages = await self._store.list_outbox(None, self._after, BATCH)
        for message in messages:
            self._after = message.id
            if message.kind != DESTINATION or not message.target.startswith("arn:aws:events:"):
                continue
            name = model.local_bus_name(self._settings, message.target)
            if name is None or self._control.find_bus(name) is None:
                log.warning("destination record %s: event bus %s does not exist; left in the outbox",
                            message.request_id, message.target)  # fmt: skip
                continue
            try:
                record = json.loads(message.body)
            except (ValueError, RecursionError):
                continue
            if not isinstance(record, dict):
                continue
            made = envelope.destination_record(
                record, self._control.bus_arn(name), event_id=str(uuid.uuid4()), now=datetime.now(timezone.utc),
                account=self._settings.account_id, region=self._settings.region,
            )  # fmt: skip
            await self._bus.put(name, made, consumed_outbox=[message.id])
        return len(messages)
