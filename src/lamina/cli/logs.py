"""``lamina logs``: print a function's log events, and with ``--follow`` keep printing new ones.

Reads Lamina's own log API, ``GET /lamina/v1/functions/{name}/logs?since=&limit=&wait=``, which
answers ``{"events": [...], "nextCursor": n}`` and, with ``wait``, holds the request open until
an event arrives or ``wait`` seconds pass.
"""

from __future__ import annotations

from lamina.cli.client import LambdaClient
from lamina.cli.output import Console, format_clock
from lamina.cli.shapes import LogEvent

PAGE_SIZE = 1000
FOLLOW_WAIT_SECONDS = 20.0


def format_event(event: LogEvent) -> str:
    """``HH:MM:SS.mmm message``, local time, without the message's own trailing newline.

    Lambda runtimes write a multi-line record (a traceback) as one event with ``\\r`` between
    its lines; a terminal would draw those over each other, so they become indented lines.
    """
    stamp = format_clock(event["timestamp"])
    lines = event["message"].removesuffix("\n").splitlines() or [""]
    return f"\n{' ' * len(stamp)} ".join([f"{stamp} {lines[0]}", *lines[1:]])


def show_logs(client: LambdaClient, console: Console, name: str, *, since: int = 0, follow: bool = False) -> None:
    """Print every event after ``since``; with ``follow``, never return (the caller stops on Ctrl-C)."""
    cursor = since
    wait = 0.0
    while True:
        page = client.get_logs(name, since=cursor, limit=PAGE_SIZE, wait=wait)
        for event in page["events"]:
            console.say(format_event(event))
            console.emit(event, compact=True)
        cursor = page["nextCursor"]
        caught_up = len(page["events"]) < PAGE_SIZE
        if caught_up and not follow:
            return
        # Drain what is already there at once; only wait once caught up.
        wait = FOLLOW_WAIT_SECONDS if caught_up else 0.0
