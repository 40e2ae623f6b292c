"""The operator's view across cells, its pure parts: which cells a console request names
(console/cells.py), several accounts' usage as one (metering/usage.py ``combined``), stats rows of
several cells in one order (metering/performance.py ``row_order``), and what the CLI's
--all-accounts, --account and --region ask for (cli/usage.py ``operator_of``)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lamina.cli.errors import UsageError
from lamina.cli.usage import Operator, operator_of
from lamina.console.cells import chosen, name
from lamina.errors import InvalidParameterValue, ResourceNotFound
from lamina.metering.performance import row_order
from lamina.metering.prices import parse_prices
from lamina.metering.usage import COMPONENTS, combined
from tests.unit.test_usage import DEC_1, inv, report

KNOWN = [("111111111111", "us-east-1"), ("222222222222", "us-east-1"), ("222222222222", "eu-west-1")]


def test_no_cell_is_the_default_one_or_every_one_across_cells() -> None:
    assert chosen([], KNOWN) == [KNOWN[0]]
    assert chosen([], KNOWN, every=True) == KNOWN
    assert chosen(["all"], KNOWN, every=True) == KNOWN
    assert chosen(["222222222222/eu-west-1"], KNOWN) == [KNOWN[2]]
    assert name(KNOWN[2]) == "222222222222/eu-west-1"


@pytest.mark.parametrize("raw", ["all", "", "../111111111111/us-east-1", "111111111111/us-east-1/..",
                                 "111111111111/../../etc", "11111111111/us-east-1", "111111111111/US-EAST-1",
                                 "111111111111/us-east-1\x00", "111111111111\\us-east-1", "111111111111/" + "a" * 41,
                                 "１１１１１１１１１１１１/us-east-1"])  # fmt: skip
def test_a_malformed_cell_is_refused(raw: str) -> None:
    with pytest.raises(InvalidParameterValue):
        chosen([raw], KNOWN)


def test_two_cells_are_refused_and_one_that_does_not_exist_is_not_found() -> None:
    with pytest.raises(InvalidParameterValue):
        chosen(["111111111111/us-east-1", "222222222222/us-east-1"], KNOWN, every=True)
    with pytest.raises(ResourceNotFound):
        chosen(["333333333333/us-east-1"], KNOWN)
    with pytest.raises(ResourceNotFound):
        chosen(["111111111111/eu-west-1"], KNOWN, every=True)


def test_combined_reports_total_the_cells_bills_as_printed() -> None:
    prices = parse_prices({"requestsPerMillion": "5000"})  # half a cent a request
    # Three cells of one request each: each bill rounds half a cent up to 0.01 (requests).
    cells = [report([inv(f"r{i}", DEC_1 + 1000, 1)], prices=prices) for i in range(3)]
    assert [c.total_cents["requests"] for c in cells] == [Decimal("0.01")] * 3
    overall = combined(cells)
    assert overall.total_cents["requests"] == Decimal("0.03")  # the bills added, not 0.015 rounded again
    assert overall.total.cost["requests"] == Decimal("0.015")  # exact: the exact sum
    assert overall.total.requests == 3
    assert overall.total_cents["total"] == sum((overall.total_cents[c] for c in COMPONENTS), Decimal(0))
    assert list(overall.cents) == [c.total_cents for c in cells]
    assert combined([]).total_cents["total"] == Decimal("0.00")


def test_rows_of_several_cells_sort_by_the_figure_then_name_then_cell() -> None:
    def row(account: str, function: str, p99: float) -> dict[str, object]:
        return {"account": account, "region": "us-east-1", "function": function, "durationMs": {"p99": p99}}

    rows = [row("2", "b", 10), row("1", "b", 10), row("1", "a", 10), row("1", "z", 300)]
    assert [(r["account"], r["function"]) for r in sorted(rows, key=row_order("p99"))] == [
        ("1", "z"), ("1", "a"), ("1", "b"), ("2", "b")]  # fmt: skip
    with pytest.raises(ValueError):
        row_order("nonsense")


def ask(*, all_accounts: bool = False, account: str | None = None, region: str | None = None,
        token: str | None = None) -> Operator | None:  # fmt: skip
    return operator_of(all_accounts=all_accounts, account=account, region=region, default_region="us-east-1",
                       token=token)  # fmt: skip


def test_the_cli_asks_for_every_cell_one_cell_or_its_own_account() -> None:
    assert ask() is None
    assert ask(all_accounts=True, token="t") == Operator("all", "t")
    assert ask(account="222222222222") == Operator("222222222222/us-east-1", None)
    assert ask(account="222222222222", region="eu-west-1") == Operator("222222222222/eu-west-1", None)


@pytest.mark.parametrize("wrong", [{"account": "2222"}, {"account": "../x"}, {"region": "eu-west-1"},
                                   {"all_accounts": True, "account": "222222222222"}])  # fmt: skip
def test_the_cli_refuses_a_question_it_cannot_ask(wrong: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        ask(**wrong)  # type: ignore[arg-type]
