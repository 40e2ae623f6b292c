"""Lambda's destination records and other services' events for event buses, taken from the outbox
and put on their bus.

The asynchronous queue (``invoke/queue.py``) writes the invocation record of an event whose
OnSuccess or OnFailure destination is an event bus ARN to the outbox, in the transaction that
finishes the event. This owned task (``lamina-events-relay``, an ``OutboxFollower``) looks at the outbox every
``Settings.events_outbox_poll_seconds``, puts each such record on its bus as Lambda does (source
``lambda``, detail-type ``Lambda Function Invocation Result - Success`` or ``- Failure``, the record
as detail; ``envelope.destination_record``) and removes it from the outbox in the same transaction.
A record for a bus that does not exist (or of another region or account) stays in the outbox.

A ``NOTIFICATION`` message for a bus is a complete event another service made (S3's "Object
Created", ...: objects/notifications/records.py), put on the bus as it is, in the same way.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timezone

from lamina.events import envelope, model
from lamina.events.bus import EventBus
from lamina.events.service import EventBusService
from lamina.settings import Settings
from lamina.outbox import OutboxFollower
from lamina.store.base import DESTINATION, NOTIFICATION, OutboxMessage
from lamina.store.aggregates import Store

log = logging.getLogger(__name__)


class DestinationRelay(OutboxFollower):
    def __init__(self, store: Store, control: EventBusService, bus: EventBus, settings: Settings) -> None:
        super().__init__(store, settings.events_outbox_poll_seconds, "lamina-events-relay")
        self._control = control
        self._bus = bus
        self._settings = settings

    async def take(self, message: OutboxMessage) -> None:
        """Put a destination record or a complete event for one of this server's buses on it."""
        if message.kind not in (DESTINATION, NOTIFICATION) or not message.target.startswith("arn:aws:events:"):
            return
        name = model.local_bus_name(self._settings, message.target)
        if name is None or self._control.find_bus(name) is None:
            what = "destination record" if message.kind == DESTINATION else "event"
            log.warning("%s %s: event bus %s does not exist; left in the outbox",
                        what, message.request_id, message.target)  # fmt: skip
            return
        try:
            record = json.loads(message.body)
        except (ValueError, RecursionError):
            return
        if message.kind == NOTIFICATION:
            whole = envelope.from_wire(record)
            if whole is not None:
                await self._bus.put(name, whole, consumed_outbox=[message.id])
            return
        if not isinstance(record, dict):
            return
        made = envelope.destination_record(
            record, self._control.bus_arn(name), event_id=str(uuid.uuid4()), now=datetime.now(timezone.utc),
            account=self._settings.account_id, region=self._settings.region,
        )  # fmt: skip
        await self._bus.put(name, made, consumed_outbox=[message.id])
