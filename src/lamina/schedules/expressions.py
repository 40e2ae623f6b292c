"""Schedule expressions as EventBridge and EventBridge Scheduler write them: parsed, then asked
when they fire next. Pure: no clock is read here; the caller passes the time.

``parse(expression, timezone)`` validates ``rate(...)``, ``cron(...)`` or ``at(...)`` and raises
``InvalidScheduleExpression`` (a ``ValidationError``) with AWS's message; ``Schedule.next_after(t)``
is the first firing strictly after ``t`` (an aware datetime), or None when it fires no more.

This first version knows ``rate(...)`` only; ``cron(...)``, ``at(...)`` and time zones follow
behind the same interface.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from lamina.errors import ValidationError


class InvalidScheduleExpression(ValidationError):
    pass


_RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Schedule:
    expression: str
    period: timedelta
    start: datetime | None = None  # rates count from here (the schedule's creation or StartDate)

    def next_after(self, t: datetime) -> datetime | None:
        origin = self.start or t
        if t < origin:
            return origin + self.period
        elapsed = (t - origin) // self.period
        return origin + (elapsed + 1) * self.period


def parse(expression: str, timezone: str = "UTC", *, start: datetime | None = None) -> Schedule:
    match = _RATE.match(expression.strip())
    if match is None:
        raise InvalidScheduleExpression(f"Invalid Schedule Expression {expression}.")
    value, unit = int(match["value"]), match["unit"]
    if value < 1 or (value == 1) != (not unit.endswith("s")):
        raise InvalidScheduleExpression(f"Invalid Schedule Expression {expression}.")
    return Schedule(expression, timedelta(seconds=value * _UNIT_SECONDS[unit.rstrip("s")]), start)
