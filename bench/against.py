"""A run against a baseline: every scenario on both sides, in rounds that alternate which side goes first.

Each side's servers are its own: the current side's run the Lamina the suite imports, the
baseline's the checkout's (``baseline.py``). In round 1 the baseline goes first, in round 2 the
current code, and so on, so that a machine that slowly gets busier or quieter favours neither
side; the spread of a side's rounds is what ``compare.py`` takes for the noise.

- ``warm``: the floor, the peer and both Laminas are started once; each round measures all of them
  at each concurrency, the two Laminas one right after the other. The floor and peer figures are
  given to both sides' results, so that each reads as a run of its own.
- every other scenario: each round runs it whole on one side's new server, then on the other's.

A side that fails in a round is recorded in that round's results, and the run goes on.
"""

from __future__ import annotations

import contextlib
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

BASELINE = "baseline"  # the warm scenario's target name for the baseline's Lamina


@dataclass
class Side:
    bench: Bench
    rounds: list[Results]


def _order(i: int, current: Side, baseline: Side) -> tuple[Side, Side]:
    return (baseline, current) if i % 2 == 0 else (current, baseline)


async def _warm(current: Side, baseline: Side) -> None:
    bench = current.bench
    async with (suite.references(bench, current.rounds[0].notes) as references,
                baseline.bench.lamina("warm") as old, bench.lamina("warm") as new):  # fmt: skip
        await old.create_function("noop", NOOP)
        await new.create_function("noop", NOOP)
        pair = [warm.Target(BASELINE, old.endpoint("noop")), warm.Target("lamina", new.endpoint("noop"))]
        for i, (now, was) in enumerate(zip(current.rounds, baseline.rounds)):
            bench.progress(f"warm round {i + 1} of {len(current.rounds)}")
            ordered = pair if i % 2 == 0 else pair[::-1]  # as ``_order``: the baseline first in rounds 1, 3, ...
            points = await warm.run([*references, *ordered], bench.profile, bench.workdir, bench.progress)
            now.warm = [p for p in points if p.target != BASELINE]
            was.warm = [dataclasses.replace(p, target="lamina") if p.target == BASELINE else p
                        for p in points if p.target != "lamina"]  # fmt: skip


async def _scenario(name: str, current: Side, baseline: Side) -> None:
    if name == "warm":
        try:
            await _warm(current, baseline)
        except Exception as exc:
            suite.failed(name, exc, [*current.rounds, *baseline.rounds], current.bench.progress)
        return
    for i in range(len(current.rounds)):
        for side in _order(i, current, baseline):
            label = f"{side.bench.label}-{i + 1}"  # data and logs of a round's server apart from the others'
            try:
                await suite.SCENARIOS[name](dataclasses.replace(side.bench, label=label), side.rounds[i])
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
        current = Side(Bench(profile, processes, workdir, progress, label="current"), compared.current)
        baseline = Side(Bench(profile, processes, workdir, progress, src=checkout.src, label="baseline"),
                        compared.baseline)  # fmt: skip
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
