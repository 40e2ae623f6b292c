"""``lamina rules``: every event bus's rules with their pattern or schedule, state and targets;
``lamina events put``: one event on a bus, for a quick test."""

from __future__ import annotations

import json

from lamina.cli.client import LambdaClient
from lamina.cli.errors import UsageError
from lamina.cli.output import Console, format_table

HEADERS = ("BUS", "RULE", "STATE", "PATTERN / SCHEDULE", "TARGETS")


def show_rules(client: LambdaClient, console: Console) -> None:
    rows: list[dict[str, object]] = []
    table: list[list[str]] = []
    for bus in client.events_pages("ListEventBuses", {}, "EventBuses"):
        name = str(bus["Name"]) if isinstance(bus, dict) else ""
        for rule in client.events_pages("ListRules", {"EventBusName": name}, "Rules"):
            if not isinstance(rule, dict):
                continue
            targets = client.events_pages("ListTargetsByRule", {"Rule": rule["Name"], "EventBusName": name}, "Targets")
            arns = [str(t.get("Arn")) for t in targets if isinstance(t, dict)]
            when = rule.get("EventPattern") or rule.get("ScheduleExpression")
            rows.append({
                "bus": name, "rule": rule["Name"], "state": rule.get("State"),
                "eventPattern": rule.get("EventPattern"), "scheduleExpression": rule.get("ScheduleExpression"),
                "targets": arns,
            })  # fmt: skip
            table.append([name, str(rule["Name"]), str(rule.get("State")), _clip(str(when)),
                          ", ".join(_short(arn) for arn in arns) or "-"])  # fmt: skip
    console.emit({"rules": rows})
    if not rows:
        console.say(f"No rules. Make one with: {client.aws_prefix()} events put-rule --name NAME "
                    "--schedule-expression 'rate(5 minutes)'")  # fmt: skip
        return
    console.say(format_table(HEADERS, table))


def put_event(client: LambdaClient, console: Console, *, source: str, detail_type: str, detail: str,
              bus: str | None) -> bool:  # fmt: skip
    """PutEvents with one entry; whether it was accepted."""
    try:
        json.loads(detail)
    except ValueError as exc:
        raise UsageError(f"--detail must be JSON ({exc}).") from None
    entry = {"Source": source, "DetailType": detail_type, "Detail": detail, **({"EventBusName": bus} if bus else {})}
    answer = client.events("PutEvents", {"Entries": [entry]})
    console.emit(answer)
    entries = answer.get("Entries")
    result = entries[0] if isinstance(entries, list) and entries and isinstance(entries[0], dict) else {}
    if "EventId" in result:
        console.say(f"Event {result['EventId']} put on {bus or 'default'}.")
        return True
    console.warn(f"lamina: the event was refused: {result.get('ErrorCode')}: {result.get('ErrorMessage')}")
    return False


def _short(arn: str) -> str:
    """A function target by its name (and qualifier), a bus by ``bus:<name>``; other ARNs whole."""
    if ":function:" in arn:
        return arn.split(":function:", 1)[1]
    if ":event-bus/" in arn:
        return "bus:" + arn.split(":event-bus/", 1)[1]
    return arn


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
