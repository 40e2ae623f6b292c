"""Benchmark figures against a baseline's: the figures of a run, their rounds merged, the verdict on each."""

from __future__ import annotations

import math
from pathlib import Path

from bench import figures
from bench.baseline import Checkout
from bench.compare import Verdict, compare, compare_one, judge, spread, worse
from bench.figures import CENTRAL, MEMORY, TAIL, Better, Figure, merge, of, of_rounds
from bench.machine import Machine
from bench.profile import QUICK
from bench.report import comparisons, render, render_compared
from bench.results import Compared, Results
from bench.scenarios.asynchronous import AsyncResult, Round
from bench.scenarios.cold import ColdResult
from bench.scenarios.matcher import MatcherResult
from bench.scenarios.warm import WarmPoint
from bench.stats import Latency

MACHINE = Machine(2, "a CPU", 4096, 2048, (0.5, 0.5, 0.5), "6.1", "3.11.7", None, None, "abc1234")


def figure(value: float | None, better: Better = Better.LOWER, margin: float = CENTRAL,
           rounds: tuple[float, ...] = (), name: str = "f") -> Figure:  # fmt: skip
    return Figure(name, "ms", value, better, margin, rounds)


def latency(p50: float, p99: float) -> Latency:
    return Latency(100, p50, p99, p99, p50)


def results(*, c1_p50: float = 1.0, c8_rps: float = 1000.0, cold_p50: float = 9.0,
            accepted: tuple[float, ...] | None = None) -> Results:  # fmt: skip
    r = Results(QUICK, MACHINE, "2026-01-01T00:00:00+00:00")
    r.warm = [
        WarmPoint("floor", 1, 1000, 3000.0, latency(0.3, 0.6), 0, 0, 0.2),
        WarmPoint("lamina", 1, 1000, 900.0, latency(c1_p50, 2.5), 0, 0, 0.1),
        WarmPoint("lamina", 8, 1000, c8_rps, latency(5.0, 12.0), 0, 0, 0.1),
    ]  # fmt: skip
    r.cold = ColdResult(5, latency(cold_p50, 140.0), latency(6.0, 135.0), latency(1.2, 1.5), 0)
    if accepted is not None:
        rounds = [Round(1500.0, a, 1100.0) for a in accepted]
        r.asynchronous = AsyncResult(500, 32, rounds, latency(1.1, 3.0), latency(1.2, 4.0))
    return r


def test_a_throughput_is_worse_when_it_falls_below_the_margin() -> None:
    assert judge(0.85, Better.HIGHER, 0.10) is Verdict.WORSE
    assert judge(0.9, Better.HIGHER, 0.10) is Verdict.SAME  # at the margin: still noise
    assert judge(0.95, Better.HIGHER, 0.10) is Verdict.SAME
    assert judge(1.2, Better.HIGHER, 0.10) is Verdict.BETTER


def test_a_latency_is_worse_when_it_rises_above_the_margin() -> None:
    assert judge(1.15, Better.LOWER, 0.10) is Verdict.WORSE
    assert judge(1.05, Better.LOWER, 0.10) is Verdict.SAME
    assert judge(0.8, Better.LOWER, 0.10) is Verdict.BETTER
    assert judge(1.3, Better.LOWER, 0.25) is Verdict.WORSE
    assert judge(1.2, Better.LOWER, 0.25) is Verdict.SAME


def test_no_ratio_is_no_verdict() -> None:
    assert judge(None, Better.LOWER, 0.10) is Verdict.MISSING
    assert compare_one(figure(1.0), figure(None)).verdict is Verdict.MISSING
    assert compare_one(figure(0.0), figure(1.0)).verdict is Verdict.MISSING  # no ratio to a zero
    assert compare_one(figure(math.nan), figure(1.0)).baseline is None


def test_spread_is_the_range_of_rounds_over_their_median() -> None:
    assert spread([]) == 0.0
    assert spread([5.0]) == 0.0
    assert spread([10.0, 12.0]) == 2.0 / 11.0
    assert spread([9.0, 10.0, 12.0]) == 3.0 / 10.0
    assert spread([10.0, math.nan, 12.0]) == 2.0 / 11.0
    assert spread([0.0, 0.0, 1.0]) == math.inf


def test_rounds_that_disagree_widen_the_margin() -> None:
    # 20% slower, beyond the figure's own 10%: worse when both sides' rounds agree closely...
    steady = compare_one(figure(10.0, rounds=(9.9, 10.1)), figure(12.0, rounds=(11.9, 12.1)))
    assert steady.verdict is Verdict.WORSE
    assert steady.margin == CENTRAL
    assert steady.ratio is not None and math.isclose(steady.ratio, 1.2)
    # ...noise when the current code's own rounds were 30% apart
    noisy = compare_one(figure(10.0, rounds=(9.9, 10.1)), figure(12.0, rounds=(10.2, 13.8)))
    assert noisy.verdict is Verdict.SAME
    assert math.isclose(noisy.margin, 0.3)
    assert math.isclose(noisy.current_spread, 0.3) and math.isclose(noisy.baseline_spread, 0.02)
    # and the baseline's rounds count as much
    assert compare_one(figure(10.0, rounds=(8.0, 12.0)), figure(12.0, rounds=(12.0, 12.0))).verdict is Verdict.SAME


def test_figures_are_matched_by_name_in_the_current_runs_order() -> None:
    baseline = [figure(1.0, name="a"), figure(2.0, name="b"), figure(3.0, name="gone")]
    current = [figure(2.5, name="b"), figure(1.0, name="a"), figure(4.0, name="new")]
    got = compare(baseline, current)
    assert [(c.name, c.verdict) for c in got] == [
        ("b", Verdict.WORSE), ("a", Verdict.SAME), ("new", Verdict.MISSING), ("gone", Verdict.MISSING),
    ]  # fmt: skip
    assert [c.name for c in worse(got)] == ["b"]
    assert (got[3].baseline, got[3].current) == (3.0, None)


def test_merging_rounds_takes_the_median_and_keeps_every_measurement() -> None:
    merged = merge([figure(1.0), figure(3.0), figure(2.0), figure(None), figure(math.nan)])
    assert merged.value == 2.0
    assert merged.rounds == (1.0, 3.0, 2.0)
    # a figure that is already the median of its own rounds brings them along
    inner = merge([figure(10.0, rounds=(9.0, 10.0, 11.0)), figure(12.0, rounds=(12.0, 12.0, 13.0))])
    assert inner.value == 11.0
    assert inner.rounds == (9.0, 10.0, 11.0, 12.0, 12.0, 13.0)
    assert merge([figure(None), figure(None)]).value is None


def test_a_runs_figures_say_which_way_is_better() -> None:
    got = {f.name: f for f in of(results(accepted=(1800.0, 1900.0, 2000.0)))}
    c1 = got["warm invoke, c=1: p50 latency"]
    assert (c1.value, c1.better, c1.margin) == (1.0, Better.LOWER, CENTRAL)
    c8 = got["warm invoke, c=8: throughput"]
    assert (c8.value, c8.better, c8.unit) == (1000.0, Better.HIGHER, "req/s")
    assert got["warm invoke, c=8: p99 latency"].margin == TAIL
    assert "warm invoke, c=1: throughput" not in got  # as the report: latency at c=1, throughput above
    assert got["cold start, client-visible p50"].value == 9.0
    accepted = got["async no-op: accepted"]
    assert (accepted.value, accepted.rounds, accepted.better) == (1900.0, (1800.0, 1900.0, 2000.0), Better.HIGHER)
    assert not any(f.margin == MEMORY for f in got.values())  # no density scenario in this run
    assert of(Results(QUICK, MACHINE, "2026-01-01T00:00:00+00:00")) == []  # nothing measured, nothing to compare


def test_the_same_code_twice_is_within_noise() -> None:
    baseline = of_rounds([results(c1_p50=1.0), results(c1_p50=1.06)])
    current = of_rounds([results(c1_p50=1.04), results(c1_p50=0.98)])
    assert {c.verdict for c in compare(baseline, current)} == {Verdict.SAME}


def test_a_regression_beyond_the_rounds_spread_is_named() -> None:
    baseline = of_rounds([results(c8_rps=1000.0, cold_p50=9.0), results(c8_rps=1020.0, cold_p50=9.2)])
    current = of_rounds([results(c8_rps=800.0, cold_p50=9.1), results(c8_rps=790.0, cold_p50=12.0)])
    got = {c.name: c for c in compare(baseline, current)}
    assert got["warm invoke, c=8: throughput"].verdict is Verdict.WORSE
    # 17% slower, but one of its rounds was as fast as the baseline's: the spread (28%) says noise
    assert got["cold start, client-visible p50"].verdict is Verdict.SAME
    assert [c.name for c in worse(list(got.values()))] == ["warm invoke, c=8: throughput"]


def test_the_report_shows_both_values_their_ratio_and_the_verdict() -> None:
    checkout = Checkout("main", "1234abc", Path("/checkout"), "/checkout/src/lamina/__init__.py")
    compared = Compared(checkout, 2, current=[results(c8_rps=700.0), results(c8_rps=710.0)],
                        baseline=[results(c8_rps=1000.0), results(c8_rps=1010.0)])  # fmt: skip
    text = render_compared(compared)
    row = next(line for line in text.splitlines() if line.startswith("| warm invoke, c=8: throughput"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells == ["warm invoke, c=8: throughput (req/s)", "1,005", "705", "0.70×", "1% / 1%", "±10%", "**worse**"]
    assert "Worse than the baseline by more than the noise margin: warm invoke, c=8: throughput (0.70×" in text
    assert [c.name for c in comparisons(compared)] == [f.name for f in figures.of(compared.current[0])]


def test_the_matcher_scenarios_figures_and_rows() -> None:
    r = results()
    r.matcher = MatcherResult(1000, 500, 300.0, 700.0, 300.0, 8000.0, 0.08, 0.0375, 40.5, (690.0, 700.0, 710.0))
    got = {f.name: f for f in of(r)}
    indexed = got["event patterns: events matched against 1000 rules, indexed"]
    assert (indexed.value, indexed.better, indexed.rounds) == (700.0, Better.HIGHER, (690.0, 700.0, 710.0))
    assert got["event patterns: indexed, vs dict lookup"].value == 0.08
    assert got["event patterns: compiling 1000 rules"].better is Better.LOWER
    row = next(line for line in render(r).splitlines() if "1,000 rules, indexed" in line)
    assert [cell.strip() for cell in row.strip("|").split("|")][:2] == [
        "event patterns: events matched against 1,000 rules, indexed (events/s; vs dict lookup)", "700 (0.080×)"]
    checkout = Checkout("main", "1234abc", Path("/checkout"), "/checkout/src/lamina/__init__.py")
    compared = Compared(checkout, 1, current=[r], baseline=[r])
    row = next(line for line in render_compared(compared).splitlines() if "indexed, vs dict lookup" in line)
    assert [cell.strip() for cell in row.strip("|").split("|")][1:3] == ["0.080", "0.080"]
