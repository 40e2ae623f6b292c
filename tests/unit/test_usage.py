"""The price arithmetic and usage aggregation with fixed values (metering/prices.py, usage.py,
query.py): AWS's rules worked by hand."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Sequence

import pytest

from lamina.metering.billing import billed_ms, gb_seconds, storage_gb_seconds
from lamina.metering.prices import PriceTableError, Prices, Tier, load_prices, parse_prices
from lamina.metering.provisioned import allocation_changes
from lamina.metering.query import UsageQueryError, parse_query
from lamina.metering.usage import Grouping, UsageReport, apportion, month_start, usage
from lamina.store.base import InvocationRecord, ProvisionedAllocation

DEC_1 = 1_796_083_200_000  # 2026-12-01T00:00:00Z
DAY = 86_400_000
MINUTE = 60_000


def inv(rid: str, started_ms: int, billed: int, memory: int = 128, *, function: str = "f", arch: str = "x86_64",
        qualifier: str | None = None, ephemeral: int = 512, provisioned: bool = False) -> InvocationRecord:  # fmt: skip
    return InvocationRecord(rid, function, "$LATEST", started_ms, billed - 0.5, billed, memory, 40, None, "success",
                            qualifier, arch, ephemeral, provisioned)  # fmt: skip


def report(ledger: list[InvocationRecord], allocations: Sequence[ProvisionedAllocation] = (), *,
           prices: Prices = Prices(), free_tier: bool = False, by: str = "function", from_ms: int = DEC_1,
           to_ms: int = DEC_1 + 30 * DAY, tags: dict[str, dict[str, str]] | None = None) -> UsageReport:  # fmt: skip
    grouping = Grouping("tag", by[4:]) if by.startswith("tag:") else Grouping(by)
    return usage(ledger, allocations, prices=prices, free_tier=free_tier, grouping=grouping, from_ms=from_ms,
                 to_ms=to_ms, now_ms=to_ms, tags=tags)  # fmt: skip


def test_billed_duration_rounds_up_and_adds_the_init_once() -> None:
    assert billed_ms(0.2) == 1
    assert billed_ms(100.0) == 100
    assert billed_ms(100.01) == 101
    assert billed_ms(1049.63, 1293.83) == 2344  # AWS's REPORT: Init 1293.83 + Duration 1049.63 -> 2344 ms
    assert billed_ms(0.4, 0.4) == 1  # rounded once, not each part


def test_gb_seconds_are_exact() -> None:
    assert gb_seconds(1000, 1024) == 1
    assert gb_seconds(1, 128) == Decimal("0.000125")
    assert gb_seconds(3, 1536) == Decimal("0.0045")
    assert storage_gb_seconds(1000, 512) == 0
    assert storage_gb_seconds(1000, 10240) == Decimal("9.5")


def test_one_invocation_costs_aws_price() -> None:
    # 128 MB for 1,000 ms: 0.125 GB-s at $0.0000166667, and a request at $0.20 / 1M.
    r = report([inv("a", DEC_1, 1000)])
    assert r.rows[0].cost["duration"] == Decimal("0.125") * Decimal("0.0000166667")
    assert r.rows[0].cost["requests"] == Decimal("0.0000002")
    # arm64 at its own price; 1024 MB storage: 0.5 GB beyond the free 512 MB.
    arm = report([inv("b", DEC_1, 2000, 1024, arch="arm64", ephemeral=1024)])
    assert arm.rows[0].cost["duration"] == 2 * Decimal("0.0000133334")
    assert arm.rows[0].cost["ephemeralStorage"] == 1 * Decimal("0.0000000309")
    assert arm.rows[0].gb_seconds == 2


def test_tiers_split_an_amount_at_their_limits() -> None:
    # 6 billion GB-seconds in the month (600,000,000,000 ms at 10,240 MB): the next one is 10% cheaper.
    huge = inv("huge", DEC_1, 600_000_000_000, 10240)
    assert report([huge]).total.cost["duration"] == 6_000_000_000 * Decimal("0.0000166667")
    after = report([huge, inv("next", DEC_1 + 1, 1000, 1024)], from_ms=DEC_1 + 1)
    assert after.total.cost["duration"] == Decimal("0.0000150000")
    # One that crosses a limit is split there: 0.75 GB-s, then 0.75 more across a 1 GB-s limit.
    custom = Prices(duration={**Prices().duration, "x86_64": (Tier(Decimal(1), Decimal(2)), Tier(None, Decimal(1)))})
    split = report([inv("a", DEC_1, 6000), inv("b", DEC_1 + 1, 6000)], prices=custom, by="day")
    assert split.total.cost["duration"] == Decimal("0.75") * 2 + Decimal("0.25") * 2 + Decimal("0.5") * 1
    # A limit finer than a MB-ms is kept exact.
    fine = Prices(duration={**Prices().duration, "x86_64": (Tier(Decimal("0.0000001"), Decimal(2)), Tier(None, Decimal(1)))})
    assert report([inv("c", DEC_1, 8)], prices=fine).total.cost["duration"] == Decimal("0.0000001") * 2 + (
        Decimal("0.001") - Decimal("0.0000001"))  # fmt: skip


def test_tiers_count_the_month_per_architecture() -> None:
    cheap = Prices(duration={"x86_64": (Tier(Decimal(1), Decimal(10)), Tier(None, Decimal(1))),
                             "arm64": (Tier(Decimal(1), Decimal(100)), Tier(None, Decimal(50)))})  # fmt: skip
    ledger = [inv("a", DEC_1, 8000, 128), inv("b", DEC_1 + 1, 8000, 128), inv("c", DEC_1 + 2, 8000, 128, arch="arm64"),
              inv("d", DEC_1 + 31 * DAY, 8000, 128)]  # fmt: skip  (1 GB-s each; "d" is next month)
    r = report(ledger, prices=cheap, by="day", to_ms=DEC_1 + 40 * DAY)
    costs = {row.key: row.cost["duration"] for row in r.rows}
    assert costs == {"2026-12-01": 10 + 1 + 100, "2027-01-01": 10}


def test_the_free_tier_takes_the_month_first_requests_and_gb_seconds() -> None:
    prices = Prices(free_tier=parse_prices({"freeTier": {"requests": 2, "gbSeconds": "1.5"}}).free_tier)
    ledger = [inv(str(i), DEC_1 + i, 8000, 128) for i in range(3)]  # 1 GB-s each
    r = report(ledger, prices=prices, free_tier=True)
    assert r.total.requests == 3
    assert r.total.cost["requests"] == Decimal("0.0000002")  # the third only
    assert r.total.cost["duration"] == Decimal("1.5") * Decimal("0.0000166667")  # 3 - 1.5 GB-s
    assert report(ledger, prices=prices).total.cost["duration"] == 3 * Decimal("0.0000166667")


def test_a_range_inside_a_month_still_counts_what_the_month_used_before() -> None:
    prices = Prices(free_tier=parse_prices({"freeTier": {"requests": 1, "gbSeconds": "1"}}).free_tier)
    ledger = [inv("before", DEC_1, 8000), inv("inside", DEC_1 + 2 * DAY, 8000)]
    r = report(ledger, prices=prices, free_tier=True, from_ms=DEC_1 + DAY)
    assert r.total.requests == 1
    assert r.total.cost["duration"] == Decimal("0.0000166667")  # the free GB-s went to "before"
    assert month_start(DEC_1 + 2 * DAY + 5) == DEC_1


def test_provisioned_invocations_are_billed_at_the_provisioned_rate_without_free_tier() -> None:
    r = report([inv("p", DEC_1, 1000, 1024, provisioned=True)], free_tier=True)
    assert r.total.cost["provisionedDuration"] == Decimal("0.0000097222")
    assert r.total.cost["duration"] == 0
    assert r.total.cost["requests"] == Decimal("0.0000002")


def test_provisioned_concurrency_is_billed_allocated_time_rounded_to_five_minutes() -> None:
    at = DEC_1 + 10 * MINUTE
    rows = [ProvisionedAllocation("f", "live", "1", 1024, "x86_64", 2, at),
            ProvisionedAllocation("f", "live", "1", 1024, "x86_64", 3, at + 60 * MINUTE),
            ProvisionedAllocation("f", "live", "1", 1024, "x86_64", 0, at + 61 * MINUTE)]  # fmt: skip
    r = report([], rows, by="alias")
    # 2 x 1 GB for an hour, then 3 x 1 GB from the 60th minute to the 65th (61 rounded up to 65).
    assert r.rows[0].key == "f:live"
    assert r.total.provisioned_gb_seconds == 2 * 3600 + 3 * 300
    assert r.total.cost["provisionedConcurrency"] == (2 * 3600 + 3 * 300) * Decimal("0.0000041667")
    # The part rounded up counts where the allocation ended: ranges side by side add up to the whole.
    end = at + 61 * MINUTE
    before, after = report([], rows, to_ms=end), report([], rows, from_ms=end)
    assert before.total.provisioned_gb_seconds == 2 * 3600 + 3 * 60
    assert after.total.provisioned_gb_seconds == 3 * 240
    # Split by day at midnight; the parts add up to the whole.
    late = [ProvisionedAllocation("f", "1", "1", 2048, "arm64", 1, DEC_1 + DAY - 5 * MINUTE),
            ProvisionedAllocation("f", "1", "1", 2048, "arm64", 0, DEC_1 + DAY + 5 * MINUTE)]  # fmt: skip
    days = report([], late, by="day")
    assert [(row.key, row.provisioned_gb_seconds) for row in days.rows] == [("2026-12-01", 600), ("2026-12-02", 600)]
    assert days.total.cost["provisionedConcurrency"] == 1200 * Decimal("0.0000033334")


def test_allocation_changes_write_only_what_changed() -> None:
    a = ProvisionedAllocation("f", "live", "1", 128, "x86_64", 2, 1)
    assert allocation_changes({}, {("f", "live"): a}, 1) == [a]
    assert allocation_changes({("f", "live"): a}, {("f", "live"): ProvisionedAllocation("f", "live", "1", 128, "x86_64", 2, 9)}, 9) == []
    moved = ProvisionedAllocation("f", "live", "2", 256, "x86_64", 2, 8)  # the alias moved to a larger version
    assert allocation_changes({("f", "live"): a}, {("f", "live"): moved}, 8) == [moved]
    removed = allocation_changes({("f", "live"): a}, {}, 7)
    assert [(x.environments, x.at_ms) for x in removed] == [(0, 7)]


def test_rounded_rows_add_up_to_the_rounded_total() -> None:
    assert apportion([Decimal("0.004")] * 3) == [Decimal("0.01"), Decimal("0.00"), Decimal("0.00")]
    assert apportion([Decimal("1.005"), Decimal("2.0049")]) == [Decimal("1.01"), Decimal("2.00")]
    # 1,000 rows of a third of a cent each: $3.33 in all, not 0 (each rounded) nor 10.00.
    ledger = [inv(str(i), DEC_1 + i, 1, function=f"fn{i}") for i in range(1000)]
    prices = Prices(requests_per_million=Decimal(10_000 / 3).quantize(Decimal("0.0000001")))
    r = report(ledger, prices=prices)
    assert sum(c["requests"] for c in r.cents) == r.total_cents["requests"]
    assert r.total_cents["requests"] == r.total.cost["requests"].quantize(Decimal("0.01"))
    assert sum(c["total"] for c in r.cents) == r.total_cents["total"]


def test_grouping_by_tag_and_alias() -> None:
    ledger = [inv("a", DEC_1, 10, function="x", qualifier="live"), inv("b", DEC_1, 10, function="y"),
              inv("c", DEC_1, 10, function="z")]  # fmt: skip
    by_tag = report(ledger, by="tag:team", tags={"x": {"team": "red"}, "y": {"team": "red"}})
    assert [(row.key, row.requests) for row in by_tag.rows] == [("red", 2), (None, 1)]
    assert [row.key for row in report(ledger, by="alias").rows] == ["x:live", "y:$LATEST", "z:$LATEST"]


def test_price_files_are_validated(tmp_path: Path) -> None:
    good = tmp_path / "prices.json"
    good.write_text(json.dumps({"requestsPerMillion": 0.25, "duration": {"arm64": [{"perGbSecond": "0.00001"}]},
                                "freeTier": {"requests": 0}}))  # fmt: skip
    prices = load_prices(good)
    assert prices.requests_per_million == Decimal("0.25")  # read as text: no float in between
    assert prices.duration["arm64"] == (Tier(None, Decimal("0.00001")),)
    assert prices.duration["x86_64"] == Prices().duration["x86_64"]
    for document, says in [
        ([], "must be a JSON object"),
        ({"requestsPerMilion": 1}, "unknown field 'requestsPerMilion'"),
        ({"requestsPerMillion": -1}, "0 or more"),
        ({"requestsPerMillion": "NaN"}, "finite"),
        ({"requestsPerMillion": True}, "must be a number"),
        ({"requestsPerMillion": "1e999999999"}, "out of range"),
        ({"requestsPerMillion": "1e-999999999"}, "out of range"),
        ({"duration": {"sparc": []}}, "unknown architecture 'sparc'"),
        ({"duration": {"x86_64": []}}, "1 to 16 tiers"),
        ({"duration": {"x86_64": [{"perGbSecond": 1}, {"perGbSecond": 2}]}}, "every tier but the last"),
        ({"duration": {"x86_64": [{"upToGbSeconds": 5, "perGbSecond": 1}, {"upToGbSeconds": 4, "perGbSecond": 1},
                                  {"perGbSecond": 1}]}}, "must increase"),  # fmt: skip
        ({"freeTier": {"requests": "1.5"}}, "whole number"),
        ({"currency": "dollars"}, "three-letter"),
    ]:
        with pytest.raises(PriceTableError, match=says):
            parse_prices(document)
    for content, says in [(b"{", "not JSON"), (b"[" * 100_000, "not JSON"), (b" " * (2 << 20), "larger than")]:
        bad = tmp_path / "bad.json"
        bad.write_bytes(content)
        with pytest.raises(PriceTableError, match=says):
            load_prices(bad)
    with pytest.raises(PriceTableError, match="cannot read"):
        load_prices(tmp_path / "missing.json")
    with pytest.raises(PriceTableError, match="cannot read"):
        load_prices(tmp_path)  # a directory
    with pytest.raises(PriceTableError, match="larger than"):
        load_prices(Path("/dev/zero"))  # endless: read no further than the limit


def test_usage_queries_are_checked() -> None:
    now = DEC_1 + 6 * DAY + 5
    q = parse_query(None, None, None, now)
    assert (q.grouping, q.from_ms, q.to_ms) == (Grouping("function"), DEC_1, now)
    q = parse_query("tag:team", "2026-12-01", "2026-12-01", now)
    assert (q.grouping, q.from_ms, q.to_ms) == (Grouping("tag", "team"), DEC_1, DEC_1 + DAY)  # a date as "to": all of it
    assert parse_query("day", "2026-12-01T01:00:00+01:00", "2026-12-01T00:00:01Z", now).from_ms == DEC_1
    for by, start, end, says in [
        ("team", None, None, "cannot group by"),
        ("tag", None, None, "say which tag"),
        ("tag:" + "k" * 129, None, None, "1 to 128"),
        (None, "yesterday", None, "must be a date"),
        (None, "2026-13-01", None, "must be a date"),
        (None, "2026-12-01T25:00:00Z", None, "must be a date"),
        (None, "2026-12-01T10:00:00", None, "must be a date"),  # a time without its zone
        (None, "2026-12-05", "2026-12-01T00:00:00Z", "before"),
        (None, "0001-01-01", "2026-12-01", "before 1970"),
        (None, "2026-12-01", "9999-12-31", "out of range"),
        (None, "1970-01-01", "9999-12-30", "at most 366 days"),
        (None, None, "9999-12-30", "at most 366 days"),
        (None, "2026-12-01", "9999-12-31T23:59:59+23:59", "at most 366 days"),
    ]:
        with pytest.raises(UsageQueryError, match=says):
            parse_query(by, start, end, now)
