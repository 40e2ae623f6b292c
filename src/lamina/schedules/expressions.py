"""Schedule expressions as EventBridge and EventBridge Scheduler write them: parsed, then asked
when they fire next. Pure: no clock is read here; the caller passes the time.

``parse(expression, timezone, start=...)`` validates ``rate(...)``, ``cron(...)`` or ``at(...)`` and
raises ``InvalidScheduleExpression`` (a ``ValidationError``) with AWS's message;
``Schedule.next_after(t)`` is the first firing strictly after ``t`` (an aware datetime), or None when
it fires no more.

- ``rate(value unit)``: every ``value`` minutes, hours or days of elapsed time (a day is 24 hours,
  whatever daylight saving does), counted from ``start``: firings at ``start + k * period``, k >= 0.
  Without ``start``, the rate counts from the time it is asked about.
- ``cron(Minutes Hours Day-of-month Month Day-of-week Year)``: AWS's six fields, read as local wall
  time in ``timezone``. A local time that daylight saving skips (spring forward) does not fire; a
  local time that happens twice (fall back) fires once, at its first occurrence. That is what
  EventBridge Scheduler documents.
- ``at(yyyy-mm-ddThh:mm:ss)``: once, at that local time in ``timezone``.

``next_after`` steps field by field (year, month, day, hour, minute), never minute by minute.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone as dt_timezone
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lamina.errors import ValidationError


class InvalidScheduleExpression(ValidationError):
    message_key = "Message"


class Recurrence(Protocol):
    """Anything that can say when it fires next (a ``Schedule``, or a one-off of the caller's)."""

    def next_after(self, t: datetime) -> datetime | None: ...


_RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
MONTHS = {name: i for i, name in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}
WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
MIN_YEAR, MAX_YEAR = 1970, 2199
_ONE_MINUTE = timedelta(minutes=1)
_UTC = dt_timezone.utc


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``InvalidScheduleExpression`` if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidScheduleExpression(f"Invalid timezone {name}.") from None


@dataclass(frozen=True)
class Schedule:
    """A parsed expression. ``kind`` is "rate", "cron" or "at"."""

    expression: str
    kind: str
    tz: ZoneInfo
    period: timedelta | None = None  # rate
    start: datetime | None = None  # rate: firings count from here
    cron: Cron | None = None
    at: datetime | None = None  # aware

    @property
    def one_time(self) -> bool:
        return self.kind == "at"

    def next_after(self, t: datetime) -> datetime | None:
        if self.kind == "rate":
            assert self.period is not None
            origin = self.start or t
            if t < origin:
                return origin
            elapsed = (t - origin) // self.period
            return origin + (elapsed + 1) * self.period
        if self.kind == "at":
            assert self.at is not None
            return self.at if self.at > t else None
        assert self.cron is not None
        return self.cron.next_after(t, self.tz)


def parse(expression: str, timezone: str = "UTC", *, start: datetime | None = None) -> Schedule:
    tz = zone(timezone)
    text = expression.strip()
    invalid = InvalidScheduleExpression(f"Invalid Schedule Expression {expression}.")
    if match := _RATE.match(text):
        value, unit = int(match["value"]), match["unit"]
        if value < 1 or (value == 1) != (not unit.endswith("s")):
            raise invalid
        return Schedule(expression, "rate", tz, period=timedelta(seconds=value * _UNIT_SECONDS[unit.rstrip("s")]),
                        start=start)  # fmt: skip
    if match := _AT.match(text):
        try:
            local = datetime.fromisoformat(match[1])
        except ValueError:
            raise invalid from None
        return Schedule(expression, "at", tz, at=_aware(local, tz))
    if match := _CRON.match(text):
        try:
            cron = Cron.parse(match[1])
        except ValueError:
            raise invalid from None
        return Schedule(expression, "cron", tz, cron=cron)
    raise invalid


def _aware(local: datetime, tz: ZoneInfo) -> datetime:
    return local.replace(tzinfo=tz).astimezone(_UTC)


def _exists(local: datetime, tz: ZoneInfo) -> bool:
    """Whether the wall time ``local`` happens in ``tz`` (it does not in a spring-forward gap)."""
    aware = local.replace(tzinfo=tz)
    return aware.astimezone(_UTC).astimezone(tz).replace(tzinfo=None) == local


@dataclass(frozen=True)
class DayRule:
    """Day-of-month or day-of-week: a set of values plus AWS's special forms."""

    values: frozenset[int] = frozenset()
    last: bool = False  # day-of-month L: the month's last day
    nearest_weekday: frozenset[int] = frozenset()  # day-of-month nW; 0 stands for LW
    last_weekday: frozenset[int] = frozenset()  # day-of-week nL: the month's last such weekday
    nth: frozenset[tuple[int, int]] = frozenset()  # day-of-week d#n: the month's nth such weekday


def _aws_weekday(d: date) -> int:
    return (d.weekday() + 1) % 7 + 1  # Python's Monday=0 to AWS's Sunday=1


def _nearest_weekday(year: int, month: int, day: int) -> int:
    last = calendar.monthrange(year, month)[1]
    day = min(day, last)
    weekday = date(year, month, day).weekday()
    if weekday == 5:  # Saturday: the Friday before, unless that leaves the month
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: the Monday after, unless that leaves the month
        return day + 1 if day < last else day - 2
    return day


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    day_of_month: DayRule | None  # None: ``?``
    months: frozenset[int]
    day_of_week: DayRule | None  # None: ``?``
    years: frozenset[int]

    @classmethod
    def parse(cls, body: str) -> Cron:
        """``ValueError`` for anything AWS would not accept."""
        fields = body.split()
        if len(fields) != 6:
            raise ValueError("six fields")
        minute, hour, dom, month, dow, year = (f.upper() for f in fields)
        if (dom == "?") == (dow == "?"):
            raise ValueError("exactly one of day-of-month and day-of-week is ?")
        return cls(
            minutes=_values(minute, 0, 59), hours=_values(hour, 0, 23),
            day_of_month=None if dom == "?" else _day_of_month(dom),
            months=_values(month, 1, 12, MONTHS),
            day_of_week=None if dow == "?" else _day_of_week(dow),
            years=_values(year, MIN_YEAR, MAX_YEAR),
        )  # fmt: skip

    def matches_day(self, d: date) -> bool:
        rule = self.day_of_month
        if rule is not None:
            last = calendar.monthrange(d.year, d.month)[1]
            if d.day in rule.values or (rule.last and d.day == last):
                return True
            for day in rule.nearest_weekday:
                if _nearest_weekday(d.year, d.month, day or last) == d.day:
                    return True
            return False
        rule = self.day_of_week
        assert rule is not None
        weekday = _aws_weekday(d)
        if weekday in rule.values:
            return True
        if weekday in rule.last_weekday and d.day + 7 > calendar.monthrange(d.year, d.month)[1]:
            return True
        return (weekday, (d.day - 1) // 7 + 1) in rule.nth

    def next_local(self, after: datetime) -> datetime | None:
        """The first matching wall time strictly after the naive local time ``after``."""
        c = after.replace(second=0, microsecond=0) + _ONE_MINUTE
        while c.year <= MAX_YEAR:
            if c.year not in self.years:
                later = [y for y in self.years if y > c.year]
                if not later:
                    return None
                c = datetime(min(later), 1, 1)
                continue
            if c.month not in self.months:
                later = [m for m in self.months if m > c.month]
                c = datetime(c.year, min(later), 1) if later else datetime(c.year + 1, 1, 1)
                continue
            if not self.matches_day(c.date()):
                c = datetime.combine(c.date() + timedelta(days=1), time())
                continue
            if c.hour not in self.hours:
                later = [h for h in self.hours if h > c.hour]
                c = c.replace(hour=min(later), minute=0) if later else datetime.combine(c.date() + timedelta(days=1), time())
                continue
            if c.minute not in self.minutes:
                later = [m for m in self.minutes if m > c.minute]
                c = c.replace(minute=min(later)) if later else c.replace(minute=0) + timedelta(hours=1)
                continue
            return c
        return None

    def next_after(self, t: datetime, tz: ZoneInfo) -> datetime | None:
        local = t.astimezone(tz).replace(tzinfo=None)
        # In a repeated (fall-back) hour, the local reading of ``t`` may be the second pass: the
        # candidates' first occurrences are then behind ``t``, and are skipped one by one (at most
        # an hour of them).
        candidate = self.next_local(local)
        while candidate is not None:
            if _exists(candidate, tz):
                aware = _aware(candidate, tz)  # fold 0: the first occurrence of a repeated time
                if aware > t:
                    return aware
            candidate = self.next_local(candidate)
        return None


def _number(token: str, low: int, high: int, names: dict[str, int] | None = None) -> int:
    if names is not None and token in names:
        return names[token]
    if not token.isdigit():
        raise ValueError(token)
    value = int(token)
    if not low <= value <= high:
        raise ValueError(token)
    return value


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """``*``, ``n``, ``a-b``, ``a/step``, ``*/step``, ``a-b/step`` and lists of them."""
    out: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            step = int(step_text) if step_text.isdigit() else 0
            if step < 1:
                raise ValueError(part)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _number(a, low, high, names), _number(b, low, high, names)
            if first > last:
                raise ValueError(part)
        else:
            first = _number(base, low, high, names)
            last = high if step_text else first
        out.update(range(first, last + 1, step))
    if not out:
        raise ValueError(field)
    return frozenset(out)


def _day_of_month(field: str) -> DayRule:
    if field == "*":
        return DayRule(values=frozenset(range(1, 32)))
    values: set[int] = set()
    last = False
    nearest: set[int] = set()
    for part in field.split(","):
        if part == "L":
            last = True
        elif part == "LW":
            nearest.add(0)
        elif part.endswith("W"):
            nearest.add(_number(part[:-1], 1, 31))
        else:
            values |= _values(part, 1, 31)
    return DayRule(values=frozenset(values), last=last, nearest_weekday=frozenset(nearest))


def _day_of_week(field: str) -> DayRule:
    if field == "*":
        return DayRule(values=frozenset(range(1, 8)))
    values: set[int] = set()
    last_weekday: set[int] = set()
    nth: set[tuple[int, int]] = set()
    for part in field.split(","):
        if part == "L":
            values.add(7)  # alone in day-of-week, L is the week's last day: Saturday
        elif part.endswith("L"):
            last_weekday.add(_number(part[:-1], 1, 7, WEEKDAYS))
        elif "#" in part:
            day, _, n = part.partition("#")
            nth.add((_number(day, 1, 7, WEEKDAYS), _number(n, 1, 5)))
        else:
            values |= _values(part, 1, 7, WEEKDAYS)
    return DayRule(values=frozenset(values), last_weekday=frozenset(last_weekday), nth=frozenset(nth))
