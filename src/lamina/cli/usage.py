"""``lamina usage``: requests, GB-seconds and what they cost, grouped, with a totals row
(GET /lamina/v1/usage; docs/usage.md). ``--csv`` prints the same table as CSV, ``--json`` the
server's answer (with the exact, unrounded amounts). ``lamina stats``: each function's
invocations, errors, cold starts and duration percentiles (GET /lamina/v1/stats), the slowest first."""

from __future__ import annotations

import csv
import io
import time
from decimal import Decimal
from typing import Mapping, Sequence

from lamina.cli.client import LambdaClient
from lamina.cli.errors import UsageError
from lamina.cli.output import Console, format_table
from lamina.metering.query import UsageQueryError, parse_query

HEADERS = ("REQUESTS", "BILLED S", "GB-S", "PROV GB-S", "REQUESTS $", "DURATION $", "STORAGE $", "PROV CONC $",
           "PROV DUR $", "TOTAL $")  # fmt: skip
COST_COLUMNS = ("requests", "duration", "ephemeralStorage", "provisionedConcurrency", "provisionedDuration", "total")
NO_TAG = "(untagged)"


def show_usage(
    client: LambdaClient, console: Console, *, by: str, start: str | None, end: str | None, as_csv: bool
) -> None:  # fmt: skip
    try:
        parse_query(by, start, end, int(time.time() * 1000))  # the server checks again; said here plainly
    except UsageQueryError as e:
        raise UsageError(f"{e}. See `lamina usage --help`.") from None
    report = client.get_usage(by=by, start=start, end=end)
    console.emit(report)
    if console.json_mode:
        return
    rows = report.get("rows")
    total = report.get("total")
    if not isinstance(rows, list) or not isinstance(total, dict):
        raise UsageError("Lamina's usage answer lacks `rows` or `total`.")
    group = str(report.get("by", by)).upper()
    table = [_cells(row) for row in rows] + [_cells(total, label="TOTAL")]
    if as_csv:
        _say_csv(console, (group, *HEADERS), table)
        return
    console.say(f"Usage from {report.get('from')} to {report.get('to')} ({report.get('currency')}"
                f"{', free tier applied' if report.get('freeTier') else ''})")  # fmt: skip
    if not rows:
        console.say("No invocation and no provisioned concurrency in this range.")
    console.say(format_table((group, *HEADERS), table))


def _say_csv(console: Console, headers: Sequence[str], table: Sequence[Sequence[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(table)
    console.say(out.getvalue(), end="")


def _cells(row: Mapping[str, object], *, label: str | None = None) -> Sequence[str]:
    cost = row.get("cost")
    if not isinstance(cost, dict):
        raise UsageError("Lamina's usage answer has a row without `cost`.")
    key = label if label is not None else (row.get("key") if row.get("key") is not None else NO_TAG)
    billed = Decimal(str(row.get("billedMs", 0))) / 1000
    return [str(key), str(row.get("requests", 0)), f"{billed:.3f}", _amount(row.get("gbSeconds")),
            _amount(row.get("provisionedGbSeconds")), *(str(cost.get(c, "")) for c in COST_COLUMNS)]  # fmt: skip


def _amount(value: object) -> str:
    """GB-seconds to three decimals for reading (``--json`` has them exact)."""
    try:
        return f"{Decimal(str(value)).quantize(Decimal('0.001')):f}"
    except ArithmeticError:
        return str(value)


STATS_HEADERS = ("FUNCTION", "INVOCATIONS", "ERRORS", "ERROR %", "COLD", "P50 MS", "P90 MS", "P99 MS", "MAX MS",
                 "MEMORY MB", "MAX USED MB")  # fmt: skip


def show_stats(client: LambdaClient, console: Console, *, start: str | None, end: str | None, sort: str,
               as_csv: bool) -> None:  # fmt: skip
    try:
        parse_query(None, start, end, int(time.time() * 1000))  # the server checks again; said here plainly
    except UsageQueryError as e:
        raise UsageError(f"{e}. See `lamina stats --help`.") from None
    report = client.get_stats(start=start, end=end, sort=sort)
    console.emit(report)
    if console.json_mode:
        return
    functions = report.get("functions")
    if not isinstance(functions, list) or not all(isinstance(f, dict) for f in functions):
        raise UsageError("Lamina's stats answer lacks `functions`.")
    table = [_stats_cells(row) for row in functions]
    if as_csv:
        _say_csv(console, STATS_HEADERS, table)
        return
    console.say(f"Functions from {report.get('from')} to {report.get('to')}, by {sort}")
    if not table:
        console.say("No invocation in this range.")
        return
    console.say(format_table(STATS_HEADERS, table))


def _stats_cells(row: Mapping[str, object]) -> Sequence[str]:
    durations = row.get("durationMs")
    if not isinstance(durations, dict):
        raise UsageError("Lamina's stats answer has a function without `durationMs`.")
    rate = row.get("errorRate", 0)
    return (str(row.get("function")), str(row.get("invocations")), str(row.get("errors")),
            f"{float(rate) * 100:.1f}" if isinstance(rate, (int, float)) else "?", str(row.get("coldStarts")),
            *(f"{float(durations.get(k, 0)):.2f}" for k in ("p50", "p90", "p99", "max")),
            str(row.get("memoryMb")), str(row.get("maxMemoryUsedMb")))  # fmt: skip
