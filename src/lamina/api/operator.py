"""The operator's view across cells (docs/console.md, docs/usage.md): which cells exist, an overview
of each, and usage and stats for one cell or all. Served under /console/api/ with the console's
access rules (api/console.py: a loopback client asking for a loopback host, or
LAMINA_CONSOLE_TOKEN), which is what ``lamina usage --all-accounts`` and ``lamina stats
--all-accounts`` call: the operator is whoever may open the console, not any account's key.

    GET /console/api/cells                     {"cells": [{"cell", "account", "region", "default", "started"}]}
    GET /console/api/overview?minutes=<1..44640>&cell=all|ACCOUNT/REGION
        -> {"from", "to", "minutes", "currency", "cells": [{"cell", "account", "region", "default", "functions",
            "invocations", "errors", "cost", "exactCost"}], "total": {"functions", "invocations",
            "errors", "cost", "exactCost"}}
    GET /console/api/usage?cell=all|ACCOUNT/REGION&by=&from=&to=
        -> GET /lamina/v1/usage's members, but "cells": [{"cell", "account", "region", "rows", "total"}]
           and "total": the cells' totals added up (metering/usage.py ``combined``)
    GET /console/api/stats?cell=all|ACCOUNT/REGION&from=&to=&sort=
        -> GET /lamina/v1/stats's, every row with its "account" and "region", merged by sort

Without ``cell``, each answers for every cell (as ``cell=all``).
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from aiohttp import web

from lamina.api.console import PREFIX, chosen, guarded
from lamina.api.context import CELLS, Services, json_response
from lamina.api.usage import iso, performance_of, range_of, report_json, sort_of, text, usage_head, usage_report
from lamina.console import cells
from lamina.errors import InvalidParameterValue
from lamina.metering.performance import Performance, row_order
from lamina.metering.query import UsageQuery, parse_grouping
from lamina.metering.usage import UsageReport, combined

_MAX_MINUTES = 31 * 1440  # a month: what one overview reads of each cell's ledger at most
routes = web.RouteTableDef()


@routes.get(PREFIX + "/api/cells")
@guarded
async def list_cells(request: web.Request) -> web.StreamResponse:
    lookup = request.app[CELLS]
    known = await asyncio.to_thread(lookup.known)
    return json_response({"cells": [
        {"cell": cells.name(key), "account": key[0], "region": key[1], "default": i == 0,
         "started": lookup.started(*key) is not None}
        for i, key in enumerate(known)
    ]})  # fmt: skip


@routes.get(PREFIX + "/api/overview")
@guarded
async def overview(request: web.Request) -> web.StreamResponse:
    raw = request.query.get("minutes", "60")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= _MAX_MINUTES:
        raise InvalidParameterValue(f"minutes must be an integer from 1 to {_MAX_MINUTES}")
    now_ms = int(time.time() * 1000)
    query = UsageQuery(parse_grouping("function"), now_ms - int(raw) * 60_000, now_ms)
    found = await chosen(request, every=True)
    rows, reports = [], []
    for i, (key, svc) in enumerate(found):
        performance = Performance()
        report = await usage_report(svc, query, now_ms, performance=performance)  # one read for both
        figures = performance.rows("invocations")
        reports.append(report)
        rows.append({"cell": cells.name(key), "account": key[0], "region": key[1], "default": i == 0,
                     "functions": _count(svc), "invocations": sum(_int(f["invocations"]) for f in figures),
                     "errors": sum(_int(f["errors"]) for f in figures), **_cost(report)})  # fmt: skip
    return json_response({
        "from": iso(query.from_ms), "to": iso(query.to_ms), "minutes": int(raw),
        "currency": found[0][1].settings.prices.currency, "cells": rows,
        "total": {"functions": sum(_int(r["functions"]) for r in rows),
                  "invocations": sum(_int(r["invocations"]) for r in rows),
                  "errors": sum(_int(r["errors"]) for r in rows), **_cost(combined(reports))},
    })  # fmt: skip


@routes.get(PREFIX + "/api/usage")
@guarded
async def usage(request: web.Request) -> web.StreamResponse:
    now_ms = int(time.time() * 1000)
    query = range_of(request.query, ("by", "cell", "from", "to"), now_ms)
    found = await chosen(request, every=True)
    reports, answered = [], []
    for key, svc in found:
        report = await usage_report(svc, query, now_ms)
        reports.append(report)
        answered.append({"cell": cells.name(key), "account": key[0], "region": key[1], **report_json(report)})
    settings = found[0][1].settings
    return json_response({**usage_head(settings, query), "cells": answered,
                          "total": report_json(combined(reports))["total"]})  # fmt: skip


@routes.get(PREFIX + "/api/stats")
@guarded
async def stats(request: web.Request) -> web.StreamResponse:
    query = range_of(request.query, ("cell", "from", "to", "sort"), int(time.time() * 1000))
    sort = sort_of(request.query)
    rows: list[dict[str, object]] = []
    for key, svc in await chosen(request, every=True):
        for row in (await performance_of(svc, query)).rows(sort):
            rows.append({"account": key[0], "region": key[1], **row})
    rows.sort(key=row_order(sort))
    return json_response({"from": iso(query.from_ms), "to": iso(query.to_ms), "sort": sort, "functions": rows})


def _count(svc: Services) -> int:
    count, marker = 0, None
    while True:
        batch, marker = svc.functions.list(marker, 1000)
        count += len(batch)
        if marker is None:
            return count


def _cost(report: UsageReport) -> dict[str, str]:
    """A report's total cost, rounded to the cent (as ``lamina usage``'s TOTAL row) and exact."""
    return {"cost": str(report.total_cents["total"]), "exactCost": text(sum(report.total.cost.values(), Decimal(0)))}


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
