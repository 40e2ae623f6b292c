"""A run against a baseline: every scenario on both sides, in rounds that alternate which side goes first.

Each side's servers are its own: the current side's run the Lamina the suite imports, the
baseline's the checkout's (``baseline.py``). In round 1 the baseline goes first, in round 2 the
current code, and so on, so that a machine that slowly gets busier or quieter favours neither
side; the spread of a side's rounds is what ``compare.py`` takes for the noise.

- ``warm``: the floor and the peer are started once; each round starts both Laminas anew (in the
  round's order) and measures all four at each concurrency, the two Laminas one right after the
  other. The floor and peer figures go to both sides' results, so that each reads as a run of its own.
- every other scenario: each round runs it whole on one side's new server, then on the other's.

A side that fails in a round is recorded in that round's results, and the run goes on.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from bench import machine, suite
from bench.baseline import Checkout
from bench.context import Bench
from bench.handlers import NOOP
from bench.procs import Processes
from bench.profile import Profile
from bench.results import Compared, Results
from bench.scenarios import warm
from bench.types import Progress

@dataclass
class Side:
    bench: Bench
    rounds: list[Results]
    target: str  # its Lamina's name among the warm scenario's targets


def _order(i: int, current: Side, baseline: Side) -> tuple[Side, Side]:
    """Round ``i``'s sides, first to last: the baseline first in rounds 1, 3, ..."""
    return (baseline, current) if i % 2 == 0 else (current, baseline)


def _in_round(side: Side, i: int) -> Bench:
    """The side's bench in round ``i``: its servers' data and logs apart from the other rounds'."""
    return dataclasses.replace(side.bench, label=f"{side.bench.label}-{i + 1}")


async def _warm(current: Side, baseline: Side) -> None:
    bench = current.bench
    async with suite.references(bench, current.rounds[0].notes) as references:
        for i, (now, was) in enumerate(zip(current.rounds, baseline.rounds)):
            bench.progress(f"warm round {i + 1} of {len(current.rounds)}")
            first, second = _order(i, current, baseline)
            async with _in_round(first, i).lamina("warm") as one, _in_round(second, i).lamina("warm") as other:
                await one.create_function("noop", NOOP)
                await other.create_function("noop", NOOP)
                ours = [warm.Target(first.target, one.endpoint("noop"), one.pid),
                        warm.Target(second.target, other.endpoint("noop"), other.pid)]
                points = await warm.run([*references, *ours], bench.profile, bench.workdir, bench.progress)
            now.warm = [p for p in points if p.target != baseline.target]
            was.warm = [dataclasses.replace(p, target=current.target) if p.target == baseline.target else p
                        for p in points if p.target != current.target]  # fmt: skip


async def _scenario(name: str, current: Side, baseline: Side) -> None:
    if name == "warm":
        try:
            await _warm(current, baseline)
        except Exception as exc:
            suite.failed(name, exc, [*current.rounds, *baseline.rounds], current.bench.progress)
        return
    for i in range(len(current.rounds)):
        for side in _order(i, current, baseline):
            try:
                await suite.SCENARIOS[name](_in_round(side, i), side.rounds[i])
            except Exception as exc:  # the other side, and the next rounds, still run
                suite.failed(name, exc, [side.rounds[i]], current.bench.progress)
            finally:
                await current.bench.processes.stop_all()


async def run(profile: Profile, only: list[str], processes: Processes, progress: Progress, checkout: Checkout,
              rounds: int) -> Compared:  # fmt: skip
    start = time.monotonic()
    now = machine.describe()
    was = dataclasses.replace(now, lamina_commit=checkout.describe())
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    progress(f"machine: {now.describe()}")
    progress(f"against {checkout.describe()}: {rounds} rounds of each scenario on each side")
    compared = Compared(checkout, rounds, current=[Results(profile, now, started) for _ in range(rounds)],
                        baseline=[Results(profile, was, started) for _ in range(rounds)])  # fmt: skip
    every = [*compared.current, *compared.baseline]
    with suite.scratch() as workdir:
        current = Side(Bench(profile, processes, workdir, progress, label="current"), compared.current, "lamina")
        baseline = Side(Bench(profile, processes, workdir, progress, src=checkout.src, label="baseline"),
                        compared.baseline, "baseline")  # fmt: skip
        try:
            for name in only:
                load = os.getloadavg()[0]
                for r in every:
                    r.load_average[name] = load
                progress(f"== {name} (load average {load:.2f})")
                try:
                    await _scenario(name, current, baseline)
                finally:
                    await processes.stop_all()
        finally:
            await processes.stop_all()
    for r in every:
        r.duration_s = time.monotonic() - start
        r.load_average_end = os.getloadavg()
    return compared
