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
only consume. ``UsageCounter`` tallies integers (requests, MB-milliseconds per architecture and
tier) as the rows come, and prices the tallies once in ``report``: exact (``Decimal``, a
precision no amount reaches), and cheap for each invocation. Money is rounded to the cent only in
``UsageReport``: each component's column is apportioned so that its rows add up to the column's
exact total rounded (largest remainders), and each row's total is the sum of its rounded parts,
so the totals row is the sum of the rows to the cent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Iterable, Mapping, Sequence

from lamina.metering.billing import FREE_STORAGE_MB, MB_PER_GB, MS_PER_S
from lamina.metering.prices import Prices
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


MB_MS_PER_GB_S = MB_PER_GB * MS_PER_S  # GB-seconds are counted exactly, as integer MB-milliseconds


@dataclass(slots=True)
class _Month:
    """What a calendar month used so far: the free tier left, each architecture's on-demand use."""

    start_ms: int
    free_requests: int
    free_mb_ms: int | Decimal
    used: dict[str, int] = field(default_factory=dict)  # architecture -> on-demand MB-ms (free ones too)


@dataclass(slots=True)
class _Tally:
    """A row's usage in integers, priced once at the end: exact, and cheap for each invocation."""

    requests: int = 0
    charged_requests: int = 0  # beyond the free tier
    billed_ms: int = 0
    mb_ms: int = 0
    storage_mb_ms: int = 0  # beyond the free 512 MB
    duration: dict[tuple[str, int], int | Decimal] = field(default_factory=dict)  # (architecture, tier) -> charged MB-ms
    provisioned_duration: dict[str, int] = field(default_factory=dict)  # architecture -> MB-ms
    allocated: dict[str, int] = field(default_factory=dict)  # architecture -> provisioned MB-ms allocated

    def absorb(self, other: _Tally) -> None:
        """Add ``other``'s usage to this one's."""
        self.requests += other.requests
        self.charged_requests += other.charged_requests
        self.billed_ms += other.billed_ms
        self.mb_ms += other.mb_ms
        self.storage_mb_ms += other.storage_mb_ms
        for key, amount in other.duration.items():
            self.duration[key] = self.duration.get(key, 0) + amount
        for arch, mb_ms in other.provisioned_duration.items():
            self.provisioned_duration[arch] = self.provisioned_duration.get(arch, 0) + mb_ms
        for arch, mb_ms in other.allocated.items():
            self.allocated[arch] = self.allocated.get(arch, 0) + mb_ms


def _mb_ms(gb_seconds: Decimal) -> int | Decimal:
    """GB-seconds as MB-ms: an integer, unless a price file set a limit finer than a MB-ms."""
    amount = gb_seconds * MB_MS_PER_GB_S
    return int(amount) if amount == amount.to_integral_value() else amount


def _tiers_in_mb_ms(prices: Prices) -> dict[str, list[int | Decimal | None]]:
    return {arch: [None if t.up_to is None else _mb_ms(t.up_to) for t in tiers] for arch, tiers in prices.duration.items()}


def _charge(tally: _Tally, arch: str, position: int | Decimal, amount: int | Decimal,
            bounds: list[int | Decimal | None]) -> None:  # fmt: skip
    """``amount`` MB-ms from ``position`` of the month into the tiers they fall in."""
    lower: int | Decimal = 0
    for index, upper in enumerate(bounds):
        top = position + amount if upper is None else min(position + amount, upper)
        part = top - max(position, lower)
        if part > 0:
            key = (arch, index)
            tally.duration[key] = tally.duration.get(key, 0) + part
        if upper is None or position + amount <= upper:
            return
        lower = upper


class UsageCounter:
    """The tallies of one report, fed the ledger in pieces (a day at a time: memory stays bounded),
    in order of start time, from ``ledger_start(from_ms)``; ``report`` prices them. Grouped by
    tag, it tallies by function and merges the functions' tallies by their tags at the end (a tally
    is integers: merging is exact)."""

    def __init__(self, *, prices: Prices, free_tier: bool, grouping: Grouping, from_ms: int, to_ms: int) -> None:
        self._prices = prices
        self._free_tier = free_tier
        self._grouping = grouping
        self._by = Grouping("function") if grouping.by == "tag" else grouping
        self._from_ms, self._to_ms = from_ms, to_ms
        self._bounds = _tiers_in_mb_ms(prices)
        self._tallies: dict[str | None, _Tally] = {}
        self._month: _Month | None = None
        self._next_month = -1

    def _tally(self, key: str | None) -> _Tally:
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = _Tally()
        return tally

    def add(self, records: Iterable[InvocationRecord]) -> None:
        bounds, free_tier, prices = self._bounds, self._free_tier, self._prices
        month = self._month
        for r in records:
            if month is None or r.started_ms >= self._next_month:
                start = month_start(r.started_ms)
                self._next_month = month_start(start + 32 * DAY_MS)
                month = self._month = _Month(start, prices.free_tier.requests if free_tier else 0,
                                             _mb_ms(prices.free_tier.gb_seconds) if free_tier else 0)  # fmt: skip
            inside = self._from_ms <= r.started_ms < self._to_ms  # before: consumes the month's tiers only
            tally = self._tally(self._by.key(r.function, r.qualifier, r.started_ms, {})) if inside else _Tally()
            amount = r.billed_ms * r.memory_mb
            arch = r.architecture if r.architecture in bounds else "x86_64"
            tally.requests += 1
            tally.billed_ms += r.billed_ms
            tally.mb_ms += amount
            if r.ephemeral_mb > FREE_STORAGE_MB:
                tally.storage_mb_ms += r.billed_ms * (r.ephemeral_mb - FREE_STORAGE_MB)
            if r.provisioned:  # no free tier, no tiers
                tally.charged_requests += 1
                tally.provisioned_duration[arch] = tally.provisioned_duration.get(arch, 0) + amount
                continue
            if month.free_requests > 0:
                month.free_requests -= 1
            else:
                tally.charged_requests += 1
            free = min(amount, month.free_mb_ms)
            month.free_mb_ms -= free
            used = month.used.get(arch, 0)
            if amount > free:
                _charge(tally, arch, used + free, amount - free, bounds[arch])
            month.used[arch] = used + amount

    def add_allocations(self, allocations: Sequence[ProvisionedAllocation], now_ms: int) -> None:
        """Every allocation row before ``to_ms``, by time (once)."""
        for a, seg_start, seg_end in provisioned_segments(allocations, self._from_ms, self._to_ms, now_ms,
                                                          split_days=self._by.by == "day"):  # fmt: skip
            tally = self._tally(self._by.key(a.function, a.qualifier, seg_start, {}))
            tally.allocated[a.architecture] = tally.allocated.get(a.architecture, 0) + (
                a.environments * a.memory_mb * (seg_end - seg_start))  # fmt: skip

    def functions(self) -> set[str]:
        """The functions tallied (grouped by tag: whose tags ``report`` needs)."""
        return {key for key in self._tallies if key is not None}

    def report(self, tags: Mapping[str, Mapping[str, str]] | None = None) -> UsageReport:
        tallies = self._tallies
        if self._grouping.by == "tag":
            tallies = {}
            for function, tally in self._tallies.items():
                key = self._grouping.key(function or "", None, 0, tags or {})
                tallies.setdefault(key, _Tally()).absorb(tally)
        with localcontext(Context(prec=80)):  # exact: no amount here comes near 80 digits
            rows = [_priced(key, tally, self._prices) for key, tally in tallies.items()]
        return _report(tuple(sorted(rows, key=lambda row: (row.key is None, row.key or ""))))


def usage(
    ledger: Iterable[InvocationRecord], allocations: Sequence[ProvisionedAllocation], *, prices: Prices,
    free_tier: bool, grouping: Grouping, from_ms: int, to_ms: int, now_ms: int,
    tags: Mapping[str, Mapping[str, str]] | None = None,
) -> UsageReport:  # fmt: skip
    """The report of [from_ms, to_ms) at once. ``ledger``: the invocations from
    ``ledger_start(from_ms)`` to ``to_ms``, by start; ``allocations``: the allocation rows before
    ``to_ms``, by time."""
    counter = UsageCounter(prices=prices, free_tier=free_tier, grouping=grouping, from_ms=from_ms, to_ms=to_ms)
    counter.add(ledger)
    counter.add_allocations(allocations, now_ms)
    return counter.report(tags)


def _priced(key: str | None, tally: _Tally, prices: Prices) -> UsageRow:
    def per_arch(table: Mapping[str, Decimal], arch: str) -> Decimal:
        return table.get(arch, table["x86_64"])

    cost = dict.fromkeys(COMPONENTS, Decimal(0))
    cost["requests"] = tally.charged_requests * prices.requests_per_million / MILLION
    cost["duration"] = sum((mb_ms * prices.duration[arch][tier].per_gb_second for (arch, tier), mb_ms
                            in tally.duration.items()), Decimal(0)) / MB_MS_PER_GB_S  # fmt: skip
    cost["ephemeralStorage"] = tally.storage_mb_ms * prices.ephemeral_storage_per_gb_second / MB_MS_PER_GB_S
    cost["provisionedDuration"] = sum((mb_ms * per_arch(prices.provisioned_duration_per_gb_second, arch)
                                       for arch, mb_ms in tally.provisioned_duration.items()), Decimal(0)) / MB_MS_PER_GB_S  # fmt: skip
    cost["provisionedConcurrency"] = sum((mb_ms * per_arch(prices.provisioned_concurrency_per_gb_second, arch)
                                          for arch, mb_ms in tally.allocated.items()), Decimal(0)) / MB_MS_PER_GB_S  # fmt: skip
    return UsageRow(key, tally.requests, tally.billed_ms, Decimal(tally.mb_ms) / MB_MS_PER_GB_S,
                    Decimal(sum(tally.allocated.values())) / MB_MS_PER_GB_S, cost)  # fmt: skip


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


def _sum(rows: Iterable[UsageRow]) -> UsageRow:
    total = UsageRow(None)
    for row in rows:
        total.requests += row.requests
        total.billed_ms += row.billed_ms
        total.gb_seconds += row.gb_seconds
        total.provisioned_gb_seconds += row.provisioned_gb_seconds
        for name in COMPONENTS:
            total.cost[name] += row.cost[name]
    return total


def _report(rows: tuple[UsageRow, ...]) -> UsageReport:
    total = _sum(rows)
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


def combined(reports: Sequence[UsageReport]) -> UsageReport:
    """The reports of several accounts (cells) as one: rows, the cells' totals (exact); cents, the
    sum of the cells' rounded totals, so the overall total is the sum of the bills as printed (as
    AWS's consolidated billing adds the accounts' bills), not the exact sum rounded again."""
    rows = tuple(report.total for report in reports)
    total = _sum(rows)
    cents = tuple(report.total_cents for report in reports)
    total_cents = {name: sum((c[name] for c in cents), Decimal(0)).quantize(CENT) for name in (*COMPONENTS, "total")}
    return UsageReport(rows, total, cents, total_cents)
