"""``lamina mappings``: event source mappings with their source, function, state, last result and lag."""

from __future__ import annotations

from typing import Sequence

from lamina.cli.client import LambdaClient
from lamina.cli.output import Console, format_table
from lamina.cli.shapes import MappingRow

HEADERS = ("MAPPING", "SOURCE", "FUNCTION", "STATE", "LAST RESULT", "BACKLOG", "OLDEST", "POLLERS")
MISSING = "-"


def _short(arn: str) -> str:
    """An ARN's resource part (a queue's name, a function's name and qualifier, a broker's name)."""
    parts = arn.split(":")
    if len(parts) == 8 and parts[2] == "mq":
        return parts[6]
    return ":".join(parts[6:]) if len(parts) > 6 and parts[2] == "lambda" else parts[-1]


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def mapping_rows(rows: Sequence[MappingRow]) -> list[list[str]]:
    return [
        [row["uuid"], _short(row["source"]), _short(row["function"]), row["state"], row["lastProcessingResult"],
         MISSING if row["backlog"] is None else str(row["backlog"]), format_age(row["oldestAgeSeconds"]),
         str(row["pollers"])]
        for row in sorted(rows, key=lambda r: (r["source"], r["function"], r["uuid"]))
    ]  # fmt: skip


def list_mappings(client: LambdaClient, console: Console) -> None:
    rows = client.get_mappings()
    console.emit({"EventSourceMappings": rows})
    if not rows:
        console.say("No event source mappings yet. Create one with:")
        console.say(f"  {client.aws_prefix()} lambda create-event-source-mapping --function-name FUNCTION "
                    "--event-source-arn QUEUE_ARN")  # fmt: skip
        return
    console.say(format_table(HEADERS, mapping_rows(rows)))
