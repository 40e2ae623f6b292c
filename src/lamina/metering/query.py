"""A usage request read and checked (pure): the grouping and the time range, from text.

``--by``/``by``: ``function``, ``day`` (UTC), ``alias`` or ``tag:KEY`` (the value of the tag KEY;
functions without it together). ``--from``/``--to``: a date (``2026-12-01``, UTC) or a time
(``2026-12-01T08:00:00Z``, any offset). A date as ``to`` includes that whole day; a time is the
range's exclusive end. Without ``from``: the start of the current month; without ``to``: now.
A range is at most ``MAX_RANGE_DAYS`` long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from lamina.metering.usage import DAY_MS, Grouping, month_start

MAX_RANGE_DAYS = 366
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")
_TAG_KEY = re.compile(r"^[\w.:/=+\-@ ]{1,128}$")  # Lambda's tag keys: 1 to 128 of these


class UsageQueryError(ValueError):
    """A usage request Lamina cannot answer; the message says how to ask."""


@dataclass(frozen=True, slots=True)
class UsageQuery:
    grouping: Grouping
    from_ms: int
    to_ms: int


def parse_grouping(text: str) -> Grouping:
    if text in ("function", "day", "alias"):
        return Grouping(text)
    kind, colon, key = text.partition(":")
    if kind == "tag":
        if not colon or not key:
            raise UsageQueryError("say which tag to group by: --by tag:KEY (e.g. tag:team)")
        if not _TAG_KEY.match(key):
            raise UsageQueryError("a tag key is 1 to 128 letters, digits, spaces or _.:/=+-@")
        return Grouping("tag", key)
    raise UsageQueryError(f"cannot group by {text[:40]!r}: use function, day, alias or tag:KEY")


def parse_time(text: str, name: str, *, end: bool) -> int:
    """A date or a time as milliseconds since the epoch (a date as ``end``: the next midnight)."""
    text = text.strip()
    try:
        if _DATE.match(text):
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
            moment = day + timedelta(days=1) if end else day
        elif _TIME.match(text):
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            raise ValueError(text)
    except OverflowError:
        raise UsageQueryError(f"{name} is out of range: {text[:40]!r}") from None
    except ValueError:
        raise UsageQueryError(
            f"{name} must be a date (2026-12-01) or a time (2026-12-01T08:00:00Z), not {text[:40]!r}"
        ) from None
    ms = int(moment.timestamp() * 1000)
    if ms < 0:
        raise UsageQueryError(f"{name} is before 1970: the ledger has nothing there")
    return ms


def parse_query(by: str | None, from_text: str | None, to_text: str | None, now_ms: int) -> UsageQuery:
    grouping = parse_grouping(by or "function")
    to_ms = parse_time(to_text, "to", end=True) if to_text else now_ms
    from_ms = parse_time(from_text, "from", end=False) if from_text else min(month_start(now_ms), to_ms)
    if from_ms >= to_ms:
        raise UsageQueryError("from must be before to")
    if to_ms - from_ms > MAX_RANGE_DAYS * DAY_MS:
        raise UsageQueryError(f"a range is at most {MAX_RANGE_DAYS} days: ask for a shorter one")
    return UsageQuery(grouping, from_ms, to_ms)
