"""``lamina queue``: the asynchronous-invocation queue's depth and oldest event, per function."""

from __future__ import annotations

from typing import Sequence

from lamina.cli.client import LambdaClient
from lamina.cli.output import Console, format_table
from lamina.cli.shapes import QueueRow

HEADERS = ("FUNCTION", "QUEUED", "IN FLIGHT", "OLDEST")


def format_age(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def queue_rows(rows: Sequence[QueueRow]) -> list[list[str]]:
    return [
        [row["function"], str(row["depth"]), str(row["inFlight"]), format_age(row["oldestAgeSeconds"]) if row["depth"] else "-"]
        for row in rows
    ]


def show_queue(client: LambdaClient, console: Console) -> None:
    rows = client.get_queue()
    console.emit({"functions": rows})
    if not rows:
        console.say("The asynchronous-invocation queue is empty.")
        return
    console.say(format_table(HEADERS, queue_rows(rows)))
