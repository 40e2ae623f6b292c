"""EventBridge in Lamina, assembled: the control plane, the bus that accepts events, the task that
delivers them, the one that relays Lambda's destination records, and the scheduled rules armed in
the server's timers. ``start`` loads and starts, ``close`` stops in reverse order (what is
undelivered stays stored)."""

from __future__ import annotations

from lamina.events.bus import EventBus
from lamina.events.delivery import Deliverer, Invoker
from lamina.events.relay import DestinationRelay
from lamina.events.scheduled import ScheduledRules
from lamina.events.service import EventBusService
from lamina.queues.service import Queues
from lamina.schedules.firing import Timers
from lamina.settings import Settings
from lamina.store.aggregates import Store


class EventBridge:
    def __init__(self, store: Store, invoker: Invoker, settings: Settings, timers: Timers,
                 queues: Queues | None = None) -> None:  # fmt: skip
        self.control = EventBusService(store, settings, rules_changed=lambda: self.scheduled.sync())
        self.scheduled = ScheduledRules(self.control, timers)
        self.deliverer = Deliverer(store, self.control, invoker, settings, queues=queues)
        self.bus = EventBus(store, self.control, self.deliverer, settings)
        self.scheduled.attach(self.bus)
        self.relay = DestinationRelay(store, self.control, self.bus, settings)

    async def start(self) -> None:
        await self.control.load()
        await self.deliverer.start()
        await self.relay.start()

    async def close(self) -> None:
        await self.relay.close()
        await self.deliverer.close()
