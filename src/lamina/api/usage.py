"""GET /lamina/v1/usage: what the caller's account used and what it cost (docs/usage.md); and
GET /lamina/v1/stats: how each of its functions performed (metering/performance.py).

    GET /lamina/v1/usage?by=function|day|alias|tag:KEY&from=DATE|TIME&to=DATE|TIME
        -> {"by", "from", "to", "currency", "freeTier", "prices",
            "rows": [{"key", "requests", "billedMs", "gbSeconds", "provisionedGbSeconds",
                      "cost": {"requests", "duration", "ephemeralStorage", "provisionedConcurrency",
                               "provisionedDuration", "total"},       rounded to the cent
                      "exactCost": {...}}],                           the same, unrounded
            "total": {... as a row, key null}}

    GET /lamina/v1/stats?from=DATE|TIME&to=DATE|TIME&sort=p99|p90|p50|max|invocations|errors|cold|memory
        -> {"from", "to", "sort", "functions": [{"function", "invocations", "errors", "errorRate",
            "coldStarts", "durationMs": {"p50", "p90", "p99", "max", "average"}, "initMs": {"p50", "max"},
            "memoryMb", "maxMemoryUsedMb"}]}                      the largest by sort first

Signed like every /lamina/v1 request (IAM actions ``lamina:GetUsage``, ``lamina:GetStats``); a caller's request reaches
its own account's cell, so it sees that account's usage only (the operator's, of every cell:
api/operator.py, with this module's readers). The ledger is read from the start
of the month ``from`` falls in (tiers and the free tier count from there), a day at a time, and
priced by metering/usage.py; money is text, so no float ever rounds it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from decimal import Decimal
from typing import Mapping

from aiohttp import web

from lamina.api.context import Services, json_response, services
from lamina.errors import InvalidParameterValue
from lamina.metering.performance import SORTS, Performance
from lamina.metering.query import UsageQuery, UsageQueryError, parse_query
from lamina.metering.usage import COMPONENTS, DAY_MS, UsageCounter, UsageReport, UsageRow, ledger_start
from lamina.settings import Settings
from lamina.store.base import InvocationRecord

routes = web.RouteTableDef()


@routes.get("/lamina/v1/usage")
async def get_usage(request: web.Request) -> web.Response:
    svc = services(request)
    now_ms = int(time.time() * 1000)
    query = range_of(request.query, ("by", "from", "to"), now_ms)
    report = await usage_report(svc, query, now_ms)
    return json_response({**usage_head(svc.settings, query), **report_json(report)})


@routes.get("/lamina/v1/stats")
async def get_stats(request: web.Request) -> web.Response:
    svc = services(request)
    query = range_of(request.query, ("from", "to", "sort"), int(time.time() * 1000))
    sort = sort_of(request.query)
    performance = await performance_of(svc, query)
    return json_response({"from": iso(query.from_ms), "to": iso(query.to_ms), "sort": sort,
                          "functions": performance.rows(sort)})  # fmt: skip


async def usage_report(svc: Services, query: UsageQuery, now_ms: int, *,
                       performance: Performance | None = None) -> UsageReport:  # fmt: skip
    """What the cell of ``svc`` used over the query's range, priced and grouped; ``performance``,
    if given, is fed the range's invocations from the same reads (the console's overview)."""
    counter = UsageCounter(prices=svc.settings.prices, free_tier=svc.settings.free_tier, grouping=query.grouping,
                           from_ms=query.from_ms, to_ms=query.to_ms)  # fmt: skip
    # A day of the ledger at a time: what one request holds in memory is a day's rows, not a year's.
    for start in range(ledger_start(query.from_ms), query.to_ms, DAY_MS):
        records = await svc.store.list_ledger(start, min(start + DAY_MS, query.to_ms))
        await asyncio.to_thread(_fold, counter, performance, records, query.from_ms)
    counter.add_allocations(await svc.store.list_allocations(query.to_ms), now_ms)
    tags = {}
    if query.grouping.by == "tag":
        for name in sorted(counter.functions()):
            tags[name] = await svc.tags.of_function(name)
    return counter.report(tags)


def _fold(counter: UsageCounter, performance: Performance | None, records: list[InvocationRecord],
          from_ms: int) -> None:  # fmt: skip
    """A day's records into the counter (and those of the range into ``performance``): in a worker
    thread, so a month of a busy cell does not hold the event loop for seconds."""
    counter.add(records)
    if performance is not None:
        performance.add(r for r in records if r.started_ms >= from_ms)


async def performance_of(svc: Services, query: UsageQuery) -> Performance:
    """How each function of the cell of ``svc`` performed over the query's range."""
    performance = Performance()
    for start in range(query.from_ms, query.to_ms, DAY_MS):  # a day of the ledger in memory at a time
        records = await svc.store.list_ledger(start, min(start + DAY_MS, query.to_ms))
        await asyncio.to_thread(performance.add, records)  # off the event loop, as _fold
    return performance


def usage_head(settings: Settings, query: UsageQuery) -> dict[str, object]:
    """A usage answer's members besides its rows: grouping, range, currency and prices."""
    by = query.grouping.by if query.grouping.tag_key is None else f"tag:{query.grouping.tag_key}"
    return {"by": by, "from": iso(query.from_ms), "to": iso(query.to_ms), "currency": settings.prices.currency,
            "freeTier": settings.free_tier, "prices": settings.prices.as_json()}  # fmt: skip


def sort_of(params: Mapping[str, str]) -> str:
    sort = params.get("sort", "p99")
    if sort not in SORTS:
        raise InvalidParameterValue(f"cannot sort by {sort[:40]!r}: use one of {', '.join(SORTS)}")
    return sort


def range_of(params: Mapping[str, str], allowed: tuple[str, ...], now_ms: int) -> UsageQuery:
    """The request's range (and grouping), checked; a parameter not in ``allowed`` is refused."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InvalidParameterValue(f"unknown parameter {unknown[0][:40]!r}: use {', '.join(allowed[:-1])} and "
                                    f"{allowed[-1]}")  # fmt: skip
    try:
        return parse_query(params.get("by"), params.get("from"), params.get("to"), now_ms)
    except UsageQueryError as e:
        raise InvalidParameterValue(str(e)) from None


def report_json(report: UsageReport) -> dict[str, object]:
    return {
        "rows": [_row(row, cents) for row, cents in zip(report.rows, report.cents)],
        "total": _row(report.total, report.total_cents),
    }


def _row(row: UsageRow, cents: dict[str, Decimal]) -> dict[str, object]:
    exact = {name: text(row.cost[name]) for name in COMPONENTS}
    exact["total"] = text(sum((row.cost[name] for name in COMPONENTS), Decimal(0)))
    return {
        "key": row.key, "requests": row.requests, "billedMs": row.billed_ms, "gbSeconds": text(row.gb_seconds),
        "provisionedGbSeconds": text(row.provisioned_gb_seconds),
        "cost": {name: str(amount) for name, amount in cents.items()}, "exactCost": exact,
    }  # fmt: skip


def text(amount: Decimal) -> str:
    """An exact amount as plain decimal text (no exponent, no trailing zeros beyond the units)."""
    written = format(amount.normalize(), "f")
    return written if written != "-0" else "0"


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
