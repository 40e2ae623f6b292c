"""``lamina queue``: the asynchronous-invocation queue's depth and oldest event, per function;
``lamina outbox``: dead letters and destination records waiting for targets Lamina does not serve yet."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Sequence

from lamina.cli.client import LambdaClient
from lamina.cli.output import Console, format_table
from lamina.cli.shapes import OutboxMessage, QueueRow

HEADERS = ("FUNCTION", "QUEUED", "IN FLIGHT", "OLDEST")
OUTBOX_PAGE = 500


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
    else:
        console.say(format_table(HEADERS, queue_rows(rows)))
    if not console.json_mode and client.get_outbox(target=None, after=0, limit=1)[0]:
        console.say("Dead letters or destination records are waiting in the outbox: `lamina outbox` lists them.")


def show_outbox(client: LambdaClient, console: Console, *, target: str | None) -> None:
    """Every outbox message (for ``target``, or all), oldest first: a line about it, then its body."""
    messages: list[OutboxMessage] = []
    after: int | None = 0
    while after is not None:
        page, after = client.get_outbox(target=target, after=after, limit=OUTBOX_PAGE)
        messages += page
    console.emit({"messages": messages})
    if not messages:
        console.say("The outbox is empty: no dead letter or destination record is waiting.")
        return
    for m in messages:
        created = datetime.fromtimestamp(m["createdMs"] / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        console.say(f"#{m['id']}  {m['kind']} for {m['target']}  from {m['function']} ({m['requestId']}), {created}")
        error = m["attributes"].get("ErrorMessage", {}).get("StringValue")
        if error is not None:
            code = m["attributes"].get("ErrorCode", {}).get("StringValue", "?")
            console.say(f"    error {code}: {_clip(error)}")
        console.say(f"    {_clip(m['body'])}")
    console.say(f"\n{len(messages)} message(s). `lamina outbox --json` prints them whole; "
                "`lamina outbox --delete ID` removes one.")  # fmt: skip


def delete_outbox(client: LambdaClient, console: Console, ids: Sequence[int]) -> None:
    for message_id in ids:
        client.delete_outbox_message(message_id)
        console.say(f"Removed outbox message #{message_id}.")
    console.emit({"deleted": list(ids)})


def _clip(text: str, width: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
