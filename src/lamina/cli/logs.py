"""``lamina logs``: print a function's log events, and with ``--follow`` keep printing new ones.

Reads Lamina's own log API, ``GET /lamina/v1/functions/{name}/logs?since=&limit=&wait=&startTime=
&filter=``, which answers ``{"events": [...], "nextCursor": n}`` and, with ``wait``, holds the
request open until an event arrives or ``wait`` seconds pass. ``--since`` is a duration back from
now, a time, or a cursor (``Since``); ``--filter`` a CloudWatch Logs filter pattern, applied by
the server.
"""

from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass
from datetime import datetime

from lamina.cli.client import LambdaClient
from lamina.cli.output import Console, format_clock
from lamina.cli.shapes import LogEvent

PAGE_SIZE = 1000
FOLLOW_WAIT_SECONDS = 20.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Since:
    """Where ``--since`` starts: after a cursor, and at a time (epoch ms; 0: the beginning)."""

    cursor: int = 0
    start_ms: int = 0


def since_value(text: str, now: float | None = None) -> Since:
    """``--since``'s value: ``15m``-style durations back from ``now``, an ISO 8601 time, or a cursor."""
    value = text.strip()
    if value.isdigit():
        return Since(cursor=int(value))
    duration = re.fullmatch(r"(\d{1,9})([smhdw])", value)
    if duration is not None:
        seconds = int(duration.group(1)) * _UNITS[duration.group(2)]
        return Since(start_ms=max(0, int(((time.time() if now is None else now) - seconds) * 1000)))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration (30s, 15m, 1h, 2d, 1w), a time (2026-01-31T12:00:00) or a cursor"
        ) from None
    return Since(start_ms=max(0, int(moment.timestamp() * 1000)))  # naive: local time, as the output shows


def format_event(event: LogEvent) -> str:
    """``HH:MM:SS.mmm message``, local time, without the message's own trailing newline.

    Lambda runtimes write a multi-line record (a traceback) as one event with ``\\r`` between
    its lines; a terminal would draw those over each other, so they become indented lines.
    """
    stamp = format_clock(event["timestamp"])
    lines = event["message"].removesuffix("\n").splitlines() or [""]
    return f"\n{' ' * len(stamp)} ".join([f"{stamp} {lines[0]}", *lines[1:]])


def show_logs(client: LambdaClient, console: Console, name: str, *, since: Since = Since(), pattern: str = "",
              follow: bool = False) -> None:  # fmt: skip
    """Print every event after ``since`` that ``pattern`` matches; with ``follow``, never return (the
    caller stops on Ctrl-C)."""
    cursor = since.cursor
    wait = 0.0
    while True:
        page = client.get_logs(name, since=cursor, limit=PAGE_SIZE, wait=wait, start_ms=since.start_ms, pattern=pattern)
        for event in page["events"]:
            console.say(format_event(event))
            console.emit(event, compact=True)
        cursor = page["nextCursor"]
        caught_up = len(page["events"]) < PAGE_SIZE
        if caught_up and not follow:
            return
        # Drain what is already there at once; only wait once caught up.
        wait = FOLLOW_WAIT_SECONDS if caught_up else 0.0
