"""``lamina schedules``: EventBridge Scheduler's schedules, with when each fires next."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Sequence

from lamina.cli.client import LambdaClient
from lamina.cli.output import Console, format_table
from lamina.cli.shapes import ScheduleDetail, ScheduleSummary

HEADERS = ("SCHEDULE", "EXPRESSION", "STATE", "NEXT FIRING")
MISSING = "-"


def format_next(epoch: float | None) -> str:
    if epoch is None:
        return MISSING
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def schedule_rows(rows: Sequence[tuple[ScheduleSummary, ScheduleDetail]]) -> list[list[str]]:
    out = []
    for summary, detail in sorted(rows, key=lambda r: (r[0].get("GroupName", ""), r[0].get("Name", ""))):
        expression = detail.get("ScheduleExpression", MISSING)
        zone = detail.get("ScheduleExpressionTimezone", "UTC")
        if zone != "UTC":
            expression = f"{expression} {zone}"
        out.append([
            f"{summary.get('GroupName', MISSING)}/{summary.get('Name', MISSING)}", expression,
            summary.get("State", MISSING), format_next(summary.get("NextFiring")),
        ])  # fmt: skip
    return out


def list_schedules(client: LambdaClient, console: Console) -> None:
    summaries = list(client.list_schedules())
    rows = [(s, client.get_schedule(s.get("Name", ""), s.get("GroupName", "default"))) for s in summaries]
    console.emit({"Schedules": [{**s, **d} for s, d in rows]})
    if not rows:
        console.say("No schedules yet. Create one with:")
        console.say(f"  {client.aws_prefix()} scheduler create-schedule --name NAME \\")
        console.say("      --schedule-expression 'cron(0 8 * * ? *)' \\")
        console.say("      --flexible-time-window Mode=OFF --target Arn=FUNCTION_ARN,RoleArn=ROLE_ARN")
        return
    console.say(format_table(HEADERS, schedule_rows(rows)))
