"""Rules with a ScheduleExpression, kept armed in the server's timers (``schedules/firing.py``).

``sync`` compares the enabled scheduled rules the control plane has with the timers armed for
them, and arms, re-arms or cancels; the control plane calls it after every change to its rules.
A firing puts EventBridge's "Scheduled Event" on the rule's targets (``EventBus.fire_scheduled``),
through the bus's durable store. ``rate(...)`` counts from when the rule was armed (its creation,
or Lamina's start); firings missed while Lamina was down are not made up, as a rule's are not
after an outage of EventBridge (schedules of EventBridge Scheduler have their own policy).
"""

from __future__ import annotations

from datetime import datetime
from typing import Awaitable, Callable, Protocol

from lamina.schedules.expressions import parse
from lamina.schedules.firing import Timers

TIMER_PREFIX = "events/rule/"


class Rules(Protocol):
    def scheduled_rules(self) -> list[tuple[str, str]]: ...


class Firing(Protocol):
    async def fire_scheduled(self, rule_key: str, at: datetime) -> str | None: ...


class ScheduledRules:
    def __init__(self, rules: Rules, timers: Timers) -> None:
        self._rules = rules
        self._timers = timers
        self._bus: Firing | None = None
        self._armed: dict[str, str] = {}  # rule key -> the expression its timer was armed with

    def attach(self, bus: Firing) -> None:
        self._bus = bus

    def sync(self) -> None:
        wanted = dict(self._rules.scheduled_rules())
        for key, expression in list(self._armed.items()):
            if wanted.get(key) != expression:
                self._timers.cancel(TIMER_PREFIX + key)
                del self._armed[key]
        for key, expression in wanted.items():
            if key not in self._armed:
                self._timers.set(TIMER_PREFIX + key, parse(expression), self._firing(key))
                self._armed[key] = expression

    def _firing(self, key: str) -> Callable[[datetime], Awaitable[None]]:
        async def fire(at: datetime) -> None:
            if self._bus is not None:
                await self._bus.fire_scheduled(key, at)

        return fire
