"""Events onto buses: PutEvents, a scheduled rule firing, a Lambda destination record. Each accepted
event is matched against its bus's enabled rules (``EventBusService.matching``) and, if it owes any
delivery, stored (committed) before the caller is answered; the ``Deliverer`` takes it from there.
An event no rule matches is accepted and, like on EventBridge, goes nowhere.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import datetime, timezone
from typing import Callable, Mapping, Sequence

from lamina.control.validation import constraint
from lamina.errors import ApiError, ValidationError
from lamina.events import envelope
from lamina.events.delivery import Deliverer
from lamina.events.envelope import Envelope, Rejected
from lamina.events.model import DEFAULT_BUS
from lamina.events.service import EventBusService
from lamina.settings import Settings
from lamina.store.base import BusEvent
from lamina.store.aggregates import BusStore

@dataclasses.dataclass(frozen=True)
class Accepted:
    event_id: str


class EventBus:
    def __init__(
        self, store: BusStore, control: EventBusService, deliverer: Deliverer, settings: Settings,
        clock: Callable[[], float] = time.time, new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:  # fmt: skip
        self._store = store
        self._control = control
        self._deliverer = deliverer
        self._settings = settings
        self._clock = clock
        self._new_id = new_id

    async def put_events(self, entries: Sequence[Mapping[str, object]]) -> list[Accepted | Rejected]:
        """PutEvents: each entry accepted (its event id) or refused (AWS's code and message), in order.
        The request as a whole is refused (``ValidationException``) beyond 10 entries or 256 KB."""
        if not 1 <= len(entries) <= envelope.MAX_ENTRIES:
            raise constraint("[...]", "entries", "Member must have length less than or equal to 10")
        if envelope.request_size(list(entries)) > envelope.MAX_REQUEST_BYTES:
            raise ValidationError("Total size of the entries in the request is over the limit.")
        now = datetime.fromtimestamp(self._clock(), timezone.utc)
        results: list[Accepted | Rejected] = []
        stored: list[BusEvent] = []
        for entry in entries:
            made = envelope.from_entry(entry, event_id=self._new_id(), now=now, account=self._settings.account_id,
                                       region=self._settings.region)  # fmt: skip
            if isinstance(made, Rejected):
                results.append(made)
                continue
            ref = entry.get("EventBusName")
            try:
                bus = self._control.bus(ref if isinstance(ref, str) and ref else DEFAULT_BUS)
            except ApiError as exc:
                results.append(Rejected(exc.code, exc.message))
                continue
            results.append(Accepted(made.id))
            event = self._matched(bus.name, made, now)
            if event is not None:
                stored.append(event)
        await self._store_all(stored)
        return results

    async def put(self, bus: str, made: Envelope, consumed_outbox: Sequence[int] = ()) -> None:
        """Put an event EventBridge makes itself on ``bus`` (and remove the outbox messages it was
        made from, in the same transaction)."""
        event = self._matched(bus, made, datetime.fromtimestamp(self._clock(), timezone.utc))
        await self._store_all([event] if event else [], consumed_outbox)

    async def fire_scheduled(self, rule_key: str, at: datetime) -> str | None:
        """The seam a timer calls when a rule's ScheduleExpression fires at ``at``: its targets receive
        EventBridge's "Scheduled Event" (source ``aws.events``, the rule's ARN as the only resource).
        Returns the event's id; None when the rule is gone, disabled or has no schedule."""
        rule = self._control.find_rule(rule_key)
        if rule is None or rule.schedule_expression is None or rule.state == "DISABLED":
            return None
        made = envelope.scheduled(self._control.rule_arn(rule), event_id=self._new_id(), at=at,
                                  account=self._settings.account_id, region=self._settings.region)  # fmt: skip
        owed = self._control.scheduled_deliveries(rule)
        if owed:
            await self._store_all([BusEvent(rule.bus, made.encode(), owed, int(self._clock() * 1000))])
        return made.id

    def _matched(self, bus: str, made: Envelope, now: datetime) -> BusEvent | None:
        owed = self._control.matching(bus, made.wire())
        return BusEvent(bus, made.encode(), owed, int(now.timestamp() * 1000)) if owed else None

    async def _store_all(self, events: list[BusEvent], consumed_outbox: Sequence[int] = ()) -> None:
        if not events and not consumed_outbox:
            return
        seqs = await self._store.add_bus_events(events, consumed_outbox)
        for event, seq in zip(events, seqs):
            self._deliverer.add(dataclasses.replace(event, seq=seq))
