"""Live Tail: functions' log lines handed to the sessions following them as the lines are written.

``LiveTails`` is a cell's publish/subscribe point. The recorder (metering/recorder.py) publishes
each batch of lines once the store has written it; each open session (a ``Tap``, one per
StartLiveTail: api/live_tail.py) keeps the lines of the functions it follows, in memory, until its
next update takes them. Nothing reads the store: a session sees the lines written while it is open,
as CloudWatch Logs' Live Tail does, and publishing is a set lookup a line and a session, on the event
loop, never a query.

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
from typing import Callable, Sequence

from lamina.store.base import LogRecord

BUFFERED = 5000  # lines a session holds between updates (CloudWatch Logs buffers 5000 events)
UPDATE_EVENTS = 500  # events an update shows at most; more are sampled down to this many


class TooManySessions(Exception):
    pass


@dataclass(frozen=True)
class Line:
    """A line as published: the record and when it was ingested (stored), epoch ms."""

    record: LogRecord
    ingested_ms: int


class Tap:
    """One session's subscription. ``functions`` (function name -> the identifier of its log group,
    as the session's client named it) says which lines it keeps; the session updates it as
    functions come and go."""

    def __init__(self) -> None:
        self.functions: dict[str, str] = {}
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

    @property
    def sessions(self) -> int:
        return len(self._taps)

    def open(self) -> Tap:
        """A new session's tap; ``TooManySessions`` if ``max_sessions`` are open (or the cell is stopping)."""
        if self._closed or len(self._taps) >= self.max_sessions:
            raise TooManySessions(self.max_sessions)
        tap = Tap()
        self._taps.add(tap)
        return tap

    def release(self, tap: Tap) -> None:
        self._taps.discard(tap)
        tap.ended.set()

    def publish(self, records: Sequence[LogRecord], now_ms: int | None = None) -> None:
        """Lines the store has just written, to every tap that follows their function."""
        if not self._taps:
            return
        ingested = int(time.time() * 1000) if now_ms is None else now_ms
        for tap in self._taps:
            wanted = tap.functions
            tap.lines.extend(Line(r, ingested) for r in records if r.function in wanted)

    async def close(self) -> None:
        """End every session; publishing stops."""
        self._closed = True
        for tap in list(self._taps):
            self.release(tap)


@dataclass(frozen=True)
class Selection:
    """Which of its functions' lines a session shows: of these streams, or streams with one of these
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
