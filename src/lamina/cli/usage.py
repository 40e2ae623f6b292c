"""``lamina usage``: requests, GB-seconds and what they cost, grouped, with a totals row
(GET /lamina/v1/usage; docs/usage.md). ``--csv`` prints the same table as CSV, ``--json`` the
server's answer (with the exact, unrounded amounts). ``lamina stats``: each function's
invocations, errors, cold starts and duration percentiles (GET /lamina/v1/stats), the slowest first.

With ``--all-accounts`` (or ``--account ID [--region R]``) both ask as the operator instead
(GET /console/api/usage and /stats, api/operator.py): every cell's, or one cell's, whatever the
caller's keys; usage then has a CELL column, each cell's TOTAL and the overall TOTAL (their sum)."""

from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Mapping, Sequence

from lamina.cli.client import LambdaClient
from lamina.cli.errors import LambdaApiError, UsageError
from lamina.cli.output import Console, format_table
from lamina.metering.query import UsageQueryError, parse_query

HEADERS = ("REQUESTS", "BILLED S", "GB-S", "PROV GB-S", "REQUESTS $", "DURATION $", "STORAGE $", "PROV CONC $",
           "PROV DUR $", "TOTAL $")  # fmt: skip
COST_COLUMNS = ("requests", "duration", "ephemeralStorage", "provisionedConcurrency", "provisionedDuration", "total")
NO_TAG = "(untagged)"
ALL_CELLS = "ALL"
_ACCOUNT = re.compile(r"[0-9]{12}")


@dataclass(frozen=True)
class Operator:
    """Asking as the operator: for ``cell`` (``all`` or ``ACCOUNT/REGION``), with the console's
    token if the server has one (LAMINA_CONSOLE_TOKEN)."""

    cell: str
    token: str | None


def operator_of(*, all_accounts: bool, account: str | None, region: str | None, default_region: str,
                token: str | None) -> Operator | None:  # fmt: skip
    """What ``--all-accounts``, ``--account`` and ``--region`` ask for (None: the caller's own account)."""
    if all_accounts and (account or region):
        raise UsageError("--all-accounts covers every account and region: leave out --account and --region.")
    if region and not account:
        raise UsageError("--region goes with --account ID (or use --all-accounts).")
    if account is not None and _ACCOUNT.fullmatch(account) is None:
        raise UsageError(f"--account must be an account ID of 12 digits, not {account[:40]!r}.")
    if all_accounts:
        return Operator("all", token)
    if account is not None:
        return Operator(f"{account}/{region or default_region}", token)
    return None


def _as_operator(call: Callable[[], dict[str, object]]) -> dict[str, object]:
    try:
        return call()
    except LambdaApiError as e:
        if e.status in (401, 403):
            raise UsageError("Other accounts' usage is the operator's, read as the web console is: run this on the "
                             "server's machine against its loopback address, or set LAMINA_CONSOLE_TOKEN to the "
                             f"server's console token. The server said: {e.message}") from None  # fmt: skip
        raise


def show_usage(
    client: LambdaClient, console: Console, *, by: str, start: str | None, end: str | None, as_csv: bool,
    operator: Operator | None = None,
) -> None:  # fmt: skip
    try:
        parse_query(by, start, end, int(time.time() * 1000))  # the server checks again; said here plainly
    except UsageQueryError as e:
        raise UsageError(f"{e}. See `lamina usage --help`.") from None
    if operator is None:
        report = client.get_usage(by=by, start=start, end=end)
    else:
        cell, token = operator.cell, operator.token
        report = _as_operator(lambda: client.operator_usage(cell=cell, by=by, start=start, end=end, token=token))
    console.emit(report)
    if console.json_mode:
        return
    group = str(report.get("by", by)).upper()
    headers: tuple[str, ...] = (group, *HEADERS)
    if operator is None:
        rows, total = _rows_and_total(report)
        table = [_cells(row) for row in rows] + [_cells(total, label="TOTAL")]
    else:
        headers = ("CELL", *headers)
        rows, table = _per_cell(report)
    if as_csv:
        _say_csv(console, headers, table)
        return
    console.say(f"Usage from {report.get('from')} to {report.get('to')} ({report.get('currency')}"
                f"{', free tier applied' if report.get('freeTier') else ''})")  # fmt: skip
    if not rows:
        console.say("No invocation and no provisioned concurrency in this range.")
    console.say(format_table(headers, table))


def _rows_and_total(report: Mapping[str, object]) -> tuple[list[Mapping[str, object]], Mapping[str, object]]:
    rows, total = report.get("rows"), report.get("total")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows) or not isinstance(total, dict):
        raise UsageError("Lamina's usage answer lacks `rows` or `total`.")
    return rows, total


def _per_cell(report: Mapping[str, object]) -> tuple[list[Mapping[str, object]], list[Sequence[str]]]:
    """Every cell's rows and its TOTAL, with the cell's name first, then the overall TOTAL."""
    cells, total = report.get("cells"), report.get("total")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells) or not isinstance(total, dict):
        raise UsageError("Lamina's usage answer lacks `cells` or `total`.")
    every: list[Mapping[str, object]] = []
    table: list[Sequence[str]] = []
    for cell in cells:
        rows, cell_total = _rows_and_total(cell)
        every += rows
        name = str(cell.get("cell"))
        table += [[name, *_cells(row)] for row in rows] + [[name, *_cells(cell_total, label="TOTAL")]]
    table.append([ALL_CELLS, *_cells(total, label="TOTAL")])
    return every, table


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
               as_csv: bool, operator: Operator | None = None) -> None:  # fmt: skip
    try:
        parse_query(None, start, end, int(time.time() * 1000))  # the server checks again; said here plainly
    except UsageQueryError as e:
        raise UsageError(f"{e}. See `lamina stats --help`.") from None
    if operator is None:
        report = client.get_stats(start=start, end=end, sort=sort)
    else:
        cell, token = operator.cell, operator.token
        report = _as_operator(lambda: client.operator_stats(cell=cell, start=start, end=end, sort=sort, token=token))
    console.emit(report)
    if console.json_mode:
        return
    functions = report.get("functions")
    if not isinstance(functions, list) or not all(isinstance(f, dict) for f in functions):
        raise UsageError("Lamina's stats answer lacks `functions`.")
    headers: tuple[str, ...] = STATS_HEADERS
    table = [_stats_cells(row) for row in functions]
    if operator is not None:
        headers = ("ACCOUNT", "REGION", *headers)
        table = [(str(row.get("account")), str(row.get("region")), *cells) for row, cells in zip(functions, table)]
    if as_csv:
        _say_csv(console, headers, table)
        return
    console.say(f"Functions from {report.get('from')} to {report.get('to')}, by {sort}")
    if not table:
        console.say("No invocation in this range.")
        return
    console.say(format_table(headers, table))


def _stats_cells(row: Mapping[str, object]) -> Sequence[str]:
    durations = row.get("durationMs")
    if not isinstance(durations, dict):
        raise UsageError("Lamina's stats answer has a function without `durationMs`.")
    rate = row.get("errorRate", 0)
    return (str(row.get("function")), str(row.get("invocations")), str(row.get("errors")),
            f"{float(rate) * 100:.1f}" if isinstance(rate, (int, float)) else "?", str(row.get("coldStarts")),
            *(f"{float(durations.get(k, 0)):.2f}" for k in ("p50", "p90", "p99", "max")),
            str(row.get("memoryMb")), str(row.get("maxMemoryUsedMb")))  # fmt: skip
