"""Usage: the ledger's rows aggregated and priced (pure).

``usage`` reads the invocations and provisioned-concurrency allocations of a range, grouped by
function, day (UTC), alias (the qualifier as invoked) or a tag's value, and prices them as AWS
bills them:

- a request each invocation; its billed duration (rounded up to 1 ms, the cold start's init
  included) times its memory in GB-seconds; ephemeral storage beyond 512 MB in GB-seconds;
- on demand, duration at its architecture's tiered price, the tiers counted over the calendar
  month (UTC) per architecture; with the free tier, the month's first 1M requests and 400,000
  GB-seconds (across architectures) cost nothing;
- on a provisioned environment, duration at the provisioned duration price (no tiers, no free tier);
- provisioned concurrency: environments times memory for the time allocated, an ended allocation's
  length rounded up to five minutes as AWS rounds it (``provisioned_segments``).

Tiers and the free tier depend on what the month used before, so the caller passes the ledger
from the start of the month ``from_ms`` falls in (``ledger_start``); rows before ``from_ms``
only consume. Each invocation's cost is exact (``Decimal``); money is rounded to the cent only in
``UsageReport``: each component's column is apportioned so that its rows add up to the column's
exact total rounded (largest remainders), and each row's total is the sum of its rounded parts,
so the totals row is the sum of the rows to the cent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Iterable, Mapping, Sequence

from lamina.metering.billing import MB_PER_GB, MS_PER_S, gb_seconds, storage_gb_seconds
from lamina.metering.prices import Prices, tiered_cost
from lamina.store.base import InvocationRecord, ProvisionedAllocation

COMPONENTS = ("requests", "duration", "ephemeralStorage", "provisionedConcurrency", "provisionedDuration")
DAY_MS = 86_400_000
PROVISIONED_ROUNDING_MS = 5 * 60 * 1000  # AWS rounds provisioned concurrency up to five minutes
CENT = Decimal("0.01")
MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Grouping:
    by: str  # "function" | "day" | "alias" | "tag"
    tag_key: str | None = None

    def key(self, function: str, qualifier: str | None, started_ms: int, tags: Mapping[str, Mapping[str, str]]) -> str | None:
        if self.by == "function":
            return function
        if self.by == "alias":
            return f"{function}:{qualifier or '$LATEST'}"
        if self.by == "day":
            return day_of(started_ms)
        assert self.tag_key is not None
        return tags.get(function, {}).get(self.tag_key)  # None: the function has no such tag


@dataclass(slots=True)
class UsageRow:
    key: str | None
    requests: int = 0
    billed_ms: int = 0
    gb_seconds: Decimal = Decimal(0)
    provisioned_gb_seconds: Decimal = Decimal(0)
    cost: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(COMPONENTS, Decimal(0)))


@dataclass(frozen=True, slots=True)
class UsageReport:
    rows: tuple[UsageRow, ...]  # exact amounts, in the grouping's order
    total: UsageRow
    cents: tuple[dict[str, Decimal], ...]  # each row's cost rounded (apportioned), with its "total"
    total_cents: dict[str, Decimal]


def day_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d")


def month_start(ms: int) -> int:
    """The start (UTC) of the calendar month ``ms`` falls in: where tiers and the free tier begin."""
    t = datetime.fromtimestamp(ms / 1000, timezone.utc)
    return int(datetime(t.year, t.month, 1, tzinfo=timezone.utc).timestamp() * 1000)


def ledger_start(from_ms: int) -> int:
    """Where the ledger must be read from to price a range that starts at ``from_ms``."""
    return month_start(from_ms)


@dataclass(slots=True)
class _Month:
    start_ms: int
    free_requests: int
    free_gb_seconds: Decimal
    by_architecture: dict[str, Decimal] = field(default_factory=dict)  # on-demand GB-seconds so far


def invocation_cost(r: InvocationRecord, month: _Month, prices: Prices) -> dict[str, Decimal]:
    """What one invocation costs, given what its month used before it (updated): exact."""
    gb = gb_seconds(r.billed_ms, r.memory_mb)
    arch = r.architecture if r.architecture in prices.duration else "x86_64"
    cost = dict.fromkeys(COMPONENTS, Decimal(0))
    cost["ephemeralStorage"] = storage_gb_seconds(r.billed_ms, r.ephemeral_mb) * prices.ephemeral_storage_per_gb_second
    if r.provisioned:
        cost["requests"] = prices.requests_per_million / MILLION
        cost["provisionedDuration"] = gb * prices.provisioned_duration_per_gb_second.get(
            arch, prices.provisioned_duration_per_gb_second["x86_64"])  # fmt: skip
        return cost
    if month.free_requests > 0:
        month.free_requests -= 1
    else:
        cost["requests"] = prices.requests_per_million / MILLION
    free = min(gb, month.free_gb_seconds)
    month.free_gb_seconds -= free
    used = month.by_architecture.get(arch, Decimal(0))
    cost["duration"] = tiered_cost(used + free, gb - free, prices.duration[arch])
    month.by_architecture[arch] = used + gb
    return cost


def usage(
    ledger: Iterable[InvocationRecord], allocations: Sequence[ProvisionedAllocation], *, prices: Prices,
    free_tier: bool, grouping: Grouping, from_ms: int, to_ms: int, now_ms: int,
    tags: Mapping[str, Mapping[str, str]] | None = None,
) -> UsageReport:  # fmt: skip
    """The report of [from_ms, to_ms). ``ledger``: the invocations from ``ledger_start(from_ms)``
    to ``to_ms``, by start; ``allocations``: the allocation rows before ``to_ms``, by time."""
    tags = tags or {}
    rows: dict[str | None, UsageRow] = {}
    month: _Month | None = None
    for r in ledger:
        start = month_start(r.started_ms)
        if month is None or month.start_ms != start:
            month = _Month(start, prices.free_tier.requests if free_tier else 0,
                           prices.free_tier.gb_seconds if free_tier else Decimal(0))  # fmt: skip
        cost = invocation_cost(r, month, prices)
        if not from_ms <= r.started_ms < to_ms:
            continue
        key = grouping.key(r.function, r.qualifier, r.started_ms, tags)
        row = rows.get(key) or rows.setdefault(key, UsageRow(key))
        row.requests += 1
        row.billed_ms += r.billed_ms
        row.gb_seconds += gb_seconds(r.billed_ms, r.memory_mb)
        for name, amount in cost.items():
            row.cost[name] += amount
    for segment in provisioned_segments(allocations, from_ms, to_ms, now_ms, split_days=grouping.by == "day"):
        a, seg_start, seg_end = segment
        gb = Decimal(a.environments * a.memory_mb) * (seg_end - seg_start) / (MB_PER_GB * MS_PER_S)
        key = grouping.key(a.function, a.qualifier, seg_start, tags)
        row = rows.get(key) or rows.setdefault(key, UsageRow(key))
        row.provisioned_gb_seconds += gb
        price = prices.provisioned_concurrency_per_gb_second
        row.cost["provisionedConcurrency"] += gb * price.get(a.architecture, price["x86_64"])
    ordered = tuple(sorted(rows.values(), key=lambda row: (row.key is None, row.key or "")))
    return _report(ordered)


def provisioned_segments(
    allocations: Sequence[ProvisionedAllocation], from_ms: int, to_ms: int, now_ms: int, *, split_days: bool
) -> list[tuple[ProvisionedAllocation, int, int]]:
    """Each allocation's billed time within [from_ms, to_ms) (split at UTC midnights if asked): from
    its row to the configuration's next row, or to now while it is open. An allocation that ended
    (0 environments next) is billed its length rounded up to five minutes: the part rounded up
    counts where it ended (so a range that ends now holds no time to come, and ranges side by
    side add up to the whole)."""
    by_config: dict[tuple[str, str], list[ProvisionedAllocation]] = {}
    for a in allocations:
        by_config.setdefault((a.function, a.qualifier), []).append(a)
    segments = []
    for rows in by_config.values():
        for i, a in enumerate(rows):
            if a.environments <= 0:
                continue
            after = rows[i + 1] if i + 1 < len(rows) else None
            end = max(a.at_ms, now_ms) if after is None else after.at_ms  # resized or moved: the next row goes on
            if after is not None and after.environments == 0 and from_ms <= after.at_ms < to_ms:
                length = after.at_ms - a.at_ms
                surplus = math.ceil(length / PROVISIONED_ROUNDING_MS) * PROVISIONED_ROUNDING_MS - length
                if surplus:
                    segments.append((a, after.at_ms, after.at_ms + surplus))
            start, end = max(a.at_ms, from_ms), min(end, to_ms)
            while start < end:
                cut = min(end, (start // DAY_MS + 1) * DAY_MS) if split_days else end
                segments.append((a, start, cut))
                start = cut
    return segments


def apportion(exact: Sequence[Decimal]) -> list[Decimal]:
    """Amounts rounded to the cent so that they add up to their exact sum rounded (half up): each
    rounded down, and the cents left given to the largest remainders (the first among equals)."""
    floors = [x.quantize(CENT, rounding=ROUND_DOWN) for x in exact]
    target = sum(exact, Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP)
    left = int((target - sum(floors, Decimal(0))) / CENT)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:max(0, left)]:
        floors[i] += CENT
    return floors


def _report(rows: tuple[UsageRow, ...]) -> UsageReport:
    total = UsageRow(None)
    for row in rows:
        total.requests += row.requests
        total.billed_ms += row.billed_ms
        total.gb_seconds += row.gb_seconds
        total.provisioned_gb_seconds += row.provisioned_gb_seconds
        for name in COMPONENTS:
            total.cost[name] += row.cost[name]
    cents: list[dict[str, Decimal]] = [{} for _ in rows]
    total_cents: dict[str, Decimal] = {}
    for name in COMPONENTS:
        column = apportion([row.cost[name] for row in rows])
        for i, amount in enumerate(column):
            cents[i][name] = amount
        total_cents[name] = sum(column, Decimal(0)).quantize(CENT)
    for row_cents in (*cents, total_cents):
        row_cents["total"] = sum((row_cents[name] for name in COMPONENTS), Decimal(0)).quantize(CENT)
    return UsageReport(rows, total, tuple(cents), total_cents)
