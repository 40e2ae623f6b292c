"""Live Tail: functions' log lines handed to the sessions following them as the lines are written.

``LiveTails`` is a cell's publish/subscribe point. The recorder (metering/recorder.py) publishes
each batch of lines once the store has written it; each line's log group is its function's as it is
published (``serve``: the cell's function registry, in memory, asked once a function a batch), and
each open session (a ``Tap``, one per StartLiveTail: api/live_tail.py) keeps the lines of the groups
it follows, in memory, until its next update takes them. So a function created in (or moved to) a
followed group is followed from its first line. Nothing reads the store: a session sees the lines
written while it is open, as CloudWatch Logs' Live Tail does, and publishing is a dict lookup a line
and a session, on the event loop, never a query; nothing at all while no session is open.

Bounds, as CloudWatch Logs': at most ``max_sessions`` taps open at once (``TooManySessions``: the
API's LimitExceededException); a tap holds at most ``BUFFERED`` lines, the oldest dropped past it
(a client that reads slower than its functions print loses lines, not memory). ``close`` ends every
session (the cell is stopping): a tap's ``ended`` is set, which its session waits on between
updates. Publishing after ``close`` is a no-op; ``release`` is safe to call twice.

The rest is pure: which lines a session shows (``Selection``) and the sample of an update
(``sample``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from lamina.store.base import LogRecord

BUFFERED = 5000  # lines a session holds between updates (CloudWatch Logs buffers 5000 events)
UPDATE_EVENTS = 500  # events an update shows at most; more are sampled down to this many


class TooManySessions(Exception):
    pass


@dataclass(frozen=True)
class Line:
    """A line as published: the record, its log group, and when it was ingested (stored), epoch ms."""

    record: LogRecord
    group: str
    ingested_ms: int


class Tap:
    """One session's subscription: the lines of ``groups`` (a group's name -> its identifier, as the
    session's client named it)."""

    def __init__(self, groups: Mapping[str, str]) -> None:
        self.groups = dict(groups)
        self.lines: deque[Line] = deque(maxlen=BUFFERED)
        self.ended = asyncio.Event()

    def take(self) -> list[Line]:
        """The lines published since the last take, oldest first."""
        taken = list(self.lines)
        self.lines.clear()
        return taken


class LiveTails:
    def __init__(self, max_sessions: int) -> None:
        self.max_sessions = max_sessions
        self._taps: set[Tap] = set()
        self._closed = False
        self._group_of: Callable[[str], str] | None = None

    def serve(self, group_of: Callable[[str], str]) -> None:
        """Publish from now on, each line in ``group_of(its function)`` (made after the recorder,
        which publishes, since it needs the function registry)."""
        self._group_of = group_of

    @property
    def sessions(self) -> int:
        return len(self._taps)

    def open(self, groups: Mapping[str, str]) -> Tap:
        """A new session's tap, of ``groups`` (name -> identifier); ``TooManySessions`` if
        ``max_sessions`` are open (or the cell is stopping)."""
        if self._closed or len(self._taps) >= self.max_sessions:
            raise TooManySessions(self.max_sessions)
        tap = Tap(groups)
        self._taps.add(tap)
        return tap

    def release(self, tap: Tap) -> None:
        self._taps.discard(tap)
        tap.ended.set()

    def publish(self, records: Sequence[LogRecord], now_ms: int | None = None) -> None:
        """Lines the store has just written, to every tap that follows their group."""
        group_of = self._group_of
        if not self._taps or group_of is None:
            return
        ingested = int(time.time() * 1000) if now_ms is None else now_ms
        followed = set().union(*(tap.groups for tap in self._taps))
        groups: dict[str, str] = {}  # function -> its group, asked once a batch
        lines = []
        for r in records:
            group = groups.get(r.function)
            if group is None:
                group = groups[r.function] = group_of(r.function)
            if group in followed:
                lines.append(Line(r, group, ingested))
        for tap in self._taps:
            tap.lines.extend(line for line in lines if line.group in tap.groups)

    async def close(self) -> None:
        """End every session; publishing stops."""
        self._closed = True
        for tap in list(self._taps):
            self.release(tap)


@dataclass(frozen=True)
class Selection:
    """Which of its groups' lines a session shows: of these streams, or streams with one of these
    prefixes (None: every stream), that the filter pattern matches."""

    matches: Callable[[str], bool]
    streams: frozenset[str] | None = None
    prefixes: tuple[str, ...] | None = None

    def shows(self, record: LogRecord) -> bool:
        if self.streams is not None and record.stream not in self.streams:
            return False
        if self.prefixes is not None and not record.stream.startswith(self.prefixes):
            return False
        return self.matches(record.message)


def sample(lines: Sequence[Line], limit: int = UPDATE_EVENTS,
           rng: random.Random | None = None) -> tuple[list[Line], bool]:  # fmt: skip
    """An update's lines: all of them if there are at most ``limit``, else ``limit`` of them drawn at
    random, in their order; and whether they were sampled."""
    if len(lines) <= limit:
        return list(lines), False
    kept = sorted((rng or random).sample(range(len(lines)), limit))
    return [lines[i] for i in kept], True
